#include "access_log.hpp"

#include <charconv>
#include <chrono>
#include <ctime>

namespace tokenauth_server {

access_log::access_log(std::FILE* out, log_format format) : out_(out), format_(format) {
  if (out_) thread_ = std::thread([this] { run(); });
}

access_log::~access_log() {
  if (!out_) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void access_log::add(const access_entry& e) {
  if (!out_) return;
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  char num[24];
  const auto number = [&](std::uint64_t n) {
    buffer_.append(num, std::to_chars(num, num + sizeof num, n).ptr);
  };
  // Every string is written printable ASCII only and bounded; in JSON quotes and backslashes are
  // replaced too, so no value needs escaping and no client input can break a line or a field.
  const bool json = format_ == log_format::json;
  const auto text = [&](std::string_view s, std::size_t max) {
    for (char c : s.substr(0, max))
      buffer_ += (c > 0x20 && c < 0x7f && !(json && (c == '"' || c == '\\'))) ? c : '?';
    if (s.size() > max) buffer_ += "...";
  };
  std::lock_guard lock(mutex_);
  if (now != stamp_second_) {  // format the time once per second
    stamp_second_ = now;
    std::time_t t = static_cast<std::time_t>(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(stamp_, sizeof stamp_, "%Y-%m-%dT%H:%M:%SZ", &tm);
  }
  if (json) {
    buffer_.append(R"({"time":")").append(stamp_).append(R"(","request_id":")");
    text(e.request_id, 64);
    buffer_.append(R"(","method":")");
    text(e.method, 16);
    buffer_.append(R"(","route":")");
    text(e.route, 64);
    buffer_.append(R"(","status":)");
    number(e.status);
    buffer_.append(R"(,"duration_us":)");
    number(e.micros);
    buffer_.append(R"(,"client":")");
    text(e.client_address, 64);
    buffer_.append("\"}\n");
    return;
  }
  buffer_.append(stamp_).append(" ");
  text(e.request_id, 64);
  buffer_ += ' ';
  text(e.client_address.empty() ? "-" : e.client_address, 64);
  buffer_ += ' ';
  text(e.method, 16);
  buffer_ += ' ';
  text(e.route, 64);
  buffer_ += ' ';
  number(e.status);
  buffer_ += ' ';
  number(e.micros);
  buffer_.append("us\n");
}

void access_log::run() {
  std::string out;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stopping_; });
    out.swap(buffer_);
    const bool stop = stopping_;
    lock.unlock();
    if (!out.empty()) {
      std::fwrite(out.data(), 1, out.size(), out_);
      std::fflush(out_);
      out.clear();
    }
    if (stop) return;
    lock.lock();
  }
}

}  // namespace tokenauth_server

#include "access_log.hpp"

#include <charconv>
#include <chrono>
#include <ctime>

namespace tokenauth_server {

access_log::access_log(std::FILE* out) : out_(out) {
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

void access_log::add(std::string_view method, std::string_view path, unsigned status,
                     std::uint64_t micros) {
  if (!out_) return;
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  char num[24];
  std::lock_guard lock(mutex_);
  if (now != stamp_second_) {  // format the time once per second
    stamp_second_ = now;
    std::time_t t = static_cast<std::time_t>(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(stamp_, sizeof stamp_, "%Y-%m-%dT%H:%M:%SZ", &tm);
  }
  buffer_.append(stamp_).append(" ");
  // Request line parts are client input: keep printable ASCII only, bounded.
  auto printable = [this](std::string_view s, std::size_t max) {
    for (char c : s.substr(0, max)) buffer_ += (c > 0x20 && c < 0x7f) ? c : '?';
    if (s.size() > max) buffer_ += "...";
  };
  printable(method, 16);
  buffer_ += ' ';
  printable(path, 256);
  buffer_ += ' ';
  buffer_.append(num, std::to_chars(num, num + sizeof num, status).ptr);
  buffer_ += ' ';
  buffer_.append(num, std::to_chars(num, num + sizeof num, micros).ptr);
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

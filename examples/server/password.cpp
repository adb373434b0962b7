#include "password.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <memory>

namespace tokenauth_server {

worker_pool::worker_pool(unsigned threads, std::size_t max_queue, bool low_priority)
    : max_queue_(max_queue) {
  for (unsigned i = 0; i < threads; ++i)
    threads_.emplace_back([this, low_priority] { run(low_priority); });
}

worker_pool::~worker_pool() {
  stop();
}

void worker_pool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

bool worker_pool::try_post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || jobs_.size() >= max_queue_) return false;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void worker_pool::run(bool low_priority) {
  // Lowest CPU priority for this thread only (Linux: nice applies per thread id).
  if (low_priority) setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping and drained
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

namespace bcrypt {
namespace {

// crypt_data is ~32 KiB: one per thread, reused.
crypt_data& scratch() {
  thread_local auto data = std::make_unique<crypt_data>();
  return *data;
}

bool is_bcrypt(std::string_view h) {
  return h.size() == 60 &&
         (h.rfind("$2a$", 0) == 0 || h.rfind("$2b$", 0) == 0 || h.rfind("$2y$", 0) == 0);
}

// bcrypt reads a C string of at most 72 bytes; anything else would be silently truncated.
bool usable_password(std::string_view p) {
  return p.size() <= 72 && p.find('\0') == std::string_view::npos;
}

}  // namespace

std::optional<std::string> hash(std::string_view password, int cost) {
  if (!usable_password(password)) return std::nullopt;
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, setting,
                        sizeof setting))
    return std::nullopt;
  crypt_data& data = scratch();
  std::memset(&data, 0, sizeof data);
  const std::string phrase(password);
  const char* out = crypt_rn(phrase.c_str(), setting, &data, sizeof data);
  if (!out || out[0] == '*') return std::nullopt;
  std::string result(out);
  OPENSSL_cleanse(&data, sizeof data);
  return result;
}

bool verify(std::string_view password, std::string_view stored) {
  if (!is_bcrypt(stored)) return false;
  // An unusable password still pays for one hash, so it takes as long as a wrong one.
  const bool usable = usable_password(password);
  const std::string phrase(usable ? password : std::string_view("x"));
  const std::string setting(stored);
  crypt_data& data = scratch();
  std::memset(&data, 0, sizeof data);
  const char* out = crypt_rn(phrase.c_str(), setting.c_str(), &data, sizeof data);
  const bool ok = usable && out && std::strlen(out) == stored.size() &&
                  CRYPTO_memcmp(out, stored.data(), stored.size()) == 0;
  OPENSSL_cleanse(&data, sizeof data);
  return ok;
}

}  // namespace bcrypt
}  // namespace tokenauth_server

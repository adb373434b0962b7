// Password hashing with bcrypt through the system libcrypt, and the bounded worker pool it runs on:
// a cost-12 hash takes ~250 ms of CPU, so it must never run on an I/O thread. The pool's threads
// run at the lowest CPU priority so a login flood cannot slow requests that need no hashing.
// Everything here is thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tokenauth_server {

// A fixed set of threads and a queue of at most max_queue waiting jobs. low_priority threads run
// at nice 19, for CPU-heavy work that must yield to request handling.
class worker_pool {
 public:
  worker_pool(unsigned threads, std::size_t max_queue, bool low_priority = false);
  ~worker_pool();  // stop()
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  // false (and the job is dropped) when the queue is full or the pool is stopping.
  bool try_post(std::function<void()> job);

  // Runs the jobs already queued, refuses new ones and joins the threads. Idempotent.
  void stop();

 private:
  void run(bool low_priority);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  std::size_t max_queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

namespace bcrypt {

// A new "$2b$<cost>$..." hash of password; nullopt when libcrypt fails (no entropy, bad cost).
std::optional<std::string> hash(std::string_view password, int cost);

// True when password matches a $2a$/$2b$/$2y$ hash; compares in constant time. Any other or
// malformed hash is false.
bool verify(std::string_view password, std::string_view hash);

}  // namespace bcrypt
}  // namespace tokenauth_server

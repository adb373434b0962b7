// A fixed set of threads with a bounded queue, for work that must not run on an I/O thread:
// bcrypt (CPU-heavy, at low priority) and calls that wait on a store. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
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

}  // namespace tokenauth_server

#include "worker_pool.hpp"

#include <sys/resource.h>
#include <unistd.h>

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

}  // namespace tokenauth_server

// One line per request: time, method, path (no query string), status, microseconds. Never
// headers, cookies, tokens or bodies. add() only appends to a buffer under a short lock; a
// background thread writes the buffer out every 50 ms, so I/O threads never wait on the terminal.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace tokenauth_server {

class access_log {
 public:
  explicit access_log(std::FILE* out);  // nullptr: logging off, add() does nothing
  ~access_log();                        // flushes what is buffered
  access_log(const access_log&) = delete;
  access_log& operator=(const access_log&) = delete;

  void add(std::string_view method, std::string_view path, unsigned status, std::uint64_t micros);

 private:
  void run();

  std::FILE* out_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string buffer_;
  std::int64_t stamp_second_ = -1;
  char stamp_[24] = {};
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tokenauth_server

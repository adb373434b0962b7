// One line per request: time, request id, client address, method, route (from the route table,
// never the raw path), status, microseconds; as text or as one JSON object per line. Never
// headers, cookies, tokens, query strings or bodies. add() only appends to a buffer under a short
// lock; a background thread writes the buffer out every 50 ms, so I/O threads never wait on the
// terminal.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "config.hpp"

namespace tokenauth_server {

struct access_entry {
  std::string_view request_id;  // a safe token (request_id.hpp)
  std::string_view client_address;
  std::string_view method;  // client input: written printable and bounded
  std::string_view route;   // a route_names() entry or unmatched_route
  unsigned status = 0;
  std::uint64_t micros = 0;
};

class access_log {
 public:
  // nullptr: logging off, add() does nothing.
  explicit access_log(std::FILE* out, log_format format = log_format::text);
  ~access_log();  // flushes what is buffered
  access_log(const access_log&) = delete;
  access_log& operator=(const access_log&) = delete;

  void add(const access_entry& e);

 private:
  void run();

  std::FILE* out_;
  log_format format_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string buffer_;
  std::int64_t stamp_second_ = -1;
  char stamp_[24] = {};
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tokenauth_server

// The HTTP/1.1 transport of the example server (Boost.Beast, in the style of the Beast
// http_server_async example): a listener accepts, a session per connection moves bytes
// (read -> app::handle -> write -> read) with a timeout on every read and write and the header and
// body limits on the parser. Beast stays inside server.cpp; this header names none of it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "access_log.hpp"
#include "app.hpp"
#include "config.hpp"
#include "metrics.hpp"

namespace tokenauth_server {

class server {
 public:
  // Binds cfg.host:cfg.port and listens. Throws std::system_error when it cannot.
  // stats, when given, counts every request and connection (it must outlive the server).
  server(const config& cfg, app& application, access_log& log, metrics* stats = nullptr);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  std::uint16_t port() const;  // the bound port (useful with port 0)

  // Stops gracefully on the first SIGINT or SIGTERM.
  void stop_on_signals();

  // Calls fn on an I/O thread at each SIGHUP until stop() (without it SIGHUP ends the process).
  void on_hangup(std::function<void()> fn);

  // Serves on cfg.threads threads (this one included) until stop() has drained.
  void run();

  // Thread-safe: stops accepting, lets requests in flight finish (at most 10 s), closes the rest.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tokenauth_server

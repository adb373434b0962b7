// The admin listener: GET /metrics (Prometheus text format) on its own address (--admin-listen,
// loopback by default), on its own thread, so metrics are never reachable on the public port.
// One request per connection; anything but GET /metrics is 404.
#pragma once

#include <cstdint>
#include <memory>

#include "config.hpp"
#include "metrics.hpp"

namespace tokenauth_server {

class admin_server {
 public:
  // Binds and starts serving at once. Throws std::system_error when it cannot bind.
  admin_server(const listen_address& where, const metrics& m);
  ~admin_server();  // stops and joins the thread
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;

  std::uint16_t port() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tokenauth_server

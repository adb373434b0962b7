// The example server's request handling, free of any networking: a request (message.hpp) goes in,
// a response comes out. The app owns what the handlers share (services.hpp) and hands each request
// to the router (router.hpp), which runs the route's handler (handlers.hpp). Tests call handle()
// directly. Thread-safe: one app serves all I/O threads; routes that hash passwords or wait on a
// store run on a worker pool, never on the caller.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "config.hpp"
#include "message.hpp"
#include "metrics.hpp"
#include "router.hpp"
#include "tokenauth/clock.hpp"
#include "tokenauth/verify_cache.hpp"
#include "users.hpp"

namespace tokenauth {
class refresh_store;
}

namespace tokenauth_server {

struct services;

class app {
 public:
  using resume_fn = tokenauth_server::resume_fn;

  // Throws std::invalid_argument / std::system_error for an unusable configuration (bad secret).
  // With `stats`, which must outlive the app, logins, throttling, the password queue and the
  // library's verifications, rotations and store calls are counted there.
  app(const config& cfg, std::shared_ptr<tokenauth::refresh_store> refresh_store,
      std::shared_ptr<user_store> users, tokenauth::clock_fn clock = tokenauth::system_clock_now,
      metrics* stats = nullptr);
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  // Returns the response, or nullopt when the route was handed to a worker pool; then `resume` is
  // called exactly once, on a pool thread, with the response. Never throws.
  std::optional<response> handle(const request& req, const resume_fn& resume);

  // Finishes the queued password jobs and stops the pool; later ones answer 503. Call it once the
  // transport has stopped and before destroying what the resume callbacks post to.
  void stop_workers();

  // Reloads the signing keys from --jwt-keys-dir (on SIGHUP): {true, what is in use now}, or
  // {false, why the previous keys stay}. Thread-safe; requests in flight are not disturbed.
  std::pair<bool, std::string> reload_keys();

  // The verified-token cache every Bearer-authenticated route goes through.
  tokenauth::verify_cache_stats verified_token_stats() const;

 private:
  std::unique_ptr<services> services_;
};

}  // namespace tokenauth_server

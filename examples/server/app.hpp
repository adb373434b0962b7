// The example server's request handling, free of any networking: a request (views into the
// transport's buffers) goes in, a response comes out. Routes are one table in app.cpp; each is a
// function (request, services) -> response. Tests call handle() directly. Thread-safe: one app
// serves all I/O threads; routes that hash passwords run on a worker pool, never on the caller.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config.hpp"
#include "tokenauth/clock.hpp"
#include "users.hpp"

namespace tokenauth {
class refresh_store;
}

namespace tokenauth_server {

struct request {
  std::string_view method;  // as received, e.g. "GET"
  std::string_view target;  // path and query
  std::optional<std::string_view> authorization;
  std::string_view host;
  std::string_view cookie;
  std::string_view origin;
  std::string_view content_type;
  std::string_view client_address;  // the socket peer's IP address, textual
  std::string_view forwarded_for;   // X-Forwarded-For (every such field, comma-joined)
  std::string_view if_none_match;
  std::string_view body;
};

struct response {
  unsigned status = 200;
  std::string body;
  std::string_view content_type = "application/json";
  std::vector<std::pair<std::string_view, std::string>> headers;  // Set-Cookie, CORS, Allow, ...
};

// The path part of a request target (no query string): what the router and the access log see.
std::string_view request_path(std::string_view target) noexcept;

// The routes as logs and metrics name them: each distinct path of the route table, never a raw
// request path, so their number stays bounded. route_index() is a path's place in route_names(),
// or -1 when no route has that path ("unmatched").
const std::vector<std::string_view>& route_names();
int route_index(std::string_view path) noexcept;
inline constexpr std::string_view unmatched_route = "unmatched";

// Appends the HTTP/1.1 wire form of res to out.
void serialize(const response& res, bool keep_alive, std::string& out);

// A JSON error body {"ok":false,"status":N,"message":...}.
response error_response(unsigned status, std::string_view message);

class app {
 public:
  using resume_fn = std::function<void(response)>;

  // Throws std::invalid_argument / std::system_error for an unusable configuration (bad secret).
  app(const config& cfg, std::shared_ptr<tokenauth::refresh_store> refresh_store,
      std::shared_ptr<user_store> users, tokenauth::clock_fn clock = tokenauth::system_clock_now);
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  // Returns the response, or nullopt when the route was handed to the password worker pool; then
  // `resume` is called exactly once, on a pool thread, with the response. Never throws.
  std::optional<response> handle(const request& req, const resume_fn& resume);

  // Finishes the queued password jobs and stops the pool; later ones answer 503. Call it once the
  // transport has stopped and before destroying what the resume callbacks post to.
  void stop_workers();

  // Reloads the signing keys from --jwt-keys-dir (on SIGHUP): {true, what is in use now}, or
  // {false, why the previous keys stay}. Thread-safe; requests in flight are not disturbed.
  std::pair<bool, std::string> reload_keys();

  struct services;

 private:
  std::unique_ptr<services> services_;
};

}  // namespace tokenauth_server

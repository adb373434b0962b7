#include "router.hpp"

#include <algorithm>
#include <string>

#include "handlers.hpp"
#include "services.hpp"
#include "throttle.hpp"
#include "tokenauth/http.hpp"

namespace tokenauth_server {

namespace http = tokenauth::http;

constexpr std::string_view allowed_methods = "GET, POST, OPTIONS";
constexpr std::string_view allowed_headers = "authorization, content-type, withcredentials";

namespace {

bool allowed_origin(const services& s, std::string_view origin) {
  return std::find(s.cfg.cors_origins.begin(), s.cfg.cors_origins.end(), origin) !=
         s.cfg.cors_origins.end();
}

// Origin is this server itself (the demo page). The scheme counts: https://host and http://host
// are different origins. Behind a TLS proxy the server cannot see the scheme the browser used, so
// --public-origin names it; otherwise the server is what the browser reached: http://Host.
bool same_origin(const services& s, const request& req) {
  if (!s.cfg.public_origin.empty()) return req.origin == s.cfg.public_origin;
  constexpr std::string_view scheme = "http://";
  return !req.host.empty() && req.origin.size() == scheme.size() + req.host.size() &&
         req.origin.substr(0, scheme.size()) == scheme &&
         req.origin.substr(scheme.size()) == req.host;
}

// Every API answer varies with Origin (the CORS headers are there or not), so shared caches must
// key on it even when this particular answer carries none.
void add_cors(const services& s, const request& req, response& r) {
  r.headers.emplace_back("Vary", "Origin");
  if (req.origin.empty() || !allowed_origin(s, req.origin)) return;
  r.headers.emplace_back("Access-Control-Allow-Origin", std::string(req.origin));
  r.headers.emplace_back("Access-Control-Allow-Credentials", "true");
}

// The CSRF defence of every state-changing route (all are POSTs) and of every route that reads
// the refresh cookie. The Origin must be allowed or our own; a request without one is not from a
// browser that would attach cookies cross-site, so it passes. A POST's body must be declared
// application/json: a cross-site form or no-cors fetch cannot send that without a CORS preflight,
// which only allowed origins pass.
std::optional<response> csrf_check(const services& s, const request& req, bool json_body) {
  if (!req.origin.empty() && !allowed_origin(s, req.origin) && !same_origin(s, req))
    return error_response(403, "Origin not allowed");
  if (json_body && !http::is_json_content_type(req.content_type))
    return error_response(415, "Content-Type must be application/json");
  return std::nullopt;
}

// Where a route runs: CPU-only routes on the I/O thread; routes that wait on the refresh store on
// the store pool (so a slow Redis never stalls other connections); bcrypt on the password pool.
enum class runs_on { io, store, password };

struct route {
  std::string_view method;
  std::string_view path;
  response (*fn)(const request&, services&);
  runs_on where;
  bool uses_cookie;  // reads the refresh cookie: only from allowed or same origins
};

// Every route but GET (and OPTIONS, answered without a route) changes state.
bool changes_state(const route& rt) {
  return rt.method != "GET";
}

const route routes[] = {
    {"GET", "/", handlers::demo_page, runs_on::io, false},
    {"POST", "/auth/join", handlers::join, runs_on::password, false},
    {"POST", "/auth/login", handlers::login, runs_on::password, false},
    {"POST", "/auth/reissuance", handlers::reissue, runs_on::store, true},
    {"POST", "/auth/logout", handlers::logout, runs_on::store, true},
    {"GET", "/auth/sessions", handlers::list_sessions, runs_on::store, true},
    {"POST", "/auth/sessions/revoke", handlers::revoke_session, runs_on::store, true},
    {"POST", "/auth/logout-all", handlers::logout_all, runs_on::store, true},
    {"POST", "/auth/demo/steal", handlers::demo_steal, runs_on::store, true},
    {"GET", "/getuser", handlers::get_user, runs_on::io, false},
    {"GET", "/getnumber", handlers::get_number, runs_on::io, false},
    {"GET", "/.well-known/jwks.json", handlers::jwks, runs_on::io, false},
    {"GET", "/healthz", handlers::healthz, runs_on::io, false},
    {"GET", "/readyz", handlers::readyz, runs_on::store,
     false},  // pings the stores: on the store pool
};

// The request with its own copies, for routes that finish on another thread.
struct owned_request {
  explicit owned_request(const request& r)
      : method(r.method),
        target(r.target),
        cookie(r.cookie),
        origin(r.origin),
        host(r.host),
        content_type(r.content_type),
        client_address(r.client_address),
        forwarded_for(r.forwarded_for),
        if_none_match(r.if_none_match),
        body(r.body),
        has_auth(r.authorization.has_value()),
        authorization(r.authorization.value_or("")) {}
  std::string method, target, cookie, origin, host, content_type, client_address, forwarded_for,
      if_none_match, body;
  bool has_auth;
  std::string authorization;
  request view() const {
    request r;
    r.method = method;
    r.target = target;
    if (has_auth) r.authorization = authorization;
    r.host = host;
    r.cookie = cookie;
    r.origin = origin;
    r.content_type = content_type;
    r.client_address = client_address;
    r.forwarded_for = forwarded_for;
    r.if_none_match = if_none_match;
    r.body = body;
    return r;
  }
};

response run_route(const route& rt, const request& req, services& s) {
  try {
    response r = rt.fn(req, s);
    add_cors(s, req, r);
    return r;
  } catch (const std::exception&) {
    return error_response(500, "Internal server error");
  }
}

}  // namespace

const std::vector<std::string_view>& route_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const auto& rt : routes)
      if (std::find(out.begin(), out.end(), rt.path) == out.end()) out.push_back(rt.path);
    return out;
  }();
  return names;
}

int route_index(std::string_view path) noexcept {
  const auto& names = route_names();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == path) return static_cast<int>(i);
  return -1;
}

std::optional<response> dispatch(const request& req, const resume_fn& resume, services& s) {
  try {
    const std::string_view path = request_path(req.target);
    const route* by_path = nullptr;
    for (const auto& rt : routes) {
      if (rt.path != path) continue;
      by_path = &rt;
      if (rt.method != req.method) continue;
      if (changes_state(rt) || rt.uses_cookie)
        if (auto refused = csrf_check(s, req, /*json_body=*/changes_state(rt))) {
          add_cors(s, req, *refused);
          return refused;
        }
      worker_pool* pool = rt.where == runs_on::password ? &s.password_pool
                          : rt.where == runs_on::store  ? s.store_pool.get()
                                                        : nullptr;
      if (!pool) return run_route(rt, req, s);
      // One client address may have only its share of the password queue: the rest stays free
      // for everybody else, however fast that address sends.
      const bool shared = pool == &s.password_pool;
      std::string address;
      if (shared) {
        address = client_key(req.client_address, req.forwarded_for, s.cfg.trust_proxy);
        if (!s.bcrypt_share.try_enter(address)) {
          if (s.stats) s.stats->throttled(throttle_reason::password_queue_share);
          response r = error_response(429, "Too many requests from this address, try again");
          r.headers.emplace_back("Retry-After", "1");
          add_cors(s, req, r);
          return r;
        }
      }
      // The password queue's depth: counted in before the post (a worker may take the job at
      // once), out when a worker takes it or the post fails.
      const bool queue_counted = shared && s.stats;
      if (queue_counted) s.stats->password_job_queued();
      auto job = [&rt, &s, owned = owned_request(req), resume, shared, address, queue_counted] {
        if (queue_counted) s.stats->password_job_dequeued();
        response r = run_route(rt, owned.view(), s);
        if (shared) s.bcrypt_share.leave(address);
        resume(std::move(r));
      };
      if (pool->try_post(std::move(job))) return std::nullopt;
      if (queue_counted) s.stats->password_job_dequeued();
      if (shared) s.bcrypt_share.leave(address);
      response r = error_response(503, "Server busy, try again");
      r.headers.emplace_back("Retry-After", "1");
      add_cors(s, req, r);
      return r;
    }
    if (!by_path) {
      response r = error_response(404, "Not Found");
      add_cors(s, req, r);
      return r;
    }
    response r;
    if (req.method == "OPTIONS") {  // CORS preflight
      r.status = 204;
      add_cors(s, req, r);
      if (!req.origin.empty() && allowed_origin(s, req.origin)) {
        r.headers.emplace_back("Access-Control-Allow-Methods", std::string(allowed_methods));
        r.headers.emplace_back("Access-Control-Allow-Headers", std::string(allowed_headers));
        r.headers.emplace_back("Access-Control-Max-Age", "600");
      }
      return r;
    }
    std::string allow;
    for (const auto& rt : routes)
      if (rt.path == path) allow.append(rt.method).append(", ");
    r = error_response(405, "Method Not Allowed");
    r.headers.emplace_back("Allow", allow + "OPTIONS");
    add_cors(s, req, r);
    return r;
  } catch (const std::exception&) {
    return error_response(500, "Internal server error");
  }
}

}  // namespace tokenauth_server

#include "orders.hpp"

#include <nlohmann/json.hpp>

#include "tokenauth/http.hpp"

namespace resource_service {

namespace {

using json = nlohmann::json;

response json_response(unsigned status, const json& body) {
  return {
      status, body.dump(), {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}}};
}

// The error shape of the auth server: {"ok":false,"status":...,"message":...}.
response error_response(unsigned status, std::string_view message) {
  return json_response(status, {{"ok", false}, {"status", status}, {"message", message}});
}

}  // namespace

response orders_api::handle(std::string_view method, std::string_view target,
                            std::string_view authorization) const {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path != "/orders" && path != "/healthz") return error_response(404, "Not Found");
  if (method != "GET") {
    response r = error_response(405, "Method Not Allowed");
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  return path == "/orders" ? orders(authorization) : health();
}

response orders_api::orders(std::string_view authorization) const {
  const auto token = tokenauth::http::bearer_token(authorization);
  if (!token) {
    response r = error_response(401, "Not Logged In");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  const auto claims = keys_.verify(*token, cache_);
  if (!claims) {
    // Without keys nothing can be verified: the service, not the token, is at fault.
    if (claims.error() == tokenauth::errc::keys_unavailable)
      return error_response(503, claims.error().message());
    response r = error_response(401, claims.error().message());
    r.headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    return r;
  }
  // Demo data derived from the user: what matters is whose orders these are.
  const std::string user = claims->sub().value_or("");
  json orders = json::array();
  orders.push_back({{"id", user + "-1001"}, {"item", "coffee beans"}, {"quantity", 2}});
  orders.push_back({{"id", user + "-1002"}, {"item", "grinder"}, {"quantity", 1}});
  return json_response(200, {{"ok", true}, {"data", {{"user", user}, {"orders", orders}}}});
}

response orders_api::health() const {
  const auto s = keys_.stats();
  json body = {{"ok", s.usable}, {"keys", s.keys}};
  if (!s.last_error.empty()) body["lastError"] = s.last_error;
  return json_response(s.usable ? 200 : 503, body);
}

}  // namespace resource_service

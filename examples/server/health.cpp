#include "health.hpp"

#include <nlohmann/json.hpp>
#include <string>

#include "tokenauth/refresh.hpp"

namespace tokenauth_server {

namespace {

using steady = std::chrono::steady_clock;

// "ok", "unavailable" or "timeout" for one ping.
template <class Ping>
const char* check(Ping&& ping, std::chrono::milliseconds budget) {
  const auto start = steady::now();
  const bool answered = ping();
  if (!answered) return "unavailable";
  return steady::now() - start > budget ? "timeout" : "ok";
}

}  // namespace

response health_response() {
  response r;
  r.body = R"({"ok":true})";
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

response readiness_response(const tokenauth::refresh_service& refresh, user_store& users,
                            std::chrono::milliseconds budget) {
  const char* refresh_state = check([&] { return !refresh.ping(); }, budget);
  // The largest row id: well-formed, so the store really queries, and no table holds it.
  const char* users_state =
      check([&] { return users.find_by_id("9223372036854775807").has_value(); }, budget);
  const bool refresh_ok = std::string_view(refresh_state) == "ok";
  const bool users_ok = std::string_view(users_state) == "ok";
  nlohmann::json checks{{"refreshStore", refresh_state}, {"userStore", users_state}};
  response r;
  if (refresh_ok && users_ok) {
    r.body = nlohmann::json{{"ok", true}, {"checks", std::move(checks)}}.dump();
  } else {
    // Each failed store by role and kind, e.g. "refresh store (redis)".
    const std::string refresh_name = "refresh store (" + std::string(refresh.store().name()) + ")";
    const std::string users_name = "user store (" + std::string(users.name()) + ")";
    const std::string failed = !refresh_ok && !users_ok ? refresh_name + " and " + users_name
                               : !refresh_ok            ? refresh_name
                                                        : users_name;
    r.status = 503;
    r.body = nlohmann::json{{"ok", false},
                            {"status", 503},
                            {"message", "Not ready: " + failed + " not answering"},
                            {"checks", std::move(checks)}}
                 .dump();
  }
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace tokenauth_server

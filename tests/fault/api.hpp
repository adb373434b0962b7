// The calls (docs/design.md, HTTP contract) the fault and soak tests make, over
// tests/server/http_client.hpp. Each call returns the reply, or nullopt when the connection
// failed or closed without one.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "../server/http_client.hpp"

namespace fault {

using test_http::reply;

struct session {
  std::string access;
  std::string cookie;
};

// The refreshToken value a reply sets, if any.
inline std::optional<std::string> set_cookie(const reply& r) {
  for (const auto& c : r.all("set-cookie"))
    if (c.rfind("refreshToken=", 0) == 0) return c.substr(13, c.find(';') - 13);
  return std::nullopt;
}

// A JSON body, or a discarded value when the body is not JSON.
inline nlohmann::json json_of(const reply& r) {
  return nlohmann::json::parse(r.body, nullptr, false);
}

// Sends one request on `c` (keep-alive) and reads the answer.
inline std::optional<reply> roundtrip(test_http::connection& c, const std::string& raw) {
  if (!c.send(raw)) return std::nullopt;
  return c.read();
}

inline std::optional<reply> once(std::uint16_t port, const std::string& raw) {
  try {
    test_http::connection c(port);
    return roundtrip(c, raw);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

inline std::string join_request(const std::string& nick) {
  const nlohmann::json body{{"email", nick + "@example.com"},
                            {"nick", nick},
                            {"password", "correct horse"},
                            {"name", nick + " Name"}};
  return test_http::build("POST", "/auth/join", {{"Content-Type", "application/json"}},
                          body.dump());
}

inline std::string login_request(const std::string& nick) {
  const nlohmann::json body{{"email", nick + "@example.com"}, {"password", "correct horse"}};
  return test_http::build("POST", "/auth/login", {{"Content-Type", "application/json"}},
                          body.dump());
}

inline std::string reissue_request(const session& s) {
  return test_http::build("POST", "/auth/reissuance",
                          {{"Authorization", "Bearer " + s.access},
                           {"Cookie", "refreshToken=" + s.cookie},
                           {"Content-Type", "application/json"}});
}

inline std::string get_request(const std::string& path, const session& s) {
  return test_http::build("GET", path, {{"Authorization", "Bearer " + s.access}});
}

// Takes the access token and the new cookie of a 200 login/reissuance answer into `s`.
inline bool absorb(session& s, const std::optional<reply>& r) {
  if (!r || r->status != 200) return false;
  const auto body = json_of(*r);
  if (!body.is_object() || !body["data"].is_object() || !body["data"]["accessToken"].is_string())
    return false;
  s.access = body["data"]["accessToken"].get<std::string>();
  if (auto c = set_cookie(*r)) s.cookie = *c;
  return true;
}

// Joins and logs in a new user; nullopt on any failure.
inline std::optional<session> new_session(std::uint16_t port, const std::string& nick) {
  const auto joined = once(port, join_request(nick));
  if (!joined || joined->status != 201) return std::nullopt;
  session s;
  if (!absorb(s, once(port, login_request(nick))) || s.cookie.empty()) return std::nullopt;
  return s;
}

}  // namespace fault

#include "handlers.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "demo_page.hpp"
#include "health.hpp"
#include "services.hpp"
#include "text.hpp"
#include "tokenauth/jwt.hpp"

namespace tokenauth_server::handlers {

using json = nlohmann::json;
namespace http = tokenauth::http;

constexpr tokenauth::unix_seconds jwks_max_age = 300;  // at most the access-token lifetime

namespace {

response json_response(unsigned status, const json& body) {
  response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

response ok_data(unsigned status, json data) {
  return json_response(status, json{{"ok", true}, {"data", std::move(data)}});
}

std::string set_refresh_cookie(const services& s, std::string_view token) {
  return http::set_cookie(s.cfg.cookie_name, token, s.cookie);
}

void clear_refresh_cookie(const services& s, response& r) {
  r.headers.emplace_back("Set-Cookie", http::clear_cookie(s.cfg.cookie_name, s.cookie));
}

// The request's refresh cookie: the first well-formed, non-empty one of that name (a cleared or
// ill-formed copy, e.g. one tossed in by a sibling subdomain, does not hide the real one).
std::optional<std::string_view> refresh_cookie_of(const services& s, const request& req) {
  return http::cookie_value(req.cookie, s.cfg.cookie_name,
                            [](std::string_view v) { return !v.empty(); });
}

std::string access_token(const services& s, std::string_view id, std::string_view nick,
                         std::string_view name) {
  tokenauth::claim_set c;
  c.set("id", id).set("nick", nick).set("name", name).set("sub", id);
  return s.keys.current()->signer.sign(c);
}

// The verified claims of the request's Bearer token, or the 401 to send.
struct auth_outcome {
  std::optional<tokenauth::claims> claims;
  response denied;
};

auth_outcome authenticate(const request& req, const services& s) {
  if (!req.authorization) return {std::nullopt, error_response(401, "Not Logged In")};
  auto token = http::bearer_token(*req.authorization);
  if (!token) return {std::nullopt, error_response(401, "jwt must be provided")};
  auto v = s.verified.verify(s.keys.current()->verifier, *token);
  if (!v) return {std::nullopt, error_response(401, v.error().message())};
  return {std::move(*v), {}};
}

// The body as a JSON object, or nullopt when it is not one.
std::optional<json> json_object(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// The string member `key`, or nullopt when absent or of another type.
std::optional<std::string> string_member(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

bool plausible_email(std::string_view e) {
  std::size_t at = e.find('@');
  return e.size() <= 254 && at != std::string_view::npos && at > 0 && at + 1 < e.size() &&
         e.find_first_of(" \t\r\n", 0) == std::string_view::npos;
}

// Number of UTF-8 code points (the input is valid UTF-8: nlohmann checked it).
std::size_t chars(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

}  // namespace

// ---- routes ---------------------------------------------------------------------------------

response join(const request& req, services& s) {
  auto body = json_object(req.body);
  if (!body) return error_response(400, "Request body must be a JSON object");
  auto email = string_member(*body, "email");
  auto nick = string_member(*body, "nick");
  auto password = string_member(*body, "password");
  auto name = string_member(*body, "name");
  if (!email || !nick || !password || !name)
    return error_response(400, "email, nick, password and name must be strings");
  if (!plausible_email(*email)) return error_response(400, "email is not a valid address");
  // The store's column lengths: a value that would not fit is a clear 400, not a database error.
  const user_limits limits = s.users->limits();
  const auto too_long = [](const char* what, std::size_t min, std::size_t max) {
    return error_response(400, std::string(what) + " must be " + std::to_string(min) + " to " +
                                   std::to_string(max) + " characters");
  };
  if (chars(*email) > limits.email) return too_long("email", 3, limits.email);
  if (chars(*nick) < 1 || chars(*nick) > limits.nick) return too_long("nick", 1, limits.nick);
  if (chars(*name) < 1 || chars(*name) > limits.name) return too_long("name", 1, limits.name);
  if (password->empty() || password->size() > 72 || password->find('\0') != std::string::npos)
    return error_response(400, "password must be 1 to 72 bytes");
  auto hash = bcrypt::hash(*password, s.cfg.bcrypt_cost);
  if (!hash) return error_response(500, "Could not hash the password");
  user u{{}, *email, *nick, *name, std::move(*hash)};
  auto created = s.users->create(u);
  if (!created) return error_response(503, "User store unavailable");
  if (*created == create_status::email_taken)
    return error_response(409, "Email already registered");
  if (*created == create_status::nick_taken) return error_response(409, "Nick already taken");
  if (*created == create_status::unstorable)
    return error_response(400, "email, nick or name has characters the user database cannot store");
  return ok_data(201, {{"userId", u.id}, {"email", u.email}, {"nick", u.nick}, {"name", u.name}});
}

namespace {

void count_login(const services& s, login_result r) {
  if (s.stats) s.stats->login(r);
}

}  // namespace

response login(const request& req, services& s) {
  auto body = json_object(req.body);
  if (!body) return error_response(400, "Request body must be a JSON object");
  auto email = string_member(*body, "email");
  auto password = string_member(*body, "password");
  if (!email || !password) return error_response(400, "email and password must be strings");
  const std::string account = account_key(*email);
  const auto verdict = s.throttle->attempt(
      account, client_key(req.client_address, req.forwarded_for, s.cfg.trust_proxy), s.clock());
  if (verdict.outcome == throttle_verdict::kind::unavailable) {
    count_login(s, login_result::error);
    return error_response(503, "Session store unavailable");
  }
  if (verdict.outcome == throttle_verdict::kind::throttled) {
    count_login(s, login_result::throttled);
    if (s.stats) s.stats->throttled(throttle_reason::login_rate);
    response r = error_response(429, "Too many login attempts, try again later");
    r.headers.emplace_back("Retry-After", std::to_string(verdict.retry_after));
    return r;
  }
  auto found = s.users->find_by_email(*email);
  if (!found) {
    count_login(s, login_result::error);
    return error_response(503, "User store unavailable");
  }
  // Unknown email: hash anyway, so the answer takes as long and says the same.
  // Whatever the stored hash (another cost, not bcrypt at all), verify_evenly does the work of one
  // dummy-cost hash, so the answer's timing does not tell which case it was (password.hpp).
  const bool ok = bcrypt::verify_evenly(*password, *found ? (*found)->password_hash : s.dummy_hash,
                                        s.dummy_hash);
  if (!ok || !*found) {
    count_login(s, login_result::bad_credentials);
    return error_response(401, "Invalid email or password");
  }
  s.throttle->succeeded(account);
  const user& u = **found;
  auto issued = s.refresh.issue(u.id);
  if (!issued) {
    count_login(s, login_result::error);
    return error_response(503, "Session store unavailable");
  }
  count_login(s, login_result::ok);
  response r = ok_data(200, {{"accessToken", access_token(s, u.id, u.nick, u.name)}});
  r.headers.emplace_back("Set-Cookie", set_refresh_cookie(s, issued->token));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

response reissue(const request& req, services& s) {
  auto cookie = refresh_cookie_of(s, req);
  if (!cookie || cookie->empty()) return error_response(403, "No refresh token");

  // The old access token, when sent, must be ours (signature valid; expiry ignored).
  std::optional<tokenauth::claims> old;
  if (req.authorization) {
    auto token = http::bearer_token(*req.authorization);
    if (!token) return error_response(401, "jwt must be provided");
    auto v = s.keys.current()->verifier.verify_allow_expired(*token);
    if (!v) return error_response(401, v.error().message());
    old = std::move(*v);
  }

  auto rotated = s.refresh.rotate(*cookie);
  if (!rotated) {
    if (tokenauth::is_store_unavailable(rotated.error()))
      return error_response(503, "Session store unavailable");
    response r = error_response(401, rotated.error().message());
    clear_refresh_cookie(s, r);
    return r;
  }

  std::string id = rotated->user_id, nick, name;
  if (old) {
    // A cookie presented with someone else's token: treat the cookie as stolen.
    if (old->string("id") != id) {
      (void)s.refresh.revoke_family(rotated->family_id);
      response r = error_response(401, "Token does not match the session");
      clear_refresh_cookie(s, r);
      return r;
    }
    nick = old->string("nick").value_or("");
    name = old->string("name").value_or("");
  } else {
    auto u = s.users->find_by_id(id);
    if (!u) return error_response(503, "User store unavailable");
    if (!*u) {
      (void)s.refresh.revoke_family(rotated->family_id);
      response r = error_response(401, "User not found");
      clear_refresh_cookie(s, r);
      return r;
    }
    nick = (*u)->nick;
    name = (*u)->name;
  }

  response r = ok_data(200, {{"accessToken", access_token(s, id, nick, name)},
                             {"userId", id},
                             {"nick", nick},
                             {"name", name}});
  if (rotated->token) r.headers.emplace_back("Set-Cookie", set_refresh_cookie(s, *rotated->token));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

response logout(const request& req, services& s) {
  if (auto cookie = refresh_cookie_of(s, req); cookie && !cookie->empty()) {
    if (tokenauth::is_store_unavailable(s.refresh.revoke(*cookie)))
      return error_response(503, "Session store unavailable");
  }
  response r = json_response(200, {{"ok", true}});
  clear_refresh_cookie(s, r);
  return r;
}

response get_user(const request& req, services& s) {
  auto a = authenticate(req, s);
  if (!a.claims) return std::move(a.denied);
  return json_response(200, {{"nick", a.claims->string("nick").value_or("")},
                             {"name", a.claims->string("name").value_or("")},
                             {"userId", a.claims->string("id").value_or("")}});
}

response get_number(const request& req, services& s) {
  auto a = authenticate(req, s);
  if (!a.claims) return std::move(a.denied);
  thread_local std::minstd_rand rng{std::random_device{}()};
  const int n = std::uniform_int_distribution<int>(1, 10)(rng);
  response r;
  r.body = n == 10 ? std::string(R"({"number":10})")
                   : std::string(R"({"number":)") + static_cast<char>('0' + n) + '}';
  return r;
}

// ---- sessions -------------------------------------------------------------------------------
// The caller is the Bearer token's user (as for /getuser), and the refresh cookie, read but never
// rotated, must name one of that user's live sessions: it says which session is `current`, binds
// the request to a live session (an access token alone cannot list or end sessions), and tells a
// browser whose session was ended elsewhere so at once. The store has no read-only check of a
// token, so the cookie's secret part is not checked here; its family id is 144 random bits that
// only the token's holder knows (the routes show session ids, never family ids).

namespace {

struct session_caller {
  std::string user_id;
  std::string family_id;                          // the session of the request's cookie
  std::vector<tokenauth::session_info> sessions;  // the user's live sessions, oldest first
  std::optional<response> denied;
};

bool same_family(std::string_view a, std::string_view b) {  // family ids are secrets
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

session_caller session_caller_of(const request& req, const services& s) {
  session_caller c;
  auto a = authenticate(req, s);
  if (!a.claims) {
    c.denied = std::move(a.denied);
    return c;
  }
  auto cookie = refresh_cookie_of(s, req);
  if (!cookie || cookie->empty()) {
    c.denied = error_response(403, "No refresh token");
    return c;
  }
  c.user_id = a.claims->string("id").value_or("");
  auto live = s.refresh.sessions(c.user_id);
  if (!live) {
    c.denied = error_response(503, "Session store unavailable");
    return c;
  }
  const auto family = tokenauth::refresh_token_family(*cookie);
  const bool found =
      family && std::any_of(live->begin(), live->end(), [&](const tokenauth::session_info& i) {
        return same_family(i.family_id, *family);
      });
  if (!found) {
    response r = error_response(401, "Session ended");
    clear_refresh_cookie(s, r);
    c.denied = std::move(r);
    return c;
  }
  c.family_id = std::string(*family);
  c.sessions = std::move(*live);
  return c;
}

}  // namespace

response list_sessions(const request& req, services& s) {
  auto c = session_caller_of(req, s);
  if (c.denied) return std::move(*c.denied);
  json list = json::array();
  for (const auto& i : c.sessions)
    list.push_back({{"id", s.ids.of(i.family_id)},
                    {"created", i.created},
                    {"lastUsed", i.last_used},
                    {"expires", i.expires_at},
                    {"current", same_family(i.family_id, c.family_id)}});
  response r = ok_data(200, {{"sessions", std::move(list)}});
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

response revoke_session(const request& req, services& s) {
  auto c = session_caller_of(req, s);
  if (c.denied) return std::move(*c.denied);
  auto body = json_object(req.body);
  if (!body) return error_response(400, "Request body must be a JSON object");
  auto id = string_member(*body, "id");
  if (!id) return error_response(400, "id must be a string");
  // Only the caller's own sessions are candidates: another user's id matches none of them.
  auto it = std::find_if(
      c.sessions.begin(), c.sessions.end(),
      [&](const tokenauth::session_info& i) { return s.ids.matches(i.family_id, *id); });
  if (it == c.sessions.end()) return error_response(404, "Session not found");
  if (auto ec = s.refresh.revoke_family(it->family_id)) {
    if (tokenauth::is_store_unavailable(ec))
      return error_response(503, "Session store unavailable");
    return error_response(404, "Session not found");  // swept since it was listed
  }
  const bool current = same_family(it->family_id, c.family_id);
  response r = ok_data(200, {{"current", current}});
  if (current) clear_refresh_cookie(s, r);
  return r;
}

response logout_all(const request& req, services& s) {
  auto c = session_caller_of(req, s);
  if (c.denied) return std::move(*c.denied);
  if (tokenauth::is_store_unavailable(s.refresh.revoke_user(c.user_id)))
    return error_response(503, "Session store unavailable");
  response r = ok_data(200, {{"ended", c.sessions.size()}});
  clear_refresh_cookie(s, r);
  return r;
}

// Demo only: the server plays a thief who has copied the caller's refresh cookie. The thief
// presents it and refreshes once more, as any client would, so the browser's cookie is now two
// generations old. No grace window covers that, so the browser's next reissuance is reuse: the
// session is revoked. Nothing the thief got is returned.
response demo_steal(const request& req, services& s) {
  if (!s.demo) return error_response(404, "Not Found");
  auto c = session_caller_of(req, s);
  if (c.denied) return std::move(*c.denied);
  const auto cookie = refresh_cookie_of(s, req);
  auto used = s.refresh.rotate(*cookie);
  if (used && !used->token)
    return error_response(409, "The refresh token was just rotated; reissue, then try again");
  std::error_code ec = used ? std::error_code{} : used.error();
  if (used) {
    auto refreshed = s.refresh.rotate(*used->token);
    if (!refreshed) ec = refreshed.error();
  }
  if (ec) {
    if (tokenauth::is_store_unavailable(ec))
      return error_response(503, "Session store unavailable");
    response r = error_response(401, ec.message());
    clear_refresh_cookie(s, r);
    return r;
  }
  return ok_data(200, {{"rotations", 2}});
}

response demo_page(const request&, services& s) {
  response r;
  r.body = std::string(demo_page_html);
  r.content_type = "text/html; charset=utf-8";
  r.headers.emplace_back("Content-Security-Policy", s.page_csp);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  return r;
}

response healthz(const request&, services&) {
  return health_response();
}

response readyz(const request&, services& s) {
  return readiness_response(s.refresh, *s.users);
}

namespace {

// Whether an If-None-Match field value (a list of entity tags, or "*") names etag. Weak
// comparison, as RFC 9110 §13.1.2 asks for If-None-Match.
bool none_match_hits(std::string_view field, std::string_view etag) {
  while (!field.empty()) {
    const std::size_t comma = field.find(',');
    std::string_view tag = trim_ows(field.substr(0, comma));
    field = comma == std::string_view::npos ? std::string_view{} : field.substr(comma + 1);
    if (tag == "*") return true;
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

}  // namespace

// The public keys that verify our access tokens (RFC 7517 §5), for services that verify them
// without holding any secret. Cacheable by anyone; short-lived enough that verifiers see a new
// key soon even when they do not refetch on an unknown kid.
response jwks(const request& req, services& s) {
  const auto keys = s.keys.current();
  response r;
  r.headers.emplace_back("Cache-Control",
                         "public, max-age=" + std::to_string(std::min<tokenauth::unix_seconds>(
                                                  jwks_max_age, s.cfg.access_ttl)));
  r.headers.emplace_back("ETag", keys->etag);
  if (none_match_hits(req.if_none_match, keys->etag)) {
    r.status = 304;
    return r;
  }
  r.body = keys->jwks;
  r.content_type = "application/jwk-set+json";
  return r;
}

}  // namespace tokenauth_server::handlers

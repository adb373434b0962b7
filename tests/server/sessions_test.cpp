// HTTP tests of the session routes (GET /auth/sessions, POST /auth/sessions/revoke,
// POST /auth/logout-all) and the demo-only POST /auth/demo/steal, each run against the memory
// store, SQLite and a real Redis.
#include <catch2/catch.hpp>

#include <cstdio>
#include <set>

#include "server_fixture.hpp"
#include "tokenauth/sqlite_store.hpp"

using namespace test_server;
using test_http::reply;

namespace {

// Every refresh store: memory, SQLite, and Redis when redis-server exists (the fixture fails under
// CI=true when it does not).
std::vector<std::string> store_kinds() {
  if (shared_redis().available()) return {"memory", "sqlite", "redis"};
  return {"memory", "sqlite"};
}

std::string store_kind() {
  return GENERATE(from_range(store_kinds()));
}

// A server over a fresh store of that kind; SQLite and Redis calls run on the store pool, as the
// server runs them by default.
std::unique_ptr<fixture> server_on(const std::string& kind, config cfg = test_config()) {
  if (kind != "sqlite") return std::make_unique<fixture>(kind, std::move(cfg));
  cfg.store_threads = 2;
  return std::make_unique<fixture>(std::make_shared<tokenauth::sqlite_store>(":memory:"),
                                   std::move(cfg));
}

void check_error(const reply& r, int status, const std::string& message) {
  CHECK(r.status == status);
  CHECK(r.header("content-type") == "application/json");
  auto j = body_json(r);
  CHECK(j["ok"] == false);
  CHECK(j["status"] == status);
  CHECK(j["message"] == message);
}

bool cleared(const reply& r) {
  for (const auto& c : r.all("set-cookie"))
    if (c.rfind("refreshToken=;", 0) == 0 && c.find("Max-Age=0") != std::string::npos &&
        c.find("Path=/auth") != std::string::npos)
      return true;
  return false;
}

test_http::header_list credentials(const session& s) {
  return {{"Authorization", "Bearer " + s.access}, {"Cookie", "refreshToken=" + s.cookie}};
}

reply list(fixture& f, const session& s) {
  return f.request("GET", "/auth/sessions", credentials(s));
}

reply post(fixture& f, const std::string& path, const session& s, const std::string& body = "{}") {
  auto h = credentials(s);
  h.emplace_back("Content-Type", "application/json");
  return f.request("POST", path, h, body);
}

reply end_session(fixture& f, const session& s, const std::string& id) {
  return post(f, "/auth/sessions/revoke", s, nlohmann::json{{"id", id}}.dump());
}

// A second login of an existing user: a session of its own.
session another_login(fixture& f, const std::string& nick) {
  auto r = login(f, nick + "@example.com");
  REQUIRE(r.status == 200);
  return {body_json(r)["data"]["accessToken"].get<std::string>(), refresh_cookie(r).value_or("")};
}

// The family id inside a refresh token (rt1.<family>.<secret>).
std::string family_of(const std::string& cookie) {
  return cookie.substr(4, 32);
}

// The sessions a list reply shows, in order.
nlohmann::json sessions_of(const reply& r) {
  REQUIRE(r.status == 200);
  auto j = body_json(r);
  REQUIRE(j["ok"] == true);
  return j["data"]["sessions"];
}

// The id of the session marked current.
std::string current_id(const reply& r) {
  for (const auto& s : sessions_of(r))
    if (s["current"] == true) return s["id"];
  FAIL("no current session");
  return {};
}

// A refresh store whose backend can be taken down, wholly or for writes only (so a route gets
// past its read and fails on its write).
class switchable_store : public tokenauth::refresh_store {
 public:
  bool down = false;
  bool writes_down = false;

  std::error_code create_family(const tokenauth::new_family& f) override {
    return writes_failing() ? unavailable() : inner_.create_family(f);
  }
  tokenauth::result<tokenauth::rotate_outcome> rotate(const tokenauth::rotate_request& r) override {
    if (writes_failing()) return unavailable();
    return inner_.rotate(r);
  }
  std::error_code revoke_family(std::string_view family, const tokenauth::token_digest* digest,
                                tokenauth::unix_seconds now) override {
    return writes_failing() ? unavailable() : inner_.revoke_family(family, digest, now);
  }
  std::error_code revoke_user(std::string_view user, tokenauth::unix_seconds now) override {
    return writes_failing() ? unavailable() : inner_.revoke_user(user, now);
  }
  tokenauth::result<std::vector<tokenauth::session_info>> sessions(
      std::string_view user, tokenauth::unix_seconds now) override {
    if (down) return unavailable();
    return inner_.sessions(user, now);
  }

 private:
  bool writes_failing() const { return down || writes_down; }
  static std::error_code unavailable() { return tokenauth::errc::store_unavailable; }
  tokenauth::memory_store inner_;
};

}  // namespace

TEST_CASE("GET /auth/sessions lists the caller's live sessions, oldest first, one current") {
  auto cfg = test_config();
  cfg.access_ttl = 60;
  auto server = server_on(store_kind(), cfg);
  fixture& f = *server;
  auto first = new_session(f, "ada");
  f.advance(10);
  auto second = another_login(f, "ada");
  auto bob = new_session(f, "bob");

  auto r = list(f, second);
  CHECK(r.header("cache-control") == "no-store");
  auto listed = sessions_of(r);
  REQUIRE(listed.size() == 2);  // bob's session is not ada's
  for (const auto& s : listed) {
    CHECK(s.size() == 5);
    CHECK(s["id"].get<std::string>().size() == 22);
    CHECK(s["created"].is_number_integer());
    CHECK(s["lastUsed"].is_number_integer());
    CHECK(s["expires"].get<long long>() > s["created"].get<long long>());
  }
  CHECK(listed[0]["created"].get<long long>() + 10 <= listed[1]["created"].get<long long>());
  CHECK(listed[0]["current"] == false);
  CHECK(listed[1]["current"] == true);
  // Session ids are opaque: neither family id appears in the reply.
  CHECK(r.body.find(family_of(first.cookie)) == std::string::npos);
  CHECK(r.body.find(family_of(second.cookie)) == std::string::npos);
  CHECK(r.body.find(family_of(first.cookie).substr(0, 8)) == std::string::npos);  // user tag

  // Same ids seen from the other session, with `current` moved; ids are stable.
  auto from_first = sessions_of(list(f, first));
  REQUIRE(from_first.size() == 2);
  CHECK(from_first[0]["id"] == listed[0]["id"]);
  CHECK(from_first[1]["id"] == listed[1]["id"]);
  CHECK(from_first[0]["current"] == true);
  CHECK(from_first[1]["current"] == false);
  // Listing never rotates the cookie, and reissuance moves `lastUsed`.
  CHECK(!refresh_cookie(r));
  const auto used_before = listed[0]["lastUsed"].get<long long>();
  f.advance(5);
  auto re = reissue(f, first.access, first.cookie);
  REQUIRE(re.status == 200);
  first.cookie = *refresh_cookie(re);
  auto after = sessions_of(list(f, first));
  REQUIRE(after.size() == 2);
  CHECK(after[0]["id"] == listed[0]["id"]);  // the id names the session, not the token
  CHECK(after[0]["current"] == true);
  CHECK(after[0]["lastUsed"].get<long long>() >= used_before + 5);

  auto bobs = sessions_of(list(f, bob));
  REQUIRE(bobs.size() == 1);
  CHECK(bobs[0]["current"] == true);
}

TEST_CASE("the session routes need a valid Bearer token and a cookie of one of its live sessions") {
  auto cfg = test_config();
  cfg.access_ttl = 2;
  auto server = server_on(store_kind(), cfg);
  fixture& f = *server;
  auto ada = new_session(f, "ada");
  auto bob = new_session(f, "bob");
  const std::string cookie = "refreshToken=" + ada.cookie;
  const std::string json = "application/json";
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/auth/sessions"},
                                                        {"POST", "/auth/sessions/revoke"},
                                                        {"POST", "/auth/logout-all"},
                                                        {"POST", "/auth/demo/steal"}}) {
    INFO(method << " " << path);
    const std::string body = method == "POST" ? R"({"id":"x"})" : "";
    check_error(f.request(method, path, {{"Cookie", cookie}, {"Content-Type", json}}, body), 401,
                "Not Logged In");
    check_error(
        f.request(method, path, {{"Authorization", "Bearer " + ada.access}, {"Content-Type", json}},
                  body),
        403, "No refresh token");
    check_error(
        f.request(method, path,
                  {{"Authorization", "Bearer nope"}, {"Cookie", cookie}, {"Content-Type", json}},
                  body),
        401, "jwt malformed");
    // A cookie that is not one of the Bearer user's live sessions: garbage, or bob's.
    for (const std::string& other : {std::string("rt1.garbage"), bob.cookie}) {
      auto r = f.request(method, path,
                         {{"Authorization", "Bearer " + ada.access},
                          {"Cookie", "refreshToken=" + other},
                          {"Content-Type", json}},
                         body);
      check_error(r, 401, "Session ended");
      CHECK(cleared(r));
    }
    // A foreign origin may not make a browser spend the cookie here either.
    auto h = credentials(ada);
    h.emplace_back("Origin", "http://evil.example");
    check_error(f.request(method, path, h, body), 403, "Origin not allowed");
  }
  // bob's session was only named, never touched.
  CHECK(sessions_of(list(f, bob)).size() == 1);

  f.advance(3);  // past the 2 s access TTL: the page reissues and retries
  check_error(list(f, ada), 401, "jwt expired");
}

TEST_CASE("POST /auth/sessions/revoke ends one of the caller's sessions") {
  auto server = server_on(store_kind());
  fixture& f = *server;
  auto laptop = new_session(f, "ada");
  auto phone = another_login(f, "ada");
  auto tablet = another_login(f, "ada");
  const std::string phone_id = current_id(list(f, phone));

  auto r = end_session(f, laptop, phone_id);
  REQUIRE(r.status == 200);
  CHECK(body_json(r)["data"]["current"] == false);
  CHECK(!cleared(r));  // the laptop's own cookie stays
  auto left = sessions_of(list(f, laptop));
  REQUIRE(left.size() == 2);
  for (const auto& s : left) CHECK(s["id"] != phone_id);

  // The phone learns at once, and cannot reissue.
  auto gone = list(f, phone);
  check_error(gone, 401, "Session ended");
  CHECK(cleared(gone));
  check_error(reissue(f, std::nullopt, phone.cookie), 401, "refresh session revoked");
  // Ending it again: it is no longer one of ada's live sessions.
  check_error(end_session(f, laptop, phone_id), 404, "Session not found");

  // Ending the current session is a logout: the cookie is cleared.
  auto self = end_session(f, tablet, current_id(list(f, tablet)));
  REQUIRE(self.status == 200);
  CHECK(body_json(self)["data"]["current"] == true);
  CHECK(cleared(self));
  check_error(reissue(f, std::nullopt, tablet.cookie), 401, "refresh session revoked");
  CHECK(reissue(f, std::nullopt, laptop.cookie).status == 200);
}

TEST_CASE("a user cannot end another user's session, even with its session id") {
  auto server = server_on(store_kind());
  fixture& f = *server;
  auto ada = new_session(f, "ada");
  auto bob = new_session(f, "bob");
  const std::string ada_id = current_id(list(f, ada));
  check_error(end_session(f, bob, ada_id), 404, "Session not found");
  // Bob's token with Ada's cookie does not pass as Ada either.
  session mixed{bob.access, ada.cookie};
  check_error(end_session(f, mixed, ada_id), 401, "Session ended");
  auto still = sessions_of(list(f, ada));
  REQUIRE(still.size() == 1);
  CHECK(still[0]["id"] == ada_id);
  CHECK(reissue(f, ada.access, ada.cookie).status == 200);
}

TEST_CASE("POST /auth/sessions/revoke answers bad input with 400 or 404 JSON") {
  auto server = server_on(store_kind());
  fixture& f = *server;
  auto ada = new_session(f, "ada");
  check_error(post(f, "/auth/sessions/revoke", ada, ""), 400, "Request body must be a JSON object");
  check_error(post(f, "/auth/sessions/revoke", ada, "[1]"), 400,
              "Request body must be a JSON object");
  check_error(post(f, "/auth/sessions/revoke", ada, "{}"), 400, "id must be a string");
  check_error(post(f, "/auth/sessions/revoke", ada, R"({"id":7})"), 400, "id must be a string");
  check_error(end_session(f, ada, ""), 404, "Session not found");
  check_error(end_session(f, ada, std::string(22, 'A')), 404, "Session not found");
  // The family id itself is not a session id.
  check_error(end_session(f, ada, family_of(ada.cookie)), 404, "Session not found");
  const std::string id = current_id(list(f, ada));
  check_error(end_session(f, ada, id + "A"), 404, "Session not found");
  check_error(end_session(f, ada, id.substr(0, 21)), 404, "Session not found");
  CHECK(sessions_of(list(f, ada)).size() == 1);
}

TEST_CASE("POST /auth/logout-all ends every session of the caller and only the caller's") {
  auto server = server_on(store_kind());
  fixture& f = *server;
  std::vector<session> ada{new_session(f, "ada")};
  ada.push_back(another_login(f, "ada"));
  ada.push_back(another_login(f, "ada"));
  auto bob = new_session(f, "bob");

  auto r = post(f, "/auth/logout-all", ada[1]);
  REQUIRE(r.status == 200);
  CHECK(body_json(r)["ok"] == true);
  CHECK(body_json(r)["data"]["ended"] == 3);
  CHECK(cleared(r));
  for (const auto& s : ada) {
    check_error(reissue(f, std::nullopt, s.cookie), 401, "refresh session revoked");
    check_error(list(f, s), 401, "Session ended");
  }
  CHECK(sessions_of(list(f, bob)).size() == 1);
  CHECK(reissue(f, bob.access, bob.cookie).status == 200);
}

TEST_CASE("the demo's stolen refresh token: the owner's next reissuance is reuse") {
  auto server = server_on(store_kind());  // on 127.0.0.1: the demo route is offered
  fixture& f = *server;
  auto laptop = new_session(f, "ada");
  auto phone = another_login(f, "ada");
  const std::string laptop_id = current_id(list(f, laptop));

  auto r = post(f, "/auth/demo/steal", laptop);
  REQUIRE(r.status == 200);
  CHECK(body_json(r)["data"]["rotations"] == 2);
  CHECK(!refresh_cookie(r));
  CHECK(r.body.find("rt1.") == std::string::npos);  // nothing of the thief's tokens
  // The session is still live (the thief holds it) until the owner's cookie comes back.
  CHECK(sessions_of(list(f, phone)).size() == 2);
  auto reuse = reissue(f, laptop.access, laptop.cookie);  // no waiting: no grace covers it
  check_error(reuse, 401, "refresh token reuse detected");
  CHECK(cleared(reuse));
  auto left = sessions_of(list(f, phone));
  REQUIRE(left.size() == 1);
  CHECK(left[0]["id"] != laptop_id);

  // A cookie already rotated out (within the grace window) cannot be stolen from again.
  auto next = reissue(f, phone.access, phone.cookie);
  REQUIRE(next.status == 200);
  check_error(post(f, "/auth/demo/steal", phone), 409,
              "The refresh token was just rotated; reissue, then try again");
  // A revoked session's cookie: the route refuses like every session route.
  check_error(post(f, "/auth/demo/steal", laptop), 401, "Session ended");
}

TEST_CASE("the demo route answers only on a loopback host or with --demo true") {
  const std::string db = "/tmp/tokenauth-sessions-test-" + std::to_string(::getpid()) + "-demo.db";
  auto status_of_steal = [&](const std::string& host, bool demo) {
    auto cfg = test_config();
    cfg.host = host;
    cfg.demo = demo;
    tokenauth_server::app a(cfg, std::make_shared<tokenauth::memory_store>(),
                            tokenauth_server::make_sqlite_user_store(db));
    tokenauth_server::request req;
    req.method = "POST";
    req.target = "/auth/demo/steal";
    req.content_type = "application/json";
    req.body = "{}";
    auto r = a.handle(req, [](const tokenauth_server::response&) {});
    REQUIRE(r);
    a.stop_workers();
    return std::pair{r->status, nlohmann::json::parse(r->body)["message"].get<std::string>()};
  };
  // Off: as if there were no such route.
  CHECK(status_of_steal("0.0.0.0", false) == std::pair{404u, std::string("Not Found")});
  CHECK(status_of_steal("192.0.2.7", false) == std::pair{404u, std::string("Not Found")});
  // On: the route exists and wants a caller.
  CHECK(status_of_steal("0.0.0.0", true) == std::pair{401u, std::string("Not Logged In")});
  CHECK(status_of_steal("127.0.0.1", false) == std::pair{401u, std::string("Not Logged In")});
  CHECK(status_of_steal("127.1.2.3", false) == std::pair{401u, std::string("Not Logged In")});
  CHECK(status_of_steal("::1", false) == std::pair{401u, std::string("Not Logged In")});
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
}

TEST_CASE("the session routes answer 503 JSON when the refresh store is down") {
  auto store = std::make_shared<switchable_store>();
  fixture f(store);
  auto ada = new_session(f, "ada");
  const std::string id = current_id(list(f, ada));
  for (bool* flag : {&store->down, &store->writes_down}) {
    *flag = true;
    if (flag == &store->down) check_error(list(f, ada), 503, "Session store unavailable");
    check_error(end_session(f, ada, id), 503, "Session store unavailable");
    check_error(post(f, "/auth/logout-all", ada), 503, "Session store unavailable");
    check_error(post(f, "/auth/demo/steal", ada), 503, "Session store unavailable");
    *flag = false;
  }
  CHECK(sessions_of(list(f, ada)).size() == 1);  // nothing was lost
}

TEST_CASE("the demo setting (flag --demo, environment DEMO) takes true or false") {
  auto env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  auto parse = [&](const std::vector<std::string>& args) {
    return tokenauth_server::parse_config(args, env, "");
  };
  CHECK(parse({}).cfg->demo == false);  // loopback decides, see the route test
  CHECK(parse({"--demo", "true"}).cfg->demo == true);
  CHECK(parse({"--demo=false"}).cfg->demo == false);
  auto bad = parse({"--demo", "maybe"});
  CHECK(!bad.cfg);
  CHECK(bad.exit_code == 2);
  CHECK(bad.message == "--demo: demo must be true or false, got 'maybe'");
  auto from_env = tokenauth_server::parse_config(
      {},
      [](const std::string& k) -> std::optional<std::string> {
        if (k == "DEMO") return "true";
        return std::nullopt;
      },
      "");
  CHECK(from_env.cfg->demo == true);
  CHECK(tokenauth_server::help_text().find("--demo") != std::string::npos);
}

TEST_CASE("the session POSTs refuse a body not declared JSON, and end nothing") {
  auto server = server_on(store_kind());
  fixture& f = *server;
  auto ada = new_session(f, "ada");
  const std::string id = current_id(list(f, ada));
  for (const std::string type : {"text/plain", "application/x-www-form-urlencoded", ""}) {
    auto h = credentials(ada);
    if (!type.empty()) h.emplace_back("Content-Type", type);
    for (const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
             {"/auth/sessions/revoke", nlohmann::json{{"id", id}}.dump()},
             {"/auth/logout-all", "{}"},
             {"/auth/demo/steal", "{}"}}) {
      INFO(path << " with Content-Type '" << type << "'");
      auto r = f.request("POST", path, h, body);
      check_error(r, 415, "Content-Type must be application/json");
      CHECK(!cleared(r));
    }
  }
  CHECK(current_id(list(f, ada)) == id);
  CHECK(reissue(f, ada.access, ada.cookie).status == 200);  // not rotated by the refused steal
}

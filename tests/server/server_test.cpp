// End-to-end HTTP tests of the example server over the whole HTTP contract (docs/design.md),
// each run against the memory store and a real Redis.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "server_fixture.hpp"

using namespace test_server;
using test_http::reply;

namespace {

// Every contract test runs on the memory store and, when redis-server exists, on Redis (the
// fixture fails under CI=true when it does not).
std::vector<std::string> store_kinds() {
  if (shared_redis().available()) return {"memory", "redis"};
  return {"memory"};
}

std::string store_kind() {
  return GENERATE(from_range(store_kinds()));
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

}  // namespace

TEST_CASE("join creates a user and never returns the password hash") {
  fixture f(store_kind());
  auto r = join(f, "ada@example.com", "ada", "s3cret password");
  REQUIRE(r.status == 201);
  auto j = body_json(r);
  CHECK(j["ok"] == true);
  CHECK(j["data"]["email"] == "ada@example.com");
  CHECK(j["data"]["nick"] == "ada");
  CHECK(j["data"]["name"] == "ada Name");
  CHECK(j["data"]["userId"].is_string());
  CHECK(j["data"].size() == 4);
  CHECK(r.body.find("$2b$") == std::string::npos);
  CHECK(r.body.find("s3cret") == std::string::npos);

  check_error(join(f, "ADA@example.com", "other"), 409, "Email already registered");
  check_error(join(f, "bob@example.com", "ada"), 409, "Nick already taken");
}

TEST_CASE("join and login answer bad input with 400 JSON") {
  fixture f(store_kind());
  auto post = [&](const std::string& path, const std::string& body) {
    return test_server::post(f, path, {}, body);
  };
  for (const std::string path : {"/auth/join", "/auth/login"}) {
    check_error(post(path, ""), 400, "Request body must be a JSON object");
    check_error(post(path, "{\"email\":"), 400, "Request body must be a JSON object");
    check_error(post(path, "[1,2]"), 400, "Request body must be a JSON object");
    check_error(post(path, "\"x\""), 400, "Request body must be a JSON object");
    CHECK(post(path, R"({"email":1,"password":"p","nick":"n","name":"m"})").status == 400);
    CHECK(post(path, R"({"email":"a@b.c","password":null,"nick":"n","name":"m"})").status == 400);
    CHECK(post(path, R"({})").status == 400);
  }
  CHECK(post("/auth/join", R"({"email":"nope","password":"p","nick":"n","name":"m"})").status ==
        400);
  CHECK(post("/auth/join", R"({"email":"a@b.c","password":"","nick":"n","name":"m"})").status ==
        400);
  CHECK(post("/auth/join", R"({"email":"a@b.c","password":"p","nick":"","name":"m"})").status ==
        400);
  // Deep nesting within the body limit neither crashes nor hangs the parser.
  const std::string deep = "{\"a\":" + std::string(30000, '[') + std::string(30000, ']') + "}";
  check_error(post("/auth/login", deep), 400, "email and password must be strings");
  check_error(post("/auth/login", std::string(60000, '[')), 400,
              "Request body must be a JSON object");
  const std::string long_pw(73, 'x');
  CHECK(post("/auth/join",
             R"({"email":"a@b.c","password":")" + long_pw + R"(","nick":"n","name":"m"})")
            .status == 400);
}

TEST_CASE("login sets the refresh cookie with every attribute of the contract") {
  fixture f(store_kind());
  REQUIRE(join(f, "ada@example.com", "ada").status == 201);
  auto r = login(f, "ada@example.com");
  REQUIRE(r.status == 200);
  auto j = body_json(r);
  CHECK(j["ok"] == true);
  CHECK(j["data"]["accessToken"].get<std::string>().size() > 20);
  auto cookies = r.all("set-cookie");
  REQUIRE(cookies.size() == 1);
  const std::string& c = cookies[0];
  CHECK(c.rfind("refreshToken=rt1.", 0) == 0);
  CHECK(c.find("; HttpOnly") != std::string::npos);
  CHECK(c.find("; Secure") != std::string::npos);
  CHECK(c.find("; SameSite=None") != std::string::npos);
  CHECK(c.find("; Path=/auth") != std::string::npos);
  CHECK(c.find("; Max-Age=1209600") != std::string::npos);
  CHECK(r.header("cache-control") == "no-store");
}

TEST_CASE("login gives the same 401 for an unknown email and a wrong password") {
  fixture f(store_kind());
  REQUIRE(join(f, "ada@example.com", "ada").status == 201);
  auto wrong = login(f, "ada@example.com", "wrong password");
  auto unknown = login(f, "nobody@example.com", "correct horse");
  check_error(wrong, 401, "Invalid email or password");
  check_error(unknown, 401, "Invalid email or password");
  CHECK(wrong.body == unknown.body);
  CHECK(wrong.all("set-cookie").empty());
}

TEST_CASE("getuser and getnumber need a valid Bearer token") {
  fixture f(store_kind());
  auto s = new_session(f, "ada");
  auto user = get(f, "/getuser", s.access);
  REQUIRE(user.status == 200);
  auto u = body_json(user);
  CHECK(u["nick"] == "ada");
  CHECK(u["name"] == "ada Name");
  CHECK(u["userId"].is_string());
  const auto cache_before = f.application().verified_token_stats();
  for (int i = 0; i < 20; ++i) {
    auto n = get(f, "/getnumber", s.access);
    REQUIRE(n.status == 200);
    int number = body_json(n)["number"];
    CHECK(number >= 1);
    CHECK(number <= 10);
  }
  // The token verified once (by /getuser above); the 20 calls were cache hits.
  CHECK(f.application().verified_token_stats().hits - cache_before.hits == 20);
  check_error(f.request("GET", "/getnumber"), 401, "Not Logged In");
  check_error(f.request("GET", "/getuser"), 401, "Not Logged In");
  check_error(f.request("GET", "/getnumber", {{"Authorization", "Basic abc"}}), 401,
              "jwt must be provided");
  check_error(get(f, "/getnumber", "abc.def"), 401, "jwt malformed");
  std::string tampered = s.access;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  check_error(get(f, "/getnumber", tampered), 401, "invalid signature");
}

TEST_CASE("expired access token, reissuance, and reuse of a rotated cookie revokes the family") {
  auto cfg = test_config();
  cfg.access_ttl = 2;
  fixture f(make_store(store_kind()), cfg);
  auto s = new_session(f, "ada");
  REQUIRE(get(f, "/getnumber", s.access).status == 200);

  f.advance(3);
  check_error(get(f, "/getnumber", s.access), 401, "jwt expired");

  auto r = reissue(f, s.access, s.cookie);
  REQUIRE(r.status == 200);
  auto data = body_json(r)["data"];
  CHECK(data["nick"] == "ada");
  CHECK(data["name"] == "ada Name");
  CHECK(data["userId"].is_string());
  const std::string fresh = data["accessToken"];
  auto next_cookie = refresh_cookie(r);
  REQUIRE(next_cookie);
  CHECK(*next_cookie != s.cookie);
  CHECK(get(f, "/getnumber", fresh).status == 200);

  f.advance(6);  // past the 5 s grace window
  auto reuse = reissue(f, std::nullopt, s.cookie);
  check_error(reuse, 401, "refresh token reuse detected");
  CHECK(cleared(reuse));
  // The whole family is revoked: the newest cookie is dead too.
  auto after = reissue(f, std::nullopt, next_cookie);
  check_error(after, 401, "refresh session revoked");
  CHECK(cleared(after));
}

TEST_CASE("reissuance with the cookie alone works, and without a cookie it is 403") {
  fixture f(store_kind());
  auto s = new_session(f, "ada");
  auto r = reissue(f, std::nullopt, s.cookie);
  REQUIRE(r.status == 200);
  CHECK(body_json(r)["data"]["nick"] == "ada");
  CHECK(refresh_cookie(r));
  check_error(reissue(f, s.access, std::nullopt), 403, "No refresh token");
  check_error(post(f, "/auth/reissuance", {{"Cookie", "other=1"}}), 403, "No refresh token");
  check_error(reissue(f, std::nullopt, "rt1.garbage"), 401, "refresh token unknown");
}

TEST_CASE("reissuance refuses a Bearer token that is forged or names another user") {
  fixture f(store_kind());
  auto ada = new_session(f, "ada");
  auto bob = new_session(f, "bob");

  std::string forged = ada.access;
  forged[forged.size() - 2] = forged[forged.size() - 2] == 'A' ? 'B' : 'A';
  auto r1 = reissue(f, forged, ada.cookie);
  check_error(r1, 401, "invalid signature");
  CHECK_FALSE(refresh_cookie(r1));
  check_error(reissue(f, "not-a-jwt", ada.cookie), 401, "jwt malformed");

  auto r2 = reissue(f, bob.access, ada.cookie);
  check_error(r2, 401, "Token does not match the session");
  CHECK(cleared(r2));
  // Bob's own session is untouched.
  CHECK(reissue(f, bob.access, bob.cookie).status == 200);
}

TEST_CASE("a replay of the previous cookie within the grace window gets a token, no cookie") {
  fixture f(store_kind());
  auto s = new_session(f, "ada");
  auto first = reissue(f, s.access, s.cookie);
  REQUIRE(first.status == 200);
  REQUIRE(refresh_cookie(first));
  f.advance(2);  // inside the 5 s window
  auto replay = reissue(f, s.access, s.cookie);
  REQUIRE(replay.status == 200);
  CHECK_FALSE(refresh_cookie(replay));
  CHECK(get(f, "/getnumber", body_json(replay)["data"]["accessToken"]).status == 200);
  // The successor from the first answer is still the live one.
  CHECK(reissue(f, s.access, refresh_cookie(first)).status == 200);  // none: 401
}

TEST_CASE("two concurrent reissuances with one cookie: both get a token, one new cookie",
          "[tsan]") {
  fixture f(store_kind());
  auto s = new_session(f, "ada");
  std::optional<reply> replies[2];
  std::atomic<int> ready{0};
  auto run = [&](int i) {
    test_http::connection c(f.port());
    auto req = test_http::build("POST", "/auth/reissuance",
                                {{"Authorization", "Bearer " + s.access},
                                 {"Cookie", "refreshToken=" + s.cookie},
                                 {"Content-Type", "application/json"}});
    ++ready;
    while (ready.load() < 2) std::this_thread::yield();  // release both at once
    c.send(req);
    replies[i] = c.read();
  };
  std::thread a(run, 0), b(run, 1);
  a.join();
  b.join();
  REQUIRE(replies[0]);
  REQUIRE(replies[1]);
  CHECK(replies[0]->status == 200);
  CHECK(replies[1]->status == 200);
  const int new_cookies =
      (refresh_cookie(*replies[0]) ? 1 : 0) + (refresh_cookie(*replies[1]) ? 1 : 0);
  CHECK(new_cookies == 1);
  for (auto& r : replies) {
    const std::string token = body_json(*r)["data"]["accessToken"];
    CHECK(get(f, "/getnumber", token).status == 200);
  }
}

TEST_CASE("logout clears the cookie and kills the refresh token") {
  fixture f(store_kind());
  auto s = new_session(f, "ada");
  auto r = post(f, "/auth/logout", {{"Cookie", "refreshToken=" + s.cookie}});
  REQUIRE(r.status == 200);
  CHECK(body_json(r)["ok"] == true);
  CHECK(cleared(r));
  check_error(reissue(f, s.access, s.cookie), 401, "refresh session revoked");
  // Logging out without a session still succeeds.
  CHECK(post(f, "/auth/logout").status == 200);
}

TEST_CASE("each login is its own session") {
  fixture f(store_kind());
  auto first = new_session(f, "ada");
  auto second = login(f, "ada@example.com");
  auto second_cookie = refresh_cookie(second);
  REQUIRE(second_cookie);
  REQUIRE(post(f, "/auth/logout", {{"Cookie", "refreshToken=" + *second_cookie}}).status == 200);
  CHECK(reissue(f, std::nullopt, first.cookie).status == 200);
}

TEST_CASE("CORS: configured origins get credentials headers, others get none") {
  fixture f(store_kind());
  const std::string origin = "http://localhost:3000";
  auto pre = f.request("OPTIONS", "/getnumber",
                       {{"Origin", origin},
                        {"Access-Control-Request-Method", "GET"},
                        {"Access-Control-Request-Headers", "authorization,withcredentials"}});
  CHECK(pre.status == 204);
  CHECK(pre.header("access-control-allow-origin") == origin);
  CHECK(pre.header("access-control-allow-credentials") == "true");
  auto allow_headers = pre.header("access-control-allow-headers").value_or("");
  CHECK(allow_headers.find("authorization") != std::string::npos);
  CHECK(allow_headers.find("withcredentials") != std::string::npos);
  CHECK(pre.header("access-control-allow-methods").value_or("").find("GET") != std::string::npos);

  auto pre_post = f.request("OPTIONS", "/auth/reissuance",
                            {{"Origin", origin},
                             {"Access-Control-Request-Method", "POST"},
                             {"Access-Control-Request-Headers", "authorization, content-type"}});
  CHECK(pre_post.status == 204);
  CHECK(pre_post.header("access-control-allow-methods").value_or("").find("POST") !=
        std::string::npos);

  auto s = new_session(f, "ada");
  auto r =
      f.request("GET", "/getnumber", {{"Origin", origin}, {"Authorization", "Bearer " + s.access}});
  CHECK(r.status == 200);
  CHECK(r.header("access-control-allow-origin") == origin);
  CHECK(r.header("access-control-allow-credentials") == "true");
  auto denied = f.request("GET", "/getnumber", {{"Origin", origin}});
  CHECK(denied.status == 401);
  CHECK(denied.header("access-control-allow-origin") == origin);

  const std::string evil = "http://evil.example";
  auto pre_evil = f.request("OPTIONS", "/getnumber",
                            {{"Origin", evil},
                             {"Access-Control-Request-Method", "GET"},
                             {"Access-Control-Request-Headers", "authorization"}});
  auto get_evil =
      f.request("GET", "/getnumber", {{"Origin", evil}, {"Authorization", "Bearer " + s.access}});
  for (const auto* x : {&pre_evil, &get_evil})
    for (const auto& [name, value] : x->headers) CHECK(name.rfind("access-control-", 0) != 0);
  // A foreign origin cannot make the browser spend the refresh cookie.
  check_error(
      post(f, "/auth/reissuance", {{"Origin", evil}, {"Cookie", "refreshToken=" + s.cookie}}), 403,
      "Origin not allowed");
  // The page's own origin (same host) may.
  CHECK(post(f, "/auth/reissuance",
             {{"Origin", "http://127.0.0.1"}, {"Cookie", "refreshToken=" + s.cookie}})
            .status == 200);
}

TEST_CASE("every POST needs a JSON Content-Type: no login CSRF through a text/plain form") {
  fixture f(store_kind());
  REQUIRE(join(f, "ada@example.com", "ada").status == 201);
  const std::string credentials = R"({"email":"ada@example.com","password":"correct horse"})";
  // What a cross-site <form enctype="text/plain"> or a no-cors fetch can send.
  for (const std::string type :
       {"text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x", "application/jsonx", ""}) {
    test_http::header_list h;
    if (!type.empty()) h.emplace_back("Content-Type", type);
    for (const std::string path :
         {"/auth/join", "/auth/login", "/auth/reissuance", "/auth/logout"}) {
      auto r = f.request("POST", path, h, credentials);
      check_error(r, 415, "Content-Type must be application/json");
      CHECK(r.all("set-cookie").empty());
    }
  }
  auto charset = f.request("POST", "/auth/login",
                           {{"Content-Type", "application/json; charset=utf-8"}}, credentials);
  CHECK(charset.status == 200);
  CHECK(refresh_cookie(charset));
}

TEST_CASE("every POST checks the Origin: allowed, or same scheme and host, or none") {
  fixture f(store_kind());
  REQUIRE(join(f, "ada@example.com", "ada").status == 201);
  const std::string credentials = R"({"email":"ada@example.com","password":"correct horse"})";
  auto s = new_session(f, "bob");
  auto with_origin = [&](const std::string& path, const std::string& origin) {
    return post(f, path, {{"Origin", origin}, {"Cookie", "refreshToken=" + s.cookie}},
                path == "/auth/login" ? credentials : "");
  };
  for (const std::string path : {"/auth/join", "/auth/login", "/auth/reissuance", "/auth/logout"})
    for (const std::string origin :
         {"http://evil.example", "https://127.0.0.1", "http://127.0.0.1:8080", "null",
          "http://127.0.0.1.evil.example", "http://localhost:3000.evil.example"}) {
      auto r = with_origin(path, origin);
      check_error(r, 403, "Origin not allowed");
      CHECK(r.all("set-cookie").empty());
      CHECK(r.header("vary") == "Origin");
      CHECK_FALSE(r.header("access-control-allow-origin"));
    }
  // The same origin (the demo page: http, this Host) and a configured one may; so may a client
  // that sends no Origin at all (not a browser: it has no victim's cookies to spend).
  CHECK(with_origin("/auth/login", "http://127.0.0.1").status == 200);
  auto allowed = with_origin("/auth/login", "http://localhost:3000");
  CHECK(allowed.status == 200);
  CHECK(allowed.header("access-control-allow-origin") == "http://localhost:3000");
  CHECK(post(f, "/auth/login", {}, credentials).status == 200);
  CHECK(with_origin("/auth/reissuance", "http://127.0.0.1").status == 200);
}

TEST_CASE("public-origin names the scheme and host of the same origin behind a TLS proxy") {
  auto cfg = test_config();
  cfg.public_origin = "https://auth.example";
  fixture f(make_store("memory"), cfg);
  REQUIRE(join(f, "ada@example.com", "ada").status == 201);
  const std::string credentials = R"({"email":"ada@example.com","password":"correct horse"})";
  CHECK(post(f, "/auth/login", {{"Origin", "https://auth.example"}}, credentials).status == 200);
  check_error(post(f, "/auth/login", {{"Origin", "http://auth.example"}}, credentials), 403,
              "Origin not allowed");
  check_error(post(f, "/auth/login", {{"Origin", "http://127.0.0.1"}}, credentials), 403,
              "Origin not allowed");
}

TEST_CASE("every API answer says Vary: Origin, with or without an Origin") {
  fixture f("memory");
  for (const auto& r : {f.request("GET", "/getnumber"),
                        f.request("GET", "/getnumber", {{"Origin", "http://localhost:3000"}}),
                        f.request("GET", "/getnumber", {{"Origin", "http://evil.example"}}),
                        f.request("GET", "/nope"), f.request("DELETE", "/getuser"),
                        f.request("OPTIONS", "/getuser", {{"Origin", "http://evil.example"}}),
                        post(f, "/auth/logout"), f.request("POST", "/auth/logout")}) {
    CHECK(r.header("vary") == "Origin");
    CHECK(r.all("vary").size() == 1);
  }
}

TEST_CASE("max-sessions-per-user revokes the oldest session of a user beyond the cap") {
  auto cfg = test_config();
  cfg.max_sessions_per_user = 2;
  fixture f(make_store(store_kind()), cfg);
  auto first = new_session(f, "ada");
  auto second = refresh_cookie(login(f, "ada@example.com"));
  auto bob = new_session(f, "bob");  // another user's sessions do not count
  auto third = refresh_cookie(login(f, "ada@example.com"));
  REQUIRE(second);
  REQUIRE(third);
  check_error(reissue(f, std::nullopt, first.cookie), 401, "refresh session revoked");
  CHECK(reissue(f, std::nullopt, second).status == 200);
  CHECK(reissue(f, std::nullopt, third).status == 200);
  CHECK(reissue(f, std::nullopt, bob.cookie).status == 200);
}

TEST_CASE("a malformed or empty refresh cookie does not hide a good one of the same name") {
  fixture f(store_kind());
  auto s = new_session(f, "ada");
  // As a sibling subdomain could toss them in, with a more specific path so they come first.
  auto r = post(f, "/auth/reissuance",
                {{"Cookie", "refreshToken=\"bad; refreshToken=; refreshToken=" + s.cookie}});
  CHECK(r.status == 200);
  CHECK(refresh_cookie(r));
}

TEST_CASE("cookie-name __Host-: Path=/, Secure, no Domain, and the default name is ignored") {
  auto cfg = test_config();
  cfg.cookie_name = "__Host-refresh";
  fixture f(make_store("memory"), cfg);
  REQUIRE(join(f, "ada@example.com", "ada").status == 201);
  auto r = login(f, "ada@example.com");
  REQUIRE(r.status == 200);
  auto cookies = r.all("set-cookie");
  REQUIRE(cookies.size() == 1);
  const std::string& c = cookies[0];
  CHECK(c.rfind("__Host-refresh=rt1.", 0) == 0);
  CHECK(c.find("; Path=/;") != std::string::npos);
  CHECK(c.find("; Secure") != std::string::npos);
  CHECK(c.find("Domain") == std::string::npos);
  const std::string token = c.substr(15, c.find(';') - 15);
  check_error(post(f, "/auth/reissuance", {{"Cookie", "refreshToken=" + token}}), 403,
              "No refresh token");
  auto rotated = post(f, "/auth/reissuance", {{"Cookie", "__Host-refresh=" + token}});
  CHECK(rotated.status == 200);
  REQUIRE(rotated.all("set-cookie").size() == 1);
  CHECK(rotated.all("set-cookie")[0].rfind("__Host-refresh=rt1.", 0) == 0);
  auto out = post(f, "/auth/logout", {{"Cookie", "__Host-refresh=" + token}});
  REQUIRE(out.all("set-cookie").size() == 1);
  CHECK(out.all("set-cookie")[0].rfind("__Host-refresh=; Path=/;", 0) == 0);
}

TEST_CASE("unknown paths, wrong methods and oversized requests get JSON errors") {
  fixture f(store_kind());
  check_error(f.request("GET", "/nope"), 404, "Not Found");
  auto wrong = f.request("DELETE", "/getnumber");
  check_error(wrong, 405, "Method Not Allowed");
  CHECK(wrong.header("allow") == "GET, OPTIONS");
  check_error(f.request("GET", "/auth/login"), 405, "Method Not Allowed");

  {
    test_http::connection c(f.port());
    const std::string body(70 * 1024, 'x');
    c.send(test_http::build("POST", "/auth/join", {{"Content-Type", "application/json"}}, body));
    auto r = c.read();
    REQUIRE(r);
    check_error(*r, 413, "Request body too large");
    CHECK(r->header("connection") == "close");
  }
  {
    test_http::connection c(f.port());
    c.send(test_http::build("GET", "/getnumber", {{"X-Big", std::string(9000, 'a')}}));
    auto r = c.read();
    REQUIRE(r);
    check_error(*r, 431, "Request header too large");
  }
  {
    test_http::connection c(f.port());
    c.send("GARBAGE\x01 / HTTP/1.1\r\n\r\n");
    auto r = c.read();
    REQUIRE(r);
    check_error(*r, 400, "Malformed HTTP request");
  }
  // The server still answers.
  check_error(f.request("GET", "/getnumber"), 401, "Not Logged In");
}

TEST_CASE("keep-alive serves several requests on one connection") {
  fixture f(store_kind());
  test_http::connection c(f.port());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.send(test_http::build("GET", "/getnumber")));
    auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == 401);
  }
  REQUIRE(c.send(test_http::build("GET", "/getnumber", {{"Connection", "close"}})));
  auto last = c.read();
  REQUIRE(last);
  CHECK(last->header("connection") == "close");
  CHECK(c.closed_by_peer());
}

TEST_CASE("silent and slow clients are disconnected after the read timeout") {
  auto cfg = test_config();
  cfg.read_timeout = 1;
  cfg.threads = 1;  // one I/O thread: connections without strands (server.cpp)
  fixture f(make_store("memory"), cfg);
  test_http::connection silent(f.port());
  test_http::connection slow(f.port());
  REQUIRE(slow.send("GET /getnumber HTTP/1.1\r\nHost: x\r\n"));  // never finishes the header
  CHECK(silent.closed_by_peer());  // the client's own receive timeout is 10 s
  CHECK(slow.closed_by_peer());
  // Others are served meanwhile and afterwards.
  CHECK(f.request("GET", "/getnumber").status == 401);
}

TEST_CASE("a keep-alive connection idle past the idle timeout is closed, a slow request is not") {
  auto cfg = test_config();
  cfg.idle_timeout = 1;
  cfg.read_timeout = 30;
  fixture f(make_store("memory"), cfg);
  test_http::connection idle(f.port()), slow(f.port());
  for (auto* c : {&idle, &slow}) {
    REQUIRE(c->send(test_http::build("GET", "/getnumber")));
    REQUIRE(c->read());
  }
  // The next request has begun: the read timeout (30 s) governs it, not the idle timeout.
  REQUIRE(slow.send("GET /getnumber HTTP/1.1\r\n"));
  CHECK(idle.closed_by_peer());  // after ~1 s (the client's own receive timeout is 10 s)
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  REQUIRE(slow.send("Host: x\r\n\r\n"));
  auto r = slow.read();
  REQUIRE(r);
  CHECK(r->status == 401);
}

TEST_CASE("max-connections: connections beyond it wait in the backlog until one closes") {
  auto cfg = test_config();
  cfg.max_connections = 2;
  cfg.threads = 1;
  fixture f(make_store("memory"), cfg);
  auto first = std::make_unique<test_http::connection>(f.port());
  test_http::connection second(f.port());
  for (auto* c : {first.get(), &second}) {
    REQUIRE(c->send(test_http::build("GET", "/getnumber")));
    REQUIRE(c->read());
  }
  test_http::connection third(f.port());  // the kernel completes the handshake; nobody accepts
  REQUIRE(third.send(test_http::build("GET", "/getnumber")));
  CHECK_FALSE(third.readable_within(std::chrono::milliseconds(300)));
  first.reset();  // a slot frees up: the third is accepted and answered
  auto r = third.read();
  REQUIRE(r);
  CHECK(r->status == 401);
  REQUIRE(second.send(test_http::build("GET", "/getnumber")));
  CHECK(second.read());
}

TEST_CASE("GET / serves the demo page with a strict Content-Security-Policy") {
  fixture f("memory");
  auto r = f.request("GET", "/");
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "text/html; charset=utf-8");
  CHECK(r.body.find("<script>") != std::string::npos);
  auto csp = r.header("content-security-policy").value_or("");
  CHECK(csp.find("default-src 'none'") != std::string::npos);
  CHECK(csp.find("script-src 'sha256-") != std::string::npos);
  CHECK(csp.find("unsafe-inline") == std::string::npos);
  CHECK(csp.find("connect-src 'self'") != std::string::npos);
}

TEST_CASE("a refresh store that is down gives 503 JSON, and the server keeps answering") {
  tokenauth::redis_options o;
  o.host = "127.0.0.1";
  o.port = 1;  // nothing listens there
  o.connect_timeout = std::chrono::milliseconds(200);
  fixture f(std::make_shared<tokenauth::redis_store>(o));
  REQUIRE(join(f, "ada@example.com", "ada").status == 201);
  check_error(login(f, "ada@example.com"), 503, "Session store unavailable");
  check_error(reissue(f, std::nullopt, "rt1." + std::string(32, 'A') + "." + std::string(43, 'A')),
              503, "Session store unavailable");
  CHECK(f.request("GET", "/getnumber").status == 401);
}

TEST_CASE("the access log names method, path and status, and never secrets") {
  char path[] = "/tmp/tokenauth-access-log-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::FILE* file = fdopen(fd, "w");
  std::string token;
  {
    fixture f(make_store("memory"), test_config(), file);
    auto s = new_session(f, "ada");
    token = s.access;
    f.request("GET", "/getnumber?token=querysecret", {{"Authorization", "Bearer " + s.access}});
    post(f, "/auth/reissuance", {{"Cookie", "refreshToken=" + s.cookie}});
  }
  std::fclose(file);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path);
  const std::string log = text.str();
  CHECK(log.find("POST /auth/login 200 ") != std::string::npos);
  CHECK(log.find("GET /getnumber 200 ") != std::string::npos);
  CHECK(log.find("POST /auth/reissuance 200 ") != std::string::npos);
  CHECK(log.find("querysecret") == std::string::npos);
  CHECK(log.find(token.substr(0, 20)) == std::string::npos);
  CHECK(log.find("rt1.") == std::string::npos);
  CHECK(log.find("correct horse") == std::string::npos);
}

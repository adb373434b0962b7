// The access log in both formats, request ids, and that no secret a whole session used ever
// reaches a log line.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <vector>

#include "request_id.hpp"
#include "server_fixture.hpp"

using namespace test_server;

namespace {

// A temporary file the fixture's access log writes to; text() reads it after the fixture is gone
// (the log flushes on destruction).
class log_capture {
 public:
  log_capture() {
    fd_ = mkstemp(path_);
    if (fd_ < 0) throw std::runtime_error("mkstemp failed");
    file_ = fdopen(fd_, "w");
  }
  ~log_capture() {
    if (file_) std::fclose(file_);
    std::remove(path_);
  }
  std::FILE* file() { return file_; }
  std::string text() {
    std::fflush(file_);
    std::ifstream in(path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  char path_[40] = "/tmp/tokenauth-log-test-XXXXXX";
  int fd_ = -1;
  std::FILE* file_ = nullptr;
};

// The line that has `needle`, or "" (requests on different connections may log in any order: a
// line is written once the response has gone out).
std::string line_with(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& l : lines)
    if (l.find(needle) != std::string::npos) return l;
  return {};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

config with_format(tokenauth_server::log_format f) {
  config c = test_config();
  c.access_log = true;
  c.access_log_format = f;
  return c;
}

}  // namespace

TEST_CASE("request ids: a safe X-Request-Id is echoed, anything else replaced by a fresh one") {
  CHECK(tokenauth_server::safe_request_id("abc-123_X.y:z"));
  CHECK_FALSE(tokenauth_server::safe_request_id(""));
  CHECK_FALSE(tokenauth_server::safe_request_id(std::string(65, 'a')));
  CHECK(tokenauth_server::safe_request_id(std::string(64, 'a')));
  CHECK_FALSE(tokenauth_server::safe_request_id("a b"));
  CHECK_FALSE(tokenauth_server::safe_request_id("a\"b"));

  fixture f("memory");
  auto echoed = f.request("GET", "/healthz", {{"X-Request-Id", "client-id-42"}});
  CHECK(echoed.header("x-request-id") == "client-id-42");
  auto replaced = f.request("GET", "/healthz", {{"X-Request-Id", "bad id\"<script>"}});
  auto generated = f.request("GET", "/no/such/path");
  auto again = f.request("GET", "/healthz");
  for (const auto* r : {&replaced, &generated, &again}) {
    REQUIRE(r->header("x-request-id"));
    CHECK(r->header("x-request-id")->size() == 16);
    CHECK(tokenauth_server::safe_request_id(*r->header("x-request-id")));
  }
  CHECK(*replaced.header("x-request-id") != *again.header("x-request-id"));
  CHECK(generated.status == 404);
}

TEST_CASE("text log: one line per request with id, client, method, route, status, duration") {
  log_capture cap;
  {
    fixture f(make_store("memory"), with_format(tokenauth_server::log_format::text), cap.file());
    f.request("GET", "/healthz", {{"X-Request-Id", "text-1"}});
    f.request("GET", "/private/path-of-a-user?q=1", {{"X-Request-Id", "text-2"}});
  }
  const std::string log = cap.text();
  INFO(log);
  const auto lines = lines_of(log);
  REQUIRE(lines.size() == 2);
  const std::string first = line_with(lines, " text-1 ");
  CHECK(first.find(" text-1 127.0.0.1 GET /healthz 200 ") != std::string::npos);
  CHECK(first.substr(first.size() - 2) == "us");
  // Routes come from the route table: an unknown path is "unmatched", never the raw path.
  CHECK(line_with(lines, " text-2 ").find(" text-2 127.0.0.1 GET unmatched 404 ") !=
        std::string::npos);
  CHECK(cap.text().find("path-of-a-user") == std::string::npos);
}

TEST_CASE("json log: each line is one JSON object with the request's fields") {
  log_capture cap;
  {
    fixture f(make_store("memory"), with_format(tokenauth_server::log_format::json), cap.file());
    f.request("GET", "/getnumber", {{"X-Request-Id", "json-1"}});
    f.request("DELETE", "/readyz?x=\"y", {{"X-Request-Id", "json-2"}});
  }
  const std::string log = cap.text();
  INFO(log);
  const auto lines = lines_of(log);
  REQUIRE(lines.size() == 2);
  const auto first = nlohmann::json::parse(line_with(lines, R"("json-1")"));
  CHECK(first["request_id"] == "json-1");
  CHECK(first["method"] == "GET");
  CHECK(first["route"] == "/getnumber");
  CHECK(first["status"] == 401);
  CHECK(first["client"] == "127.0.0.1");
  CHECK(first["duration_us"].is_number_unsigned());
  CHECK(first["time"].get<std::string>().size() == 20);  // 2026-01-01T00:00:00Z
  const auto second = nlohmann::json::parse(line_with(lines, R"("json-2")"));
  CHECK(second["method"] == "DELETE");
  CHECK(second["route"] == "/readyz");
  CHECK(second["status"] == 405);
}

TEST_CASE("no token, cookie, password or secret of a whole session reaches the log") {
  for (auto format : {tokenauth_server::log_format::text, tokenauth_server::log_format::json}) {
    log_capture cap;
    std::vector<std::string> secrets;
    const std::string password = "Tr0ub4dor&3-log-test";
    {
      config cfg = with_format(format);
      cfg.refresh_grace = 0;  // a replayed cookie is reuse at once
      secrets.push_back(cfg.jwt_secret);
      fixture f(make_store("memory"), cfg, cap.file());
      secrets.push_back(password);
      REQUIRE(join(f, "grace@example.com", "grace", password).status == 201);
      REQUIRE(login(f, "grace@example.com", "wrong-password-log-test").status == 401);
      secrets.emplace_back("wrong-password-log-test");
      auto in = login(f, "grace@example.com", password);
      REQUIRE(in.status == 200);
      const std::string access = body_json(in)["data"]["accessToken"];
      const std::string cookie = refresh_cookie(in).value();
      secrets.push_back(access);
      secrets.push_back(cookie);
      REQUIRE(get(f, "/getnumber", access).status == 200);
      f.request("GET", "/getuser?access_token=" + access);  // a token in a query string
      auto re = reissue(f, access, cookie);
      REQUIRE(re.status == 200);
      const std::string access2 = body_json(re)["data"]["accessToken"];
      const std::string cookie2 = refresh_cookie(re).value();
      secrets.push_back(access2);
      secrets.push_back(cookie2);
      REQUIRE(
          f.request("GET", "/auth/sessions",
                    {{"Authorization", "Bearer " + access2}, {"Cookie", "refreshToken=" + cookie2}})
              .status == 200);
      REQUIRE(reissue(f, access, cookie).status == 401);  // reuse of the rotated-out cookie
      REQUIRE(post(f, "/auth/logout", {{"Cookie", "refreshToken=" + cookie2}}).status == 200);
    }
    const std::string log = cap.text();
    CHECK(lines_of(log).size() == 9);
    for (const auto& s : secrets) {
      INFO("secret: " << s);
      CHECK(log.find(s) == std::string::npos);
      // Nor any long piece of it (a token split or truncated in a line).
      if (s.size() > 24) CHECK(log.find(s.substr(s.size() / 2, 16)) == std::string::npos);
    }
    CHECK(log.find("rt1.") == std::string::npos);
    CHECK(log.find("eyJ") == std::string::npos);  // no JWT header or payload
    CHECK(log.find("refreshToken") == std::string::npos);
    CHECK(log.find("access_token") == std::string::npos);
  }
}

// Prometheus metrics on the admin listener: counts that follow the requests, only on the admin
// port, and output that `promtool check metrics` accepts.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "admin_server.hpp"
#include "server_fixture.hpp"
#include "tokenauth/version.hpp"

using namespace test_server;
using tokenauth_server::metrics;

namespace {

// The value of the sample line that starts with `series ` in the exposition, or -1.
double sample(const std::string& text, const std::string& series) {
  const std::string key = "\n" + series + " ";
  const auto at = text.find(key);
  return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size()));
}

struct metered_server {
  explicit metered_server(config cfg = test_config())
      : f{make_store("memory"), std::move(cfg), nullptr, nullptr, &stats} {}

  metrics stats{tokenauth_server::route_names()};
  tokenauth_server::admin_server admin{{"127.0.0.1", 0}, stats};
  fixture f;

  std::string scrape() {
    auto r = test_http::request(admin.port(), "GET", "/metrics");
    REQUIRE(r.status == 200);
    REQUIRE(r.header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
    return "\n" + r.body;
  }
};

}  // namespace

TEST_CASE("metrics count requests by route, method and status, only on the admin listener") {
  metered_server m;
  auto s = new_session(m.f, "ada");
  for (int i = 0; i < 3; ++i) REQUIRE(get(m.f, "/getnumber", s.access).status == 200);
  REQUIRE(m.f.request("GET", "/getnumber").status == 401);
  REQUIRE(m.f.request("GET", "/user/12345/secret-path").status == 404);
  REQUIRE(m.f.request("GET", "/metrics").status == 404);  // never on the public port

  // A request is counted once its response is written, just after the client has it, on
  // whichever of the two I/O threads served it, so counts may land in any order: scrape until
  // every request shows.
  const auto all_counted = [](const std::string& t) {
    return sample(t, R"(http_requests_total{route="unmatched",method="GET",status="404"})") >= 2 &&
           sample(t, R"(http_request_duration_seconds_count{route="/getnumber"})") >= 4 &&
           sample(t, R"(http_request_duration_seconds_count{route="/auth/login"})") >= 1;
  };
  std::string text = m.scrape();
  for (int i = 0; i < 200 && !all_counted(text); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    text = m.scrape();
  }
  CHECK(sample(text, R"(http_requests_total{route="/getnumber",method="GET",status="200"})") == 3);
  CHECK(sample(text, R"(http_requests_total{route="/getnumber",method="GET",status="401"})") == 1);
  CHECK(sample(text, R"(http_requests_total{route="/auth/login",method="POST",status="200"})") ==
        1);
  CHECK(sample(text, R"(http_requests_total{route="unmatched",method="GET",status="404"})") == 2);
  CHECK(text.find("secret-path") == std::string::npos);  // raw paths never become labels
  CHECK(sample(text, R"(http_request_duration_seconds_count{route="/getnumber"})") == 4);
  CHECK(sample(text, R"(http_request_duration_seconds_bucket{route="/getnumber",le="+Inf"})") == 4);
  CHECK(sample(text, "tokenauth_open_connections") >= 0);
  CHECK(sample(text, R"(tokenauth_build_info{version=")" TOKENAUTH_VERSION_STRING R"("})") == 1);

  auto other = test_http::request(m.admin.port(), "GET", "/");
  CHECK(other.status == 404);
}

TEST_CASE("verifications, rotations, store calls, logins and throttling move their counters") {
  config cfg = test_config();
  cfg.login_rate_account = 2;  // two attempts at once per account, then 429
  cfg.refresh_grace = 0;       // a second presentation of a rotated-out token is a reuse
  metered_server m(cfg);
  const std::string scraped_before = m.scrape();
  CHECK(sample(scraped_before, R"(tokenauth_token_verifications_total{outcome="ok"})") == 0);
  CHECK(sample(scraped_before, R"(tokenauth_refresh_rotations_total{outcome="rotated"})") == 0);
  CHECK(sample(scraped_before, R"(tokenauth_logins_total{result="ok"})") == 0);

  auto s = new_session(m.f, "ada");
  REQUIRE(get(m.f, "/getnumber", s.access).status == 200);
  REQUIRE(get(m.f, "/getnumber", "not-a-token").status == 401);
  for (int i = 0; i < 2; ++i) REQUIRE(login(m.f, "ada@example.com", "wrong").status == 401);
  REQUIRE(login(m.f, "ada@example.com", "wrong").status == 429);

  const auto rotated = reissue(m.f, std::nullopt, s.cookie);
  REQUIRE(rotated.status == 200);
  const auto reused = reissue(m.f, std::nullopt, s.cookie);  // the rotated-out token again
  REQUIRE(reused.status == 401);
  REQUIRE(body_json(reused)["message"] == "refresh token reuse detected");
  const auto successor = refresh_cookie(rotated);
  REQUIRE(successor);
  REQUIRE(reissue(m.f, std::nullopt, successor).status == 401);  // revoked
  m.f.advance(cfg.access_ttl);
  REQUIRE(get(m.f, "/getnumber", s.access).status == 401);  // jwt expired

  // Library outcomes are counted before the response is sent: one scrape sees them all.
  const std::string text = m.scrape();
  CHECK(sample(text, R"(tokenauth_token_verifications_total{outcome="ok"})") == 1);
  CHECK(sample(text, R"(tokenauth_token_verifications_total{outcome="malformed"})") == 1);
  CHECK(sample(text, R"(tokenauth_token_verifications_total{outcome="expired"})") == 1);
  CHECK(sample(text, R"(tokenauth_token_verifications_total{outcome="bad_signature"})") == 0);
  CHECK(sample(text, R"(tokenauth_refresh_rotations_total{outcome="rotated"})") == 1);
  CHECK(sample(text, R"(tokenauth_refresh_rotations_total{outcome="reuse_detected"})") == 1);
  CHECK(sample(text, R"(tokenauth_refresh_rotations_total{outcome="revoked"})") == 1);
  CHECK(sample(text, R"(tokenauth_refresh_rotations_total{outcome="grace"})") == 0);
  CHECK(sample(text, R"(tokenauth_logins_total{result="ok"})") == 1);
  CHECK(sample(text, R"(tokenauth_logins_total{result="bad_credentials"})") == 2);
  CHECK(sample(text, R"(tokenauth_logins_total{result="throttled"})") == 1);
  CHECK(sample(text, R"(tokenauth_logins_total{result="error"})") == 0);
  CHECK(sample(text, R"(tokenauth_throttled_requests_total{reason="login_rate"})") == 1);
  CHECK(sample(text, "tokenauth_bcrypt_queue_depth") == 0);
  // One family created, three rotations: four calls to the memory store, none failed.
  CHECK(sample(text, R"(tokenauth_store_call_duration_seconds_count{store="memory"})") == 4);
  CHECK(sample(text, R"(tokenauth_store_call_duration_seconds_bucket{store="memory",le="+Inf"})") ==
        4);
  CHECK(text.find("tokenauth_store_errors_total{") == std::string::npos);
}

TEST_CASE("store errors and latency are counted per store and operation") {
  metrics stats(tokenauth_server::route_names());
  using tokenauth::store_operation;
  using namespace std::chrono_literals;
  stats.library()->store_called({"redis", store_operation::rotate, 3ms, false});
  stats.library()->store_called({"redis", store_operation::rotate, 200us, true});
  stats.library()->store_called({"redis", store_operation::ping, 2s, false});
  stats.library()->store_called({"my-own-store", store_operation::sessions, 50us, false});
  stats.password_job_queued();
  stats.password_job_queued();
  stats.password_job_dequeued();
  stats.throttled(tokenauth_server::throttle_reason::password_queue_share);
  const std::string text = "\n" + stats.exposition();
  CHECK(sample(text, R"(tokenauth_store_errors_total{store="redis",operation="rotate"})") == 1);
  CHECK(sample(text, R"(tokenauth_store_errors_total{store="redis",operation="ping"})") == 1);
  CHECK(sample(text, R"(tokenauth_store_errors_total{store="other",operation="sessions"})") == 1);
  CHECK(sample(text,
               R"(tokenauth_store_call_duration_seconds_bucket{store="redis",le="0.000250"})") ==
        1);
  CHECK(sample(text,
               R"(tokenauth_store_call_duration_seconds_bucket{store="redis",le="0.005000"})") ==
        2);
  CHECK(sample(text,
               R"(tokenauth_store_call_duration_seconds_bucket{store="redis",le="1.000000"})") ==
        2);
  CHECK(sample(text, R"(tokenauth_store_call_duration_seconds_bucket{store="redis",le="+Inf"})") ==
        3);
  CHECK(sample(text, R"(tokenauth_store_call_duration_seconds_sum{store="redis"})") == 2.0032);
  CHECK(sample(text, R"(tokenauth_store_call_duration_seconds_count{store="other"})") == 1);
  CHECK(text.find(R"(store="memory")") == std::string::npos);  // no series for unused stores
  CHECK(sample(text, "tokenauth_bcrypt_queue_depth") == 1);
  CHECK(sample(text, R"(tokenauth_throttled_requests_total{reason="password_queue_share"})") == 1);
}

TEST_CASE("promtool check metrics accepts the exposition") {
  metered_server m;
  auto s = new_session(m.f, "bob");
  REQUIRE(get(m.f, "/getnumber", s.access).status == 200);
  REQUIRE(m.f.request("OPTIONS", "/getnumber").status == 204);
  const std::string text = m.scrape().substr(1);

  const std::string promtool = tokenauth::test::find_program("promtool");
  if (promtool.empty()) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") FAIL("promtool not found (Debian package prometheus)");
    WARN("SKIPPED: promtool not found (Debian package prometheus)");
    return;
  }
  const std::string path = "/tmp/tokenauth-metrics-" + std::to_string(::getpid()) + ".txt";
  std::ofstream(path) << text;
  // Through a shell: promtool reads the exposition from stdin, which run_program does not feed.
  const std::string cmd = promtool + " check metrics < " + path + " > " + path + ".out 2>&1";
  const int rc = std::system(cmd.c_str());  // NOLINT(bugprone-command-processor): our own paths
  std::ifstream in(path + ".out");
  const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  std::remove((path + ".out").c_str());
  INFO(out);
  CHECK(rc == 0);
}

// Two tokenauth-server processes (the real binary) behind one Redis, for each topology: single
// node, a three-master Cluster, and Sentinel (master, replica, three sentinels). A session begun
// on instance A is refreshed on instance B; the rotated-out token then presented to A is reuse,
// which revokes the family, so B refuses the newest token too. This is what lets several
// instances share sessions (docs/deployment.md). Without redis-server or redis-sentinel the
// cases are skipped, except under CI=true, where that fails (the fixtures in tests/support).
#include <catch2/catch.hpp>

#include "../support/redis_cluster.hpp"
#include "../support/redis_sentinel.hpp"
#include "../support/redis_server.hpp"
#include "api.hpp"
#include "process.hpp"

using namespace fault;

namespace {

// The `message` of a JSON error answer; empty when there is none.
std::string message_of(const reply& r) {
  const auto body = json_of(r);
  return body.is_object() && body.contains("message") && body["message"].is_string()
             ? body["message"].get<std::string>()
             : std::string{};
}

// Both instances share the JWT secret (server_process sets it), the users file and the refresh
// store; with no grace window every replay of a rotated-out token is reuse. The login throttle
// keeps its defaults, so login goes through it as in production.
class two_instances {
 public:
  explicit two_instances(const std::string& store)
      : a_(TOKENAUTH_SERVER_BINARY, args(store), dir_ / "a.log"),
        b_(TOKENAUTH_SERVER_BINARY, args(store), dir_ / "b.log") {}

  std::uint16_t a() const { return a_.port(); }
  std::uint16_t b() const { return b_.port(); }
  std::string logs() const { return read_text(dir_ / "a.log") + read_text(dir_ / "b.log"); }

 private:
  std::vector<std::string> args(const std::string& store) const {
    return {"--threads",        "1",
            "--store-threads",  "1",
            "--bcrypt-cost",    "4",
            "--bcrypt-threads", "1",
            "--access-log",     "false",
            "--refresh-grace",  "0",
            "--users",          "sqlite:" + (dir_ / "users.db"),
            "--store",          store};
  }

  temp_dir dir_;
  server_process a_, b_;
};

void check_shared_session(const std::string& store) {
  two_instances servers(store);

  const auto joined = once(servers.a(), join_request("shared"));
  REQUIRE(joined.has_value());
  INFO("join on A: " << joined->status << " " << joined->body);
  REQUIRE(joined->status == 201);
  const auto login = once(servers.a(), login_request("shared"));
  REQUIRE(login.has_value());
  INFO("login on A: " << login->status << " " << login->body << "\nserver logs:\n"
                      << servers.logs());
  session first;
  REQUIRE(absorb(first, login));
  REQUIRE_FALSE(first.cookie.empty());

  // Refreshed on B: a new refresh token and an access token that A accepts.
  session latest = first;
  const auto rotated = once(servers.b(), reissue_request(latest));
  REQUIRE(rotated.has_value());
  INFO("reissuance on B: " << rotated->status << " " << rotated->body);
  REQUIRE(absorb(latest, rotated));
  REQUIRE(latest.cookie != first.cookie);
  const auto user = once(servers.a(), get_request("/getuser", latest));
  REQUIRE(user.has_value());
  CHECK(user->status == 200);
  CHECK(json_of(*user).value("nick", "") == "shared");

  // The rotated-out token on A: reuse, and the cookie is cleared.
  const auto reused = once(servers.a(), reissue_request(first));
  REQUIRE(reused.has_value());
  INFO("reuse on A: " << reused->status << " " << reused->body);
  CHECK(reused->status == 401);
  CHECK(message_of(*reused) == "refresh token reuse detected");
  CHECK(set_cookie(*reused).value_or("not cleared").empty());

  // The family is revoked: B refuses the newest token.
  const auto after = once(servers.b(), reissue_request(latest));
  REQUIRE(after.has_value());
  INFO("newest token on B: " << after->status << " " << after->body);
  CHECK(after->status == 401);
  CHECK(message_of(*after) == "refresh session revoked");
  CHECK(set_cookie(*after).value_or("not cleared").empty());
}

}  // namespace

TEST_CASE("two instances share sessions through single-node Redis", "[two-instances]") {
  tokenauth::test::redis_server redis;
  if (!redis.available()) return;
  check_shared_session(redis.url());
}

TEST_CASE("two instances share sessions through Redis Cluster", "[two-instances]") {
  tokenauth::test::redis_cluster cluster;
  if (!cluster.available()) return;
  check_shared_session(cluster.url());
}

TEST_CASE("two instances share sessions through Redis Sentinel", "[two-instances]") {
  tokenauth::test::redis_sentinel_setup sentinel;
  if (!sentinel.available()) return;
  check_shared_session(sentinel.url());
}

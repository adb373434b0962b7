// redis_store through Redis Sentinel (a master, a replica, three sentinels): the whole store
// contract, and a failover under rotation load.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_sentinel.hpp"
#include "tokenauth/redis_store.hpp"

namespace {

using tokenauth::redis_options;
using tokenauth::redis_store;
using tokenauth::test::redis_sentinel_setup;

// One setup for the whole run; each test flushes the data. The failover test runs last.
redis_sentinel_setup& shared_setup() {
  static redis_sentinel_setup setup;
  return setup;
}

redis_options options_for(const redis_sentinel_setup& setup) {
  auto o = redis_options::from_url(setup.url());
  REQUIRE(o);
  o->key_prefix = "ta-test:";
  o->pool_size = 4;
  o->connect_timeout = std::chrono::milliseconds(500);
  o->command_timeout = std::chrono::milliseconds(1000);
  return *o;
}

struct sentinel_fixture {
  redis_sentinel_setup& setup = shared_setup();
  std::shared_ptr<redis_store> first;
  sentinel_fixture() {
    if (!setup.available()) return;
    REQUIRE(setup.master().command({"FLUSHALL"}));
    first = std::make_shared<redis_store>(options_for(setup));
  }
  bool ready() const { return setup.available(); }
  std::shared_ptr<tokenauth::refresh_store> store() const { return first; }
  std::shared_ptr<tokenauth::refresh_store> second_handle() const {
    return std::make_shared<redis_store>(options_for(setup));
  }
  std::uint64_t work() const {  // commands the master ran (INFO commandstats), INFO aside
    const auto info = setup.master().command({"INFO", "commandstats"});
    REQUIRE(info);
    std::istringstream lines(std::string(info->str, info->len));
    std::uint64_t total = 0;
    for (std::string line; std::getline(lines, line);) {
      const std::size_t at = line.find(":calls=");
      if (line.rfind("cmdstat_", 0) != 0 || at == std::string::npos ||
          line.compare(0, at, "cmdstat_info") == 0 || line.compare(0, at, "cmdstat_flushall") == 0)
        continue;
      total += std::stoull(line.substr(at + 7));
    }
    return total;
  }
  std::size_t history_size() const { return 2'000; }
};

}  // namespace

#define TOKENAUTH_CONTRACT_FIXTURE sentinel_fixture
#include "store_contract.hpp"

using namespace tokenauth;

TEST_CASE("redis_options::from_url: redis-sentinel://") {
  auto o = redis_options::from_url("redis-sentinel://:pw@10.0.0.1:26379,[::1]:26380/mymaster");
  REQUIRE(o);
  REQUIRE(o->sentinel_nodes.size() == 2);
  CHECK(o->sentinel_nodes[0].host == "10.0.0.1");
  CHECK(o->sentinel_nodes[0].port == 26379);
  CHECK(o->sentinel_nodes[1].host == "::1");
  CHECK(o->sentinel_master == "mymaster");
  CHECK(o->password == "pw");
  CHECK(o->cluster_nodes.empty());
  for (const char* bad :
       {"redis-sentinel://h:26379", "redis-sentinel://h:26379/", "redis-sentinel://h/m",
        "redis-sentinel://h:26379,/m", "redis-sentinel:///m", "redis-sentinel://h:1/m/x",
        "redis-sentinel://user:pw@h:1/m"}) {
    CAPTURE(bad);
    CHECK(redis_options::from_url(bad).error() == std::errc::invalid_argument);
  }
}

TEST_CASE("redis sentinel: no sentinel reachable -> store_unavailable, never a throw") {
  auto o = redis_options::from_url("redis-sentinel://127.0.0.1:1,127.0.0.1:2/m");
  REQUIRE(o);
  o->connect_timeout = std::chrono::milliseconds(200);
  const refresh_service svc(std::make_shared<redis_store>(*o));
  CHECK(svc.issue("alice").error() == errc::store_unavailable);
}

TEST_CASE_METHOD(sentinel_fixture, "redis sentinel: a replica named as master is never written") {
  if (!ready()) return;
  // A writable replica, and a sentinel that names it as the master "stale" (as a sentinel with
  // outdated information would): ROLE says it is a replica, so the store refuses it.
  REQUIRE(setup.replica().command({"CONFIG", "SET", "replica-read-only", "no"}));
  REQUIRE(setup.sentinel_command(2, {"SENTINEL", "MONITOR", "stale", "127.0.0.1",
                                     std::to_string(setup.replica().port()), "2"}));
  redis_options o = options_for(setup);
  o.sentinel_nodes = {o.sentinel_nodes[2]};
  o.sentinel_master = "stale";
  const refresh_service wrong(std::make_shared<redis_store>(o));
  CHECK(wrong.issue("alice").error() == errc::store_unavailable);
  CHECK(setup.replica().command({"DBSIZE"})->integer == 0);
  REQUIRE(setup.sentinel_command(2, {"SENTINEL", "REMOVE", "stale"}));
  REQUIRE(setup.replica().command({"CONFIG", "SET", "replica-read-only", "yes"}));
  o.sentinel_master = "nobody";  // a name no sentinel knows
  CHECK(refresh_service(std::make_shared<redis_store>(o)).issue("alice").error() ==
        errc::store_unavailable);
  const refresh_service svc(store());
  REQUIRE(svc.issue("alice"));
}

// Last: it changes the topology. Two threads rotate their sessions while the master is killed.
TEST_CASE_METHOD(sentinel_fixture,
                 "redis sentinel: master killed under rotation load -> back within 10 s, errors "
                 "only store_unavailable, no token rotated twice",
                 "[failover]") {
  if (!ready()) return;
  refresh_options ro;
  ro.grace = 0;
  const refresh_service svc(store(), ro);
  std::atomic<bool> stop{false}, killed{false};
  std::mutex m;
  std::map<std::string, int> successors;  // presented token -> successors handed out
  std::atomic<int> rotations_after_kill{0}, unavailable{0}, relogins{0}, unexpected{0};
  std::atomic<std::int64_t> first_success_after_kill_ms{-1};
  const auto started = std::chrono::steady_clock::now();
  std::atomic<std::int64_t> kill_ms{0};
  const auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 started)
        .count();
  };
  const auto worker = [&](int id) {
    const std::string user = "load" + std::to_string(id);
    std::string token;
    while (!stop) {
      if (token.empty()) {
        auto t = svc.issue(user);
        if (!t) {
          ++unavailable;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          continue;
        }
        token = t->token;
      }
      const bool after_kill = killed;  // this call starts with the master dead
      auto r = svc.rotate(token);
      if (r && r->token) {
        {
          std::lock_guard<std::mutex> lock(m);
          ++successors[token];
        }
        token = *r->token;
        if (after_kill) {
          ++rotations_after_kill;
          std::int64_t none = -1;
          first_success_after_kill_ms.compare_exchange_strong(none, elapsed_ms() - kill_ms);
        }
      } else if (!r && r.error() == errc::store_unavailable) {
        ++unavailable;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      } else if (!r && (r.error() == errc::refresh_token_unknown ||
                        r.error() == errc::refresh_reuse_detected ||
                        r.error() == errc::refresh_family_revoked)) {
        // A rotation whose answer or write the failover lost: the client logs in again.
        ++relogins;
        token.clear();
      } else {
        ++unexpected;
        token.clear();
      }
    }
  };
  std::thread a(worker, 1), b(worker, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int old_master = setup.master_port();
  setup.master().crash();
  kill_ms = elapsed_ms();
  killed = true;
  while (rotations_after_kill < 50 && elapsed_ms() - kill_ms < 20'000)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop = true;
  a.join();
  b.join();
  CAPTURE(unavailable.load(), relogins.load(), first_success_after_kill_ms.load());
  CHECK(setup.master_port() != old_master);  // the replica was promoted
  REQUIRE(rotations_after_kill >= 50);
  CHECK(first_success_after_kill_ms >= 0);
  CHECK(first_success_after_kill_ms < 10'000);
  CHECK(unexpected == 0);
  CHECK(relogins <= 2);  // at most the one in-flight rotation per thread
  for (const auto& [presented, n] : successors) CHECK(n == 1);
  WARN("failover: rotations again after " << first_success_after_kill_ms << " ms; " << unavailable
                                          << " store_unavailable answers, " << relogins
                                          << " lost rotations");
}

// redis_store on a real three-master Redis Cluster: the whole store contract, keys spread over
// the masters, MOVED and ASK followed, and a master that goes away and comes back.
#include <cstdint>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "support/redis_cluster.hpp"
#include "tokenauth/detail/family_id.hpp"
#include "tokenauth/detail/redis_slots.hpp"
#include "tokenauth/redis_store.hpp"

namespace {

using tokenauth::redis_options;
using tokenauth::redis_store;
using tokenauth::test::redis_cluster;

// One cluster for the whole run (starting one takes a second or two); each test flushes it.
redis_cluster& shared_cluster() {
  static redis_cluster cluster;
  return cluster;
}

redis_options options_for(const redis_cluster& cluster) {
  auto o = redis_options::from_url(cluster.url());
  REQUIRE(o);
  o->key_prefix = "ta-test:";
  o->pool_size = 4;
  o->connect_timeout = std::chrono::milliseconds(500);
  o->command_timeout = std::chrono::milliseconds(1000);
  return *o;
}

std::uint64_t commands_run(const tokenauth::test::redis_server& server) {
  const auto info = server.command({"INFO", "commandstats"});
  REQUIRE(info);
  std::istringstream lines(std::string(info->str, info->len));
  std::uint64_t total = 0;
  for (std::string line; std::getline(lines, line);) {
    constexpr std::string_view calls = ":calls=";
    const std::size_t at = line.find(calls);
    if (line.rfind("cmdstat_", 0) != 0 || at == std::string::npos ||
        line.compare(0, at, "cmdstat_info") == 0 || line.compare(0, at, "cmdstat_cluster") == 0 ||
        line.compare(0, at, "cmdstat_flushall") == 0)
      continue;
    total += std::stoull(line.substr(at + calls.size()));
  }
  return total;
}

struct cluster_fixture {
  redis_cluster& cluster = shared_cluster();
  std::shared_ptr<redis_store> first;
  cluster_fixture() {
    if (!cluster.available()) return;
    cluster.flush_all();
    first = std::make_shared<redis_store>(options_for(cluster));
  }
  bool ready() const { return cluster.available(); }
  std::shared_ptr<tokenauth::refresh_store> store() const { return first; }
  std::shared_ptr<tokenauth::refresh_store> second_handle() const {
    return std::make_shared<redis_store>(options_for(cluster));
  }
  std::uint64_t work() const {
    std::uint64_t n = 0;
    for (int i = 0; i < redis_cluster::masters; ++i) n += commands_run(cluster.node(i));
    return n;
  }
  std::size_t history_size() const { return 2'000; }

  unsigned slot_of(const std::string& user) const {
    return tokenauth::detail::key_slot("{" + tokenauth::detail::user_tag(user) + "}");
  }
};

}  // namespace

#define TOKENAUTH_CONTRACT_FIXTURE cluster_fixture
#include "store_contract.hpp"

using namespace tokenauth;

TEST_CASE("redis_options::from_url: redis-cluster://") {
  auto o = redis_options::from_url("redis-cluster://:p%40ss@10.0.0.1:7000,[::1]:7001,h:7002");
  REQUIRE(o);
  REQUIRE(o->cluster_nodes.size() == 3);
  CHECK(o->cluster_nodes[0].host == "10.0.0.1");
  CHECK(o->cluster_nodes[0].port == 7000);
  CHECK(o->cluster_nodes[1].host == "::1");
  CHECK(o->cluster_nodes[2].port == 7002);
  CHECK(o->password == "p@ss");
  o = redis_options::from_url("redis-cluster://h:7000");
  REQUIRE(o);
  CHECK(o->cluster_nodes.size() == 1);
  for (const char* bad : {"redis-cluster://", "redis-cluster://h", "redis-cluster://h:7000,",
                          "redis-cluster://h:7000,,h:7001", "redis-cluster://h:7000/1",
                          "redis-cluster://h:7000,h", "redis-cluster://h:0",
                          "redis-cluster://:7000", "redis-cluster:/h:7000", "redis://h:1,h:2"}) {
    CAPTURE(bad);
    CHECK(redis_options::from_url(bad).error() == std::errc::invalid_argument);
  }
}

TEST_CASE_METHOD(cluster_fixture,
                 "redis cluster: users spread over every master; each user's "
                 "keys on one") {
  if (!ready()) return;
  contract::manual_clock clock;
  const refresh_service svc(store(), contract::options(clock));
  for (int i = 0; i < 30; ++i) REQUIRE(svc.issue("user" + std::to_string(i)));
  for (int n = 0; n < redis_cluster::masters; ++n) {
    CAPTURE(n);
    CHECK(cluster.node(n).command({"DBSIZE"})->integer > 0);
  }
  const int owner = cluster.owner_of(slot_of("user7"));
  auto s = svc.sessions("user7");
  REQUIRE(s);
  REQUIRE(s->size() == 1);
  const std::string tag = detail::user_tag("user7");
  CHECK(cluster.node(owner).command({"EXISTS", "ta-test:{" + tag + "}i:user7"})->integer == 1);
  CHECK(cluster.node(owner).command({"EXISTS", "ta-test:{" + tag + "}w"})->integer == 1);
}

// Moves `slot` from its master to another: the store's map is then stale, and the old owner
// answers MOVED. With `finish` false the slot stays half-migrated, so the old owner answers ASK
// for keys it does not have.
static int migrate_slot(redis_cluster& cluster, unsigned slot, bool finish) {
  const int from = cluster.owner_of(slot), to = (from + 1) % redis_cluster::masters;
  const std::string s = std::to_string(slot);
  REQUIRE(cluster.node(to).command({"CLUSTER", "SETSLOT", s, "IMPORTING", cluster.id_of(from)}));
  REQUIRE(cluster.node(from).command({"CLUSTER", "SETSLOT", s, "MIGRATING", cluster.id_of(to)}));
  if (finish)
    for (int n = 0; n < redis_cluster::masters; ++n)
      REQUIRE(cluster.node(n).command({"CLUSTER", "SETSLOT", s, "NODE", cluster.id_of(to)}));
  return to;
}

TEST_CASE_METHOD(cluster_fixture, "redis cluster: a slot that moved is followed (MOVED)") {
  if (!ready()) return;
  contract::manual_clock clock;
  const refresh_service svc(store(), contract::options(clock));
  REQUIRE(svc.issue("warm-up"));  // the store has loaded its slot map
  const int to = migrate_slot(cluster, slot_of("mover"), true);
  auto t = svc.issue("mover");  // sent to the old owner first
  REQUIRE(t);
  CHECK(contract::must_rotate(svc, t->token) != t->token);
  CHECK(cluster.node(to)
            .command({"EXISTS", "ta-test:{" + detail::user_tag("mover") + "}w"})
            ->integer == 1);
}

TEST_CASE_METHOD(cluster_fixture, "redis cluster: a slot being migrated is followed (ASK)") {
  if (!ready()) return;
  contract::manual_clock clock;
  const refresh_service svc(store(), contract::options(clock, 0));
  const std::string t = contract::must_issue(svc, "asker");
  const unsigned slot = slot_of("asker");
  const int from = cluster.owner_of(slot);
  const int to = migrate_slot(cluster, slot, false);
  // Mid-migration: a script that finds none of its keys on the old owner is sent on with ASK;
  // one that finds only some of them gets TRYAGAIN from Redis, which is store_unavailable.
  auto keys = cluster.node(from).command({"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "100"});
  REQUIRE(keys);
  REQUIRE(keys->elements > 1);
  std::vector<std::string> migrate{
      "MIGRATE", "127.0.0.1", std::to_string(cluster.node(to).port()), "", "0", "5000", "KEYS"};
  for (std::size_t i = 0; i < keys->elements; ++i)
    migrate.emplace_back(keys->element[i]->str, keys->element[i]->len);
  const std::string moved_last = migrate.back();
  migrate.pop_back();  // all but one: the user's keys are split between the two nodes
  REQUIRE(cluster.node(from).command(migrate));
  CHECK(svc.rotate(t).error() == errc::store_unavailable);  // TRYAGAIN
  REQUIRE(cluster.node(from).command(
      {"MIGRATE", "127.0.0.1", std::to_string(cluster.node(to).port()), moved_last, "0", "5000"}));
  const std::string t2 = contract::must_rotate(svc, t);  // ASK, then ASKING + the script
  for (int n = 0; n < redis_cluster::masters; ++n)       // finish the migration
    REQUIRE(cluster.node(n).command(
        {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", cluster.id_of(to)}));
  CHECK(contract::must_rotate(svc, t2) != t2);
  CHECK(cluster.node(to)
            .command({"EXISTS", "ta-test:{" + detail::user_tag("asker") + "}w"})
            ->integer == 1);
}

TEST_CASE_METHOD(cluster_fixture,
                 "redis cluster: a master down -> store_unavailable for its "
                 "users only; back -> works",
                 "[restart]") {
  if (!ready()) return;
  contract::manual_clock clock;
  const refresh_service svc(store(), contract::options(clock, 0));
  std::string t = contract::must_issue(svc, "alice");
  const int owner = cluster.owner_of(slot_of("alice"));
  std::string other_user;
  for (int i = 0; other_user.empty(); ++i)
    if (cluster.owner_of(slot_of("u" + std::to_string(i))) != owner)
      other_user = "u" + std::to_string(i);
  cluster.node(owner).stop();
  CHECK(svc.rotate(t).error() == errc::store_unavailable);
  CHECK(svc.sessions("alice").error() == errc::store_unavailable);
  CHECK(svc.issue(other_user));  // other masters keep serving their slots
  cluster.node(owner).start();   // same port, nodes.conf and dump kept
  bool back = false;
  for (int i = 0; i < 100 && !back; ++i) {  // until the cluster marks it reachable again
    auto r = svc.rotate(t);
    if (r) {
      t = *r->token;
      back = true;
    } else {
      REQUIRE(r.error() == errc::store_unavailable);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  CHECK(back);
  CHECK(contract::must_rotate(svc, t) != t);
}

TEST_CASE("redis cluster: no node reachable -> store_unavailable, never a throw") {
  auto o = redis_options::from_url("redis-cluster://127.0.0.1:1,127.0.0.1:2");
  REQUIRE(o);
  o->connect_timeout = std::chrono::milliseconds(200);
  const refresh_service svc(std::make_shared<redis_store>(*o));
  CHECK(svc.issue("alice").error() == errc::store_unavailable);
  CHECK(svc.sessions("alice").error() == errc::store_unavailable);
}

TEST_CASE_METHOD(cluster_fixture,
                 "redis cluster: eval_integer runs on the master of its keys' slot") {
  if (!ready()) return;
  for (const std::string tag : {"a", "b", "c", "throttle"}) {
    const std::string key = "ta-test:{" + tag + "}n";
    const auto n = first->eval_integer("return redis.call('INCR', KEYS[1])", {key}, {});
    REQUIRE(n);
    CHECK(*n == 1);
    const auto on_owner =
        cluster.node(cluster.owner_of(detail::key_slot(key))).command({"GET", key});
    REQUIRE(on_owner);
    CHECK(std::string(on_owner->str, on_owner->len) == "1");
  }
}

// Last: it changes the topology. A master with a replica is killed while its user rotates.
TEST_CASE_METHOD(cluster_fixture,
                 "redis cluster: master killed -> its replica promoted; rotations back within "
                 "10 s, errors only store_unavailable, no token rotated twice",
                 "[failover]") {
  if (!ready()) return;
  const int owner = cluster.owner_of(slot_of("alice"));
  const int replica_port = cluster.add_replica_of(owner);
  contract::manual_clock clock;
  const refresh_service svc(store(), contract::options(clock, 0));
  std::string token = contract::must_issue(svc, "alice");
  for (int i = 0; i < 5; ++i) token = contract::must_rotate(svc, token);
  // The replica has every write (WAIT on the fixture's own connection would wait for nothing).
  const auto offset = [](const tokenauth::test::redis_reply& info, const std::string& field) {
    const std::string text(info->str, info->len);
    const std::size_t at = text.find(field);
    if (at == std::string::npos) return std::string("none");
    const std::size_t from = at + field.size();
    return text.substr(from, text.find_first_of(",\r", from) - from);
  };
  bool synced = false;
  for (int i = 0; i < 500 && !synced; ++i) {
    const auto info = cluster.node(owner).command({"INFO", "replication"});
    REQUIRE(info);
    synced = offset(info, "master_repl_offset:") == offset(info, ",offset=");
    if (!synced) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(synced);
  std::map<std::string, int> successors;
  int unavailable = 0, lost = 0, after = 0;
  cluster.node(owner).crash();
  const auto killed = std::chrono::steady_clock::now();
  std::int64_t first_ms = -1;
  while (after < 20 && std::chrono::steady_clock::now() - killed < std::chrono::seconds(20)) {
    auto r = svc.rotate(token);
    if (r && r->token) {
      ++successors[token];
      token = *r->token;
      if (first_ms < 0)
        first_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - killed)
                       .count();
      ++after;
    } else if (!r && r.error() == errc::store_unavailable) {
      ++unavailable;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } else {
      UNSCOPED_INFO("lost rotation: " << (r ? "grace replay" : r.error().message()));
      ++lost;  // a rotation whose write the failover lost: log in again
      token = contract::must_issue(svc, "alice");
    }
  }
  CAPTURE(unavailable, lost, first_ms);
  CHECK(cluster.owner_port(slot_of("alice")) == replica_port);
  REQUIRE(after == 20);
  CHECK(first_ms < 10'000);
  CHECK(lost == 0);  // the replica had every rotation (WAIT above); none was in flight
  for (const auto& [presented, n] : successors) CHECK(n == 1);
  WARN("cluster failover: rotations again after " << first_ms << " ms; " << unavailable
                                                  << " store_unavailable answers");
}

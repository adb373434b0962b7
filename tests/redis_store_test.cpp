// redis_store against the shared store contract on a real redis-server, plus what only Redis
// has: key layout and TTLs, one round trip per rotation, restarts and timeouts, URL, AUTH/SELECT.
#include "tokenauth/redis_store.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "support/redis_server.hpp"

namespace {

using tokenauth::redis_options;
using tokenauth::redis_store;

redis_options options_for(const tokenauth::test::redis_server& server) {
  redis_options o;
  o.port = server.port();
  o.key_prefix = "ta-test:";
  o.pool_size = 4;
  o.connect_timeout = std::chrono::milliseconds(500);
  o.command_timeout = std::chrono::milliseconds(500);
  return o;
}

std::uint64_t commands_run(const tokenauth::test::redis_server& server) {
  const auto info = server.command({"INFO", "commandstats"});
  REQUIRE(info);
  REQUIRE(info->type == REDIS_REPLY_STRING);
  std::istringstream lines(std::string(info->str, info->len));
  std::uint64_t total = 0;
  for (std::string line; std::getline(lines, line);) {
    constexpr std::string_view calls = ":calls=";
    const std::size_t at = line.find(calls);
    if (line.rfind("cmdstat_", 0) != 0 || at == std::string::npos ||
        line.compare(0, at, "cmdstat_info") == 0)
      continue;
    total += std::stoull(line.substr(at + calls.size()));
  }
  return total;
}

struct redis_fixture {
  tokenauth::test::redis_server server;
  std::shared_ptr<redis_store> first =
      server.available() ? std::make_shared<redis_store>(options_for(server)) : nullptr;
  bool ready() const { return server.available(); }
  std::shared_ptr<tokenauth::refresh_store> store() const { return first; }
  std::shared_ptr<tokenauth::refresh_store> second_handle() const {
    return std::make_shared<redis_store>(options_for(server));  // its own pool: another "server"
  }
  // Commands Redis has run, those inside scripts included (INFO commandstats), but not INFO.
  std::uint64_t work() const { return commands_run(server); }
  std::size_t history_size() const { return 4'000; }  // 2.5 calls each: seconds
};

}  // namespace

#define TOKENAUTH_CONTRACT_FIXTURE redis_fixture
#include "store_contract.hpp"

using namespace tokenauth;

TEST_CASE_METHOD(redis_fixture, "redis: key layout, only digests stored, every key has a TTL") {
  if (!ready()) return;
  contract::manual_clock clock;
  refresh_options o = contract::options(clock);
  o.token_ttl = 1000;
  o.family_lifetime = 5000;
  const refresh_service svc(store(), o);
  auto t = svc.issue("alice");
  REQUIRE(t);
  const std::string t2 = contract::must_rotate(svc, t->token);
  REQUIRE(svc.issue("bob"));
  auto gone = svc.issue("carol");
  REQUIRE(gone);
  REQUIRE_FALSE(svc.revoke(gone->token));

  const std::string tag = t->family_id.substr(0, family_tag_size);
  CHECK(tag == detail::user_tag("alice"));
  const std::string f = "ta-test:{" + tag + "}f:" + t->family_id;
  const std::string tk = "ta-test:{" + tag + "}t:" + t->family_id;
  const std::string i = "ta-test:{" + tag + "}i:alice";
  const std::string x = "ta-test:{" + tag + "}x";
  const std::string w = "ta-test:{" + tag + "}w";
  auto user = server.command({"HGET", f, "user"});
  REQUIRE(user);
  CHECK(std::string(user->str, user->len) == "alice");
  auto gen = server.command({"HGET", tk, std::string(contract::bytes_of(detail::sha256(t2)))});
  REQUIRE(gen);
  CHECK(std::string(gen->str, gen->len) == "1");
  auto idx = server.command({"ZRANGE", i, "0", "-1", "WITHSCORES"});  // family -> creation seq
  REQUIRE(idx);
  REQUIRE(idx->elements == 2);
  CHECK(std::string(idx->element[0]->str, idx->element[0]->len) == t->family_id);
  CHECK(std::string(idx->element[1]->str, idx->element[1]->len) == "1");
  auto ends = server.command({"ZSCORE", x, t->family_id});  // when the family ends
  REQUIRE(ends);
  CHECK(std::string(ends->str, ends->len) == std::to_string(clock.get() + 1000));
  auto seq = server.command({"HGET", w, "n"});
  REQUIRE(seq);
  CHECK(std::string(seq->str, seq->len) == "1");
  // A logout marks the family ended in the tag's end index, so no login counts it as live.
  const std::string gone_x = "ta-test:{" + gone->family_id.substr(0, 8) + "}x";
  auto gone_end = server.command({"ZSCORE", gone_x, gone->family_id});
  REQUIRE(gone_end);
  CHECK(std::string(gone_end->str, gone_end->len) == "0");

  auto keys = server.command({"KEYS", "*"});  // fine in a test; the store never scans
  REQUIRE(keys);
  CHECK(keys->elements == 15);  // f, t, i, x, w for each of alice, bob, carol
  for (std::size_t i = 0; i < keys->elements; ++i) {
    const std::string k(keys->element[i]->str, keys->element[i]->len);
    CAPTURE(k);
    CHECK(k.rfind("ta-test:{", 0) == 0);
    auto ttl = server.command({"TTL", k});
    REQUIRE(ttl);
    CHECK(ttl->integer > 0);
    CHECK(ttl->integer <= 5000 + expired_record_retention);
    auto dump = server.command({"DUMP", k});  // no token text anywhere in the data
    REQUIRE(dump);
    const std::string data(dump->str, dump->len);
    for (const auto& tok : {t->token, t2, gone->token})
      CHECK(data.find(tok.substr(37)) == std::string::npos);
  }
  // TTLs follow `now` passed into the scripts: families end at token expiry + retention,
  // a revoked one keeps only the retention.
  auto ttl_f = server.command({"TTL", f});
  CHECK(ttl_f->integer == 1000 + expired_record_retention);
  auto ttl_gone =
      server.command({"TTL", "ta-test:{" + gone->family_id.substr(0, 8) + "}f:" + gone->family_id});
  CHECK(ttl_gone->integer == expired_record_retention);
  for (const auto& k : {i, x, w}) {
    CAPTURE(k);
    CHECK(server.command({"TTL", k})->integer == 5000 + expired_record_retention);
  }
}

TEST_CASE_METHOD(redis_fixture,
                 "redis: families stored by older versions rotate, and revoke_user covers them") {
  if (!ready()) return;
  contract::manual_clock clock;
  const refresh_service svc(store(), contract::options(clock));
  // The older layout: no seq field, no x/w keys, the user's ids in the list P{G}u:<user>.
  const std::string tag = detail::user_tag("alice");
  const std::string family = tag + std::string(24, 'A');
  const std::string token = "rt1." + family + "." + std::string(42, 'B') + "A";
  const std::string f = "ta-test:{" + tag + "}f:" + family;
  const std::string u = "ta-test:{" + tag + "}u:alice";
  const std::string now = std::to_string(clock.get());
  REQUIRE(
      server.command({"HSET", f, "user", "alice", "created", now, "used", now, "fexp",
                      std::to_string(clock.get() + 5000), "texp",
                      std::to_string(clock.get() + 1000), "gen", "0", "rot", "0", "revoked", "0"}));
  REQUIRE(server.command({"HSET", "ta-test:{" + tag + "}t:" + family,
                          std::string(contract::bytes_of(detail::sha256(token))), "0"}));
  REQUIRE(server.command({"RPUSH", u, family}));
  REQUIRE(server.command({"EXPIRE", u, "90000"}));
  const std::string next = contract::must_rotate(svc, token);
  CHECK_FALSE(svc.revoke_user("alice"));
  CHECK(contract::rotate_error(svc, next) == errc::refresh_family_revoked);
  CHECK(server.command({"EXISTS", u})->integer == 0);
  const auto ttl = server.command({"TTL", "ta-test:{" + tag + "}w"})->integer;
  CHECK(ttl > 89'000);  // the watermark lives as long as the older index did
  CHECK(ttl <= 90'000);
  CHECK(contract::must_rotate(svc, contract::must_issue(svc, "alice")).size() == token.size());
}

TEST_CASE_METHOD(redis_fixture, "redis: one script call (one round trip) per rotation") {
  if (!ready()) return;
  contract::manual_clock clock;
  const refresh_service svc(store(), contract::options(clock, 0));
  std::string t = contract::must_rotate(svc, contract::must_issue(svc, "alice"));  // scripts loaded
  REQUIRE(server.command({"CONFIG", "RESETSTAT"}));
  for (int i = 0; i < 10; ++i) t = contract::must_rotate(svc, t);
  auto info = server.command({"INFO", "commandstats"});
  REQUIRE(info);
  const std::string s(info->str, info->len);
  CHECK(s.find("cmdstat_evalsha:calls=10,") != std::string::npos);
  CHECK(s.find("cmdstat_eval:") == std::string::npos);
  // (commands the scripts run inside Redis are counted too, so they are not checked here)
}

TEST_CASE_METHOD(redis_fixture,
                 "redis: scripts flushed from the server are sent again (NOSCRIPT)") {
  if (!ready()) return;
  contract::manual_clock clock;
  const refresh_service svc(store(), contract::options(clock, 0));
  std::string t = contract::must_issue(svc, "alice");
  REQUIRE(server.command({"SCRIPT", "FLUSH"}));
  t = contract::must_rotate(svc, t);
  t = contract::must_rotate(svc, t);
  auto s = svc.sessions("alice");
  REQUIRE(s);
  CHECK(s->size() == 1);
}

TEST_CASE_METHOD(redis_fixture,
                 "redis: stopped mid-test -> store_unavailable, restarted -> the same store works",
                 "[restart]") {
  if (!ready()) return;
  contract::manual_clock clock;
  const refresh_service svc(store(), contract::options(clock, 0));
  std::string t = contract::must_issue(svc, "alice");
  t = contract::must_rotate(svc, t);
  server.stop();
  CHECK(svc.ping() == errc::store_unavailable);
  CHECK(svc.rotate(t).error() == errc::store_unavailable);
  CHECK(svc.issue("alice").error() == errc::store_unavailable);
  CHECK(svc.sessions("alice").error() == errc::store_unavailable);
  CHECK(svc.revoke_user("alice") == errc::store_unavailable);
  server.start();  // same port; the dump saved on shutdown is loaded
  CHECK(svc.ping() == std::error_code{});
  t = contract::must_rotate(svc, t);  // the same store object, stale pooled connections replaced
  auto s = svc.sessions("alice");
  REQUIRE(s);
  CHECK(s->size() == 1);
}

TEST_CASE_METHOD(
    redis_fixture,
    "redis: a hung server -> store_unavailable after the command timeout, then recovers",
    "[restart]") {
  if (!ready()) return;
  contract::manual_clock clock;
  const refresh_service svc(store(), contract::options(clock, 0));
  std::string t = contract::must_issue(svc, "alice");
  server.pause();  // accepts nothing, answers nothing: only the timeouts end the calls
  CHECK(svc.ping() == errc::store_unavailable);
  // Read-only calls, so the outcome stays known once the server resumes.
  CHECK(svc.sessions("alice").error() == errc::store_unavailable);
  CHECK(svc.sessions("bob").error() == errc::store_unavailable);
  server.resume();
  t = contract::must_rotate(svc, t);
  CHECK(contract::must_rotate(svc, t) != t);
}

TEST_CASE("redis: nothing listening -> store_unavailable, and construction never throws") {
  redis_options o;
  o.host = "127.0.0.1";
  o.port = 1;  // reserved, nothing listens there
  o.connect_timeout = std::chrono::milliseconds(200);
  auto store = std::make_shared<redis_store>(o);
  const refresh_service svc(store);
  CHECK(svc.issue("alice").error() == errc::store_unavailable);
  CHECK(svc.rotate("rt1." + std::string(32, 'A') + "." + std::string(43, 'A')).error() ==
        errc::store_unavailable);
  CHECK(svc.rotate("garbage").error() == errc::refresh_token_unknown);  // never reaches Redis
  CHECK(svc.ping() == errc::store_unavailable);
}

TEST_CASE("redis: password and database, a wrong password is store_unavailable") {
  tokenauth::test::redis_server server("s3cret:@/pw");
  if (!server.available()) return;
  auto url = redis_options::from_url(
      "redis://:s3cret%3A%40%2Fpw@127.0.0.1:" + std::to_string(server.port()) + "/3");
  REQUIRE(url);
  CHECK(url->password == "s3cret:@/pw");
  CHECK(url->db == 3);
  const refresh_service svc(std::make_shared<redis_store>(*url));
  auto t = svc.issue("alice");
  REQUIRE(t);
  CHECK(contract::must_rotate(svc, t->token) != t->token);
  const std::string f = "tokenauth:{" + t->family_id.substr(0, 8) + "}f:" + t->family_id;
  CHECK(server.command({"EXISTS", f}, 3)->integer == 1);
  CHECK(server.command({"EXISTS", f}, 0)->integer == 0);

  redis_options wrong = *url;
  wrong.password = "nope";
  CHECK(refresh_service(std::make_shared<redis_store>(wrong)).issue("alice").error() ==
        errc::store_unavailable);
}

TEST_CASE_METHOD(redis_fixture, "redis: key prefixes isolate deployments sharing one Redis") {
  if (!ready()) return;
  redis_options a = options_for(server), b = options_for(server);
  a.key_prefix = "app-a:";
  b.key_prefix = "app-b:";
  contract::manual_clock clock;
  const refresh_service sa(std::make_shared<redis_store>(a), contract::options(clock));
  const refresh_service sb(std::make_shared<redis_store>(b), contract::options(clock));
  auto t = sa.issue("alice");
  REQUIRE(t);
  CHECK(sb.rotate(t->token).error() == errc::refresh_token_unknown);
  CHECK(sb.sessions("alice")->empty());
  CHECK(sa.sessions("alice")->size() == 1);
}

TEST_CASE("redis_options::from_url") {
  auto o = redis_options::from_url("redis://cache.internal:6380");
  REQUIRE(o);
  CHECK(o->host == "cache.internal");
  CHECK(o->port == 6380);
  CHECK(o->password.empty());
  CHECK(o->db == 0);
  o = redis_options::from_url("redis://:pw@10.0.0.1:7000/12");
  REQUIRE(o);
  CHECK(o->host == "10.0.0.1");
  CHECK(o->port == 7000);
  CHECK(o->password == "pw");
  CHECK(o->db == 12);
  o = redis_options::from_url("redis://localhost");
  REQUIRE(o);
  CHECK(o->port == 6379);
  o = redis_options::from_url("redis://[::1]:6390/1");
  REQUIRE(o);
  CHECK(o->host == "::1");
  CHECK(o->port == 6390);
  for (const char* bad :
       {"", "http://h:1", "redis://", "redis://:6379", "redis://h:0", "redis://h:65536",
        "redis://h:x", "redis://h:1/x", "redis://h:1/", "redis://user:pw@h:1", "redis://:p%zz@h:1",
        "redis://:p%4@h:1", "redis://h:", "redis://[::1", "redis://h h:1", "redis://h:1:2"}) {
    CAPTURE(bad);
    CHECK(redis_options::from_url(bad).error() == std::errc::invalid_argument);
  }
}

TEST_CASE_METHOD(redis_fixture, "redis: eval_integer runs a caller's script on the store's node") {
  if (!ready()) return;
  const auto n = first->eval_integer("return redis.call('INCRBY', KEYS[1], ARGV[1])",
                                     {"ta-test:{extra}n"}, {"5"});
  REQUIRE(n);
  CHECK(*n == 5);
  CHECK(*first->eval_integer("return redis.call('INCRBY', KEYS[1], ARGV[1])", {"ta-test:{extra}n"},
                             {"2"}) == 7);
  // Keys of one hash tag may be many; the script is cached by source (EVALSHA after the first).
  CHECK(*first->eval_integer("return #KEYS", {"{extra}a", "{extra}b", "x{extra}"}, {}) == 3);
  // A reply that is no integer, and a script error, are store_unavailable.
  CHECK(first->eval_integer("return 'text'", {"{extra}a"}, {}).error() ==
        tokenauth::errc::store_unavailable);
  CHECK(first->eval_integer("return redis.call('NOSUCHCOMMAND')", {"{extra}a"}, {}).error() ==
        tokenauth::errc::store_unavailable);
  // No key, or keys of different slots: refused before Redis is asked.
  CHECK(first->eval_integer("return 1", {}, {}).error() == std::errc::invalid_argument);
  CHECK(first->eval_integer("return 1", {"{a}x", "{b}x"}, {}).error() ==
        std::errc::invalid_argument);
}

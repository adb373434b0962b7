// Login throttling: the token buckets (memory and Redis), the client address behind proxies, the
// per-address share of the password queue, and the whole app under a password-guessing attack,
// all on an injected clock.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "../support/redis_cluster.hpp"
#include "../support/redis_sentinel.hpp"
#include "server_fixture.hpp"
#include "throttle.hpp"
#include "tokenauth/detail/redis_slots.hpp"

using namespace tokenauth_server;
using tokenauth::unix_seconds;

namespace {

constexpr unix_seconds t0 = 1'800'000'000;

// The attempts a throttle lets through out of n, at one instant.
int passed(login_throttle& t, std::string_view account, std::string_view address, unix_seconds now,
           int n) {
  int ok = 0;
  for (int i = 0; i < n; ++i)
    ok += t.attempt(account, address, now).outcome == throttle_verdict::kind::allowed;
  return ok;
}

tokenauth::redis_options redis_options(const std::string& prefix) {
  tokenauth::redis_options o;
  o.host = "127.0.0.1";
  o.port = test_server::shared_redis().port();
  o.key_prefix = prefix;
  return o;
}

std::shared_ptr<tokenauth::redis_store> redis_store(const tokenauth::redis_options& o) {
  return std::make_shared<tokenauth::redis_store>(o);
}

std::string unique_prefix(const char* what) {
  static std::atomic<int> n{0};
  return std::string("throttle-test:") + std::to_string(::getpid()) + ":" + what + ":" +
         std::to_string(n++) + ":";
}

// The throttles under test: in memory and, when redis-server exists, in Redis.
std::vector<std::string> kinds() {
  if (test_server::shared_redis().available()) return {"memory", "redis"};
  return {"memory"};
}

std::unique_ptr<login_throttle> make(const std::string& kind, bucket_limits account,
                                     bucket_limits address) {
  if (kind == "memory") return make_memory_throttle(account, address);
  return make_redis_throttle(redis_store(redis_options(unique_prefix("unit"))), account, address);
}

// One request through app::handle, waiting for the worker's answer when there is one.
response call(app& a, const request& req) {
  std::promise<response> later;
  auto now = a.handle(req, [&](response r) { later.set_value(std::move(r)); });
  return now ? std::move(*now) : later.get_future().get();
}

struct login_request {
  std::string body;
  std::string address;
  request view() const {
    request r;
    r.method = "POST";
    r.target = "/auth/login";
    r.content_type = "application/json";
    r.client_address = address;
    r.body = body;
    return r;
  }
};

login_request login_as(const std::string& email, const std::string& password,
                       const std::string& address) {
  return {nlohmann::json{{"email", email}, {"password", password}}.dump(), address};
}

void join_user(app& a, const std::string& email, const std::string& nick) {
  request r;
  r.method = "POST";
  r.target = "/auth/join";
  r.content_type = "application/json";
  const std::string body = nlohmann::json{
      {"email", email},
      {"nick", nick},
      {"password", "correct horse"},
      {"name", nick}}.dump();
  r.body = body;
  REQUIRE(call(a, r).status == 201);
}

config throttled_config(unsigned per_account, unsigned per_address) {
  config c = test_server::test_config();
  c.login_rate_account = per_account;
  c.login_rate_address = per_address;
  c.bcrypt_queue_per_address = 8;
  return c;
}

}  // namespace

TEST_CASE("a bucket lets `burst` attempts through at once, then per_minute a minute") {
  const std::string kind = GENERATE(from_range(kinds()));
  INFO(kind);
  auto t = make(kind, {6, 6}, {});
  CHECK(passed(*t, "victim", "10.0.0.1", t0, 20) == 6);
  auto v = t->attempt("victim", "10.0.0.1", t0);
  CHECK(v.outcome == throttle_verdict::kind::throttled);
  CHECK(v.retry_after == 10);                               // one token every 60 / 6 s
  CHECK(passed(*t, "victim", "10.0.0.2", t0 + 9, 5) == 0);  // any address: the account is empty
  CHECK(passed(*t, "victim", "10.0.0.3", t0 + 10, 5) == 1);
  CHECK(passed(*t, "victim", "10.0.0.3", t0 + 40, 5) == 3);
  CHECK(passed(*t, "victim", "10.0.0.3", t0 + 40 + 3600, 50) == 6);  // full again, not more
  CHECK(passed(*t, "other", "10.0.0.1", t0, 20) == 6);               // accounts are separate
}

TEST_CASE("a success refills the account's bucket, and the address bucket is separate") {
  const std::string kind = GENERATE(from_range(kinds()));
  INFO(kind);
  auto t = make(kind, {3, 3}, {10, 10});
  CHECK(passed(*t, "ada", "10.0.0.1", t0, 5) == 3);
  t->succeeded("ada");
  CHECK(passed(*t, "ada", "10.0.0.1", t0, 5) == 3);
  // The address has spent 6 of its 10; 4 more over other accounts, then it is throttled
  // whatever the account.
  CHECK(passed(*t, "b", "10.0.0.1", t0, 3) == 3);
  CHECK(passed(*t, "c", "10.0.0.1", t0, 3) == 1);
  auto v = t->attempt("fresh", "10.0.0.1", t0);
  CHECK(v.outcome == throttle_verdict::kind::throttled);
  CHECK(v.retry_after == 6);
  // A refused attempt takes nothing: "fresh" still has its whole bucket for another address.
  CHECK(passed(*t, "fresh", "10.0.0.2", t0, 5) == 3);
}

TEST_CASE("per_minute 0 switches a bucket off") {
  const std::string kind = GENERATE(from_range(kinds()));
  auto t = make(kind, {}, {2, 2});
  CHECK(passed(*t, "a", "10.0.0.1", t0, 5) == 2);
  CHECK(passed(*t, "a", "10.0.0.2", t0, 5) == 2);
  auto off = make(kind, {}, {});
  CHECK(passed(*off, "a", "10.0.0.1", t0, 100) == 100);
}

TEST_CASE("the memory throttle remembers at most max_entries buckets") {
  auto t = make_memory_throttle({2, 2}, {}, 3);
  CHECK(passed(*t, "a", "x", t0, 5) == 2);
  for (const char* other : {"b", "c", "d"}) CHECK(passed(*t, other, "x", t0, 1) == 1);
  // "a" was the least recently used and is gone: a full bucket again (the bound's price).
  CHECK(passed(*t, "a", "x", t0, 5) == 2);
  CHECK(passed(*t, "d", "x", t0, 5) == 1);  // recently used: still remembered
}

TEST_CASE("Redis counters are shared by every instance on the same prefix") {
  if (!test_server::shared_redis().available()) return;
  const auto o = redis_options(unique_prefix("shared"));
  auto one = make_redis_throttle(redis_store(o), {4, 4}, {});
  auto two = make_redis_throttle(redis_store(o), {4, 4}, {});
  int ok = 0;
  for (int i = 0; i < 10; ++i) {
    ok += one->attempt("victim", "10.0.0.1", t0).outcome == throttle_verdict::kind::allowed;
    ok += two->attempt("victim", "10.0.0.2", t0).outcome == throttle_verdict::kind::allowed;
  }
  CHECK(ok == 4);
  two->succeeded("victim");
  CHECK(passed(*one, "victim", "10.0.0.1", t0, 10) == 4);
}

TEST_CASE("Redis unreachable: attempts are answered `unavailable`, not allowed") {
  tokenauth::redis_options o;
  o.host = "127.0.0.1";
  o.port = 1;
  o.connect_timeout = std::chrono::milliseconds(200);
  auto t = make_redis_throttle(redis_store(o), {4, 4}, {4, 4});
  CHECK(t->attempt("a", "10.0.0.1", t0).outcome == throttle_verdict::kind::unavailable);
  t->succeeded("a");  // no throw
}

TEST_CASE("account keys ignore ASCII case and hold no email") {
  CHECK(account_key("Ada@Example.com") == account_key("ada@example.com"));
  CHECK(account_key("ada@example.com") != account_key("bob@example.com"));
  CHECK(account_key("ada@example.com").size() == 64);
  CHECK(account_key("ada@example.com").find("ada") == std::string::npos);
}

TEST_CASE("the client address: the socket's, or X-Forwarded-For's behind a trusted proxy") {
  const std::vector<std::string> none, proxy{"10.0.0.9"}, chain{"10.0.0.9", "10.0.0.8"};
  // No trusted proxy: the header is the client's to forge, so it is ignored.
  CHECK(client_key("203.0.113.5", "198.51.100.1", none) == "203.0.113.5");
  // The peer is not the trusted proxy: ignored too.
  CHECK(client_key("203.0.113.5", "198.51.100.1", proxy) == "203.0.113.5");
  // Behind the proxy: the right-most address it appended; what the client put left of it is not
  // believed.
  CHECK(client_key("10.0.0.9", "198.51.100.1", proxy) == "198.51.100.1");
  CHECK(client_key("10.0.0.9", "1.1.1.1, 198.51.100.1", proxy) == "198.51.100.1");
  // Two trusted proxies in a row are skipped.
  CHECK(client_key("10.0.0.9", "1.1.1.1,198.51.100.1, 10.0.0.8", chain) == "198.51.100.1");
  // Garbage or nothing: the proxy's own view stands.
  CHECK(client_key("10.0.0.9", "", proxy) == "10.0.0.9");
  CHECK(client_key("10.0.0.9", "1.1.1.1, not-an-ip", proxy) == "10.0.0.9");
  // IPv6 counts per /64; IPv4-mapped IPv6 as IPv4.
  CHECK(client_key("2001:db8:1:2:aaaa::1", "", none) == "2001:db8:1:2::/64");
  CHECK(client_key("2001:db8:1:2:bbbb::7", "", none) == "2001:db8:1:2::/64");
  CHECK(client_key("2001:db8:1:3::1", "", none) != client_key("2001:db8:1:2::1", "", none));
  CHECK(client_key("::ffff:192.0.2.1", "", none) == "192.0.2.1");
}

TEST_CASE("address_share bounds each address's jobs in flight", "[tsan]") {
  address_share share(2);
  CHECK(share.try_enter("a"));
  CHECK(share.try_enter("a"));
  CHECK_FALSE(share.try_enter("a"));
  CHECK(share.try_enter("b"));
  share.leave("a");
  CHECK(share.try_enter("a"));
  CHECK_FALSE(share.try_enter("a"));
}

TEST_CASE("an attacker at full speed gets at most the configured guesses a minute on one account",
          "[tsan]") {
  const std::string kind = GENERATE(from_range(kinds()));
  INFO(kind);
  constexpr unsigned per_minute = 5;
  std::atomic<unix_seconds> now{t0};
  const std::string db = "/tmp/tokenauth-throttle-test-" + std::to_string(::getpid()) + ".db";
  std::remove(db.c_str());
  {
    app a(throttled_config(per_minute, 1000), test_server::make_store(kind),
          make_sqlite_user_store(db), [&] { return now.load(); });
    join_user(a, "victim@example.com", "victim");
    join_user(a, "other@example.com", "other");

    // Ten minutes; every second, 5 guesses on the victim, each from another address. Every 30 s,
    // the other user logs in from its own address and must get in.
    constexpr int seconds = 600, per_second = 5;
    int guesses = 0, throttled = 0, other_ok = 0, other_tries = 0;
    for (int second = 0; second < seconds; ++second) {
      now = t0 + second;
      for (int i = 0; i < per_second; ++i) {
        const auto r = call(a, login_as("victim@example.com", "guess" + std::to_string(i),
                                        "198.51.100." + std::to_string(second % 50 * 5 + i))
                                   .view());
        guesses += r.status == 401;
        throttled += r.status == 429;
      }
      if (second % 30 == 0) {
        ++other_tries;
        other_ok +=
            call(a, login_as("other@example.com", "correct horse", "192.0.2.7").view()).status ==
            200;
      }
    }
    // At most the burst plus per_minute for each minute: 5 + 5 * 10.
    CHECK(guesses <= static_cast<int>(per_minute * 11));
    CHECK(guesses >= static_cast<int>(per_minute * 10));  // and the throttle is not stuck shut
    CHECK(guesses + throttled == seconds * per_second);
    CHECK(other_ok == other_tries);
    std::printf(
        "throttle (%s): %d guesses of %d in 10 simulated minutes at %u/min; other user "
        "%d/%d logins\n",
        kind.c_str(), guesses, seconds * per_second, per_minute, other_ok, other_tries);

    // The 429 says how long to wait, in seconds, and JSON.
    now = now + 1;
    for (int i = 0; i < 10; ++i)
      (void)call(a, login_as("victim@example.com", "x", "198.51.100.1").view());
    const auto r = call(a, login_as("victim@example.com", "x", "198.51.100.1").view());
    REQUIRE(r.status == 429);
    CHECK(nlohmann::json::parse(r.body)["message"] == "Too many login attempts, try again later");
    bool has_retry_after = false;
    for (const auto& [name, value] : r.headers)
      if (name == "Retry-After") has_retry_after = std::stoi(value) >= 1 && std::stoi(value) <= 12;
    CHECK(has_retry_after);
    a.stop_workers();
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
}

TEST_CASE("one address guessing over many accounts is held to its own budget") {
  std::atomic<unix_seconds> now{t0};
  const std::string db = "/tmp/tokenauth-throttle-test-addr-" + std::to_string(::getpid()) + ".db";
  std::remove(db.c_str());
  {
    app a(throttled_config(1000, 6), std::make_shared<tokenauth::memory_store>(),
          make_sqlite_user_store(db), [&] { return now.load(); });
    int guesses = 0;
    for (int i = 0; i < 50; ++i)
      guesses +=
          call(a, login_as("user" + std::to_string(i) + "@example.com", "x", "203.0.113.9").view())
              .status == 401;
    CHECK(guesses == 6);
    // Another address is not affected.
    CHECK(call(a, login_as("user0@example.com", "x", "203.0.113.10").view()).status == 401);
    a.stop_workers();
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
}

// Two apps, each with its own store handle on `url`, share one login budget: 4 guesses a minute
// on an account, whichever instance they reach; a success on either refills it for both.
void check_shared_budget(const std::string& url) {
  auto o = tokenauth::redis_options::from_url(url);
  REQUIRE(o);
  o->key_prefix = unique_prefix("apps");
  std::atomic<unix_seconds> now{t0};
  const std::string db = "/tmp/tokenauth-throttle-test-two-" + std::to_string(::getpid()) + ".db";
  std::remove(db.c_str());
  {
    auto users = make_sqlite_user_store(db);
    app one(throttled_config(4, 1000), redis_store(*o), users, [&] { return now.load(); });
    app two(throttled_config(4, 1000), redis_store(*o), users, [&] { return now.load(); });
    join_user(one, "victim@example.com", "victim");
    int guesses = 0;
    for (int i = 0; i < 10; ++i) {
      guesses +=
          call(one, login_as("victim@example.com", "x", "198.51.100.1").view()).status == 401;
      guesses +=
          call(two, login_as("victim@example.com", "x", "198.51.100.2").view()).status == 401;
    }
    CHECK(guesses == 4);
    now = now + 15;  // one token back (4 a minute)
    CHECK(call(two, login_as("victim@example.com", "correct horse", "192.0.2.1").view()).status ==
          200);
    // The success refilled the bucket for both instances.
    guesses = 0;
    for (int i = 0; i < 6; ++i)
      guesses +=
          call(one, login_as("victim@example.com", "x", "198.51.100.1").view()).status == 401;
    CHECK(guesses == 4);
    one.stop_workers();
    two.stop_workers();
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
}

// With the store's Redis unreachable, a login is refused with the store's 503 (docs/server.md):
// never let through unthrottled, never a 500.
void check_login_refused_without_redis(const std::string& url) {
  auto o = tokenauth::redis_options::from_url(url);
  REQUIRE(o);
  o->connect_timeout = std::chrono::milliseconds(200);
  o->command_timeout = std::chrono::milliseconds(200);
  app a(throttled_config(4, 1000), redis_store(*o), make_memory_user_store(), [] { return t0; });
  const response r =
      call(a, login_as("victim@example.com", "correct horse", "198.51.100.1").view());
  CHECK(r.status == 503);
  const auto body = nlohmann::json::parse(r.body, nullptr, false);
  CHECK(body.value("message", "") == "Session store unavailable");
  a.stop_workers();
}

TEST_CASE("two instances on one Redis share the login counters") {
  if (!test_server::shared_redis().available()) return;
  check_shared_budget(test_server::shared_redis().url());
}

TEST_CASE("two instances on a Redis Cluster share the login counters", "[cluster]") {
  tokenauth::test::redis_cluster cluster;
  if (!cluster.available()) return;
  check_shared_budget(cluster.url());
  // Every bucket lies in the slot of the {throttle} tag, on the master that serves it.
  const auto keys = cluster.node(cluster.owner_of(tokenauth::detail::key_slot("{throttle}")))
                        .command({"KEYS", "*{throttle}*"});
  REQUIRE(keys);
  CHECK(keys->elements >= 1);
}

TEST_CASE("two instances on Redis Sentinel share the login counters", "[sentinel]") {
  tokenauth::test::redis_sentinel_setup sentinel;
  if (!sentinel.available()) return;
  check_shared_budget(sentinel.url());
}

TEST_CASE("Redis down on any topology: logins answer 503, never pass unthrottled") {
  check_login_refused_without_redis("redis://127.0.0.1:1");
  check_login_refused_without_redis("redis-cluster://127.0.0.1:1,127.0.0.1:2");
  check_login_refused_without_redis("redis-sentinel://127.0.0.1:1/nowhere");
}

// Users whose look-ups wait until the test opens the gate: keeps password jobs in flight.
class gated_users final : public user_store {
 public:
  tokenauth::result<create_status> create(user& u) override { return inner_->create(u); }
  tokenauth::result<std::optional<user>> find_by_email(std::string_view email) override {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
    return inner_->find_by_email(email);
  }
  tokenauth::result<std::optional<user>> find_by_id(std::string_view id) override {
    return inner_->find_by_id(id);
  }
  user_limits limits() const override { return inner_->limits(); }
  void wait_for(int n) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return waiting_ >= n; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::shared_ptr<user_store> inner_ = make_memory_user_store();
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

TEST_CASE("one address gets only its share of the password queue", "[tsan]") {
  auto cfg = throttled_config(0, 0);
  cfg.bcrypt_threads = 1;
  cfg.bcrypt_queue = 64;
  cfg.bcrypt_queue_per_address = 2;
  auto users = std::make_shared<gated_users>();
  app a(cfg, std::make_shared<tokenauth::memory_store>(), users);
  std::atomic<int> answered{0}, unauthorized{0};
  auto post = [&](const std::string& address) {
    const auto req = login_as("nobody@example.com", "x", address);
    return a.handle(req.view(), [&](const response& r) {  // on a pool thread: no CHECK here
      unauthorized += r.status == 401;
      ++answered;
    });
  };
  CHECK_FALSE(post("198.51.100.1"));  // running: waits at the gate
  users->wait_for(1);
  CHECK_FALSE(post("198.51.100.1"));  // queued
  auto third = post("198.51.100.1");
  REQUIRE(third);
  CHECK(third->status == 429);
  CHECK(nlohmann::json::parse(third->body)["message"] ==
        "Too many requests from this address, try again");
  CHECK_FALSE(post("198.51.100.2"));  // another address still gets in
  users->open();
  a.stop_workers();  // runs what was queued
  CHECK(answered == 3);
  CHECK(unauthorized == 3);
  // Once answered, the address has its whole share again.
  app b(cfg, std::make_shared<tokenauth::memory_store>(), make_memory_user_store());
  for (int i = 0; i < 3; ++i) {
    std::promise<response> later;
    const auto req = login_as("nobody@example.com", "x", "198.51.100.1");
    auto now = b.handle(req.view(), [&](response r) { later.set_value(std::move(r)); });
    CHECK(!now);
    CHECK(later.get_future().get().status == 401);
  }
  b.stop_workers();
}

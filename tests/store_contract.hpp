// The refresh_store contract (include/tokenauth/store.hpp; rotation and reuse detection as in
// RFC 9700 §4.14.2), run against every store. Include from a test file after defining
// TOKENAUTH_CONTRACT_FIXTURE as a class with:
//   bool ready();             // false = backend missing: skip (the fixture fails under CI=true)
//   std::shared_ptr<tokenauth::refresh_store> store();          // the store under test
//   std::shared_ptr<tokenauth::refresh_store> second_handle();  // another connection, same data
//   std::uint64_t work();     // grows with the records the store looks at (bounded-work tests)
//   std::size_t history_size();  // sessions of one user the bounded-work test builds
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tokenauth/refresh.hpp"

#ifndef TOKENAUTH_CONTRACT_FIXTURE
#error "define TOKENAUTH_CONTRACT_FIXTURE before including store_contract.hpp"
#endif

namespace contract {

using namespace tokenauth;

// A clock the test moves by hand, shared by every service of a test.
struct manual_clock {
  std::shared_ptr<std::atomic<unix_seconds>> now =
      std::make_shared<std::atomic<unix_seconds>>(1'700'000'000);
  clock_fn fn() const {
    return [n = now] { return n->load(); };
  }
  void advance(unix_seconds s) { *now += s; }
  unix_seconds get() const { return *now; }
};

inline refresh_options options(const manual_clock& c, unix_seconds grace = 5) {
  refresh_options o;
  o.clock = c.fn();
  o.grace = grace;
  return o;
}

inline std::error_code rotate_error(const refresh_service& s, const std::string& token) {
  const auto r = s.rotate(token);
  return r ? std::error_code{} : r.error();
}

inline std::string must_issue(const refresh_service& s, const std::string& user) {
  auto t = s.issue(user);
  REQUIRE(t);
  return t->token;
}

inline std::string must_rotate(const refresh_service& s, const std::string& token) {
  auto r = s.rotate(token);
  REQUIRE(r.error() == std::error_code{});
  REQUIRE(r->token);
  return *r->token;
}

inline std::string_view bytes_of(const token_digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

// Starts n threads that call f(i) at (nearly) the same moment.
template <class F>
void run_together(int n, F f) {
  std::mutex m;
  std::condition_variable cv;
  bool go = false;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      {
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return go; });
      }
      f(i);
    });
  {
    std::lock_guard<std::mutex> lock(m);
    go = true;
  }
  cv.notify_all();
  for (auto& t : threads) t.join();
}

}  // namespace contract

#define CONTRACT_CASE(name) \
  TEST_CASE_METHOD(TOKENAUTH_CONTRACT_FIXTURE, "contract: " name, "[contract]")
#define CONTRACT_CASE_TAGGED(name, tags) \
  TEST_CASE_METHOD(TOKENAUTH_CONTRACT_FIXTURE, "contract: " name, "[contract]" tags)
#define CONTRACT_READY() \
  if (!this->ready()) return

CONTRACT_CASE("ping answers and the store names itself with a fixed label") {
  CONTRACT_READY();
  using namespace contract;
  CHECK(this->store()->ping() == std::error_code{});
  const std::string_view name = this->store()->name();
  CHECK((name == "memory" || name == "sqlite" || name == "redis"));
  manual_clock clock;
  const refresh_service svc(this->store(), options(clock));
  CHECK(svc.ping() == std::error_code{});
  CHECK(svc.store().name() == name);
}

CONTRACT_CASE("a chain of 100 rotations, every rotated-out token is rejected") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  const refresh_service svc(this->store(), options(clock));
  auto first = svc.issue("alice");
  REQUIRE(first);
  std::vector<std::string> chain{first->token};
  for (int i = 0; i < 100; ++i) {
    clock.advance(10);  // beyond the grace window
    auto r = svc.rotate(chain.back());
    REQUIRE(r);
    CHECK(r->user_id == "alice");
    CHECK(r->family_id == first->family_id);
    REQUIRE(r->token);
    CHECK(r->expires_at == clock.get() + svc.options().token_ttl);
    chain.push_back(*r->token);
  }
  CHECK(std::set<std::string>(chain.begin(), chain.end()).size() == chain.size());
  const std::string newest = chain.back();
  chain.pop_back();
  clock.advance(10);
  // The first replay is reuse; it revokes the family, so every later one finds it revoked.
  CHECK(rotate_error(svc, chain[0]) == errc::refresh_reuse_detected);
  for (const auto& old : chain) {
    const auto ec = rotate_error(svc, old);
    CHECK(ec == errc::refresh_family_revoked);
  }
  CHECK(rotate_error(svc, newest) == errc::refresh_family_revoked);
}

CONTRACT_CASE("the newest token of a long chain works and the presented one is used up") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  const refresh_service svc(this->store(), options(clock, 0));
  std::string t = must_issue(svc, "alice");
  for (int i = 0; i < 100; ++i) t = must_rotate(svc, t);
  auto r = svc.rotate(t);
  REQUIRE(r);
  REQUIRE(r->token);
  CHECK(rotate_error(svc, t) == errc::refresh_reuse_detected);
}

CONTRACT_CASE("reuse after the grace window revokes the family, the newest token fails too") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  const refresh_service svc(this->store(), options(clock, 5));
  const std::string t0 = must_issue(svc, "alice");
  const std::string other = must_issue(svc, "alice");  // another session of the same user
  const std::string t1 = must_rotate(svc, t0);
  clock.advance(6);
  CHECK(rotate_error(svc, t0) == errc::refresh_reuse_detected);
  CHECK(rotate_error(svc, t1) == errc::refresh_family_revoked);
  CHECK(rotate_error(svc, t0) == errc::refresh_family_revoked);
  // Only the attacked family is revoked.
  auto s = svc.sessions("alice");
  REQUIRE(s);
  REQUIRE(s->size() == 1);
  CHECK(must_rotate(svc, other).size() == other.size());
}

CONTRACT_CASE("grace covers only the immediately previous token, only within the window") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  const refresh_service svc(this->store(), options(clock, 5));
  const std::string t0 = must_issue(svc, "alice");
  clock.advance(100);
  const std::string t1 = must_rotate(svc, t0);
  clock.advance(100);
  auto r2 = svc.rotate(t1);
  REQUIRE(r2);
  REQUIRE(r2->token);
  const std::string t2 = *r2->token;

  SECTION("previous token within the window: user id, no successor, nothing revoked") {
    clock.advance(4);
    auto g = svc.rotate(t1);
    REQUIRE(g);
    CHECK_FALSE(g->token);
    CHECK(g->user_id == "alice");
    CHECK(g->family_id == r2->family_id);
    CHECK(g->expires_at == r2->expires_at);
    auto again = svc.rotate(t1);  // a third concurrent request is still a replay
    REQUIRE(again);
    CHECK_FALSE(again->token);
    CHECK(must_rotate(svc, t2) != t2);
  }
  SECTION("the token before the previous one is reuse even within the window") {
    CHECK(rotate_error(svc, t0) == errc::refresh_reuse_detected);
    CHECK(rotate_error(svc, t2) == errc::refresh_family_revoked);
  }
  SECTION("the previous token at exactly rotated_at + grace is reuse") {
    clock.advance(5);
    CHECK(rotate_error(svc, t1) == errc::refresh_reuse_detected);
    CHECK(rotate_error(svc, t2) == errc::refresh_family_revoked);
  }
}

CONTRACT_CASE("grace 0 disables the window") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  const refresh_service svc(this->store(), options(clock, 0));
  const std::string t0 = must_issue(svc, "alice");
  const std::string t1 = must_rotate(svc, t0);
  CHECK(rotate_error(svc, t0) == errc::refresh_reuse_detected);
  CHECK(rotate_error(svc, t1) == errc::refresh_family_revoked);
}

CONTRACT_CASE_TAGGED("16 threads rotating one token: exactly one successor, 100 times",
                     "[concurrency]") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  for (const unix_seconds grace : {unix_seconds{5}, unix_seconds{0}}) {
    CAPTURE(grace);
    // Half of the threads go through a second connection to the same data.
    const refresh_service a(this->store(), options(clock, grace));
    const refresh_service b(this->second_handle(), options(clock, grace));
    for (int round = 0; round < 100; ++round) {
      const std::string token = must_issue(a, "alice");
      std::vector<result<rotation>> out(16, errc::store_unavailable);
      run_together(16, [&](int i) { out[i] = (i % 2 ? b : a).rotate(token); });
      int successors = 0, replays = 0, reuses = 0, revoked = 0;
      std::string successor;
      for (const auto& r : out) {
        if (r && r->token) {
          ++successors;
          successor = *r->token;
        } else if (r) {
          ++replays;
          CHECK(r->user_id == "alice");
        } else if (r.error() == errc::refresh_reuse_detected) {
          ++reuses;
        } else {
          CHECK(r.error() == errc::refresh_family_revoked);
          ++revoked;
        }
      }
      REQUIRE(successors == 1);
      if (grace > 0) {
        CHECK(replays == 15);
        CHECK(must_rotate(a, successor) != successor);  // the winner's successor is current
      } else {
        // The first loser detects reuse and revokes; losers after it see the family revoked.
        CHECK(reuses >= 1);
        CHECK(reuses + revoked == 15);
        CHECK(rotate_error(a, successor) == errc::refresh_family_revoked);
      }
    }
  }
}

CONTRACT_CASE_TAGGED("many families rotated concurrently stay independent", "[concurrency]") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  const refresh_service a(this->store(), options(clock, 0));
  const refresh_service b(this->second_handle(), options(clock, 0));
  std::atomic<int> failures{0};
  run_together(8, [&](int i) {
    const refresh_service& s = i % 2 ? b : a;
    const std::string user = "user" + std::to_string(i);
    auto t = s.issue(user);
    if (!t) return void(++failures);
    std::string token = t->token;
    for (int k = 0; k < 50; ++k) {
      auto r = s.rotate(token);
      if (!r || !r->token || r->user_id != user) return void(++failures);
      token = *r->token;
    }
  });
  CHECK(failures == 0);
}

CONTRACT_CASE("sliding token lifetime") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  refresh_options o = options(clock);
  o.token_ttl = 100;
  o.family_lifetime = 10'000;
  const refresh_service svc(this->store(), o);
  auto t = svc.issue("alice");
  REQUIRE(t);
  CHECK(t->expires_at == clock.get() + 100);
  clock.advance(99);
  auto r = svc.rotate(t->token);
  REQUIRE(r);
  REQUIRE(r->token);
  CHECK(r->expires_at == clock.get() + 100);
  clock.advance(99);
  const std::string t2 = must_rotate(svc, *r->token);
  clock.advance(100);  // idle for the whole lifetime: now == expires_at
  CHECK(rotate_error(svc, t2) == errc::refresh_token_expired);
  auto s = svc.sessions("alice");
  REQUIRE(s);
  CHECK(s->empty());
}

CONTRACT_CASE("absolute family lifetime caps a session however often it is used") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  refresh_options o = options(clock);
  o.token_ttl = 100;
  o.family_lifetime = 1000;
  const refresh_service svc(this->store(), o);
  auto t = svc.issue("alice");
  REQUIRE(t);
  const unix_seconds family_end = clock.get() + 1000;
  std::string token = t->token;
  while (clock.get() + 90 < family_end) {
    clock.advance(90);
    auto r = svc.rotate(token);
    REQUIRE(r);
    REQUIRE(r->token);
    CHECK(r->expires_at == std::min(clock.get() + 100, family_end));
    token = *r->token;
  }
  clock.advance(family_end - clock.get());
  CHECK(rotate_error(svc, token) == errc::refresh_token_expired);
}

CONTRACT_CASE("revoke (logout) ends only that session") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  const refresh_service svc(this->store(), options(clock));
  const std::string laptop = must_issue(svc, "alice");
  const std::string phone = must_issue(svc, "alice");
  const std::string laptop2 = must_rotate(svc, laptop);
  CHECK_FALSE(svc.revoke(laptop2));
  CHECK_FALSE(svc.revoke(laptop2));  // idempotent
  CHECK(rotate_error(svc, laptop2) == errc::refresh_family_revoked);
  CHECK(must_rotate(svc, phone) != phone);
  CHECK(svc.revoke("not a token") == errc::refresh_token_unknown);
}

CONTRACT_CASE("revoke_family by id, and a forged secret cannot revoke") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  const refresh_service svc(this->store(), options(clock));
  auto t = svc.issue("alice");
  REQUIRE(t);
  // Right family, wrong secret: not one of its tokens.
  std::string forged = t->token;
  forged[forged.size() - 2] = forged[forged.size() - 2] == 'A' ? 'B' : 'A';
  CHECK(svc.revoke(forged) == errc::refresh_token_unknown);
  CHECK(rotate_error(svc, forged) == errc::refresh_token_unknown);
  const std::string t2 = must_rotate(svc, t->token);  // still alive
  CHECK_FALSE(svc.revoke_family(t->family_id));
  CHECK(rotate_error(svc, t2) == errc::refresh_family_revoked);
  CHECK(svc.revoke_family("nope") == errc::refresh_token_unknown);
  std::string other_id = t->family_id;
  other_id.back() = other_id.back() == 'A' ? 'Q' : 'A';
  CHECK(svc.revoke_family(other_id) == errc::refresh_token_unknown);
}

CONTRACT_CASE("revoke_user logs a user out everywhere and nobody else") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  const refresh_service svc(this->store(), options(clock));
  std::vector<std::string> alice;
  alice.reserve(3);
  for (int i = 0; i < 3; ++i) alice.push_back(must_issue(svc, "alice"));
  alice[0] = must_rotate(svc, alice[0]);
  const std::string bob = must_issue(svc, "bob");
  CHECK_FALSE(svc.revoke_user("alice"));
  for (const auto& t : alice) CHECK(rotate_error(svc, t) == errc::refresh_family_revoked);
  auto s = svc.sessions("alice");
  REQUIRE(s);
  CHECK(s->empty());
  CHECK(must_rotate(svc, bob) != bob);
  CHECK_FALSE(svc.revoke_user("nobody"));
  CHECK(must_rotate(svc, must_issue(svc, "nobody")).size() == bob.size());  // not revoked by it
  // A new login after log-out-everywhere works.
  CHECK(must_rotate(svc, must_issue(svc, "alice")).size() == bob.size());
}

CONTRACT_CASE("sessions: one per login, with created, last used and expiry, oldest first") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  refresh_options o = options(clock);
  o.token_ttl = 1000;
  o.family_lifetime = 5000;
  const refresh_service svc(this->store(), o);
  const unix_seconds t0 = clock.get();
  auto a = svc.issue("alice");
  REQUIRE(a);
  clock.advance(10);
  auto b = svc.issue("alice");
  REQUIRE(b);
  auto gone = svc.issue("alice");
  REQUIRE(gone);
  CHECK_FALSE(svc.revoke_family(gone->family_id));
  clock.advance(10);
  REQUIRE(svc.rotate(a->token));
  auto s = svc.sessions("alice");
  REQUIRE(s);
  REQUIRE(s->size() == 2);
  CHECK((*s)[0].family_id == a->family_id);
  CHECK((*s)[0].created == t0);
  CHECK((*s)[0].last_used == t0 + 20);
  CHECK((*s)[0].expires_at == t0 + 20 + 1000);
  CHECK((*s)[1].family_id == b->family_id);
  CHECK((*s)[1].created == t0 + 10);
  CHECK((*s)[1].last_used == t0 + 10);
  CHECK((*s)[1].expires_at == t0 + 10 + 1000);
  auto none = svc.sessions("carol");
  REQUIRE(none);
  CHECK(none->empty());
}

CONTRACT_CASE("family cap: the oldest live family is revoked first") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  refresh_options o = options(clock);
  o.max_families_per_user = 2;
  const refresh_service svc(this->store(), o);
  const std::string first = must_issue(svc, "alice");
  const std::string second = must_issue(svc, "alice");  // same second: creation order decides
  const std::string bob = must_issue(svc, "bob");
  auto third = svc.issue("alice");
  REQUIRE(third);
  CHECK(rotate_error(svc, first) == errc::refresh_family_revoked);
  CHECK(must_rotate(svc, second) != second);
  CHECK(must_rotate(svc, third->token) != third->token);
  CHECK(must_rotate(svc, bob) != bob);
  auto s = svc.sessions("alice");
  REQUIRE(s);
  REQUIRE(s->size() == 2);
  CHECK((*s)[1].family_id == third->family_id);
  // A revoked family does not count towards the cap.
  CHECK_FALSE(svc.revoke_family(third->family_id));
  REQUIRE(svc.issue("alice"));
  auto s2 = svc.sessions("alice");
  REQUIRE(s2);
  CHECK(s2->size() == 2);
}

CONTRACT_CASE("a token of one user never yields another user") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  const refresh_service svc(this->store(), options(clock, 0));
  auto a = svc.issue("alice");
  auto b = svc.issue("bob");
  REQUIRE(a);
  REQUIRE(b);
  std::string ta = a->token, tb = b->token;
  for (int i = 0; i < 20; ++i) {
    auto ra = svc.rotate(ta);
    auto rb = svc.rotate(tb);
    REQUIRE(ra);
    REQUIRE(rb);
    CHECK(ra->user_id == "alice");
    CHECK(rb->user_id == "bob");
    ta = *ra->token;
    tb = *rb->token;
  }
  // Alice's family id with Bob's secret (and the reverse) names no token.
  const std::size_t cut = ta.rfind('.');
  CHECK(rotate_error(svc, ta.substr(0, cut) + tb.substr(cut)) == errc::refresh_token_unknown);
  CHECK(rotate_error(svc, tb.substr(0, cut) + ta.substr(cut)) == errc::refresh_token_unknown);
  CHECK(svc.rotate(ta)->user_id == "alice");
}

CONTRACT_CASE("garbage tokens of every shape are unknown and harm nothing") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  const refresh_service svc(this->store(), options(clock, 0));
  auto real = svc.issue("alice");
  REQUIRE(real);
  const std::string& t = real->token;
  std::vector<std::string> garbage{
      "",
      "rt1.",
      ".",
      "..",
      "rt1..",
      std::string(80, 'A'),
      std::string(1 << 20, 'x'),
      "rt1." + std::string(32, 'A') + "." + std::string(43, 'A'),  // well formed, never issued
      "rt2" + t.substr(3),
      "RT1" + t.substr(3),
      t.substr(0, t.size() - 1),
      t + "A",
      t + "=",
      " " + t,
      t.substr(0, 36) + "!" + t.substr(37),
      std::string("rt1.\0\0", 6),
      std::string(t).replace(10, 1, "+"),
      std::string(t).replace(50, 1, "/"),
      std::string(t).replace(36, 1, "_"),
      std::string(t).replace(t.size() - 1, 1, "\xff"),
      "rt1.\xc3\xa9\xc3\xa9",
      "Bearer " + t,
      "rt1.%00"};
  // The last character of a 43-char secret carries 2 unused bits: a non-canonical twin.
  std::string twin = t;
  twin.back() = detail::base64url_alphabet[(
      detail::base64url_decode_table[static_cast<unsigned char>(t.back())] | 1)];
  if (twin != t) garbage.push_back(twin);
  for (const auto& g : garbage) {
    CAPTURE(g.substr(0, 100));
    CHECK(rotate_error(svc, g) == errc::refresh_token_unknown);
    CHECK(svc.revoke(g) == errc::refresh_token_unknown);
  }
  for (const auto& id : {std::string(), std::string(32, '.'), std::string(1000, 'A'),
                         real->family_id + "x", std::string("\0", 1)})
    CHECK(svc.revoke_family(id) == errc::refresh_token_unknown);
  auto s = svc.sessions(std::string(5000, '\0'));
  REQUIRE(s);
  CHECK(s->empty());
  CHECK(must_rotate(svc, t) != t);  // nothing above touched the real session
}

CONTRACT_CASE("user ids are opaque bytes: braces, colons, NULs, long ids") {
  CONTRACT_READY();
  using namespace contract;
  manual_clock clock;
  const refresh_service svc(this->store(), options(clock, 0));
  for (const std::string& user : {std::string("{a}:b"), std::string("a\0b", 3), std::string("a"),
                                  std::string(3000, 'u'), std::string("\xe2\x82\xac")}) {
    auto t = svc.issue(user);
    REQUIRE(t);
    auto r = svc.rotate(t->token);
    REQUIRE(r);
    CHECK(r->user_id == user);
    auto s = svc.sessions(user);
    REQUIRE(s);
    CHECK(s->size() == 1);
  }
  CHECK(svc.issue("").error() == std::errc::invalid_argument);
}

namespace contract {

// A user's history, oldest first: `live` sessions from before any cap, then `logged_out` ended
// by logout, then `idle` ended by expiry (unrevoked: the hardest kind to skip). Returns the
// tokens of the live ones.
inline std::vector<std::string> make_history(const std::shared_ptr<refresh_store>& store,
                                             manual_clock& clock, const std::string& user,
                                             std::size_t live, std::size_t logged_out,
                                             std::size_t idle) {
  refresh_options keep = options(clock);  // no cap
  keep.token_ttl = 1'000'000;
  keep.family_lifetime = 1'000'000;
  refresh_options brief = keep;
  brief.token_ttl = 10;
  const refresh_service lasting(store, keep), short_lived(store, brief);
  std::vector<std::string> tokens;
  tokens.reserve(live);
  for (std::size_t i = 0; i < live; ++i) tokens.push_back(must_issue(lasting, user));
  for (std::size_t i = 0; i < logged_out; ++i)
    REQUIRE_FALSE(lasting.revoke(must_issue(lasting, user)));
  for (std::size_t i = 0; i < idle; ++i) must_issue(short_lived, user);
  clock.advance(20);  // the idle ones end
  return tokens;
}

}  // namespace contract

// Each fixture says how it measures work (work(): a counter that grows with the records a call
// looks at) and how long a history it can build in a test's time (history_size(): 20k live and
// 20k ended where building it is cheap; the work of a login depends on the history's shape, which
// the small history already has, not on its length).
CONTRACT_CASE(
    "bounded work: a login costs no more with 20k live and 20k ended sessions behind it") {
  CONTRACT_READY();
  using namespace contract;
  constexpr std::size_t cap = 100;
  manual_clock clock;
  refresh_options capped = options(clock);
  capped.token_ttl = 1'000'000;
  capped.family_lifetime = 1'000'000;
  capped.max_families_per_user = cap;
  const refresh_service svc(this->store(), capped);
  const auto login_work = [&](const std::string& user) {
    const std::uint64_t before = this->work();
    REQUIRE(svc.issue(user));
    return this->work() - before;
  };

  // The same shape at a small scale: more live and ended sessions than one login may examine.
  const std::size_t w = cap + index_prune_budget;
  make_history(this->store(), clock, "small", 2 * w, w, 2 * w);
  const std::uint64_t small = login_work("small");
  CAPTURE(small);
  REQUIRE(small > 0);

  const std::size_t n = this->history_size();
  std::vector<std::string> old = make_history(this->store(), clock, "big", n, n / 2, n / 2);
  // Every login does the same bounded work however long the history: at most what the small
  // history costs (plus slack for one index level more), not a hundred times that.
  std::size_t logins = 0;
  for (;;) {
    const std::uint64_t work = login_work("big");
    CAPTURE(logins, work);
    CHECK(work <= small + small / 2);
    ++logins;
    // The oldest session is the first the cap revokes (a rotation keeps its place).
    auto probe = svc.rotate(old.front());
    if (!probe) {
      REQUIRE(probe.error() == errc::refresh_family_revoked);
      break;
    }
    old.front() = *probe->token;
    // The cap applies once the newest entries are no longer ended ones; until then each login
    // drops at least index_prune_budget of them (it stops early only after cap live ones).
    REQUIRE(logins <= (n / 2) / index_prune_budget + 2);
  }
  auto listed = svc.sessions("big");
  REQUIRE(listed);
  CHECK(listed->size() == cap);
  // Oldest revoked first: the live sessions from before the cap that remain are the newest.
  const std::size_t kept = cap - logins;
  CHECK(rotate_error(svc, old.front()) == errc::refresh_family_revoked);
  CHECK(rotate_error(svc, old[n - kept - 1]) == errc::refresh_family_revoked);
  CHECK(must_rotate(svc, old[n - kept]) != old[n - kept]);
  CHECK(must_rotate(svc, old.back()) != old.back());

  // Listing and logging out everywhere stay bounded too.
  std::uint64_t before = this->work();
  REQUIRE(svc.sessions("big"));
  CHECK(this->work() - before <= small);
  before = this->work();
  CHECK_FALSE(svc.revoke_user("big"));
  CHECK(this->work() - before <= small);
  auto s = svc.sessions("big");
  REQUIRE(s);
  CHECK(s->empty());
  CHECK(rotate_error(svc, old.back()) == errc::refresh_family_revoked);
  // The next login after logging out everywhere is a fresh start, and bounded.
  CHECK(login_work("big") <= small + small / 2);
  CHECK(svc.sessions("big")->size() == 1);
}

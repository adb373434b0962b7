// verify_cache.hpp: the bounded, sharded table of verified tokens, and the cached verify.
#include "tokenauth/verify_cache.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tokenauth/jwk.hpp"

using namespace tokenauth;

namespace {

constexpr unix_seconds now = 1'700'000'000;
using table = detail::verified_token_table<std::string>;

token_digest digest(std::string_view token) {
  return detail::sha256(token);
}

verify_cache_options bounds(std::size_t entries, std::size_t bytes, std::size_t shards) {
  verify_cache_options o;
  o.max_entries = entries;
  o.max_bytes = bytes;
  o.shards = shards;
  return o;
}

}  // namespace

TEST_CASE("table: an inserted token is found with its key id, others miss") {
  table t(bounds(100, 1 << 20, 4));
  t.insert(digest("a"), "claims of a", 7, now + 60, 11, now);
  const auto hit = t.find(digest("a"), now);
  REQUIRE(hit);
  CHECK(hit->value == "claims of a");
  CHECK(hit->key_id == 7);
  CHECK_FALSE(t.find(digest("b"), now));
  const auto s = t.stats();
  CHECK(s.hits == 1);
  CHECK(s.misses == 1);
  CHECK(s.inserts == 1);
  CHECK(s.entries == 1);
}

TEST_CASE("table: an entry dies at its expiry and is removed when met") {
  table t(bounds(100, 1 << 20, 4));
  t.insert(digest("a"), "x", 1, now + 10, 1, now);
  CHECK(t.find(digest("a"), now + 9));
  CHECK_FALSE(t.find(digest("a"), now + 10));
  const auto s = t.stats();
  CHECK(s.expired == 1);
  CHECK(s.entries == 0);
  CHECK(s.bytes == 0);
}

TEST_CASE("table: an already expired entry is not stored") {
  table t(bounds(100, 1 << 20, 4));
  t.insert(digest("a"), "x", 1, now, 1, now);
  t.insert(digest("b"), "x", 1, now - 5, 1, now);
  CHECK(t.stats().entries == 0);
  CHECK(t.stats().inserts == 0);
}

TEST_CASE("table: the entry bound holds under many inserts") {
  table t(bounds(64, 1 << 30, 4));
  for (int i = 0; i < 1000; ++i) t.insert(digest(std::to_string(i)), "v", 1, now + 60, 1, now);
  const auto s = t.stats();
  CHECK(s.entries <= 64);
  CHECK(s.entries >= 60);  // every shard full or nearly (SHA-256 spreads the keys)
  CHECK(s.inserts == 1000);
  CHECK(s.evictions == 1000 - s.entries);
  // The last insert is always present: eviction makes room, it never refuses a new entry.
  CHECK(t.find(digest("999"), now));
}

TEST_CASE("table: the byte bound holds, counting the values' heap") {
  const std::size_t max_bytes = 64 * 1024;
  table t(bounds(1'000'000, max_bytes, 4));
  for (int i = 0; i < 2000; ++i)
    t.insert(digest(std::to_string(i)), std::string(500, 'v'), 1, now + 60, 500, now);
  const auto s = t.stats();
  CHECK(s.bytes <= max_bytes);
  CHECK(s.bytes > max_bytes / 2);
  CHECK(s.entries < max_bytes / 500);
  CHECK(s.entries > 0);
  CHECK(s.evictions == 2000 - s.entries);
}

TEST_CASE("table: an entry larger than a shard's byte budget is not stored") {
  table t(bounds(100, 4 * 4096, 4));  // 4096 bytes per shard
  t.insert(digest("big"), "x", 1, now + 60, 5000, now);
  CHECK_FALSE(t.find(digest("big"), now));
  CHECK(t.stats().entries == 0);
}

TEST_CASE("table: least recently used goes first") {
  table t(bounds(3, 1 << 20, 1));
  t.insert(digest("a"), "a", 1, now + 60, 1, now);
  t.insert(digest("b"), "b", 1, now + 60, 1, now);
  t.insert(digest("c"), "c", 1, now + 60, 1, now);
  REQUIRE(t.find(digest("a"), now));  // a is now the most recent; b the least
  t.insert(digest("d"), "d", 1, now + 60, 1, now);
  CHECK(t.find(digest("a"), now));
  CHECK_FALSE(t.find(digest("b"), now));
  CHECK(t.find(digest("c"), now));
  CHECK(t.find(digest("d"), now));
}

TEST_CASE("table: replacing an entry keeps one copy and its bytes once") {
  table t(bounds(10, 1 << 20, 1));
  t.insert(digest("a"), "old", 1, now + 60, 100, now);
  const std::size_t one = t.stats().bytes;
  t.insert(digest("a"), "new", 2, now + 60, 100, now);
  const auto s = t.stats();
  CHECK(s.entries == 1);
  CHECK(s.bytes == one);
  const auto hit = t.find(digest("a"), now);
  REQUIRE(hit);
  CHECK(hit->value == "new");
  CHECK(hit->key_id == 2);
}

TEST_CASE("table: erase removes only an entry of the given key") {
  table t(bounds(10, 1 << 20, 1));
  t.insert(digest("a"), "a", 1, now + 60, 1, now);
  t.erase(digest("a"), 2);  // verified by key 1, not 2: kept
  CHECK(t.find(digest("a"), now));
  t.erase(digest("a"), 1);
  CHECK_FALSE(t.find(digest("a"), now));
  t.erase(digest("absent"), 1);
  CHECK(t.stats().dropped == 1);
  CHECK(t.stats().bytes == 0);
}

TEST_CASE("table: clear empties every shard") {
  table t(bounds(100, 1 << 20, 8));
  for (int i = 0; i < 50; ++i) t.insert(digest(std::to_string(i)), "v", 1, now + 60, 1, now);
  t.clear();
  CHECK(t.stats().entries == 0);
  CHECK(t.stats().bytes == 0);
  CHECK_FALSE(t.find(digest("1"), now));
}

TEST_CASE("table: bounds of zero are rejected, more shards than entries is reduced") {
  CHECK_THROWS_AS(table(bounds(0, 1024, 4)), std::invalid_argument);
  CHECK_THROWS_AS(table(bounds(10, 0, 4)), std::invalid_argument);
  table t(bounds(2, 1 << 20, 16));
  for (int i = 0; i < 10; ++i) t.insert(digest(std::to_string(i)), "v", 1, now + 60, 1, now);
  CHECK(t.stats().entries == 2);
}

TEST_CASE("table: 8 threads find, insert and erase at once, bounds hold") {
  table t(bounds(256, 1 << 20, 8));
  std::atomic<int> wrong{0};
  std::atomic<int> finds{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  // 400 tokens swept in a cycle overflow the 256 entries, so LRU alone may never hit (it does
  // not when the threads run in lockstep); each miss is therefore looked up again right after
  // its insert, which hits unless the other threads evicted it in between.
  for (int n = 0; n < 8; ++n)
    threads.emplace_back([&, n] {
      const auto check = [&](const std::optional<table::found>& hit, const std::string& token) {
        ++finds;
        if (hit && hit->value != token) ++wrong;
        return hit.has_value();
      };
      for (int i = 0; i < 2000; ++i) {
        const std::string token = std::to_string((i * 7 + n) % 400);
        const token_digest d = digest(token);
        if (!check(t.find(d, now), token)) {
          t.insert(d, token, 1, now + 60, token.size(), now);
          check(t.find(d, now), token);
        }
        if (i % 97 == 0) t.erase(d, 1);
      }
    });
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
  const auto s = t.stats();
  CHECK(s.entries <= 256);
  CHECK(s.hits + s.misses == static_cast<std::uint64_t>(finds));
  CHECK(s.evictions > 0);
  CHECK(s.hits > 0);
}

// ---------------------------------------------------------------------------------------------
// verify_cache::verify

namespace {

// A clock tests move by hand; shared by signer, verifier and cache.
struct test_clock {
  std::shared_ptr<std::atomic<unix_seconds>> t = std::make_shared<std::atomic<unix_seconds>>(now);
  clock_fn fn() const {
    return [t = t] { return t->load(); };
  }
  void set(unix_seconds s) const { t->store(s); }
};

const key& key_a() {
  static const key k(hmac_key(std::string(32, 'a')));
  return k;
}
const key& key_b() {
  static const key k(hmac_key(std::string(32, 'b')));
  return k;
}

std::string token_for(const key& k, const std::string& sub, const test_clock& clock,
                      const std::string& kid = "k1", unix_seconds ttl = 600) {
  signer_options o;
  o.ttl = ttl;
  o.clock = clock.fn();
  o.kid = kid;
  return signer(k, o).sign(claim_set().set("sub", sub));
}

verify_options options_at(const test_clock& clock) {
  verify_options o;
  o.clock = clock.fn();
  return o;
}

verifier verifier_with(const std::string& kid, const key& k, const test_clock& clock,
                       verify_options o = {}) {
  o.clock = clock.fn();
  key_set keys;
  keys.add(kid, k);
  return verifier(keys, o);
}

verify_cache cache_at(const test_clock& clock, std::size_t entries = 1000,
                      std::size_t bytes = 1 << 20) {
  verify_cache_options o = bounds(entries, bytes, 4);
  o.clock = clock.fn();
  return verify_cache(o);
}

}  // namespace

TEST_CASE("cache: a repeated token is a hit with the same claims (HS256)") {
  const test_clock clock;
  const verifier v = verifier_with("k1", key_a(), clock);
  const verify_cache cache = cache_at(clock);
  const std::string token = token_for(key_a(), "alice", clock);
  const auto first = cache.verify(v, token);
  const auto second = cache.verify(v, token);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(second->sub() == "alice");
  CHECK(second->json_text() == first->json_text());
  CHECK(second->kid() == "k1");
  const auto s = cache.stats();
  CHECK(s.inserts == 1);
  CHECK(s.hits == 1);
  CHECK(s.misses == 1);
}

TEST_CASE("cache: failures are returned as the verifier gives them and never inserted") {
  const test_clock clock;
  const verifier v = verifier_with("k1", key_a(), clock);
  const verify_cache cache = cache_at(clock);
  const std::string forged = token_for(key_b(), "mallory", clock);
  for (int i = 0; i < 3; ++i) CHECK(cache.verify(v, forged).error() == errc::invalid_signature);
  CHECK(cache.verify(v, "").error() == errc::token_missing);
  CHECK(cache.verify(v, "a.b").error() == errc::malformed);
  CHECK(cache.stats().inserts == 0);
  CHECK(cache.stats().entries == 0);
}

TEST_CASE("cache: exp and nbf are checked on every hit, by the calling verifier") {
  const test_clock clock;
  const verify_cache cache = cache_at(clock);
  const std::string token = token_for(key_a(), "alice", clock, "k1", 60);
  verify_options lenient;
  lenient.leeway = 30;
  const verifier v = verifier_with("k1", key_a(), clock, lenient);
  REQUIRE(cache.verify(v, token));

  // The same entry, seen by a verifier that wants another issuer: refused on the hit.
  verify_options strict;
  strict.issuer = "https://idp.example";
  const verifier picky = verifier_with("k1", key_a(), clock, strict);
  CHECK(cache.verify(picky, token).error() == errc::issuer_invalid);
  CHECK(cache.stats().hits == 1);

  // The verifier's clock is ahead of the cache's: the hit still fails on exp.
  test_clock later;
  later.set(now + 100);
  const verifier v_later = verifier_with("k1", key_a(), later, lenient);
  CHECK(cache.verify(v_later, token).error() == errc::expired);
  CHECK(cache.stats().hits == 2);

  // nbf 20 s ahead: accepted and cached by the lenient verifier, not yet active for a strict one.
  signer_options so;
  so.clock = clock.fn();
  so.kid = "k1";
  const std::string early = signer(key_a(), so).sign(claim_set().set("nbf", now + 20));
  REQUIRE(cache.verify(v, early));
  const verifier no_leeway = verifier_with("k1", key_a(), clock);
  CHECK(cache.verify(no_leeway, early).error() == errc::not_active);
  CHECK(cache.stats().hits == 3);
  clock.set(now + 20);
  CHECK(cache.verify(no_leeway, early));
  CHECK(cache.stats().hits == 4);
}

TEST_CASE("cache: an entry dies at the token's exp, and in the leeway window it is verified anew") {
  const test_clock clock;
  const verify_cache cache = cache_at(clock);
  verify_options o;
  o.leeway = 30;
  const verifier v = verifier_with("k1", key_a(), clock, o);
  const std::string token = token_for(key_a(), "alice", clock, "k1", 60);
  REQUIRE(cache.verify(v, token));
  clock.set(now + 59);
  REQUIRE(cache.verify(v, token));
  CHECK(cache.stats().hits == 1);
  clock.set(now + 60);  // exp: the entry is gone, the full verify accepts it within leeway
  REQUIRE(cache.verify(v, token));
  auto s = cache.stats();
  CHECK(s.expired == 1);
  CHECK(s.inserts == 1);  // not inserted again: it is past its exp
  CHECK(s.entries == 0);
  clock.set(now + 90);
  CHECK(cache.verify(v, token).error() == errc::expired);
}

TEST_CASE("cache: removing or replacing the key invalidates what it verified") {
  const test_clock clock;
  const verify_cache cache = cache_at(clock);
  const std::string token = token_for(key_a(), "alice", clock, "k1");
  REQUIRE(cache.verify(verifier_with("k1", key_a(), clock), token));

  // A new key set with the same key (the same key object, copied) keeps the entry.
  key_set rotated;
  rotated.add("k1", key_a()).add("k2", key_b());
  REQUIRE(cache.verify(verifier(rotated, options_at(clock)), token));
  CHECK(cache.stats().hits == 1);

  // k1 now names another key: the entry is dropped and the full verify refuses the token.
  CHECK(cache.verify(verifier_with("k1", key_b(), clock), token).error() ==
        errc::invalid_signature);
  CHECK(cache.stats().dropped == 1);
  CHECK(cache.stats().entries == 0);

  // k1 removed: unknown kid, from the full verify.
  REQUIRE(cache.verify(verifier_with("k1", key_a(), clock), token));
  CHECK(cache.verify(verifier_with("k2", key_b(), clock), token).error() == errc::unknown_kid);
  CHECK(cache.stats().dropped == 2);

  // Even a key made from the same secret is another key: cached results do not carry over.
  REQUIRE(cache.verify(verifier_with("k1", key_a(), clock), token));
  const key same_secret(hmac_key(std::string(32, 'a')));
  REQUIRE(cache.verify(verifier_with("k1", same_secret, clock), token));
  CHECK(cache.stats().dropped == 3);
}

TEST_CASE("cache: a flood of 100k distinct invalid tokens evicts nothing") {
  const test_clock clock;
  const verifier v = verifier_with("k1", key_a(), clock);
  const verify_cache cache = cache_at(clock, 1000);  // room for the valid ones, not the flood
  std::vector<std::string> valid;
  for (int i = 0; i < 100; ++i) {
    valid.push_back(token_for(key_a(), "user" + std::to_string(i), clock));
    REQUIRE(cache.verify(v, valid.back()));
  }
  const std::string base = token_for(key_b(), "mallory", clock);
  for (int i = 0; i < 100'000; ++i) {
    // Distinct tokens with a wrong signature: three signature characters count i in base 64.
    std::string forged = base;
    for (std::size_t digit = 0; digit < 3; ++digit)
      forged[forged.size() - 2 - digit] = detail::base64url_alphabet[(i >> (6 * digit)) & 63];
    REQUIRE_FALSE(cache.verify(v, forged));
  }
  const auto before = cache.stats();
  CHECK(before.inserts == 100);
  CHECK(before.evictions == 0);
  for (const auto& t : valid) REQUIRE(cache.verify(v, t));
  const auto after = cache.stats();
  CHECK(after.hits - before.hits == 100);
  CHECK(after.inserts == 100);
}

TEST_CASE("cache: valid tokens beyond the bounds evict the least recently used") {
  const test_clock clock;
  const verifier v = verifier_with("k1", key_a(), clock);
  const verify_cache cache = cache_at(clock, 64);
  for (int i = 0; i < 1000; ++i) {
    const auto c = cache.verify(v, token_for(key_a(), "user" + std::to_string(i), clock));
    REQUIRE(c);
    CHECK(c->sub() == "user" + std::to_string(i));
  }
  const auto s = cache.stats();
  CHECK(s.entries <= 64);
  CHECK(s.evictions == 1000 - s.entries);
}

TEST_CASE("cache: the byte bound counts the claims held") {
  const test_clock clock;
  const verifier v = verifier_with("k1", key_a(), clock);
  const std::size_t max_bytes = 32 * 1024;
  const verify_cache cache = cache_at(clock, 100'000, max_bytes);
  const std::string padding(1000, 'p');
  std::size_t payload_bytes = 0;
  for (int i = 0; i < 200; ++i) {
    signer_options o;
    o.clock = clock.fn();
    o.kid = "k1";
    const std::string t =
        signer(key_a(), o).sign(claim_set().set("sub", std::to_string(i)).set("pad", padding));
    const auto c = cache.verify(v, t);
    REQUIRE(c);
    payload_bytes = c->json_text().size();
  }
  const auto s = cache.stats();
  CHECK(s.bytes <= max_bytes);
  CHECK(s.entries * payload_bytes <= max_bytes);
  CHECK(s.entries >= 4);  // each shard holds at least one
}

TEST_CASE("cache: tokens over max_token_size go straight to the verifier") {
  const test_clock clock;
  verify_cache_options o;
  o.clock = clock.fn();
  o.max_token_size = 64;
  const verify_cache cache(o);
  const verifier v = verifier_with("k1", key_a(), clock);
  const std::string token = token_for(key_a(), "alice", clock);
  REQUIRE(token.size() > 64);
  REQUIRE(cache.verify(v, token));
  REQUIRE(cache.verify(v, token));
  CHECK(cache.stats().inserts == 0);
  CHECK(cache.stats().hits + cache.stats().misses == 0);
}

TEST_CASE("cache: 8 threads verify, hit and insert at once") {
  const test_clock clock;
  const verifier v = verifier_with("k1", key_a(), clock);
  const verify_cache cache = cache_at(clock, 150);  // smaller than the pool: evictions too
  std::vector<std::string> tokens;
  tokens.reserve(200);
  for (int i = 0; i < 200; ++i) tokens.push_back(token_for(key_a(), std::to_string(i), clock));
  const std::string forged = token_for(key_b(), "x", clock);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int n = 0; n < 8; ++n)
    threads.emplace_back([&, n] {
      for (int i = 0; i < 1500; ++i) {
        const int pick = (i * 13 + n * 7) % 200;
        const auto c = cache.verify(v, tokens[pick]);
        if (!c || c->sub() != std::to_string(pick)) ++wrong;
        if (i % 50 == 0 && cache.verify(v, forged)) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(wrong == 0);
  const auto s = cache.stats();
  CHECK(s.hits > 0);
  CHECK(s.entries <= 150);
  CHECK(s.hits + s.misses == 8 * (1500 + 30));
}

TEST_CASE("cache: a JWKS refresh keeps the entries of unchanged keys with reuse_unchanged_keys") {
  const test_clock clock;
  std::ifstream in(std::string(TOKENAUTH_VECTORS_DIR) + "/jwk/rfc8037-a1.json");
  const key ed = parse_jwk(std::string(std::istreambuf_iterator<char>(in), {})).value();
  key_set published;
  published.add("ed", ed.public_key());
  const std::string jwks_text = to_jwks(published);
  verify_options o = options_at(clock);
  o.algorithms = {algorithm::eddsa};
  const key_set first = parse_jwks(jwks_text).value().keys;
  const verify_cache cache = cache_at(clock);
  const std::string token = token_for(ed, "alice", clock, "ed");
  REQUIRE(cache.verify(verifier(first, o), token));

  const key_set refreshed = reuse_unchanged_keys(first, parse_jwks(jwks_text).value().keys);
  REQUIRE(cache.verify(verifier(refreshed, o), token));
  CHECK(cache.stats().hits == 1);
  CHECK(cache.stats().dropped == 0);

  // Without it, every key is new: the entry is dropped once and made again.
  REQUIRE(cache.verify(verifier(parse_jwks(jwks_text).value().keys, o), token));
  CHECK(cache.stats().dropped == 1);
  CHECK(cache.stats().inserts == 2);
}

TEST_CASE("cache: threads whose verifiers map the kid to different keys never share a result") {
  const test_clock clock;
  const verifier right = verifier_with("k1", key_a(), clock);
  const verifier replaced = verifier_with("k1", key_b(), clock);
  const verify_cache cache = cache_at(clock, 64);
  std::vector<std::string> tokens;
  tokens.reserve(40);
  for (int i = 0; i < 40; ++i) tokens.push_back(token_for(key_a(), std::to_string(i), clock));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int n = 0; n < 8; ++n)
    threads.emplace_back([&, n] {
      const verifier& v = n % 2 ? right : replaced;
      for (int i = 0; i < 1000; ++i) {
        const auto c = cache.verify(v, tokens[(i + n) % tokens.size()]);
        if (n % 2 ? !c : c.error() != errc::invalid_signature) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(wrong == 0);
  CHECK(cache.stats().hits > 0);
}

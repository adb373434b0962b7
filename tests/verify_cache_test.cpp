// verify_cache.hpp: the bounded, sharded table of verified tokens, and the cached verify.
#include "tokenauth/verify_cache.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

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
  std::vector<std::thread> threads;
  for (int n = 0; n < 8; ++n)
    threads.emplace_back([&, n] {
      for (int i = 0; i < 2000; ++i) {
        const std::string token = std::to_string((i * 7 + n) % 400);
        const token_digest d = digest(token);
        if (const auto hit = t.find(d, now)) {
          if (hit->value != token) ++wrong;
        } else {
          t.insert(d, token, 1, now + 60, token.size(), now);
        }
        if (i % 97 == 0) t.erase(d, 1);
      }
    });
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
  const auto s = t.stats();
  CHECK(s.entries <= 256);
  CHECK(s.hits + s.misses == 8 * 2000);
  CHECK(s.hits > 0);
}

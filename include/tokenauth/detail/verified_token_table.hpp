// The table behind verify_cache.hpp: sharded LRU lists keyed by token digest, bounded in entries
// and bytes. Internal: not API.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenauth/clock.hpp"
#include "tokenauth/store.hpp"  // token_digest

namespace tokenauth {

// Defined in verify_cache.hpp, which includes this header; the table only names them as the
// defaults of its parameters, so it compiles before their definitions.
struct verify_cache_options;
struct verify_cache_stats;

namespace detail {

// The container behind verify_cache, generic in the cached value so it can be tested on its
// own. Every member is safe to call from many threads at once.
template <class Value, class Options = verify_cache_options, class Stats = verify_cache_stats>
class verified_token_table {
 public:
  struct found {
    Value value;
    std::uint64_t key_id;
  };

  explicit verified_token_table(const Options& o)
      : shards_(std::max<std::size_t>(1, std::min(o.shards, o.max_entries))),
        entries_per_shard_(o.max_entries / shards_.size()),
        bytes_per_shard_(o.max_bytes / shards_.size()) {
    if (o.max_entries == 0 || o.max_bytes == 0)
      throw std::invalid_argument("tokenauth: verify_cache needs max_entries and max_bytes > 0");
  }

  // A copy of the live entry for `d`, if any; an entry whose expiry has come is removed.
  std::optional<found> find(const token_digest& d, unix_seconds now) {
    shard& s = shard_of(d);
    const std::lock_guard<std::mutex> lock(s.mutex);
    const auto it = s.index.find(d);
    if (it == s.index.end()) {
      ++s.stats.misses;
      return std::nullopt;
    }
    if (now >= it->second->expires_at) {
      ++s.stats.misses;
      ++s.stats.expired;
      s.erase(it);
      return std::nullopt;
    }
    ++s.stats.hits;
    s.lru.splice(s.lru.begin(), s.lru, it->second);  // most recently used first
    return found{it->second->value, it->second->key_id};
  }

  // Adds or replaces the entry for `d`, evicting least recently used entries of its shard until
  // both bounds hold. `bytes` is the heap the value holds beyond its own size. An entry already
  // expired, or larger than a shard's byte budget, is not stored.
  void insert(const token_digest& d, Value value, std::uint64_t key_id, unix_seconds expires_at,
              std::size_t bytes, unix_seconds now) {
    bytes += entry_overhead;
    if (now >= expires_at || bytes > bytes_per_shard_) return;
    shard& s = shard_of(d);
    const std::lock_guard<std::mutex> lock(s.mutex);
    if (const auto it = s.index.find(d); it != s.index.end()) s.erase(it);
    while (!s.lru.empty() &&
           (s.lru.size() >= entries_per_shard_ || s.bytes + bytes > bytes_per_shard_)) {
      ++s.stats.evictions;
      s.erase(s.index.find(s.lru.back().digest));
    }
    s.lru.push_front(entry{d, std::move(value), key_id, expires_at, bytes});
    s.index.emplace(d, s.lru.begin());
    s.bytes += bytes;
    ++s.stats.inserts;
  }

  // Removes the entry for `d` if it was verified by key `key_id` (a concurrent insert by
  // another key survives).
  void erase(const token_digest& d, std::uint64_t key_id) {
    shard& s = shard_of(d);
    const std::lock_guard<std::mutex> lock(s.mutex);
    const auto it = s.index.find(d);
    if (it == s.index.end() || it->second->key_id != key_id) return;
    ++s.stats.dropped;
    s.erase(it);
  }

  void clear() {
    for (shard& s : shards_) {
      const std::lock_guard<std::mutex> lock(s.mutex);
      s.index.clear();
      s.lru.clear();
      s.bytes = 0;
    }
  }

  Stats stats() const {
    Stats total;
    for (const shard& s : shards_) {
      const std::lock_guard<std::mutex> lock(s.mutex);
      total.hits += s.stats.hits;
      total.misses += s.stats.misses;
      total.inserts += s.stats.inserts;
      total.evictions += s.stats.evictions;
      total.expired += s.stats.expired;
      total.dropped += s.stats.dropped;
      total.entries += s.lru.size();
      total.bytes += s.bytes;
    }
    return total;
  }

 private:
  struct entry {
    token_digest digest;
    Value value;
    std::uint64_t key_id;
    unix_seconds expires_at;
    std::size_t bytes;
  };
  using lru_list = std::list<entry>;

  // The digest is uniform: any 8 of its bytes make a good hash, with no seed to keep.
  struct digest_hash {
    std::size_t operator()(const token_digest& d) const noexcept {
      std::uint64_t h;
      std::memcpy(&h, d.data() + 8, sizeof h);
      return static_cast<std::size_t>(h);
    }
  };

  struct alignas(64) shard {  // a cache line of its own: no false sharing between locks
    mutable std::mutex mutex;
    lru_list lru;  // most recently used first
    std::unordered_map<token_digest, typename lru_list::iterator, digest_hash> index;
    std::size_t bytes = 0;
    Stats stats;

    void erase(typename decltype(index)::iterator it) {
      bytes -= it->second->bytes;
      lru.erase(it->second);
      index.erase(it);
    }
  };

  // A list node, an index node and its bucket slot, beside the entry itself.
  static constexpr std::size_t entry_overhead =
      sizeof(entry) + 2 * sizeof(void*) +
      sizeof(std::pair<token_digest, typename lru_list::iterator>) + 3 * sizeof(void*);

  shard& shard_of(const token_digest& d) {
    std::uint64_t h;
    std::memcpy(&h, d.data(), sizeof h);
    return shards_[h % shards_.size()];
  }

  std::vector<shard> shards_;
  std::size_t entries_per_shard_;
  std::size_t bytes_per_shard_;
};

}  // namespace detail
}  // namespace tokenauth

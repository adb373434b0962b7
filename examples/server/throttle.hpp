// Login throttling for the example server: a token bucket per account and one per client address,
// so a password guesser gets at most `burst` attempts at once and then `per_minute` a minute on one
// account (from any number of addresses), and one address at most its own budget over all
// accounts. Buckets live in Redis when the refresh store is Redis, single node, Sentinel or Cluster
// (every instance shares them), and in a bounded in-process table otherwise. Also here: the client
// address a request counts against (the socket's, or X-Forwarded-For's behind a trusted proxy), and
// the per-address share of the bcrypt queue. Everything is thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenauth/clock.hpp"

namespace tokenauth {
class redis_store;
}

namespace tokenauth_server {

// One bucket's shape: it holds at most `burst` tokens and gains `per_minute` a minute. An attempt
// takes one token; per_minute == 0 switches the bucket off.
struct bucket_limits {
  unsigned per_minute = 0;
  unsigned burst = 0;
  bool enabled() const { return per_minute > 0 && burst > 0; }
};

struct throttle_verdict {
  enum class kind { allowed, throttled, unavailable } outcome = kind::allowed;
  unsigned retry_after = 0;  // seconds until the next attempt may pass (throttled)
};

class login_throttle {
 public:
  virtual ~login_throttle() = default;
  // One login attempt: takes a token from the account's bucket and one from the address's, or,
  // when either is empty, neither (the answer says how long to wait). Keys are opaque strings.
  virtual throttle_verdict attempt(std::string_view account, std::string_view address,
                                   tokenauth::unix_seconds now) = 0;
  // A successful login: the account's bucket is full again (its failures are forgotten).
  virtual void succeeded(std::string_view account) = 0;
};

// In-process buckets; at most max_entries are remembered (least recently used dropped first: a
// dropped bucket is a full one, so the bound costs at most one bucket's worth of attempts).
std::unique_ptr<login_throttle> make_memory_throttle(bucket_limits account, bucket_limits address,
                                                     std::size_t max_entries = 100000);

// Buckets in Redis under `<key_prefix>{throttle}` (one hash tag: on a Cluster every bucket is in
// one slot), one Lua script per attempt (atomic across instances) run through the refresh store's
// connections, so on whatever topology the store uses. Each key has a TTL of the time its bucket
// takes to fill. When Redis cannot be reached, attempt() answers `unavailable` within the store's
// timeouts (the server then answers 503).
std::unique_ptr<login_throttle> make_redis_throttle(std::shared_ptr<tokenauth::redis_store> store,
                                                    bucket_limits account, bucket_limits address);

// The account key of a login email: its SHA-256 (hex) after ASCII lower-casing (the user store
// compares emails case-insensitively), so keys are short and hold no address.
std::string account_key(std::string_view email);

// The address a request counts against. The socket peer, unless it is one of trusted_proxies:
// then X-Forwarded-For is read from the right, skipping trusted proxies, and the first other
// valid address is the client (entries further left are the client's to forge). IPv6 addresses
// count per /64 (one host usually owns a whole /64); IPv4-mapped IPv6 counts as IPv4.
std::string client_key(std::string_view peer, std::string_view forwarded_for,
                       const std::vector<std::string>& trusted_proxies);

// How many password jobs each client address may have queued or running at once.
class address_share {
 public:
  explicit address_share(std::size_t per_address) : per_address_(per_address) {}
  bool try_enter(const std::string& address);  // false: this address has its share in flight
  void leave(const std::string& address);

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> in_flight_;  // only addresses with jobs in flight
  std::size_t per_address_;
};

}  // namespace tokenauth_server

#include "throttle.hpp"

#include <arpa/inet.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <list>
#include <optional>

#include "tokenauth/redis_store.hpp"

namespace tokenauth_server {
namespace {

using tokenauth::unix_seconds;

// ---- the bucket arithmetic (the Redis script below does the same) ---------------------------

struct bucket {
  double tokens;
  unix_seconds updated;
};

double refilled(const bucket& b, bucket_limits l, unix_seconds now) {
  const double elapsed = static_cast<double>(std::max<unix_seconds>(0, now - b.updated));
  return std::min<double>(l.burst, b.tokens + elapsed * l.per_minute / 60.0);
}

unsigned wait_for_token(double tokens, bucket_limits l) {
  return static_cast<unsigned>(std::max(1.0, std::ceil((1.0 - tokens) * 60.0 / l.per_minute)));
}

// ---- in memory --------------------------------------------------------------------------------

class memory_throttle final : public login_throttle {
 public:
  memory_throttle(bucket_limits account, bucket_limits address, std::size_t max_entries)
      : limits_{account, address}, max_entries_(std::max<std::size_t>(2, max_entries)) {}

  throttle_verdict attempt(std::string_view account, std::string_view address,
                           unix_seconds now) override {
    const std::string keys[2] = {"a:" + std::string(account), "c:" + std::string(address)};
    std::lock_guard lock(mutex_);
    double tokens[2] = {0, 0};
    unsigned wait = 0;
    for (int i = 0; i < 2; ++i) {
      if (!limits_[i].enabled()) continue;
      auto it = index_.find(keys[i]);
      tokens[i] =
          it == index_.end() ? limits_[i].burst : refilled(it->second->second, limits_[i], now);
      if (tokens[i] < 1) wait = std::max(wait, wait_for_token(tokens[i], limits_[i]));
    }
    if (wait > 0) return {throttle_verdict::kind::throttled, wait};
    for (int i = 0; i < 2; ++i)
      if (limits_[i].enabled()) store(keys[i], bucket{tokens[i] - 1, now});
    return {};
  }

  void succeeded(std::string_view account) override {
    std::lock_guard lock(mutex_);
    auto it = index_.find("a:" + std::string(account));
    if (it == index_.end()) return;
    lru_.erase(it->second);
    index_.erase(it);
  }

 private:
  using entry = std::pair<std::string, bucket>;

  void store(const std::string& key, bucket b) {
    if (auto it = index_.find(key); it != index_.end()) {
      it->second->second = b;
      lru_.splice(lru_.begin(), lru_, it->second);
      return;
    }
    if (index_.size() >= max_entries_) {
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
    lru_.emplace_front(key, b);
    index_.emplace(key, lru_.begin());
  }

  const bucket_limits limits_[2];
  const std::size_t max_entries_;
  std::mutex mutex_;
  std::list<entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<entry>::iterator> index_;
};

// ---- in Redis -----------------------------------------------------------------------------------

// KEYS: the buckets; ARGV[1]: now; ARGV[2i], ARGV[2i+1]: per_minute and burst of KEYS[i]. Returns
// 0 after taking a token from every bucket, or the seconds to wait (taking none).
constexpr const char* attempt_script = R"lua(
local now = tonumber(ARGV[1])
local tokens, wait = {}, 0
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local b = redis.call('HMGET', key, 't', 'at')
  local t = burst
  if b[1] then
    t = math.min(burst, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) * rate / 60)
  end
  tokens[i] = t
  if t < 1 then wait = math.max(wait, math.max(1, math.ceil((1 - t) * 60 / rate))) end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('HSET', key, 't', tostring(tokens[i] - 1), 'at', now)
  redis.call('EXPIRE', key, math.ceil(burst * 60 / rate) + 1)
end
return 0
)lua";

constexpr const char* forget_script = "return redis.call('DEL', KEYS[1])";

// Runs through the refresh store's connections (redis_store::eval_integer), so the buckets live
// wherever the sessions do: one node, the Sentinel master, or a Cluster. Every bucket key carries
// the one hash tag {throttle}: an attempt takes from an account's and an address's bucket in one
// atomic script, and any account may pair with any address, so all buckets share a slot. Logins
// run at bcrypt's pace (hundreds a second per instance), far below what one node serves.
class redis_throttle final : public login_throttle {
 public:
  redis_throttle(std::shared_ptr<tokenauth::redis_store> store, bucket_limits account,
                 bucket_limits address)
      : store_(std::move(store)),
        limits_{account, address},
        prefix_(store_->options().key_prefix + "{throttle}") {}

  throttle_verdict attempt(std::string_view account, std::string_view address,
                           unix_seconds now) override {
    std::vector<std::string> keys, args{std::to_string(now)};
    const std::string names[2] = {"a:" + std::string(account), "c:" + std::string(address)};
    for (int i = 0; i < 2; ++i) {
      if (!limits_[i].enabled()) continue;
      keys.push_back(prefix_ + names[i]);
      args.push_back(std::to_string(limits_[i].per_minute));
      args.push_back(std::to_string(limits_[i].burst));
    }
    if (keys.empty()) return {};
    const auto wait = store_->eval_integer(attempt_script, keys, args);
    if (!wait || *wait < 0) return {throttle_verdict::kind::unavailable, 0};
    if (*wait == 0) return {};
    return {throttle_verdict::kind::throttled, static_cast<unsigned>(*wait)};
  }

  void succeeded(std::string_view account) override {
    // Best effort: if Redis is gone, the bucket refills on its own.
    if (limits_[0].enabled())
      (void)store_->eval_integer(forget_script, {prefix_ + "a:" + std::string(account)}, {});
  }

 private:
  const std::shared_ptr<tokenauth::redis_store> store_;
  const bucket_limits limits_[2];
  const std::string prefix_;
};

// ---- client addresses ----------------------------------------------------------------------

// The canonical text of an IP address, IPv6 cut to its /64; nullopt when s is not an address.
std::optional<std::string> address_bucket(std::string_view s) {
  s = s.substr(0, s.find_last_not_of(" \t") + 1);
  s = s.substr(std::min(s.size(), s.find_first_not_of(" \t")));
  if (s.empty() || s.size() > 45) return std::nullopt;
  const std::string text(s);
  char out[INET6_ADDRSTRLEN];
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1)
    return std::string(inet_ntop(AF_INET, &v4, out, sizeof out));
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return std::nullopt;
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, v6.s6_addr + 12, 4);
    return std::string(inet_ntop(AF_INET, &v4, out, sizeof out));
  }
  std::memset(v6.s6_addr + 8, 0, 8);
  return std::string(inet_ntop(AF_INET6, &v6, out, sizeof out)) + "/64";
}

bool is_trusted(std::string_view address, const std::vector<std::string>& trusted) {
  const auto canonical = address_bucket(address);
  if (!canonical) return false;
  for (const auto& t : trusted)
    if (address_bucket(t) == canonical) return true;
  return false;
}

}  // namespace

std::unique_ptr<login_throttle> make_memory_throttle(bucket_limits account, bucket_limits address,
                                                     std::size_t max_entries) {
  return std::make_unique<memory_throttle>(account, address, max_entries);
}

std::unique_ptr<login_throttle> make_redis_throttle(std::shared_ptr<tokenauth::redis_store> store,
                                                    bucket_limits account, bucket_limits address) {
  return std::make_unique<redis_throttle>(std::move(store), account, address);
}

std::string account_key(std::string_view email) {
  std::string lower(email);
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(lower.data(), lower.size(), md, &n, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) out.append({hex[md[i] >> 4], hex[md[i] & 15]});
  return out;
}

std::string client_key(std::string_view peer, std::string_view forwarded_for,
                       const std::vector<std::string>& trusted_proxies) {
  std::string client = address_bucket(peer).value_or(std::string(peer));
  if (trusted_proxies.empty() || !is_trusted(peer, trusted_proxies)) return client;
  // Right to left: each hop was appended by the proxy to its right, trusted so far.
  while (!forwarded_for.empty()) {
    const std::size_t comma = forwarded_for.rfind(',');
    const std::string_view hop =
        comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1);
    forwarded_for =
        comma == std::string_view::npos ? std::string_view{} : forwarded_for.substr(0, comma);
    const auto address = address_bucket(hop);
    if (!address) break;  // garbage: keep the last trusted hop's view
    client = *address;
    if (!is_trusted(hop, trusted_proxies)) break;
  }
  return client;
}

bool address_share::try_enter(const std::string& address) {
  std::lock_guard lock(mutex_);
  std::size_t& n = in_flight_[address];
  if (n >= per_address_) return false;
  ++n;
  return true;
}

void address_share::leave(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = in_flight_.find(address);
  if (it == in_flight_.end()) return;
  if (--it->second == 0) in_flight_.erase(it);
}

}  // namespace tokenauth_server

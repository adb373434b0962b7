// refresh_store in Redis (tokenauth::redis): one Lua script per call, atomic across any number of
// servers; every key has a TTL; a thread-safe connection pool per node that reconnects by itself.
// One Redis or a Redis Cluster. Redis being down never throws: calls return store_unavailable
// within the timeouts. See docs/refresh-tokens.md and docs/deployment.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenauth/store.hpp"

namespace tokenauth {

struct redis_endpoint {
  std::string host;
  int port = 6379;
};

struct redis_options {
  std::string host = "127.0.0.1";
  int port = 6379;
  // Non-empty: a Redis Cluster, reached through any of these nodes (host, port and db are not
  // used). The store loads the slot map (CLUSTER SLOTS), sends each script to the master of its
  // keys' slot, follows MOVED (reloading the map) and ASK, and reloads the map when a master
  // cannot be reached (failover).
  std::vector<redis_endpoint> cluster_nodes;
  // Non-empty (with sentinel_master): Redis Sentinel. The store asks these sentinels for the
  // master named sentinel_master (host and port are not used), checks that the node it reaches
  // is a master (ROLE) before it writes, and asks again after a lost connection or a READONLY
  // answer (a failover). `password` is the master's.
  std::vector<redis_endpoint> sentinel_nodes;
  std::string sentinel_master;
  std::string password;  // AUTH when non-empty
  int db = 0;            // SELECT when non-zero
  std::string key_prefix = "tokenauth:";
  std::size_t pool_size = 8;  // connections at most; callers beyond it wait up to command_timeout
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{1000};

  // redis://[:password@]host[:port][/db], redis-cluster://[:password@]host:port,host:port,...
  // (any nodes of the cluster; no db), or
  // redis-sentinel://[:password@]host:port,host:port,.../MASTER_NAME (the sentinels);
  // the password may be %-encoded; [::1] for IPv6.
  // Error: std::errc::invalid_argument.
  static result<redis_options> from_url(std::string_view url);
};

class redis_store final : public refresh_store {
 public:
  explicit redis_store(redis_options options);  // connects lazily; throws only std::bad_alloc
  ~redis_store() override;
  redis_store(const redis_store&) = delete;
  redis_store& operator=(const redis_store&) = delete;

  [[nodiscard]] std::error_code create_family(const new_family& f) override;
  result<rotate_outcome> rotate(const rotate_request& r) override;
  [[nodiscard]] std::error_code revoke_family(std::string_view family_id,
                                              const token_digest* digest,
                                              unix_seconds now) override;
  [[nodiscard]] std::error_code revoke_user(std::string_view user_id, unix_seconds now) override;
  result<std::vector<session_info>> sessions(std::string_view user_id, unix_seconds now) override;
  std::string_view name() const noexcept override { return "redis"; }

  const redis_options& options() const noexcept;

  // Runs `lua` (a script for EVAL) where this store's own scripts run: the single node, the
  // Sentinel master, or the Cluster master of its keys' slot, with the same connections, failover
  // handling and redirects. For companions that keep their own keys beside the sessions (the
  // example server's login throttle). Every key must share one slot (one hash tag, as in
  // "{tag}rest"): else, or with no key, std::errc::invalid_argument. The integer the script
  // returns, or store_unavailable (Redis unreachable, an error, or a reply that is no integer).
  result<std::int64_t> eval_integer(std::string_view lua, const std::vector<std::string>& keys,
                                    const std::vector<std::string>& args);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tokenauth

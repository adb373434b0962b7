// Server configuration: flags override the environment, which overrides a `.env` file in the
// working directory, which overrides the defaults below. One table in config.cpp lists every
// setting once (flag, environment twin, help); parse_config() is pure, so tests drive it directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenauth/algorithm.hpp"
#include "tokenauth/clock.hpp"
#include "tokenauth/http.hpp"

namespace tokenauth_server {

enum class log_format { text, json };

struct config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  unsigned threads = 0;  // 0: one per core
  tokenauth::unix_seconds access_ttl = 15 * 60;
  tokenauth::unix_seconds refresh_ttl = 14 * 86400;
  tokenauth::unix_seconds refresh_grace = 5;
  std::string store = "memory";  // memory | sqlite:PATH | redis://[:pw@]host:port[/db]
  std::string users = "sqlite:./tokenauth-users.db";  // sqlite:PATH | mysql://... | memory
  std::vector<std::string> cors_origins{"http://localhost:3000"};
  std::string public_origin;  // scheme://host[:port] browsers reach us at; empty: http://Host
  std::size_t max_sessions_per_user = 100;  // live refresh sessions; the oldest is revoked first
  tokenauth::http::same_site cookie_same_site = tokenauth::http::same_site::none;
  bool cookie_secure = true;
  std::string cookie_name = "refreshToken";  // a __Host- name: Path=/, Secure, no Domain
  int bcrypt_cost = 12;
  unsigned bcrypt_threads = 0;  // 0: one per core
  std::size_t bcrypt_queue = 64;
  std::size_t bcrypt_queue_per_address = 8;  // password jobs one client address may have in flight
  unsigned login_rate_account = 10;      // login attempts a minute per account (and burst); 0: off
  unsigned login_rate_address = 60;      // login attempts a minute per client address; 0: off
  std::vector<std::string> trust_proxy;  // proxies whose X-Forwarded-For names the client
  unsigned store_threads = 0;            // threads for refresh store calls; 0: on the I/O threads
  bool store_threads_set = false;        // else 8 for SQLite and Redis, 0 for memory
  std::size_t store_queue = 4096;
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 64 * 1024;
  unsigned read_timeout = 15;  // seconds a request may take to arrive (the first one: from accept)
  unsigned idle_timeout = 5;   // seconds a keep-alive connection may wait for its next request
  std::size_t max_connections = 0;  // open connections at most; 0: derived from RLIMIT_NOFILE
  bool access_log = true;
  log_format access_log_format = log_format::text;
  std::string admin_listen = "127.0.0.1:9464";  // host:port of the metrics listener; empty: off
  bool demo = false;  // demo-only routes even off loopback (on a loopback host they are always on)
  std::string jwt_secret;  // from JWT_SECRET only (environment or .env), never a flag
  bool jwt_secret_generated = false;
  // Access-token signing: HS256 with jwt_secret, or ES256 / EdDSA / RS256 with exactly one of
  // a PEM file, PEM text (JWT_PRIVATE_KEY, environment or .env only) or a directory of PEM files.
  tokenauth::algorithm jwt_alg = tokenauth::algorithm::hs256;
  std::string jwt_key_file;
  std::string jwt_private_key;
  std::string jwt_keys_dir;
  std::vector<std::string> notes;  // warnings for the start-up banner
};

// What parse_config() decided: run with `cfg`, or print `message` and exit with `exit_code`.
struct config_outcome {
  std::optional<config> cfg;
  std::string message;
  int exit_code = 0;
};

using env_lookup = std::function<std::optional<std::string>(const std::string&)>;

// args excludes argv[0]; dotenv is the text of ./.env (empty when there is none).
config_outcome parse_config(const std::vector<std::string>& args, const env_lookup& env,
                            std::string_view dotenv);

// The default --max-connections for a soft RLIMIT_NOFILE: the limit minus a reserve for the files,
// store connections and listening socket the server needs besides connections.
std::size_t default_max_connections(std::uint64_t nofile_limit);

// cfg.max_connections, or when it is 0 the default for this process's RLIMIT_NOFILE.
std::size_t connection_limit(const config& cfg);

// An --admin-listen value: an IP address (IPv6 in brackets) and a port; nullopt for anything else.
struct listen_address {
  std::string host;
  std::uint16_t port = 0;
};
std::optional<listen_address> parse_listen_address(std::string_view text);

// "90", "5s", "15m", "1h", "14d" -> seconds; nullopt for anything else or out of range.
std::optional<tokenauth::unix_seconds> parse_duration(std::string_view text);

std::string format_duration(tokenauth::unix_seconds seconds);

std::string help_text();

// The start-up banner: address, stores, CORS origins, TTLs and any warnings.
std::string banner(const config& cfg, std::uint16_t port, const std::string& store_display);

}  // namespace tokenauth_server

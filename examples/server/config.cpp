#include "config.hpp"

#include <arpa/inet.h>
#include <openssl/rand.h>
#include <sys/resource.h>

#include <boost/program_options/errors.hpp>
#include <boost/program_options/options_description.hpp>
#include <boost/program_options/parsers.hpp>
#include <boost/program_options/value_semantic.hpp>

#include <algorithm>
#include <charconv>
#include <map>
#include <sstream>
#include <thread>

#include "mysql_users.hpp"
#include "stores.hpp"
#include "text.hpp"
#include "tokenauth/base64url.hpp"

namespace tokenauth_server {
namespace {

namespace po = boost::program_options;
using tokenauth::unix_seconds;

// Parses an unsigned decimal in [lo, hi]; nullopt otherwise.
std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t lo, std::uint64_t hi) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v < lo || v > hi)
    return std::nullopt;
  return v;
}

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  return std::nullopt;
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    std::size_t comma = s.find(',');
    std::string_view item = trim_ows(s.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
  }
  return out;
}

// Each setter returns an error message, empty on success.
using setter = std::string (*)(config&, const std::string&);

template <class T>
std::string set_uint(T& field, const std::string& v, std::uint64_t lo, std::uint64_t hi,
                     const char* what) {
  auto n = parse_uint(v, lo, hi);
  if (!n)
    return std::string(what) + " must be a whole number from " + std::to_string(lo) + " to " +
           std::to_string(hi) + ", got '" + v + "'";
  field = static_cast<T>(*n);
  return {};
}

std::string set_bool(bool& field, const std::string& v, const char* what) {
  auto b = parse_bool(v);
  if (!b) return std::string(what) + " must be true or false, got '" + v + "'";
  field = *b;
  return {};
}

std::string set_duration(unix_seconds& field, const std::string& v, bool allow_zero,
                         const char* what) {
  auto d = parse_duration(v);
  if (!d || (*d == 0 && !allow_zero))
    return std::string(what) + " must be a duration like 90, 5s, 15m, 1h or 14d, got '" + v + "'";
  field = *d;
  return {};
}

// An origin as browsers send it: http(s)://host[:port], nothing after. Error message or empty.
std::string check_origin(const std::string& o, const char* what) {
  const std::size_t scheme = o.rfind("https://", 0) == 0 ? 8 : o.rfind("http://", 0) == 0 ? 7 : 0;
  if (scheme == 0 || o.size() == scheme || o.find_first_of("/?#@ \t", scheme) != std::string::npos)
    return std::string(what) + " must look like https://host[:port], got '" + o + "'";
  return {};
}

// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~')
      out.push_back(ch);
    else
      out.append({'%', hex[c >> 4], hex[c & 15]});
  }
  return out;
}

struct built_url {
  std::string url;
  std::string error;
};

// redis://[:password@]host:port from the REDIS_* parts: the password percent-encoded (it may hold
// any byte, `@:/%#?` included), an IPv6 host bracketed, the port checked.
built_url redis_url(const std::string& host, const std::string& port, const std::string& password) {
  const bool ipv6 = host.find(':') != std::string::npos;
  const std::string_view name_chars =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";
  const std::string_view allowed = ipv6 ? "0123456789abcdefABCDEF:." : name_chars;
  if (host.find_first_not_of(allowed) != std::string::npos)
    return {{}, "REDIS_HOST must be a host name or an IP address, got '" + host + "'"};
  if (!parse_uint(port, 1, 65535))
    return {{}, "REDIS_PORT must be a whole number from 1 to 65535, got '" + port + "'"};
  std::string url = "redis://";
  if (!password.empty()) url += ":" + percent_encode(password) + "@";
  url += (ipv6 ? "[" + host + "]" : host) + ":" + port;
  return {std::move(url), {}};
}

struct option_spec {
  std::string_view flag;  // without the leading "--"
  std::string_view env;
  std::string_view arg;
  std::string_view help;
  setter apply;
};

const option_spec options[] = {
    {"host", "HOST", "ADDR", "address to listen on (default 127.0.0.1)",
     [](config& c, const std::string& v) -> std::string {
       if (v.empty()) return "host must not be empty";
       c.host = v;
       return {};
     }},
    {"port", "PORT", "N", "TCP port (default 8080; 0 picks a free one)",
     [](config& c, const std::string& v) { return set_uint(c.port, v, 0, 65535, "port"); }},
    {"threads", "THREADS", "N", "I/O threads (default: one per core)",
     [](config& c, const std::string& v) { return set_uint(c.threads, v, 1, 256, "threads"); }},
    {"access-ttl", "ACCESS_TTL", "DURATION", "access token lifetime (default 15m)",
     [](config& c, const std::string& v) {
       return set_duration(c.access_ttl, v, false, "access-ttl");
     }},
    {"refresh-ttl", "REFRESH_TTL", "DURATION",
     "refresh token idle lifetime and cookie Max-Age (default 14d)",
     [](config& c, const std::string& v) {
       return set_duration(c.refresh_ttl, v, false, "refresh-ttl");
     }},
    {"refresh-grace", "REFRESH_GRACE", "DURATION",
     "window in which the previous refresh token may be replayed (default 5s; 0 disables)",
     [](config& c, const std::string& v) {
       return set_duration(c.refresh_grace, v, true, "refresh-grace");
     }},
    {"store", "STORE", "SPEC",
     "refresh store: memory | sqlite:PATH | redis://[:pw@]host:port[/db] |\n"
     "redis-cluster://[:pw@]host:port,host:port,... |\n"
     "redis-sentinel://[:pw@]host:port,host:port,.../MASTER_NAME\n"
     "(default memory; REDIS_HOST/REDIS_PORT/REDIS_PASSWORD select Redis too)",
     [](config& c, const std::string& v) -> std::string {
       if (v != "memory" && v.rfind("sqlite:", 0) != 0 && v.rfind("redis://", 0) != 0 &&
           v.rfind("redis-cluster://", 0) != 0 && v.rfind("redis-sentinel://", 0) != 0)
         return "store must be memory, sqlite:PATH, redis://host:port, "
                "redis-cluster://host:port,... or redis-sentinel://host:port,.../MASTER, got '" +
                v + "'";
       if (v == "sqlite:") return "store sqlite: needs a path";
       c.store = v;
       return {};
     }},
    {"users", "USERS_DB", "SPEC",
     "user database: sqlite:PATH | mysql://USER:PASS@HOST:PORT/DB | memory (default "
     "sqlite:./tokenauth-users.db; DB_DATABASE selects MySQL too)",
     [](config& c, const std::string& v) -> std::string {
       if (is_mysql_url(v)) {
         std::string error;
         if (!parse_mysql_url(v, error)) return error;
       } else if (v != "memory" && (v.rfind("sqlite:", 0) != 0 || v.size() == 7)) {
         return "users must be sqlite:PATH, mysql://USER:PASS@HOST:PORT/DB or memory";
       }
       c.users = v;
       return {};
     }},
    {"cors-origin", "CORS_ORIGINS", "ORIGIN",
     "allowed CORS origin; repeatable, or comma-separated (default http://localhost:3000)",
     [](config& c, const std::string& v) -> std::string {
       for (auto& o : split_list(v)) {
         if (o == "*") return "cors-origin '*' cannot be used with credentials; name the origins";
         if (o.back() == '/') o.pop_back();
         if (auto err = check_origin(o, "cors-origin"); !err.empty()) return err;
         c.cors_origins.push_back(o);
       }
       return {};
     }},
    {"public-origin", "PUBLIC_ORIGIN", "ORIGIN",
     "scheme://host[:port] browsers load the demo page from, for the same-origin check "
     "(default: http://<Host header>; set it behind a TLS proxy)",
     [](config& c, const std::string& v) -> std::string {
       std::string o = v;
       if (!o.empty() && o.back() == '/') o.pop_back();
       if (auto err = check_origin(o, "public-origin"); !err.empty()) return err;
       c.public_origin = o;
       return {};
     }},
    {"max-sessions-per-user", "MAX_SESSIONS_PER_USER", "N",
     "live refresh sessions per user; a login beyond it revokes the oldest (default 100)",
     [](config& c, const std::string& v) {
       return set_uint(c.max_sessions_per_user, v, 1, 100000, "max-sessions-per-user");
     }},
    {"cookie-name", "COOKIE_NAME", "NAME",
     "name of the refresh cookie (default refreshToken); a __Host- name gets Path=/ and must be "
     "Secure: sibling subdomains cannot overwrite it",
     [](config& c, const std::string& v) -> std::string {
       if (!tokenauth::http::is_cookie_name(v))
         return "cookie-name must be a cookie name (letters, digits, !#$%&'*+-.^_`|~), got '" + v +
                "'";
       c.cookie_name = v;
       return {};
     }},
    {"cookie-samesite", "COOKIE_SAMESITE", "None|Lax|Strict",
     "SameSite of the refresh cookie (default None)",
     [](config& c, const std::string& v) -> std::string {
       auto s = tokenauth::http::parse_same_site(v);
       if (!s) return "cookie-samesite must be None, Lax or Strict, got '" + v + "'";
       c.cookie_same_site = *s;
       return {};
     }},
    {"cookie-secure", "COOKIE_SECURE", "true|false",
     "Secure attribute of the refresh cookie (default true)",
     [](config& c, const std::string& v) { return set_bool(c.cookie_secure, v, "cookie-secure"); }},
    {"bcrypt-cost", "BCRYPT_COST", "N", "bcrypt cost of new password hashes (default 12)",
     [](config& c, const std::string& v) {
       return set_uint(c.bcrypt_cost, v, 4, 31, "bcrypt-cost");
     }},
    {"bcrypt-threads", "BCRYPT_THREADS", "N", "password hashing threads (default: one per core)",
     [](config& c, const std::string& v) {
       return set_uint(c.bcrypt_threads, v, 1, 256, "bcrypt-threads");
     }},
    {"bcrypt-queue", "BCRYPT_QUEUE", "N",
     "password jobs that may wait; beyond that join/login answer 503 (default 64)",
     [](config& c, const std::string& v) {
       return set_uint(c.bcrypt_queue, v, 1, 100000, "bcrypt-queue");
     }},
    {"bcrypt-queue-per-address", "BCRYPT_QUEUE_PER_ADDRESS", "N",
     "password jobs one client address may have queued or running; beyond: 429 (default 8)",
     [](config& c, const std::string& v) {
       return set_uint(c.bcrypt_queue_per_address, v, 1, 100000, "bcrypt-queue-per-address");
     }},
    {"login-rate-account", "LOGIN_RATE_ACCOUNT", "N",
     "login attempts per minute on one account, N at once at most; beyond: 429 (default 10; "
     "0 = off)",
     [](config& c, const std::string& v) {
       return set_uint(c.login_rate_account, v, 0, 100000, "login-rate-account");
     }},
    {"login-rate-address", "LOGIN_RATE_ADDRESS", "N",
     "login attempts per minute from one client address, N at once at most (default 60; 0 = off)",
     [](config& c, const std::string& v) {
       return set_uint(c.login_rate_address, v, 0, 100000, "login-rate-address");
     }},
    {"trust-proxy", "TRUST_PROXY", "ADDR",
     "a reverse proxy's IP address; its X-Forwarded-For names the client (repeatable or "
     "comma-separated; default none: the socket's address counts)",
     [](config& c, const std::string& v) -> std::string {
       for (auto& a : split_list(v)) {
         unsigned char buf[sizeof(in6_addr)];
         if (inet_pton(AF_INET, a.c_str(), buf) != 1 && inet_pton(AF_INET6, a.c_str(), buf) != 1)
           return "trust-proxy must be an IP address, got '" + a + "'";
         c.trust_proxy.push_back(a);
       }
       return {};
     }},
    {"store-threads", "STORE_THREADS", "N",
     "threads that wait on the refresh store; 0 = on the I/O threads (default 8; memory: 0)",
     [](config& c, const std::string& v) {
       c.store_threads_set = true;
       return set_uint(c.store_threads, v, 0, 256, "store-threads");
     }},
    {"header-limit", "HEADER_LIMIT", "BYTES", "largest request header, else 431 (default 8192)",
     [](config& c, const std::string& v) {
       return set_uint(c.header_limit, v, 1024, 1 << 20, "header-limit");
     }},
    {"body-limit", "BODY_LIMIT", "BYTES", "largest request body, else 413 (default 65536)",
     [](config& c, const std::string& v) {
       return set_uint(c.body_limit, v, 1024, 64 << 20, "body-limit");
     }},
    {"read-timeout", "READ_TIMEOUT", "SECONDS",
     "time a request may take to arrive, the first on a connection from accept (default 15)",
     [](config& c, const std::string& v) {
       return set_uint(c.read_timeout, v, 1, 3600, "read-timeout");
     }},
    {"idle-timeout", "IDLE_TIMEOUT", "SECONDS",
     "time a keep-alive connection may wait for its next request (default 5)",
     [](config& c, const std::string& v) {
       return set_uint(c.idle_timeout, v, 1, 3600, "idle-timeout");
     }},
    {"max-connections", "MAX_CONNECTIONS", "N",
     "open connections at most; more wait in the listen backlog (default: the open-file "
     "limit (RLIMIT_NOFILE) minus 64, at least 16)",
     [](config& c, const std::string& v) {
       return set_uint(c.max_connections, v, 1, 10000000, "max-connections");
     }},
    {"access-log", "ACCESS_LOG", "true|false", "one line per request on stdout (default true)",
     [](config& c, const std::string& v) { return set_bool(c.access_log, v, "access-log"); }},
    {"jwt-alg", "JWT_ALG", "HS256|ES256|EdDSA|RS256",
     "access-token signature (default HS256 with JWT_SECRET); the others sign with a private "
     "key from --jwt-key-file, JWT_PRIVATE_KEY or --jwt-keys-dir",
     [](config& c, const std::string& v) -> std::string {
       const auto alg = tokenauth::algorithm_from_string(v);
       if (!alg || (*alg != tokenauth::algorithm::hs256 && *alg != tokenauth::algorithm::es256 &&
                    *alg != tokenauth::algorithm::eddsa && *alg != tokenauth::algorithm::rs256))
         return "jwt-alg must be HS256, ES256, EdDSA or RS256, got '" + v + "'";
       c.jwt_alg = *alg;
       return {};
     }},
    {"jwt-key-file", "JWT_KEY_FILE", "PATH",
     "PEM private key (PKCS#8) that signs access tokens; kid = its RFC 7638 thumbprint",
     [](config& c, const std::string& v) -> std::string {
       if (v.empty()) return "jwt-key-file must not be empty";
       c.jwt_key_file = v;
       return {};
     }},
    {"jwt-keys-dir", "JWT_KEYS_DIR", "DIR",
     "every *.pem in DIR is a private key: the newest file signs, all verify; SIGHUP reloads",
     [](config& c, const std::string& v) -> std::string {
       if (v.empty()) return "jwt-keys-dir must not be empty";
       c.jwt_keys_dir = v;
       return {};
     }},
    {"log-format", "LOG_FORMAT", "text|json",
     "access log lines as text or as one JSON object each (default text)",
     [](config& c, const std::string& v) -> std::string {
       if (v == "text")
         c.access_log_format = log_format::text;
       else if (v == "json")
         c.access_log_format = log_format::json;
       else
         return "log-format must be text or json, got '" + v + "'";
       return {};
     }},
    {"admin-listen", "ADMIN_LISTEN", "HOST:PORT",
     "where GET /metrics (Prometheus) is served, never on the public port; \"\" = off "
     "(default 127.0.0.1:9464)",
     [](config& c, const std::string& v) -> std::string {
       if (!v.empty() && !parse_listen_address(v))
         return "admin-listen must be HOST:PORT (an IP address and a port) or empty, got '" + v +
                "'";
       c.admin_listen = v;
       return {};
     }},
    {"demo", "DEMO", "true|false",
     "offer the demo page's stolen-token simulation on any --host (default: loopback only)",
     [](config& c, const std::string& v) { return set_bool(c.demo, v, "demo"); }},
};

const option_spec* find_flag(std::string_view name) {
  for (const auto& o : options)
    if (o.flag == name) return &o;
  return nullptr;
}

// Every flag of options[] and --help, for the parser and the --help text. Columns as before the
// library: flags in 26, help wrapped at 100.
const po::options_description& flag_descriptions() {
  static const po::options_description descriptions = [] {
    po::options_description d(100, 74);
    for (const auto& o : options) {
      const std::string help = std::string(o.help) + " [" + std::string(o.env) + "]";
      d.add_options()(std::string(o.flag).c_str(),
                      po::value<std::string>()->value_name(std::string(o.arg)), help.c_str());
    }
    d.add_options()("help,h", "this text");
    return d;
  }();
  return descriptions;
}

// "--flag=" gives the flag an empty value (--admin-listen= turns metrics off); Boost would refuse
// it, so this style parser, consulted before Boost's own, takes such a token whole.
std::vector<po::option> empty_adjacent_value(std::vector<std::string>& args) {
  const std::string& token = args.front();
  if (token.size() < 4 || token.rfind("--", 0) != 0 || token.find('=') != token.size() - 1)
    return {};
  po::option flag(token.substr(2, token.size() - 3), {std::string()});
  flag.original_tokens = {token};
  args.erase(args.begin());
  return {flag};
}

struct parsed_flags {
  std::vector<po::option> flags;  // in command-line order; a stray argument has no string_key
  std::string error;              // why the command line cannot be read, or empty
};

// Splits the command line with Boost.Program_options: --flag VALUE, --flag=VALUE, -h, --help. No
// abbreviations (a prefix is an unknown flag) and no short forms besides -h. The messages for an
// unknown flag and a missing value are the server's own: Boost's would echo an unknown flag's
// value (a mistyped --jwt-secret=... would print the secret) and name no way out.
parsed_flags parse_flags(const std::vector<std::string>& args) {
  namespace style = po::command_line_style;
  try {
    return {po::command_line_parser(args)
                .options(flag_descriptions())
                .style(style::allow_long | style::long_allow_adjacent | style::long_allow_next |
                       style::allow_short | style::allow_dash_for_short | style::short_allow_next)
                .extra_style_parser(empty_adjacent_value)
                .run()
                .options,
            {}};
  } catch (const po::unknown_option& e) {
    const std::string name = e.get_option_name().substr(0, e.get_option_name().find('='));
    if (name == "--jwt-secret")
      return {{}, "JWT_SECRET is read from the environment or .env only, never from a flag"};
    if (name == "--jwt-private-key")
      return {{},
              "JWT_PRIVATE_KEY is read from the environment or .env only, never from a flag (or "
              "name a file with --jwt-key-file)"};
    return {{}, "unknown flag " + name + " (see --help)"};
  } catch (const po::invalid_command_line_syntax& e) {
    if (e.kind() == po::invalid_command_line_syntax::missing_parameter)
      return {{}, e.get_option_name() + " needs a value"};
    return {{}, std::string(e.what()) + " (see --help)"};
  } catch (const po::error& e) {
    return {{}, std::string(e.what()) + " (see --help)"};
  }
}

// KEY=VALUE lines; `#` comments, optional `export `, optional single or double quotes.
std::map<std::string, std::string, std::less<>> parse_dotenv(std::string_view text) {
  std::map<std::string, std::string, std::less<>> out;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = trim_ows(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.rfind("export ", 0) == 0) line = trim_ows(line.substr(7));
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = trim_ows(line.substr(0, eq));
    std::string_view value = trim_ows(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    else if (std::size_t hash = value.find(" #"); hash != std::string_view::npos)
      value = trim_ows(value.substr(0, hash));
    out[std::string(key)] = std::string(value);
  }
  return out;
}

// A throwaway development secret: 48 CSPRNG bytes, base64url.
std::optional<std::string> random_secret() {
  unsigned char bytes[48];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return std::nullopt;
  return tokenauth::base64url::encode(
      std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

}  // namespace

std::size_t default_max_connections(std::uint64_t nofile_limit) {
  constexpr std::uint64_t reserve = 64, floor = 16, ceiling = 1000000;
  return static_cast<std::size_t>(std::clamp<std::uint64_t>(
      nofile_limit > reserve ? nofile_limit - reserve : 0, floor, ceiling));
}

std::size_t connection_limit(const config& c) {
  if (c.max_connections != 0) return c.max_connections;
  rlimit nofile{};
  const bool known = getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY;
  return default_max_connections(known ? nofile.rlim_cur : 1024);
}

std::optional<listen_address> parse_listen_address(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string host(text.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);  // [::1]:9464
  unsigned char ip[16];
  if (::inet_pton(AF_INET, host.c_str(), ip) != 1 && ::inet_pton(AF_INET6, host.c_str(), ip) != 1)
    return std::nullopt;
  const auto port = parse_uint(text.substr(colon + 1), 0, 65535);
  if (!port) return std::nullopt;
  return listen_address{std::move(host), static_cast<std::uint16_t>(*port)};
}

std::optional<unix_seconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  unix_seconds unit = 1;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      unit = 0;
  }
  if (unit != 0)
    text.remove_suffix(1);
  else
    unit = 1;
  auto n = parse_uint(text, 0, 10ull * 365 * 86400);
  if (!n || *n * unit > 10ull * 365 * 86400) return std::nullopt;
  return static_cast<unix_seconds>(*n * unit);
}

std::string format_duration(unix_seconds s) {
  if (s != 0 && s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s != 0 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s != 0 && s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

std::string help_text() {
  std::ostringstream out;
  out << "tokenauth example server: JWT access tokens and rotating refresh tokens over HTTP.\n\n"
         "usage: tokenauth-server [--flag VALUE | --flag=VALUE]...\n\n"
         "Each flag has an environment twin (also read from ./.env); flags win over the\n"
         "environment, which wins over .env. JWT_SECRET (>= 32 bytes) and JWT_PRIVATE_KEY (PEM;\n"
         "a one-line value may write its line breaks as \\n) are read from the environment or\n"
         ".env only, never from a flag.\n\n"
      << flag_descriptions();
  std::string text = out.str();
  // Boost leaves the space it wrapped a line at on the end of the line.
  for (std::size_t at; (at = text.find(" \n")) != std::string::npos;) text.erase(at, 1);
  return text;
}

std::string banner(const config& c, std::uint16_t port, const std::string& store_display) {
  std::string origins;
  for (const auto& o : c.cors_origins) origins += (origins.empty() ? "" : ", ") + o;
  std::string out = "tokenauth-server listening on http://" + c.host + ":" + std::to_string(port) +
                    "/ (" + std::to_string(c.threads) + " I/O threads)\n";
  out += "  refresh store: " + store_display +
         (c.store == "memory" ? " (sessions end on restart)" : "") + "\n";
  out += "  users:         " + redact_store(c.users) + "\n";
  out += "  CORS origins:  " + (origins.empty() ? std::string("(none)") : origins) + "\n";
  out += "  access TTL " + format_duration(c.access_ttl) + ", refresh TTL " +
         format_duration(c.refresh_ttl) + ", grace " + format_duration(c.refresh_grace) +
         ", bcrypt cost " + std::to_string(c.bcrypt_cost) + "\n";
  out += "  refresh cookie: " + c.cookie_name +
         (c.cookie_name.rfind("__Host-", 0) == 0 ? "; Path=/" : "; Path=/auth") + "; HttpOnly" +
         (c.cookie_secure ? "; Secure" : "") +
         "; SameSite=" + std::string(tokenauth::http::to_string(c.cookie_same_site)) + "\n";
  out += "  access tokens: " + std::string(tokenauth::to_string(c.jwt_alg));
  if (!c.jwt_keys_dir.empty())
    out += ", keys from " + c.jwt_keys_dir + " (SIGHUP reloads)";
  else if (!c.jwt_key_file.empty())
    out += ", key from " + c.jwt_key_file;
  else if (!c.jwt_private_key.empty())
    out += ", key from JWT_PRIVATE_KEY";
  else
    out += ", JWT_SECRET";
  out += "\n";
  for (const auto& n : c.notes) out += "  warning: " + n + "\n";
  return out;
}

config_outcome parse_config(const std::vector<std::string>& args, const env_lookup& env,
                            std::string_view dotenv_text) {
  config c;
  const auto dotenv = parse_dotenv(dotenv_text);
  auto lookup = [&](const std::string& key) -> std::optional<std::string> {
    if (auto v = env(key); v && !v->empty()) return v;  // empty counts as unset
    if (auto it = dotenv.find(key); it != dotenv.end()) return it->second;
    return std::nullopt;
  };
  auto fail = [](std::string msg) { return config_outcome{std::nullopt, std::move(msg), 2}; };

  // Environment (and .env) first, then flags on top.
  bool store_set = false, users_set = false;
  for (const auto& o : options) {
    auto v = lookup(std::string(o.env));
    if (!v) continue;
    if (o.flag == "cors-origin") c.cors_origins.clear();
    if (o.flag == "store") store_set = true;
    if (o.flag == "users") users_set = true;
    if (auto err = o.apply(c, *v); !err.empty()) return fail(std::string(o.env) + ": " + err);
  }
  parsed_flags parsed = parse_flags(args);
  if (!parsed.error.empty()) return fail(parsed.error);
  for (const auto& flag : parsed.flags)
    if (flag.string_key == "help") return {std::nullopt, help_text(), 0};
  bool cors_from_flag = false, proxy_from_flag = false;
  for (const auto& flag : parsed.flags) {
    const option_spec* o = find_flag(flag.string_key);
    if (!o) return fail("unexpected argument '" + flag.value.front() + "' (see --help)");
    if (o->flag == "cors-origin" && !cors_from_flag) c.cors_origins.clear(), cors_from_flag = true;
    if (o->flag == "trust-proxy" && !proxy_from_flag) c.trust_proxy.clear(), proxy_from_flag = true;
    if (o->flag == "store") store_set = true;
    if (o->flag == "users") users_set = true;
    if (auto err = o->apply(c, flag.value.front()); !err.empty())
      return fail("--" + std::string(o->flag) + ": " + err);
  }

  // REDIS_HOST / REDIS_PORT (the existing .env files) select Redis unless a store was named.
  if (!store_set) {
    if (auto host = lookup("REDIS_HOST"); host && !host->empty()) {
      auto url = redis_url(*host, lookup("REDIS_PORT").value_or("6379"),
                           lookup("REDIS_PASSWORD").value_or(""));
      if (!url.error.empty()) return fail(url.error);
      c.store = std::move(url.url);
    }
  }
  // DB_DATABASE / DB_USERNAME / DB_PASSWORD (the existing .env files, whose app assumed
  // 127.0.0.1:3306; DB_HOST / DB_PORT when present) select MySQL unless users were named.
  if (auto database = lookup("DB_DATABASE"); database && !database->empty() && !users_set) {
    mysql_settings m;
    m.database = *database;
    m.user = lookup("DB_USERNAME").value_or("");
    m.password = lookup("DB_PASSWORD").value_or("");
    if (auto host = lookup("DB_HOST"); host && !host->empty()) m.host = *host;
    if (auto port = lookup("DB_PORT"); port && !port->empty()) {
      auto n = parse_uint(*port, 1, 65535);
      if (!n) return fail("DB_PORT must be a whole number from 1 to 65535, got '" + *port + "'");
      m.port = static_cast<unsigned>(*n);
    }
    if (m.user.empty()) return fail("DB_DATABASE is set but DB_USERNAME is not");
    c.users = format_mysql_url(m);
  } else {
    for (const char* key : {"DB_DATABASE", "DB_USERNAME", "DB_PASSWORD", "DB_HOST", "DB_PORT"})
      if (lookup(key)) {
        c.notes.emplace_back(users_set
                                 ? "DB_* settings are ignored: --users/USERS_DB names the users"
                                 : "DB_* settings are ignored without DB_DATABASE");
        break;
      }
  }

  // The signing key: HS256 takes JWT_SECRET, the others exactly one private key source.
  if (auto pem = lookup("JWT_PRIVATE_KEY"); pem && !pem->empty()) c.jwt_private_key = *pem;
  const bool hmac = c.jwt_alg == tokenauth::algorithm::hs256;
  const int key_sources =
      !c.jwt_key_file.empty() + !c.jwt_private_key.empty() + !c.jwt_keys_dir.empty();
  const std::string alg_name(tokenauth::to_string(c.jwt_alg));
  if (hmac && key_sources > 0)
    return fail(std::string(!c.jwt_key_file.empty()   ? "jwt-key-file"
                            : !c.jwt_keys_dir.empty() ? "jwt-keys-dir"
                                                      : "JWT_PRIVATE_KEY") +
                " needs --jwt-alg ES256, EdDSA or RS256 (HS256 signs with JWT_SECRET)");
  if (!hmac && key_sources == 0)
    return fail("jwt-alg " + alg_name +
                " needs a private key: --jwt-key-file PATH, JWT_PRIVATE_KEY or --jwt-keys-dir DIR");
  if (key_sources > 1)
    return fail("set only one of --jwt-key-file, JWT_PRIVATE_KEY and --jwt-keys-dir");

  if (auto secret = lookup("JWT_SECRET"); secret && !secret->empty()) {
    if (secret->size() < 32)
      return fail("JWT_SECRET is " + std::to_string(secret->size()) +
                  " bytes; HS256 needs at least 32 (e.g. `openssl rand -base64 48`)");
    c.jwt_secret = *secret;
  } else {
    auto generated = random_secret();
    if (!generated) return fail("could not generate a random JWT_SECRET (no CSPRNG)");
    c.jwt_secret = std::move(*generated);
    c.jwt_secret_generated = true;
    if (hmac)
      c.notes.emplace_back(
          "JWT_SECRET is not set: using a random secret, so access tokens will not survive a "
          "restart");
  }
  // Browsers drop a __Host- or __Secure- cookie that is not Secure (RFC 6265bis §4.1.3).
  if ((c.cookie_name.rfind("__Host-", 0) == 0 || c.cookie_name.rfind("__Secure-", 0) == 0) &&
      !c.cookie_secure)
    return fail("cookie-name " + c.cookie_name +
                " needs --cookie-secure true: browsers refuse a __Host- or __Secure- cookie "
                "without Secure");
  if (c.cookie_same_site == tokenauth::http::same_site::none && !c.cookie_secure)
    c.notes.emplace_back("SameSite=None without Secure: browsers will reject the refresh cookie");
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (c.threads == 0) c.threads = cores;
  if (c.bcrypt_threads == 0) c.bcrypt_threads = cores;
  // Store threads also keep MySQL user lookups (reissuance's) off the I/O threads.
  const bool remote_users = is_mysql_url(c.users);
  if (!c.store_threads_set && (c.store != "memory" || remote_users)) c.store_threads = 8;
  if (remote_users && c.store_threads == 0)
    return fail("store-threads 0 would run MySQL user lookups on the I/O threads; use 1 or more");
  c.max_connections = connection_limit(c);
  return {std::move(c), {}, 0};
}

}  // namespace tokenauth_server

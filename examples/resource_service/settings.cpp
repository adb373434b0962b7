#include "settings.hpp"

#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <cstdlib>
#include <limits>

namespace resource_service {

namespace {

constexpr const char* usage =
    R"(usage: tokenauth-resource-service [options]
Verifies access tokens with the public keys of the auth server (its JWKS) and serves GET /orders.
Holds no secret. Every option can also be set by the environment variable in brackets.

  --listen HOST:PORT        address to serve on [LISTEN]            (default 127.0.0.1:8081)
  --jwks-url URL            the issuer's JWKS [JWKS_URL]
                            (default http://127.0.0.1:8080/.well-known/jwks.json)
  --ca-file PATH            PEM CAs trusted for an https:// JWKS URL [JWKS_CA_FILE]
                            (default: the system CA store)
  --allow-http              accept a plain http:// JWKS URL on a non-loopback host [JWKS_ALLOW_HTTP=1]
                            (loopback http:// URLs are always accepted)
  --issuer ISS              require this iss claim [JWT_ISSUER]
  --threads N               I/O threads [THREADS]                   (default: one per core)
  --jwks-min-max-age DUR    lower bound of the JWKS freshness [JWKS_MIN_MAX_AGE] (default 60s)
  --jwks-refetch-interval DUR  at most one fetch for unknown kids per DUR [JWKS_REFETCH_INTERVAL]
                            (default 30s)
  --jwks-max-stale DUR      keep using the last good keys this long when the issuer is down
                            [JWKS_MAX_STALE] (default 1h)
  --jwks-retry-interval DUR retry a failed background fetch after DUR [JWKS_RETRY_INTERVAL]
                            (default 10s)
  -h, --help                this text
DUR is a number with a unit: 500ms, 10s, 5m, 1h.)";

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 9) return std::nullopt;
  const long long n = std::stoll(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  if (unit == "ms") return std::chrono::milliseconds(n);
  if (unit == "s") return std::chrono::seconds(n);
  if (unit == "m") return std::chrono::minutes(n);
  if (unit == "h") return std::chrono::hours(n);
  return std::nullopt;
}

// http://HOST... where HOST is localhost or a loopback address: plain HTTP never leaves the host.
bool is_loopback_http_url(const std::string& url) {
  if (url.rfind("http://", 0) != 0) return false;
  std::string host = url.substr(7, url.find_first_of("/?#", 7) - 7);
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

settings_outcome failure(const std::string& message) {
  return {std::nullopt, 2, "tokenauth-resource-service: " + message + " (see --help)"};
}

}  // namespace

settings_outcome parse_settings(const std::vector<std::string>& args, const env_fn& env) {
  // Environment first, then flags: a flag overrides its variable.
  std::vector<std::pair<std::string, std::string>> given;
  const std::pair<const char*, const char*> names[] = {
      {"--listen", "LISTEN"},
      {"--jwks-url", "JWKS_URL"},
      {"--ca-file", "JWKS_CA_FILE"},
      {"--allow-http", "JWKS_ALLOW_HTTP"},
      {"--issuer", "JWT_ISSUER"},
      {"--threads", "THREADS"},
      {"--jwks-min-max-age", "JWKS_MIN_MAX_AGE"},
      {"--jwks-refetch-interval", "JWKS_REFETCH_INTERVAL"},
      {"--jwks-max-stale", "JWKS_MAX_STALE"},
      {"--jwks-retry-interval", "JWKS_RETRY_INTERVAL"}};
  for (const auto& [flag, variable] : names)
    if (const auto v = env(variable)) given.emplace_back(flag, *v);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") return {std::nullopt, 0, usage};
    if (a == "--allow-http") {
      given.emplace_back(a, "1");
      continue;
    }
    bool known = false;
    for (const auto& [flag, variable] : names) known = known || a == flag;
    if (!known) return failure("unknown option '" + a + "'");
    if (i + 1 == args.size()) return failure(a + " needs a value");
    given.emplace_back(a, args[++i]);
  }

  settings s;
  for (const auto& [flag, value] : given) {
    if (flag == "--listen") {
      const auto colon = value.rfind(':');
      if (colon == std::string::npos || colon + 1 == value.size())
        return failure("--listen must be HOST:PORT, got '" + value + "'");
      std::string host = value.substr(0, colon);
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
      const std::string port = value.substr(colon + 1);
      if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(port) > 65535)
        return failure("--listen port must be 0-65535, got '" + port + "'");
      s.host = host;
      s.port = static_cast<std::uint16_t>(std::stoul(port));
    } else if (flag == "--jwks-url") {
      s.jwks_url = value;
    } else if (flag == "--ca-file") {
      s.ca_file = value;
    } else if (flag == "--allow-http") {
      s.allow_http = value == "1" || value == "true";
    } else if (flag == "--issuer") {
      s.issuer = value;
    } else if (flag == "--threads") {
      if (value.empty() || value.size() > 3 ||
          value.find_first_not_of("0123456789") != std::string::npos)
        return failure("--threads must be a number, got '" + value + "'");
      s.threads = static_cast<unsigned>(std::stoul(value));
    } else {
      const auto d = parse_duration(value);
      if (!d)
        return failure(std::string(flag)
                           .append(" must be a duration such as 500ms, 10s or 5m, got '")
                           .append(value)
                           .append("'"));
      if (flag == "--jwks-min-max-age") s.min_max_age = d;
      if (flag == "--jwks-refetch-interval") s.refetch_interval = d;
      if (flag == "--jwks-max-stale") s.max_stale = d;
      if (flag == "--jwks-retry-interval") s.retry_interval = d;
    }
  }
  if (is_loopback_http_url(s.jwks_url)) s.allow_http = true;
  return {s, 0, {}};
}

}  // namespace resource_service

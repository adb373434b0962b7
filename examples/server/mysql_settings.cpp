// mysql:// URLs, built into every server so the configuration is checked the same way whether or
// not this build has the MySQL user store.
#include <charconv>
#include <stdexcept>

#include "mysql_users.hpp"

namespace tokenauth_server {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 %XX decoding; nullopt for a truncated or non-hex escape.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// Everything but RFC 3986 unreserved characters as %XX.
std::string percent_encode(std::string_view s) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(digits[u >> 4]);
      out.push_back(digits[u & 15]);
    }
  }
  return out;
}

std::optional<unsigned> parse_number(std::string_view s, unsigned lo, unsigned hi) {
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v < lo || v > hi)
    return std::nullopt;
  return v;
}

std::string_view scheme_of(std::string_view spec) {
  for (std::string_view scheme : {"mysql://", "mariadb://"})
    if (spec.substr(0, scheme.size()) == scheme) return scheme;
  return {};
}

}  // namespace

bool is_mysql_url(std::string_view spec) {
  return !scheme_of(spec).empty();
}

std::optional<mysql_settings> parse_mysql_url(std::string_view url, std::string& error) {
  const std::string_view usage = " (mysql://USER:PASS@HOST:PORT/DB)";
  const auto fail = [&](std::string why) {
    error = std::move(why) + std::string(usage);
    return std::nullopt;
  };
  const std::string_view scheme = scheme_of(url);
  if (scheme.empty()) return fail("not a mysql:// or mariadb:// URL");
  std::string_view rest = url.substr(scheme.size());

  mysql_settings o;
  // USER[:PASS]@ : the last '@' ends it, so an unencoded '@' in the password still works.
  const std::size_t at = rest.rfind('@');
  if (at == std::string_view::npos) return fail("the URL names no user");
  const std::string_view userinfo = rest.substr(0, at);
  rest = rest.substr(at + 1);
  const std::size_t colon = userinfo.find(':');
  auto user = percent_decode(userinfo.substr(0, colon));
  auto password = percent_decode(colon == std::string_view::npos ? std::string_view{}
                                                                 : userinfo.substr(colon + 1));
  if (!user || !password) return fail("bad %-escape in the user or password");
  if (user->empty()) return fail("the URL names no user");
  o.user = std::move(*user);
  o.password = std::move(*password);

  // HOST[:PORT] or [IPv6][:PORT]
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return fail("the URL names no database");
  std::string_view hostport = rest.substr(0, slash);
  rest = rest.substr(slash + 1);
  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {
    const std::size_t close = hostport.find(']');
    if (close == std::string_view::npos) return fail("unclosed '[' in the host");
    o.host = std::string(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty() && after.front() != ':') return fail("unexpected text after ']'");
    if (!after.empty()) port = after.substr(1);
    if (after == ":") return fail("empty port");
  } else {
    const std::size_t c = hostport.find(':');
    o.host = std::string(hostport.substr(0, c));
    if (c != std::string_view::npos) {
      port = hostport.substr(c + 1);
      if (port.empty()) return fail("empty port");
    }
  }
  if (o.host.empty()) return fail("the URL names no host");
  if (!port.empty()) {
    auto p = parse_number(port, 1, 65535);
    if (!p) return fail("port must be 1 to 65535, got '" + std::string(port) + "'");
    o.port = *p;
  }

  // DB[?pool=N&timeout=SECONDS]
  const std::size_t q = rest.find('?');
  auto database = percent_decode(rest.substr(0, q));
  if (!database) return fail("bad %-escape in the database name");
  if (database->empty()) return fail("the URL names no database");
  o.database = std::move(*database);
  std::string_view query = q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const std::size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
    if (key == "pool") {
      auto n = parse_number(value, 1, 256);
      if (!n) return fail("pool must be 1 to 256, got '" + std::string(value) + "'");
      o.pool_size = *n;
    } else if (key == "timeout") {
      auto n = parse_number(value, 1, 3600);
      if (!n) return fail("timeout must be 1 to 3600 seconds, got '" + std::string(value) + "'");
      o.timeout = *n;
    } else {
      return fail("unknown URL parameter '" + std::string(key) + "' (pool and timeout are known)");
    }
  }
  return o;
}

std::string format_mysql_url(const mysql_settings& o) {
  std::string url = "mysql://" + percent_encode(o.user);
  if (!o.password.empty()) url += ":" + percent_encode(o.password);
  url += "@";
  url += o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host;
  url += ":" + std::to_string(o.port) + "/" + percent_encode(o.database);
  const mysql_settings defaults;
  std::string query;
  if (o.pool_size != defaults.pool_size) query += "&pool=" + std::to_string(o.pool_size);
  if (o.timeout != defaults.timeout) query += "&timeout=" + std::to_string(o.timeout);
  if (!query.empty()) url += "?" + query.substr(1);
  return url;
}

#ifndef TOKENAUTH_SERVER_WITH_MYSQL
bool mysql_user_store_available() {
  return false;
}

std::shared_ptr<user_store> make_mysql_user_store(const mysql_settings&) {
  throw std::runtime_error(
      "built without MySQL support (CMake -DTOKENAUTH_SERVER_WITH_MYSQL=OFF; ON, with "
      "libmariadb-dev installed, adds it); use --users sqlite:PATH");
}
#endif

}  // namespace tokenauth_server

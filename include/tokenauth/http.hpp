// Framework-neutral HTTP helpers for token auth: the Bearer token of an Authorization header, one
// cookie of a Cookie header, and Set-Cookie values that set or clear a cookie. Pure functions on
// string_views: thread-safe, no I/O; the parsers never allocate and return views into their input.
// Bad input yields nullopt; set_cookie() throws std::invalid_argument for a name or value that
// RFC 6265 does not allow (a programming error, never a client's input).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tokenauth/detail/http_chars.hpp"

namespace tokenauth::http {

inline bool is_cookie_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (char c : name)
    if (!detail::is_tchar(c)) return false;
  return true;
}

inline bool is_cookie_value(std::string_view value) noexcept {
  for (char c : value)
    if (!detail::is_cookie_octet(c)) return false;
  return true;
}

// The token of `Authorization: Bearer <token>` (RFC 6750 §2.1; scheme case-insensitive, one or
// more spaces). nullopt for another scheme, a missing or empty token, or characters outside
// b64token.
inline std::optional<std::string_view> bearer_token(std::string_view authorization) noexcept {
  authorization = detail::trim(authorization);
  constexpr std::string_view scheme = "Bearer";
  if (authorization.size() <= scheme.size() ||
      !detail::iequals(authorization.substr(0, scheme.size()), scheme) ||
      !detail::is_space(authorization[scheme.size()]))
    return std::nullopt;
  std::string_view token = detail::trim(authorization.substr(scheme.size()));
  if (token.empty()) return std::nullopt;
  std::size_t end = token.size();
  while (end > 0 && token[end - 1] == '=') --end;  // '=' only as trailing padding
  if (end == 0) return std::nullopt;
  for (std::size_t i = 0; i < end; ++i)
    if (!detail::is_b64token_char(token[i]) || token[i] == '=') return std::nullopt;
  return token;
}

// The first value of cookie `name` in a Cookie request header (RFC 6265 §4.2.1: `a=1; b=2`) that
// is well-formed and that `accept` takes. Names match case-sensitively; a value in double quotes
// is passed without them. A request may carry several cookies of one name (set for different
// paths or by a sibling subdomain): an ill-formed or unwanted one does not hide a later good one.
template <class Accept>
std::optional<std::string_view> cookie_value(std::string_view cookie_header, std::string_view name,
                                             Accept accept) {
  while (!cookie_header.empty()) {
    std::size_t semi = cookie_header.find(';');
    std::string_view pair = detail::trim(cookie_header.substr(0, semi));
    cookie_header =
        semi == std::string_view::npos ? std::string_view{} : cookie_header.substr(semi + 1);
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || detail::trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = detail::trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (is_cookie_value(value) && accept(value)) return value;
  }
  return std::nullopt;
}

// The first well-formed value of cookie `name` (the first occurrence wins among well-formed
// ones; RFC 6265 §5.4 orders the more specific path first). nullopt when there is none.
inline std::optional<std::string_view> cookie_value(std::string_view cookie_header,
                                                    std::string_view name) noexcept {
  return cookie_value(cookie_header, name, [](std::string_view) noexcept { return true; });
}

// True when a Content-Type header names application/json (case-insensitive; parameters such as
// `; charset=utf-8` allowed). Requiring it makes a cross-site POST a CORS-preflighted request:
// an HTML form or a no-cors fetch can only send text/plain, form-urlencoded or multipart.
inline bool is_json_content_type(std::string_view content_type) noexcept {
  return detail::iequals(detail::trim(content_type.substr(0, content_type.find(';'))),
                         "application/json");
}

enum class same_site { none, lax, strict };

inline std::string_view to_string(same_site s) noexcept {
  switch (s) {
    case same_site::lax:
      return "Lax";
    case same_site::strict:
      return "Strict";
    case same_site::none:
      break;
  }
  return "None";
}

inline std::optional<same_site> parse_same_site(std::string_view s) noexcept {
  if (detail::iequals(s, "none")) return same_site::none;
  if (detail::iequals(s, "lax")) return same_site::lax;
  if (detail::iequals(s, "strict")) return same_site::strict;
  return std::nullopt;
}

struct cookie_options {
  std::string path = "/";
  std::string domain;                   // empty: host-only cookie
  std::optional<std::int64_t> max_age;  // seconds; nullopt: session cookie
  bool http_only = true;
  bool secure = true;
  std::optional<http::same_site> same_site = http::same_site::lax;  // nullopt: omitted
};

// The value of a Set-Cookie header: `name=value; Path=..; Max-Age=..; HttpOnly; Secure;
// SameSite=..`.
inline std::string set_cookie(std::string_view name, std::string_view value,
                              const cookie_options& options) {
  if (!is_cookie_name(name)) throw std::invalid_argument("set_cookie: invalid cookie name");
  if (!is_cookie_value(value)) throw std::invalid_argument("set_cookie: invalid cookie value");
  for (std::string_view attr : {std::string_view(options.path), std::string_view(options.domain)})
    for (char c : attr)
      if (c == ';' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        throw std::invalid_argument("set_cookie: invalid path or domain");
  std::string out;
  out.reserve(name.size() + value.size() + 96);
  out.append(name).append("=").append(value);
  if (!options.path.empty()) out.append("; Path=").append(options.path);
  if (!options.domain.empty()) out.append("; Domain=").append(options.domain);
  if (options.max_age) out.append("; Max-Age=").append(std::to_string(*options.max_age));
  if (options.http_only) out.append("; HttpOnly");
  if (options.secure) out.append("; Secure");
  if (options.same_site) out.append("; SameSite=").append(to_string(*options.same_site));
  return out;
}

// A Set-Cookie value that deletes the cookie: empty value, Max-Age=0 and an Expires in the past
// (for old clients). Path and Domain must match the ones the cookie was set with.
inline std::string clear_cookie(std::string_view name, cookie_options options) {
  options.max_age = 0;
  return set_cookie(name, "", options) + "; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
}

}  // namespace tokenauth::http

// Small text helpers shared by the server's parsers (HTTP field lists, the command line, .env).
#pragma once

#include <string_view>

namespace tokenauth_server {

// s without the spaces and tabs around it (HTTP's optional whitespace, RFC 9110 §5.6.3; also
// what a .env line or a comma-separated flag value may carry).
inline std::string_view trim_ows(std::string_view s) noexcept {
  const std::size_t first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

}  // namespace tokenauth_server

// X-Request-Id: the id a client or proxy sent, when it is a short safe token (so it can go into a
// log line and a response header as it is), else a fresh one. Ids only correlate log lines; they
// are not secrets, so a fast non-cryptographic generator will do.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace tokenauth_server {

inline constexpr std::size_t max_request_id = 64;

// 1 to 64 characters of A-Z a-z 0-9 . _ : -
inline bool safe_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > max_request_id) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Replaces out with 16 random hex digits.
inline void new_request_id(std::string& out) {
  thread_local std::mt19937_64 rng{(std::uint64_t{std::random_device{}()} << 32) ^
                                   std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::uint64_t v = rng();
  out.resize(16);
  for (char& c : out) {
    c = hex[v & 15];
    v >>= 4;
  }
}

}  // namespace tokenauth_server

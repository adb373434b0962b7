// Strict, canonical base64url (RFC 4648 §5) without padding, as JWS compact serialization uses.
// decode() rejects padding, the `+`/`/` alphabet, whitespace, lengths no encoder can produce
// (n % 4 == 1) and non-zero unused trailing bits, so every byte string has exactly one accepted
// encoding (docs/design.md, verify order). All functions are thread-safe; the *_into forms never
// allocate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tokenauth/detail/base64url_tables.hpp"

namespace tokenauth::base64url {

constexpr std::size_t encoded_size(std::size_t n) noexcept {
  return (n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0);
}

// Upper bound of decoded size; exact for every length that decodes.
constexpr std::size_t decoded_size(std::size_t n) noexcept {
  return (n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0);
}

// Writes encoded_size(in.size()) characters to out.
inline void encode_into(const unsigned char* in, std::size_t n, char* out) noexcept {
  using detail::base64url_alphabet;
  using detail::base64url_pair_table;
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v =
        (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    const char* hi = &base64url_pair_table[2 * (v >> 12)];
    const char* lo = &base64url_pair_table[2 * (v & 0xfff)];
    out[0] = hi[0];
    out[1] = hi[1];
    out[2] = lo[0];
    out[3] = lo[1];
    out += 4;
  }
  if (n - i == 1) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16;
    *out++ = base64url_alphabet[(v >> 18) & 63];
    *out++ = base64url_alphabet[(v >> 12) & 63];
  } else if (n - i == 2) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    *out++ = base64url_alphabet[(v >> 18) & 63];
    *out++ = base64url_alphabet[(v >> 12) & 63];
    *out++ = base64url_alphabet[(v >> 6) & 63];
  }
}

// Appends the encoding of `in` to `out`.
inline void encode_append(std::string_view in, std::string& out) {
  const std::size_t at = out.size();
  out.resize(at + encoded_size(in.size()));
  encode_into(reinterpret_cast<const unsigned char*>(in.data()), in.size(), out.data() + at);
}

inline std::string encode(std::string_view in) {
  std::string out;
  encode_append(in, out);
  return out;
}

// Decodes `in` into `out` (room for decoded_size(in.size()) bytes). Returns the number of bytes
// written, or nullopt when `in` is not canonical unpadded base64url.
inline std::optional<std::size_t> decode_into(std::string_view in, unsigned char* out) noexcept {
  using detail::base64url_decode_table;
  const std::size_t n = in.size();
  if (n % 4 == 1) return std::nullopt;
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  unsigned char* const begin = out;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const std::uint8_t a = base64url_decode_table[s[i]], b = base64url_decode_table[s[i + 1]],
                       c = base64url_decode_table[s[i + 2]], d = base64url_decode_table[s[i + 3]];
    if ((a | b | c | d) & 0xc0) return std::nullopt;  // invalid is 0xff; digits are < 64
    const std::uint32_t v = (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) | (c << 6) | d;
    *out++ = static_cast<unsigned char>(v >> 16);
    *out++ = static_cast<unsigned char>(v >> 8);
    *out++ = static_cast<unsigned char>(v);
  }
  const std::size_t rest = n - i;
  if (rest >= 2) {
    const std::uint8_t a = base64url_decode_table[s[i]], b = base64url_decode_table[s[i + 1]];
    const std::uint8_t c = rest == 3 ? base64url_decode_table[s[i + 2]] : 0;
    if ((a | b | c) & 0xc0) return std::nullopt;
    // Canonical form: the bits past the last whole byte must be zero.
    if (rest == 2 && (b & 0x0f) != 0) return std::nullopt;
    if (rest == 3 && (c & 0x03) != 0) return std::nullopt;
    *out++ = static_cast<unsigned char>((a << 2) | (b >> 4));
    if (rest == 3) *out++ = static_cast<unsigned char>((b << 4) | (c >> 2));
  }
  return static_cast<std::size_t>(out - begin);
}

inline std::optional<std::string> decode(std::string_view in) {
  std::string out(decoded_size(in.size()), '\0');
  const auto n = decode_into(in, reinterpret_cast<unsigned char*>(out.data()));
  if (!n) return std::nullopt;
  out.resize(*n);
  return out;
}

}  // namespace tokenauth::base64url

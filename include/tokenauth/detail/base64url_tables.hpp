// Look-up tables of base64url.hpp's encoder and decoder (RFC 4648 §5 alphabet). Internal: not API.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace tokenauth::detail {

inline constexpr char base64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

inline constexpr std::uint8_t base64url_invalid = 0xff;

inline constexpr std::array<std::uint8_t, 256> make_base64url_decode_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& v : table) v = base64url_invalid;
  for (std::uint8_t i = 0; i < 64; ++i)
    table[static_cast<unsigned char>(base64url_alphabet[i])] = i;
  return table;
}

inline constexpr std::array<std::uint8_t, 256> base64url_decode_table =
    make_base64url_decode_table();

// Two output characters per 12 input bits: halves the table look-ups of the encode loop.
inline constexpr std::array<char, 8192> make_base64url_pair_table() {
  std::array<char, 8192> table{};
  for (std::size_t i = 0; i < 4096; ++i) {
    table[2 * i] = base64url_alphabet[i >> 6];
    table[2 * i + 1] = base64url_alphabet[i & 63];
  }
  return table;
}

inline constexpr std::array<char, 8192> base64url_pair_table = make_base64url_pair_table();

}  // namespace tokenauth::detail

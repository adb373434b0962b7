// The text of a refresh token: "rt1.", the family id, ".", and 32 random bytes in base64url.
// Internal: not API.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "tokenauth/base64url.hpp"
#include "tokenauth/detail/family_id.hpp"
#include "tokenauth/store.hpp"

namespace tokenauth::detail {

inline constexpr std::string_view token_prefix = "rt1.";
inline constexpr std::size_t secret_bytes = 32;
inline constexpr std::size_t secret_chars = base64url::encoded_size(secret_bytes);  // 43
inline constexpr std::size_t token_size = token_prefix.size() + family_id_size + 1 + secret_chars;

// The family id a well-formed token names, or nullopt for anything else.
inline std::optional<std::string_view> token_family(std::string_view token) noexcept {
  if (token.size() != token_size || token.substr(0, token_prefix.size()) != token_prefix)
    return std::nullopt;
  const std::string_view family = token.substr(token_prefix.size(), family_id_size);
  const std::size_t dot = token_prefix.size() + family_id_size;
  if (token[dot] != '.' || !valid_family_id(family)) return std::nullopt;
  unsigned char secret[secret_bytes + 2];
  const auto n = base64url::decode_into(token.substr(dot + 1), secret);
  if (!n || *n != secret_bytes) return std::nullopt;
  return family;
}

}  // namespace tokenauth::detail

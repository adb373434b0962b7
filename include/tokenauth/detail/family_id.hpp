// The shape of a refresh family id: a tag derived from the user id, then random characters
// (store.hpp, family_id_size). Internal: not API.
#pragma once

#include <string>
#include <string_view>

#include "tokenauth/base64url.hpp"
#include "tokenauth/detail/sha256.hpp"
#include "tokenauth/store.hpp"

namespace tokenauth::detail {

// The first family_tag_size characters of every family id of this user.
inline std::string user_tag(std::string_view user_id) {
  const token_digest d = sha256(user_id);
  std::string out(family_tag_size, '\0');
  base64url::encode_into(d.data(), family_tag_size * 3 / 4, out.data());
  return out;
}

// True when `id` has the shape of a family id (any other string names no family).
inline bool valid_family_id(std::string_view id) noexcept {
  if (id.size() != family_id_size) return false;
  unsigned char buf[family_id_size * 3 / 4];
  return base64url::decode_into(id, buf).has_value();
}

}  // namespace tokenauth::detail

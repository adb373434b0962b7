// The ids the session routes show for refresh families. A family id must not leave the server:
// its first 8 characters are SHA-256(user id) (linkable, and guessable for small user ids), and the
// session routes accept a request only when its refresh cookie names one of the caller's live
// families, so a family id handed to script would let a stolen access token pass that check. A
// session id is instead HMAC-SHA256(k, family id) truncated to 128 bits, with k derived from the
// JWT secret: stable across restarts and across instances sharing the secret, and useless outside
// this server (docs/security.md, "Session ids").
#pragma once

#include <string>
#include <string_view>

#include "tokenauth/hmac.hpp"

namespace tokenauth_server {

class session_ids {
 public:
  // Throws std::system_error(key_too_short) for a JWT secret under 32 bytes.
  explicit session_ids(std::string_view jwt_secret);

  // 22 base64url characters.
  std::string of(std::string_view family_id) const;

  // Constant time in the contents of `id`: `id` is what a client sent.
  bool matches(std::string_view family_id, std::string_view id) const;

 private:
  tokenauth::hmac_key key_;
};

// True when `host` is a loopback address (127.0.0.0/8, ::1): only the local machine can connect.
bool loopback_host(std::string_view host);

}  // namespace tokenauth_server

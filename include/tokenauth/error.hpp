// tokenauth error codes: one std::error_code category, one code per failure.
// Messages of the JWT codes equal the text of Node's `jsonwebtoken` where it has one, so existing
// clients that match on the message keep working. Everything here is noexcept and allocation-free
// except message(), which builds a std::string as std::error_category requires.
#pragma once

#include <string>
#include <system_error>
#include <type_traits>

namespace tokenauth {

enum class errc {
  // --- JWT verification (messages shared with jsonwebtoken) ---
  token_missing = 1,  // "jwt must be provided": empty token
  malformed,          // "jwt malformed": not three segments, or bad base64url
  invalid_token,      // "invalid token": header/payload not a UTF-8 JSON object, bad claim JSON
  invalid_algorithm,  // "invalid algorithm": alg not accepted, or not the selected key's alg
  invalid_signature,  // "invalid signature"
  expired,            // "jwt expired": now >= exp + leeway
  not_active,         // "jwt not active": now < nbf - leeway
  audience_invalid,   // "jwt audience invalid"
  issuer_invalid,     // "jwt issuer invalid"
  subject_invalid,    // "jwt subject invalid"
  invalid_exp,        // "invalid exp value": exp present but not a number
  invalid_nbf,        // "invalid nbf value"
  invalid_iat,        // "invalid iat value"
  // --- JWT verification (tokenauth-specific) ---
  token_too_large,   // token longer than verify_options::max_token_size
  invalid_utf8,      // header or payload is not valid UTF-8
  unsupported_crit,  // header lists a critical extension this verifier does not understand
  unknown_kid,       // kid names no configured key (or no kid and no default key)
  exp_required,      // exp missing while verify_options::require_exp is on
  duplicate_claim,   // a member name appears twice in the header or the payload
  invalid_typ,       // header typ is not one of verify_options::accepted_typ (RFC 8725 §3.11)
  // --- keys ---
  key_too_short,    // HMAC key shorter than the hash output (RFC 7518 §3.2)
  key_unsuitable,   // key type, curve or size does not suit the algorithm (e.g. RSA < 2048 bits)
  key_invalid,      // key text (PEM) could not be parsed
  key_cannot_sign,  // a public key was given where signing needs the private key
  // --- refresh tokens ---
  refresh_token_unknown,   // not a token this service issued, or already swept
  refresh_token_expired,   // idle (sliding) or absolute family lifetime exceeded
  refresh_family_revoked,  // the session was logged out or revoked
  refresh_reuse_detected,  // a rotated-out token came back: the family is now revoked
  store_unavailable,       // the store could not be reached or failed; retry later
  // --- keys fetched from an issuer (jwks_client) ---
  keys_unavailable,  // no key set fetched yet, or the last good one is stale beyond its bound
};

// The category of every tokenauth::errc (name "tokenauth"); defined in detail/error_category.hpp.
inline const std::error_category& error_category() noexcept;

[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// Small predicates in the Abseil style, for callers that branch on a reason.
inline bool is_expired(std::error_code ec) noexcept {
  return ec == make_error_code(errc::expired);
}
inline bool is_store_unavailable(std::error_code ec) noexcept {
  return ec == make_error_code(errc::store_unavailable);
}

}  // namespace tokenauth

namespace std {
template <>
struct is_error_code_enum<tokenauth::errc> : true_type {};
}  // namespace std

#include "tokenauth/detail/error_category.hpp"  // IWYU pragma: export

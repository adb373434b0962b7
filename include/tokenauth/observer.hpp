// What the library did, reported to a service's own metrics: set an observer in verify_options or
// refresh_options and it hears the outcome of every verification, every rotation and every call
// the refresh_service makes to its store. Outcomes are small enums with fixed label names, so a
// metrics system can keep one counter per value (the cardinality is fixed).
// Without an observer the cost is one branch on a null pointer per call. With one, the callbacks
// run on the calling thread, concurrently from every thread that verifies or rotates: they must be
// thread-safe, quick (they sit on the request path) and must not throw (they are noexcept).
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>
#include <system_error>

#include "tokenauth/error.hpp"

namespace tokenauth {

// A verification's outcome (verifier::verify and verify_allow_expired).
enum class verify_outcome : unsigned char {
  ok,
  missing,    // errc::token_missing
  too_large,  // errc::token_too_large
  malformed,  // not a JWS in compact form, or a header/payload that is not a UTF-8 JSON object
  alg_not_allowed,  // errc::invalid_algorithm: alg not in the allow-list or not the key's own
  bad_header,       // errc::invalid_typ, errc::unsupported_crit
  unknown_kid,      // errc::unknown_kid
  bad_signature,    // errc::invalid_signature
  expired,          // errc::expired
  not_yet_valid,    // errc::not_active
  bad_claims,       // exp required or of the wrong type, nbf/iat of the wrong type, aud/iss/sub
  other,            // any other error code
};
inline constexpr std::size_t verify_outcome_count = 12;

// A rotation's outcome (refresh_service::rotate).
enum class rotation_outcome : unsigned char {
  rotated,         // a successor was issued
  grace,           // the previous token came back within the grace window: no successor
  reuse_detected,  // a rotated-out token came back: the family is now revoked
  expired,         // idle or absolute lifetime over
  revoked,         // the family was logged out or revoked
  unknown,         // not a token of this service (or swept)
  store_error,     // the store failed (errc::store_unavailable): the outcome is not known
};
inline constexpr std::size_t rotation_outcome_count = 7;

// The refresh_store method a refresh_service called.
enum class store_operation : unsigned char {
  create_family,
  rotate,
  revoke_family,
  revoke_user,
  sessions,
  ping,
};
inline constexpr std::size_t store_operation_count = 6;

struct store_call {
  std::string_view store;  // refresh_store::name(): "memory", "sqlite", "redis", ...
  store_operation operation;
  std::chrono::nanoseconds duration;  // wall time of the call, on the steady clock
  bool ok;  // false only for a backend failure (errc::store_unavailable); "unknown token" is ok
};

class observer {
 public:
  virtual ~observer() = default;
  virtual void verified(verify_outcome) noexcept {}
  virtual void rotated(rotation_outcome) noexcept {}
  virtual void store_called(const store_call&) noexcept {}
};

// The label of each value: the enumerator's own name.
constexpr std::string_view to_string(verify_outcome o) noexcept {
  constexpr std::string_view names[verify_outcome_count] = {
      "ok",          "missing",       "too_large", "malformed",     "alg_not_allowed", "bad_header",
      "unknown_kid", "bad_signature", "expired",   "not_yet_valid", "bad_claims",      "other"};
  return names[static_cast<std::size_t>(o)];
}

constexpr std::string_view to_string(rotation_outcome o) noexcept {
  constexpr std::string_view names[rotation_outcome_count] = {
      "rotated", "grace", "reuse_detected", "expired", "revoked", "unknown", "store_error"};
  return names[static_cast<std::size_t>(o)];
}

constexpr std::string_view to_string(store_operation o) noexcept {
  constexpr std::string_view names[store_operation_count] = {
      "create_family", "rotate", "revoke_family", "revoke_user", "sessions", "ping"};
  return names[static_cast<std::size_t>(o)];
}

// The outcome a verification with error `ec` reports (ok for no error).
inline verify_outcome verify_outcome_of(std::error_code ec) noexcept {
  if (!ec) return verify_outcome::ok;
  if (ec.category() != error_category()) return verify_outcome::other;
  switch (static_cast<errc>(ec.value())) {
    case errc::token_missing:
      return verify_outcome::missing;
    case errc::token_too_large:
      return verify_outcome::too_large;
    case errc::malformed:
    case errc::invalid_token:
    case errc::invalid_utf8:
    case errc::duplicate_claim:
      return verify_outcome::malformed;
    case errc::invalid_algorithm:
      return verify_outcome::alg_not_allowed;
    case errc::invalid_typ:
    case errc::unsupported_crit:
      return verify_outcome::bad_header;
    case errc::unknown_kid:
      return verify_outcome::unknown_kid;
    case errc::invalid_signature:
      return verify_outcome::bad_signature;
    case errc::expired:
      return verify_outcome::expired;
    case errc::not_active:
      return verify_outcome::not_yet_valid;
    case errc::exp_required:
    case errc::invalid_exp:
    case errc::invalid_nbf:
    case errc::invalid_iat:
    case errc::audience_invalid:
    case errc::issuer_invalid:
    case errc::subject_invalid:
      return verify_outcome::bad_claims;
    default:
      return verify_outcome::other;
  }
}

// The outcome a rotation with error `ec` reports; `grace_replay` tells the two successes apart.
inline rotation_outcome rotation_outcome_of(std::error_code ec, bool grace_replay) noexcept {
  if (!ec) return grace_replay ? rotation_outcome::grace : rotation_outcome::rotated;
  if (ec == errc::refresh_reuse_detected) return rotation_outcome::reuse_detected;
  if (ec == errc::refresh_token_expired) return rotation_outcome::expired;
  if (ec == errc::refresh_family_revoked) return rotation_outcome::revoked;
  if (ec == errc::refresh_token_unknown) return rotation_outcome::unknown;
  return rotation_outcome::store_error;
}

}  // namespace tokenauth

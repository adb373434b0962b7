// The std::error_category behind error.hpp's errc: its name and one message per code. error.hpp
// includes this header at its end, after errc. Internal: not API.
#pragma once

#include <string>
#include <system_error>

#include "tokenauth/error.hpp"

namespace tokenauth {
namespace detail {

class error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokenauth"; }

  std::string message(int ev) const override { return describe(static_cast<errc>(ev)); }

  static const char* describe(errc e) noexcept {
    switch (e) {
      case errc::token_missing:
        return "jwt must be provided";
      case errc::malformed:
        return "jwt malformed";
      case errc::invalid_token:
        return "invalid token";
      case errc::invalid_algorithm:
        return "invalid algorithm";
      case errc::invalid_signature:
        return "invalid signature";
      case errc::expired:
        return "jwt expired";
      case errc::not_active:
        return "jwt not active";
      case errc::audience_invalid:
        return "jwt audience invalid";
      case errc::issuer_invalid:
        return "jwt issuer invalid";
      case errc::subject_invalid:
        return "jwt subject invalid";
      case errc::invalid_exp:
        return "invalid exp value";
      case errc::invalid_nbf:
        return "invalid nbf value";
      case errc::invalid_iat:
        return "invalid iat value";
      case errc::token_too_large:
        return "jwt too large";
      case errc::invalid_utf8:
        return "jwt contains invalid UTF-8";
      case errc::unsupported_crit:
        return "jwt has an unsupported critical header";
      case errc::unknown_kid:
        return "jwt key id unknown";
      case errc::exp_required:
        return "jwt exp required";
      case errc::duplicate_claim:
        return "jwt has a duplicate member name";
      case errc::invalid_typ:
        return "jwt typ invalid";
      case errc::key_too_short:
        return "key too short for the algorithm";
      case errc::key_unsuitable:
        return "key does not suit the algorithm";
      case errc::key_invalid:
        return "key could not be parsed";
      case errc::key_cannot_sign:
        return "key cannot sign: it is a public key";
      case errc::refresh_token_unknown:
        return "refresh token unknown";
      case errc::refresh_token_expired:
        return "refresh token expired";
      case errc::refresh_family_revoked:
        return "refresh session revoked";
      case errc::refresh_reuse_detected:
        return "refresh token reuse detected";
      case errc::store_unavailable:
        return "refresh store unavailable";
      case errc::keys_unavailable:
        return "verification keys unavailable";
    }
    return "unknown tokenauth error";
  }
};

}  // namespace detail

inline const std::error_category& error_category() noexcept {
  static const detail::error_category category;
  return category;
}

}  // namespace tokenauth

// JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037 §2) and JWK thumbprints (RFC 7638).
//
// parse_jwk reads one JWK into a key; parse_jwks reads a JWK Set into a key_set, skipping (with
// a reason the caller can read) every key it cannot or must not use. Neither throws on bad input:
// a malformed document is errc::key_invalid. Serialization writes public parts only.
//
// Rules (docs/api.md, "JWK and JWKS"):
// - kty RSA, EC (P-256/P-384/P-521), OKP (Ed25519/Ed448) and oct (HS* only, "alg" required).
// - The algorithm is the JWK's "alg" when present, and must suit kty/crv. Without it: EC takes
//   its curve's ES*, OKP takes EdDSA, RSA takes jwk_options::rsa_algorithm (RS* and PS* fit the
//   same key, so nothing is guessed: without that option the key is refused).
// - "use" other than "sig", and "key_ops" without "verify" or "sign", refuse the key.
// - "d" makes a private key; an RSA one needs p, q, dp, dq and qi too (multi-prime "oth" is not
//   supported), and every private key must match its public part.
// - x5c, x5t, x5u and jku are never a key source: the key is read from its own members.
// - In a JWKS, a key without "kid" gets its RFC 7638 thumbprint as kid; a kid already taken by
//   an earlier usable key is skipped (the first one wins).
#pragma once

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenauth/algorithm.hpp"
#include "tokenauth/base64url.hpp"
#include "tokenauth/detail/jwk_read.hpp"
#include "tokenauth/error.hpp"
#include "tokenauth/keys.hpp"
#include "tokenauth/result.hpp"

namespace tokenauth {

struct jwk_options {
  // The algorithm of an RSA JWK that has no "alg" (such keys are refused when unset).
  std::optional<algorithm> rsa_algorithm{};
};

// Why a JWKS entry was not used; kid is empty when the entry had none.
struct skipped_jwk {
  std::string kid;
  std::string reason;
};

struct jwks {
  key_set keys;
  std::vector<skipped_jwk> skipped;
};

// Larger JWKS documents are rejected unread (real ones are a few kilobytes).
constexpr std::size_t max_jwks_size = 1 << 20;

// One JWK object (public or private). Errors: key_invalid (not a JWK, a bad member, a private
// part that does not match), key_unsuitable (unsupported kty/crv/alg, use other than "sig",
// alg not suiting the key, RSA modulus under 2048 bits), key_too_short (oct).
inline result<key> parse_jwk(std::string_view json_text, const jwk_options& options = {}) {
  const auto j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return errc::key_invalid;
  detail::jwk_read r = detail::read_jwk(j, options.rsa_algorithm);
  if (!r.k) return r.code;
  return std::move(*r.k);
}

// RFC 7638 thumbprint of k's public key (SHA-256, base64url). Throws std::invalid_argument for
// an HMAC key (its JWK would be the secret).
inline std::string jwk_thumbprint(const key& k) {
  return detail::thumbprint(detail::required_members(k));
}

// {"keys":[...]}. Unusable keys are skipped with a reason; errc::key_invalid when the document
// itself is malformed (not JSON, not an object, no "keys" array, larger than max_jwks_size).
inline result<jwks> parse_jwks(std::string_view json_text, const jwk_options& options = {}) {
  if (json_text.size() > max_jwks_size) return errc::key_invalid;
  const auto doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return errc::key_invalid;
  const auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) return errc::key_invalid;
  jwks out;
  for (const auto& j : *keys) {
    std::string kid;
    if (j.is_object())
      if (const auto it = j.find("kid"); it != j.end() && it->is_string())
        kid = it->get<std::string>();
    detail::jwk_read r = detail::read_jwk(j, options.rsa_algorithm);
    if (r.k && kid.empty() && r.k->type() == key_type::oct)
      r = detail::jwk_refused(errc::key_invalid, "oct key without kid");  // no thumbprint
    if (!r.k) {
      out.skipped.push_back({std::move(kid), std::move(r.reason)});
      continue;
    }
    if (kid.empty()) kid = jwk_thumbprint(*r.k);
    if (out.keys.find(kid)) {
      out.skipped.push_back({std::move(kid), "kid already used by an earlier key"});
      continue;
    }
    out.keys.add(std::move(kid), std::move(*r.k));
  }
  return out;
}

// For a JWKS refresh: `fresh` with every key that `previous` holds under the same kid, with the
// same algorithm and the same public key, replaced by the previous key object. Keys keep their
// key::id() across the refresh, so verify_cache entries they verified stay valid; changed or
// removed keys still invalidate theirs. HMAC keys are taken from `fresh` as they are.
inline key_set reuse_unchanged_keys(const key_set& previous, const key_set& fresh) {
  key_set out;
  for (const auto& [kid, k] : fresh) {
    const key* old = previous.find(kid);
    const bool same = old && old->alg() == k.alg() && old->evp_pkey() && k.evp_pkey() &&
                      old->can_sign() == k.can_sign() &&
                      EVP_PKEY_eq(old->evp_pkey(), k.evp_pkey()) == 1;
    out.add(kid, same ? *old : k);
  }
  if (const key* d = fresh.default_key()) out.add_default(*d);
  return out;
}

// The public JWK of k with "alg", "use":"sig" and "kid" (k's thumbprint when kid is empty).
// Never writes private members. Throws std::invalid_argument for an HMAC key, and
// nlohmann::json::type_error for a kid that is not UTF-8.
inline std::string to_jwk(const key& k, std::string_view kid = {}) {
  return detail::public_jwk(k, kid).dump();
}

// The public keys of a key_set as a JWKS, by kid; HMAC keys are left out. A default key that
// no kid names is published under its thumbprint.
inline std::string to_jwks(const key_set& keys) {
  nlohmann::json list = nlohmann::json::array();
  const key* default_key = keys.default_key();
  bool default_listed = default_key == nullptr;
  for (const auto& [kid, k] : keys) {
    if (!k.evp_pkey()) continue;
    default_listed = default_listed || k.id() == default_key->id();
    list.push_back(detail::public_jwk(k, kid));
  }
  if (!default_listed && default_key->evp_pkey())
    list.push_back(detail::public_jwk(*default_key, {}));
  return nlohmann::json{{"keys", std::move(list)}}.dump();
}

}  // namespace tokenauth

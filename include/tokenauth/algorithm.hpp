// JWS algorithms (RFC 7518 §3, RFC 8037 §3.1) and the key types they need (RFC 7517 "kty").
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace tokenauth {

enum class algorithm {
  hs256,  // HMAC SHA-256
  hs384,
  hs512,
  rs256,  // RSASSA-PKCS1-v1_5 SHA-256
  rs384,
  rs512,
  ps256,  // RSASSA-PSS SHA-256, MGF1 SHA-256, salt length 32
  ps384,
  ps512,
  es256,  // ECDSA P-256 SHA-256
  es384,  // ECDSA P-384 SHA-384
  es512,  // ECDSA P-521 SHA-512
  eddsa,  // EdDSA: Ed25519 or Ed448 (RFC 8037)
};

// Every algorithm, in declaration order.
inline constexpr algorithm all_algorithms[] = {
    algorithm::hs256, algorithm::hs384, algorithm::hs512, algorithm::rs256, algorithm::rs384,
    algorithm::rs512, algorithm::ps256, algorithm::ps384, algorithm::ps512, algorithm::es256,
    algorithm::es384, algorithm::es512, algorithm::eddsa};

// The JWS "alg" name.
constexpr std::string_view to_string(algorithm alg) noexcept {
  switch (alg) {
    case algorithm::hs256:
      return "HS256";
    case algorithm::hs384:
      return "HS384";
    case algorithm::hs512:
      return "HS512";
    case algorithm::rs256:
      return "RS256";
    case algorithm::rs384:
      return "RS384";
    case algorithm::rs512:
      return "RS512";
    case algorithm::ps256:
      return "PS256";
    case algorithm::ps384:
      return "PS384";
    case algorithm::ps512:
      return "PS512";
    case algorithm::es256:
      return "ES256";
    case algorithm::es384:
      return "ES384";
    case algorithm::es512:
      return "ES512";
    case algorithm::eddsa:
      return "EdDSA";
  }
  return "";
}

// The algorithm named exactly `name` (case-sensitive, as RFC 7515 §4.1.1 requires); nullopt for
// anything else, "none" included.
constexpr std::optional<algorithm> algorithm_from_string(std::string_view name) noexcept {
  for (const algorithm a : all_algorithms)
    if (to_string(a) == name) return a;
  return std::nullopt;
}

// JWK key types (RFC 7518 §6.1, RFC 8037 §2).
enum class key_type { oct, rsa, ec, okp };

constexpr std::string_view to_string(key_type t) noexcept {
  switch (t) {
    case key_type::oct:
      return "oct";
    case key_type::rsa:
      return "RSA";
    case key_type::ec:
      return "EC";
    case key_type::okp:
      return "OKP";
  }
  return "";
}

constexpr key_type key_type_of(algorithm alg) noexcept {
  switch (alg) {
    case algorithm::hs256:
    case algorithm::hs384:
    case algorithm::hs512:
      return key_type::oct;
    case algorithm::rs256:
    case algorithm::rs384:
    case algorithm::rs512:
    case algorithm::ps256:
    case algorithm::ps384:
    case algorithm::ps512:
      return key_type::rsa;
    case algorithm::es256:
    case algorithm::es384:
    case algorithm::es512:
      return key_type::ec;
    case algorithm::eddsa:
      return key_type::okp;
  }
  return key_type::oct;
}

// Output size of the algorithm's hash in bytes (also the PSS salt length); 0 for EdDSA, which
// hashes internally.
constexpr std::size_t digest_size(algorithm alg) noexcept {
  switch (alg) {
    case algorithm::hs256:
    case algorithm::rs256:
    case algorithm::ps256:
    case algorithm::es256:
      return 32;
    case algorithm::hs384:
    case algorithm::rs384:
    case algorithm::ps384:
    case algorithm::es384:
      return 48;
    case algorithm::hs512:
    case algorithm::rs512:
    case algorithm::ps512:
    case algorithm::es512:
      return 64;
    case algorithm::eddsa:
      return 0;
  }
  return 0;
}

// OpenSSL's name of that hash; nullptr for EdDSA.
constexpr const char* digest_name(algorithm alg) noexcept {
  switch (digest_size(alg)) {
    case 32:
      return "SHA256";
    case 48:
      return "SHA384";
    case 64:
      return "SHA512";
    default:
      return nullptr;
  }
}

// RSA moduli shorter than this are refused (RFC 7518 §3.3 and §3.5).
inline constexpr int min_rsa_bits = 2048;

}  // namespace tokenauth

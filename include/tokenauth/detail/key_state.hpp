// The shared state behind keys.hpp's key: the algorithm, the OpenSSL key and its DigestSign /
// DigestVerify templates, and the checks that a key suits its algorithm. Internal: not API.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "tokenauth/algorithm.hpp"
#include "tokenauth/detail/openssl.hpp"
#include "tokenauth/hmac.hpp"

namespace tokenauth::detail {

inline std::uint64_t next_key_id() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

struct key_state {
  algorithm alg = algorithm::hs256;
  bool is_private = false;
  std::uint64_t id = next_key_id();
  std::optional<hmac_key> hmac;  // HS*: the prepared HMAC key
  pkey_ptr pkey;                 // the others: the OpenSSL key
  std::size_t signature_size = 0;
  std::size_t ecdsa_half = 0;  // ES*: bytes of r and of s in the raw signature (RFC 7518 §3.4)
  md_ctx_ptr verify_template;  // DigestVerify initialised once, copied per operation
  md_ctx_ptr sign_template;    // DigestSign likewise, private keys only
};

// The OpenSSL NID of the curve an EC key is on, NID_undef when it has no named curve.
inline int ec_curve_nid(const EVP_PKEY* pkey) {
  char name[80] = {};
  std::size_t len = 0;
  if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len))
    return NID_undef;
  int nid = EC_curve_nist2nid(name);
  if (nid == NID_undef) nid = OBJ_sn2nid(name);
  if (nid == NID_undef) nid = OBJ_ln2nid(name);
  return nid;
}

constexpr int ec_curve_for(algorithm alg) noexcept {
  return alg == algorithm::es256   ? NID_X9_62_prime256v1
         : alg == algorithm::es384 ? NID_secp384r1
         : alg == algorithm::es512 ? NID_secp521r1
                                   : NID_undef;
}

// Whether the key's type, size or curve suits `alg` (never an HMAC algorithm here).
inline bool suits(const EVP_PKEY* pkey, algorithm alg) {
  switch (key_type_of(alg)) {
    case key_type::rsa:
      return EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) >= min_rsa_bits;
    case key_type::ec:
      return EVP_PKEY_is_a(pkey, "EC") && ec_curve_nid(pkey) == ec_curve_for(alg);
    case key_type::okp:
      return EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448");
    case key_type::oct:
      return false;
  }
  return false;
}

inline bool has_private_part(const EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_is_a(pkey, "EC")) {
    BIGNUM* bn = nullptr;
    const char* name =
        EVP_PKEY_is_a(pkey, "RSA") ? OSSL_PKEY_PARAM_RSA_D : OSSL_PKEY_PARAM_PRIV_KEY;
    const bool found = EVP_PKEY_get_bn_param(pkey, name, &bn) == 1;
    BN_clear_free(bn);
    ERR_clear_error();
    return found;
  }
  std::size_t len = 0;
  const bool found =
      EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, nullptr, 0, &len) == 1 &&
      len > 0;
  ERR_clear_error();
  return found;
}

// A DigestSign/DigestVerify context for `alg`, set up once: hash, PSS padding with salt length
// = hash length (RFC 7518 §3.5), and FINALISE so the final step does not duplicate the context.
inline md_ctx_ptr prepared_context(EVP_PKEY* pkey, algorithm alg, bool sign) {
  md_ctx_ptr ctx = new_md_ctx();
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  const char* md = digest_name(alg);
  const int ok =
      sign ? EVP_DigestSignInit_ex(ctx.get(), &pctx, md, nullptr, nullptr, pkey, nullptr)
           : EVP_DigestVerifyInit_ex(ctx.get(), &pctx, md, nullptr, nullptr, pkey, nullptr);
  if (ok != 1) throw_openssl("tokenauth: cannot prepare the key for its algorithm");
  if (alg == algorithm::ps256 || alg == algorithm::ps384 || alg == algorithm::ps512) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)
      throw_openssl("tokenauth: cannot set RSA-PSS parameters");
  }
  EVP_MD_CTX_set_flags(ctx.get(), EVP_MD_CTX_FLAG_FINALISE);
  return ctx;
}

// Room for the signatures of the usual keys (RSA up to 8192 bits) without a heap allocation.
constexpr std::size_t stack_signature_size = 1024;

}  // namespace tokenauth::detail

// HMAC keys for HS256/HS384/HS512 with the key schedule computed once.
// Construction hashes the ipad/opad blocks into two saved digest states; each MAC then copies
// those states into a per-thread scratch context instead of re-deriving them (measured here:
// 444 ns per 135-byte MAC vs 544 ns for EVP_MAC_init(NULL key) reuse, 1.17 us for
// EVP_MAC_CTX_dup and 2.6 us for one-shot HMAC). An hmac_key is immutable and cheap to copy
// (shared state); every member is safe to call from many threads at once. Key bytes are
// cleansed as soon as the states exist; the states are cleansed by OpenSSL when freed.
#pragma once

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <string_view>
#include <system_error>

#include "tokenauth/algorithm.hpp"
#include "tokenauth/detail/hmac_state.hpp"
#include "tokenauth/detail/openssl.hpp"
#include "tokenauth/error.hpp"
#include "tokenauth/result.hpp"

namespace tokenauth {

// MAC length in bytes; also the minimum key length (RFC 7518 §3.2). 0 for non-HMAC algorithms.
constexpr std::size_t mac_size(algorithm alg) noexcept {
  return key_type_of(alg) == key_type::oct ? digest_size(alg) : 0;
}

constexpr std::size_t max_mac_size = 64;

class hmac_key {
 public:
  // Throws std::system_error: errc::key_unsuitable when alg is not HS256/384/512,
  // errc::key_too_short when the secret is shorter than the MAC.
  explicit hmac_key(std::string_view secret, algorithm alg = algorithm::hs256)
      : state_(make_state(secret, alg)) {}

  // The no-throw form (except std::bad_alloc).
  static result<hmac_key> make(std::string_view secret, algorithm alg = algorithm::hs256) {
    if (key_type_of(alg) != key_type::oct) return errc::key_unsuitable;
    if (secret.size() < mac_size(alg)) return errc::key_too_short;
    return hmac_key(secret, alg);
  }

  algorithm alg() const noexcept { return state_->alg; }
  std::size_t size() const noexcept { return mac_size(state_->alg); }

  // Writes size() bytes of HMAC(key, data) to out.
  void compute(std::string_view data, unsigned char* out) const {
    EVP_MD_CTX* ctx = detail::scratch_md_ctx();
    unsigned char inner_hash[max_mac_size];
    unsigned int n = 0;
    const bool ok = EVP_MD_CTX_copy_ex(ctx, state_->inner.get()) &&
                    EVP_DigestUpdate(ctx, data.data(), data.size()) &&
                    EVP_DigestFinal_ex(ctx, inner_hash, &n) &&
                    EVP_MD_CTX_copy_ex(ctx, state_->outer.get()) &&
                    EVP_DigestUpdate(ctx, inner_hash, n) && EVP_DigestFinal_ex(ctx, out, &n);
    if (!ok) detail::throw_openssl("tokenauth: HMAC computation failed");
  }

  // Constant-time check of a received MAC; a MAC of the wrong length never matches.
  bool verify(std::string_view data, const unsigned char* mac, std::size_t n) const {
    if (n != size()) return false;
    unsigned char expected[max_mac_size];
    compute(data, expected);
    return CRYPTO_memcmp(expected, mac, n) == 0;
  }

 private:
  static std::shared_ptr<const detail::hmac_state> make_state(std::string_view secret,
                                                              algorithm alg) {
    if (key_type_of(alg) != key_type::oct)
      throw std::system_error(make_error_code(errc::key_unsuitable));
    if (secret.size() < mac_size(alg))
      throw std::system_error(make_error_code(errc::key_too_short));
    return std::make_shared<const detail::hmac_state>(alg, secret);
  }

  std::shared_ptr<const detail::hmac_state> state_;
};

}  // namespace tokenauth

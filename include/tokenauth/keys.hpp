// Signing and verification keys bound to exactly one JWS algorithm, and key sets by kid.
//
// One key model for every algorithm (RFC 8725 §2.1, §3.1): a key knows its type and its one
// algorithm, checked when it is made (RSA modulus >= 2048 bits, the algorithm's own curve, an
// Edwards key for EdDSA), so an RSA or EC key can never act as an HMAC secret and a token's
// header cannot pick another algorithm for it. Keys come from an HMAC secret, PEM text (SPKI
// public or PKCS#8 private) or an OpenSSL EVP_PKEY; JWK/JWKS parsing is in jwk.hpp.
//
// A key is parsed once into a prepared form: an EVP_MD_CTX already initialised for
// DigestVerify (and DigestSign for private keys), copied into a per-thread scratch context for
// each operation. Measured on this project's 2-core build machine (OpenSSL 3.0.19, -O2, CPU
// time per verify of a 200-byte input, median of 3):
//
//                      RS256    PS256    ES256    Ed25519
//   fresh init per op  22.5 us  25.1 us  72.7 us  120.8 us   EVP_DigestVerifyInit_ex each time
//   copy of template   19.4 us  21.0 us  71.6 us  116.6 us   EVP_MD_CTX_copy_ex (chosen)
//   per-thread reinit  19.9 us  (fails)  72.5 us  116.3 us   Init again with pkey NULL
//   EVP_PKEY_CTX_dup   19.3 us  20.7 us  69.0 us     n/a     prehash + dup of a verify ctx
//   per-thread PKEY_CTX 19.3 us 20.5 us  69.5 us     n/a     prehash + one reused ctx
//
// The template copy is within noise of the best for RSA and EdDSA and 3% behind for ECDSA,
// needs no per-thread cache keyed by key (whose entries would outlive their keys), works for
// EdDSA (which has no prehash form), and reads the shared template only, so it is thread-safe.
//
// key and key_set are immutable once built and cheap to copy (shared state); every const
// member is safe to call from many threads at once.
#pragma once

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "tokenauth/algorithm.hpp"
#include "tokenauth/detail/ecdsa_signature.hpp"
#include "tokenauth/detail/key_state.hpp"
#include "tokenauth/detail/openssl.hpp"
#include "tokenauth/error.hpp"
#include "tokenauth/hmac.hpp"
#include "tokenauth/result.hpp"

namespace tokenauth {

// A signing/verification key bound to exactly one algorithm. Immutable; copies share state.
class key {
 public:
  // An HMAC key (implicit, so existing HS call sites keep working).
  key(hmac_key k)  // NOLINT(google-explicit-constructor)
      : state_(std::make_shared<detail::key_state>()) {
    state_->alg = k.alg();
    state_->is_private = true;
    state_->signature_size = k.size();
    state_->hmac = std::move(k);
  }

  // errc::key_unsuitable when alg is not HS*, errc::key_too_short when the secret is shorter
  // than the hash output.
  static result<key> hmac(std::string_view secret, algorithm alg = algorithm::hs256) {
    auto k = hmac_key::make(secret, alg);
    if (!k) return k.error();
    return key(std::move(*k));
  }

  // PEM text: "PUBLIC KEY" (SPKI) or "PRIVATE KEY" (PKCS#8, unencrypted). errc::key_invalid
  // when the text does not parse, errc::key_unsuitable when the key does not suit alg: RSA of
  // at least 2048 bits for RS*/PS*, the algorithm's curve for ES* (P-256/P-384/P-521), Ed25519
  // or Ed448 for EdDSA; an HMAC algorithm never takes a PEM key.
  static result<key> from_pem(std::string_view pem, algorithm alg) {
    if (key_type_of(alg) == key_type::oct) return errc::key_unsuitable;
    if (pem.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      return errc::key_invalid;
    const detail::bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) throw std::bad_alloc();
    // No password prompt, ever: an encrypted key fails to parse.
    auto no_password = [](char*, int, int, void*) { return 0; };
    detail::pkey_ptr pkey(pem.find("-----BEGIN PUBLIC KEY-----") != std::string_view::npos
                              ? PEM_read_bio_PUBKEY(bio.get(), nullptr, no_password, nullptr)
                              : PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
    ERR_clear_error();
    if (!pkey) return errc::key_invalid;
    return make(std::move(pkey), alg);
  }

  // An OpenSSL key; the tokenauth key takes its own reference. Same checks as from_pem.
  static result<key> from_evp_pkey(EVP_PKEY* pkey, algorithm alg) {
    if (!pkey) return errc::key_invalid;
    if (key_type_of(alg) == key_type::oct) return errc::key_unsuitable;
    if (EVP_PKEY_up_ref(pkey) != 1) throw std::bad_alloc();
    return make(detail::pkey_ptr(pkey), alg);
  }

  algorithm alg() const noexcept { return state_->alg; }
  key_type type() const noexcept { return key_type_of(state_->alg); }
  // HMAC, or an asymmetric key with its private part.
  bool can_sign() const noexcept { return state_->is_private; }
  // The OpenSSL key; nullptr for HMAC.
  const EVP_PKEY* evp_pkey() const noexcept { return state_->pkey.get(); }
  // Unique per constructed key; copies share it.
  std::uint64_t id() const noexcept { return state_->id; }

  // The same key without its private part (a new id); a public key returns itself. Throws
  // std::invalid_argument for HMAC, which has no public part.
  key public_key() const {
    if (!state_->pkey) throw std::invalid_argument("tokenauth: an HMAC key has no public part");
    if (!state_->is_private) return *this;
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(state_->pkey.get(), &der);
    if (len <= 0) detail::throw_openssl("tokenauth: cannot export the public key");
    const unsigned char* p = der;
    detail::pkey_ptr pub(d2i_PUBKEY(nullptr, &p, len));
    OPENSSL_free(der);
    if (!pub) detail::throw_openssl("tokenauth: cannot import the public key");
    auto k = make(std::move(pub), state_->alg);
    if (!k) throw std::system_error(k.error());
    return std::move(*k);
  }

  // Bytes of a signature: the MAC size, the RSA modulus size, 2 * the curve size for ECDSA
  // (raw R||S), 64 for Ed25519, 114 for Ed448.
  std::size_t signature_size() const noexcept { return state_->signature_size; }

  // Writes the JWS signature of `data` (signature_size() bytes) to out. Throws
  // std::system_error(errc::key_cannot_sign) for a public key.
  void sign(std::string_view data, unsigned char* out) const {
    const detail::key_state& s = *state_;
    if (s.hmac) return s.hmac->compute(data, out);
    if (!s.is_private) throw std::system_error(make_error_code(errc::key_cannot_sign));
    EVP_MD_CTX* ctx = detail::scratch_md_ctx();
    unsigned char der[detail::max_ecdsa_der_size];
    unsigned char* dest = s.ecdsa_half ? der : out;
    std::size_t len = s.ecdsa_half ? sizeof der : s.signature_size;
    const bool ok =
        EVP_MD_CTX_copy_ex(ctx, s.sign_template.get()) == 1 &&
        EVP_DigestSign(ctx, dest, &len, reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) == 1 &&
        (s.ecdsa_half ? detail::ecdsa_der_to_raw(der, len, s.ecdsa_half, out)
                      : len == s.signature_size);
    EVP_MD_CTX_reset(ctx);  // drop the copy's key reference now
    if (!ok) detail::throw_openssl("tokenauth: signing failed");
  }

  // Whether sig is a valid signature of data; false for a signature of the wrong length, and,
  // for ECDSA, anything but raw R||S of exactly the curve's size (DER is refused). HMAC MACs
  // are compared in constant time.
  bool verify(std::string_view data, const unsigned char* sig, std::size_t n) const {
    const detail::key_state& s = *state_;
    if (s.hmac) return s.hmac->verify(data, sig, n);
    if (n != s.signature_size) return false;
    unsigned char der[detail::max_ecdsa_der_size];
    if (s.ecdsa_half) {
      n = detail::ecdsa_raw_to_der(sig, n, s.ecdsa_half, der, sizeof der);
      if (n == 0) return false;
      sig = der;
    }
    EVP_MD_CTX* ctx = detail::scratch_md_ctx();
    if (EVP_MD_CTX_copy_ex(ctx, s.verify_template.get()) != 1)
      detail::throw_openssl("tokenauth: cannot copy the verify context");
    const int r = EVP_DigestVerify(ctx, sig, n, reinterpret_cast<const unsigned char*>(data.data()),
                                   data.size());
    EVP_MD_CTX_reset(ctx);  // drop the copy's key reference now
    if (r != 1) ERR_clear_error();
    return r == 1;
  }

 private:
  explicit key(std::shared_ptr<detail::key_state> s) : state_(std::move(s)) {}

  static result<key> make(detail::pkey_ptr pkey, algorithm alg) {
    if (!detail::suits(pkey.get(), alg)) return errc::key_unsuitable;
    auto s = std::make_shared<detail::key_state>();
    s->alg = alg;
    s->is_private = detail::has_private_part(pkey.get());
    switch (key_type_of(alg)) {
      case key_type::rsa:
        s->signature_size = static_cast<std::size_t>(EVP_PKEY_get_size(pkey.get()));
        break;
      case key_type::ec:
        s->ecdsa_half = (static_cast<std::size_t>(EVP_PKEY_get_bits(pkey.get())) + 7) / 8;
        s->signature_size = 2 * s->ecdsa_half;
        break;
      default:
        s->signature_size = EVP_PKEY_is_a(pkey.get(), "ED25519") ? 64 : 114;
    }
    s->verify_template = detail::prepared_context(pkey.get(), alg, false);
    if (s->is_private) s->sign_template = detail::prepared_context(pkey.get(), alg, true);
    s->pkey = std::move(pkey);
    return key(std::move(s));
  }

  std::shared_ptr<detail::key_state> state_;
};

// Keys by kid, for rotation and for key sets published by an identity provider. kid is only
// ever looked up here (RFC 8725 §3.10), never used as a path or query.
class key_set {
 public:
  using map_type = std::map<std::string, key, std::less<>>;

  key_set& add(std::string kid, key k) {
    keys_.insert_or_assign(std::move(kid), std::move(k));
    return *this;
  }
  // The key for tokens without a kid.
  key_set& add_default(key k) {
    default_ = std::move(k);
    return *this;
  }

  const key* find(std::string_view kid) const {
    const auto it = keys_.find(kid);
    return it == keys_.end() ? nullptr : &it->second;
  }
  const key* default_key() const noexcept { return default_ ? &*default_ : nullptr; }
  bool empty() const noexcept { return keys_.empty() && !default_; }
  // Keys with a kid (what begin()..end() visits); the default key is not counted.
  std::size_t size() const noexcept { return keys_.size(); }

  // (kid, key) pairs in kid order, e.g. to publish a JWKS.
  map_type::const_iterator begin() const noexcept { return keys_.begin(); }
  map_type::const_iterator end() const noexcept { return keys_.end(); }

 private:
  map_type keys_;
  std::optional<key> default_;
};

}  // namespace tokenauth

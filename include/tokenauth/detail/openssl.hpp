// RAII owners for the OpenSSL handles tokenauth uses, and the per-thread scratch context that
// HMAC and SHA-256 share (each call finishes with it before returning). Internal: not API.
#pragma once

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <memory>
#include <new>
#include <system_error>

namespace tokenauth::detail {

template <class T, void (*Free)(T*)>
struct openssl_deleter {
  void operator()(T* p) const noexcept { Free(p); }
};

using md_ptr = std::unique_ptr<EVP_MD, openssl_deleter<EVP_MD, EVP_MD_free>>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, openssl_deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using pkey_ctx_ptr =
    std::unique_ptr<EVP_PKEY_CTX, openssl_deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO, BIO_free_all>>;
using ecdsa_sig_ptr = std::unique_ptr<ECDSA_SIG, openssl_deleter<ECDSA_SIG, ECDSA_SIG_free>>;
using bignum_ptr = std::unique_ptr<BIGNUM, openssl_deleter<BIGNUM, BN_free>>;

[[noreturn]] inline void throw_openssl(const char* what) {
  ERR_clear_error();
  throw std::system_error(std::make_error_code(std::errc::not_supported), what);
}

inline md_ctx_ptr new_md_ctx() {
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  if (!ctx) throw std::bad_alloc();
  return ctx;
}

// One scratch context per thread, reused by every digest: no allocation per call, and no two
// threads ever touch the same one.
inline EVP_MD_CTX* scratch_md_ctx() {
  thread_local const md_ctx_ptr ctx = new_md_ctx();
  return ctx.get();
}

}  // namespace tokenauth::detail

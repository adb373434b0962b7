// RAII owners for the OpenSSL digest handles tokenauth uses, and the per-thread scratch context
// that HMAC and SHA-256 share (each call finishes with it before returning). Internal: not API.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <new>

namespace tokenauth::detail {

struct md_deleter {
  void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
};
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using md_ptr = std::unique_ptr<EVP_MD, md_deleter>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

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

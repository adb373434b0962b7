// The saved inner and outer digest states of an HMAC key (RFC 2104), computed once per key by
// hmac.hpp's hmac_key. Internal: not API.
#pragma once

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "tokenauth/algorithm.hpp"
#include "tokenauth/detail/openssl.hpp"

namespace tokenauth::detail {

struct hmac_state {
  algorithm alg;
  md_ctx_ptr inner;  // SHA state after absorbing key ^ ipad
  md_ctx_ptr outer;  // SHA state after absorbing key ^ opad

  hmac_state(algorithm a, std::string_view secret)
      : alg(a), inner(new_md_ctx()), outer(new_md_ctx()) {
    const md_ptr md(EVP_MD_fetch(nullptr, digest_name(a), nullptr));
    if (!md) throw_openssl("tokenauth: digest unavailable");
    const std::size_t block = static_cast<std::size_t>(EVP_MD_get_block_size(md.get()));

    unsigned char key[128] = {};  // zero-padded key block (largest block: SHA-512's 128 bytes)
    if (secret.size() > block) {
      unsigned int n = 0;
      if (!EVP_Digest(secret.data(), secret.size(), key, &n, md.get(), nullptr))
        throw_openssl("tokenauth: digest failed");
    } else {
      std::copy(secret.begin(), secret.end(), key);
    }
    unsigned char pad[128];
    bool ok = true;
    for (std::size_t i = 0; i < block; ++i) pad[i] = key[i] ^ 0x36;
    ok = ok && EVP_DigestInit_ex(inner.get(), md.get(), nullptr) &&
         EVP_DigestUpdate(inner.get(), pad, block);
    for (std::size_t i = 0; i < block; ++i) pad[i] = key[i] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(outer.get(), md.get(), nullptr) &&
         EVP_DigestUpdate(outer.get(), pad, block);
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(pad, sizeof pad);
    if (!ok) throw_openssl("tokenauth: HMAC key schedule failed");
  }
};

}  // namespace tokenauth::detail

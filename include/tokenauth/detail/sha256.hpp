// SHA-256 through OpenSSL on the per-thread scratch context: the digest stores keep of a refresh
// token, and the key of a verify_cache entry. Internal: not API.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <stdexcept>
#include <string_view>

#include "tokenauth/detail/openssl.hpp"

namespace tokenauth::detail {

using sha256_digest = std::array<unsigned char, 32>;

// SHA-256 fetched once (explicit fetch avoids a provider lookup per digest).
inline const EVP_MD* sha256_md() {
  static const md_ptr md{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
  if (!md) throw std::runtime_error("tokenauth: OpenSSL has no SHA256");
  return md.get();
}

// On the per-thread scratch context: a rotation hashes twice, and a fresh context per digest
// costs more than hashing an 80-byte token.
inline sha256_digest sha256(std::string_view data) {
  EVP_MD_CTX* ctx = scratch_md_ctx();
  sha256_digest out{};
  unsigned int n = 0;
  if (EVP_DigestInit_ex2(ctx, sha256_md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &n) != 1 || n != out.size())
    throw std::runtime_error("tokenauth: SHA-256 failed");
  return out;
}

}  // namespace tokenauth::detail

// The floor under public-key sign and verify: plain OpenSSL 3 EVP calls over a token's exact
// signing input (header.payload), with the key parsed once and the digest fetched once. One
// iteration is EVP_DigestVerifyInit + EVP_DigestVerify (or the Sign pair); no base64url, no JSON,
// no header check, and for ECDSA the signature is converted from JWS's raw R||S to DER once,
// before the loop. Whatever a JWT library spends beyond this is its own overhead.
// The floor is the textbook loop on purpose. Copying a context prepared once (EVP_MD_CTX_copy_ex,
// what tokenauth's key does) skips the per-call algorithm fetch and measured ~1 us faster for
// RS256 (20.6 against 21.5 us in one run), so tokenauth can come out slightly above 1x the floor.
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_jwt.hpp"
#include "tokenauth/base64url.hpp"

#ifndef TOKENAUTH_BENCH_KEY_DIR
#error "TOKENAUTH_BENCH_KEY_DIR must name tests/vectors/keys (benchmarks/CMakeLists.txt sets it)"
#endif

namespace bench {
namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct md_deleter {
  void operator()(EVP_MD* p) const noexcept { EVP_MD_free(p); }
};
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct bio_deleter {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct ecdsa_sig_deleter {
  void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using md_ptr = std::unique_ptr<EVP_MD, md_deleter>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;
using ecdsa_sig_ptr = std::unique_ptr<ECDSA_SIG, ecdsa_sig_deleter>;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("bench_jwt: cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

pkey_ptr parse_pem(const std::string& pem, key_part part) {
  const bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  pkey_ptr key(part == key_part::private_key
                   ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                   : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) throw std::runtime_error("bench_jwt: not a PEM key");
  return key;
}

// Everything the floor prepares once per algorithm.
struct prepared_key {
  pkey_ptr private_key, public_key;
  md_ptr md;         // null for EdDSA (one-shot, no separate digest)
  bool pss = false;  // PS*: PSS padding, salt length = digest length (RFC 7518 §3.5)
  std::size_t ecdsa_half_size = 0;  // ES*: bytes of R (and of S) in the raw JWS signature
};

const prepared_key& prepared(const pk_algorithm& alg) {
  static std::map<std::string_view, prepared_key> cache;  // benchmarks run on one thread
  auto it = cache.find(alg.name);
  if (it != cache.end()) return it->second;
  prepared_key p;
  p.private_key = parse_pem(key_pem(alg, key_part::private_key), key_part::private_key);
  p.public_key = parse_pem(key_pem(alg, key_part::public_key), key_part::public_key);
  const std::string_view family = alg.name.substr(0, 2), bits = alg.name.substr(2);
  if (family != "Ed") {
    const std::string digest = "SHA" + std::string(bits);
    p.md.reset(EVP_MD_fetch(nullptr, digest.c_str(), nullptr));
    if (!p.md) throw std::runtime_error("bench_jwt: no digest " + digest);
  }
  p.pss = family == "PS";
  if (family == "ES") p.ecdsa_half_size = (EVP_PKEY_get_bits(p.public_key.get()) + 7) / 8;
  return cache.emplace(alg.name, std::move(p)).first->second;
}

EVP_PKEY_CTX* init(EVP_MD_CTX* ctx, const prepared_key& key, bool sign) {
  EVP_PKEY_CTX* pctx = nullptr;
  const int ok =
      sign ? EVP_DigestSignInit(ctx, &pctx, key.md.get(), nullptr, key.private_key.get())
           : EVP_DigestVerifyInit(ctx, &pctx, key.md.get(), nullptr, key.public_key.get());
  if (ok != 1) return nullptr;
  if (key.pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
    return nullptr;
  return pctx;
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

bool digest_verify(EVP_MD_CTX* ctx, const prepared_key& key, std::string_view input,
                   const std::string& signature) {
  return init(ctx, key, false) != nullptr &&
         EVP_DigestVerify(ctx, bytes(signature), signature.size(), bytes(input), input.size()) == 1;
}

bool digest_sign(EVP_MD_CTX* ctx, const prepared_key& key, std::string_view input,
                 std::string& signature) {
  std::size_t size = signature.size();
  if (init(ctx, key, true) == nullptr ||
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &size, bytes(input),
                     input.size()) != 1)
    return false;
  signature.resize(size);
  return true;
}

// JWS ECDSA signatures are R||S, each left-padded to the curve size (RFC 7518 §3.4); OpenSSL
// verifies DER. Empty on malformed input.
std::string raw_to_der(std::string_view raw, std::size_t half) {
  if (raw.size() != 2 * half) return {};
  const ecdsa_sig_ptr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes(raw), static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(bytes(raw) + half, static_cast<int>(half), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  std::string der(static_cast<std::size_t>(i2d_ECDSA_SIG(sig.get(), nullptr)), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_ECDSA_SIG(sig.get(), &out);
  return der;
}

// The signature of a JWS as OpenSSL verifies it (DER for ECDSA); empty when malformed.
std::string openssl_signature(const prepared_key& key, std::string_view token) {
  const auto raw = tokenauth::base64url::decode(token.substr(token.rfind('.') + 1));
  if (!raw) return {};
  return key.ecdsa_half_size ? raw_to_der(*raw, key.ecdsa_half_size) : *raw;
}

std::string_view signing_input(std::string_view token) {
  return token.substr(0, token.rfind('.'));
}

}  // namespace

const std::string& key_pem(const pk_algorithm& alg, key_part part) {
  static std::map<std::string, std::string, std::less<>> cache;
  const std::string file = std::string(alg.key) + (part == key_part::public_key ? ".pub" : "");
  auto it = cache.find(file);
  if (it == cache.end())
    it = cache.emplace(file, read_file(TOKENAUTH_BENCH_KEY_DIR "/" + file + ".pem")).first;
  return it->second;
}

namespace {

void BM_openssl_verify(benchmark::State& state, const pk_algorithm& alg) {
  const prepared_key& key = prepared(alg);
  const std::string& t = pk_token(alg);
  const std::string_view input = signing_input(t);
  const std::string signature = openssl_signature(key, t);
  const md_ctx_ptr ctx(EVP_MD_CTX_new());
  bool ok = true;
  for (auto _ : state) ok &= digest_verify(ctx.get(), key, input, signature);
  if (!ok) state.SkipWithError("OpenSSL rejected the signature");
  state.SetItemsProcessed(state.iterations());
}

void BM_openssl_sign(benchmark::State& state, const pk_algorithm& alg) {
  const prepared_key& key = prepared(alg);
  const std::string_view input = signing_input(pk_token(alg));
  const std::size_t max_size = static_cast<std::size_t>(EVP_PKEY_get_size(key.private_key.get()));
  const md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::string signature;
  bool ok = true;
  for (auto _ : state) {
    signature.resize(max_size);
    ok &= digest_sign(ctx.get(), key, input, signature);
    benchmark::DoNotOptimize(signature.data());
  }
  ok = ok && digest_verify(ctx.get(), key, input, signature);
  if (!ok) state.SkipWithError("OpenSSL signing failed");
  state.SetItemsProcessed(state.iterations());
}

// What libjwt and cpp-jwt pay on every verify (public key) and sign (private key) before any
// cryptography: their APIs take the key as PEM text and parse it per call.
void BM_openssl_parse_pem(benchmark::State& state, const pk_algorithm& alg, key_part part) {
  const std::string& pem = key_pem(alg, part);
  for (auto _ : state) {
    const pkey_ptr key = parse_pem(pem, part);
    benchmark::DoNotOptimize(key.get());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_openssl_parse_public_pem(benchmark::State& state, const pk_algorithm& alg) {
  BM_openssl_parse_pem(state, alg, key_part::public_key);
}

void BM_openssl_parse_private_pem(benchmark::State& state, const pk_algorithm& alg) {
  BM_openssl_parse_pem(state, alg, key_part::private_key);
}

// Once per key file: RS512 and PS256 share RS256's key.
bool first_with_its_key(const pk_algorithm& alg) {
  for (const pk_algorithm& other : pk_algorithms)
    if (other.key == alg.key) return other.name == alg.name;
  return false;
}

[[maybe_unused]] const bool parse_registered =
    register_per_algorithm("openssl_parse_public_pem", BM_openssl_parse_public_pem,
                           first_with_its_key) &&
    register_per_algorithm("openssl_parse_private_pem", BM_openssl_parse_private_pem,
                           first_with_its_key);

[[maybe_unused]] const bool registered =
    register_per_algorithm("openssl_sign", BM_openssl_sign) &&
    register_per_algorithm("openssl_verify", BM_openssl_verify);

}  // namespace
}  // namespace bench

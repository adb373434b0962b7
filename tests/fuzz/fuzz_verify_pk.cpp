// Public-key token verification with fixed RS256, ES256 and EdDSA keys (PEM files in
// TOKENAUTH_FUZZ_KEY_DIR), each alone and all three in a key set selected by kid.
// Inputs starting with '!' are "!Mheader\npayload" texts that the target signs first, so the
// fuzzer also explores everything behind the signature check; (M - '0') % 5 picks how:
//   '0' RS256, '1' ES256 (raw R||S), '2' EdDSA: a genuine signature of that key;
//   '3' HMAC-SHA256 keyed with the RSA public key's PEM text (the classic key-confusion forgery);
//   '4' ES256 with the DER signature OpenSSL produces instead of JWS's raw R||S.
// Any other input is verified as a token as it is. Invariants: no crash; a token accepted by a
// verifier carries that verifier's alg (or, in the key set, the alg of the key its kid names)
// and claims that nlohmann reads the same way; forgeries '3' and '4' are never accepted.
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_check.hpp"
#include "tokenauth/base64url.hpp"
#include "tokenauth/jwt.hpp"
#include "tokenauth/keys.hpp"

#ifndef TOKENAUTH_FUZZ_KEY_DIR
#error "TOKENAUTH_FUZZ_KEY_DIR must name the directory of the test keys"
#endif

using namespace tokenauth;

namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct ecdsa_sig_deleter {
  void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};
struct bio_deleter {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

std::string read_key_file(const char* name) {
  const std::string path = std::string(TOKENAUTH_FUZZ_KEY_DIR) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("fuzz_verify_pk: cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// One fixed key: the private half for the target's own signatures, a verifier of the public half.
struct fixed_key {
  algorithm alg;
  pkey_ptr private_key;
  key public_key;
  std::string public_pem;

  fixed_key(algorithm a, const char* stem)
      : alg(a),
        private_key(parse_private(read_key_file((std::string(stem) + ".pem").c_str()))),
        public_key(key::from_evp_pkey(private_key.get(), a).value().public_key()),
        public_pem(read_key_file((std::string(stem) + ".pub.pem").c_str())) {
    FUZZ_CHECK(key::from_pem(public_pem, a).has_value());
  }

  static pkey_ptr parse_private(const std::string& pem) {
    const std::unique_ptr<BIO, bio_deleter> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    pkey_ptr k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!k) throw std::runtime_error("fuzz_verify_pk: bad private key");
    return k;
  }
};

verify_options options(std::vector<algorithm> algorithms) {
  verify_options o;
  o.clock = [] { return unix_seconds{1'700'000'000}; };
  o.leeway = 5;
  o.algorithms = std::move(algorithms);
  return o;
}

struct fixture {
  fixed_key rs{algorithm::rs256, "rsa2048"};
  fixed_key es{algorithm::es256, "p256"};
  fixed_key ed{algorithm::eddsa, "ed25519"};
  // Every verifier allows all four algorithms, so only the key's own binding stops a swap.
  const std::vector<algorithm> all{algorithm::rs256, algorithm::es256, algorithm::eddsa,
                                   algorithm::hs256};
  verifier rs_only{rs.public_key, options(all)};
  verifier es_only{es.public_key, options(all)};
  verifier ed_only{ed.public_key, options(all)};
  verifier by_kid{
      key_set().add("rs", rs.public_key).add("es", es.public_key).add("ed", ed.public_key),
      options(all)};
};

const fixture& keys() {
  static const fixture f;
  return f;
}

std::string sign(const fixed_key& k, std::string_view input, bool raw_ecdsa) {
  const std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
  const EVP_MD* md = k.alg == algorithm::eddsa ? nullptr : EVP_sha256();
  std::size_t size = static_cast<std::size_t>(EVP_PKEY_get_size(k.private_key.get()));
  std::string sig(size, '\0');
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  FUZZ_CHECK(EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, k.private_key.get()) == 1);
  FUZZ_CHECK(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, data,
                            input.size()) == 1);
  sig.resize(size);
  if (k.alg != algorithm::es256 || !raw_ecdsa) return sig;
  // DER -> R||S, 32 bytes each (RFC 7518 §3.4).
  const auto* der = reinterpret_cast<const unsigned char*>(sig.data());
  const std::unique_ptr<ECDSA_SIG, ecdsa_sig_deleter> parsed(
      d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size())));
  FUZZ_CHECK(parsed != nullptr);
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  FUZZ_CHECK(BN_bn2binpad(ECDSA_SIG_get0_r(parsed.get()), out, 32) == 32);
  FUZZ_CHECK(BN_bn2binpad(ECDSA_SIG_get0_s(parsed.get()), out + 32, 32) == 32);
  return raw;
}

std::string hmac_with_pem(const std::string& pem, std::string_view input) {
  const hmac_key k(pem);
  unsigned char mac[max_mac_size];
  k.compute(input, mac);
  return {reinterpret_cast<char*>(mac), k.size()};
}

// The header's alg, as nlohmann reads it ("" when absent or not a string).
std::string header_alg(std::string_view token) {
  const auto header = base64url::decode(token.substr(0, token.find('.')));
  FUZZ_CHECK(header.has_value());
  const nlohmann::json h = nlohmann::json::parse(*header);  // throws (= crash) if invalid
  FUZZ_CHECK(h.is_object());
  return h.contains("alg") && h["alg"].is_string() ? h["alg"].get<std::string>() : "";
}

void check_accepted(const claims& c, std::string_view token, algorithm expected_alg) {
  FUZZ_CHECK(header_alg(token) == to_string(expected_alg));
  const nlohmann::json dom = nlohmann::json::parse(c.json_text());  // throws (= crash) if invalid
  FUZZ_CHECK(dom.is_object());
  FUZZ_CHECK(dom.contains("exp") && dom["exp"].is_number());
  if (dom.contains("sub")) FUZZ_CHECK(c.sub() == dom["sub"].get<std::string>());
  if (dom.contains("iss")) FUZZ_CHECK(c.iss() == dom["iss"].get<std::string>());
  for (auto it = dom.begin(); it != dom.end(); ++it)
    if (it.value().is_string()) FUZZ_CHECK(c.string(it.key()) == it.value().get<std::string>());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fixture& f = keys();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string token(input);
  bool forged = false;
  if (input.size() >= 2 && input.front() == '!') {
    const int mode = static_cast<unsigned char>(input[1] - '0') % 5;
    input.remove_prefix(2);
    const std::size_t nl = input.find('\n');
    const std::string_view header = input.substr(0, nl);
    const std::string_view payload = nl == std::string_view::npos ? "" : input.substr(nl + 1);
    token = base64url::encode(header) + "." + base64url::encode(payload);
    std::string signature;
    switch (mode) {
      case 0:
        signature = sign(f.rs, token, true);
        break;
      case 1:
        signature = sign(f.es, token, true);
        break;
      case 2:
        signature = sign(f.ed, token, true);
        break;
      case 3:
        signature = hmac_with_pem(f.rs.public_pem, token);
        forged = true;
        break;
      default:
        signature = sign(f.es, token, false);
        forged = true;
    }
    token += "." + base64url::encode(signature);
  }

  const std::pair<const verifier*, algorithm> single[] = {
      {&f.rs_only, f.rs.alg}, {&f.es_only, f.es.alg}, {&f.ed_only, f.ed.alg}};
  for (const auto& [v, alg] : single) {
    const verify_result r = v->verify(token);
    FUZZ_CHECK(!(forged && r));
    if (r) check_accepted(*r, token, alg);
    const verify_result lax = v->verify_allow_expired(token);
    if (r) FUZZ_CHECK(lax.has_value());
    FUZZ_CHECK(!(forged && lax));
    if (lax) check_accepted(*lax, token, alg);
  }
  const verify_result r = f.by_kid.verify(token);
  FUZZ_CHECK(!(forged && r));
  if (r) {
    const key* selected = f.by_kid.key_for(*r);
    FUZZ_CHECK(selected != nullptr);
    check_accepted(*r, token, selected->alg());
  }
  return 0;
}

// JWK and JWKS parsing on arbitrary bytes. Inputs starting with '!' are parsed with an RSA
// default algorithm (the rest of the input is the document). Invariants: no crash and no throw;
// every used key serializes to a public JWK without private members that parses back to the
// same key; every skipped key has a reason.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "tokenauth/jwk.hpp"

using namespace tokenauth;

namespace {

void check_key(const key& k, std::string_view kid) {
  if (!k.evp_pkey()) return;  // an HMAC key has no public JWK
  const std::string text = to_jwk(k, kid);
  for (const char* secret : {"\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\""})
    FUZZ_CHECK(text.find(secret) == std::string::npos);
  const auto back = parse_jwk(text);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->alg() == k.alg());
  FUZZ_CHECK(!back->can_sign());
  FUZZ_CHECK(EVP_PKEY_eq(back->evp_pkey(), k.evp_pkey()) == 1);
  FUZZ_CHECK(jwk_thumbprint(*back) == jwk_thumbprint(k));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  jwk_options options;
  if (!text.empty() && text.front() == '!') {
    options.rsa_algorithm = algorithm::ps256;
    text.remove_prefix(1);
  }
  if (const auto set = parse_jwks(text, options)) {
    for (const auto& [kid, k] : set->keys) check_key(k, kid);
    for (const auto& s : set->skipped) FUZZ_CHECK(!s.reason.empty());
  }
  if (const auto k = parse_jwk(text, options)) check_key(*k, "fuzz");
  return 0;
}

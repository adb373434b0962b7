// jwk.hpp: JWK and JWKS parsing (RFC 7517, RFC 7518 §6, RFC 8037), serialization of public
// parts, and RFC 7638 thumbprints.
#include "tokenauth/jwk.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "tokenauth/jwt.hpp"

using namespace tokenauth;
using nlohmann::json;

namespace {

std::string vector_file(const std::string& name) {
  std::ifstream in(std::string(TOKENAUTH_VECTORS_DIR) + "/" + name);
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json vector_json(const std::string& name) {
  return json::parse(vector_file(name));
}

// The RFC 7517 A.1 RSA public key (also RFC 7638 §3.1's example).
json rsa_public() {
  return vector_json("jwk/rfc7517-a1.json")["keys"][1];
}
json ec_private() {  // RFC 7517 A.2's EC key, made a signing key
  json j = vector_json("jwk/rfc7517-a2.json")["keys"][0];
  j.erase("use");
  return j;
}
json ed25519_private() {
  return vector_json("jwk/rfc8037-a1.json");
}

// The reason parse_jwks gives for the single JWK `j`, or "" when it was used.
std::string skip_reason(const json& j, const jwk_options& options = {}) {
  const auto set = parse_jwks(json{{"keys", {j}}}.dump(), options);
  REQUIRE(set);
  if (set->skipped.empty()) return "";
  REQUIRE(set->skipped.size() == 1);
  return set->skipped[0].reason;
}

json with(json j, const std::string& name, json value) {
  j[name] = std::move(value);
  return j;
}
json without(json j, const std::string& name) {
  j.erase(name);
  return j;
}

std::string b64(const std::string& bytes) {
  return base64url::encode(bytes);
}

// An RSA key of `bits` made by OpenSSL, as a public JWK without alg.
json openssl_rsa_jwk(unsigned bits) {
  const detail::pkey_ptr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{bits}));
  REQUIRE(pkey);
  return {{"kty", "RSA"},
          {"n", detail::b64_bignum(pkey.get(), OSSL_PKEY_PARAM_RSA_N)},
          {"e", detail::b64_bignum(pkey.get(), OSSL_PKEY_PARAM_RSA_E)}};
}

}  // namespace

TEST_CASE("RFC 7517 A.1: the RSA key is used, the encryption key is skipped") {
  const auto set = parse_jwks(vector_file("jwk/rfc7517-a1.json"));
  REQUIRE(set);
  CHECK(set->keys.size() == 1);
  const key* k = set->keys.find("2011-04-29");
  REQUIRE(k);
  CHECK(k->alg() == algorithm::rs256);
  CHECK_FALSE(k->can_sign());
  REQUIRE(set->skipped.size() == 1);
  CHECK(set->skipped[0].kid == "1");
  CHECK(set->skipped[0].reason == R"(use is "enc")");
}

TEST_CASE("RFC 7517 A.2: private keys sign and the matching public keys verify") {
  const auto priv = parse_jwks(vector_file("jwk/rfc7517-a2.json"));
  const auto pub = parse_jwks(vector_file("jwk/rfc7517-a1.json"));
  REQUIRE(priv);
  REQUIRE(pub);
  const key* k = priv->keys.find("2011-04-29");
  REQUIRE(k);
  CHECK(k->can_sign());
  CHECK(priv->skipped.size() == 1);  // the "enc" EC key

  signer_options so;
  so.kid = "2011-04-29";
  const std::string token = signer(*k, so).sign(claim_set().set("sub", "alice"));
  verify_options vo;
  vo.algorithms = {algorithm::rs256};
  const auto claims = verifier(pub->keys, vo).verify(token);
  REQUIRE(claims);
  CHECK(claims->sub() == "alice");

  // The A.2 EC key, once it may sign, signs ES256 tokens its A.1 public half verifies.
  const auto ec = parse_jwk(ec_private().dump());
  REQUIRE(ec);
  CHECK(ec->alg() == algorithm::es256);
  CHECK(ec->can_sign());
  const auto ec_pub = parse_jwk(without(ec_private(), "d").dump());
  REQUIRE(ec_pub);
  vo.algorithms = {algorithm::es256};
  CHECK(verifier(*ec_pub, vo).verify(signer(*ec).sign(claim_set())));
}

TEST_CASE("RFC 7517 B: the key comes from n and e, and x5c is not a key source") {
  const std::string text = vector_file("jwk/rfc7517-b.json");
  // RSA without alg fits RS* and PS* alike: refused unless the caller names one.
  CHECK(parse_jwk(text).error() == errc::key_unsuitable);
  jwk_options options;
  options.rsa_algorithm = algorithm::rs256;
  const auto k = parse_jwk(text, options);
  REQUIRE(k);
  CHECK(k->alg() == algorithm::rs256);
  const json out = json::parse(to_jwk(*k, "1b94c"));
  CHECK(out["n"] == vector_json("jwk/rfc7517-b.json")["n"]);
  CHECK_FALSE(out.contains("x5c"));

  // With x5c naming another key entirely, the key is still the one of n and e.
  json other = vector_json("jwk/rfc7517-b.json");
  other["n"] = rsa_public()["n"];
  const auto k2 = parse_jwk(other.dump(), options);
  REQUIRE(k2);
  CHECK(json::parse(to_jwk(*k2))["n"] == rsa_public()["n"]);

  CHECK(skip_reason(vector_json("jwk/rfc7517-b.json")).find("RSA key without alg") !=
        std::string::npos);
  CHECK(skip_reason(vector_json("jwk/rfc7517-b.json"), options).empty());
}

TEST_CASE("RFC 7638 3.1: the thumbprint of the example RSA key") {
  const auto k = parse_jwk(rsa_public().dump());
  REQUIRE(k);
  CHECK(jwk_thumbprint(*k) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST_CASE("RFC 8037 A.1-A.4: the Ed25519 key pair, its thumbprint and its signature") {
  const auto priv = parse_jwk(vector_file("jwk/rfc8037-a1.json"));
  const auto pub = parse_jwk(vector_file("jwk/rfc8037-a2.json"));
  REQUIRE(priv);
  REQUIRE(pub);
  CHECK(priv->alg() == algorithm::eddsa);
  CHECK(priv->can_sign());
  CHECK_FALSE(pub->can_sign());
  CHECK(EVP_PKEY_eq(priv->evp_pkey(), pub->evp_pkey()) == 1);
  CHECK(jwk_thumbprint(*pub) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  CHECK(jwk_thumbprint(*priv) == jwk_thumbprint(*pub));

  // A.4: Ed25519 is deterministic, so the signature is exactly the RFC's.
  const std::string input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
  const std::string expected =
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
  std::string sig(priv->signature_size(), '\0');
  priv->sign(input, reinterpret_cast<unsigned char*>(sig.data()));
  CHECK(b64(sig) == expected);
  CHECK(pub->verify(input, reinterpret_cast<const unsigned char*>(sig.data()), sig.size()));
}

TEST_CASE("round trip JWK -> key -> JWK for every key type and curve") {
  const char* const files[][2] = {{"rsa2048.pub.pem", "RS256"}, {"rsa2048.pub.pem", "PS512"},
                                  {"p256.pub.pem", "ES256"},    {"p384.pub.pem", "ES384"},
                                  {"p521.pub.pem", "ES512"},    {"ed25519.pub.pem", "EdDSA"},
                                  {"ed448.pub.pem", "EdDSA"}};
  for (const auto& [file, alg_name] : files) {
    INFO(file << " " << alg_name);
    const auto alg = algorithm_from_string(alg_name);
    REQUIRE(alg);
    const auto k = key::from_pem(vector_file(std::string("keys/") + file), *alg);
    REQUIRE(k);
    const std::string text = to_jwk(*k, "k1");
    const json j = json::parse(text);
    CHECK(j["alg"] == alg_name);
    CHECK(j["kid"] == "k1");
    CHECK(j["use"] == "sig");
    const auto back = parse_jwk(text);
    REQUIRE(back);
    CHECK(back->alg() == *alg);
    CHECK(EVP_PKEY_eq(back->evp_pkey(), k->evp_pkey()) == 1);
    CHECK(to_jwk(*back, "k1") == text);
    CHECK(jwk_thumbprint(*back) == jwk_thumbprint(*k));
    // Without a kid, the thumbprint is the kid.
    CHECK(json::parse(to_jwk(*k))["kid"] == jwk_thumbprint(*k));
  }
}

TEST_CASE("private members are never serialized") {
  const auto set = parse_jwks(vector_file("jwk/rfc7517-a2.json"));
  REQUIRE(set);
  const key* rsa = set->keys.find("2011-04-29");
  REQUIRE(rsa);
  const auto ec = parse_jwk(ec_private().dump());
  const auto ed = parse_jwk(ed25519_private().dump());
  REQUIRE(ec);
  REQUIRE(ed);
  key_set keys = set->keys;
  keys.add("ec", *ec).add("ed", *ed).add("hs", key(hmac_key(std::string(32, 's'))));
  for (const std::string& text :
       {to_jwk(*rsa), to_jwk(*ec), to_jwk(*ed), json::parse(to_jwks(keys))["keys"].dump()}) {
    INFO(text);
    for (const char* secret : {"\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"", "\"k\""})
      CHECK(text.find(secret) == std::string::npos);
  }
  const auto reparsed = parse_jwks(to_jwks(keys));
  REQUIRE(reparsed);
  CHECK(reparsed->keys.size() == 3);  // the HMAC key is not published
  CHECK(reparsed->skipped.empty());
  for (const auto& [kid, k] : reparsed->keys) CHECK_FALSE(k.can_sign());
  CHECK_THROWS_AS(to_jwk(key(hmac_key(std::string(32, 's')))), std::invalid_argument);
  CHECK_THROWS_AS(jwk_thumbprint(key(hmac_key(std::string(32, 's')))), std::invalid_argument);
}

TEST_CASE("to_jwks publishes a default key that no kid names, under its thumbprint") {
  const key pub = parse_jwk(vector_file("jwk/rfc8037-a2.json")).value();
  const key rsa = parse_jwk(rsa_public().dump()).value();
  key_set keys;
  keys.add("rsa", rsa).add_default(pub);
  const json doc = json::parse(to_jwks(keys));
  REQUIRE(doc["keys"].size() == 2);
  CHECK(doc["keys"][0]["kid"] == "rsa");
  CHECK(doc["keys"][1]["kid"] == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  keys.add("named", pub);  // the same key under a kid: listed once
  CHECK(json::parse(to_jwks(keys))["keys"].size() == 2);
}

TEST_CASE("JWKS: a key without kid gets its thumbprint, and a repeated kid is skipped") {
  const json ed = vector_json("jwk/rfc8037-a2.json");
  const auto set = parse_jwks(json{{"keys", {ed}}}.dump());
  REQUIRE(set);
  CHECK(set->keys.find("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"));

  const json first = with(ed, "kid", "same");
  const json second = with(without(ec_private(), "d"), "kid", "same");
  const auto dup = parse_jwks(json{{"keys", {first, second}}}.dump());
  REQUIRE(dup);
  REQUIRE(dup->keys.find("same"));
  CHECK(dup->keys.find("same")->alg() == algorithm::eddsa);  // the first one wins
  REQUIRE(dup->skipped.size() == 1);
  CHECK(dup->skipped[0].kid == "same");
  CHECK(dup->skipped[0].reason == "kid already used by an earlier key");

  // A skipped key does not take its kid: a later usable key with the same kid is used.
  const auto after_skip = parse_jwks(json{{"keys", {with(first, "use", "enc"), second}}}.dump());
  REQUIRE(after_skip);
  REQUIRE(after_skip->keys.find("same"));
  CHECK(after_skip->keys.find("same")->alg() == algorithm::es256);
}

TEST_CASE("JWKS: unusable keys are skipped with a reason") {
  const json rsa = rsa_public();
  const json ec = without(ec_private(), "d");
  const json ed = vector_json("jwk/rfc8037-a2.json");
  std::string y = *base64url::decode(ec["y"].get<std::string>());
  y[31] ^= 1;  // no longer on the curve
  std::string x31 = *base64url::decode(ec["x"].get<std::string>());
  x31.pop_back();
  const std::string ed_private_other_x =
      with(ed25519_private(), "x", ec["x"]).dump();  // 32 bytes, but not d's public key
  std::string n = *base64url::decode(rsa["n"].get<std::string>());
  const std::string n_bytes = n;
  n.back() ^= 1;  // even

  const std::pair<json, std::string> cases[] = {
      {with(rsa, "use", "enc"), R"(use is "enc")"},
      {with(rsa, "key_ops", {"encrypt", "wrapKey"}), "key_ops allows neither sign nor verify"},
      {with(rsa, "key_ops", "verify"), "key_ops is not an array"},
      {with(rsa, "key_ops", {"verify", 1}), "key_ops has a non-string"},
      {with(rsa, "kty", "RSA-PSS"), R"(unsupported kty "RSA-PSS")"},
      {without(rsa, "kty"), "kty is missing"},
      {with(rsa, "kty", 1), "kty is not a string"},
      {with(rsa, "kid", 7), "kid is not a string"},
      {with(rsa, "use", true), "use is not a string"},
      {with(rsa, "alg", "RS1024"), R"(unsupported alg "RS1024")"},
      {with(rsa, "alg", "none"), R"(unsupported alg "none")"},
      {with(rsa, "alg", "ES256"), "alg ES256 does not suit kty RSA"},
      {with(rsa, "alg", "HS256"), "alg HS256 does not suit kty RSA"},
      {with(ec, "alg", "ES384"), "alg ES384 does not suit crv P-256"},
      {with(ec, "crv", "P-192"), R"(unsupported crv "P-192")"},
      {with(ec, "crv", "Ed25519"), R"(unsupported crv "Ed25519")"},
      {with(ed, "crv", "X25519"), R"(unsupported crv "X25519")"},
      {without(ec, "crv"), "crv is missing"},
      {without(ec, "y"), "y is missing"},
      {with(ec, "x", b64(x31)), "x has 31 bytes, not 32"},
      {with(ec, "y", b64(y)), "not a valid public key"},
      {with(rsa, "n", b64(n)), "not a valid public key"},
      {with(rsa, "e", b64(std::string("\x01\x00\x00", 3))), "not a valid public key"},  // even
      {with(rsa, "e", b64("\x01")), "not a valid public key"},
      {with(rsa, "e", b64(n_bytes)), "not a valid public key"},  // e = n
      {with(ec, "x", "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4="), "x is not base64url"},
      {with(rsa, "n", "0vx7+goeb"), "n is not base64url"},
      {with(rsa, "e", ""), "e is not base64url"},
      {without(rsa, "n"), "n is missing"},
      {with(ec_private(), "d", "AAAA"), "d has 3 bytes, not 32"},
      {json::parse(ed_private_other_x), "private key does not match its public part"},
      {without(vector_json("jwk/rfc7517-a2.json")["keys"][1], "p"), "p is missing"},
      {with(rsa, "oth", json::array()), "multi-prime RSA (oth)"},
      {with(openssl_rsa_jwk(1024), "alg", "RS256"), "key does not suit the algorithm"},
      {json{{"kty", "oct"}, {"k", b64(std::string(32, 'k'))}, {"kid", "h"}}, "oct key without alg"},
      {json{{"kty", "oct"}, {"k", b64(std::string(16, 'k'))}, {"kid", "h"}, {"alg", "HS256"}},
       "key too short for the algorithm"},
      {json{{"kty", "oct"}, {"k", b64(std::string(32, 'k'))}, {"kid", "h"}, {"alg", "RS256"}},
       "alg RS256 does not suit kty oct"},
      {json(42), "not a JSON object"},
      {json::array(), "not a JSON object"},
  };
  for (const auto& [jwk, reason] : cases) {
    INFO(jwk.dump());
    CHECK(skip_reason(jwk) == reason);
    CHECK_FALSE(parse_jwk(jwk.dump()));
  }
  // A JWKS needs a kid for an oct key (its thumbprint would publish a hash of the secret);
  // a lone JWK does not.
  const json oct = {{"kty", "oct"}, {"k", b64(std::string(32, 'k'))}, {"alg", "HS256"}};
  CHECK(skip_reason(oct) == "oct key without kid");
  CHECK(parse_jwk(oct.dump()));
  // The kid of a skipped entry is reported when it has one.
  const auto set = parse_jwks(json{{"keys", {with(with(rsa, "use", "enc"), "kid", "k9")}}}.dump());
  REQUIRE(set);
  CHECK(set->skipped.at(0).kid == "k9");
}

TEST_CASE("parse_jwk: an RSA public key is accepted or refused the same way every time") {
  // An odd n of 2048+ bits that is a product of many primes just above OpenSSL's trial-division
  // bound: OpenSSL's randomized public check finds a factor in some runs and not in others.
  const detail::bignum_ptr n(BN_new()), p(BN_new());
  const std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx(BN_CTX_new(), BN_CTX_free);
  REQUIRE((n && p && ctx && BN_set_word(n.get(), 1) == 1));
  for (BN_ULONG candidate = 1021; BN_num_bits(n.get()) < 2048; candidate += 2) {
    REQUIRE(BN_set_word(p.get(), candidate) == 1);
    if (BN_check_prime(p.get(), ctx.get(), nullptr) == 1)
      REQUIRE(BN_mul(n.get(), n.get(), p.get(), ctx.get()) == 1);
  }
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(n.get())), '\0');
  BN_bn2bin(n.get(), reinterpret_cast<unsigned char*>(bytes.data()));
  const std::string jwk = with(rsa_public(), "n", b64(bytes)).dump();
  const bool first = parse_jwk(jwk).has_value();
  for (int i = 0; i < 50; ++i) CHECK(parse_jwk(jwk).has_value() == first);
}

TEST_CASE("parse_jwk: error codes say which kind of failure it was") {
  CHECK(parse_jwk("{").error() == errc::key_invalid);
  CHECK(parse_jwk(with(rsa_public(), "n", 5).dump()).error() == errc::key_invalid);
  CHECK(parse_jwk(with(rsa_public(), "use", "enc").dump()).error() == errc::key_unsuitable);
  CHECK(parse_jwk(with(rsa_public(), "alg", "ES256").dump()).error() == errc::key_unsuitable);
  CHECK(parse_jwk(json{{"kty", "oct"}, {"k", b64("short")}, {"alg", "HS256"}}.dump()).error() ==
        errc::key_too_short);
  // An oct key is an HMAC key bound to its alg.
  const auto hs =
      parse_jwk(json{{"kty", "oct"}, {"k", b64(std::string(48, 'k'))}, {"alg", "HS384"}}.dump());
  REQUIRE(hs);
  CHECK(hs->alg() == algorithm::hs384);
  CHECK(hs->evp_pkey() == nullptr);
  // Members the JWK does not need are ignored, unknown ones included.
  CHECK(parse_jwk(with(rsa_public(), "x5u", "https://example.com/x").dump()));
  CHECK(parse_jwk(with(rsa_public(), "ext", true).dump()));
}

TEST_CASE("parse_jwks: a malformed document is an error value, never a throw") {
  const std::string deep(100000, '[');
  const std::string bad_utf8 = "{\"keys\":[{\"kty\":\"\xff\"}]}";
  const std::string huge = "{\"keys\":[" + std::string(max_jwks_size, ' ') + "]}";
  for (const std::string& text :
       {std::string(), std::string("not json"), std::string("[]"), std::string("{}"),
        std::string(R"({"keys":{}})"), std::string(R"({"keys":"x"})"), std::string(R"({"keys":[)"),
        std::string(R"({"keys":[]} trailing)"), deep, bad_utf8, huge}) {
    INFO(text.substr(0, 40));
    const auto r = parse_jwks(text);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::key_invalid);
  }
  // Deep nesting inside a valid document is one unusable entry, not a crash.
  const std::string nested =
      R"({"keys":[)" + std::string(400000, '[') + std::string(400000, ']') + "]}";
  const auto deep_entry = parse_jwks(nested);
  REQUIRE(deep_entry);
  REQUIRE(deep_entry->skipped.size() == 1);
  CHECK(deep_entry->skipped[0].reason == "not a JSON object");

  const auto empty = parse_jwks(R"({"keys":[]})");
  REQUIRE(empty);
  CHECK(empty->keys.empty());
  CHECK(empty->skipped.empty());
}

TEST_CASE("reuse_unchanged_keys keeps the key objects of keys a JWKS refresh did not change") {
  const json ed = with(vector_json("jwk/rfc8037-a2.json"), "kid", "ed");
  const json ec = with(without(ec_private(), "d"), "kid", "ec");
  const auto before = parse_jwks(json{{"keys", {ed, ec}}}.dump());
  // The refresh: "ed" unchanged, "ec" now another key (RFC 7517's P-256 key is replaced by the
  // Ed25519 one under the same kid), and a new "rsa".
  const auto after = parse_jwks(
      json{{"keys", {ed, with(ed, "kid", "ec"), with(rsa_public(), "kid", "rsa")}}}.dump());
  REQUIRE(before);
  REQUIRE(after);
  const key_set merged = reuse_unchanged_keys(before->keys, after->keys);
  REQUIRE(merged.size() == 3);
  CHECK(merged.find("ed")->id() == before->keys.find("ed")->id());
  CHECK(merged.find("ec")->id() == after->keys.find("ec")->id());
  CHECK(merged.find("ec")->alg() == algorithm::eddsa);
  CHECK(merged.find("rsa")->id() == after->keys.find("rsa")->id());
  // Same kid and key but another algorithm is another key.
  const auto ps =
      parse_jwks(json{{"keys", {with(with(rsa_public(), "kid", "rsa"), "alg", "PS256")}}}.dump());
  REQUIRE(ps);
  CHECK(reuse_unchanged_keys(merged, ps->keys).find("rsa")->id() == ps->keys.find("rsa")->id());
}

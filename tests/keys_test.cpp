// keys.hpp and algorithm.hpp, and public-key JWTs through jwt.hpp: loading and suitability
// checks, a round trip for every algorithm, the RFC 7515 / RFC 8037 vectors, the algorithm
// confusion defences of RFC 8725 §2.1 and §3.1, and explicit typing (RFC 8725 §3.11).
#include "tokenauth/keys.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tokenauth/jwt.hpp"

using namespace tokenauth;
using nlohmann::json;

namespace {

constexpr unix_seconds now = 1'700'000'000;

std::string read_vector(const std::string& name) {
  std::ifstream in(std::string(TOKENAUTH_VECTORS_DIR) + "/" + name, std::ios::binary);
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

key load(const std::string& name, algorithm alg) {
  const auto k = key::from_pem(read_vector(name), alg);
  INFO(name << " as " << to_string(alg) << ": " << k.error().message());
  REQUIRE(k);
  return *k;
}

// The committed test key for each public-key algorithm (private PKCS#8 PEM).
std::string key_file(algorithm alg) {
  switch (key_type_of(alg)) {
    case key_type::rsa:
      return "keys/rsa2048.pem";
    case key_type::ec:
      return alg == algorithm::es256   ? "keys/p256.pem"
             : alg == algorithm::es384 ? "keys/p384.pem"
                                       : "keys/p521.pem";
    default:
      return "keys/ed25519.pem";
  }
}

std::string public_file(algorithm alg) {
  std::string f = key_file(alg);
  return f.replace(f.size() - 4, 4, ".pub.pem");
}

verify_options accepting(std::vector<algorithm> algs) {
  verify_options o;
  o.clock = [] { return now; };
  o.algorithms = std::move(algs);
  return o;
}

std::string b64(std::string_view s) {
  return base64url::encode(s);
}

std::string b64(const std::vector<unsigned char>& bytes) {
  return base64url::encode({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

std::vector<unsigned char> signature_of(const key& k, std::string_view input) {
  std::vector<unsigned char> sig(k.signature_size());
  k.sign(input, sig.data());
  return sig;
}

// A token from exact header and payload text, signed by `k`.
std::string craft(std::string_view header, std::string_view payload, const key& k) {
  const std::string input = b64(header) + "." + b64(payload);
  return input + "." + b64(signature_of(k, input));
}

// A new P-256 key pair (EC key generation takes well under a millisecond).
key fresh_p256() {
  const detail::pkey_ptr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  REQUIRE(pkey);
  return key::from_evp_pkey(pkey.get(), algorithm::es256).value();
}

const std::string payload = R"({"sub":"u1","exp":)" + std::to_string(now + 60) + "}";

signer_options at_now(std::string kid = {}) {
  signer_options o;
  o.ttl = 60;
  o.clock = [] { return now; };
  o.kid = std::move(kid);
  return o;
}

std::vector<unsigned char> decode_signature(const std::string& token) {
  const auto sig = base64url::decode(token.substr(token.rfind('.') + 1));
  REQUIRE(sig);
  return {sig->begin(), sig->end()};
}

std::string with_signature(const std::string& token, const std::vector<unsigned char>& sig) {
  return token.substr(0, token.rfind('.') + 1) + b64(sig);
}

}  // namespace

TEST_CASE("algorithm names: exact round trip, none and case variants are not algorithms") {
  for (const algorithm a : all_algorithms) {
    CHECK(algorithm_from_string(to_string(a)) == a);
  }
  CHECK(to_string(algorithm::eddsa) == "EdDSA");
  CHECK(to_string(algorithm::ps384) == "PS384");
  for (const char* name : {"none", "None", "NONE", "nOnE", "", "hs256", "rs256", "EDDSA", "eddsa",
                           "Ed25519", "ES256K", "RS256 ", "HS1"})
    CHECK_FALSE(algorithm_from_string(name));
  CHECK(key_type_of(algorithm::hs384) == key_type::oct);
  CHECK(key_type_of(algorithm::ps512) == key_type::rsa);
  CHECK(key_type_of(algorithm::es512) == key_type::ec);
  CHECK(key_type_of(algorithm::eddsa) == key_type::okp);
  CHECK(to_string(key_type::okp) == "OKP");
  CHECK(digest_size(algorithm::es512) == 64);
  CHECK(digest_size(algorithm::eddsa) == 0);
}

TEST_CASE("PEM keys load for their own algorithm: type, can_sign, signature size") {
  struct expected {
    algorithm alg;
    key_type type;
    std::size_t signature_size;
  };
  for (const expected e :
       {expected{algorithm::rs256, key_type::rsa, 256},
        expected{algorithm::ps512, key_type::rsa, 256},
        expected{algorithm::es256, key_type::ec, 64}, expected{algorithm::es384, key_type::ec, 96},
        expected{algorithm::es512, key_type::ec, 132},
        expected{algorithm::eddsa, key_type::okp, 64}}) {
    INFO(to_string(e.alg));
    const key priv = load(key_file(e.alg), e.alg);
    const key pub = load(public_file(e.alg), e.alg);
    CHECK(priv.alg() == e.alg);
    CHECK(priv.type() == e.type);
    CHECK(priv.can_sign());
    CHECK_FALSE(pub.can_sign());
    CHECK(priv.signature_size() == e.signature_size);
    CHECK(pub.signature_size() == e.signature_size);
    CHECK(priv.evp_pkey() != nullptr);
    CHECK(EVP_PKEY_eq(priv.evp_pkey(), pub.evp_pkey()) == 1);
  }
  const key ed448 = load("keys/ed448.pem", algorithm::eddsa);
  CHECK(ed448.signature_size() == 114);
  CHECK(ed448.can_sign());
  CHECK_FALSE(load("keys/ed448.pub.pem", algorithm::eddsa).can_sign());
  const key h = key::hmac(std::string(32, 'k')).value();
  CHECK(h.type() == key_type::oct);
  CHECK(h.can_sign());
  CHECK(h.evp_pkey() == nullptr);
  CHECK(h.signature_size() == 32);
}

TEST_CASE("keys are refused for an algorithm they do not suit") {
  SECTION("an RSA key below 2048 bits is refused at load") {
    CHECK(key::from_pem(read_vector("keys/rsa1024.pem"), algorithm::rs256).error() ==
          errc::key_unsuitable);
    CHECK(key::from_pem(read_vector("keys/rsa1024.pub.pem"), algorithm::ps256).error() ==
          errc::key_unsuitable);
    const key big = load("keys/rsa2048.pem", algorithm::rs256);
    CHECK(EVP_PKEY_get_bits(big.evp_pkey()) == 2048);
  }
  SECTION("an EC key only for its own curve") {
    CHECK(key::from_pem(read_vector("keys/p256.pub.pem"), algorithm::es384).error() ==
          errc::key_unsuitable);
    CHECK(key::from_pem(read_vector("keys/p384.pub.pem"), algorithm::es256).error() ==
          errc::key_unsuitable);
    CHECK(key::from_pem(read_vector("keys/p521.pub.pem"), algorithm::es384).error() ==
          errc::key_unsuitable);
    CHECK(key::from_pem(read_vector("keys/secp256k1.pub.pem"), algorithm::es256).error() ==
          errc::key_unsuitable);
  }
  SECTION("a key of another type") {
    CHECK(key::from_pem(read_vector("keys/rsa2048.pub.pem"), algorithm::es256).error() ==
          errc::key_unsuitable);
    CHECK(key::from_pem(read_vector("keys/p256.pub.pem"), algorithm::rs256).error() ==
          errc::key_unsuitable);
    CHECK(key::from_pem(read_vector("keys/ed25519.pub.pem"), algorithm::ps256).error() ==
          errc::key_unsuitable);
    CHECK(key::from_pem(read_vector("keys/p256.pub.pem"), algorithm::eddsa).error() ==
          errc::key_unsuitable);
  }
  SECTION("an HMAC algorithm never takes a PEM key, and an HMAC key only an HS algorithm") {
    for (const algorithm hs : {algorithm::hs256, algorithm::hs384, algorithm::hs512})
      CHECK(key::from_pem(read_vector("keys/rsa2048.pub.pem"), hs).error() == errc::key_unsuitable);
    CHECK(key::hmac(std::string(64, 'k'), algorithm::rs256).error() == errc::key_unsuitable);
    CHECK(key::hmac("short").error() == errc::key_too_short);
    CHECK_THROWS_AS(hmac_key(std::string(64, 'k'), algorithm::es256), std::system_error);
  }
  SECTION("text that is not a usable PEM key") {
    for (const std::string& text :
         {std::string(), std::string("not a key"), std::string("-----BEGIN PUBLIC KEY-----\n"),
          read_vector("keys/p256.pub.pem").substr(0, 60) + "\n-----END PUBLIC KEY-----\n"}) {
      INFO(text);
      CHECK(key::from_pem(text, algorithm::es256).error() == errc::key_invalid);
    }
    CHECK(key::from_evp_pkey(nullptr, algorithm::rs256).error() == errc::key_invalid);
    CHECK(make_error_code(errc::key_invalid).message() == "key could not be parsed");
  }
  SECTION("an encrypted private key fails without asking for a password") {
    const key p256 = load("keys/p256.pem", algorithm::es256);
    const detail::bio_ptr bio(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio.get(), const_cast<EVP_PKEY*>(p256.evp_pkey()),
                                          EVP_aes_128_cbc(), nullptr, 0, nullptr,
                                          const_cast<char*>("password")) == 1);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    const std::string encrypted(data, static_cast<std::size_t>(len));
    REQUIRE(encrypted.find("ENCRYPTED PRIVATE KEY") != std::string::npos);
    CHECK(key::from_pem(encrypted, algorithm::es256).error() == errc::key_invalid);
  }
  SECTION("the same checks through from_evp_pkey, which takes its own reference") {
    EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
    REQUIRE(raw);
    CHECK(key::from_evp_pkey(raw, algorithm::es256).error() == errc::key_unsuitable);
    const auto k = key::from_evp_pkey(raw, algorithm::es384);
    EVP_PKEY_free(raw);  // the key keeps its own reference
    REQUIRE(k);
    CHECK(k->can_sign());
    CHECK(k->verify("x", signature_of(*k, "x").data(), k->signature_size()));
  }
}

TEST_CASE("every algorithm signs and verifies a round trip") {
  for (const algorithm alg : all_algorithms) {
    INFO(to_string(alg));
    const key priv = key_type_of(alg) == key_type::oct
                         ? key::hmac(std::string(64, 'h'), alg).value()
                         : load(key_file(alg), alg);
    const key pub = key_type_of(alg) == key_type::oct ? priv : priv.public_key();
    const std::string token = signer(priv, at_now()).sign(claim_set().set("sub", "u1"));
    // The header is the one the verifier's fast path expects, built in one place.
    CHECK(token.substr(0, token.find('.')) == b64(detail::jwt_header(alg)));
    CHECK(decode_signature(token).size() == priv.signature_size());
    const verifier v(pub, accepting({alg}));
    const auto r = v.verify(token);
    REQUIRE(r);
    CHECK(r->sub() == "u1");
    CHECK(r->exp() == now + 60);
    // The slow path (a header with a kid) reaches the same result.
    const std::string with_kid = signer(priv, at_now("k1")).sign(claim_set().set("sub", "u1"));
    CHECK(v.verify(with_kid));
    // Any change to the signed bytes fails.
    std::string tampered = token;
    tampered[token.find('.') + 2] ^= 1;
    CHECK(v.verify(tampered).error() == errc::invalid_signature);
    auto sig = decode_signature(token);
    sig[sig.size() / 2] ^= 0x40;
    CHECK(v.verify(with_signature(token, sig)).error() == errc::invalid_signature);
    // Not in the allow-list: invalid algorithm before any signature work.
    CHECK(verifier(pub, accepting({algorithm::hs256 == alg ? algorithm::hs384 : algorithm::hs256}))
              .verify(token)
              .error() == errc::invalid_algorithm);
  }
  // Ed448 under EdDSA.
  const key ed448 = load("keys/ed448.pem", algorithm::eddsa);
  const std::string t = signer(ed448, at_now()).sign(claim_set());
  CHECK(verifier(load("keys/ed448.pub.pem", algorithm::eddsa), accepting({algorithm::eddsa}))
            .verify(t));
  CHECK(verifier(load("keys/ed25519.pub.pem", algorithm::eddsa), accepting({algorithm::eddsa}))
            .verify(t)
            .error() == errc::invalid_signature);
}

TEST_CASE("signatures larger than the stack buffer (RSA 8448 bits: 1056 bytes) round-trip") {
  const key big = load("keys/rsa8448.pem", algorithm::ps512);
  REQUIRE(big.signature_size() > detail::stack_signature_size);
  const std::string token = signer(big, at_now()).sign(claim_set().set("sub", "big"));
  CHECK(decode_signature(token).size() == 1056);
  const verifier v(load("keys/rsa8448.pub.pem", algorithm::ps512), accepting({algorithm::ps512}));
  CHECK(v.verify(token)->sub() == "big");
  auto sig = decode_signature(token);
  sig.back() ^= 1;
  CHECK(v.verify(with_signature(token, sig)).error() == errc::invalid_signature);
  sig.pop_back();
  CHECK(v.verify(with_signature(token, sig)).error() == errc::invalid_signature);
}

TEST_CASE("key ids: unique per key, shared by copies, and public_key drops the private part") {
  const key a = load("keys/p256.pem", algorithm::es256);
  const key b = load("keys/p256.pem", algorithm::es256);
  const key copy = a;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(a.id() != b.id());
  CHECK(copy.id() == a.id());
  const key pub = a.public_key();
  CHECK(pub.id() != a.id());
  CHECK_FALSE(pub.can_sign());
  CHECK(pub.public_key().id() == pub.id());
  CHECK(pub.alg() == algorithm::es256);
  const hmac_key hk(std::string(32, 'k'));
  CHECK(key(hk).id() != key(hk).id());
  CHECK_THROWS_AS(key(hk).public_key(), std::invalid_argument);
}

TEST_CASE("confusion: a public key cannot sign") {
  const key pub = load("keys/rsa2048.pub.pem", algorithm::rs256);
  try {
    const signer s(pub);
    FAIL("signer accepted a public key");
  } catch (const std::system_error& e) {
    CHECK(e.code() == errc::key_cannot_sign);
    CHECK(std::string(e.what()).find("public key") != std::string::npos);
  }
  CHECK(signer::make(pub).error() == errc::key_cannot_sign);
  CHECK(signer::make(load("keys/rsa2048.pem", algorithm::rs256)));
  unsigned char out[256];
  CHECK_THROWS_AS(pub.sign("data", out), std::system_error);
}

TEST_CASE("RFC 7515 A.2: the RS256 vector verifies and RS256 signing reproduces it") {
  const json tokens = json::parse(read_vector("rfc7515-rfc8037-tokens.json"));
  const std::string compact = tokens["rfc7515_a2_rs256"];
  verify_options o = accepting({algorithm::rs256});
  o.clock = [] { return unix_seconds{1300819300}; };  // before the vector's exp
  const verifier v(load("rfc7515-a2-rsa.pub.pem", algorithm::rs256), o);
  const auto r = v.verify(compact);
  REQUIRE(r);
  CHECK(r->iss() == "joe");
  CHECK(r->exp() == 1300819380);
  // RSASSA-PKCS1-v1_5 is deterministic: the private key gives the RFC's signature bytes.
  const key priv = load("rfc7515-a2-rsa.pem", algorithm::rs256);
  const std::string input = compact.substr(0, compact.rfind('.'));
  CHECK(signature_of(priv, input) == decode_signature(compact));
  // The same key as PS256 does not accept the RS256 signature.
  const verifier ps(load("rfc7515-a2-rsa.pub.pem", algorithm::ps256),
                    accepting({algorithm::rs256, algorithm::ps256}));
  CHECK(ps.verify(compact).error() == errc::invalid_algorithm);
}

TEST_CASE("RFC 7515 A.3: the ES256 vector verifies") {
  const json tokens = json::parse(read_vector("rfc7515-rfc8037-tokens.json"));
  const std::string compact = tokens["rfc7515_a3_es256"];
  verify_options o = accepting({algorithm::es256});
  o.clock = [] { return unix_seconds{1300819300}; };
  const auto r = verifier(load("rfc7515-a3-p256.pub.pem", algorithm::es256), o).verify(compact);
  REQUIRE(r);
  CHECK(r->iss() == "joe");
  // The private key of A.3 verifies with its own fresh (randomised) signatures too.
  const key priv = load("rfc7515-a3-p256.pem", algorithm::es256);
  const std::string input = compact.substr(0, compact.rfind('.'));
  const auto sig = signature_of(priv, input);
  CHECK(sig != decode_signature(compact));
  CHECK(priv.public_key().verify(input, sig.data(), sig.size()));
}

TEST_CASE("RFC 8037 A.4 and A.5: Ed25519 signing is deterministic and the vector verifies") {
  const json tokens = json::parse(read_vector("rfc7515-rfc8037-tokens.json"));
  const std::string compact = tokens["rfc8037_a4_eddsa"];
  const std::string input = compact.substr(0, compact.rfind('.'));
  const auto expected = decode_signature(compact);
  // A.4: the signature of the RFC's private key is exactly the RFC's bytes.
  const key priv = load("rfc8037-a1-ed25519.pem", algorithm::eddsa);
  CHECK(signature_of(priv, input) == expected);
  // A.5: the public key verifies it, and nothing else.
  const key pub = load("rfc8037-a1-ed25519.pub.pem", algorithm::eddsa);
  CHECK(pub.verify(input, expected.data(), expected.size()));
  CHECK_FALSE(pub.verify(input + "x", expected.data(), expected.size()));
  CHECK_FALSE(pub.verify(input, expected.data(), expected.size() - 1));
  // The payload ("Example of Ed25519 signing") is no JWT claims set: the signature holds, then
  // the payload is refused.
  CHECK(verifier(pub, accepting({algorithm::eddsa})).verify(compact).error() ==
        errc::invalid_token);
}

TEST_CASE("confusion: HS256 signed with the RSA public key's PEM as HMAC secret fails") {
  const std::string pem = read_vector("keys/rsa2048.pub.pem");
  const key rsa = load("keys/rsa2048.pub.pem", algorithm::rs256);
  // The attacker's token: HS256, MAC keyed with the public PEM text.
  const std::string forged = craft(R"({"alg":"HS256","typ":"JWT"})", payload, hmac_key(pem));
  // Even a verifier that (wrongly) allows HS256 refuses: the RSA key fixes RS256.
  CHECK(verifier(rsa, accepting({algorithm::rs256, algorithm::hs256})).verify(forged).error() ==
        errc::invalid_algorithm);
  CHECK(verifier(rsa, accepting({algorithm::rs256})).verify(forged).error() ==
        errc::invalid_algorithm);
  key_set keys;
  keys.add("rsa", rsa).add_default(rsa);
  CHECK(verifier(keys, accepting({algorithm::rs256, algorithm::hs256}))
            .verify(craft(R"({"alg":"HS256","kid":"rsa"})", payload, hmac_key(pem)))
            .error() == errc::invalid_algorithm);
  // And a PEM can never become an HMAC key by way of key::from_pem.
  CHECK(key::from_pem(pem, algorithm::hs256).error() == errc::key_unsuitable);
}

TEST_CASE("confusion: RS256 and PS256 cannot stand in for each other") {
  const key rs = load("keys/rsa2048.pem", algorithm::rs256);
  const key ps = load("keys/rsa2048.pem", algorithm::ps256);
  const auto both = accepting({algorithm::rs256, algorithm::ps256});
  const std::string rs_token = signer(rs, at_now()).sign(claim_set());
  const std::string ps_token = signer(ps, at_now()).sign(claim_set());
  CHECK(verifier(rs.public_key(), both).verify(rs_token));
  CHECK(verifier(ps.public_key(), both).verify(ps_token));
  CHECK(verifier(rs.public_key(), both).verify(ps_token).error() == errc::invalid_algorithm);
  CHECK(verifier(ps.public_key(), both).verify(rs_token).error() == errc::invalid_algorithm);
  // Relabelled headers: the header names the key's algorithm, but the signature scheme is the
  // other one.
  const std::string input = b64(std::string_view(R"({"alg":"PS256"})")) + "." + b64(payload);
  CHECK(
      verifier(ps.public_key(), both).verify(input + "." + b64(signature_of(rs, input))).error() ==
      errc::invalid_signature);
  const std::string input_rs = b64(std::string_view(R"({"alg":"RS256"})")) + "." + b64(payload);
  CHECK(verifier(rs.public_key(), both)
            .verify(input_rs + "." + b64(signature_of(ps, input_rs)))
            .error() == errc::invalid_signature);
}

TEST_CASE("confusion: an ES256 token against a P-384 key fails") {
  const key p256 = load("keys/p256.pem", algorithm::es256);
  const key p384 = load("keys/p384.pub.pem", algorithm::es384);
  const std::string es256 = signer(p256, at_now("ec")).sign(claim_set());
  key_set keys;
  keys.add("ec", p384);
  CHECK(verifier(keys, accepting({algorithm::es256, algorithm::es384})).verify(es256).error() ==
        errc::invalid_algorithm);
  CHECK(verifier(p384, accepting({algorithm::es256, algorithm::es384})).verify(es256).error() ==
        errc::invalid_algorithm);
  // Relabelled as ES384, the 64-byte signature is not a P-384 signature.
  const std::string input = b64(std::string_view(R"({"alg":"ES384"})")) + "." + b64(payload);
  CHECK(verifier(p384, accepting({algorithm::es384}))
            .verify(input + "." + b64(signature_of(p256, input)))
            .error() == errc::invalid_signature);
  // And a P-384 key cannot even be loaded for ES256.
  CHECK(key::from_pem(read_vector("keys/p384.pub.pem"), algorithm::es256).error() ==
        errc::key_unsuitable);
}

TEST_CASE("confusion: alg none in any case never passes") {
  const key rsa = load("keys/rsa2048.pub.pem", algorithm::rs256);
  const key hs = key::hmac(std::string(32, 's')).value();
  for (const char* none : {"none", "None", "NONE", "nOnE", "NoNe"}) {
    const std::string header = std::string(R"({"alg":")") + none + R"(","typ":"JWT"})";
    INFO(header);
    const std::string unsigned_token = b64(header) + "." + b64(payload) + ".";
    CHECK(verifier(rsa, accepting({algorithm::rs256})).verify(unsigned_token).error() ==
          errc::invalid_algorithm);
    CHECK(verifier(hs, accepting({algorithm::hs256})).verify(unsigned_token).error() ==
          errc::invalid_algorithm);
    // With a signature segment too.
    CHECK(verifier(rsa, accepting({algorithm::rs256}))
              .verify(unsigned_token + b64(std::string_view("sig")))
              .error() == errc::invalid_algorithm);
  }
}

TEST_CASE("confusion: jwk, jku, x5u and x5c headers are never a key source") {
  const key victim = load("keys/p256.pem", algorithm::es256);
  const verifier v(victim.public_key(), accepting({algorithm::es256}));
  // The attacker's own P-256 key, embedded in the header as a JWK.
  const detail::pkey_ptr attacker_pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  REQUIRE(attacker_pkey);
  const key attacker = key::from_evp_pkey(attacker_pkey.get(), algorithm::es256).value();
  auto coordinate = [&](const char* name) {
    BIGNUM* bn = nullptr;
    REQUIRE(EVP_PKEY_get_bn_param(attacker_pkey.get(), name, &bn) == 1);
    std::vector<unsigned char> bytes(32);
    BN_bn2binpad(bn, bytes.data(), 32);
    BN_free(bn);
    return b64(bytes);
  };
  const std::string jwk = R"({"kty":"EC","crv":"P-256","x":")" +
                          coordinate(OSSL_PKEY_PARAM_EC_PUB_X) + R"(","y":")" +
                          coordinate(OSSL_PKEY_PARAM_EC_PUB_Y) + R"("})";
  const std::vector<std::string> headers = {
      R"({"alg":"ES256","typ":"JWT","jwk":)" + jwk + "}",
      R"({"alg":"ES256","jku":"https://attacker.example/jwks.json"})",
      R"({"alg":"ES256","x5u":"https://attacker.example/cert.pem"})",
      R"({"alg":"ES256","x5c":["MIIBszCCAVmgAwIBAgIUAttacker"]})",
      R"({"alg":"ES256","jwk":)" + jwk + R"(,"jku":"https://attacker.example/k","x5c":["AA"]})",
  };
  for (const std::string& header : headers) {
    INFO(header);
    CHECK(v.verify(craft(header, payload, attacker)).error() == errc::invalid_signature);
    // The members are simply ignored: the verifier's own key still decides.
    CHECK(v.verify(craft(header, payload, victim)));
  }
}

TEST_CASE("confusion: ECDSA signatures must be raw R||S of the curve's size") {
  for (const algorithm alg : {algorithm::es256, algorithm::es384, algorithm::es512}) {
    INFO(to_string(alg));
    const key k = load(key_file(alg), alg);
    const std::size_t half = k.signature_size() / 2;
    const verifier v(k.public_key(), accepting({alg}));
    const std::string token = signer(k, at_now()).sign(claim_set());
    const auto raw = decode_signature(token);
    REQUIRE(raw.size() == 2 * half);
    REQUIRE(v.verify(token));

    // DER-encoded (what OpenSSL itself produces) is refused.
    const detail::ecdsa_sig_ptr sig(ECDSA_SIG_new());
    ECDSA_SIG_set0(sig.get(), BN_bin2bn(raw.data(), static_cast<int>(half), nullptr),
                   BN_bin2bn(raw.data() + half, static_cast<int>(half), nullptr));
    std::vector<unsigned char> der(static_cast<std::size_t>(i2d_ECDSA_SIG(sig.get(), nullptr)));
    unsigned char* p = der.data();
    i2d_ECDSA_SIG(sig.get(), &p);
    CHECK(v.verify(with_signature(token, der)).error() == errc::invalid_signature);

    // Truncated by one byte, or missing s altogether.
    CHECK(v.verify(with_signature(token, {raw.begin(), raw.end() - 1})).error() ==
          errc::invalid_signature);
    CHECK(v.verify(with_signature(token, {raw.begin(), raw.begin() + half})).error() ==
          errc::invalid_signature);
    // Padded: an extra leading zero on the whole, or on each of r and s.
    std::vector<unsigned char> padded = raw;
    padded.insert(padded.begin(), 0);
    CHECK(v.verify(with_signature(token, padded)).error() == errc::invalid_signature);
    std::vector<unsigned char> each(1, 0);
    each.insert(each.end(), raw.begin(), raw.begin() + half);
    each.push_back(0);
    each.insert(each.end(), raw.begin() + half, raw.end());
    CHECK(v.verify(with_signature(token, each)).error() == errc::invalid_signature);
    // Trailing zero.
    std::vector<unsigned char> trailing = raw;
    trailing.push_back(0);
    CHECK(v.verify(with_signature(token, trailing)).error() == errc::invalid_signature);
    // All zero (r = s = 0 is never valid).
    CHECK(v.verify(with_signature(token, std::vector<unsigned char>(raw.size(), 0))).error() ==
          errc::invalid_signature);
  }
}

TEST_CASE("typ: JWT and at+jwt in any case, with or without application/, others refused") {
  const key hs = key::hmac(std::string(32, 's')).value();
  const verifier v(hs, accepting({algorithm::hs256}));
  auto with_typ = [&](const std::string& typ_json) {
    return craft(R"({"alg":"HS256","typ":)" + typ_json + "}", payload, hs);
  };
  SECTION("accepted by default") {
    for (const char* typ :
         {R"("JWT")", R"("jwt")", R"("Jwt")", R"("at+jwt")", R"("AT+JWT")", R"("application/jwt")",
          R"("Application/JWT")", R"("application/at+jwt")", R"("APPLICATION/AT+JWT")",
          R"("\u004aWT")"}) {
      INFO(typ);
      CHECK(v.verify(with_typ(typ)));
    }
    CHECK(v.verify(craft(R"({"alg":"HS256"})", payload, hs)));  // absent typ
  }
  SECTION("refused by default") {
    for (const char* typ :
         {R"("JOSE")", R"("JWS")", R"("")", R"("application/")", R"("application/jose")",
          R"(" JWT")", R"("JWT ")", R"("jwt+at")", R"("dpop+jwt")", R"("secevent+jwt")",
          R"("application/application/jwt")", R"("text/jwt")", "1", "null", R"(["JWT"])"}) {
      INFO(typ);
      const auto r = v.verify(with_typ(typ));
      CHECK(r.error() == errc::invalid_typ);
    }
    CHECK(make_error_code(errc::invalid_typ).message() == "jwt typ invalid");
  }
  SECTION("configurable: an empty list accepts any typ") {
    verify_options any = accepting({algorithm::hs256});
    any.accepted_typ.clear();
    CHECK(verifier(hs, any).verify(with_typ(R"("JOSE")")));
    CHECK(verifier(hs, any).verify(signer(hs, at_now()).sign(claim_set())));
  }
  SECTION("configurable: access tokens only") {
    verify_options at_only = accepting({algorithm::hs256});
    at_only.accepted_typ = {"application/at+jwt"};
    const verifier strict(hs, at_only);
    CHECK(strict.verify(with_typ(R"("at+jwt")")));
    CHECK(strict.verify(with_typ(R"("JWT")")).error() == errc::invalid_typ);
    // The signer's usual header says JWT: refused too (the fast path must not skip the check).
    CHECK(strict.verify(signer(hs, at_now()).sign(claim_set())).error() == errc::invalid_typ);
  }
}

TEST_CASE("key_set: find, default, size and iteration in kid order") {
  const key a = load("keys/p256.pub.pem", algorithm::es256);
  const key b = load("keys/ed25519.pub.pem", algorithm::eddsa);
  key_set keys;
  CHECK(keys.empty());
  keys.add("b", b).add("a", a);
  CHECK_FALSE(keys.empty());
  CHECK(keys.size() == 2);
  CHECK(keys.find("a")->id() == a.id());
  CHECK(keys.find("c") == nullptr);
  CHECK(keys.default_key() == nullptr);
  keys.add_default(b);
  CHECK(keys.size() == 2);  // the default key is not among the kid'd keys
  CHECK(keys.default_key()->id() == b.id());
  std::vector<std::string> kids;
  for (const auto& [kid, k] : keys) {
    kids.push_back(kid);
    CHECK(k.id() == (kid == "a" ? a.id() : b.id()));
  }
  CHECK(kids == std::vector<std::string>{"a", "b"});
  keys.add("a", b);  // replaces
  CHECK(keys.find("a")->id() == b.id());
}

TEST_CASE("verifier: key_for names the selected key, check_claims the time and claim checks") {
  const key ec = load("keys/p256.pem", algorithm::es256);
  const key ed = load("keys/ed25519.pem", algorithm::eddsa);
  key_set keys;
  keys.add("ec", ec.public_key()).add("", ed.public_key()).add_default(ec.public_key());
  verify_options o = accepting({algorithm::es256, algorithm::eddsa});
  o.issuer = "iss1";
  const verifier v(keys, o);
  const auto with_kid = v.verify(signer(ec, at_now("ec")).sign(claim_set().set("iss", "iss1")));
  REQUIRE(with_kid);
  CHECK(v.key_for(*with_kid)->id() == keys.find("ec")->id());
  const auto no_kid = v.verify(signer(ec, at_now()).sign(claim_set().set("iss", "iss1")));
  REQUIRE(no_kid);
  CHECK(v.key_for(*no_kid)->id() == keys.default_key()->id());
  // An empty kid is a kid: it selects the key added under "", not the default.
  const auto empty_kid =
      v.verify(craft(R"({"alg":"EdDSA","kid":""})",
                     R"({"iss":"iss1","exp":)" + std::to_string(now + 5) + "}", ed));
  REQUIRE(empty_kid);
  CHECK(v.key_for(*empty_kid)->alg() == algorithm::eddsa);

  CHECK(v.check_claims(*with_kid) == errc{});
  verify_options later = o;
  later.clock = [] { return now + 3600; };
  const verifier v_later(keys, later);
  CHECK(v_later.check_claims(*with_kid) == errc::expired);
  CHECK(v_later.check_claims(*with_kid, false) == errc{});
  verify_options other_iss = o;
  other_iss.issuer = "iss2";
  CHECK(verifier(keys, other_iss).check_claims(*with_kid) == errc::issuer_invalid);
  // A single-key verifier selects its key for any claims.
  const verifier single(ec.public_key(), o);
  CHECK(single.key_for(*with_kid) != nullptr);
  CHECK(single.key_for(*with_kid)->alg() == algorithm::es256);
}

TEST_CASE("8 threads share one public-key verifier and one signer") {
  const key k = load("keys/p256.pem", algorithm::es256);
  const signer s(k, at_now());
  const verifier v(k.public_key(), accepting({algorithm::es256}));
  const std::string other =
      signer(load("keys/p384.pem", algorithm::es384), at_now()).sign(claim_set());
  const std::string forged = craft(R"({"alg":"ES256"})", payload, fresh_p256());
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string sub = std::to_string(t) + "-" + std::to_string(i);
        const auto r = v.verify(s.sign(claim_set().set("sub", sub)));
        if (!r || r->sub() != sub) ++wrong;
        if (v.verify(forged).error() != errc::invalid_signature) ++wrong;
        if (v.verify(other).error() != errc::invalid_algorithm) ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
}

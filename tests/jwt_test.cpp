// jwt.hpp: signing, and each step of the verify order (docs/design.md, verify order).
#include "tokenauth/jwt.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

using namespace tokenauth;
using nlohmann::json;

namespace {

constexpr unix_seconds now = 1'700'000'000;
const std::string secret(32, 's');
const hmac_key hs_key(secret);

clock_fn fixed(unix_seconds t) {
  return [t] { return t; };
}

verify_options at(unix_seconds t) {
  verify_options o;
  o.clock = fixed(t);
  return o;
}

// Signer options by name: tokens issued at `t` that live `ttl` seconds, with `kid` when not empty.
signer_options issued_at(unix_seconds t, unix_seconds ttl, std::string kid = {}) {
  signer_options o;
  o.clock = fixed(t);
  o.ttl = ttl;
  o.kid = std::move(kid);
  return o;
}

std::string b64(std::string_view s) {
  return base64url::encode(s);
}

// A token from exact header and payload text, signed with `k` (or with `sig` when given).
std::string craft(std::string_view header, std::string_view payload, const hmac_key& k = hs_key) {
  std::string input = b64(header) + "." + b64(payload);
  unsigned char mac[max_mac_size];
  k.compute(input, mac);
  return input + "." + b64({reinterpret_cast<char*>(mac), k.size()});
}

const std::string hs256 = R"({"alg":"HS256","typ":"JWT"})";

std::string payload_exp(unix_seconds exp) {
  return R"({"id":"1","exp":)" + std::to_string(exp) + "}";
}

std::error_code verify_error(const std::string& token, const verify_options& o = at(now)) {
  return verifier(hs_key, o).verify(token).error();
}

}  // namespace

TEST_CASE("RFC 7515 A.1 vector verifies before its exp and expires after") {
  std::ifstream in(std::string(TOKENAUTH_VECTORS_DIR) + "/rfc7515-a1-hs256.json");
  REQUIRE(in);
  const json vector = json::parse(in);
  const hmac_key a1_key(*base64url::decode(vector["key_base64url"].get<std::string>()));
  const std::string compact = vector["compact"];

  const auto ok = verifier(a1_key, at(1300819379)).verify(compact);
  REQUIRE(ok);
  CHECK(ok->iss() == "joe");
  CHECK(ok->exp() == 1300819380);
  CHECK(ok->json_text() == vector["payload_utf8"].get<std::string>());
  CHECK(ok->json()["http://example.com/is_root"] == true);

  const auto late = verifier(a1_key).verify(compact);
  CHECK(late.error() == errc::expired);
  CHECK(late.error().message() == "jwt expired");
}

TEST_CASE("sign writes the fixed header, the claims, iat and exp from the clock") {
  const signer s(hs_key, issued_at(now, 600));
  const std::string token =
      s.sign(claim_set().set("id", "1").set("nick", "n\"ick").set("n", 7).set("e", ""));
  const auto parts_end = token.find('.');
  CHECK(base64url::decode(token.substr(0, parts_end)) == hs256);
  const auto r = verifier(hs_key, at(now)).verify(token);
  REQUIRE(r);
  CHECK(r->iat() == now);
  CHECK(r->exp() == now + 600);
  CHECK(r->string("id") == "1");
  CHECK(r->string("nick") == "n\"ick");
  CHECK(r->string("e") == "");
  CHECK_FALSE(r->string("n"));  // a number, not a string
  CHECK(r->contains("n"));
  CHECK_FALSE(r->contains("missing"));
  CHECK(
      r->json() ==
      json{{"id", "1"}, {"nick", "n\"ick"}, {"n", 7}, {"e", ""}, {"iat", now}, {"exp", now + 600}});
  CHECK(r->kid().empty());
}

TEST_CASE("sign(json) replaces iat and exp, claim_set refuses them and bad UTF-8") {
  const signer s(hs_key, issued_at(now, 60));
  const auto r =
      verifier(hs_key, at(now)).verify(s.sign(json{{"id", "2"}, {"exp", 1}, {"iat", 1}}));
  REQUIRE(r);
  CHECK(r->exp() == now + 60);
  CHECK(r->iat() == now);
  CHECK_THROWS_AS(s.sign(json::array()), std::invalid_argument);
  CHECK_THROWS_AS(claim_set().set("exp", 5), std::invalid_argument);
  CHECK_THROWS_AS(claim_set().set("name", "bad \xff utf8"), std::invalid_argument);
  CHECK_THROWS_AS(claim_set().set("name", "truncated \xc3"), std::invalid_argument);
  // Control characters and non-ASCII text round-trip exactly.
  const std::string odd =
      std::string("tab\t nl\n nul") + '\0' + " \x01 caf\xc3\xa9 \xf0\x9f\x98\x80 \\ /";
  const auto r2 = verifier(hs_key, at(now)).verify(s.sign(claim_set().set("name", odd)));
  REQUIRE(r2);
  CHECK(r2->string("name") == odd);
  CHECK(r2->json()["name"] == odd);
}

TEST_CASE("step 1: empty, oversize and misshapen tokens") {
  CHECK(verify_error("") == errc::token_missing);
  CHECK(verify_error("").message() == "jwt must be provided");
  verify_options small = at(now);
  small.max_token_size = 100;
  const std::string token =
      signer(hs_key, issued_at(now, 900)).sign(claim_set().set("name", std::string(200, 'x')));
  CHECK(verify_error(token, small) == errc::token_too_large);
  CHECK(verify_error(std::string(8193, 'a')) == errc::token_too_large);
  for (const char* bad : {"abc", "a.b", "a.b.c.d", "...", "a..b.c", "a.b.c"})
    CHECK(verify_error(bad) == errc::malformed);
  CHECK(verify_error("..") == errc::invalid_token);  // three segments; the empty header is no JSON
}

TEST_CASE("step 2: strict base64url in every segment (RFC 7515 §2)") {
  const std::string good = craft(hs256, payload_exp(now + 60));
  REQUIRE_FALSE(verify_error(good));
  const auto d1 = good.find('.'), d2 = good.rfind('.');
  CHECK(verify_error(good.substr(0, d1) + "=" + good.substr(d1)) == errc::malformed);
  CHECK(verify_error(good.substr(0, d2) + "." + good.substr(d2 + 1) + "=") == errc::malformed);
  CHECK(verify_error(" " + good) == errc::malformed);
  CHECK(verify_error(good.substr(0, d2 + 1) + "+" + good.substr(d2 + 2)) == errc::malformed);
  CHECK(verify_error(good + "\n") == errc::malformed);

  // A 32-byte MAC encodes to 43 characters whose last carries 2 unused bits: the other three
  // characters with the same 4 used bits must not verify (the token would not be canonical).
  const std::string sig = good.substr(d2 + 1);
  REQUIRE(sig.size() == 43);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const auto last = alphabet.find(sig.back());
  for (std::size_t low = 1; low < 4; ++low) {
    std::string forged = good;
    forged.back() = alphabet[(last & ~std::size_t{3}) | ((last + low) & 3)];
    CHECK(verify_error(forged) == errc::malformed);
  }
}

TEST_CASE("step 3: alg must be an accepted algorithm, never none (RFC 8725 §3.1)") {
  for (const char* alg :
       {R"("none")", R"("None")", R"("NONE")", R"("nOnE")", R"("HS384")", R"("HS512")",
        R"("RS256")", R"("ES256")", R"("hs256")", R"("HS256 ")", R"(" HS256")", R"(["HS256"])",
        "null", "256", "true", R"({"a":"HS256"})", R"("")"}) {
    const std::string header = std::string(R"({"alg":)") + alg + "}";
    INFO(header);
    CHECK(verify_error(craft(header, payload_exp(now + 60))) == errc::invalid_algorithm);
    // Unsigned variant, the classic alg=none attack.
    CHECK(verify_error(b64(header) + "." + b64(payload_exp(now + 60)) + ".") ==
          errc::invalid_algorithm);
  }
  CHECK(verify_error(craft(R"({"typ":"JWT"})", payload_exp(now + 60))) == errc::invalid_algorithm);
  CHECK(verify_error(craft("{}", payload_exp(now + 60))) == errc::invalid_algorithm);
  // Escapes decode like any JSON parser would: this is HS256.
  CHECK_FALSE(verify_error(craft(R"({"alg":"HS\u0032\u0035\u0036"})", payload_exp(now + 60))));
}

TEST_CASE("step 3: one key, one algorithm: the header cannot switch it (RFC 8725 §3.1)") {
  const hmac_key k384(std::string(48, 's'), algorithm::hs384);
  verify_options both = at(now);
  both.algorithms = {algorithm::hs256, algorithm::hs384};
  // An HS384 token made with the same secret is refused by an HS256 key even when HS384 is
  // accepted.
  const hmac_key same_secret_384(std::string(48, 's'), algorithm::hs384);
  CHECK(verifier(hs_key, both)
            .verify(craft(R"({"alg":"HS384"})", payload_exp(now + 1), same_secret_384))
            .error() == errc::invalid_algorithm);
  // HS384 with an HS384 key and HS384 accepted verifies; not accepted → invalid algorithm.
  const std::string t384 = signer(k384, issued_at(now, 60)).sign(claim_set());
  CHECK(verifier(k384, both).verify(t384));
  CHECK(verifier(k384, at(now)).verify(t384).error() == errc::invalid_algorithm);
  const hmac_key k512(std::string(64, 's'), algorithm::hs512);
  verify_options only512 = at(now);
  only512.algorithms = {algorithm::hs512};
  CHECK(verifier(k512, only512).verify(signer(k512, issued_at(now, 60)).sign(claim_set())));
}

TEST_CASE("step 3: header must be a UTF-8 JSON object without duplicates or crit (RFC 7515 §4)") {
  const std::string p = payload_exp(now + 60);
  for (const char* h :
       {"", "[]", "\"HS256\"", "null", "{", R"({"alg":"HS256"} x)", R"({"alg":"HS256",})",
        "not json", R"({'alg':'HS256'})", R"({"alg":"HS256","kid":7})"}) {
    INFO(h);
    CHECK(verify_error(craft(h, p)) == errc::invalid_token);
  }
  CHECK(verify_error(craft("{\"alg\":\"HS256\",\"x\":\"\xff\"}", p)) == errc::invalid_utf8);
  CHECK(verify_error(craft("{\"alg\":\"HS256\",\"x\":\"\xed\xa0\x80\"}", p)) ==
        errc::invalid_utf8);  // surrogate
  CHECK(verify_error(craft("{\"alg\":\"HS256\",\"x\":\"\xc0\xaf\"}", p)) ==
        errc::invalid_utf8);  // overlong
  CHECK(verify_error(craft(R"({"alg":"HS256","alg":"HS256"})", p)) == errc::duplicate_claim);
  CHECK(verify_error(craft(R"({"alg":"HS256","crit":["exp"],"exp":1})", p)) ==
        errc::unsupported_crit);
  CHECK(verify_error(craft(R"({"alg":"HS256","crit":["b64"],"b64":false})", p)) ==
        errc::unsupported_crit);
}

TEST_CASE("step 4: signature over the exact bytes, any change rejects (RFC 7515 §5.2)") {
  const std::string good = craft(hs256, payload_exp(now + 60));
  const auto d1 = good.find('.'), d2 = good.rfind('.');
  CHECK(verify_error(craft(hs256, payload_exp(now + 60), hmac_key(std::string(32, 't')))) ==
        errc::invalid_signature);
  CHECK(verify_error(good.substr(0, d2 + 1)) == errc::invalid_signature);  // empty signature
  CHECK(verify_error(good.substr(0, d2 + 1) + b64(std::string(31, 'x'))) ==
        errc::invalid_signature);
  CHECK(verify_error(good.substr(0, d2 + 1) + b64(std::string(200, 'x'))) ==
        errc::invalid_signature);
  // Same claims, different but equivalent JSON spelling: a different token, must not verify.
  const std::string respaced = b64(R"({"alg":"HS256", "typ":"JWT"})") + good.substr(d1);
  CHECK(verify_error(respaced) == errc::invalid_signature);
  // Nothing from the payload is looked at before the signature holds (RFC 8725 §3.3).
  const std::string junk_payload = b64(hs256) + "." + b64("not json") + good.substr(d2);
  CHECK(verify_error(junk_payload) == errc::invalid_signature);
  const std::string expired_forged =
      b64(hs256) + "." + b64(payload_exp(now - 100)) + good.substr(d2);
  CHECK(verify_error(expired_forged) == errc::invalid_signature);
}

TEST_CASE("step 5: payload must be a UTF-8 JSON object (RFC 7519 §7.2)") {
  for (const char* p :
       {"", "[]", "[1]", "1", "\"s\"", "null", "{", R"({"exp":1e999})", R"({"a":01})",
        "{\"a\":\"\x01\"}", R"({"a":"\ud800"})", R"({"a":NaN})", "{}{}"}) {
    INFO(p);
    CHECK(verify_error(craft(hs256, p)) == errc::invalid_token);
  }
  CHECK(verify_error(craft(hs256, "{\"exp\":9999999999,\"a\":\"\xfe\"}")) == errc::invalid_utf8);
  CHECK(verify_error(craft(hs256, "{\"exp\":9999999999,\"a\":\"\xe2\x82\"}")) ==
        errc::invalid_utf8);
}

TEST_CASE("duplicate member names are rejected, also when spelled with escapes") {
  CHECK(verify_error(craft(hs256, R"({"exp":1,"exp":9999999999})")) == errc::duplicate_claim);
  CHECK(verify_error(craft(hs256, R"({"exp":9999999999,"\u0065xp":1})")) == errc::duplicate_claim);
  CHECK(verify_error(craft(hs256, R"({"exp":9999999999,"a":1,"b":2,"a":3})")) ==
        errc::duplicate_claim);
  // Nested objects are application data: not registered claims, not checked here.
  CHECK_FALSE(verify_error(craft(hs256, R"({"exp":9999999999,"o":{"a":1,"b":2}})")));
  std::string many = R"({"exp":9999999999)";
  for (int i = 0; i < 40; ++i) many += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
  CHECK_FALSE(verify_error(craft(hs256, many + "}")));
  CHECK(verify_error(craft(hs256, many + R"(,"k7":0})")) == errc::duplicate_claim);
}

TEST_CASE("exp and nbf at exactly now ± leeway (RFC 7519 §4.1.4)") {
  verify_options o = at(now);
  CHECK(verify_error(craft(hs256, payload_exp(now)), o) == errc::expired);  // now >= exp
  CHECK_FALSE(verify_error(craft(hs256, payload_exp(now + 1)), o));
  o.leeway = 30;
  CHECK(verify_error(craft(hs256, payload_exp(now - 30)), o) ==
        errc::expired);  // now >= exp + leeway
  CHECK_FALSE(verify_error(craft(hs256, payload_exp(now - 29)), o));

  const auto nbf = [](unix_seconds t) {
    return R"({"exp":9999999999,"nbf":)" + std::to_string(t) + "}";
  };
  o.leeway = 0;
  CHECK(verify_error(craft(hs256, nbf(now + 1)), o) == errc::not_active);  // now < nbf
  CHECK_FALSE(verify_error(craft(hs256, nbf(now)), o));
  o.leeway = 30;
  CHECK(verify_error(craft(hs256, nbf(now + 31)), o) == errc::not_active);  // now < nbf - leeway
  CHECK_FALSE(verify_error(craft(hs256, nbf(now + 30)), o));
  // Not yet valid is not reported as expired, even when both apply.
  CHECK(verify_error(craft(hs256, R"({"exp":1,"nbf":9999999999})"), o) == errc::not_active);
}

TEST_CASE("NumericDate as integer, unsigned, fractional, exponent, never a string (RFC 7519 §2)") {
  const verify_options o = at(now);
  CHECK_FALSE(verify_error(craft(hs256, R"({"exp":18446744073709551615})"), o));  // uint64 max
  CHECK_FALSE(verify_error(craft(hs256, R"({"exp":1700000000.5})"), o));          // now < exp
  CHECK(verify_error(craft(hs256, R"({"exp":1699999999.999})"), o) == errc::expired);
  CHECK_FALSE(verify_error(craft(hs256, R"({"exp":1.7000001e9})"), o));
  CHECK(verify_error(craft(hs256, R"({"exp":-1})"), o) == errc::expired);
  CHECK(verify_error(craft(hs256, R"({"exp":"9999999999"})"), o) == errc::invalid_exp);
  CHECK(verify_error(craft(hs256, R"({"exp":null})"), o) == errc::invalid_exp);
  CHECK(verify_error(craft(hs256, R"({"exp":9999999999,"nbf":"1"})"), o) == errc::invalid_nbf);
  CHECK(verify_error(craft(hs256, R"({"exp":9999999999,"iat":[1]})"), o) == errc::invalid_iat);
  const auto r =
      verifier(hs_key, o).verify(craft(hs256, R"({"exp":1700000100.75,"iat":1.6e9,"nbf":0})"));
  REQUIRE(r);
  CHECK(r->exp() == 1700000100);
  CHECK(r->iat() == 1600000000);
  CHECK(r->nbf() == 0);
  // Beyond the int64 range the getters saturate (found by fuzz_verify).
  const auto huge = verifier(hs_key, o).verify(craft(hs256, R"({"exp":2.4e24,"iat":-1e300})"));
  REQUIRE(huge);
  CHECK(huge->exp() == std::numeric_limits<std::int64_t>::max());
  CHECK(huge->iat() == std::numeric_limits<std::int64_t>::min());
}

TEST_CASE("exp is required by default, optional when configured") {
  verify_options o = at(now);
  CHECK(verify_error(craft(hs256, R"({"id":"1"})"), o) == errc::exp_required);
  o.require_exp = false;
  CHECK_FALSE(verify_error(craft(hs256, R"({"id":"1"})"), o));
}

TEST_CASE("issuer, audience (string or array) and subject when configured (RFC 8725 §3.8, §3.9)") {
  verify_options o = at(now);
  o.issuer = "auth.example";
  o.audience = {"api", "web"};
  o.subject = "42";
  const auto token = [](std::string_view extra) {
    return craft(hs256, std::string(R"({"exp":9999999999)") + std::string(extra) + "}");
  };
  CHECK_FALSE(verify_error(token(R"(,"iss":"auth.example","aud":"web","sub":"42")"), o));
  CHECK_FALSE(verify_error(token(R"(,"iss":"auth.example","aud":["x","api"],"sub":"42")"), o));
  CHECK_FALSE(verify_error(token(R"(,"iss":"auth.\u0065xample","aud":"web","sub":"42")"), o));
  CHECK(verify_error(token(R"(,"iss":"auth.example","aud":["x"],"sub":"42")"), o) ==
        errc::audience_invalid);
  CHECK(verify_error(token(R"(,"iss":"auth.example","aud":[],"sub":"42")"), o) ==
        errc::audience_invalid);
  CHECK(verify_error(token(R"(,"iss":"auth.example","sub":"42")"), o) == errc::audience_invalid);
  CHECK(verify_error(token(R"(,"iss":"auth.example","aud":["api",1],"sub":"42")"), o) ==
        errc::audience_invalid);
  CHECK(verify_error(token(R"(,"iss":"evil","aud":"api","sub":"42")"), o) == errc::issuer_invalid);
  CHECK(verify_error(token(R"(,"aud":"api","sub":"42")"), o) == errc::issuer_invalid);
  CHECK(verify_error(token(R"(,"iss":["auth.example"],"aud":"api","sub":"42")"), o) ==
        errc::invalid_token);
  CHECK(verify_error(token(R"(,"iss":"auth.example","aud":"api","sub":"43")"), o) ==
        errc::subject_invalid);
  CHECK(verify_error(token(R"(,"iss":"auth.example","aud":"api")"), o) == errc::subject_invalid);

  const auto r = verifier(hs_key, at(now))
                     .verify(token(R"(,"iss":"i","aud":["a","b"],"sub":"s","jti":"j\n")"));
  REQUIRE(r);
  CHECK(r->iss() == "i");
  CHECK(r->sub() == "s");
  CHECK(r->jti() == "j\n");
  CHECK(r->aud() == std::vector<std::string>{"a", "b"});
  CHECK(verifier(hs_key, at(now)).verify(token(R"(,"aud":"solo")"))->aud() ==
        std::vector<std::string>{"solo"});
}

TEST_CASE("key set: kid selects a configured key, never anything else (RFC 8725 §3.10)") {
  const hmac_key old_key(std::string(32, 'o')), new_key(std::string(32, 'n'));
  key_set keys;
  keys.add("2025", old_key).add("2026", new_key);
  const verifier v(keys, at(now));
  const auto t_old = signer(old_key, issued_at(now, 60, "2025")).sign(claim_set().set("id", "1"));
  const auto t_new = signer(new_key, issued_at(now, 60, "2026")).sign(claim_set().set("id", "1"));
  REQUIRE(v.verify(t_old));
  CHECK(v.verify(t_old)->kid() == "2025");
  CHECK(v.verify(t_new));
  // A token claiming the other key's kid fails its signature.
  CHECK(v.verify(craft(R"({"alg":"HS256","kid":"2026"})", payload_exp(now + 9), old_key)).error() ==
        errc::invalid_signature);
  for (const char* kid : {R"("2024")", R"("../../etc/passwd")", R"("2025' OR 1=1")", R"("")"})
    CHECK(v.verify(craft(std::string(R"({"alg":"HS256","kid":)") + kid + "}", payload_exp(now + 9),
                         old_key))
              .error() == errc::unknown_kid);
  // No kid: the default key, and without one, unknown kid.
  CHECK(v.verify(craft(hs256, payload_exp(now + 9), old_key)).error() == errc::unknown_kid);
  key_set with_default = keys;
  with_default.add_default(old_key);
  CHECK(verifier(with_default, at(now)).verify(craft(hs256, payload_exp(now + 9), old_key)));
  // A kid that names an HS384 key cannot be used with an HS256 header (RFC 8725 §3.1).
  key_set mixed;
  mixed.add("k384", hmac_key(std::string(48, 'x'), algorithm::hs384));
  verify_options both = at(now);
  both.algorithms = {algorithm::hs256, algorithm::hs384};
  CHECK(verifier(mixed, both)
            .verify(craft(R"({"alg":"HS256","kid":"k384"})", payload_exp(now + 9)))
            .error() == errc::invalid_algorithm);
  CHECK_THROWS_AS(verifier(key_set{}), std::invalid_argument);
}

TEST_CASE("verify_allow_expired skips exp only, verify_or_throw throws the code") {
  const verifier v(hs_key, at(now));
  const std::string expired = craft(hs256, payload_exp(now - 10));
  CHECK(v.verify(expired).error() == errc::expired);
  REQUIRE(v.verify_allow_expired(expired));
  CHECK(v.verify_allow_expired(expired)->string("id") == "1");
  CHECK(v.verify_allow_expired(craft(hs256, payload_exp(now - 10), hmac_key(std::string(32, 'x'))))
            .error() == errc::invalid_signature);
  CHECK(v.verify_allow_expired(craft(hs256, R"({"exp":1,"nbf":9999999999})")).error() ==
        errc::not_active);
  CHECK(v.verify_allow_expired(craft(hs256, R"({"exp":"1"})")).error() == errc::invalid_exp);
  try {
    (void)v.verify_or_throw(expired);
    FAIL("no exception");
  } catch (const std::system_error& e) {
    CHECK(e.code() == errc::expired);
    CHECK(std::string(e.what()).find("jwt expired") != std::string::npos);
  }
  CHECK(v.verify_or_throw(craft(hs256, payload_exp(now + 5))).exp() == now + 5);
}

TEST_CASE("custom claims beyond the member index, and copied verifiers") {
  std::string payload = R"({"exp":9999999999)";
  for (int i = 0; i < 12; ++i)
    payload += ",\"c" + std::to_string(i) + "\":\"v" + std::to_string(i) + "\"";
  payload += R"(,"\u0065sc":"x\u00e9"})";
  std::optional<verifier> original(verifier(hs_key, at(now)));
  const verifier copy = *original;
  original.reset();  // the copy must not depend on the original
  const auto r = copy.verify(craft(hs256, payload));
  REQUIRE(r);
  for (int i = 0; i < 12; ++i) CHECK(r->string("c" + std::to_string(i)) == "v" + std::to_string(i));
  CHECK(r->string("esc") == "x\xc3\xa9");
  CHECK_FALSE(r->string("c12"));
  CHECK(r->contains("c11"));
  CHECK_FALSE(r->contains("c99"));
}

TEST_CASE("8 threads share one verifier and one signer") {
  const signer s(hs_key, issued_at(now, 60));
  const verifier v(hs_key, at(now));
  const std::string bad = craft(hs256, payload_exp(now + 60), hmac_key(std::string(32, 'x')));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string id = std::to_string(t * 1000 + i);
        const auto r = v.verify(s.sign(claim_set().set("id", id)));
        if (!r || r->string("id") != id) ++wrong;
        if (v.verify(bad).error() != errc::invalid_signature) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(wrong == 0);
}

// The server's signing keys: HS256 with JWT_SECRET, or a PEM private key (file, JWT_PRIVATE_KEY
// or a directory) whose RFC 7638 thumbprint is the kid; reloads of the directory, retirement of
// removed keys after one access-token lifetime, and every refusal with the setting it names.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "server_fixture.hpp"
#include "signing_keys.hpp"
#include "tokenauth/base64url.hpp"
#include "tokenauth/jwk.hpp"

using tokenauth::algorithm;
using tokenauth_server::config;
using tokenauth_server::signing_keys;
namespace fs = std::filesystem;

namespace {

// A fresh private key as PKCS#8 PEM (and its public SPKI PEM).
struct pem_pair {
  std::string private_pem, public_pem;
};

pem_pair generate(algorithm alg) {
  EVP_PKEY* pkey = alg == algorithm::es256 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                   : alg == algorithm::eddsa
                       ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                       : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  REQUIRE(pkey);
  auto to_pem = [&](bool priv) {
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE((priv ? PEM_write_bio_PKCS8PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr)
                  : PEM_write_bio_PUBKEY(bio, pkey)) == 1);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
  };
  pem_pair out{to_pem(true), to_pem(false)};
  EVP_PKEY_free(pkey);
  return out;
}

class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> n{0};
    path_ = fs::temp_directory_path() /
            ("tokenauth-keys-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  // Writes name with text and the given age (seconds before now) as its mtime.
  std::string write(const std::string& name, const std::string& text, int age = 0) const {
    const fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary) << text;
    fs::last_write_time(p, fs::file_time_type::clock::now() - std::chrono::seconds(age));
    return p.string();
  }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

config asymmetric(algorithm alg) {
  config c = test_server::test_config();
  c.jwt_alg = alg;
  return c;
}

std::string kid_of(const std::string& private_pem, algorithm alg) {
  return tokenauth::jwk_thumbprint(tokenauth::key::from_pem(private_pem, alg).value());
}

std::string refusal(const config& c) {
  try {
    signing_keys keys(c, tokenauth::system_clock_now);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

struct fake_clock {
  std::shared_ptr<std::atomic<tokenauth::unix_seconds>> now =
      std::make_shared<std::atomic<tokenauth::unix_seconds>>(1'800'000'000);
  tokenauth::clock_fn fn() const {
    return [n = now] { return n->load(); };
  }
};

}  // namespace

TEST_CASE("HS256 signs with JWT_SECRET, without a kid, and publishes no key") {
  const config c = test_server::test_config();
  signing_keys keys(c, tokenauth::system_clock_now);
  const auto b = keys.current();
  CHECK(b->jwks == R"({"keys":[]})");
  CHECK(b->signing_kid.empty());
  const std::string token = b->signer.sign(tokenauth::claim_set().set("sub", "u1"));
  auto v = b->verifier.verify(token);
  REQUIRE(v);
  CHECK(v->kid().empty());
  // The same secret verifies it independently: the existing .env flow is unchanged.
  CHECK(tokenauth::verifier(tokenauth::hmac_key(c.jwt_secret)).verify(token));
  CHECK_FALSE(keys.reload().ok);  // nothing to reload without a directory
}

TEST_CASE("a PEM private key signs, kid is its thumbprint, the JWKS holds only its public part") {
  for (algorithm alg : {algorithm::es256, algorithm::eddsa, algorithm::rs256}) {
    CAPTURE(tokenauth::to_string(alg));
    temp_dir dir;
    const pem_pair pem = generate(alg);
    config c = asymmetric(alg);
    c.jwt_key_file = dir.write("key.pem", pem.private_pem);
    signing_keys keys(c, tokenauth::system_clock_now);
    const auto b = keys.current();
    CHECK(b->signing_kid == kid_of(pem.private_pem, alg));
    const std::string token = b->signer.sign(tokenauth::claim_set().set("sub", "u1"));
    auto v = b->verifier.verify(token);
    REQUIRE(v);
    CHECK(v->kid() == b->signing_kid);

    // A verifier holding only the published JWKS accepts the token; the JWKS has no private part.
    const auto doc = nlohmann::json::parse(b->jwks);
    REQUIRE(doc["keys"].size() == 1);
    const auto& jwk = doc["keys"][0];
    for (const char* secret_member : {"d", "p", "q", "dp", "dq", "qi", "k"})
      CHECK_FALSE(jwk.contains(secret_member));
    CHECK(jwk["kid"] == b->signing_kid);
    CHECK(jwk["alg"] == std::string(tokenauth::to_string(alg)));
    auto published = tokenauth::parse_jwks(b->jwks).value();
    REQUIRE_FALSE(published.keys.find(b->signing_kid)->can_sign());
    tokenauth::verify_options vo;
    vo.algorithms = {alg};
    CHECK(tokenauth::verifier(published.keys, vo).verify(token));
    CHECK(b->etag.size() > 2);
    CHECK(b->etag.front() == '"');
  }
}

TEST_CASE("JWT_PRIVATE_KEY: PEM text, with real or escaped line breaks") {
  const pem_pair pem = generate(algorithm::eddsa);
  config c = asymmetric(algorithm::eddsa);
  c.jwt_private_key = pem.private_pem;
  const std::string kid = signing_keys(c, tokenauth::system_clock_now).current()->signing_kid;
  CHECK(kid == kid_of(pem.private_pem, algorithm::eddsa));
  std::string escaped;
  for (char ch : pem.private_pem) escaped += ch == '\n' ? std::string("\\n") : std::string(1, ch);
  c.jwt_private_key = escaped;
  CHECK(signing_keys(c, tokenauth::system_clock_now).current()->signing_kid == kid);
}

TEST_CASE("unusable keys are refused with the setting they came from, never their text") {
  temp_dir dir;
  const pem_pair ec = generate(algorithm::es256);
  config c = asymmetric(algorithm::es256);

  c.jwt_key_file = dir.str() + "/missing.pem";
  CHECK_THAT(refusal(c),
             Catch::Contains("jwt-key-file " + c.jwt_key_file) && Catch::Contains("cannot read"));
  c.jwt_key_file = dir.write("garbage.pem", "not a key");
  CHECK_THAT(refusal(c), Catch::Contains("garbage.pem is not a PEM private key"));
  c.jwt_key_file = dir.write("public.pem", ec.public_pem);
  CHECK_THAT(refusal(c), Catch::Contains("holds a public key"));
  c.jwt_key_file = dir.write("big.pem", std::string(70 * 1024, 'A'));
  CHECK_THAT(refusal(c), Catch::Contains("more than any PEM key"));

  // A key of another type than --jwt-alg asks for.
  c.jwt_key_file = dir.write("ed.pem", generate(algorithm::eddsa).private_pem);
  CHECK_THAT(refusal(c), Catch::Contains("is not an EC P-256 key, which ES256 needs"));
  c.jwt_alg = algorithm::rs256;
  c.jwt_key_file = dir.write("ec.pem", ec.private_pem);
  CHECK_THAT(refusal(c), Catch::Contains("RSA key of at least 2048 bits, which RS256 needs"));

  config env = asymmetric(algorithm::eddsa);
  env.jwt_private_key = ec.private_pem;
  const std::string message = refusal(env);
  CHECK_THAT(message, Catch::Contains("JWT_PRIVATE_KEY is not an Ed25519 or Ed448 key"));
  CHECK_THAT(message, !Catch::Contains("BEGIN"));

  config empty_dir = asymmetric(algorithm::es256);
  empty_dir.jwt_keys_dir = dir.str() + "/none";
  fs::create_directories(empty_dir.jwt_keys_dir);
  CHECK_THAT(refusal(empty_dir), Catch::Contains("has no *.pem file"));
  empty_dir.jwt_keys_dir = dir.str() + "/absent";
  CHECK_THAT(refusal(empty_dir), Catch::Contains("jwt-keys-dir " + empty_dir.jwt_keys_dir));
}

TEST_CASE("jwt-keys-dir: the newest file signs, every file verifies") {
  temp_dir dir;
  const pem_pair old_key = generate(algorithm::es256), new_key = generate(algorithm::es256);
  dir.write("b-old.pem", old_key.private_pem, 3600);
  dir.write("a-new.pem", new_key.private_pem, 10);  // newer despite its name
  dir.write("notes.txt", "not a key, not read");
  config c = asymmetric(algorithm::es256);
  c.jwt_keys_dir = dir.str();
  signing_keys keys(c, tokenauth::system_clock_now);
  const auto b = keys.current();
  CHECK(b->signing_kid == kid_of(new_key.private_pem, algorithm::es256));
  CHECK(b->verify_keys == 2);
  CHECK(tokenauth::parse_jwks(b->jwks).value().keys.size() == 2);

  // A token the old key signed (as before a rotation) still verifies.
  tokenauth::signer old_signer(
      tokenauth::key::from_pem(old_key.private_pem, algorithm::es256).value(),
      {900, tokenauth::system_clock_now, kid_of(old_key.private_pem, algorithm::es256)});
  CHECK(b->verifier.verify(old_signer.sign(tokenauth::claim_set().set("sub", "u"))));
}

TEST_CASE("reload: a new key signs at once, a removed one verifies for one access TTL more") {
  temp_dir dir;
  fake_clock clock;
  const pem_pair first = generate(algorithm::eddsa), second = generate(algorithm::eddsa);
  const std::string first_path = dir.write("first.pem", first.private_pem, 60);
  config c = asymmetric(algorithm::eddsa);
  c.jwt_keys_dir = dir.str();
  c.access_ttl = 600;
  signing_keys keys(c, clock.fn());
  const auto before = keys.current();
  const std::string old_token = before->signer.sign(tokenauth::claim_set().set("sub", "u"));

  dir.write("second.pem", second.private_pem);
  auto outcome = keys.reload();
  REQUIRE(outcome.ok);
  CHECK_THAT(outcome.message, Catch::Contains("2 key(s)"));
  const auto after = keys.current();
  CHECK(after->signing_kid == kid_of(second.private_pem, algorithm::eddsa));
  CHECK(after->etag != before->etag);
  CHECK(after->verifier.verify(old_token));
  CHECK(before->verifier.verify(old_token));  // a request holding the old bundle finishes with it
  const std::string new_token = after->signer.sign(tokenauth::claim_set().set("sub", "u"));

  // The first key leaves the directory: it still verifies and stays published for access_ttl.
  fs::remove(first_path);
  REQUIRE(keys.reload().ok);
  *clock.now += 599;
  auto retiring = keys.current();
  CHECK(retiring->verify_keys == 2);
  CHECK(tokenauth::parse_jwks(retiring->jwks).value().keys.find(before->signing_kid));
  // (old_token itself expired with its 600 s TTL; a signature check shows the key is still held)
  CHECK(retiring->verifier.verify_allow_expired(old_token));
  *clock.now += 1;
  auto gone = keys.current();
  CHECK(gone->verify_keys == 1);
  CHECK_FALSE(tokenauth::parse_jwks(gone->jwks).value().keys.find(before->signing_kid));
  CHECK(gone->verifier.verify_allow_expired(old_token).error() == tokenauth::errc::unknown_kid);
  CHECK(gone->verifier.verify_allow_expired(new_token));
}

TEST_CASE("reload: a bad key file keeps the previous keys, all of them, and says why") {
  temp_dir dir;
  const pem_pair good = generate(algorithm::es256);
  dir.write("good.pem", good.private_pem, 60);
  config c = asymmetric(algorithm::es256);
  c.jwt_keys_dir = dir.str();
  signing_keys keys(c, tokenauth::system_clock_now);
  const auto before = keys.current();

  dir.write("broken.pem", "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n");
  auto outcome = keys.reload();
  CHECK_FALSE(outcome.ok);
  CHECK_THAT(outcome.message, Catch::Contains("broken.pem is not a PEM private key") &&
                                  Catch::Contains("keeping the previous keys"));
  CHECK(keys.current() == before);

  fs::remove(dir.str() + "/broken.pem");
  fs::remove(dir.str() + "/good.pem");
  outcome = keys.reload();
  CHECK_FALSE(outcome.ok);
  CHECK_THAT(outcome.message, Catch::Contains("has no *.pem file"));
  CHECK(keys.current() == before);
}

TEST_CASE("the server signs access tokens with the private key and verifies them by its kid") {
  const pem_pair pem = generate(algorithm::eddsa);
  config c = asymmetric(algorithm::eddsa);
  c.jwt_private_key = pem.private_pem;
  test_server::fixture f(std::make_shared<tokenauth::memory_store>(), c);
  const auto s = test_server::new_session(f, "eddsa");
  const std::string header =
      tokenauth::base64url::decode(s.access.substr(0, s.access.find('.'))).value();
  const auto h = nlohmann::json::parse(header);
  CHECK(h["alg"] == "EdDSA");
  CHECK(h["kid"] == kid_of(pem.private_pem, algorithm::eddsa));
  CHECK(test_server::get(f, "/getuser", s.access).status == 200);
  const auto re = test_server::reissue(f, s.access, s.cookie);
  CHECK(re.status == 200);

  // An HS256 token signed with the session secret is refused: the algorithm is pinned.
  tokenauth::signer hs(tokenauth::hmac_key(c.jwt_secret));
  const auto forged =
      test_server::get(f, "/getuser", hs.sign(tokenauth::claim_set().set("id", "x")));
  CHECK(forged.status == 401);
  CHECK(test_server::body_json(forged)["message"] == "invalid algorithm");
}

TEST_CASE("GET /.well-known/jwks.json: public keys, cacheable, ETag and 304") {
  const pem_pair pem = generate(algorithm::es256);
  config c = asymmetric(algorithm::es256);
  c.jwt_private_key = pem.private_pem;
  c.access_ttl = 120;  // max-age is at most the access-token lifetime
  test_server::fixture f(std::make_shared<tokenauth::memory_store>(), c);
  const auto r = f.request("GET", "/.well-known/jwks.json");
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "application/jwk-set+json");
  CHECK(r.header("cache-control") == "public, max-age=120");
  const std::string etag = r.header("etag").value_or("");
  REQUIRE(etag.size() > 2);
  const auto doc = nlohmann::json::parse(r.body);
  REQUIRE(doc["keys"].size() == 1);
  CHECK(doc["keys"][0]["kid"] == kid_of(pem.private_pem, algorithm::es256));
  CHECK_FALSE(doc["keys"][0].contains("d"));
  CHECK(r.body.find(R"("d")") == std::string::npos);

  // A token from login verifies with nothing but the published set.
  const auto s = test_server::new_session(f, "jwks");
  tokenauth::verify_options vo;
  vo.algorithms = {algorithm::es256};
  CHECK(tokenauth::verifier(tokenauth::parse_jwks(r.body).value().keys, vo).verify(s.access));

  for (const std::string& matching :
       {etag, "W/" + etag, "\"other\", " + etag, " ,\t" + etag + " \t", std::string("*")}) {
    CAPTURE(matching);
    const auto same = f.request("GET", "/.well-known/jwks.json", {{"If-None-Match", matching}});
    CHECK(same.status == 304);
    CHECK(same.body.empty());
    CHECK(same.header("etag") == etag);
    CHECK(same.header("cache-control") == "public, max-age=120");
  }
  const auto changed = f.request("GET", "/.well-known/jwks.json", {{"If-None-Match", "\"old\""}});
  CHECK(changed.status == 200);
  CHECK(f.request("GET", "/.well-known/jwks.json", {{"If-None-Match", " , \t"}}).status == 200);
  CHECK(changed.body == r.body);
  CHECK(f.request("POST", "/.well-known/jwks.json").status == 405);
}

TEST_CASE("GET /.well-known/jwks.json: an HS256 server publishes an empty set, never the secret") {
  config c = test_server::test_config();
  c.access_ttl = 3600;
  test_server::fixture f(std::make_shared<tokenauth::memory_store>(), c);
  const auto r = f.request("GET", "/.well-known/jwks.json");
  REQUIRE(r.status == 200);
  CHECK(r.body == R"({"keys":[]})");
  CHECK(r.header("cache-control") == "public, max-age=300");
  CHECK(r.body.find(tokenauth::base64url::encode(c.jwt_secret)) == std::string::npos);
}

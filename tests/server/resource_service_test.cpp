// One issuer, one more service, real processes on loopback: tokenauth-server signs with ES256 keys
// from --jwt-keys-dir, tokenauth-resource-service verifies them through the server's JWKS. Login
// on the first, GET /orders on the second; key rotation by a new file and SIGHUP (old tokens keep
// verifying until they expire, new ones once the service learns the new kid); forged kids cost no
// fetch at the issuer; the issuer stopped (cached keys keep verifying) and restarted. Then the JWKS
// over HTTPS from a TLS server in this test (its own CA, made here): trusted, wrong CA, expired.
#include <openssl/pem.h>
#include <sys/time.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../fault/api.hpp"
#include "../fault/process.hpp"
#include "../support/http_test_server.hpp"
#include "../support/test_pki.hpp"
#include "tokenauth/base64url.hpp"
#include "tokenauth/detail/openssl.hpp"

using namespace std::chrono_literals;
using fault::child;
using fault::read_text;
using nlohmann::json;

namespace {

constexpr int access_ttl_seconds = 6;

// An ES256 private key (PKCS#8 PEM) at `path`, its mtime `age` in the past (the newest signs).
void write_key(const std::string& path, std::chrono::seconds age) {
  const tokenauth::detail::pkey_ptr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  const tokenauth::detail::bio_ptr bio(BIO_new_file(path.c_str(), "w"));
  REQUIRE(PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr));
  timeval times[2];
  ::gettimeofday(&times[0], nullptr);
  times[0].tv_sec -= age.count();
  times[1] = times[0];
  REQUIRE(::utimes(path.c_str(), times) == 0);
}

// The kid in a JWT's header.
std::string kid_of(const std::string& token) {
  const auto header = tokenauth::base64url::decode(token.substr(0, token.find('.')));
  REQUIRE(header);
  return json::parse(*header).value("kid", "");
}

// Waits until `port` accepts connections (or `proc` exits, or 20 s pass).
void wait_listening(std::uint16_t port, child& proc, const std::string& log) {
  for (auto deadline = std::chrono::steady_clock::now() + 20s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
    try {
      test_http::connection c(port);
      return;
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): not listening yet
    }
    if (!proc.running()) break;
  }
  FAIL("no listener on port " << port << "; log:\n" << read_text(log));
}

// The auth server on a fixed port (so a restart keeps the JWKS URL), signing with ES256 keys
// from a directory in `tmp`; started with one key whose file is `key_age` old.
struct auth_server {
  std::string dir, keys_dir;
  std::uint16_t port = static_cast<std::uint16_t>(fault::free_port());
  std::optional<child> proc;

  auth_server(const fault::temp_dir& tmp, std::chrono::seconds key_age)
      : dir(tmp / ""), keys_dir(tmp / "keys") {
    std::filesystem::create_directory(keys_dir);
    write_key(keys_dir + "/a.pem", key_age);
    start();
  }

  void start() {
    const std::string log = dir + "/auth.log";
    proc.emplace(std::vector<std::string>{TOKENAUTH_SERVER_BINARY, "--admin-listen", "", "--port",
                                          std::to_string(port), "--users", "memory",
                                          "--bcrypt-cost", "4", "--access-log", "true",
                                          "--access-ttl", std::to_string(access_ttl_seconds) + "s",
                                          "--jwt-alg", "ES256", "--jwt-keys-dir", keys_dir},
                 log);
    wait_listening(port, *proc, log);
  }
  std::string jwks_url() const {
    return "http://127.0.0.1:" + std::to_string(port) + "/.well-known/jwks.json";
  }
  // GET /.well-known/jwks.json requests the server has logged, once the count has held for
  // 300 ms (the access log is written by a thread of its own).
  std::size_t jwks_fetches() const {
    auto count = [&] {
      const std::string text = read_text(dir + "/auth.log");
      std::size_t n = 0;
      for (std::size_t at = text.find("/.well-known/jwks.json"); at != std::string::npos;
           at = text.find("/.well-known/jwks.json", at + 1))
        ++n;
      return n;
    };
    std::size_t n = count();
    for (int stable = 0; stable < 6; std::this_thread::sleep_for(50ms)) {
      const std::size_t again = count();
      stable = again == n ? stable + 1 : 0;
      n = again;
    }
    return n;
  }
  // A new user's access token (users live in memory: a restarted server has none).
  std::string login(const std::string& nick) {
    const auto joined = fault::once(port, fault::join_request(nick));
    REQUIRE(joined);
    fault::session s;
    REQUIRE(fault::absorb(s, fault::once(port, fault::login_request(nick))));
    return s.access;
  }
};

struct resource_service {
  std::uint16_t port = static_cast<std::uint16_t>(fault::free_port());
  std::string log;
  std::optional<child> proc;

  resource_service(const std::string& dir, const std::string& name, std::vector<std::string> args) {
    log = dir + "/" + name + ".log";
    std::vector<std::string> argv{TOKENAUTH_RESOURCE_SERVICE_BINARY, "--listen",
                                  "127.0.0.1:" + std::to_string(port), "--threads", "2"};
    argv.insert(argv.end(), args.begin(), args.end());
    proc.emplace(argv, log);
    wait_listening(port, *proc, log);
  }

  // Waits until the service holds keys (its first fetch runs in the background).
  void wait_for_keys() const {
    for (auto deadline = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(20ms))
      if (test_http::request(port, "GET", "/healthz").status == 200) return;
    FAIL("the resource service fetched no keys; log:\n" << read_text(log));
  }

  test_http::reply orders(const std::string& token) const {
    return test_http::request(port, "GET", "/orders", {{"Authorization", "Bearer " + token}});
  }
  json orders_json(const std::string& token) const { return json::parse(orders(token).body); }
};

// The sub of a token (its payload's), to compare with what /orders answers for.
std::string sub_of(const std::string& token) {
  const std::size_t a = token.find('.') + 1;
  const auto payload = tokenauth::base64url::decode(token.substr(a, token.find('.', a) - a));
  REQUIRE(payload);
  return json::parse(*payload).value("sub", "");
}

}  // namespace

TEST_CASE("resource service: login on the issuer, orders on the service, rotation, outage") {
  fault::temp_dir tmp;
  auth_server auth(tmp, 3600s);
  resource_service service(tmp / "", "orders",
                           {"--jwks-url", auth.jwks_url(), "--jwks-refetch-interval", "60s"});
  service.wait_for_keys();  // so the one refetch of the interval is left for the rotation

  // Login on the issuer, call the other service.
  const std::string old_token = auth.login("alice");
  const auto old_issued = std::chrono::steady_clock::now();
  const auto r = service.orders(old_token);
  REQUIRE(r.status == 200);
  const json body = json::parse(r.body);
  CHECK(body["data"]["user"] == sub_of(old_token));
  CHECK(body["data"]["orders"].size() == 2);
  CHECK(test_http::request(service.port, "GET", "/orders").status == 401);
  CHECK(service.orders("not.a.token").status == 401);
  CHECK(service.orders_json("not-a-token")["message"] == "jwt malformed");
  CHECK(test_http::request(service.port, "POST", "/orders").status == 405);
  CHECK(test_http::request(service.port, "GET", "/nowhere").status == 404);
  CHECK(test_http::request(service.port, "GET", "/healthz").status == 200);

  // Rotation: a newer key file and SIGHUP. The newest key signs at once; the service learns its
  // kid with one fetch, and tokens of the old key keep verifying.
  const std::size_t fetches_before_rotation = auth.jwks_fetches();
  REQUIRE(fetches_before_rotation == 1);  // the service's first fetch, in the background
  write_key(auth.keys_dir + "/b.pem", 0s);
  ::kill(auth.proc->pid(), SIGHUP);
  std::string new_token;
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(50ms)) {
    new_token = auth.login("bob" + std::to_string(std::rand()));
    if (kid_of(new_token) != kid_of(old_token)) break;
  }
  REQUIRE(kid_of(new_token) != kid_of(old_token));
  CHECK(service.orders(new_token).status == 200);
  CHECK(auth.jwks_fetches() == fetches_before_rotation + 1);
  CHECK(service.orders(old_token).status == 200);

  // Forged kids (a valid token's header with another kid): refused, and no fetch at the issuer
  // (one refetch per --jwks-refetch-interval, spent on the rotation above).
  const std::string payload_and_signature = new_token.substr(new_token.find('.'));
  for (int i = 0; i < 20; ++i) {
    const json header{{"alg", "ES256"}, {"typ", "JWT"}, {"kid", "forged-" + std::to_string(i)}};
    const auto forged =
        service.orders(tokenauth::base64url::encode(header.dump()) + payload_and_signature);
    CHECK(forged.status == 401);
    CHECK(json::parse(forged.body)["message"] == "jwt key id unknown");
  }
  CHECK(auth.jwks_fetches() == fetches_before_rotation + 1);

  // The issuer stops: the service keeps verifying with the keys it holds.
  REQUIRE(auth.proc->signal_and_wait(SIGTERM, 10s));
  CHECK(service.orders(new_token).status == 200);
  CHECK(service.orders(old_token).status == 200);
  CHECK(test_http::request(service.port, "GET", "/healthz").status == 200);

  // Restarted (same port, same keys): logins work again and their tokens verify.
  auth.start();
  const std::string after_restart = auth.login("carol");
  CHECK(kid_of(after_restart) == kid_of(new_token));
  CHECK(service.orders(after_restart).status == 200);

  // Old tokens verify until they expire, then no more.
  std::this_thread::sleep_until(old_issued + std::chrono::seconds(access_ttl_seconds + 1));
  const auto expired = service.orders(old_token);
  CHECK(expired.status == 401);
  CHECK(json::parse(expired.body)["message"] == "jwt expired");
}

TEST_CASE("resource service: the JWKS over HTTPS, with a trusted CA, a wrong CA, an expired cert") {
  fault::temp_dir tmp;
  auth_server auth(tmp, 0s);
  const std::string token = auth.login("dave");

  // A TLS server of this test publishes the issuer's JWKS (the auth server speaks plain HTTP; in
  // production a TLS proxy in front of it does this job).
  const auto jwks = test_http::request(auth.port, "GET", "/.well-known/jwks.json");
  REQUIRE(jwks.status == 200);
  tokenauth::test::http_test_server::reply published;
  published.body = jwks.body;
  published.headers = {{"Content-Type", "application/jwk-set+json"},
                       {"Cache-Control", "max-age=300"}};

  const auto ca = tokenauth::test::make_ca("e2e test CA");
  const auto other_ca = tokenauth::test::make_ca("another CA");
  std::ofstream(tmp / "ca.pem") << ca.cert_pem();
  std::ofstream(tmp / "other-ca.pem") << other_ca.cert_pem();
  const auto good = tokenauth::test::make_server_cert(ca, "DNS:localhost,IP:127.0.0.1");
  const auto expired = tokenauth::test::make_server_cert(ca, "DNS:localhost,IP:127.0.0.1", true);

  auto run = [&](const tokenauth::test::certified_key& cert, const std::string& ca_file,
                 const std::string& name) {
    tokenauth::test::http_test_server tls(cert.cert_pem(), cert.key_pem());
    tls.set_reply(published);
    resource_service service(
        tmp / "", name, {"--jwks-url", tls.url("/jwks.json", "localhost"), "--ca-file", ca_file});
    const auto orders = service.orders(token);
    const auto health = test_http::request(service.port, "GET", "/healthz");
    return std::make_pair(orders, json::parse(health.body));
  };

  const auto [ok, ok_health] = run(good, tmp / "ca.pem", "tls-good");
  CHECK(ok.status == 200);
  CHECK(ok_health["ok"] == true);

  const auto [untrusted, untrusted_health] = run(good, tmp / "other-ca.pem", "tls-untrusted");
  CHECK(untrusted.status == 503);
  CHECK(json::parse(untrusted.body)["message"] == "verification keys unavailable");
  CHECK(untrusted_health["lastError"].get<std::string>().find(
            "certificate verify failed (unable to get local issuer certificate)") !=
        std::string::npos);

  const auto [old, old_health] = run(expired, tmp / "ca.pem", "tls-expired");
  CHECK(old.status == 503);
  CHECK(old_health["lastError"].get<std::string>().find(
            "certificate verify failed (certificate has expired)") != std::string::npos);
}

TEST_CASE("resource service: bad settings fail at start with the setting to fix") {
  fault::temp_dir tmp;
  auto start_error = [&](std::vector<std::string> args) {
    args.insert(args.begin(), TOKENAUTH_RESOURCE_SERVICE_BINARY);
    child proc(args, tmp / "bad.log");
    const auto status = proc.signal_and_wait(0, 10s);  // signal 0: just wait for the exit
    CHECK(status);
    return read_text(tmp / "bad.log");
  };
  CHECK(start_error({"--jwks-url", "http://id.example.com/jwks.json"})
            .find("plain http:// needs allow_http") != std::string::npos);
  CHECK(start_error({"--jwks-url", "ftp://x"}).find("url must be http(s)://") != std::string::npos);
  CHECK(start_error({"--jwks-url", "https://localhost/j", "--ca-file", "/nonexistent.pem"})
            .find("cannot load ca_file /nonexistent.pem") != std::string::npos);
  CHECK(start_error({"--jwks-max-stale", "soon"}).find("--jwks-max-stale must be a duration") !=
        std::string::npos);
  CHECK(start_error({"--listen", "127.0.0.1"}).find("--listen must be HOST:PORT") !=
        std::string::npos);
  CHECK(start_error({"--bogus"}).find("unknown option '--bogus'") != std::string::npos);
}

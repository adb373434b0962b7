// The JWKS client against an in-process HTTP(S) server: fetching and verifying, Cache-Control,
// the unknown-kid refetch limit, riding out an unreachable issuer and failing closed after the
// stale bound, size and time limits, TLS certificate and hostname checks, and swaps under load.
#include "tokenauth/jwks_client.hpp"

#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/http_test_server.hpp"
#include "support/test_pki.hpp"
#include "tokenauth/jwk.hpp"
#include "tokenauth/jwt.hpp"
#include "tokenauth/verify_cache.hpp"

using namespace tokenauth;
using namespace std::chrono_literals;
using tokenauth::test::http_test_server;

namespace {

key es256_key() {
  const detail::pkey_ptr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  return key::from_evp_pkey(pkey.get(), algorithm::es256).value();
}

// A signing key with its kid, and the JWKS entry that publishes it.
struct issuer_key {
  std::string kid;
  key k = es256_key();
  std::string token(const std::string& sub = "alice", const std::string& as_kid = {}) const {
    signer_options o;
    o.kid = as_kid.empty() ? kid : as_kid;
    return signer(k, o).sign(claim_set().set("sub", sub));
  }
};

std::string jwks_of(const std::vector<const issuer_key*>& keys) {
  key_set set;
  for (const issuer_key* k : keys) set.add(k->kid, k->k.public_key());
  return to_jwks(set);
}

http_test_server::reply jwks_reply(const std::vector<const issuer_key*>& keys,
                                   const std::string& cache_control = "public, max-age=300") {
  http_test_server::reply r;
  r.body = jwks_of(keys);
  r.headers = {{"Content-Type", "application/jwk-set+json"}, {"Cache-Control", cache_control}};
  return r;
}

// A steady clock the test moves by hand.
struct manual_clock {
  std::shared_ptr<std::atomic<std::chrono::steady_clock::time_point>> now =
      std::make_shared<std::atomic<std::chrono::steady_clock::time_point>>(
          std::chrono::steady_clock::time_point(std::chrono::hours(1000)));
  void advance(std::chrono::milliseconds d) { now->store(now->load() + d); }
  jwks_client_options::steady_clock_fn fn() const {
    return [n = now] { return n->load(); };
  }
};

// Options for a test: plain HTTP allowed, no background thread unless asked.
jwks_client_options options_for(const http_test_server& server,
                                const manual_clock* clock = nullptr) {
  jwks_client_options o;
  o.url = server.url();
  o.allow_http = true;
  o.background_refresh = false;
  o.fetch_timeout = 5s;
  if (clock) o.clock = clock->fn();
  return o;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A temp file removed at the end.
struct temp_file {
  std::string path;
  explicit temp_file(const std::string& text) {
    path = (std::filesystem::temp_directory_path() /
            ("tokenauth-jwks-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter()++) + ".pem"))
               .string();
    std::ofstream(path) << text;
  }
  ~temp_file() { std::remove(path.c_str()); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

}  // namespace

TEST_CASE("jwks_client: fetches over allowed http, verifies, and keeps key ids across refreshes") {
  const issuer_key k1{"k1"};
  http_test_server server;
  server.set_reply(jwks_reply({&k1}));
  jwks_client client(options_for(server));

  CHECK(client.current() == nullptr);  // nothing fetched yet, and current() never fetches
  CHECK(client.refresh().empty());
  const auto r = client.verify(k1.token("alice"));
  REQUIRE(r);
  CHECK(r->sub() == "alice");
  CHECK(server.requests() == 1);

  verify_cache cache;
  const std::string token = k1.token("bob");
  REQUIRE(client.verify(token, cache));
  const auto before = client.current();
  CHECK(client.refresh().empty());  // the same JWKS again: a new verifier, the same key object
  CHECK(client.current() != before);
  REQUIRE(client.verify(token, cache));
  const auto s = cache.stats();
  CHECK(s.inserts == 1);
  CHECK(s.hits == 1);  // the entry survived the refresh
  CHECK(s.dropped == 0);
  CHECK(client.stats().fetches == 2);
  CHECK(client.stats().keys == 1);
}

TEST_CASE("jwks_client: bad configuration throws with the reason") {
  auto error_of = [](jwks_client_options o) -> std::string {
    try {
      jwks_client c(std::move(o));
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no error";
  };
  jwks_client_options o;
  o.background_refresh = false;
  for (const char* url : {"", "ftp://h/x", "https://", "https://u@h/x", "https://h:0/x",
                          "https://h:99999/x", "https://h:8a/x", "https://h/x#f", "https://h/a b",
                          "https://[::1/x", "https://[nothex]/x", "https://h/\r\nX: y"}) {
    o.url = url;
    CHECK(contains(error_of(o), "url must be http(s)://host[:port][/path]"));
  }
  o.url = "http://127.0.0.1:1/jwks.json";
  CHECK(contains(error_of(o), "plain http:// needs allow_http"));
  o.url = "https://127.0.0.1:1/jwks.json";
  o.ca_file = "/nonexistent/ca.pem";
  CHECK(contains(error_of(o), "cannot load ca_file /nonexistent/ca.pem"));
  o.ca_file.clear();
  o.min_max_age = 25h;
  CHECK(contains(error_of(o), "min_max_age <= max_max_age"));
  o.min_max_age = 1s;
  o.fetch_timeout = 0ms;
  CHECK(contains(error_of(o), "must be positive"));
  o.fetch_timeout = 1s;
  o.max_response_size = 0;
  CHECK(contains(error_of(o), "max_response_size"));
  o.max_response_size = 1000;
  o.verify.algorithms.clear();
  CHECK(contains(error_of(o), "algorithms is empty"));
  o.verify.algorithms = {algorithm::es256};
  o.url = "https://[::1]:8443/jwks.json";
  CHECK(error_of(o) == "no error");
}

TEST_CASE("jwks_client: Cache-Control max-age is clamped into the configured bounds") {
  const issuer_key k1{"k1"};
  http_test_server server;
  auto o = options_for(server);
  o.min_max_age = 10s;
  o.max_max_age = 1h;
  o.default_max_age = 5min;
  jwks_client client(o);
  const auto fresh_for = [&](const std::string& cache_control) {
    auto r = jwks_reply({&k1}, cache_control);
    if (cache_control.empty()) r.headers.pop_back();
    server.set_reply(r);
    REQUIRE(client.refresh().empty());
    return client.stats().fresh_for;
  };
  CHECK(fresh_for("public, max-age=60") == 60s);
  CHECK(fresh_for("public, max-age=1") == 10s);       // raised to min_max_age
  CHECK(fresh_for("max-age=999999999999999") == 1h);  // lowered to max_max_age
  CHECK(fresh_for("") == 5min);                       // none: default_max_age
  CHECK(fresh_for("no-store") == 10s);                // no caching asked: the minimum
  CHECK(fresh_for("Public, MAX-AGE=\"120\", must-revalidate") == 120s);
  CHECK(fresh_for("max-age=12x") == 5min);  // unreadable: as if absent
}

TEST_CASE("jwks_client: forged kids cause at most one fetch per refetch interval") {
  const issuer_key k1{"k1"};
  http_test_server server;
  server.set_reply(jwks_reply({&k1}));
  manual_clock clock;
  auto o = options_for(server, &clock);
  o.refetch_interval = 30s;
  jwks_client client(o);
  REQUIRE(client.refresh().empty());
  REQUIRE(server.requests() == 1);

  for (int i = 0; i < 200; ++i)
    CHECK(client.verify(k1.token("mallory", "forged-" + std::to_string(i))).error() ==
          errc::unknown_kid);
  CHECK(server.requests() == 2);  // one refetch for the first forged kid, none for the others
  CHECK(client.stats().demand_fetches == 1);
  CHECK(client.stats().demand_limited == 199);

  clock.advance(29s);
  CHECK(client.verify(k1.token("mallory", "forged-x")).error() == errc::unknown_kid);
  CHECK(server.requests() == 2);
  clock.advance(1s);
  CHECK(client.verify(k1.token("mallory", "forged-y")).error() == errc::unknown_kid);
  CHECK(server.requests() == 3);
  CHECK(client.verify(k1.token()));  // the real key still verifies
}

TEST_CASE("jwks_client: a new kid is learned on demand, a removed key stops verifying") {
  const issuer_key k1{"k1"}, k2{"k2"};
  http_test_server server;
  server.set_reply(jwks_reply({&k1}));
  manual_clock clock;
  auto o = options_for(server, &clock);
  jwks_client client(o);
  REQUIRE(client.refresh().empty());
  const auto id_k1 = client.current()->key_for(client.verify(k1.token()).value())->id();

  server.set_reply(jwks_reply({&k1, &k2}));
  const auto r = client.verify(k2.token("carol"));  // unknown kid: one fetch, then it verifies
  REQUIRE(r);
  CHECK(r->sub() == "carol");
  CHECK(server.requests() == 2);
  // k1 is the same key object as before the refresh (verify_cache entries stay valid).
  CHECK(client.current()->key_for(client.verify(k1.token()).value())->id() == id_k1);

  server.set_reply(jwks_reply({&k2}));
  REQUIRE(client.refresh().empty());
  CHECK(client.verify(k1.token()).error() == errc::unknown_kid);
}

TEST_CASE("jwks_client: the issuer unreachable, the last good set verifies until the stale bound") {
  const issuer_key k1{"k1"};
  http_test_server server;
  server.set_reply(jwks_reply({&k1}, "max-age=60"));
  manual_clock clock;
  auto o = options_for(server, &clock);
  o.min_max_age = 1s;
  o.max_stale = 120s;
  o.refetch_interval = 10s;
  jwks_client client(o);
  REQUIRE(client.refresh().empty());
  const std::string token = k1.token();

  http_test_server::reply down;
  down.status = 503;
  server.set_reply(down);
  clock.advance(61s);  // no longer fresh
  CHECK(contains(client.refresh(), "HTTP status 503"));
  CHECK(client.verify(token));  // stale, but within max_stale
  clock.advance(118s);          // 179 s: 1 s short of fresh + max_stale
  CHECK(client.verify(token));
  CHECK(client.stats().usable);
  clock.advance(1s);  // the bound: fail closed (one fetch tried, it fails too)
  CHECK(client.verify(token).error() == errc::keys_unavailable);
  CHECK(client.current() == nullptr);
  const auto s = client.stats();
  CHECK_FALSE(s.usable);
  CHECK(contains(s.last_error, server.url() + ": HTTP status 503"));
  CHECK(s.fetch_failures == 2);
  CHECK(make_error_code(errc::keys_unavailable).message() == "verification keys unavailable");

  CHECK(client.verify(token).error() == errc::keys_unavailable);  // within refetch_interval
  CHECK(server.requests() == 3);
  server.set_reply(jwks_reply({&k1}));
  clock.advance(10s);
  CHECK(client.verify(token));  // the issuer is back: the next allowed fetch restores the set
  CHECK(client.stats().last_error.empty());
}

TEST_CASE("jwks_client: nothing fetched and nothing listening is keys_unavailable, not a hang") {
  std::string url;
  {
    http_test_server gone;  // a port that was free a moment ago, now closed
    url = gone.url();
  }
  jwks_client_options o;
  o.url = url;
  o.allow_http = true;
  o.background_refresh = false;
  jwks_client client(o);
  CHECK(client.verify("e30.e30.sig").error() == errc::keys_unavailable);
  CHECK(contains(client.stats().last_error, url + ": cannot connect:"));
  CHECK(client.stats().demand_fetches == 1);
}

TEST_CASE("jwks_client: responses are limited in size and in time") {
  const issuer_key k1{"k1"};
  http_test_server server;
  auto o = options_for(server);
  o.max_response_size = 1024;
  o.fetch_timeout = 300ms;
  jwks_client client(o);

  http_test_server::reply big = jwks_reply({&k1});
  big.body = R"({"keys":[],"pad":")" + std::string(4096, 'x') + "\"}";
  server.set_reply(big);
  CHECK(contains(client.refresh(), "response larger than 1024 bytes"));

  http_test_server::reply hang;
  hang.hang = true;
  server.set_reply(hang);
  const auto start = std::chrono::steady_clock::now();
  CHECK(contains(client.refresh(), "cannot read the response: timed out after 300 ms"));
  INFO("a hung issuer took " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - start)
                                    .count()
                             << " ms");
  CHECK(client.stats().fetch_failures == 2);
}

TEST_CASE("jwks_client: HTTP errors and unusable documents keep the previous set") {
  const issuer_key k1{"k1"};
  http_test_server server;
  server.set_reply(jwks_reply({&k1}));
  jwks_client client(options_for(server));
  REQUIRE(client.refresh().empty());
  const std::string token = k1.token();

  auto expect_error = [&](http_test_server::reply r, const std::string& message) {
    server.set_reply(std::move(r));
    const std::string error = client.refresh();
    INFO(error);
    CHECK(contains(error, server.url() + ": " + message));
    CHECK(client.stats().last_error == error);
    CHECK(client.verify(token));  // the previous set is kept
  };
  http_test_server::reply r;
  r.status = 404;
  expect_error(r, "HTTP status 404");
  r.status = 302;
  r.headers = {{"Location", "https://elsewhere.example/jwks.json"}};
  expect_error(r, "HTTP status 302 (redirects are not followed)");
  r = {};
  r.body = "<html>not json</html>";
  expect_error(r, "not a JWKS (key could not be parsed)");
  r.body = R"({"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA","kid":"bad"}]})";
  expect_error(r, "the JWKS holds no usable key (bad: ");
  // A symmetric key is never taken from a JWKS: an attacker who could publish one could sign.
  r.body = R"({"keys":[{"kty":"oct","alg":"HS256","kid":"h","k":")" +
           base64url::encode(std::string(32, 's')) + "\"}]}";
  expect_error(r, "the JWKS holds no usable key (h: symmetric key");

  // Mixed: the usable key is taken, the others are listed as skipped.
  r.body = R"({"keys":[{"kty":"oct","alg":"HS256","kid":"h","k":")" +
           base64url::encode(std::string(32, 's')) + "\"}," + jwks_of({&k1}).substr(9);
  server.set_reply(r);
  REQUIRE(client.refresh().empty());
  const auto s = client.stats();
  CHECK(s.keys == 1);
  REQUIRE(s.skipped.size() == 1);
  CHECK(s.skipped[0].kid == "h");
  CHECK(client.verify(token));
}

TEST_CASE("jwks_client: an unchanged set is revalidated with If-None-Match and 304") {
  const issuer_key k1{"k1"};
  http_test_server server;
  auto r = jwks_reply({&k1}, "max-age=60");
  r.etag = "\"v1\"";
  server.set_reply(r);
  manual_clock clock;
  auto o = options_for(server, &clock);
  o.min_max_age = 1s;
  o.max_stale = 0s;
  jwks_client client(o);
  REQUIRE(client.refresh().empty());
  CHECK(server.last_if_none_match().empty());
  const auto before = client.current();
  clock.advance(59s);
  REQUIRE(client.refresh().empty());
  CHECK(server.last_if_none_match() == "\"v1\"");
  CHECK(client.stats().not_modified == 1);
  CHECK(client.current() == before);  // the same verifier: nothing rebuilt
  clock.advance(59s);                 // fresh again from the 304 on (60 s), not from the 200
  CHECK(client.verify(k1.token()));
  CHECK(server.requests() == 2);  // no fetch needed
}

TEST_CASE("jwks_client: TLS with a trusted CA works, wrong name, untrusted or expired is refused") {
  const issuer_key k1{"k1"};
  const auto ca = test::make_ca("tokenauth test CA");
  const auto other_ca = test::make_ca("some other CA");
  const temp_file ca_file(ca.cert_pem());
  const temp_file other_ca_file(other_ca.cert_pem());

  auto fetch = [&](const test::certified_key& server_cert, const std::string& trusted_ca_file,
                   const std::string& host = "127.0.0.1") {
    http_test_server server(server_cert.cert_pem(), server_cert.key_pem());
    server.set_reply(jwks_reply({&k1}));
    jwks_client_options o;
    o.url = server.url("/jwks.json", host);
    o.ca_file = trusted_ca_file;
    o.background_refresh = false;
    jwks_client client(o);
    std::string error = client.refresh();  // not const: returned by move
    if (error.empty()) CHECK(client.verify(k1.token()));
    return error;
  };

  const auto good = test::make_server_cert(ca, "DNS:localhost,IP:127.0.0.1");
  CHECK_THAT(fetch(good, ca_file.path), Catch::Equals(""));  // shows the error, if any
  CHECK_THAT(fetch(good, ca_file.path, "localhost"), Catch::Equals(""));

  const auto other_name = test::make_server_cert(ca, "DNS:id.example.com,IP:127.0.0.2");
  CHECK(contains(fetch(other_name, ca_file.path),
                 ": TLS handshake: certificate verify failed (IP address mismatch)"));
  CHECK(contains(fetch(other_name, ca_file.path, "localhost"),
                 ": TLS handshake: certificate verify failed (hostname mismatch)"));

  const std::string untrusted = fetch(good, other_ca_file.path);
  CHECK(contains(untrusted,
                 ": TLS handshake: certificate verify failed (unable to get local "
                 "issuer certificate)"));
  CHECK(contains(fetch(good, ""), ": TLS handshake: certificate verify failed"));  // system CAs

  const auto expired = test::make_server_cert(ca, "DNS:localhost,IP:127.0.0.1", true);
  CHECK(contains(fetch(expired, ca_file.path),
                 ": TLS handshake: certificate verify failed (certificate has expired)"));

  // A plain-HTTP server behind an https:// URL: a handshake error, not a hang.
  http_test_server plain;
  jwks_client_options o;
  o.url = "https://127.0.0.1:" + std::to_string(plain.port()) + "/jwks.json";
  o.ca_file = ca_file.path;
  o.background_refresh = false;
  o.fetch_timeout = 2s;
  CHECK(contains(jwks_client(o).refresh(), ": TLS handshake: "));
}

TEST_CASE("jwks_client: the background thread refreshes before the set expires") {
  const issuer_key k1{"k1"}, k2{"k2"};
  http_test_server server;
  server.set_reply(jwks_reply({&k1}, "max-age=0"));
  auto o = options_for(server);
  o.background_refresh = true;
  o.min_max_age = 200ms;  // refetched every 150 ms
  o.refetch_interval = 1h;
  jwks_client client(o);
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (server.requests() < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  server.set_reply(jwks_reply({&k1, &k2}, "max-age=0"));
  const std::string token = k2.token();
  // Only the background thread can teach the client k2: on-demand fetches are rate-limited
  // to one per hour, and waiting for the first one's set does not need a second.
  bool verified = false;
  while (!verified && std::chrono::steady_clock::now() < deadline) {
    if (const auto v = client.current()) verified = static_cast<bool>(v->verify(token));
    std::this_thread::sleep_for(20ms);
  }
  CHECK(verified);
  CHECK(server.requests() >= 2);
  CHECK(client.stats().demand_fetches == 0);
}

TEST_CASE("jwks_client: verifies from many threads while the set is swapped") {
  const issuer_key k1{"k1"}, k2{"k2"};
  http_test_server server;
  server.set_reply(jwks_reply({&k1}));
  auto o = options_for(server);
  o.refetch_interval = 0ms;
  jwks_client client(o);
  REQUIRE(client.refresh().empty());
  verify_cache cache;
  std::vector<std::string> tokens;
  tokens.reserve(8);
  for (int i = 0; i < 8; ++i) tokens.push_back(k1.token("user" + std::to_string(i)));

  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, verified{0};
  std::vector<std::thread> threads;
  threads.reserve(3);
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        const auto& token = tokens[static_cast<std::size_t>(i + t) % tokens.size()];
        const auto r = (i % 2) ? client.verify(token, cache) : client.verify(token);
        if (r)
          ++verified;
        else
          ++failures;
      }
    });
  for (int i = 0; i < 20; ++i) {  // alternate {k1} and {k1, k2}: k1 must verify throughout
    server.set_reply(i % 2 ? jwks_reply({&k1}) : jwks_reply({&k1, &k2}));
    CHECK(client.refresh().empty());
  }
  // New kids from several threads at once: each thread's k2 token verifies after a fetch.
  server.set_reply(jwks_reply({&k1, &k2}));
  std::atomic<int> k2_ok{0};
  std::vector<std::thread> learners;
  learners.reserve(3);
  for (int t = 0; t < 3; ++t)
    learners.emplace_back([&] {
      if (client.verify(k2.token())) ++k2_ok;
    });
  for (auto& th : learners) th.join();
  stop = true;
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(verified > 0);
  CHECK(k2_ok == 3);
}

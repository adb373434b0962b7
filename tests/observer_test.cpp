// observer.hpp: the outcomes the verifier, the verified-token cache and the refresh service report,
// counted per outcome for real verifications, rotations and store calls.
#include "tokenauth/observer.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tokenauth/jwt.hpp"
#include "tokenauth/memory_store.hpp"
#include "tokenauth/refresh.hpp"
#include "tokenauth/verify_cache.hpp"

using namespace tokenauth;

namespace {

constexpr unix_seconds now = 1'700'000'000;
const std::string secret(32, 'k');

// Counts every report; safe to call from many threads at once, as the library does.
struct counting_observer final : observer {
  std::array<std::atomic<int>, verify_outcome_count> verifications{};
  std::array<std::atomic<int>, rotation_outcome_count> rotations{};
  std::mutex mutex;
  std::vector<store_call> calls;  // store names are static strings: views stay valid

  void verified(verify_outcome o) noexcept override { ++verifications[std::size_t(o)]; }
  void rotated(rotation_outcome o) noexcept override { ++rotations[std::size_t(o)]; }
  void store_called(const store_call& c) noexcept override {
    const std::lock_guard<std::mutex> lock(mutex);
    calls.push_back(c);
  }

  int count(verify_outcome o) const { return verifications[std::size_t(o)]; }
  int count(rotation_outcome o) const { return rotations[std::size_t(o)]; }
  int total_verifications() const {
    int n = 0;
    for (const auto& v : verifications) n += v;
    return n;
  }
  int total_rotations() const {
    int n = 0;
    for (const auto& r : rotations) n += r;
    return n;
  }
  int calls_of(store_operation op, bool ok) {
    const std::lock_guard<std::mutex> lock(mutex);
    int n = 0;
    for (const auto& c : calls) n += c.operation == op && c.ok == ok;
    return n;
  }
};

signer make_signer(key k, unix_seconds issued_at, unix_seconds ttl = 900, std::string kid = {}) {
  signer_options o;
  o.ttl = ttl;
  o.clock = [issued_at] { return issued_at; };
  o.kid = std::move(kid);
  return signer(std::move(k), std::move(o));
}

verify_options observed_options(std::shared_ptr<observer> obs) {
  verify_options o;
  o.clock = [] { return now; };
  o.observer = std::move(obs);
  return o;
}

// A token with exactly this header and payload, HMAC-signed with `secret`.
std::string raw_token(std::string_view header, std::string_view payload) {
  const key k = hmac_key(secret);
  std::string t = base64url::encode(header) + "." + base64url::encode(payload);
  std::string sig(k.signature_size(), '\0');
  k.sign(t, reinterpret_cast<unsigned char*>(sig.data()));
  return t + "." + base64url::encode(sig);
}

}  // namespace

TEST_CASE("every verify outcome is reported once, with its label") {
  auto obs = std::make_shared<counting_observer>();
  const verifier v(hmac_key(secret), observed_options(obs));
  const claim_set c = claim_set().set("sub", "ada");
  const std::string good = make_signer(hmac_key(secret), now).sign(c);

  CHECK(v.verify(good));
  CHECK(v.verify(make_signer(hmac_key(secret), now - 1000).sign(c)).error() == errc::expired);
  CHECK(v.verify(
             raw_token(R"({"alg":"HS256","typ":"JWT"})", R"({"nbf":1700000100,"exp":1700000900})"))
            .error() == errc::not_active);
  CHECK(v.verify(make_signer(hmac_key(std::string(32, 'x')), now).sign(c)).error() ==
        errc::invalid_signature);
  CHECK(v.verify("not.a-token").error() == errc::malformed);
  CHECK(v.verify("").error() == errc::token_missing);
  CHECK(v.verify(std::string(9000, 'a')).error() == errc::token_too_large);
  CHECK(v.verify(make_signer(hmac_key(std::string(48, 'k'), algorithm::hs384), now).sign(c))
            .error() == errc::invalid_algorithm);
  CHECK(v.verify(raw_token(R"({"alg":"HS256","typ":"nope"})", R"({"exp":1700000900})")).error() ==
        errc::invalid_typ);
  CHECK(v.verify(raw_token(R"({"alg":"HS256"})", R"({"sub":"ada"})")).error() ==
        errc::exp_required);

  CHECK(obs->count(verify_outcome::ok) == 1);
  CHECK(obs->count(verify_outcome::expired) == 1);
  CHECK(obs->count(verify_outcome::not_yet_valid) == 1);
  CHECK(obs->count(verify_outcome::bad_signature) == 1);
  CHECK(obs->count(verify_outcome::malformed) == 1);
  CHECK(obs->count(verify_outcome::missing) == 1);
  CHECK(obs->count(verify_outcome::too_large) == 1);
  CHECK(obs->count(verify_outcome::alg_not_allowed) == 1);
  CHECK(obs->count(verify_outcome::bad_header) == 1);
  CHECK(obs->count(verify_outcome::bad_claims) == 1);
  CHECK(obs->total_verifications() == 10);

  // verify_allow_expired reports what it decided: an expired token is fine there.
  CHECK(v.verify_allow_expired(make_signer(hmac_key(secret), now - 1000).sign(c)));
  CHECK(obs->count(verify_outcome::ok) == 2);

  CHECK(to_string(verify_outcome::bad_signature) == "bad_signature");
  CHECK(to_string(verify_outcome::other) == "other");
  CHECK(verify_outcome_of(std::make_error_code(std::errc::io_error)) == verify_outcome::other);
}

TEST_CASE("an unknown kid is reported as unknown_kid") {
  auto obs = std::make_shared<counting_observer>();
  key_set keys;
  keys.add("current", hmac_key(secret));
  const verifier v(keys, observed_options(obs));
  CHECK(v.verify(make_signer(hmac_key(secret), now, 900, "current").sign(claim_set())));
  CHECK(v.verify(make_signer(hmac_key(secret), now, 900, "retired").sign(claim_set())).error() ==
        errc::unknown_kid);
  CHECK(obs->count(verify_outcome::ok) == 1);
  CHECK(obs->count(verify_outcome::unknown_kid) == 1);
  CHECK(obs->total_verifications() == 2);
}

TEST_CASE("verify_cache hits are reported as verifications too") {
  auto obs = std::make_shared<counting_observer>();
  const verifier v(hmac_key(secret), observed_options(obs));
  verify_cache_options co;
  unix_seconds cache_now = now;
  co.clock = [&cache_now] { return cache_now; };
  const verify_cache cache(co);
  const std::string t = make_signer(hmac_key(secret), now).sign(claim_set());
  for (int i = 0; i < 3; ++i) CHECK(cache.verify(v, t));
  CHECK(cache.stats().hits == 2);
  CHECK(obs->count(verify_outcome::ok) == 3);

  // A hit whose claims fail now (the verifier's clock passed exp) reports that outcome.
  verify_options later = observed_options(obs);
  later.clock = [] { return now + 901; };
  const verifier late(hmac_key(secret), later);
  CHECK(cache.verify(late, t).error() == errc::expired);
  CHECK(obs->count(verify_outcome::expired) == 1);
  CHECK(obs->total_verifications() == 4);
}

TEST_CASE("concurrent verifications are all counted") {
  auto obs = std::make_shared<counting_observer>();
  const verifier v(hmac_key(secret), observed_options(obs));
  const std::string good = make_signer(hmac_key(secret), now).sign(claim_set());
  constexpr int threads = 4, per_thread = 500;
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&] {
      for (int n = 0; n < per_thread; ++n) {
        (void)v.verify(good);
        (void)v.verify("x");
      }
    });
  for (auto& t : pool) t.join();
  CHECK(obs->count(verify_outcome::ok) == threads * per_thread);
  CHECK(obs->count(verify_outcome::malformed) == threads * per_thread);
}

TEST_CASE("every rotation outcome is reported, and every store call with its store and result") {
  auto obs = std::make_shared<counting_observer>();
  unix_seconds clock = now;
  refresh_options o;
  o.clock = [&clock] { return clock; };
  o.grace = 5;
  o.token_ttl = 3600;
  o.observer = obs;
  const refresh_service service(std::make_shared<memory_store>(), o);

  const issued_token first = service.issue("ada").value();
  const rotation second = service.rotate(first.token).value();  // rotated
  REQUIRE(second.token);
  CHECK_FALSE(service.rotate(first.token).value().token);  // grace replay
  clock += 10;
  CHECK(service.rotate(first.token).error() == errc::refresh_reuse_detected);
  CHECK(service.rotate(*second.token).error() == errc::refresh_family_revoked);
  CHECK(service.rotate("rt1.garbage").error() == errc::refresh_token_unknown);
  const issued_token other = service.issue("bob").value();
  clock += 3601;
  CHECK(service.rotate(other.token).error() == errc::refresh_token_expired);

  CHECK(obs->count(rotation_outcome::rotated) == 1);
  CHECK(obs->count(rotation_outcome::grace) == 1);
  CHECK(obs->count(rotation_outcome::reuse_detected) == 1);
  CHECK(obs->count(rotation_outcome::revoked) == 1);
  CHECK(obs->count(rotation_outcome::unknown) == 1);
  CHECK(obs->count(rotation_outcome::expired) == 1);
  CHECK(obs->total_rotations() == 6);

  // The garbage token never reached the store; the five others did.
  CHECK(obs->calls_of(store_operation::rotate, true) == 5);
  CHECK(obs->calls_of(store_operation::create_family, true) == 2);
  CHECK(service.revoke(other.token) == std::error_code{});
  CHECK(service.revoke_user("ada") == std::error_code{});
  CHECK(service.sessions("ada").value().empty());
  CHECK(service.ping() == std::error_code{});
  CHECK(obs->calls_of(store_operation::revoke_family, true) == 1);
  CHECK(obs->calls_of(store_operation::revoke_user, true) == 1);
  CHECK(obs->calls_of(store_operation::sessions, true) == 1);
  CHECK(obs->calls_of(store_operation::ping, true) == 1);
  const std::lock_guard<std::mutex> lock(obs->mutex);
  for (const store_call& c : obs->calls) {
    CHECK(c.store == "memory");
    CHECK(c.duration.count() >= 0);
  }
  CHECK(obs->calls.size() == 11);
}

namespace {

// A store whose backend is down: every call fails as a real one would.
struct down_store final : refresh_store {
  std::error_code create_family(const new_family&) override { return errc::store_unavailable; }
  result<rotate_outcome> rotate(const rotate_request&) override { return errc::store_unavailable; }
  std::error_code revoke_family(std::string_view, const token_digest*, unix_seconds) override {
    return errc::store_unavailable;
  }
  std::error_code revoke_user(std::string_view, unix_seconds) override {
    return errc::store_unavailable;
  }
  result<std::vector<session_info>> sessions(std::string_view, unix_seconds) override {
    return errc::store_unavailable;
  }
};

}  // namespace

TEST_CASE("store failures are reported as failed calls and store_error rotations") {
  auto obs = std::make_shared<counting_observer>();
  refresh_options o;
  o.observer = obs;
  const refresh_service service(std::make_shared<down_store>(), o);
  const std::string token =
      refresh_service(std::make_shared<memory_store>()).issue("ada").value().token;

  CHECK(service.issue("ada").error() == errc::store_unavailable);
  CHECK(service.rotate(token).error() == errc::store_unavailable);
  // The default ping of a store that does not override it lists the sessions of no user.
  CHECK(service.ping() == errc::store_unavailable);
  CHECK(obs->count(rotation_outcome::store_error) == 1);
  CHECK(obs->total_rotations() == 1);
  CHECK(obs->calls_of(store_operation::create_family, false) == 1);
  CHECK(obs->calls_of(store_operation::rotate, false) == 1);
  CHECK(obs->calls_of(store_operation::ping, false) == 1);
  const std::lock_guard<std::mutex> lock(obs->mutex);
  CHECK(obs->calls.size() == 3);
  for (const store_call& c : obs->calls) CHECK(c.store == "custom");
}

TEST_CASE("an unknown token on logout is an answered call, not a store failure") {
  auto obs = std::make_shared<counting_observer>();
  refresh_options o;
  o.observer = obs;
  const refresh_service service(std::make_shared<memory_store>(), o);
  const std::string stranger =
      refresh_service(std::make_shared<memory_store>()).issue("ada").value().token;
  CHECK(service.revoke(stranger) == errc::refresh_token_unknown);
  CHECK(obs->calls_of(store_operation::revoke_family, true) == 1);
  CHECK(obs->calls_of(store_operation::revoke_family, false) == 0);
}

TEST_CASE("without an observer nothing is reported and results are unchanged") {
  const verifier v(hmac_key(secret), observed_options(nullptr));
  CHECK(v.verify(make_signer(hmac_key(secret), now).sign(claim_set())));
  CHECK(v.verify("x").error() == errc::malformed);
  const refresh_service service(std::make_shared<memory_store>());
  CHECK(service.rotate(service.issue("ada").value().token).value().token);
  CHECK(service.ping() == std::error_code{});
}

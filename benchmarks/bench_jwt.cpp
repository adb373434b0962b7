// Sign and verify: tokenauth beside libjwt (and cpp-jwt, bench_cppjwt.cpp, and the plain OpenSSL
// floor, bench_openssl.cpp) in one binary, every verify benchmark of an algorithm on the same token
// (bench_jwt.hpp). Sign benchmarks build the claims and produce a token per iteration, as a server
// does per login; each checks its output verifies. HS256 benchmarks are named "<library>_<op>",
// public-key ones "<library>_<op>/<alg>".
// Run: benchmarks/run.sh (Release, pinned core, 5 repetitions, medians and ratios).
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "bench_jwt.hpp"
#include "tokenauth/algorithm.hpp"
#include "tokenauth/hmac.hpp"
#include "tokenauth/jwt.hpp"
#include "tokenauth/keys.hpp"
#include "tokenauth/verify_cache.hpp"

#ifdef TOKENAUTH_BENCH_LIBJWT
#include <jwt.h>
#endif

namespace bench {
namespace {

tokenauth::signer make_signer(tokenauth::key key) {
  tokenauth::signer_options options;
  options.ttl = ttl;
  options.clock = [] { return iat; };
  return tokenauth::signer(std::move(key), std::move(options));
}

tokenauth::signer make_signer() {
  return make_signer(tokenauth::hmac_key(secret));
}

const tokenauth::verifier& shared_verifier() {
  static const tokenauth::verifier verifier{tokenauth::hmac_key(secret)};
  return verifier;
}

tokenauth::algorithm algorithm_of(const pk_algorithm& alg) {
  return tokenauth::algorithm_from_string(alg.name).value();
}

tokenauth::key pk_key(const pk_algorithm& alg, key_part part) {
  return tokenauth::key::from_pem(key_pem(alg, part), algorithm_of(alg)).value();
}

tokenauth::signer make_pk_signer(const pk_algorithm& alg) {
  return make_signer(pk_key(alg, key_part::private_key));
}

// The verifier of alg's public key, made once (benchmarks run on one thread).
const tokenauth::verifier& pk_verifier(const pk_algorithm& alg) {
  static std::map<std::string_view, tokenauth::verifier> verifiers;
  auto it = verifiers.find(alg.name);
  if (it == verifiers.end()) {
    tokenauth::verify_options options;
    options.algorithms = {algorithm_of(alg)};
    it = verifiers
             .emplace(alg.name,
                      tokenauth::verifier(pk_key(alg, key_part::public_key), std::move(options)))
             .first;
  }
  return it->second;
}

std::string sign_once(const tokenauth::signer& signer) {
  tokenauth::claim_set claims;
  claims.set("id", id).set("nick", nick).set("name", name);
  return signer.sign(claims);
}

}  // namespace

const std::string& token() {
  static const std::string t = sign_once(make_signer());
  return t;
}

namespace {

bool carries_the_claims(const tokenauth::verify_result& r) {
  return r && r->string("id") == id && r->string("nick") == nick && r->string("name") == name &&
         r->iat() == iat && r->exp() == exp;
}

}  // namespace

bool tokenauth_accepts(const std::string& t) {
  return carries_the_claims(shared_verifier().verify(t));
}

const std::string& pk_token(const pk_algorithm& alg) {
  static std::map<std::string_view, std::string> tokens;
  auto it = tokens.find(alg.name);
  if (it == tokens.end()) it = tokens.emplace(alg.name, sign_once(make_pk_signer(alg))).first;
  return it->second;
}

bool pk_accepts(const pk_algorithm& alg, const std::string& t) {
  return carries_the_claims(pk_verifier(alg).verify(t));
}

namespace {

void check_token(benchmark::State& state, const std::string& t, const char* who) {
  if (!tokenauth_accepts(t))
    state.SkipWithError((std::string(who) + ": token not accepted").c_str());
  state.SetItemsProcessed(state.iterations());
}

// --- tokenauth -------------------------------------------------------------------------------

void BM_tokenauth_sign(benchmark::State& state) {
  const tokenauth::signer signer = make_signer();
  std::string t;
  for (auto _ : state) {
    t = sign_once(signer);
    benchmark::DoNotOptimize(t.data());
  }
  check_token(state, t, "tokenauth sign");
}

void BM_tokenauth_verify(benchmark::State& state) {
  const tokenauth::verifier& verifier = shared_verifier();
  const std::string& t = token();
  bool ok = true;
  for (auto _ : state) {
    auto r = verifier.verify(t);
    ok &= r.has_value();
    benchmark::DoNotOptimize(r);
  }
  if (!ok) state.SkipWithError("tokenauth rejected the token");
  state.SetItemsProcessed(state.iterations());
}

// The verify above with an observer that counts outcomes in relaxed atomics, as a metrics
// exporter does (observer.hpp): the cost of observing, beside BM_tokenauth_verify's none.
void BM_tokenauth_verify_observed(benchmark::State& state) {
  struct counting final : tokenauth::observer {
    std::array<std::atomic<std::uint64_t>, tokenauth::verify_outcome_count> n{};
    void verified(tokenauth::verify_outcome o) noexcept override {
      n[static_cast<std::size_t>(o)].fetch_add(1, std::memory_order_relaxed);
    }
  };
  auto counter = std::make_shared<counting>();
  tokenauth::verify_options options;
  options.observer = counter;
  const tokenauth::verifier verifier(tokenauth::hmac_key(secret), options);
  const std::string& t = token();
  for (auto _ : state) {
    auto r = verifier.verify(t);
    benchmark::DoNotOptimize(r);
  }
  if (counter->n[0] != static_cast<std::uint64_t>(state.iterations()))
    state.SkipWithError("tokenauth rejected the token");
  state.SetItemsProcessed(state.iterations());
}

void BM_tokenauth_verify_bad_signature(benchmark::State& state) {
  const tokenauth::verifier& verifier = shared_verifier();
  std::string t = token();
  char& c = t[t.size() - 10];  // inside the signature; any letter change keeps it canonical
  c = c == 'A' ? 'B' : 'A';
  bool ok = true;
  for (auto _ : state) {
    auto r = verifier.verify(t);
    ok &= r.error() == tokenauth::errc::invalid_signature;
    benchmark::DoNotOptimize(r);
  }
  if (!ok) state.SkipWithError("expected invalid signature");
  state.SetItemsProcessed(state.iterations());
}

void BM_tokenauth_verify_read_claims(benchmark::State& state) {
  const tokenauth::verifier& verifier = shared_verifier();
  const std::string& t = token();
  bool ok = true;
  for (auto _ : state) {
    auto r = verifier.verify(t);
    if (!r) {
      ok = false;
      continue;
    }
    auto user_id = r->string("id");
    auto user_nick = r->string("nick");
    auto user_name = r->string("name");
    ok &= user_id.has_value() && user_nick.has_value() && user_name.has_value();
    benchmark::DoNotOptimize(user_id);
    benchmark::DoNotOptimize(user_nick);
    benchmark::DoNotOptimize(user_name);
  }
  if (!ok) state.SkipWithError("tokenauth rejected the token or lost a claim");
  state.SetItemsProcessed(state.iterations());
}

// The floor under sign and verify: the MAC of the token's signing input with the precomputed key.
void BM_tokenauth_hmac_only(benchmark::State& state) {
  const tokenauth::hmac_key key(secret);
  const std::string_view input = std::string_view(token()).substr(0, token().rfind('.'));
  unsigned char mac[tokenauth::max_mac_size];
  for (auto _ : state) {
    key.compute(input, mac);
    benchmark::DoNotOptimize(mac);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_tokenauth_sign_pk(benchmark::State& state, const pk_algorithm& alg) {
  const tokenauth::signer signer = make_pk_signer(alg);
  std::string t;
  for (auto _ : state) {
    t = sign_once(signer);
    benchmark::DoNotOptimize(t.data());
  }
  if (!pk_accepts(alg, t)) state.SkipWithError("tokenauth sign: token not accepted");
  state.SetItemsProcessed(state.iterations());
}

void BM_tokenauth_verify_pk(benchmark::State& state, const pk_algorithm& alg) {
  const tokenauth::verifier& verifier = pk_verifier(alg);
  const std::string& t = pk_token(alg);
  bool ok = true;
  for (auto _ : state) {
    auto r = verifier.verify(t);
    ok &= r.has_value();
    benchmark::DoNotOptimize(r);
  }
  if (!ok) state.SkipWithError("tokenauth rejected the token");
  state.SetItemsProcessed(state.iterations());
}

// A token presented again and again, through the verified-token cache. The first verify (before
// the loop) checks the signature and fills the cache; each iteration then costs a SHA-256 of the
// token, a lookup, the key check and exp/nbf. Every iteration must be a hit.
void verify_cached(benchmark::State& state, const tokenauth::verifier& verifier,
                   const std::string& t) {
  tokenauth::verify_cache cache;
  bool ok = cache.verify(verifier, t).has_value();
  for (auto _ : state) {
    auto r = cache.verify(verifier, t);
    ok &= r.has_value();
    benchmark::DoNotOptimize(r);
  }
  const tokenauth::verify_cache_stats stats = cache.stats();
  if (!ok || stats.misses != 1 || stats.hits != static_cast<std::uint64_t>(state.iterations()))
    state.SkipWithError("tokenauth rejected the token or missed the cache");
  state.SetItemsProcessed(state.iterations());
}

void BM_tokenauth_verify_cached(benchmark::State& state) {
  verify_cached(state, shared_verifier(), token());
}

void BM_tokenauth_verify_cached_pk(benchmark::State& state, const pk_algorithm& alg) {
  verify_cached(state, pk_verifier(alg), pk_token(alg));
}

[[maybe_unused]] const bool tokenauth_pk_registered =
    register_per_algorithm("tokenauth_sign", BM_tokenauth_sign_pk) &&
    register_per_algorithm("tokenauth_verify", BM_tokenauth_verify_pk) &&
    register_per_algorithm("tokenauth_verify_cached", BM_tokenauth_verify_cached_pk);

BENCHMARK(BM_tokenauth_sign);
BENCHMARK(BM_tokenauth_verify);
BENCHMARK(BM_tokenauth_verify_observed);
BENCHMARK(BM_tokenauth_verify_cached);
BENCHMARK(BM_tokenauth_verify_bad_signature);
BENCHMARK(BM_tokenauth_verify_read_claims);
BENCHMARK(BM_tokenauth_hmac_only);

// --- libjwt (C API, 1.10) --------------------------------------------------------------------
#ifdef TOKENAUTH_BENCH_LIBJWT

struct jwt_deleter {
  void operator()(jwt_t* j) const noexcept { jwt_free(j); }
};
struct c_string_deleter {
  void operator()(char* s) const noexcept { std::free(s); }  // jwt_encode_str's malloc
};
using jwt_ptr = std::unique_ptr<jwt_t, jwt_deleter>;

const auto* libjwt_key() {
  return reinterpret_cast<const unsigned char*>(secret.data());
}

std::string libjwt_sign(jwt_alg_t alg, const unsigned char* key, int key_size) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return {};
  const jwt_ptr j(raw);
  const std::string id_s(id), nick_s(nick), name_s(name);
  if (jwt_set_alg(j.get(), alg, key, key_size) != 0 ||
      jwt_add_grant(j.get(), "id", id_s.c_str()) != 0 ||
      jwt_add_grant(j.get(), "nick", nick_s.c_str()) != 0 ||
      jwt_add_grant(j.get(), "name", name_s.c_str()) != 0 ||
      jwt_add_grant_int(j.get(), "iat", iat) != 0 || jwt_add_grant_int(j.get(), "exp", exp) != 0)
    return {};
  const std::unique_ptr<char, c_string_deleter> out(jwt_encode_str(j.get()));
  return out ? std::string(out.get()) : std::string();
}

void BM_libjwt_sign(benchmark::State& state) {
  std::string t;
  for (auto _ : state) {
    t = libjwt_sign(JWT_ALG_HS256, libjwt_key(), static_cast<int>(secret.size()));
    benchmark::DoNotOptimize(t.data());
  }
  check_token(state, t, "libjwt sign");
}

void BM_libjwt_verify(benchmark::State& state) {
  const std::string& t = token();
  bool ok = true;
  for (auto _ : state) {
    jwt_t* raw = nullptr;
    ok &= jwt_decode(&raw, t.c_str(), libjwt_key(), static_cast<int>(secret.size())) == 0;
    const jwt_ptr j(raw);
    benchmark::DoNotOptimize(raw);
  }
  if (!ok) state.SkipWithError("libjwt rejected the token");
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_libjwt_sign);
BENCHMARK(BM_libjwt_verify);

// libjwt takes the PEM text on every call and parses it each time: that is its API.
const unsigned char* pem_bytes(const std::string& pem) {
  return reinterpret_cast<const unsigned char*>(pem.data());
}

void BM_libjwt_sign_pk(benchmark::State& state, const pk_algorithm& alg) {
  const jwt_alg_t libjwt_alg = jwt_str_alg(std::string(alg.name).c_str());
  const std::string& pem = key_pem(alg, key_part::private_key);
  std::string t;
  for (auto _ : state) {
    t = libjwt_sign(libjwt_alg, pem_bytes(pem), static_cast<int>(pem.size()));
    benchmark::DoNotOptimize(t.data());
  }
  if (!pk_accepts(alg, t)) state.SkipWithError("libjwt sign: token not accepted");
  state.SetItemsProcessed(state.iterations());
}

void BM_libjwt_verify_pk(benchmark::State& state, const pk_algorithm& alg) {
  const std::string& t = pk_token(alg);
  const std::string& pem = key_pem(alg, key_part::public_key);
  bool ok = true;
  for (auto _ : state) {
    jwt_t* raw = nullptr;
    ok &= jwt_decode(&raw, t.c_str(), pem_bytes(pem), static_cast<int>(pem.size())) == 0;
    const jwt_ptr j(raw);
    benchmark::DoNotOptimize(raw);
  }
  if (!ok) state.SkipWithError("libjwt rejected the token");
  state.SetItemsProcessed(state.iterations());
}

[[maybe_unused]] const bool libjwt_pk_registered =
    register_per_algorithm("libjwt_sign", BM_libjwt_sign_pk, rs_or_es) &&
    register_per_algorithm("libjwt_verify", BM_libjwt_verify_pk, rs_or_es);

#endif  // TOKENAUTH_BENCH_LIBJWT

}  // namespace
}  // namespace bench

BENCHMARK_MAIN();

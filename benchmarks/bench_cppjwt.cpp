// cpp-jwt (Debian libcpp-jwt-dev) sign and verify, HS256 and public-key, linked into bench_jwt. A
// file of its own because cpp-jwt's headers call OpenSSL API deprecated in 3.0 (HMAC()), which
// tokenauth's own code is compiled without (OPENSSL_NO_DEPRECATED); see benchmarks/CMakeLists.txt.
#include <benchmark/benchmark.h>

#include <string>
#include <system_error>

#include <jwt/jwt.hpp>

#include "bench_jwt.hpp"

namespace bench {
namespace {

namespace params = jwt::params;

void BM_cppjwt_sign(benchmark::State& state) {
  std::string t;
  for (auto _ : state) {
    jwt::jwt_object obj{
        params::algorithm("HS256"), params::secret(secret),
        params::payload(
            {{"id", std::string(id)}, {"nick", std::string(nick)}, {"name", std::string(name)}})};
    obj.add_claim("iat", iat).add_claim("exp", exp);
    t = obj.signature();
    benchmark::DoNotOptimize(t.data());
  }
  if (!tokenauth_accepts(t)) state.SkipWithError("cpp-jwt sign: token not accepted");
  state.SetItemsProcessed(state.iterations());
}

void BM_cppjwt_verify(benchmark::State& state) {
  const std::string& t = token();
  bool ok = true;
  for (auto _ : state) {
    std::error_code ec;
    auto decoded = jwt::decode(t, params::algorithms({"HS256"}), ec, params::secret(secret),
                               params::verify(true));
    ok &= !ec;
    benchmark::DoNotOptimize(decoded);
  }
  if (!ok) state.SkipWithError("cpp-jwt rejected the token");
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_cppjwt_sign);
BENCHMARK(BM_cppjwt_verify);

// Like libjwt, cpp-jwt takes the key as PEM text and parses it on every sign and verify.
void BM_cppjwt_sign_pk(benchmark::State& state, const pk_algorithm& alg) {
  const std::string& pem = key_pem(alg, key_part::private_key);
  std::string t;
  for (auto _ : state) {
    jwt::jwt_object obj{
        params::algorithm(alg.name), params::secret(pem),
        params::payload(
            {{"id", std::string(id)}, {"nick", std::string(nick)}, {"name", std::string(name)}})};
    obj.add_claim("iat", iat).add_claim("exp", exp);
    t = obj.signature();
    benchmark::DoNotOptimize(t.data());
  }
  if (!pk_accepts(alg, t)) state.SkipWithError("cpp-jwt sign: token not accepted");
  state.SetItemsProcessed(state.iterations());
}

void BM_cppjwt_verify_pk(benchmark::State& state, const pk_algorithm& alg) {
  const std::string& t = pk_token(alg);
  const std::string& pem = key_pem(alg, key_part::public_key);
  const std::string alg_name(alg.name);
  bool ok = true;
  for (auto _ : state) {
    std::error_code ec;
    auto decoded = jwt::decode(t, params::algorithms({alg_name}), ec, params::secret(pem),
                               params::verify(true));
    ok &= !ec;
    benchmark::DoNotOptimize(decoded);
  }
  if (!ok) state.SkipWithError("cpp-jwt rejected the token");
  state.SetItemsProcessed(state.iterations());
}

[[maybe_unused]] const bool registered =
    register_per_algorithm("cppjwt_sign", BM_cppjwt_sign_pk, rs_or_es) &&
    register_per_algorithm("cppjwt_verify", BM_cppjwt_verify_pk, rs_or_es);

}  // namespace
}  // namespace bench

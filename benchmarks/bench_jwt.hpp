// What every benchmark in bench_jwt shares: the keys, the claims and the tokens all verify
// benchmarks check. HS256: {"id","nick","name","iat","exp"}, 179 bytes, the shape the example
// server issues.
// Public-key algorithms: the same claims, one token per algorithm, keys in tests/vectors/keys/.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace bench {

inline constexpr std::string_view secret = "benchmark-secret-0123456789-abcdefghij";
inline constexpr std::string_view id = "1", nick = "alice", name = "Alice";
inline constexpr std::int64_t iat = 4000000000, ttl = 900, exp = iat + ttl;  // far future

// Signed by tokenauth (bench_jwt.cpp); identical for every benchmark.
const std::string& token();
// True when tokenauth verifies `token` and reads back id, nick and name: a peer's output check.
bool tokenauth_accepts(const std::string& token);

// --- public-key algorithms -------------------------------------------------------------------

struct pk_algorithm {
  std::string_view name;  // the JWS "alg"
  std::string_view key;   // tests/vectors/keys/<key>.pem (PKCS#8) and <key>.pub.pem (SPKI)
};

// RS512 and ES384 show how the hash and the curve size move the cost; RS384, PS384/512 and
// ES512 would add run time and nothing new.
inline constexpr pk_algorithm pk_algorithms[] = {
    {"RS256", "rsa2048"}, {"RS512", "rsa2048"}, {"PS256", "rsa2048"},
    {"ES256", "p256"},    {"ES384", "p384"},    {"EdDSA", "ed25519"},
};

enum class key_part { private_key, public_key };
// PEM text of the algorithm's key, read once.
const std::string& key_pem(const pk_algorithm& alg, key_part part);
// One token over the claims above, signed with alg's private key; identical for every benchmark.
const std::string& pk_token(const pk_algorithm& alg);
// True when `token` is a valid alg token carrying the claims above: a signer's output check.
bool pk_accepts(const pk_algorithm& alg, const std::string& token);

using pk_benchmark = void (*)(benchmark::State&, const pk_algorithm&);

// Registers fn once per algorithm that `supported` accepts, as "<name>/<alg>", e.g.
// "libjwt_verify/RS256". Returns true, so that a namespace-scope constant can run it.
template <class Supported>
bool register_per_algorithm(const char* name, pk_benchmark fn, Supported supported) {
  for (const pk_algorithm& alg : pk_algorithms)
    if (supported(alg))
      benchmark::RegisterBenchmark((std::string(name) + "/" + std::string(alg.name)).c_str(), fn,
                                   alg);
  return true;
}

inline bool register_per_algorithm(const char* name, pk_benchmark fn) {
  return register_per_algorithm(name, fn, [](const pk_algorithm&) { return true; });
}

// The algorithms libjwt 1.10 and cpp-jwt 1.4 implement: RS256/384/512 and ES256/384/512; neither
// has PS* or EdDSA.
inline bool rs_or_es(const pk_algorithm& alg) {
  return alg.name.substr(0, 2) == "RS" || alg.name.substr(0, 2) == "ES";
}

}  // namespace bench

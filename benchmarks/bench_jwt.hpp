// What every benchmark in bench_jwt shares: the key, the claims and the one token all verify
// benchmarks check (HS256, {"id","nick","name","iat","exp"}, 179 bytes as in PERFORMANCE.md).
#pragma once

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

}  // namespace bench

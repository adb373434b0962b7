#!/usr/bin/env bash
# Builds bench_jwt (Release) and runs it pinned to one core, 5 repetitions; prints the median of
# each benchmark and tokenauth's speed-up over each peer and over the OpenSSL floor (medians of
# CPU time, same run), HS256 first, then a table per operation for the public-key algorithms.
#   benchmarks/run.sh [extra benchmark flags, e.g. --benchmark_filter=verify]
# Environment: BUILD_DIR (default build/bench), CPU (core to pin to, default 1), MIN_TIME
# (seconds per repetition, default 0.2).
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$repo_root/build/bench}
cpu=${CPU:-1}

cmake -S "$repo_root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DTOKENAUTH_BUILD_BENCHMARKS=ON -DTOKENAUTH_BUILD_TESTS=OFF -DTOKENAUTH_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build_dir" --target bench_jwt

csv=$(mktemp)
trap 'rm -f "$csv"' EXIT
# Repetitions run interleaved in random order, so load from other processes during the run
# spreads over all benchmarks instead of skewing whichever ran at that moment.
# 0.2 s per repetition keeps the whole run near two minutes on an idle machine; public-key
# operations take 20-1500 us, so even the slowest gets over a hundred iterations per repetition.
taskset -c "$cpu" "$build_dir/benchmarks/bench_jwt" --benchmark_repetitions=5 \
  --benchmark_min_time="${MIN_TIME:-0.2}" \
  --benchmark_report_aggregates_only=true --benchmark_enable_random_interleaving=true \
  --benchmark_out="$csv" --benchmark_out_format=csv "$@"

# CSV: name,iterations,real_time,cpu_time,time_unit,bytes_per_second,items_per_second,...
# Names: "BM_<library>_<op>" (HS256) and "<library>_<op>/<alg>" (public-key algorithms).
echo
echo "medians (CPU time per op, ops/s), pinned to core $cpu:"
awk -F, '
  function rate_text(r) {
    if (r >= 1e6) return sprintf("%.2f M", r / 1e6)
    if (r >= 1e3) return sprintf("%.1f k", r / 1e3)
    return sprintf("%.0f", r)
  }
  # Speed-up of tokenauth over a peer: peer time / tokenauth time ("-" when either is missing).
  function ratio(t, q) {
    return ((t in ns) && (q in ns) && unit[t] == unit[q]) ? sprintf("%.2fx", ns[q] / ns[t]) : "-"
  }
  function cell(b) { return (b in ns) ? rate_text(rate[b]) : "-" }
  $1 ~ /_median"?$/ && $4 != "" {
    name = $1; gsub(/"/, "", name); sub(/^BM_/, "", name); sub(/_median$/, "", name)
    ns[name] = $4; unit[name] = $5; rate[name] = $7
    if (split(name, part, "/") == 2) present[part[2]] = 1
  }
  END {
    print "HS256:"
    n = split("tokenauth_sign tokenauth_verify tokenauth_verify_cached tokenauth_verify_bad_signature " \
              "tokenauth_verify_read_claims tokenauth_hmac_only libjwt_sign libjwt_verify " \
              "cppjwt_sign cppjwt_verify", order, " ")
    for (i = 1; i <= n; i++) if (order[i] in ns)
      printf "  %-32s %8.0f %s  %12.0f /s\n", order[i], ns[order[i]], unit[order[i]], rate[order[i]]
    print ""
    print "HS256 tokenauth speed-up (peer median / tokenauth median):"
    split("sign verify", ops, " ")
    split("libjwt cppjwt", peers, " ")
    for (o = 1; o <= 2; o++) for (p = 1; p <= 2; p++) {
      t = "tokenauth_" ops[o]; q = peers[p] "_" ops[o]
      if ((t in ns) && (q in ns) && unit[t] == unit[q])
        printf "  %-8s vs %-7s %6.1fx\n", ops[o], peers[p], ns[q] / ns[t]
    }
    # Public-key algorithms: ops/s per library, then the speed-up of tokenauth over each (against the
    # OpenSSL floor, 1x is the best possible).
    nalgs = 0
    n = split("RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA", known, " ")
    for (i = 1; i <= n; i++) if (known[i] in present) algs[++nalgs] = known[i]
    for (o = 1; o <= 2 && nalgs > 0; o++) {
      print ""
      printf "%-62s%s\n", ops[o] ", ops/s (medians)", "tokenauth speed-up over"
      printf "  %-6s %9s %9s %9s %9s %9s |  %8s %8s %8s\n", "alg", "tokenauth", \
        (ops[o] == "verify" ? "cached" : ""), "openssl", "libjwt", "cpp-jwt", "floor", "libjwt", \
        "cpp-jwt"
      for (a = 1; a <= nalgs; a++) {
        alg = algs[a]; t = "tokenauth_" ops[o] "/" alg
        printf "  %-6s %9s %9s %9s %9s %9s |  %8s %8s %8s\n", alg, cell(t), \
          (ops[o] == "verify" ? cell("tokenauth_verify_cached/" alg) : ""), \
          cell("openssl_" ops[o] "/" alg), cell("libjwt_" ops[o] "/" alg), \
          cell("cppjwt_" ops[o] "/" alg), ratio(t, "openssl_" ops[o] "/" alg), \
          ratio(t, "libjwt_" ops[o] "/" alg), ratio(t, "cppjwt_" ops[o] "/" alg)
      }
    }
    # libjwt and cpp-jwt parse the PEM key on every call (public to verify, private to sign).
    header = 0
    for (a = 1; a <= nalgs; a++) {
      pub = "openssl_parse_public_pem/" algs[a]; priv = "openssl_parse_private_pem/" algs[a]
      if (!(pub in ns)) continue
      if (!header++) printf "\nPEM key parse per call (CPU time; the peers pay it per op):\n"
      printf "  %-6s public %8.1f us   private %8.1f us\n", algs[a], ns[pub] / 1000, ns[priv] / 1000
    }
  }' "$csv"

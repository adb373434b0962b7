#!/usr/bin/env bash
# Builds bench_jwt (Release) and runs it pinned to one core, 5 repetitions; prints the median of
# each benchmark and tokenauth's speed-up over each peer (medians of CPU time, same run).
#   benchmarks/run.sh [extra benchmark flags, e.g. --benchmark_filter=verify]
# Environment: BUILD_DIR (default build/bench), CPU (core to pin to, default 1).
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
taskset -c "$cpu" "$build_dir/benchmarks/bench_jwt" --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_enable_random_interleaving=true \
  --benchmark_out="$csv" --benchmark_out_format=csv "$@"

# CSV: name,iterations,real_time,cpu_time,time_unit,bytes_per_second,items_per_second,...
echo
echo "medians (CPU time per op, ops/s), pinned to core $cpu:"
awk -F, '
  $1 ~ /_median"?$/ && $4 != "" {
    name = $1; gsub(/"/, "", name); sub(/^BM_/, "", name); sub(/_median$/, "", name)
    ns[name] = $4; unit[name] = $5; rate[name] = $7
  }
  END {
    n = split("tokenauth_sign tokenauth_verify tokenauth_verify_bad_signature " \
              "tokenauth_verify_read_claims tokenauth_hmac_only libjwt_sign libjwt_verify " \
              "cppjwt_sign cppjwt_verify", order, " ")
    for (i = 1; i <= n; i++) if (order[i] in ns)
      printf "  %-32s %8.0f %s  %12.0f /s\n", order[i], ns[order[i]], unit[order[i]], rate[order[i]]
    print ""
    print "tokenauth speed-up (peer median / tokenauth median):"
    split("sign verify", ops, " ")
    split("libjwt cppjwt", peers, " ")
    for (o = 1; o <= 2; o++) for (p = 1; p <= 2; p++) {
      t = "tokenauth_" ops[o]; q = peers[p] "_" ops[o]
      if ((t in ns) && (q in ns) && unit[t] == unit[q])
        printf "  %-8s vs %-7s %6.1fx\n", ops[o], peers[p], ns[q] / ns[t]
    }
  }' "$csv"

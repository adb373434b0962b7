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
taskset -c "$cpu" "$build_dir/benchmarks/bench_jwt" --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_out="$csv" --benchmark_out_format=csv "$@"

# CSV: name,iterations,real_time,cpu_time,time_unit,bytes_per_second,items_per_second,...
echo
echo "medians (CPU time per op, ops/s), pinned to core $cpu:"
awk -F, '
  $1 ~ /_median"?$/ && $4 != "" {
    name = $1; gsub(/"/, "", name); sub(/^BM_/, "", name); sub(/_median$/, "", name)
    ns[name] = $4; unit[name] = $5
    printf "  %-34s %10.0f %s  %12.0f /s\n", name, $4, $5, $7
  }
  END {
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

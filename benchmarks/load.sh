#!/usr/bin/env bash
# Load benchmark of the example server, with wrk on core 0 and the server on core 1:
#   1. GET /getnumber with a valid token (memory store), 64 connections, metrics off and on
#      (--admin-listen "" vs a port, scraped once a second), three rounds in balanced order:
#      medians and the loss with metrics on; server peak RSS
#   2. POST /auth/reissuance on a Redis store, one refresh session per in-flight request, each
#      carrying its rotated cookie forward (redis-server shares core 0 with wrk)
#   3. GET /getnumber latency while a bcrypt-cost-12 login flood runs
#   4. Public keys: /getnumber signed with HS256 vs EdDSA keys (--jwt-keys-dir), and the resource
#      service's GET /orders with ES256 tokens verified through the server's JWKS (verify_cache
#      hit rate from its exit line); each 1 I/O thread, access log off, alternating three times
# Usage: benchmarks/load.sh [seconds per run, default 10]. Builds Release into build/release.
# Knobs: SKIP_GETNUMBER=1, REISSUE_THREADS="1 2" (I/O threads to try), REDIS_CPU=0,
#   ONLY_KEYS=1 (section 4 only), LOAD_BUILD_DIR=build/dev (use that tree's binaries, no build).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/common.sh"
cd "$repo_root"

duration=${1:-10}
ensure_packages "${base_packages[@]}" wrk redis-server curl openssl
mkdir -p build
build_dir=${LOAD_BUILD_DIR:-build/release}
if [ -z "${LOAD_BUILD_DIR:-}" ]; then
  configure_and_build build/release -DCMAKE_BUILD_TYPE=Release -DTOKENAUTH_BUILD_TESTS=OFF \
    -DTOKENAUTH_BUILD_EXAMPLES=ON >/dev/null
fi
bin=$repo_root/$build_dir/examples/server/tokenauth-server
resource_bin=$repo_root/$build_dir/examples/resource_service/tokenauth-resource-service

work=$(mktemp -d /tmp/tokenauth-load-XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export JWT_SECRET=load-benchmark-secret-0123456789abcdef

# start_server NAME ARGS...: starts the server pinned to core 1, waits until it answers.
start_server() {
  local name=$1
  shift
  port=$(free_port)
  (cd "$work" && exec taskset -c 1 "$bin" --port "$port" --admin-listen "${admin_listen:-}" --users "sqlite:$work/$name-users.db" "$@" \
    >"$work/$name.log" 2>&1) &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/getnumber" && return 0
    sleep 0.1
  done
  echo "server did not start:" >&2
  cat "$work/$name.log" >&2
  return 1
}

stop_server() {
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
}

# login EMAIL: prints the Set-Cookie refresh token and the access token (two lines).
join_and_login() {
  local email=$1
  curl -s -o /dev/null -X POST "http://127.0.0.1:$port/auth/join" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"nick\":\"${email%@*}\",\"password\":\"load-test-pw\",\"name\":\"Load\"}"
}
login() {
  curl -s -D "$work/headers" -X POST "http://127.0.0.1:$port/auth/login" \
    -H 'Content-Type: application/json' -d "{\"email\":\"$1\",\"password\":\"load-test-pw\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["accessToken"])'
  sed -n 's/^Set-Cookie: refreshToken=\([^;]*\);.*/\1/p' "$work/headers"
}

# wrk_run NAME wrk-args...: runs wrk pinned to core 0, keeps its output, prints req/s and p99.
wrk_run() {
  local name=$1
  shift
  taskset -c 0 wrk -t1 -c64 -d"${duration}s" --latency "$@" >"$work/$name.wrk"
  summarize "$name"
}
# rps_of NAME: the requests per second of wrk run NAME.
rps_of() { awk '/^Requests\/sec:/ {print $2}' "$work/$1.wrk"; }
summarize() {
  local rps p99 non2xx
  rps=$(rps_of "$1")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$1.wrk")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$work/$1.wrk")
  printf '%-34s %12s req/s   p99 %8s   non-2xx %s\n' "$1" "$rps" "$p99" "${non2xx:-0}"
}

# median N...: the middle value of the numbers given.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

if [ -z "${SKIP_GETNUMBER:-}" ] && [ -z "${ONLY_KEYS:-}" ]; then
log "1. GET /getnumber, memory store, 1 I/O thread, access log on; metrics off vs on, alternating"
rps_off=()
rps_on=()
# Balanced order (off on, on off, off on), so a drift in the machine's load favours neither.
for round in 1 2 3; do
  order="off on"
  [ "$round" = 2 ] && order="on off"
  for metrics in $order; do
    admin_listen=""
    [ "$metrics" = on ] && admin_listen=127.0.0.1:$(free_port)
    start_server "getnumber-$metrics-$round" --threads 1 --access-ttl 1h --bcrypt-cost 4
    join_and_login bench@example.com
    token=$(login bench@example.com | sed -n 1p)
    taskset -c 0 wrk -t1 -c64 -d2s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/getnumber" >/dev/null
    scraper=
    if [ "$metrics" = on ]; then
      # A scrape a second (Prometheus would scrape less often), from one long-lived process on
      # wrk's core, as a scraper runs off the server's core: a curl started per scrape cost the
      # server's core more than the counters did.
      taskset -c 0 python3 -c 'import sys, time, urllib.request
while True:
    urllib.request.urlopen(sys.argv[1]).read()
    time.sleep(1)' "http://$admin_listen/metrics" &
      scraper=$!
    fi
    wrk_run "getnumber-metrics-$metrics-$round" -H "Authorization: Bearer $token" "http://127.0.0.1:$port/getnumber"
    rps=$(rps_of "getnumber-metrics-$metrics-$round")
    if [ "$metrics" = on ]; then
      verified=$(curl -s "http://$admin_listen/metrics" |
        awk '$1 == "tokenauth_token_verifications_total{outcome=\"ok\"}" {print $2}')
      kill "$scraper" 2>/dev/null || true
      wait "$scraper" 2>/dev/null || true
      printf '%-34s %12s verifications counted\n' "  metrics scrape" "${verified:-none}"
      rps_on+=("$rps")
    else
      rps_off+=("$rps")
    fi
    if [ "$round" = 1 ] && [ "$metrics" = off ]; then
      rss_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")
      printf '%-34s %12s MiB peak RSS (VmHWM)\n' "server RSS" "$(awk -v k="$rss_kib" 'BEGIN {printf "%.1f", k/1024}')"
    fi
    stop_server
  done
done
admin_listen=""
off=$(median "${rps_off[@]}")
on=$(median "${rps_on[@]}")
printf '%-34s %12s req/s (median of 3)\n' "getnumber metrics off" "$off"
printf '%-34s %12s req/s (median of 3)\n' "getnumber metrics on" "$on"
printf '%-34s %11s%%   (budget: at most 3%%)\n' "metrics cost" \
  "$(awk -v a="$off" -v b="$on" 'BEGIN {printf "%.1f", (a - b) / a * 100}')"
fi

if [ -z "${ONLY_KEYS:-}" ]; then
log "2. POST /auth/reissuance, Redis store (redis-server on core 0 beside wrk), 80 rotating sessions"
redis_port=$(free_port)
taskset -c "${REDIS_CPU:-0}" redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  --logfile "$work/redis.log" --daemonize no &
pids+=("$!")
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
# 1 I/O thread; Redis calls wait on the store pool (8 threads by default).
for threads in ${REISSUE_THREADS:-1}; do
  start_server "reissue-t$threads" --threads "$threads" --store "redis://127.0.0.1:$redis_port" \
    --access-ttl 1h --bcrypt-cost 4 --bcrypt-queue 1000 \
    --login-rate-account 0 --login-rate-address 0  # 81 logins of one user from one address
  join_and_login rot@example.com
  sessions=$work/sessions
  login rot@example.com | sed -n 1p >"$sessions"
  for _ in $(seq 80); do login rot@example.com | sed -n 2p; done >>"$sessions"
  cat > "$work/reissue.lua" <<'EOF'
-- One refresh session per in-flight request, each carrying its rotated cookie forward: request()
-- takes a free session, response() puts it back with the new cookie (keyed by the family id, the
-- middle of the token). More sessions than connections, so one is always free.
-- args: a file whose first line is an access token, then one refresh token per line.
local sessions, free, bearer = {}, {}, nil
function init(args)
  local f = assert(io.open(args[1]))
  bearer = f:read("*l")
  for line in f:lines() do
    local family = line:match("^rt1%.([^.]+)%.")
    if family then sessions[family] = line; free[#free + 1] = family end
  end
  f:close()
end
function request()
  local family = table.remove(free, 1)
  local headers = { ["Authorization"] = "Bearer " .. bearer, ["Content-Type"] = "application/json" }
  if family then headers["Cookie"] = "refreshToken=" .. sessions[family] end
  return wrk.format("POST", "/auth/reissuance", headers)
end
function response(status, headers, body)
  local token = (headers["Set-Cookie"] or ""):match("^refreshToken=([^;]+)")
  local family = token and token:match("^rt1%.([^.]+)%.")
  if family then sessions[family] = token; free[#free + 1] = family end
end
EOF
  wrk_run "reissuance-redis-threads$threads" -s "$work/reissue.lua" \
    "http://127.0.0.1:$port/auth/reissuance" -- "$sessions"
  stop_server
done

log "3. GET /getnumber latency during a bcrypt-cost-12 login flood"
# Throttling off: the flood must reach bcrypt (it comes from one address, at one account).
start_server flood --threads 1 --access-ttl 1h --bcrypt-cost 12 --login-rate-account 0 \
  --login-rate-address 0 --bcrypt-queue-per-address 64
join_and_login flood@example.com
token=$(login flood@example.com | sed -n 1p)
cat > "$work/login.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("LOGIN_BODY")
EOF
LOGIN_BODY='{"email":"flood@example.com","password":"load-test-pw"}' \
  taskset -c 0 wrk -t1 -c16 -d"$((duration + 4))s" --latency -s "$work/login.lua" \
  "http://127.0.0.1:$port/auth/login" >"$work/login-flood.wrk" &
flood=$!
sleep 2
wrk_run getnumber-during-login-flood -H "Authorization: Bearer $token" "http://127.0.0.1:$port/getnumber"
wait "$flood"
summarize login-flood
stop_server
fi

log "4. Public keys: /getnumber HS256 vs EdDSA, the resource service's /orders with ES256 (JWKS)"
# Every run: 1 I/O thread pinned to core 1, access log off, wrk on core 0 as above. The resource
# service has no HS256 mode (it holds no secret), so its baseline is the server's HS256 /getnumber:
# the same harness for the same kind of request (one Bearer check, a small JSON answer).
keys_for() {  # keys_for ALG DIR: one private key for ALG in DIR
  mkdir -p "$2"
  case $1 in
    EdDSA) openssl genpkey -algorithm ed25519 -out "$2/1.pem" 2>/dev/null ;;
    ES256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2/1.pem" 2>/dev/null ;;
  esac
}
# bearer_server NAME ARGS...: a server with one user logged in ($token), for the Bearer runs.
bearer_server() {
  local name=$1
  shift
  start_server "$name" --threads 1 --access-ttl 1h --bcrypt-cost 4 --access-log false "$@"
  join_and_login bench@example.com
  token=$(login bench@example.com | sed -n 1p)
}
# getnumber_run NAME ARGS...: /getnumber under wrk on a fresh bearer_server; sets $rps.
getnumber_run() {
  local name=$1
  shift
  bearer_server "keys-$name" "$@"
  wrk_run "$name" -H "Authorization: Bearer $token" "http://127.0.0.1:$port/getnumber"
  stop_server
  rps=$(rps_of "$name")
}
hs=() eddsa=() orders=()
hits_total=0 misses_total=0
for round in 1 2 3; do
  getnumber_run "getnumber-hs256-$round"
  hs+=("$rps")
  keys_for EdDSA "$work/eddsa-keys-$round"
  getnumber_run "getnumber-eddsa-$round" --jwt-alg EdDSA --jwt-keys-dir "$work/eddsa-keys-$round"
  eddsa+=("$rps")

  # The issuer on core 0 (it only serves the JWKS once), the resource service on core 1.
  keys_for ES256 "$work/es256-keys-$round"
  bearer_server "keys-es256-$round" --jwt-alg ES256 --jwt-keys-dir "$work/es256-keys-$round"
  issuer_pid=$server_pid issuer_port=$port
  orders_port=$(free_port)
  taskset -c 1 "$resource_bin" --listen "127.0.0.1:$orders_port" --threads 1 \
    --jwks-url "http://127.0.0.1:$issuer_port/.well-known/jwks.json" >"$work/orders-$round.log" 2>&1 &
  orders_pid=$!
  pids+=("$orders_pid")
  for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$orders_port/healthz")" = 200 ] && break
    sleep 0.1
  done
  wrk_run "orders-es256-$round" -H "Authorization: Bearer $token" "http://127.0.0.1:$orders_port/orders"
  orders+=("$(rps_of "orders-es256-$round")")
  kill "$orders_pid"
  wait "$orders_pid" 2>/dev/null || true
  # "stopped (verified-token cache: H hits, M misses)"
  read -r hits misses < <(sed -n 's/.*cache: \([0-9]*\) hits, \([0-9]*\) misses.*/\1 \2/p' "$work/orders-$round.log")
  hits_total=$((hits_total + ${hits:-0}))
  misses_total=$((misses_total + ${misses:-0}))
  server_pid=$issuer_pid
  stop_server
done
hs_median=$(median "${hs[@]}")
eddsa_median=$(median "${eddsa[@]}")
orders_median=$(median "${orders[@]}")
printf '%-34s %12s req/s (median of 3)\n' "getnumber HS256" "$hs_median"
printf '%-34s %12s req/s (median of 3)   %s x HS256\n' "getnumber EdDSA (cached verify)" "$eddsa_median" \
  "$(awk -v a="$eddsa_median" -v b="$hs_median" 'BEGIN {printf "%.2f", a / b}')"
printf '%-34s %12s req/s (median of 3)   %s x HS256 (target >= 0.9)\n' "orders ES256 via JWKS (cached)" \
  "$orders_median" "$(awk -v a="$orders_median" -v b="$hs_median" 'BEGIN {printf "%.2f", a / b}')"
printf '%-34s %12s%%   (%s hits, %s misses)\n' "orders verify_cache hit rate" \
  "$(awk -v h="$hits_total" -v m="$misses_total" 'BEGIN {if (h + m) printf "%.3f", h / (h + m) * 100; else print "n/a"}')" \
  "$hits_total" "$misses_total"

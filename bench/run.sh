#!/usr/bin/env bash
# igauth's benchmark, one command:   bash bench/run.sh
#
# Builds the release binaries (igauth, the fake Instagram, the bare-actix ceiling), installs the
# Node contender (npm ci), then in ONE run on THIS machine drives each server with wrk (1 thread)
# or bench/drive.mjs and prints a table (requests/s, p50/p99, errors, peak RSS, server CPU per
# request) and two verdict tables, one per set of targets: throughput, latency, single-flight and
# memory against the bare handler and Node; login latency, CPU per request, cached throughput,
# memory with the cache full, and the Redis-hit path. It measures and prints; no ratio ever makes
# it fail. Everything listens on 127.0.0.1 only and is torn down on exit.
#
# Scenarios
#   (a) one repeated token (igauth answers from cache) .......... igauth vs the bare actix ceiling
#   (b) a new token per request (every validation upstream) ..... igauth vs Node (Cloud Code);
#                                                                  its CPU/request vs (a)'s ceiling
#                                                                  and vs the proxy floor (the
#                                                                  ceiling making the one /me call)
#   (c) fake /me with 100 ms latency, 256 connections, new tokens  vs Little's law 256/0.1 s = 2560/s
#   (d) 64 concurrent identical new validations ................. upstream /me calls (want 1)
#   (e) 110000 distinct valid tokens through igauth (cache full). peak RSS (VmHWM)
#   (f) long-lived logins, every Instagram call +100 ms ......... /v1/exchange and /v1/callback
#                                                                  median latency / 100 ms
#   (g) replica B answering tokens replica A validated .......... requests/s, p99, /me calls (want ~0)
#       (igauth with the Redis backend; skipped when redis-server is not installed)
#
# Knobs (env): BENCH_SECS (10) per measured wrk run, WARMUP_SECS (3), CONNS (64, for a, b and g),
#   ROUNDS (3: every wrk row is measured ROUNDS times, the table shows the median and the range),
#   PIN (none|split, default none: see BENCHMARKS.md), QUIET_LOAD (0.8) and QUIET_WAIT_SECS (1200):
#   before measuring, wait at most that long for the 1-minute load average to drop below
#   QUIET_LOAD (0 skips the wait), SKIP_BUILD=1 to reuse existing release binaries,
#   LOGINS (5 x BENCH_SECS, at least 10): logins of each kind in (f), REDIS_TOKENS (50000): the
#   tokens replica A puts in Redis for (g).
# Output: the tables on stdout and in bench/results/latest.md (gitignored); raw numbers in
#   bench/results/latest.jsonl; server logs (tails) in bench/results/logs/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
REL=$ROOT/target/release
RESULTS=$BENCH/results
LOGS=$RESULTS/logs
DUR=${BENCH_SECS:-10}
WARM=${WARMUP_SECS:-3}
CONNS=${CONNS:-64}
ROUNDS=${ROUNDS:-3}
ROUND=1
PIN=${PIN:-none}
QUIET_LOAD=${QUIET_LOAD:-0.8}
QUIET_WAIT_SECS=${QUIET_WAIT_SECS:-1200}
LOGINS=${LOGINS:-$((DUR * 5 > 10 ? DUR * 5 : 10))}
REDIS_TOKENS=${REDIS_TOKENS:-50000}
# (e): more distinct tokens than the default cache holds (100000), so it is full and evicting.
FILL_TOKENS=110000
ID=17841405793187219
RUN_ID=$(date +%s)

mkdir -p "$RESULTS" "$LOGS"
RAW=$RESULTS/latest.jsonl.tmp
: >"$RAW"

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# ---------------------------------------------------------------- teardown: leave nothing running
PIDS=()
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  rm -f "$RAW"
  [ "$rc" = 0 ] || say "exit $rc; every process this run started has been stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- tools and builds
if ! command -v wrk >/dev/null; then
  say "installing wrk (Debian package)"
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y wrk >/dev/null; }
fi
command -v node >/dev/null || die "node (>= 20.18.1) is required for the Node contender"
command -v curl >/dev/null || die "curl is required"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "building release binaries (igauth, fake-instagram, ceiling)"
  (cd "$ROOT" && cargo build --release --quiet -p igauth -p fake-instagram -p ceiling)
  say "npm ci for the Node contender"
  (cd "$BENCH/node-cloudcode" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
for b in igauth fake-instagram ceiling; do [ -x "$REL/$b" ] || die "missing $REL/$b"; done

# ---------------------------------------------------------------- CPU placement
# 2 cores. The fake Instagram has 1 worker, so it can never take more than one core.
# PIN=none (default): the scheduler places everything. PIN=split: the fake runs on CPU 1 only,
# wrk on CPU 0 only, the server under test on both. On this 2-core machine split measured lower
# and noisier for every server (wrk and the fake each keep a core busy, so the server's workers
# always share), with the same ratios; see BENCHMARKS.md.
NCPU=$(nproc)
if [ "$PIN" = split ] && [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
  ON_FAKE=(taskset -c 1)
  ON_WRK=(taskset -c 0)
else
  PIN=none
  ON_FAKE=()
  ON_WRK=()
fi

# ---------------------------------------------------------------- helpers
free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
# wait_http URL: until anything answers HTTP there (10 s at most)
wait_http() {
  local i
  for i in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" 2>/dev/null)" != 000 ] && return 0
    sleep 0.1
  done
  die "nothing answered at $1"
}
# wait_line FILE: the "listening on http://..." URL a server printed (10 s at most)
wait_line() {
  local i url
  for i in $(seq 1 100); do
    url=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$1" 2>/dev/null | head -1 | sed 's/listening on //') || true
    [ -n "$url" ] && { echo "$url"; return 0; }
    sleep 0.1
  done
  die "no 'listening on' line in $1"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
vm_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
metric() { curl -s --max-time 5 "$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
fake_stats() { curl -s --max-time 5 "$1/__admin/stats"; }
me_calls() { fake_stats "$1" | sed 's/.*"me_calls":\([0-9]*\).*/\1/'; }
# A random secret of 48 hex characters (igauth wants at least 32), new for every run.
secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
# redis_cmd COMMAND: the raw reply of one inline command to the bench's redis-server (REDIS_PORT).
# Sends QUIT after it, so the reply ends when Redis closes the connection; needs no redis-cli.
redis_cmd() {
  node -e '
    const s = require("net").connect(Number(process.argv[1]), "127.0.0.1");
    let out = "";
    s.setTimeout(3000, () => { s.destroy(); process.exit(1); });
    s.on("data", (d) => (out += d));
    s.on("end", () => process.stdout.write(out));
    s.on("error", () => process.exit(1));
    s.write(process.argv[2] + "\r\nQUIT\r\n");
  ' "$REDIS_PORT" "$1"
}
redis_dbsize() { redis_cmd DBSIZE | tr -d '\r' | sed -n 's/^:\([0-9]*\)$/\1/p'; }
# Lookups Redis answered with a value since it started (MGET counts one per key found).
redis_hits() { redis_cmd 'INFO stats' | tr -d '\r' | sed -n 's/^keyspace_hits://p'; }

# start_fake LATENCY_MS -> sets FAKE_PID FAKE_URL
start_fake() {
  local log=$LOGS/fake-$1ms.log
  "${ON_FAKE[@]}" "$REL/fake-instagram" --bind 127.0.0.1:0 --workers 1 --latency-ms "$1" >"$log" 2>&1 &
  FAKE_PID=$!
  PIDS+=("$FAKE_PID")
  FAKE_URL=$(wait_line "$log")
}

# start_server KIND GRAPH_URL TAG -> sets SRV_PID SRV_URL SRV_LOG
#   KIND: ceiling | floor | igauth | igauth-nolog | igauth-login | igauth-redis | node-undici | node-fetch
#   igauth-login: the login flow configured against the fake (its default client id and secret),
#     long-lived tokens, no rate limit, return_to SRV_URL/bench/done (nothing listens there: the
#     driver only reads the redirect). igauth-redis: the Redis backend (REDIS_PORT, REDIS_SECRET),
#     a local cache of 1000 entries.
start_server() {
  local kind=$1 graph=$2 tag=$3 port
  port=$(free_port)
  SRV_URL=http://127.0.0.1:$port
  SRV_LOG=$LOGS/$tag.log
  case $kind in
    ceiling)
      WORKERS=2 "$REL/ceiling" "127.0.0.1:$port" >"$SRV_LOG" 2>&1 & ;;
    floor)
      UPSTREAM="$graph" WORKERS=2 "$REL/ceiling" "127.0.0.1:$port" >"$SRV_LOG" 2>&1 & ;;
    igauth | igauth-nolog | igauth-login | igauth-redis)
      local level=info extra=()
      case $kind in
        igauth-nolog) level=warn ;;
        igauth-login)
          extra=(
            IGAUTH_INSTAGRAM__CLIENT_ID=1234567890 IGAUTH_INSTAGRAM__CLIENT_SECRET=fake-secret
            IGAUTH_INSTAGRAM__REDIRECT_URIS="$SRV_URL/bench/app"
            IGAUTH_INSTAGRAM__CALLBACK_URL="$SRV_URL/v1/callback"
            IGAUTH_INSTAGRAM__RETURN_URLS="$SRV_URL/bench/done"
            IGAUTH_INSTAGRAM__AUTHORIZE_URL="$graph/oauth/authorize"
            IGAUTH_INSTAGRAM__LONG_LIVED=true
            IGAUTH_SERVER__STATE_SECRET="$(secret)"
            IGAUTH_LIMITS__EXCHANGE_PER_MINUTE=0
          ) ;;
        igauth-redis)
          extra=(
            IGAUTH_CACHE__BACKEND=redis IGAUTH_CACHE__REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
            IGAUTH_CACHE__REDIS_SECRET="$REDIS_SECRET" IGAUTH_CACHE__REDIS_TIMEOUT_MS=50
            IGAUTH_CACHE__MAX_ENTRIES=1000
          ) ;;
      esac
      env -i PATH="$PATH" RUST_LOG=$level \
        IGAUTH_SERVER__BIND="127.0.0.1:$port" IGAUTH_SERVER__WORKERS=2 \
        IGAUTH_INSTAGRAM__GRAPH_URL="$graph" IGAUTH_INSTAGRAM__API_URL="$graph" \
        "${extra[@]}" "$REL/igauth" >"$SRV_LOG" 2>&1 & ;;
    node-undici | node-fetch)
      env -i PATH="$PATH" GRAPH_URL="$graph" CLIENT="${kind#node-}" \
        node "$BENCH/node-cloudcode/server.mjs" "127.0.0.1:$port" >"$SRV_LOG" 2>&1 & ;;
    *) die "unknown server $kind" ;;
  esac
  SRV_PID=$!
  PIDS+=("$SRV_PID")
  wait_http "$SRV_URL/"
}

stop_server() {
  stop_pid "$SRV_PID"
  # The access log of a 10 s run is tens of MB: keep its tail only.
  if [ -f "$SRV_LOG" ] && [ "$(stat -c %s "$SRV_LOG")" -gt 1000000 ]; then
    tail -n 200 "$SRV_LOG" >"$SRV_LOG.tail" && mv "$SRV_LOG.tail" "$SRV_LOG"
  fi
}

# run_wrk SCRIPT CONNS SECS URL PREFIX -> prints the WRKJSON object
run_wrk() {
  local out
  out=$(cd "$BENCH" && TOKEN_PREFIX=$5 "${ON_WRK[@]}" wrk -t1 -c"$2" -d"$3"s --timeout 5s -s "$BENCH/$1" "$4/v1/validate")
  echo "$out" | sed -n 's/^WRKJSON //p'
}

# measure SCENARIO KEY NAME KIND GRAPH SCRIPT CONNS [PREFIX]: fresh server, warm-up, measured
#   run, one row. PREFIX is the TOKEN_PREFIX of both wrk runs (default: a new one for each run).
#   The row also records the fake's /me calls during the measured run (upstream_calls) and, for
#   igauth-redis, the lookups Redis answered meanwhile (redis_hits).
measure() {
  local scenario=$1 key=$2 name=$3 kind=$4 graph=$5 script=$6 conns=$7 prefix=${8:-}
  say "($scenario) $name: warm-up ${WARM}s, then ${DUR}s with $conns connections"
  start_server "$kind" "$graph" "$key"
  run_wrk "$script" "$conns" "$WARM" "$SRV_URL" "${prefix:-w$RUN_ID$key$ROUND}" >/dev/null
  local t0 t1 json hwm me0 me1 hits0='' hits1=''
  me0=$(me_calls "$graph")
  [ "$kind" = igauth-redis ] && hits0=$(redis_hits)
  t0=$(cpu_ticks "$SRV_PID")
  json=$(run_wrk "$script" "$conns" "$DUR" "$SRV_URL" "${prefix:-m$RUN_ID$key$ROUND}")
  t1=$(cpu_ticks "$SRV_PID")
  [ "$kind" = igauth-redis ] && hits1=$(redis_hits)
  me1=$(me_calls "$graph")
  hwm=$(vm_kib "$SRV_PID" VmHWM)
  kill -0 "$SRV_PID" 2>/dev/null || die "$name died during the run (see $SRV_LOG)"
  stop_server
  [ -n "$json" ] || die "wrk printed no result for $name"
  node -e '
    const [scenario, key, name, round, ticks, hwm, me0, me1, hits0, hits1, json] = process.argv.slice(1);
    const w = JSON.parse(json);
    const tick_us = 1e6 / Number(process.env.CLK_TCK);
    const delta = (a, b) => (a !== "" && b !== "" ? Number(b) - Number(a) : null);
    console.log(JSON.stringify({ kind: "row", scenario, key, name, round: Number(round), ...w,
      rss_mib: Number(hwm) / 1024, cpu_us: (Number(ticks) * tick_us) / w.requests,
      upstream_calls: delta(me0, me1), redis_hits: delta(hits0, hits1) }));
  ' "$scenario" "$key" "$name" "$ROUND" "$((t1 - t0))" "$hwm" "$me0" "$me1" "$hits0" "$hits1" "$json" >>"$RAW"
  say "   -> $(tail -1 "$RAW" | node -e 'const r=JSON.parse(require("fs").readFileSync(0));console.log(`${Math.round(r.rps)} req/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, errors ${r.non2xx}+${r.socket}`)')"
}
export CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- wait for a quiet machine
LOAD_WAIT_START=$(load1)
if [ "$QUIET_WAIT_SECS" -gt 0 ]; then
  waited=0
  while awk -v l="$(load1)" -v q="$QUIET_LOAD" 'BEGIN { exit !(l >= q) }'; do
    if [ "$waited" -ge "$QUIET_WAIT_SECS" ]; then
      say "load is still $(load1) after ${waited}s: measuring anyway (noted in the results)"
      break
    fi
    [ $((waited % 60)) = 0 ] && say "waiting for the 1-minute load average ($(load1)) to drop below $QUIET_LOAD"
    sleep 10
    waited=$((waited + 10))
  done
fi
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "load average at start: $LOAD_START; pinning: $PIN"
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# ---------------------------------------------------------------- (a), (b), (c), ROUNDS times
# Each round runs every row once, in the same order; the table reports each row's median round
# (by requests/s) and the range, so one disturbed run cannot decide a ratio.
start_fake 0
FAKE0=$FAKE_URL
start_fake 100
FAKE100=$FAKE_URL
for round in $(seq 1 "$ROUNDS"); do
  say "round $round of $ROUNDS"
  ROUND=$round
  measure a a.ceiling "ceiling (bare actix, canned answer)" ceiling "$FAKE0" repeated.lua "$CONNS"
  measure a a.igauth "igauth, cached (same token)" igauth "$FAKE0" repeated.lua "$CONNS"
  measure a a.igauth-nolog "igauth, cached, RUST_LOG=warn (diagnostic)" igauth-nolog "$FAKE0" repeated.lua "$CONNS"
  measure b b.igauth "igauth, uncached (new token each)" igauth "$FAKE0" new_token.lua "$CONNS"
  measure b b.floor "proxy floor (bare actix + one awc GET /me)" floor "$FAKE0" new_token.lua "$CONNS"
  measure b b.node-undici "Node + undici Pool (keep-alive)" node-undici "$FAKE0" new_token.lua "$CONNS"
  measure b b.node-fetch "Node + global fetch" node-fetch "$FAKE0" new_token.lua "$CONNS"
  # (c) /me answers after 100 ms; 256 connections: Little's law allows 256 / 0.1 s = 2560/s.
  measure c c.igauth "igauth, new tokens, /me +100 ms" igauth "$FAKE100" new_token.lua 256
  measure c c.node-undici "Node + undici, new tokens, /me +100 ms" node-undici "$FAKE100" new_token.lua 256
done

# ---------------------------------------------------------------- (d) single-flight
# Against the 100 ms fake, so all 64 requests are in flight together while /me is outstanding.
for kind in igauth node-undici; do
  say "(d) single-flight: 64 concurrent identical new validations -> $kind"
  start_server "$kind" "$FAKE100" "d.$kind"
  token="IGT-$ID-burst-$RUN_ID-$kind"
  before=$(me_calls "$FAKE100")
  joins0=0
  [ "$kind" = igauth ] && joins0=$(metric "$SRV_URL" igauth_singleflight_joins_total)
  burst=$(node "$BENCH/drive.mjs" burst "$SRV_URL" 64 "$token")
  after=$(me_calls "$FAKE100")
  joins1=0
  [ "$kind" = igauth ] && joins1=$(metric "$SRV_URL" igauth_singleflight_joins_total)
  stop_server
  node -e '
    const [key, calls, joins, json] = process.argv.slice(1);
    console.log(JSON.stringify({ kind: "fact", key, upstream_calls: Number(calls), joins: Number(joins), ...JSON.parse(json) }));
  ' "d.$kind" "$((after - before))" "$((${joins1:-0} - ${joins0:-0}))" "$burst" >>"$RAW"
  say "   -> $(tail -1 "$RAW")"
done

# ---------------------------------------------------------------- (e) RSS with the cache full
# More distinct tokens than the default cache's 100000 entries, so it ends full and has evicted.
say "(e) $FILL_TOKENS distinct valid tokens through a fresh igauth (cache defaults: 100000 entries), then VmHWM"
start_server igauth "$FAKE0" e.igauth
before=$(me_calls "$FAKE0")
fill=$(node "$BENCH/drive.mjs" fill "$SRV_URL" "$FILL_TOKENS" 64 "fill$RUN_ID")
after=$(me_calls "$FAKE0")
sleep 1
cached=$(metric "$SRV_URL" igauth_cache_entries)
hwm=$(vm_kib "$SRV_PID" VmHWM)
rss=$(vm_kib "$SRV_PID" VmRSS)
stop_server
node -e '
  const [calls, cached, hwm, rss, json] = process.argv.slice(1);
  console.log(JSON.stringify({ kind: "fact", key: "e.igauth", upstream_calls: Number(calls), cached: Number(cached),
    hwm_mib: Number(hwm) / 1024, rss_mib: Number(rss) / 1024, ...JSON.parse(json) }));
' "$((after - before))" "${cached:-0}" "$hwm" "$rss" "$fill" >>"$RAW"
say "   -> $(tail -1 "$RAW")"

# ---------------------------------------------------------------- (f) long-lived logins
# Against the 100 ms fake, where every Instagram API call takes 100 ms (the code exchange, the
# long-lived exchange, /me). A long-lived login is the code exchange, then /me and the long-lived
# exchange at once: two round trips (200 ms) plus igauth's own time. drive.mjs runs LOGINS
# /v1/exchange calls, then LOGINS authorize + callback pairs (only the callback timed), one at a
# time; the fake's counters say how many upstream calls they made.
say "(f) long-lived logins, upstream +100 ms: $LOGINS x /v1/exchange, then $LOGINS x /v1/authorize + /v1/callback"
start_server igauth-login "$FAKE100" f.igauth
stats0=$(fake_stats "$FAKE100")
login=$(node "$BENCH/drive.mjs" login "$SRV_URL" "$LOGINS" "f$RUN_ID" "$SRV_URL/bench/done")
stats1=$(fake_stats "$FAKE100")
stop_server
node -e '
  const [s0, s1, json] = process.argv.slice(1).map((a) => JSON.parse(a));
  const upstream = Object.fromEntries(Object.keys(s1).map((k) => [k, s1[k] - s0[k]]));
  console.log(JSON.stringify({ kind: "fact", key: "f.igauth", latency_ms: 100, ...json, upstream }));
' "$stats0" "$stats1" "$login" >>"$RAW"
say "   -> $(tail -1 "$RAW")"

# ---------------------------------------------------------------- (g) the Redis-hit path
# A replica answering what another replica validated. One redis-server (loopback, no persistence);
# replica A validates REDIS_TOKENS distinct tokens (each one /me call, its verdict written to
# Redis) and is stopped once Redis holds them; then replica B (same Redis and secret, local cache
# 1000 entries) is driven like the other rows with exactly those tokens in a cycle, so nearly
# every request misses B's local cache and is answered from Redis. Measured ROUNDS times (a fresh
# B each time) right after the fill, well inside the verdicts' 300 s Redis lifetime.
if command -v redis-server >/dev/null; then
  REDIS_PORT=$(free_port)
  REDIS_SECRET=$(secret)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$LOGS/redis.log" 2>&1 &
  PIDS+=("$!")
  for i in $(seq 1 50); do [ -n "$(redis_dbsize 2>/dev/null)" ] && break; sleep 0.1; done
  [ -n "$(redis_dbsize 2>/dev/null)" ] || die "redis-server did not answer on port $REDIS_PORT (see $LOGS/redis.log)"
  say "(g) replica A validates $REDIS_TOKENS distinct tokens into Redis"
  start_server igauth-redis "$FAKE0" g.igauth-a
  # A connects to Redis in the background: validate probe tokens until one reaches Redis (5 s).
  for i in $(seq 1 50); do
    curl -s -o /dev/null --max-time 2 -H 'Content-Type: application/json' \
      -d "{\"id\":\"$ID\",\"access_token\":\"IGT-$ID-gprobe$RUN_ID-$i\"}" "$SRV_URL/v1/validate"
    sleep 0.1
    [ "$(redis_dbsize)" -gt 0 ] && break
  done
  base=$(redis_dbsize)
  [ "$base" -gt 0 ] || die "replica A never wrote to Redis (see $LOGS/g.igauth-a.log)"
  fill=$(node "$BENCH/drive.mjs" fill "$SRV_URL" "$REDIS_TOKENS" 64 "g$RUN_ID")
  # Writes to Redis run after the answers: wait for them (10 s at most).
  for i in $(seq 1 100); do [ "$(redis_dbsize)" -ge $((base + REDIS_TOKENS)) ] && break; sleep 0.1; done
  in_redis=$(($(redis_dbsize) - base))
  stop_server
  node -e '
    const [count, inRedis, json] = process.argv.slice(1);
    console.log(JSON.stringify({ kind: "fact", key: "g.fill", tokens: Number(count), in_redis: Number(inRedis), ...JSON.parse(json) }));
  ' "$REDIS_TOKENS" "$in_redis" "$fill" >>"$RAW"
  say "   -> $(tail -1 "$RAW")"
  for round in $(seq 1 "$ROUNDS"); do
    ROUND=$round
    TOKEN_COUNT=$REDIS_TOKENS measure g g.igauth-redis "igauth replica B, tokens A validated (from Redis)" \
      igauth-redis "$FAKE0" shared_tokens.lua "$CONNS" "g$RUN_ID"
  done
  REDIS_NOTE="redis-server $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p') on loopback without persistence; replicas A and B igauth 2 workers, IGAUTH_CACHE__BACKEND=redis, local cache 1000 entries, Redis budget 50 ms; $REDIS_TOKENS tokens validated through A, then B driven with them like (a) ($CONNS connections, a fresh B for each of $ROUNDS runs)"
else
  say "(g) skipped: redis-server is not installed"
  echo '{"kind":"fact","key":"g.skipped","reason":"redis-server is not installed"}' >>"$RAW"
  REDIS_NOTE="skipped: redis-server is not installed"
fi

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
TABLE=$(node "$BENCH/table.mjs" "$RAW")
{
  echo "# igauth benchmark results"
  echo
  echo "- run: $STARTED, \`bash bench/run.sh\` at $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || echo ' (+ uncommitted changes in src/)')"
  echo "- machine: $NCPU cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  echo "- load average (1/5/15 min): start $LOAD_START, end $LOAD_END (waited for < $QUIET_LOAD from $LOAD_WAIT_START)"
  echo "- tools: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), node $(node --version), undici $(node -p 'require(process.argv[1]).version' "$BENCH/node-cloudcode/node_modules/undici/package.json" 2>/dev/null || echo '?'), $(rustc --version | cut -d' ' -f1-2)"
  echo "- wrk: 1 thread, ${DUR}s measured after ${WARM}s warm-up, $CONNS connections for (a)/(b)/(g), 256 for (c); every server started fresh for each run; $ROUNDS rounds, each row is its median round"
  echo "- pinning: $PIN$([ "$PIN" = split ] && echo ' (fake Instagram: 1 worker on CPU 1; wrk on CPU 0; servers under test unpinned)')"
  echo "- servers: igauth 2 workers, cache defaults, RUST_LOG=info (its default); ceiling 2 workers; Node one process"
  echo "- (e): $FILL_TOKENS distinct tokens through one fresh igauth (cache defaults: 100000 entries, so it ends full)"
  echo "- (f): igauth 2 workers with the login flow configured (long-lived tokens, no rate limit) against the fake with every Instagram API call +100 ms; $LOGINS logins of each kind, one at a time, one run"
  echo "- (g): $REDIS_NOTE"
  echo
  echo "$TABLE"
} >"$RESULTS/latest.md"
mv "$RAW" "$RESULTS/latest.jsonl"
echo
cat "$RESULTS/latest.md"

#!/usr/bin/env bash
# igauth's soak (issue 5; NOT part of CI):   SOAK_SECS=300 bash bench/soak.sh
#
# Starts the fake Instagram and a release igauth (short upstream timeout, short cache TTLs so
# faults reach the callers), then drives mixed traffic at POST /v1/validate for SOAK_SECS
# (default 300): fresh valid tokens, repeated valid tokens, valid tokens of ANOTHER user,
# invalid/expired tokens, malformed bodies and oversized bodies (plain and chunked), while
# /me toggles ok -> fault -> ok -> ... every MODE_SECS (10) through 500, html, truncated, slow,
# ratelimit, hang and down. Prints a summary: false accepts (must be 0), valid answers for
# never-validated tokens while /me was failing (must be 0), 5xx by code, statuses by kind, slow
# answers, recovery after the faults, crashes (igauth alive at the end, no panics in its log),
# RSS every 10 s. Exit status 1 when a must-be-zero count is not zero or igauth died.
# Everything listens on 127.0.0.1 and is stopped on exit. Summary also in
# bench/results/soak-latest.md and .json (gitignored).
#
# Knobs (env): SOAK_SECS (300), MODE_SECS (10), SOAK_CONCURRENCY (32), TIMEOUT_MS (500),
#   CACHE_TTL_SECS (2), NEGATIVE_TTL_SECS (1), SOAK_MAX_REQUESTS (30000000), SKIP_BUILD=1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
REL=$ROOT/target/release
RESULTS=$BENCH/results
LOGS=$RESULTS/logs
export SOAK_SECS=${SOAK_SECS:-300}
export MODE_SECS=${MODE_SECS:-10}
TIMEOUT_MS=${TIMEOUT_MS:-500}
CACHE_TTL_SECS=${CACHE_TTL_SECS:-2}
NEGATIVE_TTL_SECS=${NEGATIVE_TTL_SECS:-1}
mkdir -p "$RESULTS" "$LOGS"

say() { printf '[soak %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

PIDS=()
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() { local pid; for pid in "${PIDS[@]}"; do stop_pid "$pid"; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v node >/dev/null || die "node is required for the soak driver"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "building release binaries (igauth, fake-instagram)"
  (cd "$ROOT" && cargo build --release --quiet -p igauth -p fake-instagram)
fi

FAKE_LOG=$LOGS/soak-fake.log
"$REL/fake-instagram" --bind 127.0.0.1:0 --workers 1 >"$FAKE_LOG" 2>&1 &
PIDS+=("$!")
FAKE_URL=
for _ in $(seq 1 100); do
  FAKE_URL=$(grep -o 'http://[0-9.]*:[0-9]*' "$FAKE_LOG" | head -1) || true
  [ -n "$FAKE_URL" ] && break
  sleep 0.1
done
[ -n "$FAKE_URL" ] || die "the fake Instagram did not start (see $FAKE_LOG)"

PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
IG_LOG=$LOGS/soak-igauth.log
env -i PATH="$PATH" RUST_LOG=info \
  IGAUTH_SERVER__BIND="127.0.0.1:$PORT" IGAUTH_SERVER__WORKERS=2 \
  IGAUTH_INSTAGRAM__GRAPH_URL="$FAKE_URL" IGAUTH_INSTAGRAM__API_URL="$FAKE_URL" \
  IGAUTH_INSTAGRAM__TIMEOUT_MS="$TIMEOUT_MS" \
  IGAUTH_CACHE__TTL_SECS="$CACHE_TTL_SECS" IGAUTH_CACHE__NEGATIVE_TTL_SECS="$NEGATIVE_TTL_SECS" \
  "$REL/igauth" >"$IG_LOG" 2>&1 &
IG_PID=$!
PIDS+=("$IG_PID")
IG_URL=http://127.0.0.1:$PORT
for _ in $(seq 1 100); do
  curl -s -o /dev/null --max-time 1 "$IG_URL/healthz" && break
  sleep 0.1
done
curl -sf -o /dev/null "$IG_URL/healthz" || die "igauth did not start (see $IG_LOG)"

say "soaking igauth (pid $IG_PID) for ${SOAK_SECS}s; /me toggles every ${MODE_SECS}s; upstream timeout ${TIMEOUT_MS} ms, cache TTL ${CACHE_TTL_SECS}s/${NEGATIVE_TTL_SECS}s"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
SUMMARY=$RESULTS/soak-latest.json
IGAUTH_URL=$IG_URL FAKE_URL=$FAKE_URL IGAUTH_PID=$IG_PID node "$BENCH/soak.mjs" >"$SUMMARY"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

ALIVE=no
kill -0 "$IG_PID" 2>/dev/null && curl -sf -o /dev/null --max-time 2 "$IG_URL/healthz" && ALIVE=yes
PANICS=$(grep -c -i 'panicked' "$IG_LOG" || true)
ERRORS=$(grep -c ' ERROR ' "$IG_LOG" || true)
LOG_LINES=$(wc -l <"$IG_LOG")
METRICS=$(curl -s --max-time 2 "$IG_URL/metrics" | grep -E '^igauth_(upstream_requests_total|cache_hits_total|cache_misses_total|singleflight_joins_total)' || true)
# The access log of a soak is hundreds of MB: keep its tail.
tail -n 2000 "$IG_LOG" >"$IG_LOG.tail" && mv "$IG_LOG.tail" "$IG_LOG"

REPORT=$(node - "$SUMMARY" "$ALIVE" "$PANICS" "$ERRORS" "$LOG_LINES" "$LOAD_START" "$LOAD_END" <<'EOF'
const fs = require('fs');
const [file, alive, panics, errors, lines, loadStart, loadEnd] = process.argv.slice(2);
const s = JSON.parse(fs.readFileSync(file, 'utf8'));
const n = (x) => Number(x).toLocaleString('en-US');
const kinds = Object.entries(s.by_kind)
  .map(([k, v]) => `| ${k} | ${n(Object.values(v).reduce((a, b) => a + b, 0))} | ${Object.entries(v).map(([st, c]) => `${st}: ${n(c)}`).join(', ')} |`)
  .join('\n');
const fx = Object.entries(s.five_xx).sort().map(([k, v]) => `${k}: ${n(v)}`).join(', ') || 'none';
const rss = s.rss_samples.map((r) => r.rss_mib).join(' ');
const ok = s.false_accepts === 0 && s.fault_accepts === 0 && alive === 'yes' && panics === '0' && !s.died;
console.log(`## Soak: ${s.secs} s, ${n(s.requests)} requests (${n(Math.round(s.requests / s.secs))}/s, stopped by ${s.stopped_by}), /me faults toggling
- load average (1/5/15) start ${loadStart}, end ${loadEnd}
- **false accepts** (valid:true for another user's token, an invalid/expired token, a malformed or oversized body): **${s.false_accepts}**
- **valid:true while /me was failing, for tokens never validated before**: **${s.fault_accepts}**
- fresh valid tokens answered valid:true while /me was ok: ${n(s.fresh_valid_in_ok)}; answered valid:false then: ${s.fresh_rejected_in_ok}
- 5xx by status and code: ${fx}
- transport errors: ${JSON.stringify(s.transport_errors)}; answers slower than ${s.slow_threshold_ms} ms: ${s.slow_answers} (slowest ${s.max_ms} ms)
- crashes: igauth alive and answering /healthz at the end: ${alive}; panics in its log: ${panics}; ERROR lines: ${errors} (of ${n(lines)} log lines)
- recovery: after the last fault, a fresh token validated again after ${s.recovered_after_secs ?? 'NEVER (30 s)'} s
- RSS (MiB) every 10 s: ${rss}; spread after the first 30 s: ${s.rss_span_after_30s_mib} MiB
- /me modes: ${s.modes.map((m) => `${m.t}s ${m.mode}`).join(', ')}

| request kind | answers | statuses |
|---|---:|---|
${kinds}

Verdict: ${ok ? 'PASS (zero false accepts, zero fault accepts, no crash)' : '**FAIL**'}`);
process.exitCode = ok ? 0 : 1;
EOF
) && VERDICT=0 || VERDICT=1
{
  echo "$REPORT"
  echo
  echo "igauth counters at the end:"
  echo '```'
  echo "$METRICS"
  echo '```'
} >"$RESULTS/soak-latest.md"
cat "$RESULTS/soak-latest.md"
exit "$VERDICT"

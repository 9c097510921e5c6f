#!/usr/bin/env bash
# Instructions per request, counted by callgrind (repeatable to the instruction, unlike wall time on
# a shared machine). One igauth worker runs under `valgrind --tool=callgrind`, collecting only inside
# actix's HTTP/1 dispatcher (everything a request costs in user space after accept; the kernel's
# share is not counted); wrk drives it for DURATION with 4 connections; the total is divided by the
# requests wrk saw answered. BENCHMARKS.md records the figures.
#
#   bash bench/callgrind.sh                 # igauth from target/release (builds it)
#   IGAUTH_BIN=/path/to/other/igauth bash bench/callgrind.sh   # compare another build
#   WHICH="igauth ceiling floor" bash bench/callgrind.sh        # also the bare handler and proxy floor
#   CALLGRIND_KEEP=/tmp/cg bash bench/callgrind.sh                # keep the profiles (callgrind_annotate)
#
# Needs valgrind and wrk (Debian: apt-get install valgrind wrk). Measures and prints; never fails on
# a figure.
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH")
REL=${CARGO_TARGET_DIR:-$ROOT/target}/release
DURATION=${DURATION:-10s}
WHICH=${WHICH:-igauth}
for tool in valgrind wrk; do command -v "$tool" >/dev/null || { echo "callgrind.sh: needs $tool" >&2; exit 2; }; done
if [ -z "${IGAUTH_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet -p igauth -p fake-instagram -p ceiling)
fi
IGAUTH_BIN=${IGAUTH_BIN:-$REL/igauth}
FAKE_BIN=${FAKE_BIN:-$REL/fake-instagram}
CEILING_BIN=${CEILING_BIN:-$REL/ceiling}
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # poll until the port answers (valgrind starts slowly)
  for _ in $(seq 1 600); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "callgrind.sh: $1 never answered" >&2; return 1
}

"$FAKE_BIN" --bind 127.0.0.1:0 --workers 1 --latency-ms 0 >"$WORK/fake.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q 'http://' "$WORK/fake.log" && break; sleep 0.05; done
FAKE_URL=$(grep -o 'http://[0-9.:]*' "$WORK/fake.log" | head -1)

# measure NAME SCRIPT PORT ENV... -- BINARY ARGS...: prints instructions per answered request
measure() {
  local name=$1 script=$2 port=$3; shift 3
  local envs=() out pid total reqs
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  out=$WORK/callgrind.$port
  env -i PATH="$PATH" "${envs[@]}" valgrind --tool=callgrind --callgrind-out-file="$out" \
    '--toggle-collect=*h1::dispatcher::Dispatcher*Future>::poll' "$@" >"$WORK/$port.log" 2>&1 &
  pid=$!
  wait_http "http://127.0.0.1:$port/healthz"
  curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d '{"id":"17841405793187219","access_token":"IGT-17841405793187219-warmup"}' \
    "http://127.0.0.1:$port/v1/validate"
  reqs=$(TOKEN_PREFIX="cg$RANDOM" wrk -t1 -c4 -d"$DURATION" -s "$BENCH/$script" \
    "http://127.0.0.1:$port/v1/validate" | awk '/requests in/ {print $1}')
  kill -INT "$pid"; wait "$pid" 2>/dev/null || true
  total=$(awk '/^(summary|totals):/ {print $2; exit}' "$out")
  if [ -n "${CALLGRIND_KEEP:-}" ]; then cp "$out" "$CALLGRIND_KEEP/$(echo "$name" | tr -c 'a-z0-9\n' '_').out"; fi
  # Every request the dispatcher served is counted: wrk's, the readiness probe's and the warm-up's.
  printf '%-30s %8s requests %10.0f instructions/request\n' "$name" "$reqs" \
    "$(echo "$total / ($reqs + 2)" | bc -l)"
}

for which in $WHICH; do
  port=$(free_port)
  ig=(RUST_LOG=info IGAUTH_SERVER__WORKERS=1 IGAUTH_SERVER__BIND="127.0.0.1:$port"
    IGAUTH_INSTAGRAM__GRAPH_URL="$FAKE_URL" IGAUTH_INSTAGRAM__API_URL="$FAKE_URL")
  case $which in
    igauth)
      measure "igauth, cached" repeated.lua "$port" "${ig[@]}" -- "$IGAUTH_BIN"
      port=$(free_port)
      ig[2]=IGAUTH_SERVER__BIND="127.0.0.1:$port"
      measure "igauth, uncached" new_token.lua "$port" "${ig[@]}" -- "$IGAUTH_BIN" ;;
    ceiling)
      measure "ceiling (bare handler)" repeated.lua "$port" WORKERS=1 -- "$CEILING_BIN" "127.0.0.1:$port" ;;
    floor)
      measure "proxy floor (one awc /me)" new_token.lua "$port" WORKERS=1 UPSTREAM="$FAKE_URL" -- \
        "$CEILING_BIN" "127.0.0.1:$port" ;;
    *) echo "callgrind.sh: unknown WHICH entry $which" >&2; exit 2 ;;
  esac
done

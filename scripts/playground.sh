#!/usr/bin/env bash
# The whole thing on this machine, in one command: the project's fake Instagram, igauth with the
# login flow and its demo page, and, when PostgreSQL and Node are here, a Parse Server 9 with a
# sample app page where a login ends in a Parse session. Prints one line, `open <URL>`: the page
# to open. Ctrl-C stops all of it. Progress and the children's log paths go to stderr.
#
#   bash scripts/playground.sh
#
# Uses IGAUTH_BIN / FAKE_IG_BIN when given (CI passes its release builds), otherwise builds them
# with cargo. PG_BIN names PostgreSQL's bin directory (default: the newest under
# /usr/lib/postgresql). Everything listens on 127.0.0.1 only; nothing is kept after it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'playground: %s\n' "$*" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/igauth-playground.XXXXXX")
pids=()
pg_data=""
as_pg=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n "$pg_data" ]]; then
    "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  say "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A loopback port that was free a moment ago.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
    || node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

# 0 when GET http://127.0.0.1:$1$2 answers 200 (bash's /dev/tcp: no curl needed).
http_ok() {
  local answer
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  IFS= read -r -t 2 answer <&3 || answer=""
  exec 3<&- 3>&-
  [[ "$answer" == "HTTP/1."?" 200"* ]]
}

# Polls `$2...` until it succeeds; gives up after $1 seconds with the log named in $LOG.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" 2>/dev/null; do
    if ((SECONDS > deadline)); then
      say "gave up waiting for: $*"; [[ -n "${LOG:-}" ]] && tail -n 30 "$LOG" >&2
      exit 1
    fi
    sleep 0.1
  done
}

secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }

# --- binaries
if [[ -x "${IGAUTH_BIN:-}" && -x "${FAKE_IG_BIN:-}" ]]; then
  igauth_bin=$IGAUTH_BIN fake_bin=$FAKE_IG_BIN
else
  say "building igauth and the fake Instagram (cargo build --release)"
  cargo build --release -q -p igauth -p fake-instagram >&2
  target=${CARGO_TARGET_DIR:-target}
  igauth_bin=$target/release/igauth fake_bin=$target/release/fake-instagram
fi

# --- the fake Instagram
client_secret=$(secret)
LOG=$work/fake-instagram.log
"$fake_bin" --bind 127.0.0.1:0 --workers 1 --client-secret "$client_secret" >"$LOG" 2>&1 &
pids+=($!)
wait_for 30 grep -q '^listening on http://' "$LOG"
fake_url=$(sed -n 's/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$LOG" | head -n 1)
say "fake Instagram at $fake_url (log: $LOG)"

# --- what is here for Parse
have_parse=""
if [[ -z "${PG_BIN:-}" ]]; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [[ -n "$PG_BIN" && -x "$PG_BIN/initdb" ]] && command -v node >/dev/null; then
  if [[ ! -d tests/e2e/node_modules/parse-server ]] && command -v npm >/dev/null; then
    say "installing Parse Server (npm ci in tests/e2e)"
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
  [[ -d tests/e2e/node_modules/parse-server ]] && have_parse=1
fi
[[ -n "$have_parse" ]] || say "no PostgreSQL + Node + parse-server here: igauth and its demo page only"

# --- igauth
igauth_port=$(free_port)
igauth_url=http://127.0.0.1:$igauth_port
page_port=$(free_port)
page_url=http://127.0.0.1:$page_port/
api_key=$(secret)
return_urls=$igauth_url/v1/demo
[[ -n "$have_parse" ]] && return_urls="$return_urls,$page_url"
LOG=$work/igauth.log
env -u IGAUTH_CONFIG \
  RUST_LOG="${RUST_LOG:-info}" \
  IGAUTH_SERVER__BIND="127.0.0.1:$igauth_port" \
  IGAUTH_SERVER__WORKERS=1 \
  IGAUTH_SERVER__DEMO=true \
  IGAUTH_SERVER__API_KEY="$api_key" \
  IGAUTH_SERVER__STATE_SECRET="$(secret)" \
  IGAUTH_SERVER__CORS_ORIGINS="http://127.0.0.1:$page_port" \
  IGAUTH_INSTAGRAM__CLIENT_ID=1234567890 \
  IGAUTH_INSTAGRAM__CLIENT_SECRET="$client_secret" \
  IGAUTH_INSTAGRAM__API_URL="$fake_url" \
  IGAUTH_INSTAGRAM__GRAPH_URL="$fake_url" \
  IGAUTH_INSTAGRAM__AUTHORIZE_URL="$fake_url/oauth/authorize" \
  IGAUTH_INSTAGRAM__CALLBACK_URL="$igauth_url/v1/callback" \
  IGAUTH_INSTAGRAM__RETURN_URLS="$return_urls" \
  "$igauth_bin" >"$LOG" 2>&1 &
pids+=($!)
wait_for 30 http_ok "$igauth_port" /readyz
say "igauth at $igauth_url (log: $LOG)"
open_url=$igauth_url/v1/demo

# --- PostgreSQL and Parse, with the sample page
if [[ -n "$have_parse" ]]; then
  pg_port=$(free_port)
  pg_data=$work/pg
  mkdir -p "$pg_data"
  if [[ $(id -u) == 0 ]]; then
    # PostgreSQL refuses to run as root.
    chown postgres: "$work" "$pg_data"
    as_pg=(runuser -u postgres --)
  fi
  "${as_pg[@]}" "$PG_BIN/initdb" -D "$pg_data" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$work/initdb.log" 2>&1
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$pg_data" -w -t 60 -l "$work/postgres.log" \
    -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres playground
  LOG=$work/parse.log
  PLAYGROUND_PORT=$page_port PLAYGROUND_IGAUTH=$igauth_url PLAYGROUND_API_KEY=$api_key \
    PLAYGROUND_MASTER=$(secret) PLAYGROUND_DB="postgres://postgres@127.0.0.1:$pg_port/playground" \
    node tests/e2e/playground/parse-and-page.mjs >"$LOG" 2>&1 &
  pids+=($!)
  wait_for 120 http_ok "$page_port" /parse/health
  say "Parse Server at http://127.0.0.1:$page_port/parse (log: $LOG)"
  open_url=$page_url
fi

echo "open $open_url"
say "Ctrl-C stops everything"
# Until Ctrl-C, or until one of the children dies (then say which, and stop the rest).
wait -n "${pids[@]}" || true
say "a process stopped unexpectedly; the end of each log:"
for log in "$work"/*.log; do printf '%s\n' "--- $log" >&2; tail -n 15 "$log" >&2; done
exit 1

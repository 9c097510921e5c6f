#!/usr/bin/env bash
# The whole suite, in one command (README "Tests"; .ci/run runs exactly this):
#   0. cargo fmt --check, cargo clippy -D warnings, the layer table of src/ (no import loops), every
#      relative Markdown link resolves, and cargo deny (licences, bans, sources; advisories when a
#      database is on disk)
#   1. Rust unit and integration tests (debug build; mockito plays Instagram, a real redis-server
#      backs the shared-cache tests)
#   2. release builds of igauth and the project's fake Instagram
#   3. the end-to-end suite against a real Parse Server 9 on PostgreSQL 15
#   4. the browser test of the login flow in headless Chromium
#   5. schemathesis against openapi.yaml with the service live
#   6. the deploy linters (hadolint, kubernetes manifests, compose file)
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { printf '\n=== %s (%ss)\n' "$1" "$((SECONDS - started))"; }

step "setup"
bash scripts/setup.sh
export PATH="$PWD/target/pytools/bin:$PATH"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "import layers of src/"
python3 scripts/check_imports.py

step "Markdown links"
python3 scripts/check_links.py

step "cargo deny"
# Licences, banned crates and sources need only crates.io. The advisory database lives on GitHub,
# which CI machines cannot reach, so advisories are checked only where a copy is already on disk.
cargo deny --workspace --locked check licenses bans sources
if ls "${CARGO_HOME:-$HOME/.cargo}"/advisory-dbs/*/.git >/dev/null 2>&1; then
  cargo deny --workspace --locked --offline check advisories
else
  echo "cargo deny: no advisory database on this machine; advisories not checked"
fi

step "cargo test (unit + integration)"
cargo test --workspace --no-fail-fast

step "release build"
cargo build --release -p igauth -p fake-instagram
export IGAUTH_BIN="$PWD/target/release/igauth" FAKE_IG_BIN="$PWD/target/release/fake-instagram"

step "Parse Server end-to-end"
node --test --test-concurrency=1 tests/e2e/

step "browser login flow"
node --test --test-concurrency=1 tests/browser/

step "schemathesis"
bash scripts/schemathesis.sh

step "deploy lint"
bash deploy/lint.sh

step "all passed"

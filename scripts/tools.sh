#!/usr/bin/env bash
# Installs the project's tools into a cache folder outside the repo, idempotently.
# Prints the environment to source: `eval "$(scripts/tools.sh env)"`.
#   all     everything the tests and the demo need (the default)
#   deploy  only what `make build` and `make deploy` need: the Rust target,
#           cargo-lambda, zig and the SAM CLI (no checkov, moto, pytest or Node)
# Why a cache outside the repo: CI runs on a fresh clone, and a reinstall of the
# Python and Node tools and a cold build of the AWS SDK crates would cost minutes.
set -euo pipefail

CACHE="${INCX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/incx}"
VENV="$CACHE/venv"
CHECKOV_VENV="$CACHE/checkov-venv"
NODE_DIR="$CACHE/node"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Pinned versions: the ones tried on these machines (see README, Toolchain).
DEPLOY_PY_TOOLS=(cargo-lambda==1.9.2 ziglang==0.17.1 aws-sam-cli==1.170.0)
PY_TOOLS=("${DEPLOY_PY_TOOLS[@]}" cfn-lint==1.58.0 "moto[server]==5.2.5" pytest==8.4.2 pytest-xdist==3.8.0)
CHECKOV=checkov==3.3.30

log() { printf '[tools] %s\n' "$*" >&2; }

env_lines() {
  cat <<EOT
export INCX_CACHE="$CACHE"
export PATH="$VENV/bin:$NODE_DIR/node_modules/.bin:$CHECKOV_VENV/bin:\$PATH"
export XDG_CACHE_HOME="${XDG_CACHE_HOME:-$HOME/.cache}"
export ZIG_GLOBAL_CACHE_DIR="$CACHE/zig"
export SAM_CLI_TELEMETRY=0
EOT
  # No AWS region here: a deploy takes it from the operator's profile or
  # samconfig.toml. The local runs name theirs (us-east-1) themselves.
}

stamp() { printf '%s ' "$@" | md5sum | cut -c1-8; }

# `make test`'s lanes install at the same time (the build lane the deploy
# tools, the others the rest, into the same venv): each kind of install holds
# its own lock, so a second caller waits and then finds it done.
locked() {
  mkdir -p "$CACHE"
  ( flock 9; "${@:2}" ) 9>"$CACHE/.lock-$1"
}

install_rust_target() {
  if ! rustup target list --installed | grep -q aarch64-unknown-linux-gnu; then
    log "adding Rust target aarch64-unknown-linux-gnu"
    rustup target add aarch64-unknown-linux-gnu >&2
  fi
}

install_rust_lints() {
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt >&2
}

# The deploy tools are a subset of the full venv: either stamp will do.
install_python_deploy() {
  if [ ! -e "$VENV/.stamp-$(stamp "${PY_TOOLS[@]}")" ] && [ ! -e "$VENV/.stamp-deploy-$(stamp "${DEPLOY_PY_TOOLS[@]}")" ]; then
    log "installing the deploy tools into $VENV (cargo-lambda, zig, SAM CLI; once)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "${DEPLOY_PY_TOOLS[@]}" </dev/null >&2
    touch "$VENV/.stamp-deploy-$(stamp "${DEPLOY_PY_TOOLS[@]}")"
  fi
}

install_python() {
  local stamp="$VENV/.stamp-$(stamp "${PY_TOOLS[@]}")"
  if [ ! -e "$stamp" ]; then
    log "installing Python tools into $VENV (about a minute, once)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_TOOLS[@]}" </dev/null >&2
    touch "$stamp"
  fi
}

# checkov pins an older boto3 that breaks aws-sam-cli: it gets its own venv.
install_checkov() {
  if [ ! -e "$CHECKOV_VENV/.stamp-$CHECKOV" ]; then
    log "installing checkov into $CHECKOV_VENV (once)"
    python3 -m venv "$CHECKOV_VENV"
    "$CHECKOV_VENV/bin/pip" install -q --disable-pip-version-check "$CHECKOV" </dev/null >&2
    touch "$CHECKOV_VENV/.stamp-$CHECKOV"
  fi
}

install_node() {
  local want; want=$(md5sum < "$HERE/tests/package.json" | cut -c1-8)
  if [ ! -e "$NODE_DIR/.stamp-$want" ]; then
    log "installing Node 22, aws-local-stepfunctions and asl-validator into $NODE_DIR (once)"
    mkdir -p "$NODE_DIR"
    cp "$HERE/tests/package.json" "$NODE_DIR/package.json"
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error </dev/null >&2)
    touch "$NODE_DIR/.stamp-$want"
  fi
}

case "${1:-all}" in
  env) env_lines ;;
  all)
    locked rust install_rust_target; locked rust install_rust_lints
    # The three installs are mostly downloads: side by side they take the
    # longest one's time, not the sum.
    locked venv install_python & py=$!
    locked checkov install_checkov & ck=$!
    locked node install_node & nd=$!
    ok=0
    wait "$py" || ok=1; wait "$ck" || ok=1; wait "$nd" || ok=1
    [ "$ok" = 0 ] || { log "an install failed (see above)"; exit 1; }
    env_lines ;;
  deploy) locked rust install_rust_target; locked venv install_python_deploy; env_lines ;;
  rust) locked rust install_rust_target; locked rust install_rust_lints ;;
  python) locked venv install_python; locked checkov install_checkov ;;
  node) locked node install_node ;;
  *) echo "usage: $0 [all|deploy|env|rust|python|node]" >&2; exit 2 ;;
esac

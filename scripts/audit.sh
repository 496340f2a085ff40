#!/usr/bin/env bash
# Checks the dependency tree against the RustSec advisory database with
# `cargo deny check advisories`.
# NEEDS NETWORK: it clones/updates https://github.com/rustsec/advisory-db
# (into ~/.cargo/advisory-dbs). The build machines cannot reach it, so this is
# not part of `make test`; run it (`make audit`) where GitHub is reachable.
# Installs cargo-deny like scripts/check-deps.sh (same pinned version).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
eval "$("$ROOT/scripts/tools.sh" env)"

CARGO_DENY_VERSION=0.20.2
TOOLS_ROOT="$INCX_CACHE/cargo-tools"
DENY="$TOOLS_ROOT/bin/cargo-deny"

log() { printf '[audit] %s\n' "$*" >&2; }

if ! { [ -x "$DENY" ] && "$DENY" --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; }; then
  log "installing cargo-deny $CARGO_DENY_VERSION into $TOOLS_ROOT (once; compiles for a few minutes)"
  cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION" --root "$TOOLS_ROOT" >&2
fi
export PATH="$TOOLS_ROOT/bin:$PATH"

log "cargo deny check advisories (fetches the advisory database)"
cargo deny --locked check advisories
log "ok"

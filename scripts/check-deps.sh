#!/usr/bin/env bash
# Checks the dependency tree with cargo-deny against deny.toml: licenses,
# bans (duplicates warn, wildcards) and sources (crates.io only). Offline: it
# reads Cargo.lock and the local registry cache, never the advisory database
# (that is scripts/audit.sh). Installs cargo-deny into the tools cache first
# if it is missing (once; see scripts/cargo-deny-install.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
eval "$("$ROOT/scripts/tools.sh" env)"

log() { printf '[check-deps] %s\n' "$*" >&2; }

# shellcheck source=scripts/cargo-deny-install.sh
. "$ROOT/scripts/cargo-deny-install.sh"

# cargo metadata needs every package's manifest, for all targets; fetch the
# ones the registry cache lacks (a no-op once cached, and offline then).
if ! cargo metadata --format-version 1 --locked --offline >/dev/null 2>&1; then
  log "fetching the crates' manifests (cargo fetch --locked)"
  cargo fetch --locked >&2
fi

log "cargo deny check licenses bans sources"
# Exits non-zero on any error-level finding; warnings (duplicates) are shown.
cargo deny --offline --locked check --hide-inclusion-graph licenses bans sources
log "ok"

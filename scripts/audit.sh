#!/usr/bin/env bash
# Checks the dependency tree against the RustSec advisory database with
# `cargo deny check advisories`.
# NEEDS NETWORK: it clones/updates https://github.com/rustsec/advisory-db
# (into ~/.cargo/advisory-dbs). The build machines cannot reach it, so this is
# not part of `make test`; run it (`make audit`) where GitHub is reachable.
# Installs cargo-deny like scripts/check-deps.sh (scripts/cargo-deny-install.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
eval "$("$ROOT/scripts/tools.sh" env)"

log() { printf '[audit] %s\n' "$*" >&2; }

# shellcheck source=scripts/cargo-deny-install.sh
. "$ROOT/scripts/cargo-deny-install.sh"

log "cargo deny check advisories (fetches the advisory database)"
cargo deny --locked check advisories
log "ok"

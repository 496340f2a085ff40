#!/usr/bin/env bash
# `make build`: sam build of infra/template.yaml, with only the deploy tools
# (scripts/tools.sh deploy). It runs in infra/, so that sam build and sam
# deploy find infra/samconfig.toml, and it needs no terminal. The cargo build
# cache is $CARGO_TARGET_DIR, by default $INCX_CACHE/target (outside the repo,
# shared with .ci/run), so a repeated build is incremental.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
eval "$("$ROOT/scripts/tools.sh" deploy)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$INCX_CACHE/target}"
cd "$ROOT/infra"
exec sam build </dev/null

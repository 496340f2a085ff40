#!/usr/bin/env bash
# Validates the state machine definition (ASL). sam validate and cfn-lint do not look inside it.
# First proves the validator rejects broken definitions (--self-test), then checks the real one,
# then runs it in aws-local-stepfunctions with canned outputs.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$HERE"

# Installs Node 22 and asl-validator into the tools cache if missing (idempotent), then the env.
scripts/tools.sh node
eval "$(scripts/tools.sh env)"
export NODE_PATH="$INCX_CACHE/node/node_modules"

node statemachine/validate.mjs --self-test
node statemachine/validate.mjs statemachine/export.asl.json
node statemachine/validate.mjs statemachine/audit.asl.json
# The definition in a real ASL engine, with canned function outputs: each path
# takes the states (and the number of billed transitions) it should.
node statemachine/local-engine.mjs

#!/usr/bin/env bash
# `make deploy`: deploys what `make build` built (infra/.aws-sam/build).
# Both run in infra/, so SAM's own defaults apply: the built template, and
# infra/samconfig.toml beside the template.
# With infra/samconfig.toml the deploy is unattended (no prompt and no
# changeset confirmation: standard input may be closed). Without it,
# `sam deploy --guided` asks for the parameters and saves the answers there,
# so the next `make deploy` is unattended. The region is the one
# samconfig.toml names, or else your AWS profile's (AWS_REGION, AWS_PROFILE).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../infra"
[ -f .aws-sam/build/template.yaml ] || { echo "deploy: infra/.aws-sam/build is missing: run make build" >&2; exit 1; }
if [ -f samconfig.toml ]; then
  echo "deploy: unattended, with infra/samconfig.toml" >&2
  exec sam deploy --no-confirm-changeset --no-fail-on-empty-changeset </dev/null
fi
echo "deploy: no infra/samconfig.toml: guided (the answers are saved there for next time)" >&2
exec sam deploy --guided

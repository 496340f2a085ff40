#!/usr/bin/env bash
# The architecture's rules, as Cargo resolves the crates (not as we hope):
# the core depends on nothing of AWS, Lambda or an async runtime, and on no
# test code; no function depends on the simulation crate; each function
# links only the SDK clients it uses; the six functions resolve every shared
# crate with the same features, so `sam build`, which builds each function
# alone, compiles the SDK once (see aws/Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
deps() { cargo tree --locked -p "$1" -e normal --prefix none "${@:2}" | sed 's/ .*//' | sort -u; }

core=$(deps incx-core)
bad=$(grep -E '^(aws-sdk-|aws-config|aws-smithy|lambda_runtime|tokio|incx-sim|incx-aws)' <<<"$core" || true)
if [ -n "$bad" ]; then echo "incx-core depends on: $bad"; fail=1; fi

declare -A clients=(
  [decide-mode]="aws-sdk-dynamodb aws-sdk-s3 aws-sdk-ssm"
  [start-export]="aws-sdk-dynamodb aws-sdk-ssm"
  [check-status]="aws-sdk-dynamodb"
  [advance-state]="aws-sdk-dynamodb aws-sdk-ssm"
  [notify]="aws-sdk-dynamodb aws-sdk-sfn aws-sdk-sns"
  [audit]="aws-sdk-dynamodb aws-sdk-s3 aws-sdk-sns"
)
for fn in "${!clients[@]}"; do
  tree=$(deps "$fn")
  if grep -qx incx-sim <<<"$tree"; then echo "$fn depends on incx-sim"; fail=1; fi
  linked=$(grep -E '^aws-sdk-(dynamodb|ssm|sns|s3|sqs|sfn|scheduler)$' <<<"$tree" | tr '\n' ' ' | sed 's/ $//')
  if [ "$linked" != "${clients[$fn]}" ]; then
    echo "$fn links [$linked], expected [${clients[$fn]}]"; fail=1
  fi
done

# A crate (other than ours) resolved with different features in two
# functions is compiled twice by `sam build`, with everything above it.
split=$(for fn in "${!clients[@]}"; do
  cargo tree --locked -p "$fn" -e normal,no-proc-macro --prefix none --target aarch64-unknown-linux-gnu -f '{p} [{f}]'
done | sed 's/ (\*)$//' | grep -vE '^(incx|decide-mode|start-export|check-status|advance-state|notify|audit)[- ]' \
  | sort -u | awk '{print $1, $2}' | uniq -d | tr '\n' ' ')
if [ -n "$split" ]; then
  echo "the functions resolve these crates with different features (unify them in aws/Cargo.toml): $split"; fail=1
fi
# A library that is also a cdylib or staticlib makes cargo compile its
# dependencies for object code too (new hashes): in all functions or none.
mixed=$(cargo metadata --locked --format-version 1 --filter-platform aarch64-unknown-linux-gnu | python3 -c '
import json, sys
meta = json.load(sys.stdin)
print(" ".join(sorted(p["name"] for p in meta["packages"]
                      if any(set(t["crate_types"]) & {"cdylib", "staticlib", "dylib"} for t in p["targets"] if "lib" in t["kind"] or "cdylib" in t["kind"] or "staticlib" in t["kind"]))))')
for crate in $mixed; do
  has=0
  for fn in "${!clients[@]}"; do deps "$fn" --target aarch64-unknown-linux-gnu | grep -qx "$crate" && has=$((has + 1)); done
  if [ "$has" != 0 ] && [ "$has" != "${#clients[@]}" ]; then
    echo "$crate (a cdylib or staticlib) is in $has of the ${#clients[@]} functions (add it to aws/Cargo.toml)"; fail=1
  fi
done
[ "$fail" = 0 ] && echo "architecture: incx-core has no AWS, Lambda, runtime or test crate; each function links only its clients; one SDK build serves all six"
exit "$fail"

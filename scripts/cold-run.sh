#!/usr/bin/env bash
# Times a cold `make test`, then `make build`, of one commit, as a fresh
# machine runs them: a fresh clone whose tool, cargo, npm and pip caches are
# empty folders in a scratch directory, `CI=true`, each step under
# `/usr/bin/time -v`. It prints the two times and the CPU, and removes the
# scratch directory (several GB) unless KEEP=1.
#
# The README's cold figures come from this. Keep the machine otherwise idle,
# and compare commits in runs made one right after the other: on shared
# machines the same commit varies more between days than two commits do
# within an hour.
#
# usage: scripts/cold-run.sh [COMMIT] [LOG]   (defaults: HEAD, $TMPDIR/incx-cold-run-<commit>.log)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
commit=$(git -C "$ROOT" rev-parse --short "${1:-HEAD}")
log=$(realpath -m "${2:-${TMPDIR:-/tmp}/incx-cold-run-$commit.log}")
[ -x /usr/bin/time ] || { echo "cold-run: needs GNU time at /usr/bin/time (Debian: apt-get install time)" >&2; exit 2; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/incx-cold.XXXXXX")
[ "${KEEP:-}" = 1 ] || trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch"/{cache,cargo,npm,pip}
git clone -q "$ROOT" "$scratch/repo"
git -C "$scratch/repo" checkout -q "$commit"
echo "cold-run: $commit in $scratch, log in $log (about 20 minutes for make test on 2 cores)"

cd "$scratch/repo"
export XDG_CACHE_HOME="$scratch/cache" CARGO_HOME="$scratch/cargo" \
  npm_config_cache="$scratch/npm" PIP_CACHE_DIR="$scratch/pip" CI=true
unset CARGO_TARGET_DIR
# .ci/run's cargo build cache, which `make build` then reuses as CI would.
target="$XDG_CACHE_HOME/incx/target"

step() { # name, command...: runs it timed, appends to the log, prints a line
  local name=$1 start
  shift
  start=$(date +%s)
  echo "== $name: $*" >>"$log"
  if ! /usr/bin/time -v -o "$scratch/time" "$@" >>"$log" 2>&1; then
    cat "$scratch/time" >>"$log"
    echo "cold-run: $name FAILED after $(($(date +%s) - start)) s (see $log)" >&2
    exit 1
  fi
  cat "$scratch/time" >>"$log"
  local user sys pct
  user=$(sed -n 's/.*User time (seconds): //p' "$scratch/time")
  sys=$(sed -n 's/.*System time (seconds): //p' "$scratch/time")
  pct=$(sed -n 's/.*Percent of CPU this job got: //p' "$scratch/time")
  echo "cold-run: $name $(($(date +%s) - start)) s, CPU $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", u + s }') s ($pct)" | tee -a "$log"
}

: >"$log"
echo "== commit $(git log -1 --format='%h %s')" >>"$log"
step "make test" bash .ci/run
step "make build" env CARGO_TARGET_DIR="$target" make build </dev/null

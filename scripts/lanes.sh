#!/usr/bin/env bash
# Runs lanes of make targets side by side: `scripts/lanes.sh "name: t1 t2" ...`.
# Within a lane the targets run in order; the lanes run at once. Every line
# is prefixed with its lane's name, each lane reports its time, and the first
# lane to fail stops the others (their whole process groups: cargo, moto,
# `cargo lambda watch`) and fails the run.
#
# Why: `make test` is bound by three long jobs that leave a core idle much of
# the time (the release build of the functions, whose link-time optimisation
# runs on one core; the end-to-end scenarios; the Python checks), so on a
# 2-core machine they finish sooner together than one after another.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = --lane ]; then
  name=$2
  read -ra targets <<<"$3"
  start=$SECONDS
  # -j1: a lane's targets in the order given; MAKEFLAGS dropped so that a
  # `make -jN test` does not hand its jobserver to the lanes.
  if env -u MAKEFLAGS -u MFLAGS "${MAKE:-make}" --no-print-directory -j1 "${targets[@]}" 2>&1 | sed -u "s/^/[$name] /"; then
    echo "[$name] passed in $((SECONDS - start)) s"
  else
    echo "[$name] FAILED after $((SECONDS - start)) s"
    exit 1
  fi
  exit 0
fi

[ $# -gt 0 ] || { echo "usage: $0 'name: target...' ..." >&2; exit 2; }
declare -A lane_of=()
for spec in "$@"; do
  name=${spec%%:*}
  targets=${spec#*:}
  # Its own session, so that stopping it reaches every process it started.
  setsid bash "$0" --lane "$name" "$targets" &
  lane_of[$!]=$name
  echo "[lanes] $name:$targets"
done

stop_all() {
  for pid in "${!lane_of[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
}
trap 'stop_all; exit 130' INT TERM

failed=""
while [ ${#lane_of[@]} -gt 0 ]; do
  set +e
  wait -n -p done_pid "${!lane_of[@]}"
  rc=$?
  set -e
  name=${lane_of[$done_pid]}
  unset "lane_of[$done_pid]"
  if [ "$rc" != 0 ]; then
    failed=$name
    [ ${#lane_of[@]} -gt 0 ] && echo "[lanes] $name failed: stopping ${lane_of[*]}"
    stop_all
    wait || true
    break
  fi
done
if [ -n "$failed" ]; then
  echo "[lanes] failed: $failed"
  exit 1
fi

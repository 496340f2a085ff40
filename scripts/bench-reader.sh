#!/usr/bin/env bash
# Times the chain reader against a DuckDB baseline on the same files, in one
# run: `incx verify`, `incx materialize` (default budget and 256M), and DuckDB
# reading the manifests' data files and keeping the last change per key.
# Prints wall time and peak memory (/usr/bin/time -v) of each, the ratios,
# and checks that materialize and DuckDB give the same items, item for item.
#
#   scripts/bench-reader.sh [--items N] [--windows N] [--changes N]
#
# BENCH_OPT_LEVEL=3 builds incx at that opt-level instead of the workspace's
# release profile (opt-level "z", sized for Lambda), in its own target dir.
#
# Defaults (env BENCH_ITEMS, BENCH_WINDOWS, BENCH_CHANGES): the size of the
# reader's issue, a full export of 1,000,000 items and 24 windows of 40,000
# changes (135 MB of gzip). The chain is generated once into the tools cache
# and reused. DuckDB is installed for the benchmark only, into its own venv
# in the tools cache: it is not a dependency of the product.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$HERE"
eval "$(scripts/tools.sh env)"

ITEMS="${BENCH_ITEMS:-1000000}"
WINDOWS="${BENCH_WINDOWS:-24}"
CHANGES="${BENCH_CHANGES:-40000}"
while [ $# -gt 0 ]; do
  case "$1" in
    --items) ITEMS="$2"; shift 2 ;;
    --windows) WINDOWS="$2"; shift 2 ;;
    --changes) CHANGES="$2"; shift 2 ;;
    *) echo "usage: $0 [--items N] [--windows N] [--changes N]" >&2; exit 2 ;;
  esac
done

log() { printf '[bench] %s\n' "$*" >&2; }

DUCKDB="duckdb==2.0.0"
DUCK_VENV="$INCX_CACHE/duckdb-venv"
if [ ! -e "$DUCK_VENV/.stamp-$DUCKDB" ]; then
  log "installing $DUCKDB into $DUCK_VENV (for the benchmark only; once)"
  python3 -m venv "$DUCK_VENV"
  "$DUCK_VENV/bin/pip" install -q --disable-pip-version-check "$DUCKDB" </dev/null >&2
  touch "$DUCK_VENV/.stamp-$DUCKDB"
fi

# The release build users are told to make (README: cargo build --release).
if [ -n "${BENCH_OPT_LEVEL:-}" ]; then
  export CARGO_PROFILE_RELEASE_OPT_LEVEL="$BENCH_OPT_LEVEL"
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/bench-opt$BENCH_OPT_LEVEL}"
fi
log "building incx and the chain generator (release, opt-level ${BENCH_OPT_LEVEL:-of the workspace}) ..."
cargo build --release --locked -q -p incx-cli --bin incx --example gen_chain
TARGET="${CARGO_TARGET_DIR:-target}/release"

CHAIN="$INCX_CACHE/bench-chain/i$ITEMS-w$WINDOWS-c$CHANGES"
if [ ! -e "$CHAIN/.complete" ]; then
  log "generating the chain into $CHAIN (once) ..."
  rm -rf "$CHAIN"
  "$TARGET/examples/gen_chain" --out "$CHAIN" --items "$ITEMS" --windows "$WINDOWS" --changes "$CHANGES" 2>/dev/null
  touch "$CHAIN/.complete"
fi
log "chain: $(find "$CHAIN" -name '*.json.gz' | wc -l) data files, $(du -sh --apparent-size "$CHAIN" | cut -f1)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/incx-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# The baseline: DuckDB over the same files, exports in chain order (full,
# then each window by its end), the last change per key by (export,
# WriteTimestampMicros), deletes dropped. The key is the generator's
# (pk string, sk number).
cat >"$WORK/duck.py" <<'EOF'
import glob, json, os, sys
import duckdb
root, out = sys.argv[1], sys.argv[2]
exports = []
for path in glob.glob(os.path.join(root, "exports/AWSDynamoDB/*/manifest-summary.json")):
    s = json.load(open(path))
    full = s.get("exportType") != "INCREMENTAL_EXPORT"
    order = s["exportTime"] if full else s["exportToTime"]
    files = [json.loads(l)["dataFileS3Key"] for l in open(os.path.join(root, s["manifestFilesS3Key"]))]
    files = [os.path.join(root, f) for f in files if os.path.getsize(os.path.join(root, f)) > 0]
    exports.append((not full, order, files))
exports.sort()
def files(fs): return "[" + ",".join("'%s'" % f for f in fs) + "]"
parts = []
for n, (incremental, _, fs) in enumerate(exports):
    if not fs:
        continue
    if incremental:
        parts.append(f"""SELECT json_extract_string(Keys, '$.pk.S') pk, json_extract_string(Keys, '$.sk.N') sk,
          {n} * 10000000000000000 + CAST(json_extract_string(Metadata, '$.WriteTimestampMicros.N') AS BIGINT) v, NewImage image
          FROM read_json({files(fs)}, format='newline_delimited', compression='gzip',
                         columns={{Metadata: 'JSON', Keys: 'JSON', NewImage: 'JSON'}})""")
    else:
        parts.append(f"""SELECT json_extract_string(Item, '$.pk.S') pk, json_extract_string(Item, '$.sk.N') sk, 0 v, Item image
          FROM read_json({files(fs)}, format='newline_delimited', compression='gzip', columns={{Item: 'JSON'}})""")
sql = " UNION ALL ".join(parts)
duckdb.sql(f"""COPY (SELECT image FROM (SELECT arg_max_null(image, v) image FROM ({sql}) GROUP BY pk, sk)
               WHERE image IS NOT NULL) TO '{out}' (FORMAT json)""")
EOF

# Item for item: each item in a canonical form (attributes and sets sorted,
# numbers normalised) and hashed; the two sides' sorted hashes must match.
cat >"$WORK/compare.py" <<'EOF'
import hashlib, json, sys
from decimal import Decimal
def num(t):
    d = Decimal(t).normalize()
    return "0" if d == 0 else format(d, "f")
def canon(v):
    (t, x), = v.items()
    if t == "N": return {t: num(x)}
    if t == "NS": return {t: sorted(set(num(n) for n in x))}
    if t in ("SS", "BS"): return {t: sorted(set(x))}
    if t == "M": return {t: {k: canon(y) for k, y in x.items()}}
    if t == "L": return {t: [canon(y) for y in x]}
    return v
def digests(path, field):
    out = []
    for line in open(path):
        item = json.loads(line)[field]
        if isinstance(item, str): item = json.loads(item)
        c = json.dumps({k: canon(v) for k, v in item.items()}, sort_keys=True, separators=(",", ":"))
        out.append(hashlib.md5(c.encode()).digest())
    out.sort()
    return out
a, b = digests(sys.argv[1], "Item"), digests(sys.argv[2], "image")
total = hashlib.md5(b"".join(a)).hexdigest()
if a == b:
    print(f"equal: {len(a)} items each, digest {total}")
else:
    sa, sb = set(a), set(b)
    print(f"DIFFERENT: incx {len(a)} items, DuckDB {len(b)}; {len(sa - sb)} only in incx, {len(sb - sa)} only in DuckDB")
    sys.exit(1)
EOF

# Runs a command under /usr/bin/time -v; records "wall_seconds peak_kb".
timed() {
  local name="$1"; shift
  log "$name ..."
  /usr/bin/time -v -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || {
    cat "$WORK/$name.err" >&2; log "$name failed"; exit 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; wall = s }
              /Maximum resident set size/ { kb = $2 }
              END { print wall, kb }' "$WORK/$name.time" >"$WORK/$name.fig"
}

INCX=("$TARGET/incx")
CHAIN_ARGS=(--bucket-dir "$CHAIN" --prefix exports --discover --key-attributes pk,sk --spill-dir "$WORK")
timed incx-verify "${INCX[@]}" verify "${CHAIN_ARGS[@]}"
timed incx-materialize "${INCX[@]}" materialize "${CHAIN_ARGS[@]}" --output "$WORK/incx.jsonl"
timed incx-256M "${INCX[@]}" materialize "${CHAIN_ARGS[@]}" --memory-budget 256M --output "$WORK/incx-256M.jsonl"
timed duckdb "$DUCK_VENV/bin/python" "$WORK/duck.py" "$CHAIN" "$WORK/duck.jsonl"

log "comparing the results item for item ..."
same=$("$DUCK_VENV/bin/python" "$WORK/compare.py" "$WORK/incx.jsonl" "$WORK/duck.jsonl") || { echo "$same"; exit 1; }
cmp -s "$WORK/incx.jsonl" "$WORK/incx-256M.jsonl" || { echo "materialize with 256M differs from materialize with the default budget"; exit 1; }

read -r dw dk <"$WORK/duckdb.fig"
echo
echo "chain: $ITEMS items, $WINDOWS windows of $CHANGES changes ($(du -sh --apparent-size "$CHAIN" | cut -f1)); $(nproc) cores; incx at opt-level ${BENCH_OPT_LEVEL:-of the release profile}"
printf '%-40s %9s %12s %20s %14s\n' reader wall "peak memory" "speed vs DuckDB" "memory/DuckDB"
for name in incx-verify incx-materialize incx-256M duckdb; do
  read -r w k <"$WORK/$name.fig"
  label=$name
  case $name in
    incx-verify) label="incx verify" ;;
    incx-materialize) label="incx materialize" ;;
    incx-256M) label="incx materialize --memory-budget 256M" ;;
    duckdb) label="DuckDB read_json, last per key" ;;
  esac
  awk -v l="$label" -v w="$w" -v k="$k" -v dw="$dw" -v dk="$dk" \
    'BEGIN { printf "%-40s %8.1fs %9d MB %19.2fx %14.2f\n", l, w, k / 1024, dw / w, k / dk }'
done
echo "result: $same; materialize with 256M: the same bytes"

#!/usr/bin/env bash
# `make check-build`: `make build` (scripts/build.sh: sam build of the real
# template, only the deploy tools, standard input closed, the cargo cache in
# $INCX_CACHE/target), then checks each function's artifact: an ARM aarch64
# ELF executable named bootstrap, no more than 1 % larger than the README's "Function
# sizes" table says, and without the local-only virtual clock (the string
# INCX_CLOCK_FILE).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
start=$(date +%s)
if ! scripts/build.sh >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "check-build: sam build failed" >&2
  exit 1
fi
echo "check-build: sam build in $(( $(date +%s) - start )) s"
eval "$(scripts/tools.sh deploy)"   # the SAM CLI's Python reads the built template

python3 - infra/.aws-sam/build README.md <<'PY'
"""Checks the artifacts of the built template against the README's sizes."""
import re
import sys
from pathlib import Path

from samtranslator.yaml_helper import yaml_parse  # the SAM CLI's own YAML loader

build, readme = Path(sys.argv[1]), Path(sys.argv[2]).read_text()
section = readme.split("### Function sizes", 1)[1].split("\n## ", 1)[0]
limits = {m.group(1): int(m.group(2).replace(",", ""))
          for m in re.finditer(r"^\| (\S+) \| ([\d,]+) bytes \|", section, re.M)}
SLACK = 0.01  # of the README's size: see the check below
template = yaml_parse((build / "template.yaml").read_text())
glob = template.get("Globals", {}).get("Function", {})
functions = {r["Metadata"]["BuildProperties"]["Binary"]: r["Properties"] for r in template["Resources"].values()
             if r["Type"] == "AWS::Serverless::Function"}
problems = []
if len(limits) != 6 or set(functions) != set(limits):
    problems.append(f"want the README's 6 functions {sorted(limits)}, built {sorted(functions)}")
for binary, props in sorted(functions.items()):
    if props.get("Architectures", glob.get("Architectures")) != ["arm64"]:
        problems.append(f"{binary}: not built for arm64")
    uri = props.get("CodeUri", glob.get("CodeUri"))
    path = build / str(uri) / "bootstrap"
    if not path.is_file():
        problems.append(f"{binary}: no {path}")
        continue
    data = path.read_bytes()
    size, limit = len(data), limits.get(binary)
    # ELF magic, 64-bit (EI_CLASS 2), little-endian (EI_DATA 1), e_machine 0xB7 = AArch64.
    elf = data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1 and int.from_bytes(data[18:20], "little") == 0xB7
    if not elf:
        problems.append(f"{binary}: {path} is not an ARM aarch64 ELF file")
    if not path.stat().st_mode & 0o111:
        problems.append(f"{binary}: {path} is not executable")
    # The build machine's paths (its cargo home, the checkout) are in the
    # panic locations, so the same source built elsewhere differs by a few
    # KB: a cold build in a longer CARGO_HOME came out 3.3 KB larger.
    if limit is None or size > limit * (1 + SLACK):
        problems.append(f"{binary}: {size:,} bytes, over the README's {limit or 0:,} + {SLACK:.0%} (Function sizes)")
    if b"INCX_CLOCK_FILE" in data:
        problems.append(f"{binary}: contains INCX_CLOCK_FILE: the local-only virtual clock is in a release build")
    print(f"check-build: {binary:<14} {size:>10,} bytes (limit {limit or 0:,}) aarch64 ELF: {'yes' if elf else 'NO'}")
if problems:
    print("check-build: FAILED\n  " + "\n  ".join(problems), file=sys.stderr)
    sys.exit(1)
print("check-build: 6 artifacts: aarch64 ELF bootstrap, within the README's sizes (+1 %), no INCX_CLOCK_FILE")
PY

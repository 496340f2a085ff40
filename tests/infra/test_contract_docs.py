"""docs/functions.md documents the contract the Rust types generate
(contracts/functions.schema.json): each function's section lists exactly
the outcomes the function returns, so the page cannot drift from the code."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = json.loads((ROOT / "contracts" / "functions.schema.json").read_text(encoding="utf-8"))["functions"]
DOC = (ROOT / "docs" / "functions.md").read_text(encoding="utf-8")


def outcomes(schema: dict) -> set[str]:
    return {v["properties"]["outcome"]["const"] for v in schema.get("oneOf", []) if "outcome" in v.get("properties", {})}


def documented(name: str) -> set[str]:
    """The outcomes in the first column of the tables of `## <name>`."""
    section = re.search(rf"^## {re.escape(name)}\n(.*?)(?=^## |\Z)", DOC, re.S | re.M)
    assert section, f"docs/functions.md has no section for {name}"
    rows = [line for line in section.group(1).splitlines() if line.startswith("| `")]
    return {o for row in rows for o in re.findall(r"`([A-Z_]+)`", row.split("|")[1])}


@pytest.mark.parametrize("function", CONTRACT, ids=lambda f: f["name"])
def test_each_function_documents_exactly_its_outcomes(function):
    assert documented(function["name"]) == outcomes(function["output"])


def test_the_check_can_fail():
    assert outcomes({"oneOf": [{"properties": {"outcome": {"const": "X"}}}]}) == {"X"}
    assert documented("check-status") != {"X"}

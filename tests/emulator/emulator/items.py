"""DynamoDB attribute values: number normalisation as exports print numbers,
a stable identity per key, and an approximation of item sizes.

Named `items` rather than `numbers` so that it can never shadow the standard
library's `numbers` module, which `decimal` imports.
"""
from __future__ import annotations

import base64
import json
from decimal import Context, Decimal, InvalidOperation

# Wider than DynamoDB's 38 digits so normalising never rounds.
_NUMBER_CONTEXT = Context(prec=100)


def normalise_number(text: str) -> str:
    """Return a DynamoDB number as the service prints it: plain decimal text.

    Decimal, never float, so all 38 significant digits survive.
    """
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {text!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a number: {text!r}")
    if value.is_zero():
        return "0"  # also turns -0 into 0
    return format(value.normalize(_NUMBER_CONTEXT), "f")


def normalise_value(value: dict) -> dict:
    """Normalise the numbers inside one attribute value, at any depth."""
    kind, inner = next(iter(value.items()))
    if kind == "N":
        return {"N": normalise_number(inner)}
    if kind == "NS":
        return {"NS": [normalise_number(n) for n in inner]}
    if kind == "L":
        return {"L": [normalise_value(v) for v in inner]}
    if kind == "M":
        return {"M": normalise_item(inner)}
    return {kind: inner}  # S, B (base64 kept as given), SS, BS, BOOL, NULL


def normalise_item(item: dict | None) -> dict | None:
    if item is None:
        return None
    return {name: normalise_value(value) for name, value in item.items()}


def key_id(key: dict) -> str:
    """A stable identity for a key, so `150` and `1.5E2` are the same item."""
    return json.dumps(normalise_item(key), sort_keys=True, separators=(",", ":"))


def _number_size(text: str) -> int:
    digits = normalise_number(text).lstrip("-").replace(".", "").strip("0")
    return (max(len(digits), 1) + 1) // 2 + 1


def attribute_size(value: dict) -> int:
    """Approximate DynamoDB's size accounting for one attribute value."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(base64.b64decode(inner))
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(_number_size(n) for n in inner)
    if kind == "BS":
        return sum(len(base64.b64decode(b)) for b in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(v) for k, v in inner.items())
    return 1  # BOOL, NULL


def item_size(item: dict | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())

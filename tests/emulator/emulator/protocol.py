"""DynamoDB's JSON 1.0 protocol as the emulator answers it (target prefix,
error shape, JSON encoding of Decimals) and the emulator's log."""
from __future__ import annotations

import json
import sys
from decimal import Decimal

TARGET_PREFIX = "DynamoDB_20120810."
ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"


class ApiError(Exception):
    """An error answered in the JSON protocol's shape.

    `injected` marks errors caused by a fault rather than by the request, so
    the journal can tell the two apart.
    """

    def __init__(self, name: str, message: str, status: int = 400, injected: bool = False):
        super().__init__(message)
        self.name, self.message, self.status, self.injected = name, message, status, injected

    def body(self) -> dict:
        return {"__type": ERROR_PREFIX + self.name, "message": self.message}


def validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def json_bytes(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                      default=_json_default).encode()


def _json_default(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def error_type(body: dict) -> str:
    return str(body.get("__type", "")).rsplit("#", 1)[-1]


def log(message: str) -> None:
    sys.stderr.write(f"[export-emulator] {message}\n")
    sys.stderr.flush()

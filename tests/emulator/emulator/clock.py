"""Virtual time: the clock file, and times as the API and manifests carry them.

All times inside the emulator are integer microseconds since the epoch.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from .protocol import log, validation

MICROS = 1_000_000


def seconds_to_micros(seconds: Decimal) -> int:
    return int((seconds * MICROS).to_integral_value(rounding=ROUND_FLOOR))


def parse_time(value, field_name: str) -> int:
    """Epoch seconds (JSON number, as the SDKs send) or ISO text -> micros."""
    if isinstance(value, bool) or value is None:
        raise validation(f"{field_name} must be a timestamp")
    if isinstance(value, (int, Decimal)):
        return seconds_to_micros(Decimal(value))
    if isinstance(value, float):
        return seconds_to_micros(Decimal(repr(value)))
    if isinstance(value, str):
        try:
            return seconds_to_micros(Decimal(value))
        except InvalidOperation:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise validation(f"{field_name} must be a timestamp") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return seconds_to_micros(Decimal(str(parsed.timestamp())))
    raise validation(f"{field_name} must be a timestamp")


def epoch_number(micros: int) -> float:
    """API responses carry times as epoch-second numbers."""
    return micros / MICROS


def iso_ms(micros: int) -> str:
    """Manifest times: ISO 8601, milliseconds, Z."""
    moment = datetime.fromtimestamp(micros // MICROS, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{(micros % MICROS) // 1000:03d}Z"


class VirtualClock:
    """Reads the virtual now from the clock file on every call."""

    def __init__(self, path: str):
        self.path = path

    def now_micros(self) -> int:
        # A half-written file reads empty or garbled: retry briefly rather than
        # silently jumping to real time in the middle of a test.
        for attempt in range(5):
            try:
                with open(self.path, encoding="utf-8") as handle:
                    text = handle.read().strip()
            except FileNotFoundError:
                return time.time_ns() // 1000
            try:
                return seconds_to_micros(Decimal(text))
            except InvalidOperation:
                time.sleep(0.01 * (attempt + 1))
        log(f"clock file {self.path} is not a number; using real time")
        return time.time_ns() // 1000

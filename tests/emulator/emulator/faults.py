"""Injected faults (what POST /_emulator/faults sets and /_emulator/reset
clears) and the seeded distribution export durations can be drawn from."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .history import WRITE_OPS
from .protocol import validation

# Operations whose response can be lost, and the service each belongs to.
LOSABLE = {op: "dynamodb" for op in ("ExportTableToPointInTime", *sorted(WRITE_OPS))} | {"Publish": "sns"}


@dataclass
class Durations:
    """Export durations: a log-normal body around `median` seconds and, with
    probability `tail`, a uniform long tail in [tail_min, tail_max]; full
    exports take `full_factor` times as long. Seeded, so a run is repeatable.
    """

    spec: str
    median: float
    sigma: float
    tail: float = 0.0
    tail_min: float = 0.0
    tail_max: float = 0.0
    seed: int = 0
    full_factor: float = 2.0
    rng: random.Random = field(init=False, repr=False, compare=False)

    PARAMETERS = ("median", "sigma", "tail", "tail_min", "tail_max", "seed", "full_factor")

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    @classmethod
    def parse(cls, spec: str) -> "Durations":
        """`lognormal:median=420,sigma=0.45,tail=0.04,tail_min=1200,tail_max=2700,seed=7`."""
        kind, _, rest = str(spec).strip().partition(":")
        if kind != "lognormal":
            raise ValueError(f"export durations must be 'lognormal:name=value,...'; got {spec!r}")
        values: dict = {}
        for part in filter(None, (p.strip() for p in rest.split(","))):
            name, sep, text = part.partition("=")
            name = name.strip()
            if not sep or name not in cls.PARAMETERS:
                raise ValueError(f"unknown export-duration parameter {part!r}; known: {', '.join(cls.PARAMETERS)}")
            try:
                values[name] = int(text) if name == "seed" else float(text)
            except ValueError as exc:
                raise ValueError(f"{name} must be a number; got {text!r}") from exc
            if name != "seed" and not math.isfinite(values[name]):
                raise ValueError(f"{name} must be finite")
        missing = {"median", "sigma"} - set(values)
        if missing:
            raise ValueError(f"export durations need {' and '.join(sorted(missing))}")
        durations = cls(spec=str(spec).strip(), **values)
        durations._check()
        return durations

    def _check(self) -> None:
        if self.median <= 0 or self.sigma < 0 or self.full_factor <= 0:
            raise ValueError("median and full_factor must be > 0, sigma >= 0")
        if not 0 <= self.tail <= 1:
            raise ValueError("tail is a probability, between 0 and 1")
        if self.tail > 0 and not 0 < self.tail_min <= self.tail_max:
            raise ValueError("a tail needs 0 < tail_min <= tail_max")

    def draw(self, full: bool) -> Decimal:
        """The next export's duration in seconds, to the millisecond."""
        # The same three draws whatever the branch, so the n-th duration
        # depends only on the seed and n, not on which earlier ones were tails.
        pick, z, spread = self.rng.random(), self.rng.gauss(0.0, 1.0), self.rng.random()
        if pick < self.tail:
            seconds = self.tail_min + spread * (self.tail_max - self.tail_min)
        else:
            seconds = self.median * math.exp(self.sigma * z)
        if full:
            seconds *= self.full_factor
        return Decimal(f"{seconds:.3f}")


def _number(value, name: str, kind, negative: bool = False):
    try:
        number = kind(str(value)) if not isinstance(value, bool) else None
    except (ValueError, InvalidOperation):
        number = None
    if number is None or (kind is Decimal and not number.is_finite()) or (number < 0 and not negative):
        raise validation(f"{name} must be a {'' if negative else 'non-negative '}number")
    return number


@dataclass
class Faults:
    export_seconds: Decimal
    export_durations: Durations | None = None
    fail_next_export: str | None = None
    throttle_next: int = 0
    hidden_seconds: Decimal = Decimal(0)
    invalid_export_time_next: int = 0
    lose_response_next: dict[str, int] = field(default_factory=dict)
    clock_skew_seconds: Decimal = Decimal(0)

    KNOWN = ("fail_next_export", "throttle_next", "export_seconds", "hidden_seconds", "export_durations",
             "invalid_export_time_next", "lose_response_next", "clock_skew_seconds")

    def update(self, body: dict) -> None:
        unknown = set(body) - set(self.KNOWN)
        if unknown:
            raise validation(f"unknown fault(s): {', '.join(sorted(unknown))}")
        if "fail_next_export" in body:
            self.fail_next_export = body["fail_next_export"] or None
        for name in ("throttle_next", "invalid_export_time_next"):
            if name in body:
                setattr(self, name, _number(body[name], name, int))
        for name in ("export_seconds", "hidden_seconds"):
            if name in body:
                setattr(self, name, _number(body[name], name, Decimal))
        if "clock_skew_seconds" in body:
            self.clock_skew_seconds = _number(body["clock_skew_seconds"], "clock_skew_seconds", Decimal, True)
        if "export_durations" in body:
            try:
                spec = body["export_durations"]
                self.export_durations = Durations.parse(spec) if spec else None
            except ValueError as exc:
                raise validation(str(exc)) from exc
        if "lose_response_next" in body:
            self._lose(body["lose_response_next"])

    def _lose(self, spec) -> None:
        if not isinstance(spec, dict) or set(spec) - {"operation", "count"} or spec.get("operation") not in LOSABLE:
            raise validation('lose_response_next must be {"operation": one of '
                             f'{", ".join(sorted(LOSABLE))}, "count": n}}')
        count = _number(spec.get("count", 1), "lose_response_next.count", int)
        if count:
            self.lose_response_next[spec["operation"]] = count
        else:
            self.lose_response_next.pop(spec["operation"], None)

    def take_lost_response(self, service: str, operation: str | None) -> bool:
        """Whether this (successful) call's response is to be lost; uses one."""
        if LOSABLE.get(operation or "") != service or not self.lose_response_next.get(operation):
            return False
        self.lose_response_next[operation] -= 1
        if not self.lose_response_next[operation]:
            del self.lose_response_next[operation]
        return True

    def as_dict(self) -> dict:
        return {"fail_next_export": self.fail_next_export, "throttle_next": self.throttle_next,
                "export_seconds": float(self.export_seconds), "hidden_seconds": float(self.hidden_seconds),
                "export_durations": self.export_durations.spec if self.export_durations else None,
                "invalid_export_time_next": self.invalid_export_time_next,
                "lose_response_next": dict(sorted(self.lose_response_next.items())),
                "clock_skew_seconds": float(self.clock_skew_seconds)}

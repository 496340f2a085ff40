"""A realistic, deterministic write load on the source table: puts, updates
and deletes over many keys, with strings, 38-digit numbers, numbers the
service normalises (`1.5E2`), sets of each kind, nested maps and lists,
binary, booleans and nulls. Each write happens at its own virtual time.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from localaws import LocalAws

WORDS = ["amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "harbor", "iris", "juniper"]


def big_number(rng: random.Random) -> str:
    """38 significant digits, the most DynamoDB keeps."""
    digits = "".join(rng.choice("0123456789") for _ in range(38)).lstrip("0") or "1"
    digits = digits.rjust(38, "1")
    point = rng.randint(1, 37)
    sign = "-" if rng.random() < 0.2 else ""
    return f"{sign}{digits[:point]}.{digits[point:]}"


def key(i: int) -> dict:
    return {"pk": {"S": f"customer#{i:05d}"}, "sk": {"S": "profile" if i % 3 else f"order#{i % 97:03d}"}}


@dataclass
class Load:
    aws: LocalAws
    keys: int = 1200
    seed: int = 7
    rng: random.Random = field(init=False)
    writes: int = 0
    puts: int = 0
    updates: int = 0
    deletes: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.ddb = self.aws.client("dynamodb")
        self.table = self.aws.settings.table

    def item(self, i: int) -> dict:
        r = self.rng
        item = {
            **key(i),
            "name": {"S": f"{r.choice(WORDS)} {r.choice(WORDS)}"},
            "balance": {"N": big_number(r)},
            "visits": {"N": str(r.randint(0, 10_000))},
            "ratio": {"N": r.choice(["1.5E2", "0.50", "-0", "3.14159", "1e-5", "100"])},
            "tags": {"SS": sorted(set(r.sample(WORDS, r.randint(1, 4))))},
            "scores": {"NS": sorted({str(r.randint(-50, 50)) for _ in range(r.randint(1, 5))})},
            "active": {"BOOL": r.random() < 0.5},
            "profile": {"M": {
                "city": {"S": r.choice(WORDS).title()},
                "history": {"L": [{"N": str(r.randint(1, 9))}, {"S": r.choice(WORDS)}, {"NULL": True}]},
                "limits": {"M": {"daily": {"N": big_number(r)}}},
            }},
            "avatar": {"B": r.randbytes(r.randint(1, 48))},
        }
        if r.random() < 0.3:
            item["keys"] = {"BS": [r.randbytes(8) for _ in range(r.randint(1, 3))]}
        if r.random() < 0.2:
            item["note"] = {"NULL": True}
        return item

    def seed_items(self, t0: float, t1: float, n: int | None = None) -> None:
        """Creates the first `n` items (all keys by default) spread over [t0, t1)."""
        n = self.keys if n is None else n
        for j in range(n):
            self.aws.set_clock(t0 + (t1 - t0) * j / n)
            self.ddb.put_item(TableName=self.table, Item=self.item(j))
            self.writes += 1
            self.puts += 1

    def write_between(self, t0: float, t1: float, n: int, before=None) -> float:
        """`n` random writes at virtual times spread over [t0, t1), never
        before the clock (time only moves forward); returns the end of the
        span actually used. `before(t)`, when given, runs before the write at
        `t` (the runs' steps due by then, so that writes and runs keep
        virtual-time order)."""
        t0 = max(t0, self.aws.now())
        t1 = max(t1, t0 + 1)
        times = sorted(self.rng.uniform(t0, t1) for _ in range(n))
        for t in times:
            if before is not None:
                before(t)
            self.aws.advance_to(t)
            self.one()
        return t1

    def one(self) -> None:
        r = self.rng
        i = r.randrange(self.keys)
        roll = r.random()
        if roll < 0.35:
            self.ddb.put_item(TableName=self.table, Item=self.item(i))
            self.puts += 1
        elif roll < 0.9:
            self.ddb.update_item(
                TableName=self.table, Key=key(i),
                UpdateExpression="SET visits = if_not_exists(visits, :z) + :one, #n = :name, balance = :b ADD tags :t REMOVE note",
                ExpressionAttributeNames={"#n": "name"},
                ExpressionAttributeValues={":z": {"N": "0"}, ":one": {"N": "1"}, ":name": {"S": r.choice(WORDS)},
                                           ":b": {"N": big_number(r)}, ":t": {"SS": [r.choice(WORDS)]}},
            )
            self.updates += 1
        else:
            self.ddb.delete_item(TableName=self.table, Key=key(i))
            self.deletes += 1
        self.writes += 1

"""Item history: per table and key, the item after each write, and which
keys each DynamoDB write operation touched."""
from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field

from .items import key_id

WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


@dataclass(frozen=True, order=True)
class Write:
    micros: int
    seq: int
    item: dict | None = field(compare=False)


def state_at(writes: list[Write], limit: int, inclusive: bool) -> dict | None:
    """The item after the last write at (or before) `limit` micros."""
    state = None
    for write in writes:
        if write.micros < limit or (inclusive and write.micros == limit):
            state = write.item
        else:
            break
    return state


class ItemHistory:
    """Per table ARN, per key: the item after each write, in time order."""

    def __init__(self):
        self._tables: dict[str, dict[str, list[Write]]] = {}
        self._seq = itertools.count(1)

    def record(self, table_arn: str, key: dict, micros: int, item: dict | None) -> bool:
        writes = self._tables.setdefault(table_arn, {}).setdefault(key_id(key), [])
        # A write that changes nothing leaves no change record, as in Streams.
        if writes and state_at(writes, micros, inclusive=True) == item:
            return False
        bisect.insort(writes, Write(micros, next(self._seq), item))
        return True

    def table(self, table_arn: str) -> dict[str, list[Write]]:
        return self._tables.get(table_arn, {})

    def drop(self, table_arn: str) -> None:
        self._tables.pop(table_arn, None)

    def counts(self) -> dict:
        keys = sum(len(t) for t in self._tables.values())
        writes = sum(len(w) for t in self._tables.values() for w in t.values())
        return {"tables": len(self._tables), "keys": keys, "writes": writes}


def written_keys(operation: str, request: dict, response: dict) -> list[tuple[str, dict, str]]:
    """(table name, item-or-key, kind) for each key a write touched; kind is
    "put" (the whole new item is known), "delete" or "update" (read back)."""
    if operation == "PutItem":
        return [(request["TableName"], request["Item"], "put")]
    if operation == "UpdateItem":
        return [(request["TableName"], request["Key"], "update")]
    if operation == "DeleteItem":
        return [(request["TableName"], request["Key"], "delete")]
    if operation == "BatchWriteItem":
        return _batch_written_keys(request, response)
    if operation == "TransactWriteItems":
        return _transact_written_keys(request)
    return []


def _batch_written_keys(request: dict, response: dict) -> list:
    unprocessed = response.get("UnprocessedItems") or {}
    touched = []
    for table, entries in (request.get("RequestItems") or {}).items():
        for entry in entries:
            if entry in unprocessed.get(table, []):
                continue  # not written; recording it would invent a change
            if "PutRequest" in entry:
                touched.append((table, entry["PutRequest"]["Item"], "put"))
            elif "DeleteRequest" in entry:
                touched.append((table, entry["DeleteRequest"]["Key"], "delete"))
    return touched


def _transact_written_keys(request: dict) -> list:
    touched = []
    for entry in request.get("TransactItems") or []:
        if "Put" in entry:
            touched.append((entry["Put"]["TableName"], entry["Put"]["Item"], "put"))
        for kind in ("Update", "Delete"):
            if kind in entry:
                touched.append((entry[kind]["TableName"], entry[kind]["Key"], kind.lower()))
    return touched

"""The journal: an independent record of what the service really did, for
proofs that compare it with the product's own ledger.

Calls are appended as they happen; exports are described from their live
state when the journal is read.
"""
from __future__ import annotations

import threading

from .clock import MICROS, epoch_number
from .exports import Export

KINDS = ("export_calls", "sns_publish", "ssm", "lost_responses")


class Journal:
    def __init__(self):
        self._entries: dict[str, list[dict]] = {kind: [] for kind in KINDS}
        self._lock = threading.Lock()

    def add(self, kind: str, entry: dict) -> None:
        with self._lock:
            self._entries[kind].append(entry)

    def snapshot(self) -> dict[str, list[dict]]:
        with self._lock:
            return {kind: list(entries) for kind, entries in self._entries.items()}


def export_entry(export: Export, repeat_calls: int) -> dict:
    """One export as the service ran it; None where a field does not apply."""
    spec = export.request.get("IncrementalExportSpecification") or {}

    def time_or_none(micros: int | None) -> float | None:
        return None if micros is None else epoch_number(micros)

    return {"ExportArn": export.arn, "ClientToken": export.client_token, "TableArn": export.table.arn,
            "ExportType": export.request["ExportType"], "ExportTime": time_or_none(export.export_time),
            "ExportFromTime": time_or_none(export.from_time), "ExportToTime": time_or_none(export.to_time),
            "ExportViewType": spec.get("ExportViewType"),
            "S3Bucket": export.bucket, "S3Prefix": export.prefix, "ExportStatus": export.status,
            "StartTime": epoch_number(export.start), "EndTime": time_or_none(export.end),
            "FailureCode": export.failure[0] if export.failure else None,
            "DurationSeconds": export.duration / MICROS, "VisibleFrom": epoch_number(export.visible_from),
            "AccessKeyId": export.caller.access_key, "RepeatCalls": repeat_calls}


class CallCounts:
    """Every call the emulator received, counted by access key, service and
    operation: what a client really asked of AWS, to hold a documented IAM
    policy to."""

    def __init__(self):
        self._counts: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()

    def add(self, access_key: str, service: str | None, operation: str | None) -> None:
        key = (access_key, service or "?", operation or "?")
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def view(self) -> list[dict]:
        with self._lock:
            return [{"AccessKeyId": k, "Service": s, "Operation": o, "Count": n}
                    for (k, s, o), n in sorted(self._counts.items())]

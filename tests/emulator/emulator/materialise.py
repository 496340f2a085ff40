"""Building a finished export's files from the item history: data lines
(full or incremental), data files spread over partitions, manifests and
checksums, written to S3 with the manifest summary last."""
from __future__ import annotations

import base64
import gzip
import hashlib
import secrets
import string

from .clock import iso_ms
from .exports import Export
from .history import Write, state_at
from .items import item_size, normalise_item
from .moto import S3Writer, TableInfo
from .protocol import json_bytes

PARTITIONS = 4  # data files per export; empty partitions still get a file
INCREMENTAL_MIN_BILLED = 10_000_000  # the 10 MB minimum charge per export
FILE_NAME_ALPHABET = string.ascii_lowercase + string.digits


def full_export_lines(writes_by_key: dict[str, list[Write]], table: TableInfo, at: int):
    """(key id, line object) for every item alive at `at` (inclusive)."""
    for kid, writes in writes_by_key.items():
        item = state_at(writes, at, inclusive=True)
        if item is not None:
            yield kid, {"Item": normalise_item(item)}


def incremental_lines(writes_by_key: dict[str, list[Write]], table: TableInfo,
                      start: int, end: int, view: str):
    """(key id, change line) for every key written in [start, end)."""
    for kid, writes in writes_by_key.items():
        in_window = [w for w in writes if start <= w.micros < end]
        if not in_window:
            continue
        old = state_at(writes, start, inclusive=False)
        new = state_at(writes, end, inclusive=False)
        if old is None and new is None:
            continue  # created and deleted inside the window: nothing to apply
        yield kid, change_line(table, old, new, in_window[-1].micros, view)


def change_line(table: TableInfo, old: dict | None, new: dict | None, written: int, view: str) -> dict:
    """One compacted change, in the shapes of the two view types."""
    image = new if new is not None else old
    line = {"Metadata": {"WriteTimestampMicros": {"N": str(written)}},
            "Keys": normalise_item(table.key_of(image))}
    if old is not None and view == "NEW_AND_OLD_IMAGES":
        line["OldImage"] = normalise_item(old)
    if new is not None:
        line["NewImage"] = normalise_item(new)
    return line


def line_size(line: dict) -> int:
    if "Item" in line:
        return item_size(line["Item"])
    return item_size(line.get("OldImage")) + item_size(line.get("NewImage")) or item_size(line["Keys"])


def partition_of(kid: str) -> int:
    # Stable per key, like a hash partition, so reruns spread items the same way.
    return int(hashlib.md5(kid.encode()).hexdigest(), 16) % PARTITIONS


def data_file_name() -> str:
    return "".join(secrets.choice(FILE_NAME_ALPHABET) for _ in range(26)) + ".json.gz"


def encode_lines(lines: list[dict]) -> bytes:
    return b"".join(json_bytes(line) + b"\n" for line in lines)


def md5_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def build_data_files(lines, folder: str) -> list[tuple[str, bytes, int]]:
    """Spread lines over the partitions: (S3 key, gzip bytes, line count)."""
    partitions: list[list[dict]] = [[] for _ in range(PARTITIONS)]
    for kid, line in lines:
        partitions[partition_of(kid)].append(line)
    return [(f"{folder}/{data_file_name()}", gzip.compress(encode_lines(part), mtime=0), len(part))
            for part in partitions]


def manifest_files_body(files: list[tuple[str, bytes, int]]) -> bytes:
    entries = [{"itemCount": count, "md5Checksum": md5_base64(body),
                "etag": hashlib.md5(body).hexdigest(), "dataFileS3Key": key}
               for key, body, count in files]
    return encode_lines(entries)


def manifest_summary(export: Export) -> dict:
    """manifest-summary.json, with the fields of the export's kind."""
    req = export.request
    summary = {"version": "2023-08-01" if export.incremental else "2020-06-30",
               "exportArn": export.arn, "startTime": iso_ms(export.start),
               "endTime": iso_ms(export.end), "tableArn": export.table.arn,
               "tableId": export.table.table_id}
    if export.incremental:
        summary["exportFromTime"] = iso_ms(export.from_time)
        summary["exportToTime"] = iso_ms(export.to_time)
    else:
        summary["exportTime"] = iso_ms(export.export_time)
    summary.update({"s3Bucket": export.bucket, "s3Prefix": req.get("S3Prefix") or None,
                    "s3SseAlgorithm": req["S3SseAlgorithm"],
                    "s3SseKmsKeyId": req.get("S3SseKmsKeyId") or None,
                    "manifestFilesS3Key": f"{export.directory}/manifest-files.json",
                    "billedSizeBytes": export.billed_bytes, "itemCount": export.item_count,
                    "outputFormat": req["ExportFormat"]})
    if export.incremental:
        summary["outputView"] = req["IncrementalExportSpecification"]["ExportViewType"]
        summary["exportType"] = "INCREMENTAL_EXPORT"
    return summary


def materialise(export: Export, writes_by_key: dict[str, list[Write]], s3: S3Writer) -> None:
    """Write data files and manifests; manifest-summary.json goes last."""
    if export.incremental:
        view = export.request["IncrementalExportSpecification"]["ExportViewType"]
        lines = list(incremental_lines(writes_by_key, export.table, export.from_time, export.to_time, view))
        folder = f"{export.root}/data"  # shared by all incremental exports
    else:
        lines = list(full_export_lines(writes_by_key, export.table, export.export_time))
        folder = f"{export.directory}/data"
    size = sum(line_size(line) for _, line in lines)
    export.item_count = len(lines)
    export.billed_bytes = max(size, INCREMENTAL_MIN_BILLED) if export.incremental else size
    files = build_data_files(lines, folder)
    for key, body, _ in files:
        s3.put(export.caller, export.bucket, key, body)
    files_body = manifest_files_body(files)
    summary_body = json_bytes(manifest_summary(export))
    for name, body in (("manifest-files.json", files_body), ("manifest-files.md5", md5_base64(files_body).encode()),
                       ("manifest-summary.json", summary_body),
                       ("manifest-summary.md5", md5_base64(summary_body).encode())):
        s3.put(export.caller, export.bucket, f"{export.directory}/{name}", body)

#!/usr/bin/env python3
"""Local emulator of DynamoDB's export to S3, placed in front of moto server.

moto's ExportTableToPointInTime is a stub: it ignores incremental exports,
writes no manifests and has no restore window. This server speaks DynamoDB's
JSON 1.0 protocol, answers the export and point-in-time-recovery operations
itself, and forwards every other request to moto unchanged. Writes that pass
through it are recorded per item with the virtual time they happened at, so
that full and incremental exports can be rebuilt for any point or window in
the layout and formats real exports have.

Virtual time is read from a clock file (epoch seconds, written by the test
runner) on every request; exports take virtual time too and are written to S3
(moto) the first time they are observed after their duration has passed.

Usage:
    python export_emulator.py --port N --moto http://127.0.0.1:PORT \
        --clock-file PATH [--host 127.0.0.1] [--lag 300] \
        [--export-seconds 300] [--max-in-progress 300] [--region us-east-1]

Control endpoints: GET /_emulator/state, POST /_emulator/faults,
POST /_emulator/reset (see README.md next to this file).
"""
from __future__ import annotations

import argparse
import base64
import bisect
import gzip
import hashlib
import http.client
import itertools
import json
import re
import secrets
import socket
import string
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_FLOOR, Context, Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

TARGET_PREFIX = "DynamoDB_20120810."
ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"

MICROS = 1_000_000
MIN_WINDOW = 15 * 60 * MICROS
MAX_WINDOW = 24 * 3600 * MICROS
TOKEN_TTL = 8 * 3600 * MICROS
DAY = 86_400 * MICROS
DEFAULT_RECOVERY_DAYS = 35
PARTITIONS = 4  # data files per export; empty partitions still get a file
INCREMENTAL_MIN_BILLED = 10_000_000  # the 10 MB minimum charge per export
LIST_EXPORTS_MAX = 25

EXPORT_OPS = {"ExportTableToPointInTime", "DescribeExport", "ListExports"}
HANDLED_OPS = EXPORT_OPS | {"DescribeContinuousBackups", "UpdateContinuousBackups"}
WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
TABLE_LIFECYCLE_OPS = {"CreateTable", "DeleteTable"}
# Headers that describe one hop, not the message: recomputed on each side.
HOP_HEADERS = {"host", "content-length", "connection", "keep-alive", "transfer-encoding"}

FILE_NAME_ALPHABET = string.ascii_lowercase + string.digits
NO_SUCH_BUCKET = ("S3NoSuchBucket", "The specified bucket does not exist")


class ApiError(Exception):
    """An error answered in the JSON protocol's shape."""

    def __init__(self, name: str, message: str, status: int = 400):
        super().__init__(message)
        self.name, self.message, self.status = name, message, status

    def body(self) -> dict:
        return {"__type": ERROR_PREFIX + self.name, "message": self.message}


def validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


# --- numbers and items -------------------------------------------------------

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


# --- time -------------------------------------------------------------------


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


def log(message: str) -> None:
    sys.stderr.write(f"[export-emulator] {message}\n")
    sys.stderr.flush()


# --- callers and moto -----------------------------------------------------

_CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/[^/]*/([^/]+)/")


@dataclass(frozen=True)
class Caller:
    """Access key and region of a request.

    moto picks its account and region backend from the Authorization header,
    so the emulator's own calls to moto reuse the caller's scope.
    """

    access_key: str
    region: str

    @classmethod
    def from_headers(cls, headers, default_region: str) -> "Caller":
        match = _CREDENTIAL_RE.search(headers.get("Authorization", "") or "")
        if match:
            return cls(match.group(1), match.group(2))
        return cls("testing", default_region)

    def in_region(self, region: str) -> "Caller":
        return Caller(self.access_key, region)

    def authorization(self) -> str:
        return (f"AWS4-HMAC-SHA256 Credential={self.access_key}/20200101/{self.region}"
                "/dynamodb/aws4_request, SignedHeaders=host, Signature=0")


class MotoClient:
    """Plain HTTP to moto: forwarding must not reinterpret anything."""

    def __init__(self, base_url: str):
        parts = urllib.parse.urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.host, self.port = parts.hostname, parts.port or 80
        self._local = threading.local()

    def request(self, method: str, path: str, body: bytes | None, headers: dict):
        # One kept-alive connection per handler thread: a new connection per
        # request costs more than moto's own work on small writes.
        local = self._local
        for attempt in (1, 2):
            connection = getattr(local, "connection", None)
            if connection is None:
                connection = local.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
                connection.connect()
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                return response.status, response.getheaders(), response.read()
            except (http.client.HTTPException, OSError):
                connection.close()
                local.connection = None
                if attempt == 2:
                    raise
        raise RuntimeError("unreachable")

    def dynamodb(self, caller: Caller, operation: str, payload: dict) -> tuple[int, dict]:
        headers = {"X-Amz-Target": TARGET_PREFIX + operation,
                   "Content-Type": JSON_CONTENT_TYPE,
                   "Authorization": caller.authorization()}
        status, _, body = self.request("POST", "/", json_bytes(payload), headers)
        return status, json.loads(body or b"{}")


def json_bytes(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                      default=_json_default).encode()


def _json_default(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def error_type(body: dict) -> str:
    return str(body.get("__type", "")).rsplit("#", 1)[-1]


def table_name_of(value: str) -> str:
    """TableName may be a table ARN in newer API versions."""
    if isinstance(value, str) and value.startswith("arn:") and ":table/" in value:
        return value.split(":table/", 1)[1].split("/", 1)[0]
    return value


@dataclass(frozen=True)
class TableInfo:
    name: str
    arn: str
    table_id: str
    key_names: tuple[str, ...]

    def key_of(self, item: dict) -> dict:
        return {name: item[name] for name in self.key_names if name in item}


class TableCatalog:
    """DescribeTable results from moto, cached per caller scope and name."""

    def __init__(self, moto: MotoClient):
        self.moto = moto
        self._cache: dict[tuple, TableInfo] = {}
        self._ids: dict[str, str] = {}  # moto's DescribeTable has no TableId
        self._lock = threading.Lock()

    def lookup(self, caller: Caller, name: str) -> TableInfo | None:
        cache_key = (caller.access_key, caller.region, name)
        with self._lock:
            if cache_key in self._cache:
                return self._cache[cache_key]
        status, body = self.moto.dynamodb(caller, "DescribeTable", {"TableName": name})
        if status != 200:
            if error_type(body) == "ResourceNotFoundException":
                return None
            raise ApiError("InternalServerError", f"moto DescribeTable failed: {body}", 500)
        table = body["Table"]
        schema = sorted(table["KeySchema"], key=lambda k: k["KeyType"] != "HASH")
        with self._lock:
            table_id = table.get("TableId") or self._ids.setdefault(table["TableArn"], str(uuid.uuid4()))
            info = TableInfo(name, table["TableArn"], table_id, tuple(k["AttributeName"] for k in schema))
            self._cache[cache_key] = info
        return info

    def forget(self, caller: Caller, name: str, arn: str | None = None) -> None:
        with self._lock:
            self._cache.pop((caller.access_key, caller.region, name), None)
            if arn:
                self._ids.pop(arn, None)  # a re-created table gets a new id


# --- item history ------------------------------------------------------------


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


# --- PITR --------------------------------------------------------------------


@dataclass
class PitrState:
    enabled: bool = False
    enabled_at: int = 0
    recovery_days: int = DEFAULT_RECOVERY_DAYS

    def window(self, now: int, lag: int) -> tuple[int, int]:
        earliest = max(self.enabled_at, now - self.recovery_days * DAY)
        latest = max(earliest, now - lag)  # never before earliest
        return earliest, latest


# --- S3 ----------------------------------------------------------------------


class BucketMissing(Exception):
    pass


class S3Writer:
    """boto3 S3 clients pointed at moto, one per caller scope."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self._clients: dict[Caller, object] = {}
        self._lock = threading.Lock()

    def _client(self, caller: Caller):
        with self._lock:
            if caller not in self._clients:
                # A session per client: boto3's default session is not thread-safe.
                self._clients[caller] = boto3.session.Session().client(
                    "s3", endpoint_url=self.endpoint, region_name=caller.region,
                    aws_access_key_id=caller.access_key, aws_secret_access_key="emulator",
                    config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))
            return self._clients[caller]

    def put(self, caller: Caller, bucket: str, key: str, body: bytes) -> None:
        try:
            self._client(caller).put_object(Bucket=bucket, Key=key, Body=body)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
                raise BucketMissing(bucket) from exc
            raise


# --- exports -----------------------------------------------------------------


@dataclass
class Export:
    export_id: str
    arn: str
    table: TableInfo
    caller: Caller
    request: dict  # parameters with defaults filled: what ClientToken compares
    client_token: str
    start: int
    duration: int
    visible_from: int
    export_time: int | None = None
    from_time: int | None = None
    to_time: int | None = None
    pending_failure: tuple[str, str] | None = None
    status: str = "IN_PROGRESS"
    end: int | None = None
    failure: tuple[str, str] | None = None
    billed_bytes: int | None = None
    item_count: int | None = None

    @property
    def incremental(self) -> bool:
        return self.request["ExportType"] == "INCREMENTAL_EXPORT"

    @property
    def bucket(self) -> str:
        return self.request["S3Bucket"]

    @property
    def prefix(self) -> str | None:
        return self.request.get("S3Prefix") or None

    @property
    def root(self) -> str:
        """`[prefix/]AWSDynamoDB`: incremental data is shared below it."""
        return f"{self.prefix.rstrip('/')}/AWSDynamoDB" if self.prefix else "AWSDynamoDB"

    @property
    def directory(self) -> str:
        return f"{self.root}/{self.export_id}"

    @property
    def manifest_key(self) -> str:
        return f"{self.directory}/manifest-summary.json"

    def fail(self, end: int, failure: tuple[str, str]) -> None:
        self.status, self.end, self.failure = "FAILED", end, failure
        self.billed_bytes = self.item_count = None

    def description(self) -> dict:
        """ExportDescription, fields in the service's order."""
        req = self.request
        out = {"ExportArn": self.arn, "ExportStatus": self.status,
               "StartTime": epoch_number(self.start)}
        if self.end is not None:
            out["EndTime"] = epoch_number(self.end)
        if self.status == "COMPLETED":
            out["ExportManifest"] = self.manifest_key
        out.update({"TableArn": self.table.arn, "TableId": self.table.table_id})
        if not self.incremental:
            out["ExportTime"] = epoch_number(self.export_time)
        out["ClientToken"] = self.client_token
        out["S3Bucket"] = self.bucket
        for name in ("S3BucketOwner", "S3Prefix"):
            if req.get(name):
                out[name] = req[name]
        out["S3SseAlgorithm"] = req["S3SseAlgorithm"]
        if req.get("S3SseKmsKeyId"):
            out["S3SseKmsKeyId"] = req["S3SseKmsKeyId"]
        if self.failure:
            out["FailureCode"], out["FailureMessage"] = self.failure
        out["ExportFormat"] = req["ExportFormat"]
        if self.status == "COMPLETED":
            out["BilledSizeBytes"] = self.billed_bytes
            out["ItemCount"] = self.item_count
        out["ExportType"] = req["ExportType"]
        if self.incremental:
            out["IncrementalExportSpecification"] = {
                "ExportFromTime": epoch_number(self.from_time),
                "ExportToTime": epoch_number(self.to_time),
                "ExportViewType": req["IncrementalExportSpecification"]["ExportViewType"]}
        return out

    def summary(self) -> dict:
        return {"ExportArn": self.arn, "ExportStatus": self.status,
                "ExportType": self.request["ExportType"]}


def _enum(request: dict, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.get(name, default)
    if value not in allowed:
        raise validation(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def normalise_export_request(request: dict) -> dict:
    """Check the request's shape and fill the service's defaults."""
    for name in ("TableArn", "S3Bucket"):
        if not isinstance(request.get(name), str) or not request[name]:
            raise validation(f"{name} is required")
    if "FilterSpecification" in request:
        raise validation("FilterSpecification is not supported by the export emulator")
    if request.get("ExportFormat") == "ION":
        raise validation("ExportFormat ION is not supported by the export emulator; use DYNAMODB_JSON")
    params = {k: v for k, v in request.items() if k != "ClientToken"}
    params["ExportFormat"] = _enum(request, "ExportFormat", ("DYNAMODB_JSON",), "DYNAMODB_JSON")
    params["ExportType"] = _enum(request, "ExportType", ("FULL_EXPORT", "INCREMENTAL_EXPORT"), "FULL_EXPORT")
    params["S3SseAlgorithm"] = _enum(request, "S3SseAlgorithm", ("AES256", "KMS"), "AES256")
    spec = request.get("IncrementalExportSpecification")
    if params["ExportType"] == "INCREMENTAL_EXPORT":
        if not isinstance(spec, dict) or "ExportFromTime" not in spec:
            raise validation("IncrementalExportSpecification.ExportFromTime is required for INCREMENTAL_EXPORT")
        if "ExportTime" in request:
            raise validation("ExportTime cannot be used with INCREMENTAL_EXPORT")
        spec = dict(spec)
        spec["ExportViewType"] = _enum(spec, "ExportViewType", ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"),
                                       "NEW_AND_OLD_IMAGES")
        params["IncrementalExportSpecification"] = spec
    elif spec is not None:
        raise validation("IncrementalExportSpecification is only valid with INCREMENTAL_EXPORT")
    return params


def resolve_export_times(params: dict, now: int, earliest: int, latest: int) -> dict:
    """Apply the service's time rules; return the export's time fields."""
    if params["ExportType"] == "FULL_EXPORT":
        if "ExportTime" not in params:
            return {"export_time": now}  # omitted: a snapshot of now
        at = parse_time(params["ExportTime"], "ExportTime")
        if not earliest <= at <= latest:
            raise ApiError("InvalidExportTimeException",
                           f"ExportTime {iso_ms(at)} is outside the point-in-time recovery window "
                           f"[EarliestRestorableDateTime {iso_ms(earliest)}, "
                           f"LatestRestorableDateTime {iso_ms(latest)}]")
        return {"export_time": at}
    spec = params["IncrementalExportSpecification"]
    start = parse_time(spec["ExportFromTime"], "ExportFromTime")
    end = parse_time(spec["ExportToTime"], "ExportToTime") if spec.get("ExportToTime") is not None else latest
    _check_window(start, end, earliest, latest)
    return {"from_time": start, "to_time": end}


def _check_window(start: int, end: int, earliest: int, latest: int) -> None:
    def invalid(message: str) -> ApiError:
        return ApiError("InvalidExportTimeException", message)

    if start < earliest:
        raise invalid(f"ExportFromTime {iso_ms(start)} is before EarliestRestorableDateTime {iso_ms(earliest)}")
    if end > latest:
        raise invalid(f"ExportToTime {iso_ms(end)} is after LatestRestorableDateTime {iso_ms(latest)}")
    if end - start < MIN_WINDOW:
        raise invalid("The incremental export period (ExportToTime - ExportFromTime) must be at least 15 minutes")
    if end - start > MAX_WINDOW:
        raise invalid("The incremental export period (ExportToTime - ExportFromTime) must be at most 24 hours")


# --- materialisation ---------------------------------------------------------


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


# --- the emulator's state and operations --------------------------------------


@dataclass
class Faults:
    export_seconds: Decimal
    fail_next_export: str | None = None
    throttle_next: int = 0
    hidden_seconds: Decimal = Decimal(0)

    def as_dict(self) -> dict:
        return {"fail_next_export": self.fail_next_export, "throttle_next": self.throttle_next,
                "export_seconds": float(self.export_seconds), "hidden_seconds": float(self.hidden_seconds)}


class ExportEmulator:
    """The state behind the server: history, PITR, exports, faults."""

    def __init__(self, moto: MotoClient, clock: VirtualClock, s3: S3Writer, *, lag: Decimal,
                 export_seconds: Decimal, max_in_progress: int, region: str):
        self.moto, self.clock, self.s3 = moto, clock, s3
        self.lag = seconds_to_micros(lag)
        self.default_export_seconds = export_seconds
        self.max_in_progress = max_in_progress
        self.region = region
        self.tables = TableCatalog(moto)
        self.history = ItemHistory()
        self.pitr: dict[str, PitrState] = {}
        self.exports: dict[str, Export] = {}  # by ARN, in start order
        self.tokens: dict[str, str] = {}  # ClientToken -> export ARN
        self.faults = Faults(export_seconds)
        # One lock for the emulated state; a second one serialises writes so
        # each read-back sees exactly its own write, in moto's order.
        self.lock = threading.RLock()
        self.write_lock = threading.Lock()

    # API entry point

    def handle(self, operation: str, request: dict, caller: Caller) -> dict:
        with self.lock:
            now = self.clock.now_micros()
            if operation in EXPORT_OPS and self.faults.throttle_next > 0:
                self.faults.throttle_next -= 1
                raise ApiError("ThrottlingException", "Rate of requests exceeds the allowed throughput (injected)")
            return getattr(self, "_op_" + operation)(request, caller, now)

    # PITR

    def _require_table(self, caller: Caller, name) -> TableInfo:
        if not isinstance(name, str) or not name:
            raise validation("TableName is required")
        table = self.tables.lookup(caller, table_name_of(name))
        if table is None:
            raise ApiError("TableNotFoundException", f"Table not found: {name}")
        return table

    def _backups_description(self, table: TableInfo, now: int) -> dict:
        state = self.pitr.get(table.arn, PitrState())
        pitr = {"PointInTimeRecoveryStatus": "ENABLED" if state.enabled else "DISABLED"}
        if state.enabled:
            earliest, latest = state.window(now, self.lag)
            pitr.update({"RecoveryPeriodInDays": state.recovery_days,
                         "EarliestRestorableDateTime": epoch_number(earliest),
                         "LatestRestorableDateTime": epoch_number(latest)})
        return {"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": pitr}

    def _op_DescribeContinuousBackups(self, request: dict, caller: Caller, now: int) -> dict:
        table = self._require_table(caller, request.get("TableName"))
        return {"ContinuousBackupsDescription": self._backups_description(table, now)}

    def _op_UpdateContinuousBackups(self, request: dict, caller: Caller, now: int) -> dict:
        table = self._require_table(caller, request.get("TableName"))
        spec = request.get("PointInTimeRecoverySpecification") or {}
        enabled = spec.get("PointInTimeRecoveryEnabled")
        if not isinstance(enabled, bool):
            raise validation("PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled is required")
        state = self.pitr.setdefault(table.arn, PitrState())
        if "RecoveryPeriodInDays" in spec:
            days = spec["RecoveryPeriodInDays"]
            if not isinstance(days, (int, Decimal)) or not 1 <= days <= DEFAULT_RECOVERY_DAYS:
                raise validation("RecoveryPeriodInDays must be between 1 and 35")
            state.recovery_days = int(days)
        if enabled and not state.enabled:
            state.enabled_at = now  # restore history starts again from here
        state.enabled = enabled
        return {"ContinuousBackupsDescription": self._backups_description(table, now)}

    # exports

    def _table_from_arn(self, caller: Caller, arn: str) -> TableInfo:
        parts = arn.split(":")
        if len(parts) < 6 or parts[2] != "dynamodb" or not parts[5].startswith("table/"):
            raise validation(f"TableArn is not a DynamoDB table ARN: {arn}")
        table = self.tables.lookup(caller.in_region(parts[3]), table_name_of(arn))
        if table is None or table.arn != arn:
            raise ApiError("TableNotFoundException", f"Table not found: {arn}")
        return table

    def _op_ExportTableToPointInTime(self, request: dict, caller: Caller, now: int) -> dict:
        params = normalise_export_request(request)
        token = request.get("ClientToken") or str(uuid.uuid4())
        table = self._table_from_arn(caller, params["TableArn"])
        existing = self._same_token_export(token, params, now)
        if existing is not None:
            return {"ExportDescription": existing.description()}
        self._check_in_progress_limit(now)
        state = self.pitr.get(table.arn)
        if state is None or not state.enabled:
            raise ApiError("PointInTimeRecoveryUnavailableException",
                           f"Point in time recovery is not enabled for table '{table.name}'")
        earliest, latest = state.window(now, self.lag)
        times = resolve_export_times(params, now, earliest, latest)
        export = self._start_export(table, caller.in_region(params["TableArn"].split(":")[3]),
                                    params, token, now, times)
        return {"ExportDescription": export.description()}

    def _same_token_export(self, token: str, params: dict, now: int) -> Export | None:
        """The export an idempotent retry should get back, if any."""
        arn = self.tokens.get(token)
        if arn is None:
            return None
        export = self.exports[arn]
        self._refresh(export, now)
        if export.end is not None and now > export.end + TOKEN_TTL:
            return None  # the token has expired: a new export is made
        if export.request != params:
            raise ApiError("ExportConflictException",
                           f"ClientToken {token} was already used for an export with different parameters")
        return export

    def _check_in_progress_limit(self, now: int) -> None:
        self._refresh_all(now)
        running = sum(1 for e in self.exports.values() if e.status == "IN_PROGRESS")
        if running >= self.max_in_progress:
            raise ApiError("LimitExceededException",
                           f"There are {running} exports in progress; at most {self.max_in_progress} are allowed")

    def _start_export(self, table: TableInfo, caller: Caller, params: dict, token: str,
                      now: int, times: dict) -> Export:
        export_id = f"{now // 1000:014d}-{secrets.token_hex(4)}"
        export = Export(export_id=export_id, arn=f"{table.arn}/export/{export_id}", table=table,
                        caller=caller, request=params, client_token=token, start=now,
                        duration=seconds_to_micros(self.faults.export_seconds),
                        visible_from=now + seconds_to_micros(self.faults.hidden_seconds), **times)
        if self.faults.fail_next_export:
            code, self.faults.fail_next_export = self.faults.fail_next_export, None
            export.pending_failure = (code, f"Export failed (injected fault {code})")
        try:
            self.s3.put(caller, export.bucket, f"{export.directory}/_started", b"")
        except BucketMissing:
            # The service accepts the request and fails the export later.
            export.pending_failure = export.pending_failure or NO_SUCH_BUCKET
        self.exports[export.arn] = export
        self.tokens[token] = export.arn
        log(f"export {export.arn} started ({params['ExportType']})")
        return export

    def _refresh(self, export: Export, now: int) -> None:
        """Finish an export whose virtual duration has passed (once)."""
        if export.status != "IN_PROGRESS" or now < export.start + export.duration:
            return
        end = export.start + export.duration
        if export.pending_failure:
            export.fail(end, export.pending_failure)
            return
        export.end = end
        try:
            materialise(export, self.history.table(export.table.arn), self.s3)
        except BucketMissing:
            export.fail(end, NO_SUCH_BUCKET)
            return
        export.status = "COMPLETED"
        log(f"export {export.arn} completed: {export.item_count} lines")

    def _refresh_all(self, now: int) -> None:
        for export in self.exports.values():
            self._refresh(export, now)

    def _op_DescribeExport(self, request: dict, caller: Caller, now: int) -> dict:
        arn = request.get("ExportArn")
        if not isinstance(arn, str) or not arn:
            raise validation("ExportArn is required")
        export = self.exports.get(arn)
        if export is None or now < export.visible_from:
            raise ApiError("ExportNotFoundException", f"Export not found: {arn}")
        self._refresh(export, now)
        return {"ExportDescription": export.description()}

    def _op_ListExports(self, request: dict, caller: Caller, now: int) -> dict:
        self._refresh_all(now)
        table_arn = request.get("TableArn")
        limit = request.get("MaxResults", LIST_EXPORTS_MAX)
        if not isinstance(limit, int) or not 1 <= limit <= LIST_EXPORTS_MAX:
            raise validation(f"MaxResults must be between 1 and {LIST_EXPORTS_MAX}")
        try:
            offset = int(request.get("NextToken") or 0)
        except ValueError as exc:
            raise validation("NextToken is not valid") from exc
        visible = [e for e in self.exports.values()
                   if now >= e.visible_from and (not table_arn or e.table.arn == table_arn)]
        response = {"ExportSummaries": [e.summary() for e in visible[offset:offset + limit]]}
        if offset + limit < len(visible):
            response["NextToken"] = str(offset + limit)
        return response

    # writes and table lifecycle (forwarded requests)

    def record_writes(self, operation: str, request: dict, response: dict, caller: Caller, now: int) -> None:
        """Append each written key's new state to the history. A put's item and
        a delete's absence are known from the request (moto stores items as
        given); an update is read back from moto."""
        for table_name, item_or_key, kind in written_keys(operation, request, response):
            table = self.tables.lookup(caller, table_name_of(table_name))
            if table is None:
                continue
            key = table.key_of(item_or_key) if kind == "put" else dict(item_or_key)
            if kind == "put":
                item = item_or_key
            elif kind == "delete":
                item = None
            else:
                status, body = self.moto.dynamodb(caller, "GetItem", {"TableName": table.name, "Key": key,
                                                                      "ConsistentRead": True})
                if status != 200:
                    log(f"read-back of {table.name} {key} failed: {body}")
                    continue
                item = body.get("Item")
            with self.lock:
                self.history.record(table.arn, key, now, item)

    def table_changed(self, operation: str, request: dict, response: dict, caller: Caller) -> None:
        name = table_name_of(request.get("TableName", ""))
        arn = (response.get("TableDescription") or {}).get("TableArn")
        with self.lock:
            self.tables.forget(caller, name, arn if operation == "DeleteTable" else None)
            if operation == "DeleteTable" and arn:
                self.history.drop(arn)
                self.pitr.pop(arn, None)

    # control endpoints

    def set_faults(self, body: dict) -> dict:
        known = {"fail_next_export", "throttle_next", "export_seconds", "hidden_seconds"}
        unknown = set(body) - known
        if unknown:
            raise validation(f"unknown fault(s): {', '.join(sorted(unknown))}")
        with self.lock:
            if "fail_next_export" in body:
                self.faults.fail_next_export = body["fail_next_export"] or None
            if "throttle_next" in body:
                self.faults.throttle_next = _non_negative(body["throttle_next"], "throttle_next", int)
            for name in ("export_seconds", "hidden_seconds"):
                if name in body:
                    setattr(self.faults, name, _non_negative(body[name], name, Decimal))
            return self.faults.as_dict()

    def reset(self) -> dict:
        with self.lock:
            self.faults = Faults(self.default_export_seconds)
            return self.faults.as_dict()

    def state(self) -> dict:
        with self.lock:
            now = self.clock.now_micros()
            self._refresh_all(now)
            statuses: dict[str, int] = {}
            for export in self.exports.values():
                statuses[export.status] = statuses.get(export.status, 0) + 1
            return {"now": epoch_number(now),
                    "exports": [dict(e.description(), Visible=now >= e.visible_from)
                                for e in self.exports.values()],
                    "pitr": {arn: self._pitr_state(state, now) for arn, state in self.pitr.items()},
                    "counts": dict(self.history.counts(), exports=statuses),
                    "faults": self.faults.as_dict()}

    def _pitr_state(self, state: PitrState, now: int) -> dict:
        out = {"enabled": state.enabled, "enabledAt": epoch_number(state.enabled_at),
               "recoveryPeriodInDays": state.recovery_days}
        if state.enabled:
            earliest, latest = state.window(now, self.lag)
            out.update(earliest=epoch_number(earliest), latest=epoch_number(latest))
        return out


def _non_negative(value, name: str, kind):
    try:
        number = kind(str(value)) if not isinstance(value, bool) else None
    except (ValueError, InvalidOperation):
        number = None
    if number is None or number < 0:
        raise validation(f"{name} must be a non-negative number")
    return number


# --- HTTP --------------------------------------------------------------------


class EmulatorHandler(BaseHTTPRequestHandler):
    """Routes: control endpoints, emulated operations, everything else to moto."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs expect
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's
    # algorithm and the client's delayed ACK add 40 ms to every request.
    disable_nagle_algorithm = True
    server: "EmulatorServer"

    def do_POST(self):
        self._dispatch()

    do_GET = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_POST

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # replaced by the one concise line per request in _dispatch

    def _dispatch(self) -> None:
        started = time.monotonic()
        body = self._read_body()
        path = urllib.parse.urlsplit(self.path).path
        target = self.headers.get("X-Amz-Target", "")
        operation = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else None
        if path.startswith("/_emulator/"):
            status, label = self._control(path, body), path
        elif operation in HANDLED_OPS and self.command == "POST":
            status, label = self._emulated(operation, body), f"{operation} (emulated)"
        else:
            label = f"{operation or self.path} -> moto"
            try:
                status = self._forward(operation, body)
            except OSError as exc:
                # Answer rather than drop the connection: an SDK would retry a drop.
                status = self._send_json(502, {"message": f"moto at {self.server.emulator.moto.base_url} "
                                                           f"is unreachable: {exc}"})
        log(f"{self.command} {label} {status} {(time.monotonic() - started) * 1000:.0f}ms")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # responses

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]],
              length: str | None = None) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", length or str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: dict) -> int:
        headers = [("Content-Type", JSON_CONTENT_TYPE), ("x-amzn-RequestId", str(uuid.uuid4()))]
        self._send(status, json_bytes(payload), headers)
        return status

    # routes

    def _control(self, path: str, body: bytes) -> int:
        emulator = self.server.emulator
        try:
            if path == "/_emulator/state" and self.command == "GET":
                return self._send_json(200, emulator.state())
            if path == "/_emulator/faults" and self.command == "POST":
                return self._send_json(200, emulator.set_faults(json.loads(body or b"{}", parse_float=Decimal)))
            if path == "/_emulator/reset" and self.command == "POST":
                return self._send_json(200, emulator.reset())
        except (ApiError, json.JSONDecodeError, AttributeError, TypeError) as exc:
            return self._send_json(400, {"message": str(exc)})
        return self._send_json(404, {"message": f"no control endpoint {self.command} {path}"})

    def _emulated(self, operation: str, body: bytes) -> int:
        emulator = self.server.emulator
        caller = Caller.from_headers(self.headers, emulator.region)
        try:
            request = json.loads(body or b"{}", parse_float=Decimal)
            if not isinstance(request, dict):
                raise ApiError("SerializationException", "the request body must be a JSON object")
            return self._send_json(200, emulator.handle(operation, request, caller))
        except json.JSONDecodeError as exc:
            error = ApiError("SerializationException", f"invalid JSON: {exc}")
        except ApiError as exc:
            error = exc
        except Exception:  # noqa: BLE001 - report, never drop the connection
            log(traceback.format_exc())
            error = ApiError("InternalServerError", "the export emulator failed; see its log", 500)
        return self._send_json(error.status, error.body())

    def _forward(self, operation: str | None, body: bytes) -> int:
        emulator = self.server.emulator
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        send_body = body if body or self.command in ("POST", "PUT", "PATCH") else None
        if operation in WRITE_OPS:
            with emulator.write_lock:
                now = emulator.clock.now_micros()  # the write's virtual time
                status, out_headers, out_body = emulator.moto.request(self.command, self.path, send_body, headers)
                if status == 200:
                    self._after_forward(emulator.record_writes, operation, body, out_body, now)
        else:
            status, out_headers, out_body = emulator.moto.request(self.command, self.path, send_body, headers)
            if status == 200 and operation in TABLE_LIFECYCLE_OPS:
                self._after_forward(emulator.table_changed, operation, body, out_body)
        self._send(status, out_body, self._response_headers(out_headers), self._head_length(out_headers))
        return status

    def _after_forward(self, action, operation: str, body: bytes, out_body: bytes, *extra) -> None:
        # The client's write already succeeded in moto: a bookkeeping failure
        # must not turn it into an error, only be reported loudly.
        try:
            request = json.loads(body, parse_float=Decimal)
            response = json.loads(out_body or b"{}")
            caller = Caller.from_headers(self.headers, self.server.emulator.region)
            action(operation, request, response, caller, *extra)
        except Exception:  # noqa: BLE001
            log(f"could not record {operation}:\n{traceback.format_exc()}")

    def _response_headers(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        skip = HOP_HEADERS | {"server", "date"}  # send_response adds its own
        return [(k, v) for k, v in headers if k.lower() not in skip]

    def _head_length(self, headers: list[tuple[str, str]]) -> str | None:
        """A HEAD answer's Content-Length describes the resource, not the empty body."""
        if self.command != "HEAD":
            return None
        return next((v for k, v in headers if k.lower() == "content-length"), None)


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, emulator: ExportEmulator):
        super().__init__(address, EmulatorHandler)
        self.emulator = emulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="DynamoDB export emulator in front of moto server")
    parser.add_argument("--port", type=int, required=True, help="port to listen on (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--moto", required=True, help="moto server URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--clock-file", required=True, help="file holding the virtual now in epoch seconds")
    parser.add_argument("--lag", type=Decimal, default=Decimal(300),
                        help="seconds LatestRestorableDateTime trails now")
    parser.add_argument("--export-seconds", type=Decimal, default=Decimal(300),
                        help="virtual seconds an export takes")
    parser.add_argument("--max-in-progress", type=int, default=300)
    parser.add_argument("--region", default="us-east-1", help="region for requests without credentials")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    moto = MotoClient(args.moto)
    emulator = ExportEmulator(moto, VirtualClock(args.clock_file), S3Writer(moto.base_url),
                              lag=args.lag, export_seconds=args.export_seconds,
                              max_in_progress=args.max_in_progress, region=args.region)
    server = EmulatorServer((args.host, args.port), emulator)
    host, port = server.server_address[:2]
    print(f"export-emulator listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

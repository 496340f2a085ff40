"""An export's record and the service's rules for starting one: request
shape and defaults, the time rules against the point-in-time-recovery
window, and the PITR state that window comes from."""
from __future__ import annotations

from dataclasses import dataclass

from .clock import MICROS, epoch_number, iso_ms, parse_time
from .moto import Caller, TableInfo
from .protocol import ApiError, validation

MIN_WINDOW = 15 * 60 * MICROS
MAX_WINDOW = 24 * 3600 * MICROS
TOKEN_TTL = 8 * 3600 * MICROS
DAY = 86_400 * MICROS
DEFAULT_RECOVERY_DAYS = 35
NO_SUCH_BUCKET = ("S3NoSuchBucket", "The specified bucket does not exist")


@dataclass
class PitrState:
    enabled: bool = False
    enabled_at: int = 0
    recovery_days: int = DEFAULT_RECOVERY_DAYS

    def window(self, now: int, lag: int) -> tuple[int, int]:
        earliest = max(self.enabled_at, now - self.recovery_days * DAY)
        latest = max(earliest, now - lag)  # never before earliest
        return earliest, latest


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

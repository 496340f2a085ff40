"""The emulated service: DynamoDB's export and PITR operations, bookkeeping
of forwarded writes and table changes, faults, and what the control
endpoints (state, journal, faults, reset) answer."""
from __future__ import annotations

import dataclasses
import secrets
import threading
import uuid
from decimal import Decimal

from .clock import VirtualClock, epoch_number, iso_ms, seconds_to_micros
from .exports import (DEFAULT_RECOVERY_DAYS, NO_SUCH_BUCKET, TOKEN_TTL, Export, PitrState,
                      normalise_export_request, resolve_export_times)
from .faults import Durations, Faults
from .history import ItemHistory, written_keys
from .journal import CallCounts, Journal, export_entry
from .materialise import materialise
from .moto import BucketMissing, Caller, MotoClient, S3Writer, TableCatalog, TableInfo, table_name_of
from .proxy import LOST_MESSAGE, Call, journal_entry
from .protocol import ApiError, log, validation

LIST_EXPORTS_MAX = 25
EXPORT_OPS = {"ExportTableToPointInTime", "DescribeExport", "ListExports"}
HANDLED_OPS = EXPORT_OPS | {"DescribeContinuousBackups", "UpdateContinuousBackups"}
TABLE_LIFECYCLE_OPS = {"CreateTable", "DeleteTable"}


class ExportEmulator:
    """The state behind the server: history, PITR, exports, faults, journal."""

    def __init__(self, moto: MotoClient, clock: VirtualClock, s3: S3Writer, *, lag: Decimal,
                 export_seconds: Decimal, max_in_progress: int, region: str,
                 export_durations: Durations | None = None):
        self.moto, self.clock, self.s3 = moto, clock, s3
        self.lag = seconds_to_micros(lag)
        self.default_export_seconds = export_seconds
        # Kept across resets, so a reset does not restart the seeded sequence.
        self.default_export_durations = export_durations
        self.max_in_progress = max_in_progress
        self.region = region
        self.tables = TableCatalog(moto)
        self.history = ItemHistory()
        self.pitr: dict[str, PitrState] = {}
        self.exports: dict[str, Export] = {}  # by ARN, in start order
        self.tokens: dict[str, str] = {}  # ClientToken -> export ARN
        self.faults = Faults(export_seconds, export_durations)
        self.journal = Journal()
        self.calls = CallCounts()
        # One lock for the emulated state; a second one serialises writes so
        # each read-back sees exactly its own write, in moto's order.
        self.lock = threading.RLock()
        self.write_lock = threading.Lock()

    def service_now(self) -> int:
        """The service's own clock: the clock file plus the injected skew."""
        return self.clock.now_micros() + seconds_to_micros(self.faults.clock_skew_seconds)

    # API entry point

    def handle(self, operation: str, request: dict, caller: Caller) -> dict:
        with self.lock:
            now = self.service_now()
            known = len(self.exports)
            try:
                if operation in EXPORT_OPS and self.faults.throttle_next > 0:
                    self.faults.throttle_next -= 1
                    raise ApiError("ThrottlingException",
                                   "Rate of requests exceeds the allowed throughput (injected)", injected=True)
                response = getattr(self, "_op_" + operation)(request, caller, now)
            except ApiError as error:
                if operation == "ExportTableToPointInTime":
                    self._journal_export_call(now, caller, request, "refused", error=error)
                raise
            lost = self.faults.take_lost_response("dynamodb", operation)
            if operation == "ExportTableToPointInTime":
                outcome = "started" if len(self.exports) > known else "repeat"
                self._journal_export_call(now, caller, request, outcome,
                                          arn=response["ExportDescription"]["ExportArn"], lost=lost)
            if lost:
                self._journal_lost("dynamodb", operation, caller.access_key, now)
                raise ApiError("InternalServerError", LOST_MESSAGE, 500, injected=True)
            return response

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
        if params["ExportType"] == "INCREMENTAL_EXPORT" and self.faults.invalid_export_time_next > 0:
            # The real service also refuses windows that look valid: an end
            # too close to its own now, or a client clock ahead of it.
            self.faults.invalid_export_time_next -= 1
            raise ApiError("InvalidExportTimeException",
                           f"ExportToTime {iso_ms(times['to_time'])} is not valid: it is too recent "
                           "(injected)", injected=True)
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

    def _duration(self, params: dict) -> int:
        model = self.faults.export_durations
        if model is None:
            return seconds_to_micros(self.faults.export_seconds)
        return seconds_to_micros(model.draw(full=params["ExportType"] == "FULL_EXPORT"))

    def _start_export(self, table: TableInfo, caller: Caller, params: dict, token: str,
                      now: int, times: dict) -> Export:
        export_id = f"{now // 1000:014d}-{secrets.token_hex(4)}"
        export = Export(export_id=export_id, arn=f"{table.arn}/export/{export_id}", table=table,
                        caller=caller, request=params, client_token=token, start=now,
                        duration=self._duration(params),
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

    def after_proxy(self, call: Call, caller: Caller, body: bytes, status: int, answer: bytes,
                    arrived: int) -> bool:
        """Journal a forwarded call that arrived at clock-file time `arrived`;
        True when its response is to be lost."""
        lost = False
        # Checked before locking: most forwarded calls must not wait for an
        # export being written to S3 under the lock.
        if status == 200 and self.faults.lose_response_next.get(call.operation or ""):
            with self.lock:
                lost = self.faults.take_lost_response(call.service or "", call.operation)
        try:
            entry = journal_entry(call, body, status, answer)
        except Exception as exc:  # noqa: BLE001 - the call succeeded; only its record is lost
            log(f"could not journal {call.operation}: {exc!r}")
            entry = None
        if entry is not None:
            kind, record = entry
            if kind == "sns_publish":
                record["ResponseLost"] = lost
            # SNS and SSM keep the clients' clock; the skew is DynamoDB's.
            self.journal.add(kind, dict(record, AccessKeyId=caller.access_key, Time=epoch_number(arrived)))
        if lost:
            skew = seconds_to_micros(self.faults.clock_skew_seconds) if call.service == "dynamodb" else 0
            self._journal_lost(call.service or "", call.operation or "", caller.access_key, arrived + skew)
        return lost

    # journal

    def _journal_export_call(self, now: int, caller: Caller, request: dict, outcome: str, *,
                             arn: str | None = None, error: ApiError | None = None, lost: bool = False) -> None:
        self.journal.add("export_calls", {
            "Time": epoch_number(now), "AccessKeyId": caller.access_key,
            "ClientToken": request.get("ClientToken"), "TableArn": request.get("TableArn"),
            "ExportType": request.get("ExportType", "FULL_EXPORT"), "Outcome": outcome, "ExportArn": arn,
            "ErrorCode": error.name if error else None, "Injected": bool(error and error.injected),
            "ResponseLost": lost})

    def _journal_lost(self, service: str, operation: str, access_key: str, now: int) -> None:
        self.journal.add("lost_responses", {"Service": service, "Operation": operation,
                                            "AccessKeyId": access_key, "Time": epoch_number(now)})

    def journal_view(self) -> dict:
        with self.lock:
            clock_now = self.clock.now_micros()
            now = self.service_now()
            self._refresh_all(now)
            entries = self.journal.snapshot()
            calls = entries["export_calls"]
            repeats: dict[str, int] = {}
            for call in calls:
                if call["Outcome"] == "repeat":
                    repeats[call["ExportArn"]] = repeats.get(call["ExportArn"], 0) + 1
            exports = [export_entry(e, repeats.get(e.arn, 0)) for e in self.exports.values()]
        counts = {"exports_started": len(exports), "repeat_calls": sum(repeats.values()),
                  "refused_calls": sum(1 for c in calls if c["Outcome"] == "refused"),
                  "injected_refusals": sum(1 for c in calls if c["Outcome"] == "refused" and c["Injected"]),
                  "lost_responses": len(entries["lost_responses"]),
                  "sns_publish": len(entries["sns_publish"]), "ssm": len(entries["ssm"])}
        return {"now": epoch_number(clock_now), "service_now": epoch_number(now),
                "exports": exports, **entries, "counts": counts, "calls": self.calls.view()}

    # control endpoints

    def set_faults(self, body: dict) -> dict:
        with self.lock:
            # All or nothing: a bad value leaves every fault as it was.
            updated = dataclasses.replace(self.faults, lose_response_next=dict(self.faults.lose_response_next))
            updated.update(body)
            self.faults = updated
            return self.faults.as_dict()

    def reset(self) -> dict:
        with self.lock:
            self.faults = Faults(self.default_export_seconds, self.default_export_durations)
            return self.faults.as_dict()

    def state(self) -> dict:
        with self.lock:
            now = self.service_now()
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

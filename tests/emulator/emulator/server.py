"""The HTTP side: one handler routes control endpoints, the emulated
DynamoDB operations, and everything else to moto (journaling and, when a
fault asks, losing the response of what it forwards).

Named `server` rather than `http` so it never shadows the standard library.
"""
from __future__ import annotations

import json
import time
import traceback
import urllib.parse
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .history import WRITE_OPS
from .moto import Caller
from .protocol import JSON_CONTENT_TYPE, ApiError, json_bytes, log
from .proxy import Call, classify, lost_response, rest_operation
from .service import HANDLED_OPS, TABLE_LIFECYCLE_OPS, ExportEmulator

# Headers that describe one hop, not the message: recomputed on each side.
HOP_HEADERS = {"host", "content-length", "connection", "keep-alive", "transfer-encoding"}
# The body has been read already: moto must not wait to be asked for it.
FORWARD_SKIP = HOP_HEADERS | {"expect"}


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
        call = classify(self.headers, body, self.path)
        if not path.startswith("/_emulator/"):
            caller = Caller.from_headers(self.headers, self.server.emulator.region)
            self.server.emulator.calls.add(caller.access_key, call.service,
                                           call.operation or rest_operation(call.service, self.command, self.path))
        if path.startswith("/_emulator/"):
            status, label = self._control(path, body), path
        elif call.service == "dynamodb" and call.operation in HANDLED_OPS and self.command == "POST":
            status, label = self._emulated(call.operation, body), f"{call.operation} (emulated)"
        else:
            label = f"{call.operation or self.path} -> moto"
            try:
                status = self._forward(call, body)
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
            if path == "/_emulator/journal" and self.command == "GET":
                return self._send_json(200, emulator.journal_view())
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

    def _forward(self, call: Call, body: bytes) -> int:
        emulator = self.server.emulator
        headers = {k: v for k, v in self.headers.items() if k.lower() not in FORWARD_SKIP}
        send_body = body if body or self.command in ("POST", "PUT", "PATCH") else None
        operation = call.operation if call.service == "dynamodb" else None
        arrived = emulator.clock.now_micros()
        if operation in WRITE_OPS:
            with emulator.write_lock:
                now = emulator.service_now()  # the write's virtual time
                status, out_headers, out_body = emulator.moto.request(self.command, self.path, send_body, headers)
                if status == 200:
                    self._after_forward(emulator.record_writes, operation, body, out_body, now)
        else:
            status, out_headers, out_body = emulator.moto.request(self.command, self.path, send_body, headers)
            if status == 200 and operation in TABLE_LIFECYCLE_OPS:
                self._after_forward(emulator.table_changed, operation, body, out_body)
        caller = Caller.from_headers(self.headers, emulator.region)
        if emulator.after_proxy(call, caller, body, status, out_body, arrived):
            lost_headers, lost_body = lost_response(call.service or "")
            self._send(500, lost_body, lost_headers)
            return 500
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

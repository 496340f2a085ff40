"""Local AWS for the end-to-end runs: moto server, the export emulator in
front of it, the stack created from infra/template.yaml (stack.py), and
`cargo lambda watch` serving the five real function binaries with the
environment the stack gives them, all on free loopback ports, sharing one
virtual clock file.

Every process is started in its own session and stopped by the owner
(`LocalAws.stop`, also on exceptions and Ctrl-C through the context manager).
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig

import stack as local_stack

ROOT = Path(__file__).resolve().parents[2]
REGION = local_stack.REGION


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(msg: str) -> None:
    print(f"[local] {msg}", file=sys.stderr, flush=True)


class Forked:
    """A moto server forked by motofork.py: not this process's child, so
    what `LocalAws` asks of a Popen (is it alive, wait for it) is asked of
    the kernel."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = -1  # gone; its exit status went to motofork
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.time() + (timeout if timeout is not None else 1e9)
        while self.poll() is None:
            if time.time() > deadline:
                raise subprocess.TimeoutExpired("moto", timeout)
            time.sleep(0.05)
        return -1


_motofork: subprocess.Popen | None = None
_motofork_lock = threading.Lock()


def fork_moto(port: int, log_path: Path) -> Forked:
    """A moto server on `port`, forked from this process's motofork.py
    (started on first use; it ends when this process closes its input)."""
    global _motofork
    with _motofork_lock:
        if _motofork is None or _motofork.poll() is not None:
            _motofork = subprocess.Popen(
                [sys.executable, str(ROOT / "tests/e2e/motofork.py")], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True, start_new_session=True, cwd=ROOT)
            if _motofork.stdout.readline().strip() != "ready":
                raise RuntimeError("motofork.py did not start (see its errors above)")
        _motofork.stdin.write(f"{port} {log_path}\n")
        _motofork.stdin.flush()
        answer = _motofork.stdout.readline().strip()
    if not answer.isdigit():
        raise RuntimeError(f"motofork.py did not fork a moto server (answered {answer!r})")
    return Forked(int(answer))


@atexit.register
def _stop_motofork() -> None:
    # Waited for, so that its CPU time (and its servers') is counted in ours.
    if _motofork is not None and _motofork.poll() is None:
        _motofork.stdin.close()
        try:
            _motofork.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _motofork.kill()


@dataclass
class Settings:
    """The stack's parameters (and the emulator's pace). Everything the
    functions get comes from the stack made with them, not from here."""

    alias: str = "demo"
    table: str = "orders"
    prefix: str = "exports"
    window_minutes: int = 15
    poll_wait_seconds: int = 10
    max_catch_up_minutes: int = 1440
    view_type: str = "NEW_AND_OLD_IMAGES"
    export_seconds: int = 300
    lag: int = 300
    continue_original_chain: bool = False
    audit_schedule: str = ""  # empty: no audit resources
    audit_parts: int = 4

    def parameters(self) -> dict[str, str]:
        """The template's parameters for this run (the rest keep their defaults)."""
        return {
            "SourceDynamoDbTableName": self.table,
            "DeploymentAlias": self.alias,
            "SuccessNotificationEmail": "ops@example.com",
            "FailureNotificationEmail": "ops-alerts@example.com",
            "DataExportBucketPrefix": self.prefix,
            "IncrementalExportWindowSizeInMinutes": str(self.window_minutes),
            "WaitTimeToCheckExportStatusInSeconds": str(self.poll_wait_seconds),
            "ExportViewType": self.view_type,
            "MaxCatchUpWindowMinutes": str(self.max_catch_up_minutes),
            "ContinueOriginalChain": "true" if self.continue_original_chain else "false",
            "AuditSchedule": self.audit_schedule,
            "AuditParts": str(self.audit_parts),
        }

    def action_parameter(self) -> str:
        """The operator's control (the functions create it on their first run)."""
        return f"/incremental-export/{self.alias}/workflow-action"


@dataclass
class LocalAws:
    workdir: Path
    settings: Settings = field(default_factory=Settings)
    procs: dict[str, subprocess.Popen | Forked] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    stack: local_stack.Stack | None = None
    clients: dict[tuple[str, str], object] = field(default_factory=dict, repr=False)

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> "LocalAws":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def clock_file(self) -> Path:
        # The clock is rewritten on every simulated write: keep it in memory
        # (tmpfs) where there is one, as a file on disk costs a journal
        # commit per write.
        if not hasattr(self, "_clock_dir"):
            shm = Path("/dev/shm")
            base = shm if shm.is_dir() and os.access(shm, os.W_OK) else self.workdir
            self._clock_dir = Path(tempfile.mkdtemp(prefix="incx-clock-", dir=base))
        return self._clock_dir / "clock"

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def aws_env(self) -> dict[str, str]:
        """What every client (functions, verify, boto3) needs to reach local AWS."""
        return {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_SESSION_TOKEN": "test",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            # Every service through the emulator: it answers DynamoDB's export
            # operations and journals what it forwards to moto.
            "AWS_ENDPOINT_URL": self.url("emulator"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        logf = open(self.workdir / f"{name}.log", "ab")
        full_env = {**os.environ, **(env or {})}
        self.procs[name] = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
            env=full_env, start_new_session=True, cwd=ROOT,
        )

    def _wait_http(self, name: str, path: str = "/", timeout: float = 120.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.workdir / (name + '.log')}")
            try:
                urllib.request.urlopen(self.url(name) + path, timeout=2)
                return
            except urllib.error.HTTPError:
                return  # it answers: up
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer within {timeout:.0f} s")

    def start(self, start_time: float | None = None) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.set_clock(start_time or time.time())
        for name in ("moto", "emulator", "watch"):
            self.ports[name] = free_port()
        self.procs["moto"] = fork_moto(self.ports["moto"], self.workdir / "moto.log")
        self._wait_http("moto", "/moto-api/")
        self._spawn("emulator", [
            sys.executable, str(ROOT / "tests/emulator/export_emulator.py"),
            "--port", str(self.ports["emulator"]), "--moto", self.url("moto"),
            "--clock-file", str(self.clock_file), "--lag", str(self.settings.lag),
            "--export-seconds", str(self.settings.export_seconds), "--region", REGION,
        ])
        self._wait_http("emulator", "/_emulator/state")
        self.create_stack()
        self.start_functions()
        log(f"moto {self.url('moto')}, emulator {self.url('emulator')}, functions {self.url('watch')}")

    def create_stack(self) -> None:
        """The template's stack in moto, as `sam deploy` would make it; its
        definition, with the substitutions filled, for the runner."""
        self.stack = local_stack.create(self.url("moto"), self.settings.parameters())
        for note in self.stack.notes:
            log(f"stack: {note}")
        self.definition_file.write_text(json.dumps(self.stack.definition, indent=2))

    @property
    def definition_file(self) -> Path:
        return self.workdir / "definition.json"

    def start_functions(self) -> None:
        """(Re)starts `cargo lambda watch` with the stack's environment."""
        # The runner's kept-alive connections go to the old server: it
        # starts again on its next use.
        for name in ("runner", "watch"):
            self._stop_one(name)
        env_file = self.workdir / "functions.env"
        env = {**self.aws_env(), **self.stack.env_union(),
               "INCX_CLOCK_FILE": str(self.clock_file)}
        env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        self._spawn("watch", [
            "cargo", "lambda", "watch", "--ignore-changes", "-A", "127.0.0.1",
            # The virtual clock: a local-only feature no release build has.
            "--features", "incx-aws/local-clock",
            "-P", str(self.ports["watch"]), "--env-file", str(env_file),
        ], env={k: v for k, v in env.items() if k.startswith("AWS_")})
        self._wait_http("watch", "/", timeout=600)
        # The first invocation of each function compiles or loads it: do it now,
        # with an input each one rejects quickly, so runs are timed fairly.
        for fn in self.stack.functions:
            self.invoke_raw(fn, {"warmup": True}, timeout=600)

    def invoke_raw(self, fn: str, payload: dict, timeout: float = 60) -> tuple[int, dict]:
        req = urllib.request.Request(
            f"{self.url('watch')}/2015-03-31/functions/{fn}/invocations",
            data=json.dumps(payload).encode(), headers={"content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            body = e.read()
            try:
                return e.code, json.loads(body)
            except ValueError:
                return e.code, {"raw": body.decode(errors="replace")}

    def _stop_one(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        for name in list(self.procs)[::-1]:
            self._stop_one(name)
        if hasattr(self, "_clock_dir"):
            shutil.rmtree(self._clock_dir, ignore_errors=True)

    # -- clock ---------------------------------------------------------------

    def set_clock(self, t: float) -> None:
        tmp = self.clock_file.with_suffix(".tmp")
        tmp.write_text(f"{t}\n")
        tmp.replace(self.clock_file)

    def now(self) -> float:
        return float(self.clock_file.read_text())

    def advance_to(self, t: float) -> None:
        """Moves the clock forward (never back)."""
        if t > self.now():
            self.set_clock(t)

    # -- clients -------------------------------------------------------------

    def client(self, service: str):
        """A boto3 client of the local service, made once: the tests ask for
        one at every read, and making one costs more than most calls."""
        endpoint = self.url("emulator") if service == "dynamodb" else self.url("moto")
        key = (service, endpoint)
        if key not in self.clients:
            self.clients[key] = boto3.client(
                service, endpoint_url=endpoint, region_name=REGION,
                aws_access_key_id="test", aws_secret_access_key="test",
                config=BotoConfig(retries={"max_attempts": 2}, s3={"addressing_style": "path"}),
            )
        return self.clients[key]

    def emulator(self, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url("emulator") + path, data=data,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"{}")

"""Drives the workflow locally: provisions what the stack does not make
(the source table, queues reading the notifications), starts executions of
the stack's definition through the Node runner
(aws-local-stepfunctions calling the real functions), keeps a readable
timeline, and rebuilds the table from the exported chain with `incx verify`.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from localaws import ROOT, LocalAws, log

NODE_RUNNER = ROOT / "tests/runner/run.mjs"


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def runner_answer(proc: subprocess.Popen, log: Path, timeout: float, on_silence=lambda: None) -> dict:
    """The runner's next answer line. None within `timeout`: `on_silence`,
    then an error with the tail of the runner's log."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if not line:
        on_silence()
        raise RuntimeError(f"the runner did not answer within {timeout} s: {log.read_text()[-3000:]}")
    return json.loads(line)


def hhmm(t: float | None) -> str:
    return "-" if t is None else datetime.fromtimestamp(t, timezone.utc).strftime("%H:%M")


@dataclass
class Execution:
    """One execution's record, as the runner reports it."""

    id: str
    status: str
    error: str | None
    cause: str | None
    transitions: int
    path: list[str]
    tasks: list[dict]
    started_at: float

    def outputs(self, state: str) -> list[dict]:
        return [t["output"] for t in self.tasks if t["state"] == state and "output" in t]

    @property
    def decision(self) -> str:
        decided = self.outputs("Decide")
        return decided[0].get("outcome", "?") if decided else (self.tasks[0].get("error", "?") if self.tasks else "?")

    @property
    def exports(self) -> list[dict]:
        """Each export this execution saw through: started or resumed."""
        seen = {}
        for t in self.tasks:
            e = (t.get("output") or {}).get("export")
            if e and e.get("exportArn"):
                seen[e["exportArn"]] = e
        return list(seen.values())

    @property
    def final(self) -> str:
        """The last outcome that says how the run ended: recorded, lost race,
        deferred, handed over, or the decision."""
        for t in reversed(self.tasks):
            out = t.get("output") or {}
            if t["state"] in ("AdvanceState", "StartExport", "CheckStatus", "Decide") and out.get("outcome"):
                return out["outcome"]
        return self.status

    @property
    def drained(self) -> bool:
        """Whether this run started the next one at once (more was exportable)."""
        return any((o.get("nextRun") or None) is not None for o in self.outputs("NotifyAndEnd"))

    @property
    def polls(self) -> int:
        """How many times this run looked at an export."""
        return sum(1 for t in self.tasks if t["state"] == "CheckStatus")

    @property
    def lambda_invocations(self) -> int:
        return len(self.tasks)


@dataclass
class Driver:
    aws: LocalAws
    timeline: list[Execution] = field(default_factory=list)
    counter: int = 0
    lines: list[str] = field(default_factory=list)
    echo: bool = True
    seen_runs: set[str] = field(default_factory=set)

    # -- provisioning: what the stack does not make ------------------------------

    def provision(self, pitr_since: float | None = None) -> None:
        """The operator's table (a prerequisite of the stack), and a queue
        beside each of the stack's e-mail subscriptions, subscribed to its
        topic with the same filter policy, to read what it would mail. The
        rest (ledger, bucket, topic, subscriptions) is the stack's; the
        control parameter is made by the functions on their first run."""
        s, stack = self.aws.settings, self.aws.stack
        key = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
        attrs = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]
        self.aws.client("dynamodb").create_table(TableName=s.table, KeySchema=key, AttributeDefinitions=attrs,
                                                 BillingMode="PAY_PER_REQUEST")
        if pitr_since is not None:
            now = self.aws.now()
            self.aws.set_clock(pitr_since)
            self.set_pitr(True)
            self.aws.set_clock(now)
        sns, sqs = self.aws.client("sns"), self.aws.client("sqs")
        self.queues = {}
        for status, sub in sorted(stack.status_subscriptions().items()):
            url = sqs.create_queue(QueueName=f"{s.alias}-{status.lower()}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            sns.subscribe(TopicArn=sub["TopicArn"], Protocol="sqs", Endpoint=arn, Attributes={
                "FilterPolicyScope": sub["FilterPolicyScope"],
                "FilterPolicy": json.dumps(sub["FilterPolicy"]),
                "RawMessageDelivery": "false",
            })
            self.queues[status] = url

    def set_pitr(self, enabled: bool) -> None:
        self.aws.client("dynamodb").update_continuous_backups(
            TableName=self.aws.settings.table,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": enabled},
        )

    def set_action(self, value: str) -> None:
        self.aws.client("ssm").put_parameter(
            Name=self.aws.settings.action_parameter(), Value=value, Type="String", Overwrite=True)

    def action(self) -> str | None:
        try:
            return self.aws.client("ssm").get_parameter(Name=self.aws.settings.action_parameter())["Parameter"]["Value"]
        except self.aws.client("ssm").exceptions.ParameterNotFound:
            return None

    def mirrors(self) -> dict[str, str]:
        path = f"/incremental-export/{self.aws.settings.alias}/"
        out = self.aws.client("ssm").get_parameters_by_path(Path=path)["Parameters"]
        return {p["Name"][len(path):]: p["Value"] for p in out}

    def notifications(self, status: str) -> list[dict]:
        """Drains the queue subscribed with the original's filter for `status`."""
        sqs = self.aws.client("sqs")
        found = []
        while True:
            msgs = sqs.receive_message(QueueUrl=self.queues[status], MaxNumberOfMessages=10,
                                       MessageAttributeNames=["All"]).get("Messages", [])
            if not msgs:
                return found
            for m in msgs:
                envelope = json.loads(m["Body"])
                found.append({"message": json.loads(envelope["Message"]),
                              "attributes": envelope.get("MessageAttributes", {}),
                              "subject": envelope.get("Subject")})
                sqs.delete_message(QueueUrl=self.queues[status], ReceiptHandle=m["ReceiptHandle"])

    def ledger(self) -> tuple[dict, list[dict]]:
        """The head and the catalog, as plain JSON."""
        from boto3.dynamodb.types import TypeDeserializer
        des = TypeDeserializer()
        items = self.aws.client("dynamodb").query(
            TableName=self.aws.stack.ledger, KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": self.aws.settings.alias}}, ConsistentRead=True)["Items"]
        plain = [{k: des.deserialize(v) for k, v in i.items()} for i in items]
        head = next((i for i in plain if i["sk"] == "HEAD"), {})
        return head, [i for i in plain if i["sk"].startswith("EXPORT#")]

    # -- executions ------------------------------------------------------------

    def run(self, at: float | None = None, count: int = 1, kill_after: str | None = None,
            manual: bool = False, drains: bool = True, drain_until: float | None = None) -> list[Execution]:
        """Starts `count` executions at virtual time `at` (together: they
        overlap) and returns when all have ended, with the runs they started
        through Step Functions (a drain when more was exportable than one
        export covered), each run to its end the same way. `drain_until`:
        no drain starts after that virtual time (while exports take longer
        than a window, each drain's export ends with more exportable, and
        drains go on for as long: the next call runs those left)."""
        if at is not None:
            self.aws.advance_to(at)
        specs = []
        for _ in range(count):
            spec = {"id": self.next_id(), "input": {} if manual else {"time": iso(self.aws.now())}}
            if kill_after:
                spec["killAfter"] = kill_after
            specs.append(spec)
        results = self._execute(specs)
        while drains and (drain_until is None or self.aws.now() < drain_until):
            started = self.started_runs()
            if not started:
                break
            results += self._execute(started)
        return results

    def started_runs(self) -> list[dict]:
        """The executions the functions started through the Step Functions
        API (moto records them and runs nothing), not yet run here."""
        sfn = self.aws.client("stepfunctions")
        found = []
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=self.aws.stack.state_machine_arn):
            for e in page["executions"]:
                if e["executionArn"] in self.seen_runs:
                    continue
                self.seen_runs.add(e["executionArn"])
                described = sfn.describe_execution(executionArn=e["executionArn"])
                found.append({"id": e["executionArn"], "input": json.loads(described.get("input") or "{}")})
        return found

    def _request(self) -> dict:
        return {"functionsUrl": self.aws.url("watch"), "clockFile": str(self.aws.clock_file),
                "definition": str(self.aws.definition_file), "functions": self.aws.stack.function_by_arn()}

    def _node_env(self) -> dict:
        return {**os.environ, "NODE_PATH": str(Path(os.environ.get("INCX_CACHE", "")) / "node/node_modules")}

    def _runner(self) -> subprocess.Popen:
        """The stack's runner in serve mode, started on first use: Node and
        the engine load once for a test, not once per run. The stack stops
        it with its other processes (and when the functions restart)."""
        proc = self.aws.procs.get("runner")
        if proc is None or proc.poll() is not None:
            with open(self.aws.workdir / "runner.log", "ab") as errors:
                proc = subprocess.Popen(["node", str(NODE_RUNNER), "--serve"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=errors, text=True, cwd=ROOT,
                                        env=self._node_env(), start_new_session=True)
            self.aws.procs["runner"] = proc
        return proc

    def _execute(self, specs: list[dict], definition: Path | None = None, record: bool = True) -> list[Execution]:
        """Runs `specs` in the runner, on the stack's export definition or on
        `definition`; `record`: into the export workflow's timeline."""
        start = self.aws.now()
        request = {**self._request(), "executions": specs}
        if definition is not None:
            request["definition"] = str(definition)
        proc = self._runner()
        proc.stdin.write(json.dumps({"execute": request}) + "\n")
        proc.stdin.flush()
        answer = runner_answer(proc, self.aws.workdir / "runner.log", 900)
        if "error" in answer:
            raise RuntimeError(f"runner failed: {answer['error']}")
        answers = answer["executions"]
        if record:
            return [self._record(r, start) for r in answers]
        return [self._execution(r, start) for r in answers]

    @staticmethod
    def _execution(r: dict, start: float) -> Execution:
        return Execution(r["id"], r["status"], r.get("error"), r.get("cause"), r["transitions"],
                         r["path"], r["tasks"], r.get("startAt") or start)

    def _record(self, r: dict, start: float) -> Execution:
        ex = self._execution(r, start)
        self.timeline.append(ex)
        self._line(ex)
        return ex

    def run_audit(self) -> Execution:
        """One execution of the scheduled audit's state machine (the stack's
        AuditStateMachine, its definition as the stack holds it) in the
        runner, its Tasks calling the real audit function."""
        stack = self.aws.stack
        if not stack.audit_state_machine_arn:
            raise RuntimeError("the stack has no audit: make it with Settings(audit_schedule=...)")
        definition = self.aws.workdir / "audit-definition.json"
        definition.write_text(json.dumps(stack.audit_definition, indent=2))
        self.counter += 1
        execution = stack.audit_state_machine_arn.replace(":stateMachine:", ":execution:")
        # Not in the export workflow's timeline: the audit is not one of its runs.
        [ex] = self._execute([{"id": f"{execution}:{self.counter:05d}", "input": {}}],
                             definition=definition, record=False)
        return ex

    def next_id(self) -> str:
        self.counter += 1
        execution = self.aws.stack.state_machine_arn.replace(":stateMachine:", ":execution:")
        return f"{execution}:{self.counter:05d}"

    def scheduled(self) -> "Scheduled":
        """The runner in scheduled mode: executions start at their own
        virtual times and overlap as they would on AWS."""
        return Scheduled(self)

    def _line(self, ex: Execution) -> None:
        windows = []
        for e in ex.exports:
            kind = "full" if e["kind"] == "FULL_EXPORT" else "incr"
            span = f"@{hhmm(e['to'])}" if e["from"] is None else f"[{hhmm(e['from'])}-{hhmm(e['to'])})"
            windows.append(f"{kind}{span} {e['exportArn'].rsplit('/', 1)[1]}")
        line = (f"{iso(ex.started_at)}  #{ex.id.rsplit(':', 1)[1]}  {ex.decision:<17} "
                f"{'; '.join(windows) or '-':<52} {ex.final:<16} {ex.status:<9} {ex.transitions:>3} transitions")
        self.lines.append(line)
        if self.echo:
            print(line, flush=True)

    # -- verification ------------------------------------------------------------

    def verify(self, discover: bool = False, access_key: str | None = None) -> dict:
        """Rebuilds the table from the exported chain and compares it with a
        scan; `discover`: the chain from the bucket's listing, not the ledger;
        `access_key`: whose calls the emulator counts them as."""
        s = self.aws.settings
        exe = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug/incx"
        extra = ["--discover"] if discover else []
        proc = subprocess.run([str(exe), "verify", "--bucket", self.aws.stack.bucket, "--prefix", s.prefix, "--table", s.table, "--json", *extra],
                              capture_output=True, text=True, timeout=900,
                              env={**os.environ, **self.aws.aws_env(), **({"AWS_ACCESS_KEY_ID": access_key} if access_key else {})})
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"incx verify failed ({proc.returncode}): {proc.stderr[-3000:]}")
        report = json.loads(proc.stdout)
        report["exit_code"] = proc.returncode
        return report


class Scheduled:
    """Executions on the schedule's own times, overlapping (the runner's
    scheduled mode, tests/runner/run.mjs): `start(at)` adds a run that
    begins at virtual time `at`; `advance(t)` runs every step due by `t`
    across all runs, in virtual-time order, and returns the runs that
    ended. Runs the functions start through Step Functions (drains) are
    started at the time they are seen, a step later at most."""

    def __init__(self, driver: Driver):
        self.driver = driver
        self.errors = open(driver.aws.workdir / "runner.log", "ab")
        self.proc = subprocess.Popen(["node", str(NODE_RUNNER), "--serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.errors, text=True, cwd=ROOT,
                                     env=driver._node_env())
        self._send({"init": driver._request()})
        self._answer(60)
        self.pending = 0

    def __enter__(self) -> "Scheduled":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _send(self, command: dict) -> None:
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def _answer(self, timeout: float) -> dict:
        return runner_answer(self.proc, self.driver.aws.workdir / "runner.log", timeout, on_silence=self.close)

    def start(self, at: float, manual: bool = False, spec: dict | None = None) -> str:
        """A run that begins at virtual time `at`, with the schedule's input
        (or a manual run's `{}`)."""
        spec = spec or {"id": self.driver.next_id(), "input": {} if manual else {"time": iso(at)}}
        self._send({"start": {**spec, "startAt": at}})
        self.pending += 1
        return spec["id"]

    def advance(self, until: float, timeout: float = 900) -> list[Execution]:
        self._send({"advance": until})
        answer = self._answer(timeout)
        self.last = answer
        ended = [self.driver._record(r, r.get("startAt") or until) for r in answer["ended"]]
        self.pending -= len(ended)
        if ended:
            for spec in self.driver.started_runs():
                self.start(self.driver.aws.now(), spec=spec)
        return ended

    def finish(self, limit: float) -> list[Execution]:
        """Runs every run to its end (steps due by `limit`)."""
        ended = []
        while self.pending:
            got = self.advance(limit)
            ended += got
            if not got:
                raise RuntimeError(f"{self.pending} runs still going at the limit {iso(limit)}: "
                                   f"the runner's state: {self.last}")
        return ended

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self._send({"close": True})
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
        self.errors.close()

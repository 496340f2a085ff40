"""End-to-end scenarios: the real definition in aws-local-stepfunctions,
the real functions under cargo lambda watch, moto and the export emulator.
Each ends with the table rebuilt from the exported chain and compared."""
from __future__ import annotations

import json

from localaws import ROOT


def outcomes(executions, state="Decide"):
    return [o.get("outcome") for e in executions for o in e.outputs(state)]


def test_full_then_contiguous_incrementals_and_nothing_before_due(world):
    first = world.run(0)[0]
    assert first.status == "SUCCEEDED" and first.decision == "START_FULL", first.path
    full = world.catalog()
    assert [c["kind"] for c in full] == ["FULL_EXPORT"]
    world.write(world.t0 + 800)
    # The full export's time is t0+1 min; the first window ends at the first
    # boundary 15 minutes on (t0+30 min) and is exportable 5 minutes later:
    # the run at t0+21 min has nothing to do, in 3 transitions.
    early = world.run(1)[0]
    assert early.decision == "NOT_DUE" and early.transitions == 3, early.path
    assert len(world.catalog()) == 1
    for k in range(2, 6):
        world.write(world.t0 + k * 900)
        world.run(k)
    done = world.catalog()
    incr = [c for c in done if c["kind"] == "INCREMENTAL_EXPORT"]
    assert len(incr) == 4, incr
    # Contiguous from the full export's time, aligned after the first.
    assert incr[0]["from"] == full[0]["to"]
    for a, b in zip(incr, incr[1:]):
        assert b["from"] == a["to"]
        assert b["to"] % 900 == 0 and b["to"] - b["from"] == 900
    # A manual run a few minutes before the next window is exportable waits
    # for it in one Wait state, then exports it.
    soon = world.driver.run(at=incr[-1]["to"] + 900 + 300 - 120, manual=True)[0]
    assert soon.path[:3] == ["Decide", "Route", "WaitUntilDue"], soon.path
    assert soon.exports and soon.exports[0]["from"] == incr[-1]["to"]
    world.settle_and_verify(7)


def test_pause_then_resume_catches_up_in_one_coalesced_export(world):
    world.run(0)
    world.driver.set_action("PAUSE")
    for k in range(1, 6):
        world.write(world.t0 + k * 900)
        ex = world.run(k)[0]
        assert ex.decision == "PAUSED" and ex.transitions == 3
    assert [c["kind"] for c in world.catalog()] == ["FULL_EXPORT"]
    world.driver.set_action("RUN")
    resumed = world.run(6)[0]
    incr = [c for c in world.catalog() if c["kind"] == "INCREMENTAL_EXPORT"]
    assert len(incr) == 1, incr
    assert incr[0]["to"] - incr[0]["from"] > 4 * 900  # one export for the whole backlog
    assert resumed.status == "SUCCEEDED"
    world.settle_and_verify(7)


def test_resume_with_catch_up_equal_to_window_drains_the_backlog_in_runs_started_at_once(world_factory):
    world = world_factory(max_catch_up_minutes=15)
    world.run(0)
    world.driver.set_action("PAUSE")
    for k in range(1, 5):
        world.write(world.t0 + k * 900)
        world.run(k)
    world.driver.set_action("RUN")
    before = len(world.catalog())
    runs = world.run(5)
    new = world.catalog()[before:]
    assert len(new) >= 4, new
    assert all(c["to"] - c["from"] <= 1800 for c in new)
    # Each run exports one window and, while more is exportable, starts the
    # next through Step Functions (a named execution, so at most once).
    assert [len(r.exports) for r in runs[:len(new)]] == [1] * len(new), [r.path for r in runs]
    assert all(r.drained for r in runs[:len(new) - 1])
    assert all(":execution:" in r.id and "drain-c" in r.id for r in runs[1:len(new)])
    assert all(r.status == "SUCCEEDED" for r in runs)
    world.settle_and_verify(6)


def test_reset_makes_a_new_full_export_and_sets_the_control_back_to_run(world):
    world.run(0)
    world.write(world.t0 + 900)
    world.run(1)
    world.run(2)
    chain_before = world.head()["chain"]
    world.driver.set_action("RESET_WITH_FULL_EXPORT_AGAIN")
    world.write(world.t0 + 3 * 900)
    ex = world.run(3)[0]
    assert ex.decision == "START_FULL", ex.path
    head = world.head()
    assert head["chain"] == chain_before + 1
    assert world.driver.action() == "RUN"
    fulls = [c for c in world.catalog() if c["kind"] == "FULL_EXPORT"]
    assert len(fulls) == 2
    # The next run continues the new chain with an incremental export.
    world.write(world.t0 + 4 * 900)
    nxt = world.run(4)[0]
    assert nxt.decision in ("START_INCREMENTAL", "NOT_DUE")
    world.settle_and_verify(5)


def test_pitr_disabled_sends_failed_with_remedy_and_changes_nothing(world):
    world.run(0)
    world.write(world.t0 + 900)
    world.run(1)
    world.driver.notifications("SUCCESS")
    head = world.head()
    world.driver.set_pitr(False)
    ex = world.run(2)[0]
    assert ex.status == "FAILED" and ex.error == "NeedsOperator"
    failed = world.driver.notifications("FAILED")
    assert len(failed) == 1
    assert "PITR" in failed[0]["message"]["message"] and "remedy" in failed[0]["message"]
    after = world.head()
    assert after["watermark"] == head["watermark"] and after["version"] == head["version"]
    assert world.driver.notifications("SUCCESS") == []
    # Enabled again at once (before the next run): a gap, handled in its own test.
    world.aws.set_clock(world.aws.now())
    world.driver.set_pitr(True)
    world.driver.set_action("RESET_WITH_FULL_EXPORT_AGAIN")
    world.settle_and_verify(3)


def test_pitr_disabled_and_enabled_again_needs_a_reset_then_recovers(world):
    world.run(0)
    world.write(world.t0 + 900)
    world.run(1)
    world.driver.set_pitr(False)
    world.driver.set_pitr(True)  # history before now is gone
    world.write(world.t0 + 2 * 900)
    gap = world.run(2)[0]
    assert gap.status == "FAILED" and gap.decision == "NEEDS_OPERATOR"
    assert world.head()["state"] == "PITR_GAP"
    assert world.driver.mirrors()["workflow-state"] == "PITR_GAP"
    failed = world.driver.notifications("FAILED")
    assert failed and "RESET_WITH_FULL_EXPORT_AGAIN" in failed[-1]["message"]["remedy"]
    exports_before = len(world.catalog())
    again = world.run(3)[0]
    assert again.decision == "NEEDS_OPERATOR" and len(world.catalog()) == exports_before
    world.driver.set_action("RESET_WITH_FULL_EXPORT_AGAIN")
    world.write(world.t0 + 4 * 900)
    reset = world.run(4)[0]
    assert reset.decision == "START_FULL" and reset.status == "SUCCEEDED"
    assert world.head()["state"] == "NORMAL"
    assert world.driver.mirrors()["workflow-state"] == "NORMAL"
    world.settle_and_verify(5)


def test_failed_export_keeps_the_watermark_and_the_next_run_retries_the_same_window(world):
    world.start_chain()
    world.write(world.t0 + 3 * 900)
    world.aws.emulator("/_emulator/faults", {"fail_next_export": "S3NoSuchBucket"})
    before = world.head()["watermark"]
    failed_run = world.run(3)[0]
    assert "RECORDED_FAILURE" in outcomes([failed_run], "AdvanceState")
    assert world.head()["watermark"] == before
    failed = world.catalog("FAILED")
    assert len(failed) == 1 and failed[0]["failureCode"] == "S3NoSuchBucket"
    note = world.driver.notifications("FAILED")[-1]["message"]
    assert "S3NoSuchBucket" in note["message"] and note["attempt"] == 1
    world.write(world.t0 + 4 * 900)
    runs = world.run(4)
    first_window = runs[0].exports[0]
    assert (first_window["from"], first_window["to"]) == (failed[0]["from"], failed[0]["to"])
    assert first_window["attempt"] == 2
    # ... then the chain goes on in the run it started (the next window is due).
    assert [e["from"] for r in runs[1:2] for e in r.exports] == [failed[0]["to"]]
    assert world.head()["watermark"] > before
    world.settle_and_verify(5)


def test_execution_killed_after_start_export_is_resumed_not_restarted(world):
    world.start_chain()
    world.write(world.t0 + 3 * 900)
    killed = world.run(3, kill_after="StartExport")[0]
    assert killed.status == "KILLED"
    started = killed.outputs("StartExport")[0]["export"]
    head = world.head()
    assert head["inFlight"]["exportArn"] == started["exportArn"]
    resumed = world.run(4)[0]
    if resumed.decision == "WATCHED":
        # The dead run's lease (StartExport + first wait + 12 min) was still
        # running at the next slot: the slot after takes the export over.
        assert head["inFlight"]["watchUntil"] > world.slot(4), head
        resumed = world.run(5)[0]
    assert resumed.decision == "RESUME"
    assert [e["exportArn"] for e in resumed.exports][0] == started["exportArn"]
    windows = world.service_windows()
    assert len(windows) == len(set(windows)), windows  # one export per window
    world.settle_and_verify(6)


def test_two_overlapping_executions_make_exactly_one_export_per_window(world):
    world.start_chain()
    for k in range(3, 6):
        world.write(world.t0 + k * 900)
        pair = world.run(k, count=2)
        assert all(e.status == "SUCCEEDED" for e in pair), [(e.status, e.error, e.cause) for e in pair]
    done = world.catalog()
    spans = [(c.get("from"), c["to"]) for c in done]
    assert len(spans) == len(set(spans))
    windows = world.service_windows()
    assert len(windows) == len(done) == len(set(windows)), windows
    world.settle_and_verify(6)


def test_unknown_control_value_is_refused_by_name_and_changes_nothing(world):
    world.run(0)
    head = world.head()
    for bad in ("run", "STOP", " PAUSE", "x" * 300):
        world.driver.set_action(bad)
        ex = world.run(1)[0] if bad == "run" else world.driver.run(at=world.aws.now() + 60)[0]
        assert ex.status == "FAILED" and ex.decision == "NEEDS_OPERATOR"
        note = world.driver.notifications("FAILED")[-1]["message"]
        assert json.dumps(bad[:40])[1:-1] in note["message"], note["message"]
        assert "RUN, PAUSE or RESET_WITH_FULL_EXPORT_AGAIN" in note["remedy"]
        assert world.head()["version"] == head["version"]
        assert world.driver.action() == bad
    world.driver.set_action("RUN")
    world.settle_and_verify(3)


def test_notifications_carry_the_original_fields_and_the_status_attribute(world):
    world.start_chain()
    success = world.driver.notifications("SUCCESS")
    assert len(success) >= 2
    assert world.driver.notifications("FAILED") == []  # the FAILED filter lets none through
    for n in success:
        msg = n["message"]
        for field in ("message", "exportType", "status", "executionId", "incrementalBlocksBehind",
                      "startTime", "endTime", "exportStartTime", "exportEndTime",
                      "exportArn", "itemCount", "billedSizeBytes", "lagSeconds", "attempt"):
            assert field in msg, (field, msg)
        assert msg["status"] == "SUCCESS" and "remedy" not in msg
        assert n["attributes"]["status"]["Value"] == "SUCCESS"
    kinds = [n["message"]["exportType"] for n in success]
    assert kinds[0] == "FULL_EXPORT" and "INCREMENTAL_EXPORT" in kinds
    world.aws.emulator("/_emulator/faults", {"fail_next_export": "S3NoSuchBucket"})
    world.write(world.t0 + 3 * 900)
    world.run(3)
    failed = world.driver.notifications("FAILED")
    assert len(failed) == 1 and failed[0]["attributes"]["status"]["Value"] == "FAILED"
    assert failed[0]["message"]["status"] == "FAILED" and failed[0]["subject"] == "INCREMENTAL_EXPORT FAILED"
    assert world.driver.notifications("SUCCESS") == []
    world.settle_and_verify(4)


def test_the_real_engine_takes_the_paths_the_simulation_takes(world):
    """The chaos simulation interprets the same definition; here the real
    engine must enter the same states for the same events, so the two cannot
    drift (sim/tests/it/contracts.rs generates this file from the simulation)."""
    expected = json.loads((ROOT / "contracts/expected_paths.json").read_text())
    paths = {"first_run_full_export": world.run(0)[0].path}
    paths["nothing_to_do"] = world.run(1)[0].path
    world.write(world.t0 + 1800)
    world.run(2)
    world.write(world.t0 + 3 * 900)
    paths["one_window"] = world.run(3)[0].path
    world.aws.emulator("/_emulator/faults", {"fail_next_export": "S3NoSuchBucket"})
    paths["export_fails"] = world.run(4)[0].path
    world.driver.set_action("PAUSE")
    paths["paused"] = world.run(5)[0].path
    world.driver.set_action("RUN")
    world.driver.set_pitr(False)
    paths["pitr_disabled"] = world.run(6)[0].path
    for name, path in paths.items():
        assert path == expected[name], (name, path)
    assert set(paths) == set(expected) - {"_comment"}
    world.driver.set_pitr(True)
    world.driver.set_action("RESET_WITH_FULL_EXPORT_AGAIN")
    world.settle_and_verify(7)


def test_a_configuration_error_reaches_the_failure_address_and_changes_nothing(world_factory):
    """MaxCatchUpWindowMinutes below the window passes the template (it cannot
    compare two parameters) and is refused by the functions: the run's Catch
    hands the error to notify, which reads only what it needs, so the FAILED
    e-mail still goes out, naming the variable, its value and what is allowed."""
    world = world_factory(window_minutes=30, max_catch_up_minutes=15)
    ex = world.run(0)[0]
    assert ex.status == "FAILED", ex.path
    failed = world.driver.notifications("FAILED")
    assert len(failed) == 1, failed
    message = failed[0]["message"]
    assert message["status"] == "FAILED"
    assert "MAX_CATCH_UP_MINUTES" in message["message"] and "15" in message["message"], message
    assert failed[0]["attributes"]["status"]["Value"] == "FAILED"
    head, catalog = world.driver.ledger()
    assert head.get("watermark") is None and catalog == []
    assert world.service_windows() == []


def test_migration_continues_the_originals_chain_to_the_millisecond(world_factory):
    """The original's leftovers: its SSM times (with milliseconds, as it
    writes them) and its exports in its layout under the same prefix, made
    by the service (emulator) as the original asked for them. With
    ContinueOriginalChain the first run continues that chain with no full
    export, the first notification says so, and the chain rebuilt from the
    bucket (the original's exports and ours) equals the table."""
    from datetime import datetime, timezone

    world = world_factory(continue_original_chain=True)
    aws, s = world.aws, world.aws.settings
    ddb, ssm = aws.client("dynamodb"), aws.client("ssm")
    table_arn = ddb.describe_table(TableName=s.table)["Table"]["TableArn"]

    def at(t: float) -> datetime:
        return datetime.fromtimestamp(t, tz=timezone.utc)

    def export(**kw) -> None:
        arn = ddb.export_table_to_point_in_time(
            TableArn=table_arn, S3Bucket=aws.stack.bucket, S3Prefix=s.prefix,
            ExportFormat="DYNAMODB_JSON", **kw)["ExportDescription"]["ExportArn"]
        aws.advance_to(aws.now() + s.export_seconds + 60)
        assert ddb.describe_export(ExportArn=arn)["ExportDescription"]["ExportStatus"] == "COMPLETED"

    world.write(world.t0 + 30)
    full = world.t0 + 60.125  # the original's full export: the request time, to the millisecond
    aws.advance_to(full + s.lag + 1)
    export(ExportType="FULL_EXPORT", ExportTime=at(full))
    world.write(full + 300)
    last = full + 900
    aws.advance_to(last + s.lag + 1)
    export(ExportType="INCREMENTAL_EXPORT", IncrementalExportSpecification={
        "ExportFromTime": at(full), "ExportToTime": at(last), "ExportViewType": s.view_type})

    def iso(t: float) -> str:
        return at(t).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    base = f"/incremental-export/{s.alias}"
    for name, value in [("full-export-time", iso(full)), ("last-incremental-export-time", iso(last)),
                        ("workflow-state", "NORMAL"), ("workflow-action", "RUN")]:
        ssm.put_parameter(Name=f"{base}/{name}", Value=value, Type="String", Overwrite=True)

    world.write(last + 600)
    first = world.run(3)[0]
    assert first.decision == "START_INCREMENTAL", first.path
    intent = first.outputs("Decide")[0]["export"]
    assert intent["fromMs"] == round(last * 1000), intent
    windows = world.service_windows()
    assert [w[0] for w in windows].count("FULL_EXPORT") == 1, windows  # the original's only
    success = world.driver.notifications("SUCCESS")
    assert success and "original" in success[0]["message"]["message"], success
    report = world.settle_and_verify(4, discover=True)
    assert len(report["exports"]) >= 3, report  # the original's full and incremental, and ours


def test_an_export_invisible_for_15_minutes_is_watched_not_asked_for_again(world):
    """DescribeExport and ListExports are eventually consistent: an export the
    service does not show yet, for longer than the first wait, is watched
    until it shows, never taken as failed and never asked for again."""
    world.start_chain()
    world.aws.emulator("/_emulator/faults", {"hidden_seconds": 900})
    world.write(world.t0 + 3 * 900)
    # No drains while every export stays hidden for 15 minutes: each would
    # take longer than a window and start the next.
    ex = world.run(3, drains=False)[0]
    assert ex.outputs("StartExport") and ex.outputs("StartExport")[0]["outcome"] == "STARTED", ex.path
    world.aws.emulator("/_emulator/faults", {"hidden_seconds": 0})
    world.settle_and_verify(4)
    windows = world.service_windows()
    assert len(windows) == len(set(windows)), windows  # the hidden window exported once
    assert world.catalog("FAILED") == [], world.catalog("FAILED")
    assert world.driver.notifications("FAILED") == []


def test_invalid_export_time_inside_pitr_is_deferred_not_a_gap(world):
    """The service answers InvalidExportTime for a too-recent end or a skewed
    clock too: with the window's start inside the PITR window it is not a
    gap; the run defers and a later one exports the same window."""
    world.start_chain()
    world.aws.emulator("/_emulator/faults", {"invalid_export_time_next": 1})
    world.write(world.t0 + 3 * 900)
    ex = world.run(3)[0]
    assert ex.outputs("StartExport")[0]["outcome"] == "DEFERRED", ex.path
    head = world.head()
    assert head["state"] != "PITR_GAP" and head["mode"] == "INCREMENTAL", head
    assert world.driver.notifications("FAILED") == []
    world.settle_and_verify(4)
    assert head["chain"] == world.head()["chain"]  # no reset, no new full export


def test_a_reset_after_a_redeploy_recreated_the_control_at_version_1_is_done(world):
    """A redeploy can recreate the control (version 1) while the ledger keeps
    the version of the last reset it acknowledged: a new RESET at version 1
    must still make a full export, not be taken as the old one."""
    world.start_chain()
    world.driver.set_action("RESET_WITH_FULL_EXPORT_AGAIN")
    world.write(world.t0 + 3 * 900)
    assert world.run(3)[0].decision == "START_FULL"
    assert world.driver.action() == "RUN"
    chain = world.head()["chain"]
    ssm = world.aws.client("ssm")
    ssm.delete_parameter(Name=world.aws.settings.action_parameter())
    world.driver.set_action("RESET_WITH_FULL_EXPORT_AGAIN")
    assert ssm.get_parameter(Name=world.aws.settings.action_parameter())["Parameter"]["Version"] == 1
    world.write(world.t0 + 5 * 900)
    ex = world.run(5)[0]
    assert ex.decision == "START_FULL", ex.path
    assert world.head()["chain"] == chain + 1
    assert world.driver.action() == "RUN"
    world.settle_and_verify(6)


def emf_documents(world) -> list[dict]:
    """The embedded-metric-format lines the functions wrote to stdout."""
    docs = []
    for line in (world.aws.workdir / "watch.log").read_text(errors="replace").splitlines():
        start = line.find('{"')
        if start < 0 or '"_aws"' not in line:
            continue
        try:
            doc = json.loads(line[start:])
        except ValueError:
            continue
        if "_aws" in doc:
            docs.append(doc)
    return docs


def test_the_functions_metrics_match_the_ledger(world):
    """EMF lines in the functions' output: each completed export's items and
    billed bytes as the ledger recorded them, and the lag decide-mode reports
    is the virtual time of its run minus the ledger's watermark."""
    world.start_chain()
    world.write(world.t0 + 3 * 900)
    world.run(3)
    watermark = float(world.head()["watermark"])  # what the next run's Decide reads
    last = world.run(4)[0]
    docs = emf_documents(world)
    assert docs, "no EMF document in the functions' output"
    for d in docs:
        declared = [m["Name"] for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
        assert d["Alias"] == world.aws.settings.alias and all(n in d for n in declared), d
    seen = sorted((d["ExportItems"], d["ExportBilledBytes"]) for d in docs if "ExportItems" in d)
    recorded = sorted((float(c["itemCount"]), float(c["billedSizeBytes"])) for c in world.catalog())
    assert seen == recorded, (seen, recorded)
    assert sum(d.get("ExportsCompleted", 0) for d in docs) == len(recorded)
    decided_at = [t["at"] for t in last.tasks if t["state"] == "Decide"][-1]
    lag = [d["ChainLagSeconds"] for d in docs if "ChainLagSeconds" in d][-1]
    assert abs(lag - (decided_at - watermark)) <= 1, (lag, decided_at, watermark)


def test_audit_is_clean_on_a_table_written_after_the_chains_end(world):
    """`incx audit` asks the service for a full export at exactly the chain's
    end and compares item for item: writes after that end (which make
    `verify --table` differ on a table in use) do not count."""
    import os
    import subprocess
    import threading
    from pathlib import Path

    world.start_chain()
    world.write(world.t0 + 3 * 900)
    world.settle_and_verify(3)
    world.write(world.aws.now() + 600)  # the table moves on past the chain's end
    assert world.driver.verify()["item_differences"] > 0  # what verify --table sees now

    done = threading.Event()

    def tick() -> None:  # the export "takes" virtual time while audit waits
        while not done.wait(0.2):
            world.aws.advance_to(world.aws.now() + 30)

    threading.Thread(target=tick, daemon=True).start()
    s = world.aws.settings
    exe = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug/incx"

    def audit() -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(exe), "audit", "--bucket", world.aws.stack.bucket, "--prefix", s.prefix,
             "--table", s.table, "--yes", "--poll-seconds", "1", "--json"],
            capture_output=True, text=True, env={**os.environ, **world.aws.aws_env()}, timeout=600)

    try:
        proc = audit()
        assert proc.returncode == 0, proc.stderr[-3000:]
        report = json.loads(proc.stdout)
        assert report["item_differences"] == 0 and report["items_compared"] > 0, report
        fulls = [w for w in world.service_windows() if w[0] == "FULL_EXPORT"]
        assert len(fulls) == 2, fulls  # the chain's own and the audit's

        # An export that recorded a wrong image, with consistent checksums
        # (as a faulty writer would): the audit names the key.
        tampered = tamper_last_incremental(world)
        proc = audit()
    finally:
        done.set()
    assert proc.returncode == 1, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["checksum_errors"] == [] and report["item_differences"] == 1, report
    assert report["differences"]["different"]["first"] == [tampered], report["differences"]


def test_the_scheduled_audit_mails_a_clean_chain_then_the_tampered_key(world_factory):
    """The stack's scheduled audit (AuditSchedule set): its own state machine,
    run in the real engine with the real audit function, asks the service for
    a full export at exactly the chain's end, compares the chain with it in
    three key-hash parts while the table moves on, and mails the result on
    the workflow's topic: SUCCESS for the clean chain; after an export file
    is tampered with, FAILED naming that one key, and the execution fails."""
    from datetime import datetime

    world = world_factory(audit_schedule="cron(0 3 ? * SUN *)", audit_parts=3)
    stack = world.aws.stack
    assert stack.audit_schedule["ScheduleExpression"] == "cron(0 3 ? * SUN *)"
    assert stack.audit_schedule["Target"]["Arn"] == stack.audit_state_machine_arn
    world.start_chain()
    world.write(world.t0 + 3 * 900)
    chain = world.settle_and_verify(3)
    end = max(c["to"] for c in world.catalog())
    world.write(world.aws.now() + 600)  # the table moves on past the chain's end
    assert world.driver.verify()["item_differences"] > 0  # what verify --table sees now

    def audit_mails(status: str) -> list[dict]:
        """The audit's mails (the chain's own exports announce on the same topic)."""
        return [m for m in world.driver.notifications(status) if m["message"].get("exportType") == "AUDIT"]

    ex = world.driver.run_audit()
    assert ex.status == "SUCCEEDED", (ex.error, ex.cause, ex.tasks[-3:])
    assert [c["stage"] for c in ex.outputs("Compare")] == ["COMPARING", "COMPARING", "COMPARED"]
    [mail] = audit_mails("SUCCESS")
    assert mail["attributes"]["status"]["Value"] == "SUCCESS", mail["attributes"]
    m = mail["message"]
    assert m["exportType"] == "AUDIT" and m["status"] == "SUCCESS", m
    assert datetime.fromisoformat(m["chainEnd"].replace("Z", "+00:00")).timestamp() == end, m
    totals = m["totals"]
    assert totals["missing"] + totals["extra"] + totals["different"] == 0, totals
    # Every item of the chain, counted once over the three parts: the
    # reader's count of the whole chain, read independently by verify.
    assert totals["itemsInChain"] == totals["itemsInExport"] == chain["items"] > 0, (totals, chain["items"])
    assert m["costUsd"] >= 0 and m["parts"] == 3
    fulls = [w for w in world.service_windows() if w[0] == "FULL_EXPORT"]
    assert len(fulls) == 2, fulls  # the chain's own and the audit's
    assert world.driver.notifications("FAILED") == []

    tampered = tamper_last_incremental(world)
    ex = world.driver.run_audit()
    assert ex.status == "FAILED" and ex.error == "AuditFailed", (ex.error, ex.cause)
    assert audit_mails("SUCCESS") == []
    [mail] = audit_mails("FAILED")
    m = mail["message"]
    assert m["exportType"] == "AUDIT" and m["totals"]["different"] == 1, m
    assert m["totals"]["missing"] == m["totals"]["extra"] == 0, m
    assert [json.loads(k) for k in m["totals"]["firstDifferent"]] == [tampered], m
    assert len([w for w in world.service_windows() if w[0] == "FULL_EXPORT"]) == 2, "the same audit export, asked for again"


def tamper_last_incremental(world) -> dict:
    """Changes one item's new image in the chain's last incremental export
    and rewrites its data file's checksum and the manifest's (so only the
    content is wrong); returns the item's key."""
    import base64
    import gzip
    import hashlib

    s3, bucket = world.aws.client("s3"), world.aws.stack.bucket
    last = [c for c in world.catalog() if c["kind"] == "INCREMENTAL_EXPORT"][-1]
    folder = last["manifest"].rsplit("/", 1)[0]
    files = [json.loads(line) for line in
             s3.get_object(Bucket=bucket, Key=f"{folder}/manifest-files.json")["Body"].read().splitlines()]
    for entry in files:
        lines = gzip.decompress(s3.get_object(Bucket=bucket, Key=entry["dataFileS3Key"])["Body"].read()).splitlines()
        at = next((i for i, line in enumerate(lines) if json.loads(line).get("NewImage")), None)
        if at is None:
            continue
        record = json.loads(lines[at])
        record["NewImage"]["tampered"] = {"S": "by the test"}
        lines[at] = json.dumps(record).encode()
        body = gzip.compress(b"\n".join(lines) + b"\n")
        s3.put_object(Bucket=bucket, Key=entry["dataFileS3Key"], Body=body)
        entry["md5Checksum"] = base64.b64encode(hashlib.md5(body).digest()).decode()
        entry["etag"] = hashlib.md5(body).hexdigest()
        manifest = b"".join(json.dumps(e).encode() + b"\n" for e in files)
        s3.put_object(Bucket=bucket, Key=f"{folder}/manifest-files.json", Body=manifest)
        s3.put_object(Bucket=bucket, Key=f"{folder}/manifest-files.md5",
                      Body=base64.b64encode(hashlib.md5(manifest).digest()))
        return record["Keys"]
    raise AssertionError(f"no new image in {folder}")


def test_scheduled_runs_overlapping_a_long_export_watch_it_and_export_each_window_once(world):
    """Exports that take longer than a window (25 minutes at 15-minute
    windows), the runs started on the schedule's own times: the next run
    begins while the last one still polls, as on AWS, and leaves the
    export in flight to it; a run whose export ends with more exportable
    starts the next at once. No window is exported twice by the service,
    nothing fails, and the chain rebuilds the table."""
    world.start_chain()
    first = len(world.driver.timeline)
    world.aws.emulator("/_emulator/faults", {"export_seconds": 1500})
    with world.driver.scheduled() as runs:
        for k in range(3, 10):
            runs.advance(world.slot(k) - 60)
            world.write(world.slot(k) - 60)
            runs.start(world.slot(k))
        runs.advance(world.slot(11))
        # Exports back to 5 minutes: the drains catch up and stop.
        world.aws.emulator("/_emulator/faults", {"export_seconds": 300})
        runs.finish(world.slot(16))
    scheduled = world.driver.timeline[first:]
    assert len(scheduled) >= 7 and all(r.status == "SUCCEEDED" for r in scheduled), \
        [(r.id, r.status, r.error, r.path) for r in scheduled]

    def end(r):
        return max(t["at"] for t in r.tasks)

    overlapping = [(a.id, b.id) for a in scheduled for b in scheduled
                   if a.started_at < b.started_at < end(a)]
    assert overlapping, [(r.started_at, end(r), r.decision) for r in scheduled]
    # A run that begins while another watches the export in flight leaves
    # it to that one, in 3 transitions: no second poller, no second export.
    watched = [r for r in scheduled if r.decision == "WATCHED"]
    assert watched and all(r.transitions == 3 for r in watched), [(r.decision, r.transitions) for r in scheduled]
    windows = world.service_windows()
    assert len(windows) == len(set(windows)), windows
    assert world.catalog("FAILED") == []
    world.settle_and_verify(16)


def test_a_run_hours_into_the_virtual_day_sees_its_long_export_through_itself(world):
    """check-status hands an export over to the next run only when its own
    run is 5 hours old (`$$.Execution.StartTime`): a run started 6 hours
    into the virtual day is minutes old, so it watches its 25-minute export
    to the end, not handing it over at the first look."""
    world.start_chain()
    world.aws.emulator("/_emulator/faults", {"export_seconds": 1500})
    world.write(world.t0 + 24 * 900)
    ex = world.run(24, drains=False)[0]
    outcomes = [o.get("outcome") for o in ex.outputs("CheckStatus")]
    assert ex.exports and ex.final == "ADVANCED" and "HANDED_OVER" not in outcomes, (ex.path, outcomes)
    assert ex.polls >= 2, ex.path
    world.aws.emulator("/_emulator/faults", {"export_seconds": 300})
    world.settle_and_verify(25)

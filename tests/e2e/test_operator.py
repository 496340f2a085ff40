"""An operator's day with `incx` on the local stack: pause, see the lag grow
in `incx status`, resume, start a run with `incx run`, and read the chain
with `incx chain` and `incx verify`, with a full export made by hand under
the prefix. The same binary an operator runs, against the same local AWS
the functions use (and its virtual clock, as the functions read it)."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from localaws import ROOT
from workflow import iso

WINDOW = 900
OPERATOR = "operator"  # the access key the emulator counts incx's calls under
# What the emulator's call counts name, as IAM actions.
S3_ACTIONS = {"ListObjectsV2": "s3:ListBucket", "GetObject": "s3:GetObject", "HeadObject": "s3:GetObject"}
# Used with the caller's credentials by S3, not called: no call shows it.
IMPLIED = {"kms:Decrypt"}


def incx(world, *args: str, alias: bool = True) -> subprocess.CompletedProcess:
    """Runs `incx` with the local stack's endpoint and clock; never waits on
    a prompt (stdin is closed) and never hangs a test (a timeout)."""
    exe = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug/incx"
    argv = [str(exe), *args, *(["--alias", world.aws.settings.alias] if alias else [])]
    env = {**os.environ, **world.aws.aws_env(), "AWS_ACCESS_KEY_ID": OPERATOR,
           "INCX_CLOCK_FILE": str(world.aws.clock_file)}
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                          timeout=300)


def status(world) -> tuple[int, dict]:
    proc = incx(world, "status", "--json")
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    shown = json.loads(proc.stdout)
    # A `cargo test` or `cargo build` without the local-clock feature
    # relinks target/debug/incx without the clock; `make unit` and
    # `make local-build` build it with the clock.
    assert shown["now"] == iso(world.aws.now()), \
        f"incx reads {shown['now']}, the virtual clock is {iso(world.aws.now())}: build it with make local-build"
    return proc.returncode, shown


def stray_full_export(world) -> str:
    """A full export asked for by hand under the stack's prefix, as an
    operator might for a one-off copy; seen through to COMPLETED."""
    s = world.aws.settings
    ddb = world.aws.client("dynamodb")
    arn = ddb.describe_table(TableName=s.table)["Table"]["TableArn"]
    export = ddb.export_table_to_point_in_time(
        TableArn=arn, S3Bucket=world.aws.stack.bucket, S3Prefix=s.prefix, ExportFormat="DYNAMODB_JSON",
        ExportTime=world.aws.now() - s.lag - 60)["ExportDescription"]["ExportArn"]
    world.aws.advance_to(world.aws.now() + world.aws.settings.export_seconds + 60)
    assert ddb.describe_export(ExportArn=export)["ExportDescription"]["ExportStatus"] == "COMPLETED"
    return export


def test_pause_status_resume_run_and_read_the_chain_with_incx(world):
    world.start_chain()
    paused = incx(world, "pause", "--json")
    assert paused.returncode == 0, paused.stderr
    assert json.loads(paused.stdout)["value"] == "PAUSE"
    assert world.driver.action() == "PAUSE"

    lags = []
    for k in range(3, 7):
        world.write(world.t0 + k * WINDOW)
        ex = world.run(k)[0]
        assert ex.decision == "PAUSED" and ex.transitions == 3, ex.path
        code, shown = status(world)
        assert shown["control"] == "PAUSE" and shown["mode"] == "INCREMENTAL", shown
        assert shown["inFlight"] is None
        lags.append((shown["lagSeconds"], shown["lagWindows"], code))
    assert [s for s, _, _ in lags] == sorted(s for s, _, _ in lags) and lags[-1][0] > lags[0][0], lags
    assert lags[-1][1] >= 3 and lags[-1][2] == 1, lags  # three windows behind: attention, exit 1
    _, shown = status(world)
    assert any("behind" in a["problem"] for a in shown["attention"]), shown["attention"]
    assert shown["schedule"]["state"] == "ENABLED" and shown["schedule"]["nextRun"], shown.get("schedule")
    assert isinstance(shown["runs"], list) and "runsUnavailable" not in shown, shown  # Step Functions read
    text = incx(world, "status")
    assert text.returncode == 1, text.stderr
    assert "control    PAUSE" in text.stdout and "remedy: The workflow is paused" in text.stdout, text.stdout
    # The README's sample of `incx status` is this output.
    (ROOT / "target").mkdir(exist_ok=True)
    (ROOT / "target/status-sample.txt").write_text(text.stdout)

    before = len(world.catalog())
    resumed = incx(world, "resume", "--yes", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["value"] == "RUN"
    assert "window" in resumed.stderr, resumed.stderr  # says what the resume will export

    world.aws.advance_to(world.slot(7))
    started = incx(world, "run", "--json")
    assert started.returncode == 0, started.stderr
    arn = json.loads(started.stdout)["executionArn"]
    runs = world.driver._execute(world.driver.started_runs())
    assert [r.id for r in runs][:1] == [arn], [r.id for r in runs]
    new = world.catalog()[before:]
    assert len(new) == 1 and new[0]["kind"] == "INCREMENTAL_EXPORT", new  # one catch-up export
    assert new[0]["to"] - new[0]["from"] > 3 * WINDOW, new
    code, shown = status(world)
    assert shown["control"] == "RUN" and shown["lagWindows"] == 0 and shown["lagSeconds"] < 2 * WINDOW, shown
    assert code == 0 and shown["attention"] == [], shown

    stray = stray_full_export(world)
    chain = incx(world, "chain", "--json")
    assert chain.returncode == 0, chain.stderr
    listed = [json.loads(line) for line in chain.stdout.splitlines()]
    assert listed[0]["kind"] == "FULL" and all(e["status"] == "COMPLETED" for e in listed), listed
    assert stray not in [e["exportArn"] for e in listed]

    report = world.driver.verify(access_key=OPERATOR)
    applied = [e["id"] for e in report["exports"]]
    assert applied == [e["exportArn"].rsplit("/", 1)[1] for e in listed], (applied, listed)
    unknown = [u["id"] for u in report["unknown_exports"]]
    assert unknown == [stray.rsplit("/", 1)[1]], report["unknown_exports"]
    assert report["item_differences"] == 0 and report["exit_code"] == 0, report

    # Every call incx made is allowed by the documented operator policy,
    # and the policy allows nothing these commands did not need.
    calls = [c for c in world.aws.emulator("/_emulator/journal")["calls"] if c["AccessKeyId"] == OPERATOR]
    used = {S3_ACTIONS.get(c["Operation"], f"s3:{c['Operation']}") if c["Service"] == "s3"
            else f"{c['Service']}:{c['Operation']}" for c in calls}
    policy = json.loads((ROOT / "docs/operator-policy.json").read_text())
    allowed = {a for st in policy["Statement"] for a in st["Action"]}
    assert used == allowed - IMPLIED, (sorted(used - allowed), sorted(allowed - IMPLIED - used))

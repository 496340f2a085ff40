#!/usr/bin/env python3
"""`make demo`: one simulated day of the product, locally.

The real definition runs in a real ASL engine, calling the real function
binaries, against moto and the export emulator, on a virtual clock. A
realistic load is written all day; executions fire at the schedule's times;
there is a pause and a resume, an injected export failure, and a PITR
disable/enable followed by the operator's reset. At the end the table is
rebuilt from the exported chain and compared with a scan.

Writes target/demo/summary.json; exits 1 when the verification fails.
"""
from __future__ import annotations

import json
import os
import signal
import statistics
from collections import Counter
from decimal import Decimal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from localaws import ROOT, LocalAws, Settings, log  # noqa: E402
from loadgen import Load  # noqa: E402
from workflow import Driver, iso  # noqa: E402
from daychart import svg  # noqa: E402

HOURS = 24
WINDOW = 15 * 60
SLOT_OFFSET = 6 * 60  # the schedule runs 6 minutes after each window boundary
WRITES_PER_DAY = 10_000
# Export durations: AWS publishes none, so this is an assumption in the
# shape the issue of realistic exports asks for (minutes, with a long tail):
# log-normal around 7 minutes, 4 % taking 20 to 45 minutes, full exports
# twice as long. Override with INCX_DEMO_DURATIONS (the emulator's spec) to
# replay measured figures.
DURATIONS = "lognormal:median=420,sigma=0.45,tail=0.04,tail_min=1200,tail_max=2700,seed=7"


def start_delays(driver: Driver, lag: int, blocked: list[tuple[float, float]]) -> list[float]:
    """Seconds from each window becoming exportable to its first export
    starting. A window held back (by the operator's pause, by a PITR outage
    until the reset, or behind a failed window until its retry completed)
    becomes exportable when the hold ends."""
    first_start: dict[tuple, float] = {}
    for ex in driver.timeline:
        for t in ex.tasks:
            out = t.get("output") or {}
            if t["state"] == "StartExport" and out.get("outcome") == "STARTED":
                e = out["export"]
                if e["kind"] == "INCREMENTAL_EXPORT":
                    first_start.setdefault((e["from"], e["to"]), t["at"])
    delays = []
    for (_, to), started in first_start.items():
        exportable = to + lag
        for a, b in blocked:
            if a <= exportable <= b:
                exportable = b
        delays.append(started - exportable)
    return delays


def main() -> int:
    wall = time.time()
    out_dir = ROOT / "target/demo"
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    # The virtual day starts at the next window boundary after now, so the
    # virtual clock never falls behind the real one that moto stamps SSM with.
    t0 = (int(time.time()) // WINDOW + 1) * WINDOW
    end = t0 + HOURS * 3600
    aws = LocalAws(out_dir / "work", settings)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        log("starting moto, the export emulator and cargo lambda watch")
        aws.start(t0 - 3600)
        driver = Driver(aws)
        driver.provision(pitr_since=t0 - 3600)
        durations = os.environ.get("INCX_DEMO_DURATIONS", DURATIONS)
        aws.emulator("/_emulator/faults", {"export_durations": durations})
        load = Load(aws, keys=1200)
        log(f"seeding {load.keys} items")
        load.seed_items(t0 - 3000, t0 - 600)
        per_slot = WRITES_PER_DAY // (HOURS * 4)
        events = {
            24: ("PAUSE", "operator pauses the workflow"),
            32: ("RUN", "operator resumes: the backlog is caught up"),
            44: ("FAIL", "an export will end FAILED (S3NoSuchBucket)"),
            64: ("PITR_OFF", "PITR disabled on the table"),
            65: ("PITR_ON", "PITR enabled again: history has a gap"),
            68: ("RESET", "operator sets RESET_WITH_FULL_EXPORT_AGAIN"),
        }
        marks: dict[str, float] = {}
        print(f"{'virtual time':<20}  {'run':<6}  {'decision':<17} {'exports':<52} {'outcome':<16} {'status':<9} transitions")
        # The runs start on the schedule's times and overlap as on AWS (a
        # run still polling its export when the next one starts); before each
        # write, the runs' steps due by its time run first, so writes and
        # steps keep virtual-time order.
        prev = t0 - 600
        with driver.scheduled() as runs:

            def write_until(until: float, n: int) -> float:
                if prev < end and n:
                    return load.write_between(prev, min(until, end), n, before=runs.advance)
                return prev

            for k in range(HOURS * 4 + 1):
                slot = t0 + k * WINDOW + SLOT_OFFSET
                if k in events:
                    what, why = events[k]
                    prev = max(write_until(slot - 60, per_slot - per_slot // 15), slot - 60)
                    runs.advance(slot - 60)
                    aws.advance_to(slot - 60)
                    print(f"{iso(aws.now())}  -- {why}")
                    marks[what] = aws.now()
                    if what in ("PAUSE", "RUN", "RESET"):
                        driver.set_action("RESET_WITH_FULL_EXPORT_AGAIN" if what == "RESET" else what)
                    elif what == "FAIL":
                        aws.emulator("/_emulator/faults", {"fail_next_export": "S3NoSuchBucket"})
                    elif what == "PITR_OFF":
                        driver.set_pitr(False)
                    elif what == "PITR_ON":
                        driver.set_pitr(True)
                    prev = max(write_until(slot, per_slot // 15), slot)
                else:
                    prev = max(write_until(slot, per_slot), slot)
                runs.advance(slot)
                runs.start(slot)
            runs.finish(end + 6 * 3600)
        log("rebuilding the table from the exported chain and comparing it with a scan")
        report = driver.verify()
        _, catalog = driver.ledger()
        # DynamoDB numbers come back as Decimal: plain floats for the arithmetic below.
        catalog = [{k: float(v) if isinstance(v, Decimal) else v for k, v in c.items()} for c in catalog]
        blocked = [(marks["PAUSE"], marks["RUN"]), (marks["PITR_OFF"], marks["RESET"])]
        for f in (c for c in catalog if c["status"] == "FAILED"):
            retried = [c["recordedAt"] for c in catalog
                       if c["status"] == "COMPLETED" and (c.get("from"), c["to"]) == (f.get("from"), f["to"])]
            blocked.append((f["startedAt"], max(retried, default=f["recordedAt"])))
        success = driver.notifications("SUCCESS")
        failed = driver.notifications("FAILED")
        delays = start_delays(driver, settings.lag, blocked)
        transitions = sum(e.transitions for e in driver.timeline)
        checks = sum(1 for e in driver.timeline for t in e.tasks if t["state"] == "CheckStatus")
        finished = [c for c in catalog if c.get("endTime") and c.get("recordedAt")]
        # From the service finishing an export to the poll that saw it.
        seen = [c["recordedAt"] - c["endTime"] for c in finished]
        export_minutes = [(c["endTime"] - c["startTime"]) / 60 for c in finished if c.get("startTime")]
        # The original sample, per the same day: a run every window/3 (288),
        # about 20 + 18*T transitions per export of T minutes, 12 per idle run.
        # T: the mean export duration of this day, in minutes (the cost is linear in it).
        exports_per_day = HOURS * 4
        mean_t = statistics.mean(export_minutes) if export_minutes else settings.export_seconds / 60
        original = round(exports_per_day * (20 + 18 * mean_t) + (HOURS * 12 - exports_per_day) * 12)
        # Contention: runs that began while an earlier one was still going
        # (polling a long export), and what each run decided.
        spans_of_runs = [(e.started_at, max((t["at"] for t in e.tasks), default=e.started_at)) for e in driver.timeline]
        overlapping = sum(1 for a0, _ in spans_of_runs if any(b0 < a0 < b1 for b0, b1 in spans_of_runs))
        summary = {
            "executions": len(driver.timeline),
            "runs_started_while_another_ran": overlapping,
            "decisions": dict(sorted(Counter(e.decision for e in driver.timeline).items())),
            "state_transitions": transitions,
            "state_transitions_usd": round(transitions * 0.025 / 1000, 4),
            "original_sample_transitions_estimate": original,
            "original_sample_usd_estimate": round(original * 0.025 / 1000, 4),
            "lambda_invocations": sum(e.lambda_invocations for e in driver.timeline),
            "full_exports": sum(1 for c in catalog if c["kind"] == "FULL_EXPORT" and c["status"] == "COMPLETED"),
            "incremental_exports": sum(1 for c in catalog if c["kind"] == "INCREMENTAL_EXPORT" and c["status"] == "COMPLETED"),
            "failed_exports": sum(1 for c in catalog if c["status"] == "FAILED"),
            "notifications_success": len(success),
            "notifications_failed": len(failed),
            "windows": report["windows"],
            "gaps": len(report["gaps"]),
            "overlaps": len(report["overlaps"]),
            "items_compared": report["items_compared"],
            "item_differences": report["item_differences"],
            "checksum_errors": len(report["checksum_errors"]),
            "simulated_hours": HOURS,
            "wall_seconds": round(time.time() - wall, 1),
            "max_start_delay_seconds": round(max(delays), 1) if delays else None,
            "export_durations": durations,
            "export_minutes_median": round(statistics.median(export_minutes), 1) if export_minutes else None,
            "export_minutes_max": round(max(export_minutes), 1) if export_minutes else None,
            "polls_per_export": round(checks / len(finished), 2) if finished else None,
            "done_to_seen_seconds_median": round(statistics.median(seen), 1) if seen else None,
            "done_to_seen_seconds_max": round(max(seen), 1) if seen else None,
            "writes": load.writes,
            "keys": load.keys,
            "failed_notification_reasons": sorted({n["message"]["message"].split("\n")[0][:90] for n in failed}),
        }
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        (out_dir / "timeline.txt").write_text("\n".join(driver.lines) + "\n")
        # Every run's steps with their virtual times, and the ledger's
        # catalog: what the figures above are computed from.
        (out_dir / "runs.json").write_text(json.dumps({
            "runs": [{"id": e.id, "started_at": e.started_at, "decision": e.decision, "status": e.status,
                      "transitions": e.transitions, "tasks": e.tasks} for e in driver.timeline],
            "catalog": catalog}, default=str) + "\n")
        spans = [("paused", marks["PAUSE"], marks["RUN"], "#f2c200"),
                 ("PITR gap until the reset", marks["PITR_OFF"], marks["RESET"], "#d33")]
        spans += [("failed export", f["startedAt"], f["recordedAt"], "#f80") for f in catalog if f["status"] == "FAILED"]
        picture = out_dir / "day.svg"
        picture.write_text(svg(catalog, t0, end, spans, f"One simulated day: chain lag, {len(finished)} exports, "
                                                           f"{transitions} state transitions"))
        ok = report["exit_code"] == 0 and summary["gaps"] == 0 and summary["overlaps"] == 0 and summary["item_differences"] == 0
        print()
        print(json.dumps({k: v for k, v in summary.items() if k != "windows"}, indent=2))
        print(f"\nchain: {len(summary['windows'])} exports, {summary['gaps']} gaps, {summary['overlaps']} overlaps, "
              f"{summary['items_compared']} items compared, {summary['item_differences']} differences -> "
              f"{'VERIFIED' if ok else 'VERIFICATION FAILED'}")
        print(f"summary: {out_dir / 'summary.json'}")
        print(f"picture of the day: {picture}")
        return 0 if ok else 1
    except KeyboardInterrupt:
        log("interrupted: stopping everything")
        return 130
    finally:
        aws.stop()


if __name__ == "__main__":
    sys.exit(main())

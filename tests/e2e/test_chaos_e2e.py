"""Chaos end to end: two simulated days at 15-minute windows on the real
engine and the real functions, with faults injected at random by the export
emulator (failed, throttled, slow and slow-to-show exports) and by killing
and overlapping executions. The chain must end with 0 gaps, 0 overlaps and
0 differences from the table."""
from __future__ import annotations

import json
import random
from collections import Counter

from localaws import ROOT

DAYS = 2
KILL_POINTS = ["StartExport", "CheckStatus", "AdvanceState", "Decide"]


def test_two_days_of_random_faults_leave_no_gap_no_overlap_no_difference(world):
    rng = random.Random(20261125)
    faults: Counter = Counter()
    world.run(0)
    slots = DAYS * 96
    for k in range(1, slots + 1):
        world.write(world.t0 + k * 900, n=6)
        roll = rng.random()
        kw = {}
        if roll < 0.08:
            world.aws.emulator("/_emulator/faults", {"fail_next_export": rng.choice(["S3NoSuchBucket", "S3AccessDenied", "UNKNOWN"])})
            faults["failed_export"] += 1
        elif roll < 0.16:
            world.aws.emulator("/_emulator/faults", {"throttle_next": rng.randint(1, 3)})
            faults["throttle"] += 1
        elif roll < 0.22:
            world.aws.emulator("/_emulator/faults", {"export_seconds": rng.choice([60, 600, 1200, 1800])})
            faults["slow_export"] += 1
        elif roll < 0.25:
            world.aws.emulator("/_emulator/faults", {"hidden_seconds": rng.choice([30, 200])})
            faults["hidden_export"] += 1
        elif roll < 0.35:
            kw["kill_after"] = rng.choice(KILL_POINTS)
            faults["killed_execution"] += 1
        elif roll < 0.40:
            kw["count"] = 2
            faults["overlapping_executions"] += 1
        # Slow exports outlast a window, so drains would go on until the
        # fault is lifted: the next slot's schedule takes over instead.
        world.run(k, drain_until=world.slot(k + 1), **kw)
        if rng.random() < 0.3:
            world.aws.emulator("/_emulator/reset", {})
    world.aws.emulator("/_emulator/reset", {})
    report = world.settle_and_verify(slots + 1)
    _, catalog = world.driver.ledger()
    summary = {
        "simulated_days": DAYS,
        "executions": len(world.driver.timeline),
        "faults": dict(faults),
        "exports_completed": sum(1 for c in catalog if c["status"] == "COMPLETED"),
        "exports_failed": sum(1 for c in catalog if c["status"] == "FAILED"),
        "windows": len(report["windows"]),
        "gaps": len(report["gaps"]),
        "overlaps": len(report["overlaps"]),
        "items_compared": report["items_compared"],
        "item_differences": report["item_differences"],
    }
    out = ROOT / "target/chaos"
    out.mkdir(parents=True, exist_ok=True)
    (out / "e2e-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("chaos e2e:", json.dumps(summary))
    assert sum(faults.values()) > 40
    # At most one export per window and attempt: the service made exactly as
    # many exports of each window as the ledger recorded attempts of it.
    made = Counter((w[1], w[2]) for w in world.service_windows() if w[0] == "INCREMENTAL_EXPORT")
    recorded = Counter((c.get("from"), c["to"]) for c in catalog if c["kind"] == "INCREMENTAL_EXPORT")
    assert made == recorded, {k: (made[k], recorded[k]) for k in made | recorded if made[k] != recorded[k]}

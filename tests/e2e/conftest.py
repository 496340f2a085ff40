"""Fixtures of the end-to-end tests: a fresh local AWS (moto, the export
emulator, the real functions under `cargo lambda watch`) per test, and the
closing check every test ends with: the table rebuilt from the exported
chain equals a scan of the table."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from localaws import LocalAws, Settings  # noqa: E402
from loadgen import Load  # noqa: E402
from workflow import Driver  # noqa: E402

WINDOW = 900
SLOT = 360  # the schedule's offset after each boundary


class World:
    """A test's local stack, its driver and a small load."""

    def __init__(self, aws: LocalAws):
        self.aws = aws
        self.driver = Driver(aws, echo=False)
        # Never behind real time: moto stamps SSM parameters with it.
        self.t0 = (int(time.time()) // WINDOW + 1) * WINDOW
        aws.set_clock(self.t0 - 3600)
        self.driver.provision(pitr_since=self.t0 - 3600)
        self.load = Load(aws, keys=40, seed=11)
        self.load.seed_items(self.t0 - 3000, self.t0 - 600)
        self.last_write = self.t0 - 600

    def start_chain(self) -> None:
        """The full export (slot 0) and the first incremental window, which
        after a full export at t0+1 min runs to t0+30 min (slot 2); from
        then on each slot exports one window."""
        self.run(0)
        self.write(self.t0 + 1800)
        self.run(2)

    def slot(self, k: int) -> float:
        return self.t0 + k * WINDOW + SLOT

    def write(self, until: float, n: int = 20) -> None:
        """Writes up to `until`, or just after the clock if a run already
        moved it past that."""
        self.last_write = self.load.write_between(max(self.aws.now(), self.last_write), until, n)

    def run(self, k: int, **kw):
        return self.driver.run(at=self.slot(k), **kw)

    def service_windows(self) -> list[tuple]:
        """(type, from, to) of every export the service (emulator) made."""
        out = []
        for d in self.aws.emulator("/_emulator/state")["exports"]:
            spec = d.get("IncrementalExportSpecification") or {}
            out.append((d["ExportType"], spec.get("ExportFromTime"), spec.get("ExportToTime", d.get("ExportTime"))))
        return out

    def head(self) -> dict:
        return self.driver.ledger()[0]

    def catalog(self, status: str = "COMPLETED") -> list[dict]:
        return [c for c in self.driver.ledger()[1] if c["status"] == status]

    def settle_and_verify(self, k: int, discover: bool = False) -> dict:
        """Runs the schedule on from slot k until the chain covers the last
        write, then rebuilds the table from the chain and compares."""
        for j in range(k, k + 12):
            head = self.head()
            if head.get("watermark") is not None and head["watermark"] >= self.last_write and not head.get("inFlight"):
                break
            self.run(j)
        report = self.driver.verify(discover=discover)
        assert report["gaps"] == [] and report["overlaps"] == [], report
        assert report["checksum_errors"] == [] and report["data_errors"] == [], report
        assert report["item_differences"] == 0, report["differences"]
        assert report["items_compared"] > 0
        assert report["exit_code"] == 0
        return report


def make_world(tmp_path: Path, **settings) -> World:
    aws = LocalAws(tmp_path / "aws", Settings(**settings))
    aws.start()
    try:
        return World(aws)
    except BaseException:
        aws.stop()
        raise


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    yield w
    w.aws.stop()


@pytest.fixture
def world_factory(tmp_path):
    made = []

    def make(**settings) -> World:
        w = make_world(tmp_path / str(len(made)), **settings)
        made.append(w)
        return w

    yield make
    for w in made:
        w.aws.stop()

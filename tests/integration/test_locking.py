"""Another process holding the warehouse: commands say so and name the fix, never hang."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from costline.core.errors import DatabaseLockedError
from costline.workspace import Workspace
from tests.focus_files import focus_row, write_focus_csv

HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("ready", flush=True)
time.sleep(30)
"""


def test_locked_warehouse_is_a_clear_error(workspace: Workspace, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(workspace.database_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        export = write_focus_csv(tmp_path / "sep.csv", [focus_row()])
        started = time.perf_counter()
        with pytest.raises(DatabaseLockedError) as info:
            workspace.ingest([export])
        assert time.perf_counter() - started < 10, "must fail fast, not wait"
        assert f"process {holder.pid}" in str(info.value)
        assert "costline serve" in str(info.value.hint)
        with pytest.raises(DatabaseLockedError):
            workspace.costs(["provider"])
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert [o.status for o in workspace.ingest([tmp_path / "sep.csv"]).outcomes] == ["loaded"]


SERVE_HOLDER = """
import sys, time
from pathlib import Path
from costline.workspace import Workspace
ws = Workspace.open(Path(sys.argv[1]))
with ws.serving():
    print("ready", flush=True)
    time.sleep(30)
"""


def test_serving_reads_while_a_load_writes_with_no_errors(
    workspace: Workspace, tmp_path: Path
) -> None:
    """One process owns the file (`costline serve`): readers in threads keep querying while a
    writer loads and replaces a month, and every read sees a whole month, before or after."""
    import threading

    days = [f"2026-09-{d:02d}T00:00:00Z" for d in range(1, 29)]
    first = [focus_row(ChargePeriodStart=d, BilledCost="1.00", EffectiveCost="1.00") for d in days]
    again = [focus_row(ChargePeriodStart=d, BilledCost="3.00", EffectiveCost="3.00") for d in days]
    workspace.ingest([write_focus_csv(tmp_path / "v1.csv", first)])
    errors: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                total = workspace.query("SELECT sum(EffectiveCost) FROM cost").rows[0][0]
                seen.add(f"{total:.2f}")
            except BaseException as exc:  # any error at all fails the test
                errors.append(exc)
                return

    with workspace.serving():
        readers = [threading.Thread(target=read) for _ in range(4)]
        for t in readers:
            t.start()
        try:
            for n in range(3):
                rows = again if n % 2 == 0 else first
                report = workspace.ingest([write_focus_csv(tmp_path / f"w{n}.csv", rows)])
                assert not report.failed, [o.message for o in report.failed]
        finally:
            stop.set()
            for t in readers:
                t.join()
    assert errors == []
    assert seen <= {"28.00", "84.00"} and seen  # whole months only, never a mix
    # while served, another process cannot open the file: a clear error naming serve
    holder = subprocess.Popen(
        [sys.executable, "-c", SERVE_HOLDER, str(workspace.root)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(DatabaseLockedError) as info:
            workspace.costs(["provider"])
        assert "costline serve" in str(info.value.hint)
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()

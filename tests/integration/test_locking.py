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

"""A SIGKILL at any point of an ingest leaves the store consistent, with the last good version.

Each round restates the same partition with a new export and kills the ingest subprocess after
a random delay spread over the whole run (hashing, landing copy, insert, validation, commit).
After every kill the store must open, and the partition must hold exactly one complete version:
the previous one or the new one, never a mix.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from costline.workspace import Workspace

ROWS = 150_000


def _export(path: Path, cost: str) -> Path:
    """A FOCUS CSV with ROWS rows of the same partition; every row costs ``cost``."""
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT '111' AS BillingAccountId, 'acme' AS BillingAccountName,
                '2024-09-01T00:00:00Z' AS BillingPeriodStart, '2024-10-01T00:00:00Z' AS BillingPeriodEnd,
                strftime(TIMESTAMP '2024-09-01' + INTERVAL (i % 720) HOUR, '%Y-%m-%dT%H:%M:%SZ') AS ChargePeriodStart,
                strftime(TIMESTAMP '2024-09-01' + INTERVAL (i % 720 + 1) HOUR, '%Y-%m-%dT%H:%M:%SZ') AS ChargePeriodEnd,
                '{cost}' AS BilledCost, '{cost}' AS EffectiveCost, '{cost}' AS ListCost, '{cost}' AS ContractedCost,
                'USD' AS BillingCurrency, 'AWS' AS ProviderName, 'AWS' AS PublisherName, 'AWS' AS InvoiceIssuerName,
                'Usage' AS ChargeCategory, 'Amazon EC2' AS ServiceName, 'Compute' AS ServiceCategory,
                '{{"team": "t' || (i % 40) || '"}}' AS Tags
            FROM range({ROWS}) t(i)) TO '{path}' (FORMAT csv, HEADER true)"""
    )
    con.close()
    return path


def _ingest_cmd(ws: Workspace, export: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "costline.cli.main",
        "--workspace",
        str(ws.root),
        "ingest",
        str(export),
        "--format",
        "json",
    ]


def _state(ws: Workspace) -> tuple[int, Decimal | None, list[str], list[tuple[str, int]]]:
    with ws.warehouse() as wh:  # opening read-write replays or rolls back the WAL
        count, total = wh.query("select count(*), sum(BilledCost) from cost").rows[0]
        ids = [r[0] for r in wh.query("select distinct x_IngestionId from cost").rows]
        parts = [
            (r[0], int(r[1])) for r in wh.query("select ingestion_id, rows from _partitions").rows
        ]
    return int(count), total, ids, parts


@pytest.mark.slow
def test_sigkill_at_random_points_keeps_last_good_version(
    workspace: Workspace, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = _export(tmp_path / "v0.csv", "1.00")
    started = time.perf_counter()
    subprocess.run(_ingest_cmd(workspace, first), check=True, env=env, capture_output=True)
    duration = time.perf_counter() - started
    good_total = Decimal("1.00") * ROWS
    rng = random.Random(20261128)
    outcomes = {"killed-before-commit": 0, "committed": 0}
    for round_no in range(1, 11):
        cost = f"{round_no + 1}.00"
        export = _export(tmp_path / f"v{round_no}.csv", cost)
        proc = subprocess.Popen(
            _ingest_cmd(workspace, export),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.05, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        count, total, ids, parts = _state(workspace)
        new_total = Decimal(cost) * ROWS
        assert count == ROWS, f"round {round_no}: a partial partition is visible ({count} rows)"
        assert total in (good_total, new_total), f"round {round_no}: mixed versions ({total})"
        assert len(ids) == 1 and parts == [(ids[0], ROWS)], "manifest agrees with the data"
        if total == new_total:
            outcomes["committed"] += 1
            good_total = new_total
        else:
            outcomes["killed-before-commit"] += 1
    # the random points must actually have interrupted loads, not only hit finished runs
    assert outcomes["killed-before-commit"] >= 3, outcomes
    # and the store is still writable: a normal ingest afterwards works
    final = _export(tmp_path / "final.csv", "99.00")
    done = subprocess.run(_ingest_cmd(workspace, final), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _state(workspace)[1] == Decimal("99.00") * ROWS, done.stdout

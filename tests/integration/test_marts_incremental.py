"""An incremental refresh of the dashboard marts equals a full rebuild, step by step.

A workspace goes through what a month of operation does: a first load, another billing
account, a restatement of a month, an older month, the first allocation (the marts change
kind), a late load into an allocated month, a re-allocation, and a refresh with nothing new.
After each step the incremental refresh's rows must equal those of a full rebuild, exactly
(DECIMAL sums), and it must say how many partitions it rebuilt.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costline.reports.marts import MART, refresh_marts
from costline.workspace import Workspace
from tests.allocation_kit import ALLOC_COLUMNS, charge, setup, team_tag_rules
from tests.focus_files import write_focus_csv


def load(ws: Workspace, name: str, rows: list[dict[str, Any]]) -> None:
    path = ws.root / name
    write_focus_csv(path, rows, ALLOC_COLUMNS)
    report = ws.ingest([path])
    assert not report.failed, [o.message for o in report.failed]


def bill(cost: str, account: str, month: str = "2024-09", days: range = range(1, 6)) -> list[Any]:
    return [
        charge(cost, tags={"team": team}, day=d, month=month, BillingAccountId=account)
        for d in days
        for team in ("web", "api")
    ]


def mart_rows(ws: Workspace) -> list[tuple[Any, ...]]:
    with ws.warehouse() as wh:
        return [tuple(r) for r in wh.con.execute(f"SELECT * FROM {MART} ORDER BY ALL").fetchall()]


def refresh_equals_full(ws: Workspace) -> tuple[str, int | None]:
    """Refresh incrementally, then rebuild whole: the rows must be the same."""
    with ws.warehouse() as wh:
        got = refresh_marts(wh.con)
    incremental = mart_rows(ws)
    with ws.warehouse() as wh:
        refresh_marts(wh.con, full=True)
    assert incremental == mart_rows(ws)
    return got.mode, got.partitions


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace.init(tmp_path / "acme")
    setup(workspace, bill("10.00", "111"), team_tag_rules())
    return workspace


def test_incremental_refresh_equals_a_full_rebuild_at_every_step(ws: Workspace) -> None:
    assert refresh_equals_full(ws) == ("full", None)  # the first refresh builds it whole

    load(ws, "second-account.csv", bill("3.00", "222"))
    assert refresh_equals_full(ws) == ("incremental", 1)

    load(ws, "restated.csv", bill("11.50", "111"))  # the month of account 111 again
    assert refresh_equals_full(ws) == ("incremental", 1)

    load(ws, "august.csv", bill("7.25", "111", month="2024-08"))
    assert refresh_equals_full(ws) == ("incremental", 1)

    ws.allocate("2024-09")  # the first published allocation: the marts gain the teams
    assert refresh_equals_full(ws) == ("full", None)

    ws.allocate("2024-08")
    assert refresh_equals_full(ws) == ("incremental", 1)

    load(ws, "late.csv", bill("2.00", "333", days=range(6, 8)))  # not yet allocated
    assert refresh_equals_full(ws) == ("incremental", 1)

    ws.allocate("2024-09")  # every September partition changes owner rows
    assert refresh_equals_full(ws) == ("incremental", 3)

    before = mart_rows(ws)
    assert refresh_equals_full(ws) == ("incremental", 0)
    assert mart_rows(ws) == before

    # and the figures are the bill's: September by team, worked out from the loads above
    with ws.warehouse() as wh:
        got = dict(
            wh.con.execute(
                f"SELECT team, sum(effective_cost) FROM {MART} "
                "WHERE day >= DATE '2024-09-01' GROUP BY 1"
            ).fetchall()
        )
    each = Decimal("11.50") * 5 + Decimal("3.00") * 5 + Decimal("2.00") * 2
    assert got == {"web": each, "api": each}


def test_a_store_with_an_older_mart_is_rebuilt_whole(ws: Workspace) -> None:
    """Marts of an earlier version (no partition column, no record of their sources)."""
    with ws.warehouse() as wh:
        refresh_marts(wh.con)
        wh.con.execute(f"ALTER TABLE {MART} DROP COLUMN billing_period")
    load(ws, "second-account.csv", bill("3.00", "222"))
    assert refresh_equals_full(ws) == ("full", None)
    with ws.warehouse() as wh:
        wh.con.execute("DROP TABLE mart_sources")
    load(ws, "third-account.csv", bill("4.00", "333"))
    assert refresh_equals_full(ws) == ("full", None)

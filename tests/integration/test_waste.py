"""Idle and waste through a real workspace: a FOCUS bill ingested, an inventory loaded, the
findings through the façade and `costline recommend --kind waste` / `costline inventory load`.

The bill is October 1–30 2026, one daily row per resource; expected savings are worked out
here from the daily costs (× 30.4375 days a month)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costline.cli.main import app
from costline.workspace import Workspace
from tests.focus_files import RESOURCE_COLUMNS, daily_resource_row, write_focus_csv

COLS = RESOURCE_COLUMNS
MONTH = Decimal("30.4375")
# resource → (usage type, daily cost)
BILL = {
    "eipalloc-0a": ("USE1-PublicIPv4:IdleAddress", "0.12"),
    "vol-gp2": ("USE1-EBS:VolumeUsage.gp2", "5.00"),
    "vol-free": ("USE1-EBS:VolumeUsage.gp3", "1.60"),
    "snap-old": ("USE1-EBS:SnapshotUsage", "0.40"),
}


def rows() -> list[dict[str, str]]:
    days = [dt.date(2026, 10, 1) + dt.timedelta(days=d) for d in range(30)]
    return [
        daily_resource_row(day, rid, cost, usage)
        for day in days
        for rid, (usage, cost) in BILL.items()
    ]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = Workspace.init(tmp_path / "ws")
    report = w.ingest([write_focus_csv(tmp_path / "bill.csv", rows(), COLS)])
    assert not report.failed
    return w


def monthly(daily: str, share: str = "1") -> Decimal:
    return (Decimal(daily) * Decimal(share) * MONTH).quantize(Decimal("0.01"))


def test_waste_through_the_workspace_and_the_cli(ws: Workspace, tmp_path: Path) -> None:
    got = {(r[0], r[1]): r[7] for r in ws.waste().rows}
    assert got == {
        ("unassociated-address", "eipalloc-0a"): monthly("0.12"),
        ("gp2-to-gp3", "vol-gp2"): monthly("5.00", "0.2"),
    }
    inventory = tmp_path / "inventory.csv"
    inventory.write_text(
        "resource_id,resource_type,state,source_id\n"
        "vol-free,volume,available,\n"
        "vol-gp2,volume,in-use,\n"
        "snap-old,snapshot,completed,vol-gone\n"
    )
    runner = CliRunner()
    base = ["--workspace", str(ws.root)]
    loaded = runner.invoke(app, [*base, "inventory", "load", str(inventory)])
    assert loaded.exit_code == 0, loaded.output
    out = runner.invoke(app, [*base, "recommend", "--kind", "waste", "--format", "json"])
    assert out.exit_code == 0, out.output
    found = {(r["rule"], r["resource_id"]): r for r in json.loads(out.output)}
    assert {k: Decimal(str(r["monthly_savings"])) for k, r in found.items()} == {
        ("unassociated-address", "eipalloc-0a"): monthly("0.12"),
        ("gp2-to-gp3", "vol-gp2"): monthly("5.00", "0.2"),
        ("unattached-volume", "vol-free"): monthly("1.60"),
        ("orphan-snapshot", "snap-old"): monthly("0.40"),
    }
    assert found[("orphan-snapshot", "snap-old")]["confidence"] == "medium"
    assert found[("unattached-volume", "vol-free")]["account"] == "222"
    # largest saving first
    savings = [r["monthly_savings"] for r in json.loads(out.output)]
    assert savings == sorted(savings, reverse=True)
    # --kind idle: the same findings without gp2-to-gp3 (a cheaper type, not an idle resource)
    idle = runner.invoke(app, [*base, "recommend", "--kind", "idle", "--format", "json"])
    assert idle.exit_code == 0, idle.output
    assert {(r["rule"], r["resource_id"]) for r in json.loads(idle.output)} == set(found) - {
        ("gp2-to-gp3", "vol-gp2")
    }


def test_a_bad_inventory_is_rejected_whole(ws: Workspace, tmp_path: Path) -> None:
    bad = tmp_path / "inv.csv"
    bad.write_text(
        "resource_id,resource_type,state\nvol-1,volume,available\nvol-2,disc,available\n"
    )
    out = CliRunner().invoke(app, ["--workspace", str(ws.root), "inventory", "load", str(bad)])
    assert out.exit_code == 1
    assert "resource_type 'disc' is not valid" in str(out.exception)
    # nothing of it was loaded: no inventory findings
    assert {r[0] for r in ws.waste().rows} == {"unassociated-address", "gp2-to-gp3"}

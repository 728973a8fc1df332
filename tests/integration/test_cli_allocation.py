"""The allocation commands through the CLI: allocate, --diff, chargeback, showback, explain."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costline.cli.main import app
from costline.workspace import Workspace
from tests.allocation_kit import charge, setup, team_tag_rules

runner = CliRunner()
pytestmark = pytest.mark.xdist_group("allocation")


@pytest.fixture
def allocated(workspace: Workspace) -> Workspace:
    rows = [
        charge("10", tags={"team": "web"}),
        charge("30", tags={"team": "api"}),
        charge("20", ServiceName="AWS Support"),
        charge("4", tags={"team": "=cmd|' /C calc'!A0"}),  # formula-looking tag value
    ]
    pool = {
        "id": "support",
        "select": {"column": "ServiceName", "equals": "AWS Support"},
        "method": "proportional",
    }
    setup(workspace, rows, team_tag_rules(pools=[pool]))
    return workspace


def _cli(ws: Workspace, *args: str) -> str:
    result = runner.invoke(app, ["--workspace", str(ws.root), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_allocate_prints_coverage_and_unknown_values(allocated: Workspace) -> None:
    out = _cli(allocated, "allocate", "--period", "2024-09")
    assert "allocated 2024-09: 4 charges" in out
    assert "team-tag" in out and "pool:support" in out and "unknown-team" in out
    js = json.loads(_cli(allocated, "allocate", "--period", "2024-09", "--format", "json"))
    # team-tag 40, support 20, unknown-team 4 (ordered by cost)
    assert [(r["rule"], Decimal(str(r["cost"]))) for r in js] == [
        ("team-tag", Decimal(40)),
        ("pool:support", Decimal(20)),
        ("unknown-team", Decimal(4)),
    ]


def test_chargeback_json_and_csv_neutralises_formulas(allocated: Workspace) -> None:
    _cli(allocated, "allocate", "--period", "2024-09")
    rows = json.loads(_cli(allocated, "chargeback", "--period", "2024-09", "--format", "json"))
    totals = {r["team"]: Decimal(str(r["total"])) for r in rows}
    # support 20 by 10:30 → web 5, api 15
    assert totals == {"web": Decimal(15), "api": Decimal(45), "unallocated": Decimal(4)}
    text = _cli(allocated, "chargeback", "--period", "2024-09", "--format", "csv")
    assert {r["team"] for r in csv.DictReader(io.StringIO(text))} == {"web", "api", "unallocated"}
    _cli(allocated, "query", "SELECT 1")  # the store stays queryable


def test_diff_explain_showback(allocated: Workspace, tmp_path: Path) -> None:
    _cli(allocated, "allocate", "--period", "2024-09")
    draft = tmp_path / "draft.yaml"
    draft.write_text(
        (allocated.rules_path / "allocation.yaml").read_text().replace("proportional", "even")
    )
    diff = json.loads(
        _cli(
            allocated,
            "allocate",
            "--period",
            "2024-09",
            "--rules",
            str(draft),
            "--diff",
            "-f",
            "json",
        )
    )
    by_cc = {r["cost_center"]: Decimal(str(r["change"])) for r in diff}
    # even: 10 each instead of 5 / 15 → CC-1 (web) +5, CC-2 (api) −5
    assert by_cc["CC-1"] == Decimal(5) and by_cc["CC-2"] == Decimal(-5)
    steps = json.loads(
        _cli(allocated, "explain", "--cost-center", "CC-1", "--period", "2024-09", "-f", "json")
    )
    shared = [s for s in steps if s["component"] == "shared"]
    # web's direct AWS cost 10 of 40 → 25 % of support (driver quantity 10)
    assert [s["how"] for s in shared] == [
        "pool support: proportional by EffectiveCost (10) → web 25 %"
    ]
    assert "explain" in _cli(allocated, "explain", "--cost-center", "CC-1", "--period", "2024-09")
    trend = json.loads(_cli(allocated, "showback", "--team", "api", "-f", "json"))
    assert [(r["month"], Decimal(str(r["total"]))) for r in trend] == [("2024-09", Decimal(45))]
    runs = json.loads(_cli(allocated, "allocations", "-f", "json"))
    assert len(runs) == 1 and runs[0]["period"] == "2024-09"


def test_errors_are_one_red_line_with_a_fix(allocated: Workspace) -> None:
    result = runner.invoke(app, ["--workspace", str(allocated.root), "explain"])
    assert result.exit_code != 0
    result = runner.invoke(
        app, ["--workspace", str(allocated.root), "allocate", "--period", "Sept"]
    )
    assert result.exit_code != 0


def test_chargeback_warns_about_charges_ingested_after_the_run(
    allocated: Workspace, tmp_path: Path
) -> None:
    _cli(allocated, "allocate", "--period", "2024-09")
    from tests.allocation_kit import ALLOC_COLUMNS
    from tests.focus_files import write_focus_csv

    later = write_focus_csv(
        tmp_path / "late.csv",
        [charge("7", tags={"team": "web"}, BillingAccountId="other-acct")],
        ALLOC_COLUMNS,
    )
    assert not allocated.ingest([later]).failed
    assert allocated.unallocated_charges("2024-09") == 1
    result = runner.invoke(
        app, ["--workspace", str(allocated.root), "chargeback", "--period", "2024-09"]
    )
    assert result.exit_code == 0
    assert "1 charges of 2024-09 are not in this chargeback" in result.output
    # the FOCUS view shows the new charge as not yet allocated, never twice
    rows = allocated.query(
        "SELECT count(*), count(x_Team) FROM allocated_cost WHERE EffectiveCost = 7"
    ).rows
    assert rows == [(1, 0)]
    _cli(allocated, "allocate", "--period", "2024-09")
    assert allocated.unallocated_charges("2024-09") == 0

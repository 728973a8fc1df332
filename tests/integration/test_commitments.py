"""``costline commitments status|plan`` over real workspaces: a tiny bill whose utilization and
coverage are worked out by hand, the demo company (expected figures computed here from its
cost rows and ground truth), the CLI, and bad input."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from costline.cli.main import app
from costline.core.errors import BadInputError, ConfigError
from costline.demo import generate
from costline.optimize.commitments import NoEligibleSpendError
from costline.workspace import Workspace
from tests.focus_files import COLUMNS, focus_row, write_focus_csv

runner = CliRunner()
COLS = (
    *COLUMNS,
    "SkuId",
    "SkuPriceId",
    "PricingUnit",
    "PricingQuantity",
    "ListUnitPrice",
    "PricingCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountType",
    "CommitmentDiscountCategory",
    "CommitmentDiscountStatus",
)


def charge(cost: str, *, list_cost: str | None = None, **extra: Any) -> dict[str, Any]:
    """One day (2024-09-03) of compute, priced per hour at $0.50 list."""
    listed = list_cost or cost
    r = focus_row(
        BilledCost=cost,
        EffectiveCost=cost,
        ListCost=listed,
        ContractedCost=listed,
        SkuId="sku",
        SkuPriceId="sku",
        PricingUnit="Hours",
        PricingQuantity=str(Decimal(listed) / Decimal("0.5")),
        ListUnitPrice="0.5",
        PricingCategory="Standard",
    )
    r.update(extra)
    return r


RI = {
    "CommitmentDiscountId": "ri-1",
    "CommitmentDiscountType": "Reserved Instance",
    "CommitmentDiscountCategory": "Usage",
    "PricingCategory": "Committed",
}


@pytest.fixture
def tiny(make_workspace: Any, tmp_path: Path) -> Workspace:
    """$10 list covered by ri-1 at $6 effective, $2 of ri-1 unused, $30 on demand, $5 spot
    (not eligible) and $100 of storage (not eligible)."""
    rows = [
        charge("0", list_cost="10", EffectiveCost="6", CommitmentDiscountStatus="Used", **RI),
        charge(
            "0",
            list_cost="0",
            EffectiveCost="2",
            ListUnitPrice="",
            PricingQuantity="",
            CommitmentDiscountStatus="Unused",
            **RI,
        ),
        charge("30"),
        charge("5", PricingCategory="Dynamic"),
        charge("100", ServiceCategory="Storage", PricingUnit="GB-Months"),
    ]
    ws = make_workspace("tiny")
    report = ws.ingest([write_focus_csv(tmp_path / "bill" / "focus.csv", rows, COLS)])
    assert [o.status for o in report.outcomes] == ["loaded"], report.outcomes
    return ws


def test_status_by_hand_on_a_tiny_bill(tiny: Workspace) -> None:
    (tiny.root / "commitments.csv").write_text("id,start,end\nri-1,2023-10-15,2024-10-15\n")
    got = tiny.commitments_status(period="2024-09", as_of="2024-09-30").records()
    ri = next(r for r in got if r["level"] == "commitment")
    assert (ri["commitment_id"], ri["used_cost"], ri["unused_cost"]) == ("ri-1", 6, 2)
    assert ri["utilization"] == Decimal("0.75")  # 6 / (6 + 2)
    assert ri["covered_on_demand"] == 10 and ri["net_savings"] == 2  # 10 − (6 + 2)
    assert (ri["end"], ri["end_source"], ri["days_left"], ri["expires_within"]) == (
        dt.date(2024, 10, 15),
        "inventory",
        15,
        "30",
    )
    total = next(r for r in got if r["level"] == "all")
    # eligible: the $10 covered + the $30 on demand (spot, storage and unused hours are not)
    assert total["eligible_on_demand"] == 40 and total["coverage"] == Decimal("0.25")


def test_cli_status_and_plan_json(tiny: Workspace) -> None:
    out = runner.invoke(app, ["-w", str(tiny.root), "commitments", "status", "-f", "json"])
    assert out.exit_code == 0, out.output
    assert {r["level"] for r in json.loads(out.stdout)} == {"commitment", "provider", "all"}
    args = ["-w", str(tiny.root), "commitments", "plan", "--discount", "0.25", "-f", "json"]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    (row,) = json.loads(out.stdout)
    # uncovered eligible: $30 over one day = $1.25/h every hour → c* = 0.75 × 1.25
    assert row["hours"] == 24 and row["granularity"] == "daily"
    assert Decimal(str(row["commitment_per_hour"])) == Decimal("0.9375")
    assert Decimal(str(row["lookback_savings"])) == Decimal("7.50")  # 30 − 24 × 0.9375
    assert Decimal(str(row["break_even_utilization"])) == Decimal("0.75")
    # `recommend --kind commitments` is the same plan with the default offering
    out = runner.invoke(
        app, ["-w", str(tiny.root), "recommend", "--kind", "commitments", "-f", "json"]
    )
    assert out.exit_code == 0, out.output
    plan = tiny.commitments_plan().records()
    got = json.loads(out.stdout)
    assert [r["commitment_per_hour"] for r in got] == [
        float(r["commitment_per_hour"]) for r in plan
    ]


def test_bad_options_and_no_eligible_spend(tiny: Workspace, make_workspace: Any) -> None:
    out = runner.invoke(app, ["-w", str(tiny.root), "commitments", "plan", "--term", "5y"])
    # CliRunner hands back the error main() would print as one red line with its fix
    assert isinstance(out.exception, ConfigError) and "unknown term '5y'" in str(out.exception)
    assert "fix: use one of ('1y', '3y')" in str(out.exception)
    out = runner.invoke(app, ["-w", str(tiny.root), "commitments", "plan", "--payment", "x"])
    assert isinstance(out.exception, ConfigError) and "unknown payment 'x'" in str(out.exception)
    with pytest.raises(NoEligibleSpendError, match="2020-01-01"):
        tiny.commitments_plan(as_of="2020-01-01")
    empty = make_workspace("empty")
    with pytest.raises(NoEligibleSpendError) as err:
        empty.commitments_plan()
    assert "fix:" in str(err.value)
    with pytest.raises(ConfigError, match="YYYY-MM"):
        tiny.commitments_status(period="Sept")


def test_malformed_inventory_through_the_workspace(tiny: Workspace) -> None:
    path = tiny.root / "commitments.csv"
    path.write_text("id,end\nri-1,2024-10-15\nri-2,15.10.2024\n")
    with pytest.raises(BadInputError) as err:
        tiny.commitments_status()
    assert f"{path}, row 2, column 'end'" in str(err.value) and "YYYY-MM-DD" in str(err.value)
    out = runner.invoke(app, ["-w", str(tiny.root), "commitments", "status"])
    assert isinstance(out.exception, BadInputError) and "row 2" in str(out.exception)


# -- the demo company -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, dict[str, Any]]:
    out = tmp_path_factory.mktemp("demo") / "demo-data"
    truth = generate(out, rows=400, seed=11)
    ws = Workspace.init(tmp_path_factory.mktemp("ws") / "acme")
    report = ws.ingest([out / "billing"])
    assert all(o.status == "loaded" for o in report.outcomes)
    return ws, truth


def _rows(ws: Workspace, month: str) -> list[dict[str, Any]]:
    return ws.query(
        "SELECT x_Provider, ChargeCategory, ChargeClass, ServiceCategory, PricingCategory, "
        "PricingUnit, CommitmentDiscountId, CommitmentDiscountStatus, EffectiveCost, ListCost, "
        "ContractedCost, ChargePeriodStart, ChargePeriodEnd, BillingAccountId FROM cost "
        "WHERE strftime(ChargePeriodStart, '%Y-%m') = ?",
        [month],
    ).records()


def _eligible(r: dict[str, Any]) -> bool:
    unit = (r["PricingUnit"] or "").lower()
    return (
        r["ChargeCategory"] == "Usage"
        and r["ChargeClass"] is None
        and r["ServiceCategory"] == "Compute"
        and (r["PricingCategory"] or "Standard") in ("Standard", "Committed")
        and ("hour" in unit or "hrs" in unit)
        and r["CommitmentDiscountStatus"] != "Unused"
    )


def _on_demand(r: dict[str, Any]) -> Decimal:
    for col in ("ContractedCost", "ListCost"):
        if r[col]:
            return Decimal(r[col])
    return Decimal(r["EffectiveCost"])


def test_demo_status_matches_the_cost_rows_and_truth(
    demo: tuple[Workspace, dict[str, Any]],
) -> None:
    ws, truth = demo
    (ws.root / "commitments.csv").write_text(
        "id,start,end\n"
        + "".join(f"{c['id']},{c['start']},{c['end']}\n" for c in truth["commitments"])
    )
    got = ws.commitments_status(period="2026-09", as_of="2026-12-01").records()
    rows = _rows(ws, "2026-09")
    used: dict[str, Decimal] = defaultdict(Decimal)
    unused: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        if r["ChargeCategory"] == "Usage" and r["CommitmentDiscountId"]:
            target = used if r["CommitmentDiscountStatus"] == "Used" else unused
            target[r["CommitmentDiscountId"]] += r["EffectiveCost"]
    by_id = {r["commitment_id"]: r for r in got if r["level"] == "commitment"}
    assert set(by_id) == {c["id"] for c in truth["commitments"]} == set(used)
    for cid, r in by_id.items():
        assert (r["used_cost"], r["unused_cost"]) == (used[cid], unused[cid])
        expected = (used[cid] / (used[cid] + unused[cid])).quantize(Decimal("0.0001"))
        assert r["utilization"] == expected
    # the calendar from 2026-12-01: the SP and RI 1 end 2027-01-01 (31 days), the Azure
    # reservation 2027-03-01 (90 days), RI 2 2027-08-01
    ends = {c["id"]: dt.date.fromisoformat(c["end"]) for c in truth["commitments"]}
    for cid, r in by_id.items():
        days = (ends[cid] - dt.date(2026, 12, 1)).days
        assert r["days_left"] == days
        assert r["expires_within"] == ("60" if days == 31 else "90" if days == 90 else "later")
    for provider in ("aws", "azure", "gcp"):
        mine = [r for r in rows if r["x_Provider"] == provider and _eligible(r)]
        eligible = sum((_on_demand(r) for r in mine), Decimal(0))
        covered = sum((_on_demand(r) for r in mine if r["CommitmentDiscountId"]), Decimal(0))
        (summary,) = [r for r in got if r["level"] == "provider" and r["provider"] == provider]
        assert summary["eligible_on_demand"] == eligible
        assert summary["coverage"] == (covered / eligible).quantize(Decimal("0.0001"))


def test_demo_plan_matches_a_brute_force_on_the_cost_rows(
    demo: tuple[Workspace, dict[str, Any]],
) -> None:
    ws, _ = demo
    got = ws.commitments_plan(lookback=30, term="1y", payment="no-upfront", scope=["provider"])
    d = 1 - Decimal("19.7189") / Decimal("26.676")  # convertible 1y no-upfront, us-east-1 sample
    rows = [r for r in _rows(ws, "2026-09") if _eligible(r) and not r["CommitmentDiscountId"]]
    for rec in got.records():
        daily: dict[dt.date, float] = defaultdict(float)
        for r in rows:  # the demo is daily: every hour of a day has 1/24 of its cost
            if r["x_Provider"] == rec["provider"]:
                daily[r["ChargePeriodStart"].date()] += float(_on_demand(r)) / 24
        hourly = [v for v in daily.values() for _ in range(24)]
        assert rec["hours"] == len(hourly) == 720
        assert rec["discount"] == d.quantize(Decimal("0.0001"))
        df = float(rec["discount"])
        best, best_c = 0.0, 0.0
        top = max(hourly) * (1 - df)
        for i in range(20001):
            c = top * i / 20000
            s = sum(min(h, c / (1 - df)) for h in daily.values()) * 24 - len(hourly) * c
            best, best_c = (s, c) if s > best else (best, best_c)
        assert float(rec["lookback_savings"]) == pytest.approx(best, rel=0.005)
        assert float(rec["monthly_savings"]) == pytest.approx(best * 730 / 720, rel=0.005)
        q = sorted(hourly)[math.ceil(len(hourly) * df) - 1]
        assert float(rec["commitment_per_hour"]) == pytest.approx((1 - df) * q, abs=1e-4)
        floor = (1 - df) * min(hourly)
        heuristic = sum(min(h, min(hourly)) for h in hourly) - len(hourly) * floor
        assert float(rec["heuristic_monthly_savings"]) == pytest.approx(
            heuristic * 730 / 720, abs=0.01
        )
        assert rec["monthly_savings"] >= rec["heuristic_monthly_savings"]

"""The commitment optimizer against a brute force, the rate table against its public source,
hourly spreading, the expiry calendar and the commitments.csv checks (pure, no workspace)."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costline.core.errors import BadInputError, ConfigError
from costline.optimize import commitments as cm

SAMPLE = Path(
    "/work/shared/reference-data/pricing/aws_ec2_reserved_price_sample_x2iedn.32xlarge.json"
)


def brute_force(spend: np.ndarray, d: float, steps: int = 2000, zooms: int = 4) -> float:
    """Best net savings over a fine grid of hourly commitments c in [0, (1 − d)·max s],
    zooming into the best cell a few times (S is concave in c, so the zoom cannot lose it)."""
    lo, hi = 0.0, (1 - d) * float(spend.max())
    best = 0.0
    for _ in range(zooms):
        grid = np.linspace(lo, hi, steps + 1)
        savings = np.minimum(spend[None, :], grid[:, None] / (1 - d)).sum(axis=1)
        savings -= spend.size * grid
        i = int(np.argmax(savings))
        best = max(best, float(savings[i]))
        step = (hi - lo) / steps
        lo, hi = max(0.0, grid[i] - step), grid[i] + step
    return best


spends = st.lists(
    st.floats(min_value=0, max_value=1000, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=48,
)


@settings(max_examples=60, deadline=None)
@given(spend=spends, d=st.floats(min_value=0.05, max_value=0.8))
def test_optimizer_within_half_a_percent_of_brute_force(spend: list[float], d: float) -> None:
    s = np.array(spend)
    best = cm.optimize(s, d)
    brute = brute_force(s, d)
    # the reported savings are what the commitment really saves on these hours
    mine = sum(min(x, best.commitment / (1 - d)) for x in spend) - len(spend) * best.commitment
    assert best.savings == pytest.approx(mine, rel=1e-9, abs=1e-6)
    assert best.savings >= brute - 1e-6  # exact optimum: never below the grid's best
    assert best.savings <= brute * 1.005 + 1e-6  # and the grid finds it to within 0.5 %


@settings(max_examples=40, deadline=None)
@given(
    spend=st.lists(st.integers(min_value=0, max_value=500), min_size=3, max_size=60),
    d=st.floats(min_value=0.05, max_value=0.8),
)
def test_commitment_is_one_minus_d_times_the_d_quantile(spend: list[int], d: float) -> None:
    h = len(spend)
    k = math.ceil(h * d)
    if abs(h * d - round(h * d)) < 1e-6:  # ties between two order statistics: either is optimal
        return
    q = sorted(spend)[k - 1]  # the lower empirical d-quantile
    best = cm.optimize(np.array(spend, dtype=float), d)
    expected_savings = sum(min(x, q) for x in spend) - h * (1 - d) * q
    assert best.savings == pytest.approx(expected_savings, abs=1e-6)
    if expected_savings > 1e-9:
        assert best.commitment == pytest.approx((1 - d) * q)


def test_optimizer_hand_example() -> None:
    # 3 hours at $10 on-demand and 1 hour at $40, 25 % off: covering $10/h costs $7.50/h
    # and saves 4 × 10 − 4 × 7.5 = $10; covering $40/h would cost $120 for $70 of spend.
    best = cm.optimize(np.array([10.0, 10.0, 10.0, 40.0]), 0.25)
    assert (best.commitment, best.covers, best.savings) == (7.5, 10.0, 10.0)
    assert cm.optimize(np.zeros(5), 0.3).commitment == 0.0


def test_plan_scope_constant_spend() -> None:
    # constant $8/h for 10 hours at d = 0.25: c* = 6, fully used, saves 2 $/h → 1,460 a month
    result = cm.plan_scope(np.full(10, 8.0), Decimal("0.25"))
    assert result["commitment_per_hour"] == Decimal("6.0000")
    assert result["expected_utilization"] == Decimal("1.0000")
    assert result["coverage"] == Decimal("1.0000")
    assert result["break_even_utilization"] == Decimal("0.75")
    assert result["lookback_savings"] == Decimal("20.00")
    assert result["monthly_savings"] == Decimal("1460.00")
    assert result["heuristic_monthly_savings"] == Decimal("1460.00")


def test_plan_scope_beats_minimum_heuristic_on_spiky_spend() -> None:
    # 90 hours at $10, 10 hours at $0: the minimum rule buys nothing, c* covers $10/h
    spend = np.array([10.0] * 45 + [0.0] * 10 + [10.0] * 45)
    result = cm.plan_scope(spend, Decimal("0.3"))
    assert result["heuristic_commitment_per_hour"] == Decimal("0.0000")
    assert result["commitment_per_hour"] == Decimal("7.0000")
    # 900 covered − 100 × 7 paid = 200 over 100 hours → 1,460 a month
    assert result["lookback_savings"] == Decimal("200.00")
    assert result["monthly_savings"] == Decimal("1460.00")
    assert result["expected_utilization"] == Decimal("0.9000")


def test_spread_hourly_daily_rows_and_window() -> None:
    # a day of $48 → $2/h; a row half outside the window keeps only its hours inside
    starts, ends = np.array([0, -12], dtype=np.int64), np.array([24, 12], dtype=np.int64)
    spend = cm.spread_hourly(starts, ends, np.array([48.0, 24.0]), 24)
    assert spend[:12].tolist() == pytest.approx([3.0] * 12)
    assert spend[12:].tolist() == pytest.approx([2.0] * 12)


@pytest.mark.skipif(not SAMPLE.is_file(), reason="reference data not present")
def test_rate_table_matches_the_public_sample() -> None:
    record = json.loads(SAMPLE.read_text())["pricing_linux_by_region"]["us-east-1"]
    on_demand = Decimal(record["ondemand"])
    names = {"no-upfront": "noUpfront", "partial-upfront": "partialUpfront"}
    for (offering, term, payment), d in cm.RATE_TABLE.items():
        key = f"yrTerm{term[0]}{offering.capitalize()}.{names.get(payment, 'allUpfront')}"
        expected = 1 - Decimal(record["reserved"][key]) / on_demand
        assert abs(d - expected) < Decimal("0.00005"), key
    assert cm.discount_for("3y", "all-upfront", offering="standard") == Decimal("0.7208")


@pytest.mark.parametrize(
    ("term", "payment", "key"), [("2y", "no-upfront", "term"), ("1y", "upfront", "payment")]
)
def test_unknown_term_or_payment(term: str, payment: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        cm.discount_for(term, payment)
    assert err.value.key == key and "use one of" in str(err.value)


def test_discount_override_must_be_a_fraction() -> None:
    assert cm.parse_discount("0.28") == Decimal("0.28")
    for bad in ("1.5", "0", "abc"):
        with pytest.raises(ConfigError, match="between 0 and 1"):
            cm.parse_discount(bad)


def test_expiry_buckets_and_end_sources() -> None:
    assert [cm.expires_within(d) for d in (-3, 0, 1, 30, 31, 60, 61, 90, 91, None)] == [
        "ended", "ended", "30", "30", "60", "60", "90", "90", "later", "unknown"
    ]  # fmt: skip
    span = (dt.datetime(2026, 7, 1), dt.datetime(2026, 10, 1))
    entry = cm.InventoryEntry(id="x", end=dt.date(2027, 1, 1))
    assert cm.commitment_end(entry, None, None) == (dt.date(2027, 1, 1), "inventory")
    stopped = (dt.datetime(2026, 7, 1), dt.datetime(2026, 9, 15))
    assert cm.commitment_end(None, stopped, span) == (dt.date(2026, 9, 15), "rows stopped")
    late = (dt.datetime(2026, 8, 1), dt.datetime(2026, 10, 1))
    assert cm.commitment_end(None, late, span)[0] == dt.date(2027, 8, 1)
    assert cm.commitment_end(None, span, span)[0] is None


def _inventory(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "commitments.csv"
    path.write_text(text)
    return path


def test_inventory_reads_every_column(tmp_path: Path) -> None:
    path = _inventory(
        tmp_path,
        "id,start,end,term,payment,hourly_commitment\n"
        "sp-1,2026-01-01,2027-01-01,1y,no-upfront,12.5\nri-2,,2028-03-01,,,\n",
    )
    got = cm.read_inventory(path)
    assert got["sp-1"] == cm.InventoryEntry(
        "sp-1", dt.date(2027, 1, 1), dt.date(2026, 1, 1), "1y", "no-upfront", Decimal("12.5")
    )
    assert got["ri-2"].end == dt.date(2028, 3, 1) and got["ri-2"].term is None


@pytest.mark.parametrize(
    ("text", "where", "fix"),
    [
        ("id,start\nsp-1,2026-01-01\n", "column 'end'", "the header needs id, end"),
        ("id,end\nsp-1,2027-01-01\nri-1,01/03/2027\n", "row 2, column 'end'", "YYYY-MM-DD"),
        ("id,end\n,2027-01-01\n", "row 1, column 'id'", "fill in id"),
        ("id,end,payment\nsp,2027-01-01,monthly\n", "row 1, column 'payment'", "no-upfront"),
        ("id,end,hourly_commitment\nsp,2027-01-01,-1\n", "column 'hourly_commitment'", "non-neg"),
        ("id,start,end\nsp,2027-01-01,2026-01-01\n", "row 1, column 'end'", "swap"),
        ("id,end\nsp,2027-01-01\nsp,2027-02-01\n", "row 2, column 'id'", "one row per"),
    ],
)
def test_malformed_inventory_names_file_row_column_and_fix(
    tmp_path: Path, text: str, where: str, fix: str
) -> None:
    path = _inventory(tmp_path, text)
    with pytest.raises(BadInputError) as err:
        cm.read_inventory(path)
    message = str(err.value)
    assert str(path) in message and where in message and "fix:" in message and fix in message

"""Adoption detection and realized savings (costline.optimize.adoption), on hand-made bills."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costline.core.errors import ConfigError
from costline.optimize.adoption import (
    GONE_DAYS,
    Tracked,
    _Days,
    detect_one,
    measure,
    month_bounds,
    monthly,
    realized_in_month,
)

D = dt.date
MONTH_DAYS = Decimal("30.4375")


SEEN = D(2026, 9, 1)


def rec(rule: str = "rightsize", *, current: str | None = "m5.2xlarge", seen: D = SEEN) -> Tracked:
    return Tracked(
        id="rec-1",
        kind="rightsizing" if rule == "rightsize" else "waste",
        rule=rule,
        resource_id="i-1",
        team="pay",
        account="111",
        first_seen=dt.datetime.combine(seen, dt.time()),
        estimated_monthly=Decimal("100"),
        current_type=current,
        ticket_key="PAY-1",
    )


def span(first: D, last: D) -> list[D]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def bill(segments: list[tuple[D, D, str, str]]) -> _Days:
    """(first day, last day, daily cost, instance type) segments."""
    days = _Days({}, {}, {})
    for first, last, cost, itype in segments:
        for d in span(first, last):
            days.cost[d] = Decimal(cost)
            days.itype[d] = itype
    return days


def test_a_type_change_is_actioned_on_its_first_day_and_measured_from_the_bill() -> None:
    days = bill(
        [
            (D(2026, 8, 1), D(2026, 9, 7), "9.216", "m5.2xlarge"),
            (D(2026, 9, 8), D(2026, 9, 30), "4.608", "m5.xlarge"),
        ]
    )
    got = detect_one(rec(), days, last_day=D(2026, 9, 30))
    assert got is not None
    assert (got.action, got.action_date, got.from_state, got.to_state) == (
        "type-changed",
        D(2026, 9, 8),
        "m5.2xlarge",
        "m5.xlarge",
    )
    assert got.baseline_daily == Decimal("9.216")
    assert got.after_daily == Decimal("4.608")
    assert got.after_days == 22  # Sep 9-30; the action day is on neither side
    assert got.realized_monthly == ((Decimal("9.216") - Decimal("4.608")) * MONTH_DAYS).quantize(
        Decimal("0.01")
    )


def test_no_change_no_action_and_a_change_back_is_no_action() -> None:
    same = bill([(D(2026, 8, 1), D(2026, 9, 30), "9", "m5.2xlarge")])
    assert detect_one(rec(), same, last_day=D(2026, 9, 30)) is None
    back = bill(
        [
            (D(2026, 8, 1), D(2026, 9, 7), "9", "m5.2xlarge"),
            (D(2026, 9, 8), D(2026, 9, 10), "4", "m5.xlarge"),
            (D(2026, 9, 11), D(2026, 9, 30), "9", "m5.2xlarge"),
        ]
    )
    assert detect_one(rec(), back, last_day=D(2026, 9, 30)) is None


def test_a_recorded_type_the_bill_never_shows_falls_back_to_the_bill() -> None:
    days = bill([(D(2026, 8, 1), D(2026, 9, 30), "9", "M5.2XLarge")])
    assert detect_one(rec(current="m5.2xlarge"), days, last_day=D(2026, 9, 30)) is None
    assert detect_one(rec(current="c9.weird"), days, last_day=D(2026, 9, 30)) is None


def test_without_a_recorded_type_the_type_on_the_first_seen_day_is_the_reference() -> None:
    days = bill(
        [
            (D(2026, 8, 1), D(2026, 9, 3), "6", "m4.xlarge"),
            (D(2026, 9, 4), D(2026, 9, 30), "5", "m6i.xlarge"),
        ]
    )
    got = detect_one(rec("previous-generation", current=None), days, last_day=D(2026, 9, 30))
    assert got is not None and (got.from_state, got.to_state) == ("m4.xlarge", "m6i.xlarge")


def test_a_resource_gone_for_three_days_is_actioned_two_days_is_not_yet() -> None:
    days = bill([(D(2026, 8, 1), D(2026, 9, 14), "2.5", "m5.2xlarge")])
    assert detect_one(rec(), days, last_day=D(2026, 9, 14) + dt.timedelta(GONE_DAYS - 1)) is None
    got = detect_one(rec(), days, last_day=D(2026, 9, 14) + dt.timedelta(GONE_DAYS))
    assert got is not None
    assert (got.action, got.action_date) == ("resource-gone", D(2026, 9, 15))
    assert got.after_daily == 0 and got.baseline_daily == Decimal("2.5")
    assert got.realized_monthly == (Decimal("2.5") * MONTH_DAYS).quantize(Decimal("0.01"))


def test_telemetry_corroborates_a_gone_resource() -> None:
    days = bill([(D(2026, 8, 1), D(2026, 9, 14), "1", "m5.2xlarge")])
    stopped = detect_one(
        rec(),
        days,
        last_day=D(2026, 9, 30),
        telemetry_last=dt.datetime(2026, 9, 14, 23),
        telemetry_end=dt.datetime(2026, 9, 30, 23),
    )
    assert stopped is not None and "telemetry stopped on 2026-09-14" in stopped.evidence
    running = detect_one(
        rec(),
        days,
        last_day=D(2026, 9, 30),
        telemetry_last=dt.datetime(2026, 9, 30, 23),
        telemetry_end=dt.datetime(2026, 9, 30, 23),
    )
    assert running is not None and "telemetry still arriving" in running.evidence


def test_a_gp2_volume_billed_as_gp3_is_actioned() -> None:
    days = _Days({}, {}, {})
    for d in span(D(2026, 8, 20), D(2026, 9, 30)):
        days.cost[d] = Decimal("10") if d < D(2026, 9, 10) else Decimal("8")
        days.vtype[d] = "gp2" if d < D(2026, 9, 10) else "gp3"
    got = detect_one(rec("gp2-to-gp3", current=None), days, last_day=D(2026, 9, 30))
    assert got is not None and got.action == "volume-type-changed"
    assert (got.action_date, got.to_state) == (D(2026, 9, 10), "gp3")
    assert got.realized_monthly == (2 * MONTH_DAYS).quantize(Decimal("0.01"))


def test_a_change_long_before_the_recommendation_is_not_its_adoption() -> None:
    days = bill(
        [
            (D(2026, 6, 1), D(2026, 6, 30), "9", "m5.2xlarge"),
            (D(2026, 7, 1), D(2026, 9, 30), "4", "m5.xlarge"),
        ]
    )
    assert detect_one(rec(seen=D(2026, 9, 20)), days, last_day=D(2026, 9, 30)) is None


def test_measure_counts_unbilled_days_as_zero_and_starts_at_the_first_charge() -> None:
    daily = {D(2026, 9, 1): Decimal(7), D(2026, 9, 3): Decimal(7)}  # Sep 2 not billed
    baseline, after, n = measure(daily, D(2026, 9, 4), D(2026, 9, 4))
    assert baseline == Decimal(14) / 3 and after is None and n == 0


def test_realized_in_month_sums_the_daily_savings_of_the_month_only() -> None:
    daily = {d: Decimal(3) for d in span(D(2026, 9, 20), D(2026, 10, 10))}
    got = realized_in_month(
        daily, Decimal(10), D(2026, 9, 25), D(2026, 9, 1), D(2026, 10, 1), D(2026, 10, 10)
    )
    assert got == (10 - 3) * 5  # Sep 26-30
    october = realized_in_month(
        daily, Decimal(10), D(2026, 9, 25), D(2026, 10, 1), D(2026, 11, 1), D(2026, 10, 10)
    )
    assert october == (10 - 3) * 10  # Oct 1-10: the bill ends there


@settings(max_examples=60, deadline=None)
@given(
    costs=st.lists(
        st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False),
        min_size=40,
        max_size=95,
    ),
    action=st.integers(min_value=0, max_value=39),
)
def test_realized_in_month_adds_up_across_months(costs: list[Decimal], action: int) -> None:
    first = D(2026, 8, 25)
    daily = {first + dt.timedelta(days=i): c for i, c in enumerate(costs)}
    last = max(daily)
    act = first + dt.timedelta(days=action)
    baseline = Decimal("123.45")
    months = [(D(2026, 8, 1), D(2026, 9, 1)), (D(2026, 9, 1), D(2026, 10, 1))]
    months += [(D(2026, 10, 1), D(2026, 11, 1)), (D(2026, 11, 1), D(2026, 12, 1))]
    total = sum(realized_in_month(daily, baseline, act, lo, hi, last) for lo, hi in months)
    after = [c for d, c in daily.items() if d > act]
    assert total == baseline * len(after) - sum(after, Decimal(0))


def test_monthly_and_month_bounds() -> None:
    assert monthly(Decimal(10), Decimal(4)) == Decimal("182.62")  # 182.625, half even
    assert month_bounds("2026-12") == (D(2026, 12, 1), D(2027, 1, 1))
    with pytest.raises(ConfigError, match="not a month"):
        month_bounds("2026-13")

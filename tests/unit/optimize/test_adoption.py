"""Adoption detection and realized savings (costline.optimize.adoption), on hand-made bills."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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


# -- Kubernetes requests and commitments, on hand-built DuckDB tables ----------------------
SEP10, SEP30 = D(2026, 9, 10), D(2026, 9, 30)


def k8s_rec(*, seen: D = SEP10, window_end: str = "2026-09-10 00:00:00") -> Tracked:
    """Lower container api/app in shop on cluster prod from 2 vCPU / 4 GiB to 0.5 / 2 GiB;
    prices 0.04 per vCPU-hour and 0.005 per GiB-hour."""
    details = {
        "cluster": "prod",
        "namespace": "shop",
        "workload": "api",
        "container": "app",
        "cpu_request": 2.0,
        "cpu_recommended": 0.5,
        "memory_request_gib": 4.0,
        "memory_recommended_gib": 2.0,
        "cpu_price_per_core_hour": "0.040000",
        "memory_price_per_gib_hour": "0.005000",
        "window_end": window_end,
    }
    return Tracked(
        id="rec-k8s",
        kind="k8s-requests",
        rule="requests",
        resource_id="prod/shop/api/app",
        team="web",
        account=None,
        first_seen=dt.datetime.combine(seen, dt.time(6)),
        estimated_monthly=Decimal("100"),
        current_type=None,
        ticket_key="WEB-1",
        details=details,
    )


def k8s_con(segments: list[tuple[D, D, float, float]], *, other_until: D = SEP30) -> Any:
    """k8s_samples: two pods of api/app per day, 24 h each, with (first, last, cpu request,
    memory request GiB) segments; another workload samples the cluster through ``other_until``."""
    import duckdb

    from costline.allocation.k8s_inputs import SAMPLES_DDL

    con = duckdb.connect()
    con.execute(SAMPLES_DDL)
    rows = []
    for first, last, cpu, mem in segments:
        for d in span(first, last):
            for pod in ("api-7f9c6-aaaaa", "api-7f9c6-bbbbb"):
                rows.append((d, "shop", pod, "app", {"app": "api"}, cpu, mem * 2**30))
    rows += [(d, "ops", "cron-1", "main", {}, 1.0, 2**30) for d in span(D(2026, 8, 1), other_until)]
    con.executemany(
        "INSERT INTO k8s_samples (window_start, window_hours, cluster, node_resource_id, "
        "namespace, pod, container, labels, cpu_request, cpu_usage, memory_request, "
        "memory_usage) VALUES (?, 24, 'prod', 'i-1', ?, ?, ?, ?, ?, 0.1, ?, 2^28)",
        rows,
    )
    return con


def test_k8s_requests_lowered_halfway_are_actioned_with_the_request_cost_saved() -> None:
    from costline.optimize import adoption_k8s

    # Sep 15 on: CPU 1.0 ≤ 2 − (2 − 0.5) / 2 = 1.25 (memory unchanged at 4 GiB)
    con = k8s_con(
        [(D(2026, 8, 20), D(2026, 9, 14), 2.0, 4.0), (D(2026, 9, 15), D(2026, 9, 30), 1.0, 4.0)]
    )
    got = adoption_k8s.detect(con, [k8s_rec()])
    assert got.waiting == set() and len(got.adoptions) == 1
    a = got.adoptions[0]
    assert (a.action, a.action_date) == ("requests-lowered", D(2026, 9, 15))
    assert (a.from_state, a.to_state) == ("cpu 2, memory 4 GiB", "cpu 1, memory 4 GiB")
    # a day: 2 pods × 24 h × (2 × 0.04 + 4 × 0.005) = 4.80 before, 48 × (0.04 + 0.02) = 2.88
    # after (Sep 16-30: 15 days; Sep 15 is the transition day)
    assert (a.baseline_daily, a.after_daily, a.after_days) == (
        Decimal("4.80"),
        Decimal("2.88"),
        15,
    )
    assert a.realized_monthly == Decimal("58.44")  # 1.92 × 30.4375
    # measured again two days later (the samples grew: Oct 1-2 at the new requests)
    con2 = k8s_con(
        [(D(2026, 8, 20), D(2026, 9, 14), 2.0, 4.0), (D(2026, 9, 15), D(2026, 10, 2), 1.0, 4.0)],
        other_until=D(2026, 10, 2),
    )
    stored = _Stored("rec-k8s", D(2026, 9, 15), "prod/shop/api/app", "k8s-requests", None)
    again = adoption_k8s.remeasured(con2, [stored], {"rec-k8s": k8s_rec().details})
    assert again[0]["after_days"] == 17 and again[0]["realized_monthly"] == Decimal("58.44")


def test_k8s_requests_not_moved_enough_or_moved_back_are_not_actioned() -> None:
    from costline.optimize import adoption_k8s

    partly = k8s_con(
        [(D(2026, 8, 20), D(2026, 9, 14), 2.0, 4.0), (D(2026, 9, 15), D(2026, 9, 30), 1.5, 3.5)]
    )
    assert adoption_k8s.detect(partly, [k8s_rec()]).adoptions == []  # 1.5 > 1.25, 3.5 > 3
    back = k8s_con(
        [
            (D(2026, 8, 20), D(2026, 9, 14), 2.0, 4.0),
            (D(2026, 9, 15), D(2026, 9, 20), 0.5, 2.0),
            (D(2026, 9, 21), D(2026, 9, 30), 2.0, 4.0),
        ]
    )
    assert adoption_k8s.detect(back, [k8s_rec()]).adoptions == []
    # memory alone moved: 2.5 GiB ≤ 4 − (4 − 2) / 2 = 3
    mem = k8s_con(
        [(D(2026, 8, 20), D(2026, 9, 14), 2.0, 4.0), (D(2026, 9, 15), D(2026, 9, 30), 2.0, 2.5)]
    )
    assert [a.action_date for a in adoption_k8s.detect(mem, [k8s_rec()]).adoptions] == [
        D(2026, 9, 15)
    ]


def test_a_k8s_container_is_found_from_its_details_or_its_resource_id() -> None:
    from costline.optimize.adoption_k8s import key_of

    assert key_of("prod/shop/api/app") == ("prod", "shop", "api", "app")
    # a samples file without a container column: the container is empty, the key still holds
    names = {"cluster": "prod", "namespace": "shop", "workload": "api", "container": ""}
    assert key_of("prod/shop/api", names) == ("prod", "shop", "api", "")
    assert key_of("prod/shop/api") == ("prod", "shop", "api", "")
    with pytest.raises(ValueError, match="cluster/namespace/workload"):
        key_of("prod/shop")


def test_a_k8s_change_before_the_recommendation_is_not_its_adoption() -> None:
    """Recommended again on Oct 1 (a new life after the Sep 15 adoption, computed on the
    window up to Sep 30): the Sep 15 change does not count a second time."""
    from costline.optimize import adoption_k8s

    con = k8s_con(
        [(D(2026, 8, 20), D(2026, 9, 14), 2.0, 4.0), (D(2026, 9, 15), D(2026, 9, 30), 1.0, 4.0)]
    )
    rec = k8s_rec(seen=D(2026, 10, 1), window_end="2026-10-01 00:00:00")
    assert adoption_k8s.detect(con, [rec]).adoptions == []


def test_a_k8s_workload_gone_for_three_days_is_actioned_two_days_waits() -> None:
    from costline.optimize import adoption_k8s

    segments = [(D(2026, 8, 20), D(2026, 9, 20), 2.0, 4.0)]
    waiting = adoption_k8s.detect(k8s_con(segments, other_until=D(2026, 9, 22)), [k8s_rec()])
    assert waiting.adoptions == [] and waiting.waiting == {"rec-k8s"}
    gone = adoption_k8s.detect(k8s_con(segments, other_until=D(2026, 9, 23)), [k8s_rec()])
    a = gone.adoptions[0]
    assert (a.action, a.action_date, a.evidence) == (
        "resource-gone",
        D(2026, 9, 21),
        "no Kubernetes samples since 2026-09-21",
    )
    assert (a.baseline_daily, a.after_daily) == (Decimal("4.80"), Decimal(0))
    assert a.realized_monthly == (Decimal("4.80") * MONTH_DAYS).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class _Stored:
    """The attributes remeasured() reads of a stored adoption."""

    rec_id: str
    action_date: D
    resource_id: str
    kind: str
    to_state: str | None


def buy_rec(*, seen: D = SEP10, sized_until: str = "2026-09-10 00:00:00") -> Tracked:
    details = {
        "scope": [["provider", "aws"], ["billing_account", "111"]],
        "currency": "USD",
        "sized_until": sized_until,
    }
    return Tracked(
        id="rec-buy",
        kind="commitment",
        rule="purchase",
        resource_id="aws/111/USD",
        team=None,
        account="111",
        first_seen=dt.datetime.combine(seen, dt.time(6)),
        estimated_monthly=Decimal("900"),
        current_type=None,
        ticket_key="PAY-2",
        details=details,
    )


def commitment_con(last: D, unused: dict[D, str] | None = None) -> Any:
    """A cost table: account 111 runs 100.00 of on-demand compute a day from Aug 1; an older
    RI (ri-old, from Aug 1) and, in account 222, sp-other (from Sep 12) are not the purchase;
    sp-1 covers the 100.00 (list, contracted 0 as AWS RIs bill it) at 70.00 from Sep 12, with
    5.00 unused a day."""
    import duckdb

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE cost (ChargePeriodStart TIMESTAMP, x_Provider VARCHAR, BillingAccountId "
        "VARCHAR, BillingCurrency VARCHAR, ChargeCategory VARCHAR, CommitmentDiscountId VARCHAR, "
        "CommitmentDiscountType VARCHAR, CommitmentDiscountStatus VARCHAR, ListCost DECIMAL(38, "
        "10), ContractedCost DECIMAL(38, 10), EffectiveCost DECIMAL(38, 10))"
    )
    rows: list[tuple[Any, ...]] = []
    for d in span(D(2026, 8, 1), last):
        rows.append((d, "111", "ri-old", "Reserved Instance", "Used", "10", "0", "6"))
        if d < D(2026, 9, 12):
            rows.append((d, "111", None, None, None, "100", "100", "100"))
        else:
            rows.append((d, "111", "sp-1", "Savings Plan", "Used", "100", "0", "70"))
            rows.append(
                (d, "111", "sp-1", "Savings Plan", "Unused", "0", "0", (unused or {}).get(d, "5"))
            )
            rows.append((d, "222", "sp-other", "Savings Plan", "Used", "50", "50", "30"))
    con.executemany("INSERT INTO cost VALUES (?, 'aws', ?, 'USD', 'Usage', ?, ?, ?, ?, ?, ?)", rows)
    return con


def test_a_commitment_bought_in_the_scope_is_actioned_with_its_net_savings() -> None:
    from costline.optimize import adoption_commitments

    got = adoption_commitments.detect(commitment_con(D(2026, 9, 20)), [buy_rec()])
    assert len(got.adoptions) == 1
    a = got.adoptions[0]
    assert (a.action, a.action_date, a.to_state) == (
        "commitment-purchased",
        D(2026, 9, 12),
        "sp-1",
    )
    assert a.evidence == "Savings Plan sp-1 first charged on 2026-09-12"
    # Sep 13-20 (8 days): on-demand 100 (the list cost: contracted is 0), paid 70 + 5 unused
    assert (a.baseline_daily, a.after_daily, a.after_days) == (Decimal(100), Decimal(75), 8)
    assert a.realized_monthly == Decimal("760.94")  # 25 × 30.4375 = 760.9375
    # two days later, with 15.00 unused on Sep 21-22: (8 × 75 + 2 × 85) / 10 = 77 a day
    later = commitment_con(D(2026, 9, 22), {D(2026, 9, 21): "15", D(2026, 9, 22): "15"})
    stored = _Stored("rec-buy", D(2026, 9, 12), "aws/111/USD", "commitment", "sp-1")
    again = adoption_commitments.remeasured(later, [stored])
    assert (again[0]["baseline_daily"], again[0]["after_daily"]) == (Decimal(100), Decimal(77))
    assert again[0]["realized_monthly"] == Decimal("700.06")  # 23 × 30.4375 = 700.0625


def test_a_commitment_older_than_the_recommendation_or_elsewhere_is_not_its_adoption() -> None:
    from costline.optimize import adoption_commitments

    con = commitment_con(D(2026, 9, 20))
    # the bill before Sep 12: ri-old is older, sp-other is in another billing account
    assert adoption_commitments.detect(con, [buy_rec()], as_of=D(2026, 9, 12)).adoptions == []
    # recommended again on Sep 15, sized on the bill through Sep 14: sp-1 (Sep 12) predates it
    again = buy_rec(seen=D(2026, 9, 15), sized_until="2026-09-15 00:00:00")
    assert adoption_commitments.detect(con, [again]).adoptions == []
    # first seen Sep 15 but sized on the bill through Sep 9 (the bill lagged the clock):
    # sp-1 came after the data it was sized on, so it counts
    lagged = buy_rec(seen=D(2026, 9, 15))
    assert [a.action_date for a in adoption_commitments.detect(con, [lagged]).adoptions] == [
        D(2026, 9, 12)
    ]

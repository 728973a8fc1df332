"""Idle and waste rules on small bills written by hand: what each rule flags, what it saves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from costline.core.errors import BadInputError, ConfigError
from costline.optimize.waste import DAYS_PER_MONTH, find_waste, load_inventory
from costline.storage.duckdb import DuckDBWarehouse

DAY0 = dt.date(2026, 10, 1)
COLS = (
    "x_Provider, BillingAccountId, BillingPeriodStart, BillingPeriodEnd, ChargePeriodStart, "
    "ChargePeriodEnd, ChargeCategory, ServiceName, SubAccountId, RegionId, ResourceId, "
    "x_UsageType, ConsumedQuantity, BilledCost, EffectiveCost, BillingCurrency"
)


@pytest.fixture
def wh() -> DuckDBWarehouse:
    w = DuckDBWarehouse(None)
    w.ensure_schema()
    return w


def bill(
    wh: DuckDBWarehouse, resource: str, usage: str, cost: str, days: range, qty: str = "1"
) -> None:
    """One daily row per day of ``days`` (0 = 2026-10-01) for ``resource``."""
    for d in days:
        day = DAY0 + dt.timedelta(days=d)
        wh.con.execute(
            f"INSERT INTO cost ({COLS}) VALUES ('aws', 'payer', TIMESTAMP '2026-10-01', "
            "TIMESTAMP '2026-11-01', CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP) + INTERVAL 1 DAY, "
            "'Usage', 'Amazon Elastic Compute Cloud', '111', 'us-east-1', ?, ?, "
            "CAST(? AS DECIMAL(38, 10)), CAST(? AS DECIMAL(38, 10)), CAST(? AS DECIMAL(38, 10)), "
            "'USD')",
            [day, day, resource, usage, qty, cost, cost],
        )


def by_rule(findings: list) -> dict[tuple[str, str], Decimal]:  # type: ignore[type-arg]
    return {(f.rule, f.resource_id): f.monthly_savings for f in findings}


def test_bill_rules_flag_idle_ip_gp2_and_an_idle_load_balancer(wh: DuckDBWarehouse) -> None:
    bill(wh, "eipalloc-1", "USE1-PublicIPv4:IdleAddress", "0.12", range(30))
    bill(wh, "vol-gp2", "USE1-EBS:VolumeUsage.gp2", "3.00", range(30))
    bill(wh, "vol-gp3", "USE1-EBS:VolumeUsage.gp3", "2.40", range(30))  # already gp3
    # an ALB with hours and no capacity units, and one that serves traffic
    bill(wh, "alb/idle", "USE1-LoadBalancerUsage", "0.54", range(30))
    bill(wh, "alb/idle", "USE1-LCUUsage", "0", range(30), qty="0")
    bill(wh, "alb/busy", "USE1-LoadBalancerUsage", "0.54", range(30))
    bill(wh, "alb/busy", "USE1-LCUUsage", "1.20", range(30), qty="150")
    # an idle address released on day 10: gone, saves nothing now
    bill(wh, "eipalloc-gone", "USE1-ElasticIP:IdleAddress", "0.12", range(10))

    got = by_rule(find_waste(wh.con, lookback_days=30))

    per_day = {
        "ip": Decimal("0.12"),
        "gp2": Decimal("3.00") * Decimal("0.2"),
        "lb": Decimal("0.54"),
    }
    assert got == {
        ("unassociated-address", "eipalloc-1"): (per_day["ip"] * DAYS_PER_MONTH).quantize(
            Decimal("0.01")
        ),
        ("gp2-to-gp3", "vol-gp2"): (per_day["gp2"] * DAYS_PER_MONTH).quantize(Decimal("0.01")),
        ("idle-load-balancer", "alb/idle"): (per_day["lb"] * DAYS_PER_MONTH).quantize(
            Decimal("0.01")
        ),
    }


def test_monthly_figures_use_the_days_a_resource_was_billed(wh: DuckDBWarehouse) -> None:
    # created on day 20 of a 30-day window: 10 billed days of 0.50 → 0.50 a day
    bill(wh, "eipalloc-new", "USE1-PublicIPv4:IdleAddress", "0.50", range(20, 30))
    (finding,) = find_waste(wh.con, lookback_days=30)
    assert finding.monthly_cost == (Decimal("0.50") * DAYS_PER_MONTH).quantize(Decimal("0.01"))
    assert finding.last_seen == DAY0 + dt.timedelta(days=29)
    assert "billed 10 of the 30 days" in finding.evidence


def test_inventory_rules_need_the_inventory(wh: DuckDBWarehouse, tmp_path: Path) -> None:
    bill(wh, "vol-free", "USE1-EBS:VolumeUsage.gp3", "1.60", range(30))
    bill(wh, "vol-used", "USE1-EBS:VolumeUsage.gp3", "1.60", range(30))
    bill(wh, "snap-orphan", "USE1-EBS:SnapshotUsage", "0.25", range(30))
    bill(wh, "snap-kept", "USE1-EBS:SnapshotUsage", "0.25", range(30))
    assert find_waste(wh.con) == []  # no inventory: nothing to say about volumes
    inv = tmp_path / "inventory.csv"
    inv.write_text(
        "resource_id,resource_type,state,source_id\n"
        "vol-free,volume,available,\n"
        "vol-used,volume,in-use,\n"
        "snap-orphan,snapshot,completed,vol-deleted\n"
        "snap-kept,snapshot,completed,vol-used\n"
    )
    assert load_inventory(wh.con, inv) == 4
    got = {(f.rule, f.resource_id): f.confidence for f in find_waste(wh.con)}
    assert got == {
        ("unattached-volume", "vol-free"): "high",
        ("orphan-snapshot", "snap-orphan"): "medium",
    }
    # loading a newer snapshot replaces the old one: the volume got attached
    inv.write_text("resource_id,resource_type,state\nvol-free,volume,in-use\n")
    load_inventory(wh.con, inv)
    assert find_waste(wh.con) == []


def test_rules_and_window_are_selectable(wh: DuckDBWarehouse) -> None:
    bill(wh, "eipalloc-1", "USE1-PublicIPv4:IdleAddress", "0.12", range(30))
    bill(wh, "vol-gp2", "USE1-EBS:VolumeUsage.gp2", "3.00", range(30))
    only = find_waste(wh.con, rules=("gp2-to-gp3",))
    assert [f.rule for f in only] == ["gp2-to-gp3"]
    # a window ending before anything was billed finds nothing
    assert find_waste(wh.con, as_of=DAY0 - dt.timedelta(days=1)) == []
    with pytest.raises(ConfigError, match="unknown waste rule"):
        find_waste(wh.con, rules=("zombie",))
    with pytest.raises(ConfigError, match="too short"):
        find_waste(wh.con, lookback_days=1)


def test_empty_store_says_so(wh: DuckDBWarehouse) -> None:
    with pytest.raises(ConfigError, match="empty"):
        find_waste(wh.con)


@pytest.mark.parametrize(
    ("text", "column", "row"),
    [
        ("resource_id,state\nv1,available\n", "resource_type", None),
        ("resource_id,resource_type,state\n,volume,available\n", "resource_id", 1),
        (
            "resource_id,resource_type,state\nv1,volume,available\nv2,disk,available\n",
            "resource_type",
            2,
        ),
    ],
)
def test_bad_inventory_names_file_row_and_column(
    wh: DuckDBWarehouse, tmp_path: Path, text: str, column: str, row: int | None
) -> None:
    path = tmp_path / "inv.csv"
    path.write_text(text)
    with pytest.raises(BadInputError) as err:
        load_inventory(wh.con, path)
    loc = err.value.location
    assert loc is not None and loc.file == str(path) and loc.column == column and loc.row == row


def test_missing_inventory_file(wh: DuckDBWarehouse, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="not found"):
        load_inventory(wh.con, tmp_path / "nope.csv")


def telemetry(wh: DuckDBWarehouse, resource: str, metric: str, value: float, hours: int) -> None:
    """One sample an hour from 2026-10-01 00:00 for ``hours`` hours."""
    from costline.optimize.telemetry import ensure_table

    ensure_table(wh.con)
    wh.con.execute(
        "INSERT INTO telemetry SELECT ?, TIMESTAMP '2026-10-01' + to_hours(CAST(h AS BIGINT)), "
        "?, ?, 'test' FROM range(?) t(h)",
        [resource, metric, value, hours],
    )


def test_idle_instance_needs_low_cpu_low_network_and_enough_hours(wh: DuckDBWarehouse) -> None:
    for rid in ("i-idle", "i-busy", "i-chatty", "i-short", "i-nonet"):
        bill(wh, rid, "USE1-BoxUsage:m5.large", "2.30", range(30))
    hours = 30 * 24
    telemetry(wh, "i-idle", "cpu_percent", 1.5, hours)
    telemetry(wh, "i-idle", "network_in_bytes", 1000.0, hours)  # 24 kB a day
    telemetry(wh, "i-busy", "cpu_percent", 1.5, hours)
    telemetry(wh, "i-busy", "cpu_percent", 35.0, 1)  # one busy hour: not idle
    telemetry(wh, "i-chatty", "cpu_percent", 1.0, hours)
    telemetry(wh, "i-chatty", "network_out_bytes", 1_000_000.0, hours)  # 24 MB a day
    telemetry(wh, "i-short", "cpu_percent", 0.5, 29)  # under 30 hours of data
    telemetry(wh, "I-NONET", "cpu_percent", 0.5, hours)  # ids compare case-insensitively
    found = {f.resource_id: f for f in find_waste(wh.con, rules=("idle-instance",))}
    assert set(found) == {"i-idle", "i-nonet"}
    assert found["i-idle"].confidence == "high"
    assert found["i-nonet"].confidence == "medium"
    assert "not measured" in found["i-nonet"].evidence
    want = (Decimal("2.30") * DAYS_PER_MONTH).quantize(Decimal("0.01"))
    assert found["i-idle"].monthly_savings == found["i-idle"].monthly_cost == want


def _instance(wh: DuckDBWarehouse, rid: str, itype: str, hourly: str, days: range) -> None:
    for d in days:
        day = DAY0 + dt.timedelta(days=d)
        wh.con.execute(
            "INSERT INTO cost (x_Provider, BillingAccountId, BillingPeriodStart, ChargePeriodStart, "
            "ChargePeriodEnd, ChargeCategory, ServiceName, SubAccountId, RegionId, ResourceId, "
            "x_InstanceType, PricingQuantity, EffectiveCost, BilledCost, BillingCurrency) VALUES "
            "('aws', 'payer', TIMESTAMP '2026-10-01', CAST(? AS TIMESTAMP), "
            "CAST(? AS TIMESTAMP) + INTERVAL 1 DAY, 'Usage', 'Amazon Elastic Compute Cloud', "
            "'111', 'us-east-1', ?, ?, 24, CAST(? AS DECIMAL(38, 10)) * 24, "
            "CAST(? AS DECIMAL(38, 10)) * 24, 'USD')",
            [day, day, rid, itype, hourly, hourly],
        )


def _cheapest_current_twin(reference: Path, vcpu: str, memory: float) -> tuple[str, Decimal]:
    """From the reference CSVs: the cheapest current m-class Intel/AMD type (generation 5+)
    with ``vcpu`` vCPUs and at least ``memory`` GiB, at its us-east-1 list price."""
    import csv
    import re

    prices = {}
    with (reference / "pricing" / "aws_ec2_ondemand_linux_usd_per_hour.csv").open() as fh:
        for r in csv.DictReader(fh):
            if r["region"] == "us-east-1":
                prices[r["instance_type"]] = Decimal(r["usd_per_hour"])
    best: tuple[str, Decimal] | None = None
    with (reference / "pricing" / "aws_ec2_instance_specs.csv").open() as fh:
        for r in csv.DictReader(fh):
            m = re.fullmatch(r"m(\d+)([a-z-]*)", r["family"])
            if not m or int(m[1]) < 5 or m[2] not in ("", "i", "a") or r["arch"] != "amd64":
                continue
            if r["current_generation_per_aws_pricelist"] == "false" or r["size"].startswith(
                "metal"
            ):
                continue
            if (
                r["vcpu"] != vcpu
                or float(r["memory_gib"]) < memory
                or r["gpu_count"] not in ("", "0")
            ):
                continue
            price = prices.get(r["instance_type"])
            if price is not None and (best is None or price < best[1]):
                best = (r["instance_type"], price)
    assert best is not None
    return best


def test_previous_generation_moves_to_the_cheapest_current_twin(
    wh: DuckDBWarehouse, reference: Path
) -> None:
    _instance(wh, "i-m4", "m4.large", "0.08", range(30))  # list 0.10, billed 20 % below
    _instance(wh, "i-m6i", "m6i.large", "0.0768", range(30))  # current: nothing to say
    (finding,) = find_waste(wh.con, rules=("previous-generation",))
    twin, list_price = _cheapest_current_twin(reference, "2", 8.0)
    new_hourly = list_price * Decimal("0.08") / Decimal("0.1")  # the same discount
    assert finding.resource_id == "i-m4" and twin in finding.evidence
    assert finding.monthly_cost == (Decimal("0.08") * 730).quantize(Decimal("0.01"))
    assert finding.monthly_savings == ((Decimal("0.08") - new_hourly) * 730).quantize(
        Decimal("0.01")
    )

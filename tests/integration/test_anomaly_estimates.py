"""Estimated cost before the bill: usage × price loaded ahead of the bill, scored by detection,
replaced by the bill when it arrives, and reconciled with it.

The bill (AWS, July and August 2024): S3 requests in us-east-1, 2,400,000 a day for $24
(an effective rate of $24 / 2,400,000 = $0.00001 a request), and EC2 at $200 a day. Every
expected number below is computed from those rows by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from costline.anomaly import store
from costline.cli.main import app
from costline.core.errors import BadInputError
from costline.notify.bridge import alert_of
from costline.workspace import Workspace
from tests.focus_files import COLUMNS, write_focus_csv
from tests.integration.test_anomaly_detect import row as daily_row

COLS = (
    *COLUMNS,
    "SubAccountId",
    "ResourceId",
    "RegionId",
    "SkuId",
    "SkuPriceId",
    "ChargeFrequency",
    "ConsumedQuantity",
    "ConsumedUnit",
    "PricingQuantity",
    "PricingUnit",
    "x_UsageType",
)
START = dt.date(2024, 7, 1)
AUG_31 = dt.date(2024, 8, 31)  # the bill's last day
SPIKE_DAY = dt.date(2024, 9, 3)
RATE = Decimal("0.00001")  # $24 / 2,400,000 requests
SERVICE = [{"id": "svc", "by": ["ServiceName"], "root_cause": ["x_UsageType", "RegionId"]}]


def row(
    day: dt.date,
    service: str,
    usage_type: str,
    cost: Decimal | int,
    quantity: int,
    *,
    region: str = "us-east-1",
) -> dict[str, Any]:
    """A daily bill row (``test_anomaly_detect.row``) with quantities and a usage type."""
    unit = "Requests" if service == "S3" else "Hours"
    return daily_row(
        day,
        service,
        usage_type,
        cost,
        SkuPriceId=usage_type,
        RegionId=region,
        ConsumedQuantity=str(quantity),
        ConsumedUnit=unit,
        PricingQuantity=str(quantity),
        PricingUnit=unit,
        x_UsageType=usage_type,
    )


def bill_rows(first: dt.date, last: dt.date, s3: dict[dt.date, int] | None = None) -> list:
    """S3 requests ($24 a day unless ``s3`` says otherwise, at $0.00001) and EC2 ($200)."""
    rows = []
    day = first
    while day <= last:
        cost = (s3 or {}).get(day, 24)
        rows.append(row(day, "S3", "Requests", cost, int(Decimal(cost) / RATE)))
        rows.append(row(day, "EC2", "BoxUsage", 200, 100))
        day += dt.timedelta(days=1)
    return rows


def ingest(ws: Workspace, path: Path, rows: list) -> None:
    report = ws.ingest([write_focus_csv(path, rows, COLS)])
    assert not report.failed, [o.message for o in report.failed]


def workspace(tmp_path: Path, *, rows: list | None = None, **anomalies: Any) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    doc = yaml.safe_load((ws.root / "costline.yaml").read_text())
    doc["anomalies"] = {"monitors": SERVICE, **anomalies}
    (ws.root / "costline.yaml").write_text(yaml.safe_dump(doc))
    ws = Workspace.open(ws.root)
    rows = rows if rows is not None else bill_rows(START, AUG_31)
    for month in ("07", "08"):
        part = [r for r in rows if r["BillingPeriodStart"].startswith(f"2024-{month}")]
        if part:
            ingest(ws, tmp_path / f"bill-{month}.csv", part)
    return ws


def write_usage(path: Path, rows: list[dict[str, Any]]) -> Path:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def hourly_usage(path: Path) -> Path:
    """Sep 1-4, S3 requests: 100,000 an hour on s3-main ($1 an hour at the observed rate,
    $24 a day), plus a retry storm on Sep 3, 10:00-14:00: 10,000,000 requests an hour for
    5 hours on bucket-uploads (5 × 10,000,000 × $0.00001 = $500)."""
    rows = []
    for d in range(1, 5):
        for h in range(24):
            stamp = f"2024-09-0{d}T{h:02d}:00:00Z"
            base = {"timestamp": stamp, "provider": "aws", "account": "acct-1"}
            base |= {"service": "S3", "usage_type": "Requests", "region": "us-east-1"}
            rows.append({**base, "resource": "s3-main", "quantity": "100000"})
            if d == 3 and 10 <= h < 15:
                rows.append({**base, "resource": "bucket-uploads", "quantity": "10000000"})
    return write_usage(path, rows)


def anomalies(ws: Workspace) -> list[dict[str, Any]]:
    res = ws.query(
        "SELECT id, status, kind, first_day, last_day, expected, actual, impact, days, "
        "root_cause, revision, estimated, reason FROM anomalies ORDER BY first_day, id"
    )
    return [dict(zip(res.columns, r, strict=True)) for r in res.rows]


def estimated_spike(tmp_path: Path) -> tuple[Workspace, dict[str, Any]]:
    ws = workspace(tmp_path)
    loaded = ws.load_usage(hourly_usage(tmp_path / "usage.csv"))
    # 4 × 24 hours + 5 storm rows, all priced from the bill's rate in us-east-1
    assert (loaded["rows"], loaded["priced_from_bill"], loaded["skipped"]) == (101, 101, 0)
    assert loaded["cost"] == {"USD": Decimal(4 * 24 + 500)}
    report = ws.detect_anomalies(since="2024-09-01")
    assert report.estimated_through == dt.date(2024, 9, 4)
    assert report.last_day == dt.date(2024, 9, 4)
    # S3 is scored on 4 estimated days; EC2 has no estimate and ends with the bill (Aug 31)
    assert (report.series, report.points) == (2, 4)
    found = anomalies(ws)
    assert len(found) == 1 and report.opened == [found[0]["id"]]
    return ws, found[0]


def test_spike_in_usage_opens_an_estimated_anomaly(tmp_path: Path) -> None:
    ws, a = estimated_spike(tmp_path)
    assert (a["first_day"], a["last_day"], a["kind"], a["status"]) == (
        SPIKE_DAY,
        SPIKE_DAY,
        "spike",
        "open",  # one normal day after it (Sep 4) < resolve_after_days
    )
    # baseline: $24 a day; the day: 24 + 500
    assert (a["expected"], a["actual"], a["impact"]) == (Decimal(24), Decimal(524), Decimal(500))
    assert a["estimated"] is True
    assert json.loads(a["days"])["2024-09-03"]["estimated"] is True
    cause = json.loads(a["root_cause"])
    assert cause["top_resources"][0] == {"value": "bucket-uploads", "delta": "500.00", "share": 1.0}
    listed = ws.anomalies(status="open")
    assert listed.rows[0][listed.columns.index("kind")] == "spike (estimated)"
    with ws.warehouse() as wh:
        rows = store.alertable(wh.con, [a["id"]], ws.config.anomalies)
    assert alert_of(rows[0], link=None).title == "Spend spike (estimated): ServiceName=S3"


def test_bill_replaces_the_estimate_in_detection(tmp_path: Path) -> None:
    ws, a = estimated_spike(tmp_path)
    # the September bill arrives for Sep 1-3: the storm was real but cost $300, not $500
    ingest(
        ws, tmp_path / "bill-09.csv", bill_rows(dt.date(2024, 9, 1), SPIKE_DAY, {SPIKE_DAY: 324})
    )
    report = ws.detect_anomalies(since="2024-09-01")
    assert report.estimated_through == dt.date(2024, 9, 4)  # Sep 4 is still an estimate
    after = anomalies(ws)
    assert len(after) == 1 and report.updated == [a["id"]]
    b = after[0]
    # billed values: 24 + 300, no longer estimated
    assert (b["actual"], b["impact"], b["revision"]) == (Decimal(324), Decimal(300), 2)
    assert b["estimated"] is False
    assert "estimated" not in json.loads(b["days"])["2024-09-03"]
    table, settled = ws.reconcile_estimates(days=14)
    got = [dict(zip(table.columns, r, strict=True)) for r in table.rows]
    # Sep 1-3 are both estimated and billed; EC2 has no estimate; Sep 4 has no bill
    assert [(r["day"], r["service"], r["estimated"], r["billed"]) for r in got] == [
        (dt.date(2024, 9, 1), "S3", Decimal(24), Decimal(24)),
        (dt.date(2024, 9, 2), "S3", Decimal(24), Decimal(24)),
        (dt.date(2024, 9, 3), "S3", Decimal(524), Decimal(324)),
    ]
    assert got[2]["difference"] == Decimal(-200)
    assert got[2]["difference_pct"] == pytest.approx(-38.17)  # -200 / 524
    assert got[0]["difference_pct"] == 0.0
    assert settled.rows == []  # detection already settled the day with the bill


def test_reconcile_resolves_a_spike_the_bill_does_not_have(tmp_path: Path) -> None:
    ws, a = estimated_spike(tmp_path)
    ingest(ws, tmp_path / "bill-09.csv", bill_rows(dt.date(2024, 9, 1), SPIKE_DAY))
    ws.detect_anomalies(since="2024-09-01")
    assert anomalies(ws)[0]["estimated"] is True  # the billed day is normal: nothing flags it
    table, settled = ws.reconcile_estimates(days=14)
    sep3 = dict(zip(table.columns, table.rows[-1], strict=True))
    assert (sep3["estimated"], sep3["billed"], sep3["difference"]) == (
        Decimal(524),
        Decimal(24),
        Decimal(-500),
    )
    assert sep3["difference_pct"] == pytest.approx(-95.42)  # -500 / 524
    done = [dict(zip(settled.columns, r, strict=True)) for r in settled.rows]
    assert done == [
        {
            "id": a["id"],
            "monitor": "svc",
            "series": "ServiceName=S3",
            "days": "2024-09-03",
            "estimated": Decimal("524.00"),
            "billed": Decimal("24.00"),
            "outcome": "not in the bill",
            "status": "resolved",
        }
    ]
    b = anomalies(ws)[0]
    assert b["status"] == "resolved" and b["estimated"] is False
    assert b["reason"] == "not in the bill: billed 24.00 vs estimated 524.00 USD"
    day = json.loads(b["days"])["2024-09-03"]
    assert (day["actual"], day["estimated_actual"], day["reconciled"]) == (
        24.0,
        524.0,
        "not in the bill",
    )
    assert (b["actual"], b["impact"]) == (Decimal(24), Decimal(0))
    # settling again changes nothing
    assert ws.reconcile_estimates(days=14)[1].rows == []
    assert anomalies(ws) == [b]


def test_estimates_off_in_config(tmp_path: Path) -> None:
    ws = workspace(tmp_path, estimates=False)
    ws.load_usage(hourly_usage(tmp_path / "usage.csv"))
    report = ws.detect_anomalies(since="2024-09-01")
    assert report.estimated_through is None and report.last_day == AUG_31
    assert anomalies(ws) == []


def test_price_from_the_observed_effective_rate(tmp_path: Path) -> None:
    # us-east-1: $24 a day for 2,400,000 requests, except Aug 1 and July at $48 (older than
    # the 30 billed days Aug 2..31, so out of the rate); eu-west-1: $36 a day for 2,400,000
    s3 = {START + dt.timedelta(days=i): 48 for i in range(32)}  # Jul 1 .. Aug 1
    rows = bill_rows(START, AUG_31, s3)
    day = dt.date(2024, 8, 2)
    while day <= AUG_31:
        rows.append(row(day, "S3", "Requests", 36, 2_400_000, region="eu-west-1"))
        day += dt.timedelta(days=1)
    ws = workspace(tmp_path, rows=rows)
    base = {"timestamp": "2024-09-01", "provider": "aws", "account": "acct-1", "service": "S3"}
    base["usage_type"] = "Requests"
    usage = write_usage(
        tmp_path / "daily.csv",
        [
            {**base, "region": "us-east-1", "quantity": "1000000", "unit_price": ""},
            {**base, "region": "eu-west-1", "quantity": "1000000", "unit_price": ""},
            {**base, "region": "ap-south-1", "quantity": "1000000", "unit_price": ""},
            {**base, "region": "", "quantity": "2000000", "unit_price": ""},
            {**base, "region": "us-east-1", "quantity": "1000000", "unit_price": "0.00002"},
        ],
    )
    loaded = ws.load_usage(usage)
    assert (loaded["priced_from_file"], loaded["priced_from_bill"]) == (1, 4)
    got = ws.query(
        "SELECT RegionId, unit_price, price_source, EffectiveCost, BillingCurrency, hour "
        "FROM estimated_cost ORDER BY EffectiveCost"
    ).rows
    across = Decimal(30 * 24 + 30 * 36) / Decimal(30 * 2_400_000 * 2)  # both regions: 0.0000125
    assert across == Decimal("0.0000125")
    assert [(r[0], r[1], r[2], r[3]) for r in got] == [
        ("us-east-1", RATE, "bill-region", Decimal(10)),  # 1,000,000 × 0.00001
        ("ap-south-1", across, "bill", Decimal("12.5")),  # no bill in the region: all regions
        ("eu-west-1", Decimal("0.000015"), "bill-region", Decimal(15)),  # 36 / 2,400,000
        ("us-east-1", Decimal("0.00002"), "file", Decimal(20)),
        (None, across, "bill", Decimal(25)),  # 2,000,000 × 0.0000125
    ]
    assert {r[4] for r in got} == {"USD"} and {r[5] for r in got} == {None}  # daily rows


def test_reload_replaces_the_file_rows(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    usage = hourly_usage(tmp_path / "usage.csv")
    ws.load_usage(usage)
    ws.load_usage(usage)
    total = "SELECT count(*), SUM(EffectiveCost), count(DISTINCT loaded_at) FROM estimated_cost"
    assert ws.query(total).rows == [(101, Decimal(596), 1)]
    base = {"provider": "aws", "account": "acct-1", "service": "S3", "usage_type": "Requests"}
    write_usage(usage, [{"timestamp": "2024-09-01T00:00:00Z", **base, "quantity": "100000"}])
    ws.load_usage(usage)
    assert ws.query(total).rows == [(1, Decimal(1), 1)]


def usage_error(ws: Workspace, path: Path, rows: list[dict[str, Any]], **kw: Any) -> str:
    with pytest.raises(BadInputError) as err:
        ws.load_usage(write_usage(path, rows), **kw)
    return str(err.value)


def test_bad_usage_input(tmp_path: Path) -> None:
    ws = workspace(tmp_path, rows=bill_rows(dt.date(2024, 8, 1), AUG_31))
    f = tmp_path / "bad.csv"
    good = {"timestamp": "2024-09-01T10:00:00Z", "provider": "aws", "account": "acct-1"}
    good |= {"service": "S3", "usage_type": "Requests", "quantity": "5"}
    no_qty = {k: v for k, v in good.items() if k != "quantity"}
    msg = usage_error(ws, f, [no_qty])
    assert f"{f}, column 'quantity': usage file lacks column quantity" in msg
    assert "fix: write a CSV or Parquet file with the columns" in msg
    msg = usage_error(ws, f, [{k: v for k, v in good.items() if k != "provider"}])
    assert "lacks column provider" in msg and "pass --provider" in msg
    # the option fills the provider of a file without one
    assert ws.load_usage(f, provider="aws")["rows"] == 1
    msg = usage_error(ws, f, [good, {**good, "quantity": "12,5"}])
    assert f"{f}, row 2, column 'quantity', value '12,5': quantity '12,5' is not valid" in msg
    assert "plain non-negative numbers" in msg
    msg = usage_error(ws, f, [{**good, "timestamp": "yesterday"}])
    assert "row 1, column 'timestamp', value 'yesterday'" in msg and "ISO 8601" in msg
    msg = usage_error(ws, f, [good, good, {**good, "provider": "awz"}])
    assert "row 3, column 'provider', value 'awz': provider 'awz' has no bill" in msg
    assert "fix: use a provider of an ingested bill (aws)" in msg
    unpriced = {**good, "usage_type": "Requests-Tier9"}
    msg = usage_error(ws, f, [good, unpriced, unpriced])
    assert f"{f}, row 2, column 'unit_price': 2 row(s) have no unit_price" in msg
    assert "aws/S3/Requests-Tier9/-/USD (2 row(s))" in msg and "--skip-unpriced" in msg
    loaded = ws.load_usage(f, skip_unpriced=True)
    assert (loaded["rows"], loaded["skipped"]) == (1, 2)


def test_cli_usage_load_and_reconcile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = workspace(tmp_path)
    ingest(ws, tmp_path / "bill-09.csv", bill_rows(dt.date(2024, 9, 1), dt.date(2024, 9, 2)))
    usage = hourly_usage(tmp_path / "usage.csv")
    monkeypatch.setenv("COSTLINE_WORKSPACE", str(ws.root))
    runner = CliRunner()
    done = runner.invoke(app, ["anomalies", "usage", "load", str(usage), "--format", "json"])
    assert done.exit_code == 0, done.output
    assert {"item": "rows", "value": 101} in json.loads(done.stdout)
    done = runner.invoke(app, ["anomalies", "usage", "reconcile", "--format", "json"])
    assert done.exit_code == 0, done.output
    assert [(r["day"], r["estimated"], r["billed"]) for r in json.loads(done.stdout)] == [
        ("2024-09-01", 24, 24),
        ("2024-09-02", 24, 24),
    ]
    bad = runner.invoke(app, ["anomalies", "usage", "load", str(tmp_path / "missing.csv")])
    assert isinstance(bad.exception, BadInputError) and "file not found" in str(bad.exception)


def test_parquet_usage_with_typed_columns(tmp_path: Path) -> None:
    import duckdb

    ws = workspace(tmp_path, rows=bill_rows(dt.date(2024, 8, 1), AUG_31))
    path = tmp_path / "usage.parquet"
    duckdb.sql(
        "COPY (SELECT TIMESTAMP '2024-09-01 10:00:00' + INTERVAL (h) HOUR AS timestamp, "
        "'aws' AS x_Provider, 'acct-1' AS SubAccountId, 'S3' AS ServiceName, "
        "'Requests' AS x_UsageType, 'us-east-1' AS RegionId, 100000.0 AS quantity "
        f"FROM range(3) t(h)) TO '{path}' (FORMAT parquet)"
    )
    assert ws.load_usage(path)["cost"] == {"USD": Decimal(3)}  # 3 × 100,000 × 0.00001
    hours = ws.query("SELECT hour FROM estimated_cost ORDER BY hour").rows
    assert [h[0].hour for h in hours] == [10, 11, 12]

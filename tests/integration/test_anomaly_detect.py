"""Anomaly detection over a real workspace: FOCUS files ingested, monitors run, anomalies kept.

Every expected number is computed here from the rows the test writes: the bill is $80/day of
S3 storage + $20/day of S3 requests + $200/day of EC2 for 62 days (July and August 2024),
constant, so the detector's baseline of each series is exactly its daily cost.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from costline.anomaly import store
from costline.core.errors import BadInputError
from costline.workspace import Workspace
from tests.focus_files import COLUMNS, focus_row, write_focus_csv

COLS = (*COLUMNS, "SubAccountId", "ResourceId", "RegionId", "SkuId", "ChargeFrequency")
START = dt.date(2024, 7, 1)
DAYS = 62  # 2024-07-01 .. 2024-08-31
SPIKE_DAY = dt.date(2024, 8, 20)
SPIKE = Decimal(500)


def row(day: dt.date, service: str, sku: str, cost: Decimal | int, **extra: Any) -> dict[str, Any]:
    month = day.replace(day=1)
    nxt = (month + dt.timedelta(days=32)).replace(day=1)
    r = focus_row(
        BillingPeriodStart=f"{month}T00:00:00Z",
        BillingPeriodEnd=f"{nxt}T00:00:00Z",
        ChargePeriodStart=f"{day}T00:00:00Z",
        ChargePeriodEnd=f"{day + dt.timedelta(days=1)}T00:00:00Z",
        BilledCost=str(cost),
        EffectiveCost=str(cost),
        ListCost=str(cost),
        ContractedCost=str(cost),
        ServiceName=service,
        SkuId=sku,
        SubAccountId="acct-1",
        ResourceId=extra.pop("ResourceId", f"{service.lower()}-main"),
        RegionId="us-east-1",
        ChargeFrequency=extra.pop("ChargeFrequency", "Usage-Based"),
        ChargeCategory=extra.pop("ChargeCategory", "Usage"),
    )
    r.update(extra)
    return r


def bill(*, spike: bool = True, extra: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    rows = []
    for i in range(DAYS):
        day = START + dt.timedelta(days=i)
        rows.append(row(day, "S3", "storage", 80))
        rows.append(row(day, "S3", "requests", 20))
        rows.append(row(day, "EC2", "box", 200))
    if spike:  # a retry storm: $500 of requests on one bucket
        rows.append(row(SPIKE_DAY, "S3", "requests", SPIKE, ResourceId="bucket-uploads"))
    return rows + (extra or [])


def workspace(
    tmp_path: Path,
    rows: list[dict[str, Any]],
    monitors: Any = None,
    columns: tuple[str, ...] = COLS,
) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    if monitors is not None:
        doc = yaml.safe_load((ws.root / "costline.yaml").read_text())
        doc["anomalies"] = {"monitors": monitors}
        (ws.root / "costline.yaml").write_text(yaml.safe_dump(doc))
        ws = Workspace.open(ws.root)
    files = []
    for month in ("07", "08"):
        part = [r for r in rows if r["BillingPeriodStart"].startswith(f"2024-{month}")]
        files.append(write_focus_csv(tmp_path / f"bill-{month}.csv", part, columns))
    report = ws.ingest(files)
    assert not report.failed, [o.message for o in report.failed]
    return ws


SERVICE = [{"id": "svc", "by": ["ServiceName"], "root_cause": ["SkuId", "RegionId"]}]


def anomalies(ws: Workspace) -> list[dict[str, Any]]:
    res = ws.query(
        "SELECT id, monitor, dims, status, kind, first_day, last_day, expected, actual, impact, "
        "impact_pct, root_cause, revision, team FROM anomalies ORDER BY first_day, id"
    )
    return [dict(zip(res.columns, r, strict=True)) for r in res.rows]


def test_spike_opens_one_anomaly_with_root_cause(tmp_path: Path) -> None:
    ws = workspace(tmp_path, bill(), SERVICE)
    report = ws.detect_anomalies(since="2024-08-01")
    found = anomalies(ws)
    assert len(found) == 1, found
    a = found[0]
    assert json.loads(a["dims"]) == {"ServiceName": "S3"}
    assert (a["first_day"], a["last_day"]) == (SPIKE_DAY, SPIKE_DAY)
    # baseline = the constant $100/day of S3; actual = 100 + 500
    assert a["expected"] == Decimal(100)
    assert a["actual"] == Decimal(100) + SPIKE
    assert a["impact"] == SPIKE
    assert a["impact_pct"] == pytest.approx(500.0)
    assert a["kind"] == "spike"
    # 11 days of August after the spike are normal (≥ resolve_after_days = 2): resolved
    assert a["status"] == "resolved"
    assert report.opened == [a["id"]] and report.resolved == [a["id"]]
    cause = json.loads(a["root_cause"])
    # requests: 520 on the day − 20 a day before = +500, all of the change
    assert cause["dimensions"]["SkuId"][0] == {"value": "requests", "delta": "500.00", "share": 1.0}
    assert cause["dimensions"]["RegionId"][0]["delta"] == "500.00"
    assert cause["top_resources"][0] == {"value": "bucket-uploads", "delta": "500.00", "share": 1.0}
    # EC2 ($200/day, constant) raises nothing; 2 series × 31 days evaluated
    assert report.series == 2
    assert report.points == 2 * 31


def test_rerun_is_idempotent_and_updates_instead_of_duplicating(tmp_path: Path) -> None:
    ws = workspace(tmp_path, bill(), SERVICE)
    ws.detect_anomalies(since="2024-08-01")
    first = anomalies(ws)
    again = ws.detect_anomalies(since="2024-08-01")
    assert anomalies(ws) == first
    assert again.opened == [] and again.updated == []


def test_open_anomaly_is_updated_when_the_spike_continues(tmp_path: Path) -> None:
    # the storm lasts two days, the second day arrives in a later run
    late = row(SPIKE_DAY + dt.timedelta(days=1), "S3", "requests", 300, ResourceId="bucket-uploads")
    rows = [r for r in bill() if r["ChargePeriodStart"] < f"{SPIKE_DAY + dt.timedelta(days=1)}"]
    ws = workspace(tmp_path, rows, SERVICE)
    ws.detect_anomalies(since="2024-08-01")
    (a,) = anomalies(ws)
    assert a["status"] == "open" and a["revision"] == 1
    # the next day's data lands: same series, one anomaly, revision 2, impact 500 + 300
    path = write_focus_csv(
        tmp_path / "bill-08b.csv",
        [*(r for r in bill() if r["BillingPeriodStart"].startswith("2024-08")), late],
        COLS,
    )
    ws.ingest([path])
    report = ws.detect_anomalies(since="2024-08-01")
    (b,) = anomalies(ws)
    assert b["id"] == a["id"] and b["revision"] == 2
    assert b["impact"] == SPIKE + 300
    assert b["last_day"] == SPIKE_DAY + dt.timedelta(days=1)
    assert report.updated == [a["id"]]


def test_fees_credits_and_dollar_gates(tmp_path: Path) -> None:
    extra = [
        # a commitment fee posted on the 1st: planned, not an anomaly
        row(dt.date(2024, 8, 1), "EC2", "sp-fee", 9000, ChargeFrequency="Recurring"),
        # a credit: not spend
        row(dt.date(2024, 8, 10), "EC2", "credit", -3000, ChargeCategory="Credit"),
        # +$40 on S3 is 40 %, but under the $50 gate
        row(dt.date(2024, 8, 5), "S3", "requests", 40),
    ]
    ws = workspace(tmp_path, bill(spike=False, extra=extra), SERVICE)
    report = ws.detect_anomalies(since="2024-08-01")
    assert anomalies(ws) == []
    assert report.opened == []


def test_new_series_alerts_once_on_cold_start(tmp_path: Path) -> None:
    new = [row(dt.date(2024, 8, d), "SageMaker", "notebook", 300) for d in range(25, 32)]
    ws = workspace(tmp_path, bill(spike=False, extra=new), SERVICE)
    ws.detect_anomalies(since="2024-08-01")
    (a,) = anomalies(ws)
    assert json.loads(a["dims"]) == {"ServiceName": "SageMaker"}
    assert a["kind"] == "new"
    assert (a["first_day"], a["last_day"]) == (dt.date(2024, 8, 25), dt.date(2024, 8, 25))
    assert a["expected"] == 0 and a["actual"] == 300


def test_a_series_that_was_new_before_the_evaluated_days_is_not_new_again(
    tmp_path: Path,
) -> None:
    """A batch job's series born on Aug 5 with $300, quiet, then $250 on Aug 9 (too little
    history for a baseline yet): evaluated from Aug 8 (a nightly run, or `--since`), the
    series is no longer new; its first day was (evaluated from Aug 1)."""
    job = [
        row(dt.date(2024, 8, 5), "Batch", "job", 300),
        row(dt.date(2024, 8, 9), "Batch", "job", 250),
    ]
    ws = workspace(tmp_path, bill(spike=False, extra=job), SERVICE)
    ws.detect_anomalies(since="2024-08-08")
    assert [a for a in anomalies(ws) if a["kind"] == "new"] == []
    fresh = workspace(tmp_path / "again", bill(spike=False, extra=job), SERVICE)
    fresh.detect_anomalies(since="2024-08-01")
    news = [a for a in anomalies(fresh) if a["kind"] == "new"]
    assert [(a["first_day"], a["actual"]) for a in news] == [(dt.date(2024, 8, 5), 300)]


def test_drop_needs_direction(tmp_path: Path) -> None:
    rows = [
        r
        for r in bill(spike=False)
        if not (r["ServiceName"] == "EC2" and r["ChargePeriodStart"].startswith("2024-08-15"))
    ]
    ws = workspace(tmp_path, rows, SERVICE)
    ws.detect_anomalies(since="2024-08-01")
    assert anomalies(ws) == []  # direction: up (default)
    both = [{**SERVICE[0], "direction": "both"}]
    ws2 = workspace(tmp_path / "b", rows, both)
    ws2.detect_anomalies(since="2024-08-01")
    (a,) = anomalies(ws2)
    assert a["kind"] == "drop" and a["impact"] == -200  # EC2 spent 0 instead of 200


def test_feedback_dismiss_raises_threshold_and_expected_masks_days(tmp_path: Path) -> None:
    ws = workspace(tmp_path, bill(), SERVICE)
    ws.detect_anomalies(since="2024-08-01")
    (a,) = anomalies(ws)
    done = ws.anomaly_feedback(a["id"], "expected", "load test")
    assert done["status"] == "expected"
    # the load test's day is not history any more: a re-run does not re-open it
    report = ws.detect_anomalies(since="2024-08-01")
    assert report.opened == [] and anomalies(ws)[0]["status"] == "expected"
    feedback = ws.query("SELECT kind, reason, first_day FROM anomaly_feedback").rows
    assert feedback == [("expected", "load test", SPIKE_DAY)]
    ws.anomaly_feedback(a["id"], "dismiss", "noise")
    key = a_key(ws, a["id"])
    with ws.warehouse() as wh:
        assert store.boosts(wh.con) == {key: store.DISMISS_BOOST}


def a_key(ws: Workspace, anomaly_id: str) -> str:
    return str(ws.query("SELECT series_key FROM anomalies WHERE id = ?", [anomaly_id]).rows[0][0])


def test_feedback_on_unknown_anomaly_names_the_fix(tmp_path: Path) -> None:
    ws = workspace(tmp_path, bill(), SERVICE)
    with pytest.raises(BadInputError, match="no anomaly 'an-nope'") as err:
        ws.anomaly_feedback("an-nope", "ack", None)
    assert "costline anomalies list" in str(err.value)
    with pytest.raises(BadInputError, match="unknown feedback"):
        ws.anomaly_feedback("an-nope", "snooze", None)


def test_monitor_filter_and_tag_dimension(tmp_path: Path) -> None:
    rows = bill()
    for r in rows:
        r["Tags"] = json.dumps({"env": "prod" if r["ServiceName"] == "S3" else "dev"})
    monitors = [
        {"id": "env", "by": ["tag:env"], "filter": {"column": "ServiceName", "equals": "S3"}}
    ]
    ws = workspace(tmp_path, rows, monitors)
    ws.detect_anomalies(since="2024-08-01")
    (a,) = anomalies(ws)
    assert json.loads(a["dims"]) == {"tag:env": "prod"}
    assert a["impact"] == SPIKE


# -- the CLI ----------------------------------------------------------------------------------
def test_cli_detect_list_and_feedback(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from costline.cli.main import app

    ws = workspace(tmp_path, bill(), SERVICE)
    runner = CliRunner()
    base = ["--workspace", str(ws.root), "anomalies"]
    done = runner.invoke(app, [*base, "detect", "--since", "2024-08-01", "-f", "json"])
    assert done.exit_code == 0, done.output
    summary = {r["item"]: r["value"] for r in json.loads(done.output)}
    (a,) = anomalies(ws)
    assert summary["opened"] == a["id"]
    listed = runner.invoke(app, [*base, "list", "--status", "all", "-f", "json"])
    (item,) = json.loads(listed.output)
    assert item["id"] == a["id"] and item["impact"] == 500
    assert item["root_cause"].startswith("SkuId=requests +500.00 (100%)")
    acked = runner.invoke(app, [*base, "ack", a["id"], "--reason", "on it"])
    assert acked.exit_code == 0 and "acked" in acked.output
    missing = runner.invoke(app, [*base, "dismiss", "an-missing"])
    assert missing.exit_code == 1 and "no anomaly 'an-missing'" in str(missing.exception)


def test_cli_scan_a_reference_series(reference: Path, tmp_path: Path) -> None:
    """`anomalies scan` on a real NAB file: every row comes back, scored."""
    import csv

    from typer.testing import CliRunner

    from costline.cli.main import app

    path = reference / "nab" / "data" / "realKnownCause" / "nyc_taxi.csv"
    with path.open() as fh:
        n_rows = sum(1 for _ in csv.reader(fh)) - 1
    done = CliRunner().invoke(app, ["anomalies", "scan", str(path), "-f", "json"])
    assert done.exit_code == 0, done.output[-500:]
    rows = json.loads(done.output)
    assert len(rows) == n_rows
    assert {"timestamp", "value", "expected", "z", "score", "flagged"} <= rows[0].keys()
    assert all(0 <= r["score"] < 1 for r in rows)
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,abc\n")
    done = CliRunner().invoke(app, ["anomalies", "scan", str(bad)])
    assert done.exit_code == 1
    assert "row 2" in str(done.exception) and "value" in str(done.exception)


def test_recurring_job_is_a_pattern_but_a_longer_run_is_new(tmp_path: Path) -> None:
    # EC2 runs a $600/day training job for 2 days every 4 weeks; in August it runs 4 days
    def job(first: dt.date, days: int) -> list[dict[str, Any]]:
        return [row(first + dt.timedelta(days=i), "EC2", "gpu", 600) for i in range(days)]

    rows = bill(spike=False) + job(dt.date(2024, 7, 3), 2) + job(dt.date(2024, 7, 31), 2)
    # two-day job on Aug 28: seen before (same 1-day and 3-day sums) → no anomaly
    same = rows + job(dt.date(2024, 8, 28), 2)
    ws = workspace(tmp_path / "same", same, SERVICE)
    ws.detect_anomalies(since="2024-08-10")
    assert anomalies(ws) == []
    # four-day run from Aug 26 ($800/day with the $200 box): day 3 makes a 3-day sum of
    # 3 × 800 = 2400 > 1.1 × 1800 = 1980 (the largest 3-day sum before: 200 + 800 + 800);
    # days 1-2 (3-day sums 1200 and 1800) look like the usual job
    longer = rows + job(dt.date(2024, 8, 26), 4)
    ws = workspace(tmp_path / "longer", longer, SERVICE)
    ws.detect_anomalies(since="2024-08-10")
    (a,) = anomalies(ws)
    assert json.loads(a["dims"]) == {"ServiceName": "EC2"}
    assert a["first_day"] == dt.date(2024, 8, 28)
    # with the repeat test off, the usual job alerts too (the 2024-07-31 run falls before
    # since; the Aug 28 one is evaluated)
    off = [{**SERVICE[0], "repeats_are_normal": False}]
    ws = workspace(tmp_path / "off", same, off)
    ws.detect_anomalies(since="2024-08-10")
    assert [x["first_day"] for x in anomalies(ws)] == [dt.date(2024, 8, 28)]


def test_a_job_is_judged_by_how_long_its_resource_runs(tmp_path: Path) -> None:
    """Each job on its own instance: a spike to a daily level seen before is a pattern unless
    an instance runs more than a day longer than every earlier instance ran (runs.outrun)."""

    def job(first: dt.date, days: int, rid: str) -> list[dict[str, Any]]:
        return [
            row(first + dt.timedelta(days=i), "EC2", "gpu", 600, ResourceId=rid)
            for i in range(days)
        ]

    rows = (
        bill(spike=False) + job(dt.date(2024, 7, 3), 2, "i-a") + job(dt.date(2024, 7, 31), 2, "i-b")
    )
    # a 3-day job after 2-day ones: its 3-day sum (3 × 800 = 2400) exceeds 1.1 × the largest
    # before (200 + 800 + 800 = 1800), which the series alone would call new; its run is only a
    # day longer than the earlier ones (3 ≤ 2 + 1): a job like them
    ws = workspace(tmp_path / "day-longer", rows + job(dt.date(2024, 8, 26), 3, "i-c"), SERVICE)
    ws.detect_anomalies(since="2024-08-10")
    assert anomalies(ws) == []
    # a 4-day run: days 1-3 as above; day 4 (Aug 29) makes it 4 > 2 + 1 days: left running
    ws = workspace(tmp_path / "runaway", rows + job(dt.date(2024, 8, 26), 4, "i-d"), SERVICE)
    ws.detect_anomalies(since="2024-08-10")
    (a,) = anomalies(ws)
    assert a["first_day"] == a["last_day"] == dt.date(2024, 8, 29)
    assert a["impact"] == Decimal(600)  # 800 against the $200 baseline
    top = json.loads(a["root_cause"])["top_resources"]
    assert top[0]["value"] == "i-d"
    # two 2-day jobs at once (a day of 200 + 2 × 600 = 1400, a level never reached): each is
    # like the earlier jobs and one more at a time than before is a repeat; three at once
    # (a scale-out of new instances) is new
    two = job(dt.date(2024, 8, 26), 2, "i-e") + job(dt.date(2024, 8, 26), 2, "i-f")
    ws = workspace(tmp_path / "two", rows + two, SERVICE)
    ws.detect_anomalies(since="2024-08-10")
    assert anomalies(ws) == []
    three = two + job(dt.date(2024, 8, 26), 2, "i-g")
    ws = workspace(tmp_path / "three", rows + three, SERVICE)
    ws.detect_anomalies(since="2024-08-10")
    (a,) = anomalies(ws)  # on its first day (the second repeats the first's level)
    assert a["first_day"] == dt.date(2024, 8, 26)
    assert a["impact"] == Decimal(1800)


def test_a_job_is_compared_at_its_hourly_rate_where_the_bill_gives_its_hours(
    tmp_path: Path,
) -> None:
    """An instance billed in hours (``ConsumedUnit`` Hours): a job's full day at $25 an hour
    ($600) is a daily level the series never reached (the earlier job ran 20 hours of one day,
    $500), but the same rate: a repeat. At $50 an hour it is a bigger job: an anomaly."""

    def job(first: dt.date, rid: str, hours: list[int], rate: int) -> list[dict[str, Any]]:
        return [
            row(
                first + dt.timedelta(days=i),
                "EC2",
                "gpu",
                rate * h,
                ResourceId=rid,
                SkuPriceId="gpu-on-demand",  # FOCUS: a quantity needs a SKU price
                ConsumedQuantity=str(h),
                ConsumedUnit="Hours",
            )
            for i, h in enumerate(hours)
        ]

    columns = (*COLS, "SkuPriceId", "ConsumedQuantity", "ConsumedUnit")
    rows = bill(spike=False) + job(dt.date(2024, 7, 10), "i-a", [20], 25)
    same = rows + job(dt.date(2024, 8, 25), "i-b", [10, 24, 14], 25)
    ws = workspace(tmp_path / "same", same, SERVICE, columns)
    ws.detect_anomalies(since="2024-08-10")
    assert anomalies(ws) == []
    # without the hours the full day is a new level ($800 against $700 before)
    blind = [{k: v for k, v in r.items() if k != "ConsumedUnit"} for r in same]
    ws = workspace(tmp_path / "blind", blind, SERVICE, columns)
    ws.detect_anomalies(since="2024-08-10")
    (a,) = anomalies(ws)
    assert a["first_day"] == dt.date(2024, 8, 26)
    # twice the rate: its first day (10 hours, $500) is a daily level seen before; its full
    # day ($1,200 at $50 an hour) is not like the earlier job's $600 a day
    double = rows + job(dt.date(2024, 8, 25), "i-c", [10, 24, 14], 50)
    ws = workspace(tmp_path / "double", double, SERVICE, columns)
    ws.detect_anomalies(since="2024-08-10")
    (a,) = anomalies(ws)
    assert a["first_day"] == dt.date(2024, 8, 26)
    assert a["actual"] == Decimal(1400)


def test_running_hours_of_a_vm_billed_per_sku_come_from_its_vcpus() -> None:
    from costline.anomaly.engine import _running_hours
    from costline.optimize.pricing import load_catalog

    vcpu = load_catalog(("gcp",)).instance_type("gcp", "a2-highgpu-8g").vcpu  # type: ignore[union-attr]
    # 20 hours of the core SKU: vCPU-seconds / 3600 = vCPU-hours
    assert _running_hours([None], [20 * vcpu], "gcp", "a2-highgpu-8g") == [20.0]
    # an unknown machine type, or no quantity in time units: unknown
    assert _running_hours([None], [480.0], "gcp", "z9-unknown-1") == [None]
    assert _running_hours([None, None], [None, None], "gcp", None) == [None, None]
    # hours metered as hours (EC2 instance-hours) need no catalog
    assert _running_hours([24.0, 6.5], [None, None], "aws", "p4d.24xlarge") == [24.0, 6.5]


# -- alerts: detection → a real webhook server on 127.0.0.1 -----------------------------------
def with_alerts(ws: Workspace, hook_url: str, **anomalies_extra: Any) -> Workspace:
    doc = yaml.safe_load((ws.root / "costline.yaml").read_text())
    doc["alerts"] = {
        "link": "https://costline.example.com",
        "channels": [{"id": "hook", "type": "webhook", "url": hook_url}],
        "routes": {"default": ["hook"]},
    }
    doc.setdefault("anomalies", {}).update(anomalies_extra)
    (ws.root / "costline.yaml").write_text(yaml.safe_dump(doc))
    return Workspace.open(ws.root)


def test_detect_alerts_once_with_expected_actual_and_root_cause(tmp_path: Path) -> None:
    from tests.notify_servers import HookServer

    # the bill ends the day after the spike: the anomaly is still open (a daily run's view)
    rows = [r for r in bill() if r["ChargePeriodStart"] < f"{SPIKE_DAY + dt.timedelta(days=2)}"]
    with HookServer() as hook:
        ws = with_alerts(workspace(tmp_path, rows, SERVICE), f"{hook.url}/costline")
        report = ws.detect_anomalies(since="2024-08-01", sleep=lambda s: None)
        again = ws.detect_anomalies(since="2024-08-01", sleep=lambda s: None)
    (a,) = anomalies(ws)
    assert (report.alerts, report.alerts_delivered, report.alerts_failed) == (1, 1, 0)
    assert again.alerts == 0  # nothing new: nothing sent, and the outbox has it delivered
    (req,) = hook.requests
    body = req.json()
    assert req.headers["idempotency-key"] == f"{a['id']}-1"
    assert body["anomaly_id"] == a["id"] and body["series"] == "ServiceName=S3"
    assert (body["expected"], body["actual"], body["impact"]) == ("100.00", "600.00", "500.00")
    assert body["link"] == f"https://costline.example.com/anomalies/{a['id']}"
    cause = body["root_cause"][0]
    assert (cause["dimension"], cause["value"], cause["delta"]) == ("SkuId", "requests", "500.00")
    assert body["top_resources"][0] == {"resource_id": "bucket-uploads", "delta": "500.00"}


def test_suppressed_and_low_severity_anomalies_are_recorded_not_sent(tmp_path: Path) -> None:
    from tests.notify_servers import HookServer

    window = {"start": "2024-08-19", "end": "2024-08-21", "reason": "migration"}
    rows = [r for r in bill() if r["ChargePeriodStart"] < f"{SPIKE_DAY + dt.timedelta(days=2)}"]
    with HookServer() as hook:
        ws = with_alerts(workspace(tmp_path / "s", rows, SERVICE), hook.url, suppress=[window])
        report = ws.detect_anomalies(since="2024-08-01", sleep=lambda s: None)
        # impact $500 is "medium" (≥ 500): a "high" floor keeps it quiet
        ws2 = with_alerts(
            workspace(tmp_path / "m", rows, SERVICE), hook.url, alert_min_severity="high"
        )
        report2 = ws2.detect_anomalies(since="2024-08-01", sleep=lambda s: None)
    assert len(anomalies(ws)) == 1 and len(anomalies(ws2)) == 1
    assert report.alerts == 0 and report2.alerts == 0
    assert hook.requests == []


def test_backfill_records_but_does_not_alert_what_already_resolved(tmp_path: Path) -> None:
    from tests.notify_servers import HookServer

    with HookServer() as hook:
        ws = with_alerts(workspace(tmp_path, bill(), SERVICE), hook.url)
        report = ws.detect_anomalies(since="2024-08-01", sleep=lambda s: None)
    assert [a["status"] for a in anomalies(ws)] == ["resolved"]
    assert report.alerts == 0 and hook.requests == []


# -- costline watch ---------------------------------------------------------------------------
def test_poller_hands_over_stable_files_once_per_version(tmp_path: Path) -> None:
    from costline.watch import FolderPoller

    poller = FolderPoller(tmp_path)
    (tmp_path / "a.csv").write_text("1")
    (tmp_path / "b.csv.part").write_text("uploading")
    (tmp_path / ".hidden.csv").write_text("x")
    (tmp_path / "_temporary").mkdir()
    (tmp_path / "_temporary" / "c.csv").write_text("x")
    assert poller.poll() == []  # first sight: not known to be complete yet
    assert poller.poll() == [tmp_path / "a.csv"]
    assert poller.poll() == []  # handed over once
    (tmp_path / "a.csv").write_text("12")  # a month-to-date export gains a day
    assert poller.poll() == []
    assert poller.poll() == [tmp_path / "a.csv"]
    assert FolderPoller(tmp_path / "missing").poll() == []


def test_watch_ingests_new_files_evaluates_touched_series_and_alerts(tmp_path: Path) -> None:
    from tests.notify_servers import HookServer

    landing = tmp_path / "landing"
    landing.mkdir()
    ws = Workspace.init(tmp_path / "ws")
    rows = bill()
    july = [r for r in rows if r["BillingPeriodStart"].startswith("2024-07")]
    aug = [r for r in rows if r["BillingPeriodStart"].startswith("2024-08")]
    before_spike = [r for r in aug if r["ChargePeriodStart"] < f"{SPIKE_DAY}"]
    write_focus_csv(landing / "bill-07.csv", july, COLS)
    write_focus_csv(landing / "bill-08.csv", before_spike, COLS)
    with HookServer() as hook:
        doc = yaml.safe_load((ws.root / "costline.yaml").read_text())
        doc["anomalies"] = {"monitors": SERVICE}
        doc["alerts"] = {
            "channels": [{"id": "hook", "type": "webhook", "url": hook.url}],
            "routes": {"default": ["hook"]},
        }
        (ws.root / "costline.yaml").write_text(yaml.safe_dump(doc))
        ws = Workspace.open(ws.root)
        first = ws.watch(landing, interval=0, cycles=2, sleep=lambda s: None)
        assert len(first) == 1 and len(first[0].files) == 2
        d0 = first[0].detect
        # both series are new to the store: a cold-start anomaly each, already resolved by
        # the later days of the same files (a backfill), so nobody is paged
        assert d0 is not None and len(d0.opened) == 2 and d0.resolved == d0.opened
        assert d0.alerts == 0 and hook.requests == []
        # the month-to-date export is rewritten with the spike day: one file, one cycle
        spike_day = [r for r in aug if r["ChargePeriodStart"] < f"{SPIKE_DAY + dt.timedelta(1)}"]
        write_focus_csv(landing / "bill-08.csv", spike_day, COLS)
        # and another account's export lands: only its series is new to evaluate
        other = [
            {**row(d, "Lambda", "invocations", 5), "BillingAccountId": "other"}
            for d in (SPIKE_DAY - dt.timedelta(days=i) for i in range(3))
        ]
        write_focus_csv(landing / "other.csv", other, COLS)
        second = ws.watch(landing, interval=0, cycles=2, sleep=lambda s: None)
    (cycle,) = second
    assert sorted(Path(f).name for f in cycle.files) == ["bill-07.csv", "bill-08.csv", "other.csv"]
    statuses = {Path(o.file).name: o.status for o in cycle.ingest.outcomes}
    assert statuses == {"bill-07.csv": "unchanged", "bill-08.csv": "loaded", "other.csv": "loaded"}
    d = cycle.detect
    assert d is not None
    # touched: S3 and EC2 (rewritten August file), Lambda (new account): not more
    assert d.series == 3
    (a,) = [x for x in anomalies(ws) if x["kind"] == "spike"]
    assert d.opened == [a["id"]] and a["first_day"] == SPIKE_DAY and a["status"] == "open"
    assert d.alerts_delivered == 1
    (req,) = hook.requests
    assert req.json()["anomaly_id"] == a["id"]
    assert cycle.latency_s >= 0


def test_watch_names_a_missing_folder(tmp_path: Path) -> None:
    from costline.core.errors import WorkspaceError

    ws = Workspace.init(tmp_path / "ws")
    with pytest.raises(WorkspaceError, match="does not exist"):
        ws.watch(tmp_path / "nope", cycles=1)


def test_a_provider_whose_export_lags_is_not_read_as_zero_spend(tmp_path: Path) -> None:
    # AWS data runs to Aug 31; GCP's export has only arrived up to its spike day, Aug 20.
    # GCP's days after Aug 20 are unknown, not $0: its spike stays open instead of being
    # resolved by days that have not arrived (and no drop is flagged for them).
    gcp = [
        {
            **row(START + dt.timedelta(days=i), "BigQuery", "analysis", 100),
            "ProviderName": "Google Cloud",
            "PublisherName": "Google Cloud",
            "InvoiceIssuerName": "Google Cloud",
            "BillingAccountId": "gcp-acct",
        }
        for i in range((SPIKE_DAY - START).days + 1)
    ]
    gcp[-1]["BilledCost"] = gcp[-1]["EffectiveCost"] = "700"
    both = [{**SERVICE[0], "direction": "both"}]
    ws = workspace(tmp_path, bill(spike=False, extra=gcp), both)
    providers = dict(
        ws.query("SELECT x_Provider, max(ChargePeriodStart) FROM cost GROUP BY 1").rows
    )
    assert len(providers) == 2
    ws.detect_anomalies(since="2024-08-01")
    (a,) = anomalies(ws)
    assert json.loads(a["dims"]) == {"ServiceName": "BigQuery"}
    assert a["first_day"] == SPIKE_DAY and a["impact"] == 600
    assert a["status"] == "open"


def test_hourly_monitor_flags_the_hour(tmp_path: Path) -> None:
    # an hourly bill: $10 an hour in business hours (9-17), $2 otherwise, for 3 weeks of
    # August; at 2024-08-20 03:00 a job burns $60 in one hour (normally $2 at 3 am)
    rows = []
    for i in range(21 * 24):
        at = dt.datetime(2024, 8, 1) + dt.timedelta(hours=i)
        cost = 10 if 9 <= at.hour < 17 else 2
        if at == dt.datetime(2024, 8, 20, 3):
            cost = 60
        r = row(at.date(), "EC2", "box", cost)
        r["ChargePeriodStart"] = f"{at.isoformat()}Z"
        r["ChargePeriodEnd"] = f"{(at + dt.timedelta(hours=1)).isoformat()}Z"
        rows.append(r)
    monitors = [
        {
            "id": "hourly",
            "by": ["ServiceName"],
            "granularity": "hourly",
            "impact": {"min_abs": 20, "min_pct": 50},
            "cold_start": {"min_abs": 1000},
        }
    ]
    ws = Workspace.init(tmp_path / "ws")
    doc = yaml.safe_load((ws.root / "costline.yaml").read_text())
    doc["anomalies"] = {"monitors": monitors}
    (ws.root / "costline.yaml").write_text(yaml.safe_dump(doc))
    ws = Workspace.open(ws.root)
    assert not ws.ingest([write_focus_csv(tmp_path / "hourly.csv", rows, COLS)]).failed
    report = ws.detect_anomalies(since="2024-08-15")
    (a,) = anomalies(ws)
    # the same hour on the days before (a daily season): $2 → expected 2, actual 60
    assert (a["expected"], a["actual"], a["impact"]) == (2, 60, 58)
    days = json.loads(ws.query("SELECT days FROM anomalies").rows[0][0])
    assert list(days) == ["2024-08-20T03:00:00"]
    assert a["first_day"] == a["last_day"] == dt.date(2024, 8, 20)
    assert a["id"].endswith("-2024082003")
    # business hours at $10 are normal for a daily season; the hours of Aug 15-21 evaluated
    assert report.points == 7 * 24


def test_resolution_is_sent_to_whoever_got_the_alert(tmp_path: Path) -> None:
    from tests.notify_servers import HookServer

    rows = [r for r in bill() if r["ChargePeriodStart"] < f"{SPIKE_DAY + dt.timedelta(days=2)}"]
    with HookServer() as hook:
        ws = with_alerts(workspace(tmp_path, rows, SERVICE), f"{hook.url}/costline")
        ws.detect_anomalies(since="2024-08-01", sleep=lambda s: None)
        (a,) = anomalies(ws)
        assert a["status"] == "open"
        # the rest of August arrives: normal days, the anomaly resolves
        aug = [r for r in bill() if r["BillingPeriodStart"].startswith("2024-08")]
        ws.ingest([write_focus_csv(tmp_path / "bill-08-full.csv", aug, COLS)])
        report = ws.detect_anomalies(since="2024-08-01", sleep=lambda s: None)
        again = ws.detect_anomalies(since="2024-08-01", sleep=lambda s: None)
    assert report.resolved == [a["id"]] and report.alerts_delivered == 1
    assert again.alerts_delivered == 0
    opened, resolved = hook.requests
    assert opened.json()["status"] == "open"
    body = resolved.json()
    assert (body["status"], body["revision"], body["anomaly_id"]) == ("resolved", 2, a["id"])
    assert resolved.headers["idempotency-key"] == f"{a['id']}-2"


def monthly_rows(
    service: str, sku: str, resource: str, july: int = 3100, august: int = 3100
) -> list[dict[str, Any]]:
    """A reservation's unused cost as AWS bills it: one usage row per month, 1st to 1st
    (July and August have 31 days)."""
    return [
        row(dt.date(2024, m, 1), service, sku, cost, ChargePeriodEnd=end, ResourceId=resource)
        for m, end, cost in (
            (7, "2024-08-01T00:00:00Z", july),
            (8, "2024-09-01T00:00:00Z", august),
        )
    ]


def test_a_month_long_charge_counts_evenly_over_its_days(tmp_path: Path) -> None:
    """AWS bills a month's unused reservation as one usage row from the 1st to the 1st: it is
    the month's cost (1/31 a day), not a spike on the 1st. August's is larger than July's
    ($3,800 vs $3,100): read on the 1st that would be +23 % over July 1st's, a spike; spread,
    it is $22.58 a day more, under the $50 gate."""
    extra = monthly_rows("EC2", "ri-unused", "ri-1", august=3800)
    ws = workspace(tmp_path, bill(extra=extra), SERVICE)
    ws.detect_anomalies(since="2024-08-01")
    found = anomalies(ws)
    # only the S3 retry storm
    assert [json.loads(a["dims"]) for a in found] == [{"ServiceName": "S3"}]
    assert found[0]["first_day"] == SPIKE_DAY
    daily = ws.query(
        "SELECT month(day), list(DISTINCT round(v, 2)) FROM (SELECT CAST(d AS DATE) AS day, "
        "sum(x) AS v FROM (SELECT unnest(range(ChargePeriodStart, ChargePeriodEnd, "
        "INTERVAL 1 DAY)) AS d, EffectiveCost / datediff('day', ChargePeriodStart, "
        "ChargePeriodEnd) AS x FROM cost WHERE ServiceName = 'EC2') GROUP BY 1) GROUP BY 1 "
        "ORDER BY 1"
    ).rows
    # the readings the detector takes, computed here from the rows: 200 + 3100/31, 200 + 3800/31
    assert daily == [(7, [300.0]), (8, [322.58])]


def test_a_month_long_charge_is_not_the_cause_of_a_spike(tmp_path: Path) -> None:
    extra = monthly_rows("S3", "reserved-capacity", "s3-reserved")
    ws = workspace(tmp_path, bill(extra=extra), SERVICE)
    ws.detect_anomalies(since="2024-08-01")
    [a] = anomalies(ws)
    assert (a["first_day"], a["impact"]) == (SPIKE_DAY, SPIKE)
    # baseline: 100 + 3100 / 31 = 200 a day; the spike day adds the $500 storm only
    assert a["expected"] == Decimal(200)
    cause = json.loads(a["root_cause"])
    assert cause["top_resources"] == [{"value": "bucket-uploads", "delta": "500.00", "share": 1.0}]

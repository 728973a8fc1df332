"""Telemetry pullers against real local servers: CloudWatch on moto (server mode, boto3),
Azure Monitor and Prometheus on fake HTTP servers (httpx). Pulled samples go through the
workspace into ``telemetry``; the expected rows are computed here from what the servers were
given (5-minute averages and sums worked out in plain Python), never read back from costline.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import numpy as np
import pytest
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from costline.cli.main import app
from costline.core.errors import BadInputError, MissingDependencyError, WorkspaceError
from costline.sources.telemetry import Target, azure_monitor, cloudwatch, prometheus
from costline.sources.telemetry.errors import PullRejectedError, PullUnavailableError
from costline.workspace import Workspace
from tests.focus_files import COLUMNS, focus_row, write_focus_csv
from tests.notify_servers import Reply
from tests.telemetry_servers import AzureMonitorFake, PrometheusFake

T0 = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(hours=2)
FIVE = dt.timedelta(minutes=5)
COLS = (*COLUMNS, "ResourceId", "RegionId", "PricingQuantity", "x_InstanceType", "SkuPriceDetails")
SUB = "/subscriptions/0000-1111/resourceGroups/rg-web/providers/Microsoft.Compute"
VM_SIZED = f"{SUB}/virtualMachines/web-1"  # Standard_D8s_v5
VM_UNSIZED = f"{SUB}/virtualMachines/batch-1"  # no size in the bill: memory skipped
# bill resources: id → (provider, instance type, region)
BILL: dict[str, tuple[str, str, str]] = {
    "i-0aaa": ("aws", "m5.2xlarge", "us-east-1"),
    "i-0bbb": ("aws", "m5.large", "us-east-1"),
    "i-0ccc": ("aws", "m5.large", "eu-west-1"),
    "i-0ddd": ("aws", "m5.large", "us-east-1"),  # CloudWatch has nothing for it
    VM_SIZED.lower(): ("azure", "Standard_D8s_v5", "eastus"),  # exports write ids lower-case
    VM_UNSIZED: ("azure", "", "eastus"),
}


def _bill_row(rid: str, provider: str, itype: str, region: str, day: int, **kw: Any) -> Any:
    d = (T0 + dt.timedelta(days=day)).date()
    issuer = "AWS" if provider == "aws" else "Microsoft"
    return focus_row(
        BillingPeriodStart="2026-10-01T00:00:00Z",
        BillingPeriodEnd="2026-11-01T00:00:00Z",
        ChargePeriodStart=f"{d}T00:00:00Z",
        ChargePeriodEnd=f"{d + dt.timedelta(days=1)}T00:00:00Z",
        BilledCost="9.6",
        EffectiveCost="9.6",
        ListCost="9.6",
        ContractedCost="9.6",
        ProviderName=issuer,
        PublisherName=issuer,
        InvoiceIssuerName=issuer,
        ServiceName="Amazon EC2" if provider == "aws" else "Virtual Machines",
        ResourceId=rid,
        RegionId=region,
        PricingQuantity="24",
        x_InstanceType=itype,
        SkuPriceDetails="",
        **kw,
    )


def write_bill(path: Path, resources: dict[str, tuple[str, str, str]], days: int = 3) -> Path:
    rows = []
    for day in range(days):
        for rid, (provider, itype, region) in resources.items():
            rows.append(_bill_row(rid, provider, itype, region, day))
        # not instances: an EBS volume, a managed disk, and a data-transfer row of i-0aaa
        # without a type (the instance's type comes from its usage rows)
        rows.append(_bill_row("vol-0eee", "aws", "", "us-east-1", day, ServiceCategory="Storage"))
        rows.append(_bill_row(f"{SUB}/disks/d-1", "azure", "", "eastus", day))
        if "i-0aaa" in resources:
            rows.append(
                _bill_row("i-0aaa", "aws", "", "us-east-1", day, ServiceCategory="Networking")
            )
    return write_focus_csv(path, rows, COLS)


@pytest.fixture(scope="module")
def billed(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    tmp = tmp_path_factory.mktemp("pullers")
    ws = Workspace.init(tmp / "ws")
    [outcome] = ws.ingest([write_bill(tmp / "bill.csv", BILL)]).outcomes
    assert outcome.status == "loaded", outcome
    return ws


@pytest.fixture
def ws(billed: Workspace) -> Iterator[Workspace]:
    """The billed workspace with an empty telemetry table for each test."""
    yield billed
    with billed.warehouse() as wh:
        wh.con.execute("DROP TABLE IF EXISTS telemetry")


def stored(ws: Workspace, where: str = "true") -> dict[tuple[str, dt.datetime, str], float]:
    rows = ws.query(
        f'SELECT resource_id, "timestamp", metric, value FROM telemetry WHERE {where}'
    ).rows
    return {(r, t, m): v for r, t, m, v in rows}


def samples_in(ws: Workspace) -> int:
    """Rows in ``telemetry`` (0 when no load or pull ever created it)."""
    if ws.query("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'telemetry'").rows[0][0]:
        return int(ws.query("SELECT count(*) FROM telemetry").rows[0][0])
    return 0


def naive(ts: dt.datetime) -> dt.datetime:
    return ts.astimezone(dt.UTC).replace(tzinfo=None)


def assert_samples(got: dict[Any, float], expected: dict[Any, float]) -> None:
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9), key


# -- CloudWatch on moto ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """moto emptied, fake credentials in the environment, no default region."""
    httpx.post(f"{moto_url}/moto-api/reset").raise_for_status()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for var in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return moto_url


def put(url: str, region: str, namespace: str, data: list[dict[str, Any]]) -> None:
    client = boto3.client("cloudwatch", region_name=region, endpoint_url=url)
    for i in range(0, len(data), 500):
        client.put_metric_data(Namespace=namespace, MetricData=data[i : i + 500])


def datum(name: str, dims: dict[str, str], ts: dt.datetime, value: float) -> dict[str, Any]:
    return {
        "MetricName": name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
        "Timestamp": ts,
        "Value": value,
    }


def five_minute(points: list[tuple[dt.datetime, float]], how: str) -> dict[dt.datetime, float]:
    """Expected CloudWatch statistic per 5-minute period (periods start at T0)."""
    groups: dict[dt.datetime, list[float]] = {}
    for ts, v in points:
        start = T0 + FIVE * ((ts - T0) // FIVE)
        groups.setdefault(naive(start), []).append(v)
    if how == "Sum":
        return {k: sum(v) for k, v in groups.items()}
    return {k: sum(v) / len(v) for k, v in groups.items()}


def seed_cloudwatch(url: str, cpu_of_aaa: float | None = None) -> dict[Any, float]:
    """Known datapoints in moto; returns the samples costline should store."""
    minutes = [T0 + dt.timedelta(minutes=i) for i in range(120)]
    aaa = {"InstanceId": "i-0aaa"}
    cpu = [
        (t, cpu_of_aaa if cpu_of_aaa is not None else 10.0 + (i * 7) % 13)
        for i, t in enumerate(minutes)
    ]
    net_in = [(t, 1000.0 * i) for i, t in enumerate(minutes)]
    disk = [(t, 500.0) for t in minutes[::5]]
    ebs = [(t, 1500.0) for t in minutes[::5]]
    mem = [(t, 40.0 + i % 5) for i, t in enumerate(minutes)]
    ec2 = [datum("CPUUtilization", aaa, t, v) for t, v in cpu]
    ec2 += [datum("NetworkIn", aaa, t, v) for t, v in net_in]
    ec2 += [datum("DiskReadBytes", aaa, t, v) for t, v in disk]
    ec2 += [datum("EBSReadBytes", aaa, t, v) for t, v in ebs]
    bbb = [(t, 20.0) for t in minutes[::5]]
    ec2 += [datum("CPUUtilization", {"InstanceId": "i-0bbb"}, t, v) for t, v in bbb]
    # not in the bill: never asked about
    ec2 += [datum("CPUUtilization", {"InstanceId": "i-0zzz"}, T0, 99.0)]
    put(url, "us-east-1", "AWS/EC2", ec2)
    # the agent's own dimensions: costline must find them with ListMetrics
    agent_dims = {"InstanceId": "i-0aaa", "ImageId": "ami-1", "InstanceType": "m5.2xlarge"}
    put(url, "us-east-1", "CWAgent", [datum("mem_used_percent", agent_dims, t, v) for t, v in mem])
    ccc = [(t, 30.0 + i % 2) for i, t in enumerate(minutes[::5])]
    put(
        url,
        "eu-west-1",
        "AWS/EC2",
        [datum("CPUUtilization", {"InstanceId": "i-0ccc"}, t, v) for t, v in ccc],
    )

    expected: dict[Any, float] = {}
    for rid, metric, points, how in (
        ("i-0aaa", "cpu_percent", cpu, "Average"),
        ("i-0aaa", "network_in_bytes", net_in, "Sum"),
        ("i-0aaa", "disk_read_bytes", disk + ebs, "Sum"),  # instance store + EBS
        ("i-0aaa", "memory_percent", mem, "Average"),
        ("i-0bbb", "cpu_percent", bbb, "Average"),
        ("i-0ccc", "cpu_percent", ccc, "Average"),
    ):
        for ts, v in five_minute(points, how).items():
            expected[(rid, ts, metric)] = v
    return expected


def test_cloudwatch_pull_stores_what_cloudwatch_holds(ws: Workspace, aws: str) -> None:
    expected = seed_cloudwatch(aws)
    # every period of i-0aaa's CPU is the mean of five 1-minute datapoints
    assert expected[("i-0aaa", naive(T0), "cpu_percent")] == pytest.approx(
        np.mean([10.0 + (i * 7) % 13 for i in range(5)])
    )
    done = ws.pull_telemetry("cloudwatch", start=T0, end=T1, endpoint_url=aws)
    assert_samples(stored(ws), expected)
    # regions from the bill; i-0ddd has no data; i-0zzz (not billed) was not asked about
    assert done["source"] == "cloudwatch:eu-west-1,us-east-1"
    assert (done["requested"], done["missing"]) == (4, 1)
    assert done["rows"] == len(expected) == 24 * 4 + 24 * 2
    assert done["resources"] == 3
    assert done["metrics"] == [
        "cpu_percent",
        "disk_read_bytes",
        "memory_percent",
        "network_in_bytes",
    ]
    assert (done["first"], done["last"]) == (naive(T0), naive(T1 - FIVE))
    sources = ws.query("SELECT DISTINCT source_file FROM telemetry").rows
    assert sources == [("cloudwatch:eu-west-1,us-east-1",)]


def test_cloudwatch_pull_again_replaces(ws: Workspace, aws: str) -> None:
    first = seed_cloudwatch(aws)
    ws.pull_telemetry("cloudwatch", start=T0, end=T1, endpoint_url=aws)
    httpx.post(f"{aws}/moto-api/reset").raise_for_status()
    second = seed_cloudwatch(aws, cpu_of_aaa=55.0)
    done = ws.pull_telemetry("cloudwatch", start=T0, end=T1, endpoint_url=aws)
    assert done["rows"] == len(second) == len(first)
    got = stored(ws)
    assert_samples(got, second)  # replaced, not added: i-0aaa's CPU is 55 now
    assert {v for (r, _, m), v in got.items() if (r, m) == ("i-0aaa", "cpu_percent")} == {55.0}


def test_cloudwatch_named_resources_and_region(ws: Workspace, aws: str) -> None:
    expected = seed_cloudwatch(aws)
    done = ws.pull_telemetry(
        "cloudwatch",
        start=T0,
        end=T1,
        endpoint_url=aws,
        resources=["i-0bbb", "i-0ccc"],
        region="us-east-1",  # overrides the bill's eu-west-1 for i-0ccc: nothing there
    )
    assert (done["source"], done["requested"], done["missing"]) == ("cloudwatch:us-east-1", 2, 1)
    assert_samples(stored(ws), {k: v for k, v in expected.items() if k[0] == "i-0bbb"})


def test_cloudwatch_more_than_500_queries(aws: str) -> None:
    # 11 AWS/EC2 queries per instance: 46 instances are 506 queries, two GetMetricData calls
    ids = [f"i-{n:04d}" for n in range(46)]
    put(
        aws,
        "us-east-1",
        "AWS/EC2",
        [datum("CPUUtilization", {"InstanceId": i}, T0, float(n)) for n, i in enumerate(ids)],
    )
    queries = cloudwatch.build_queries(ids, {}, period=300)
    assert len(queries) == 506
    assert [len(b) for b in cloudwatch.batches(queries)] == [500, 6]
    assert len({q["Id"] for q in queries}) == 506
    samples = cloudwatch.pull(
        ids, start=T0, end=T0 + FIVE, region="us-east-1", endpoint_url=aws, memory=False
    )
    assert sorted((s.resource_id, s.value) for s in samples) == [
        (i, float(n)) for n, i in enumerate(ids)
    ]
    assert {s.timestamp for s in samples} == {T0}


def test_cloudwatch_without_credentials_or_region(
    workspace: Workspace, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(PullRejectedError, match="no AWS region") as err:
        workspace.pull_telemetry("cloudwatch", start=T0, end=T1, resources=["i-1"])
    assert "--region" in str(err.value.hint)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(PullRejectedError, match="no AWS credentials") as err:
        workspace.pull_telemetry(
            "cloudwatch",
            start=T0,
            end=T1,
            resources=["i-1"],
            region="us-east-1",
            endpoint_url=aws,
        )
    assert "cloudwatch:GetMetricData" in str(err.value.hint)
    assert samples_in(workspace) == 0


def test_no_billed_instances_is_an_error(workspace: Workspace, aws: str) -> None:
    with pytest.raises(WorkspaceError, match="no EC2 instances in the bill") as err:
        workspace.pull_telemetry("cloudwatch", start=T0, end=T1, endpoint_url=aws)
    assert "--resource" in str(err.value.hint)


def test_rightsizing_on_pulled_cloudwatch_data(tmp_path: Path, aws: str) -> None:
    ws = Workspace.init(tmp_path / "ws")
    [outcome] = ws.ingest(
        [write_bill(tmp_path / "bill.csv", {"i-0aaa": BILL["i-0aaa"]}, days=3)]
    ).outcomes
    assert outcome.status == "loaded"
    cpu = [3.0 + (k % 8) for k in range(48 * 12)]  # one datapoint per 5 minutes, 48 hours
    put(
        aws,
        "us-east-1",
        "AWS/EC2",
        [
            datum("CPUUtilization", {"InstanceId": "i-0aaa"}, T0 + FIVE * k, v)
            for k, v in enumerate(cpu)
        ],
    )
    done = ws.pull_telemetry(
        "cloudwatch", start=T0, end=T0 + dt.timedelta(days=2), endpoint_url=aws
    )
    assert done["rows"] == len(cpu)
    [rec] = ws.recommend_rightsizing().records()
    assert rec["resource_id"] == "i-0aaa" and rec["cpu_hours"] == 48
    assert rec["cpu_pct"] == pytest.approx(float(np.percentile(cpu, 95)), abs=0.01)
    assert rec["cpu_max"] == pytest.approx(max(cpu))
    assert rec["memory"] == "unknown" and rec["status"] == "recommended"


# -- Azure Monitor on a fake server -----------------------------------------------------------
TOKEN = "test-token"
AZURE_METRICS = (
    "Percentage CPU,Available Memory Bytes,Network In Total,Network Out Total,"
    "Disk Read Bytes,Disk Write Bytes,Disk Read Operations/Sec,Disk Write Operations/Sec"
)
EXPECT = {
    "api-version": "2023-10-01",
    "metricnames": AZURE_METRICS,
    "timespan": "2026-10-01T00:00:00Z/2026-10-01T02:00:00Z",
    "interval": "PT5M",
    "aggregation": "Average,Total",
}
GIB = 2.0**30


def memory_gib(reference: Path, size: str) -> float:
    with (reference / "pricing" / "azure_vm_specs.csv").open(newline="") as fh:
        return next(float(r["memory_gib"]) for r in csv.DictReader(fh) if r["vm_size"] == size)


def azure_points() -> dict[str, dict[str, list[dict[str, Any]]]]:
    times = [T0 + FIVE * k for k in range(24)]

    def series(f: Any, agg: str) -> list[dict[str, Any]]:
        return [
            {"timeStamp": t.strftime("%Y-%m-%dT%H:%M:%SZ"), agg: f(k)} for k, t in enumerate(times)
        ]

    cpu = series(lambda k: 5.0 + k % 7, "average")
    cpu[3] = {"timeStamp": cpu[3]["timeStamp"]}  # an interval without data
    sized = {
        "Percentage CPU": cpu,
        "Available Memory Bytes": series(lambda k: (8 + k % 3) * GIB, "average"),
        "Network In Total": series(lambda k: 1e6 * k, "total"),
        "Network Out Total": series(lambda k: 2e6, "total"),
        "Disk Read Operations/Sec": series(lambda k: 2.5, "average"),
    }
    unsized = {
        "Percentage CPU": series(lambda k: 50.0, "average"),
        "Available Memory Bytes": series(lambda k: 1 * GIB, "average"),
    }
    return {VM_SIZED: sized, VM_UNSIZED: unsized}


def azure_expected(reference: Path) -> dict[Any, float]:
    total = memory_gib(reference, "Standard_D8s_v5") * GIB
    assert total == 32 * GIB
    out: dict[Any, float] = {}
    bill_id = {VM_SIZED: VM_SIZED.lower(), VM_UNSIZED: VM_UNSIZED}  # stored as the bill has it
    for vm, metrics in azure_points().items():
        for name, points in metrics.items():
            for p in points:
                ts = naive(dt.datetime.fromisoformat(p["timeStamp"]))
                key = (bill_id[vm], ts)
                if name == "Percentage CPU" and "average" in p:
                    out[(*key, "cpu_percent")] = p["average"]
                elif name == "Available Memory Bytes" and vm == VM_SIZED:
                    out[(*key, "memory_percent")] = 100 * (1 - p["average"] / total)
                elif name == "Network In Total":
                    out[(*key, "network_in_bytes")] = p["total"]
                elif name == "Network Out Total":
                    out[(*key, "network_out_bytes")] = p["total"]
                elif name == "Disk Read Operations/Sec":
                    out[(*key, "disk_read_ops")] = p["average"] * 300  # per 5-minute sample
    return {(r, t, m): v for (r, t, m), v in out.items()}


@pytest.fixture
def azure() -> Iterator[AzureMonitorFake]:
    server = AzureMonitorFake(token=TOKEN, vms=azure_points(), expect=EXPECT)
    with server:
        yield server


def test_azure_monitor_pull_stores_what_azure_serves(
    ws: Workspace, azure: AzureMonitorFake, reference: Path
) -> None:
    done = ws.pull_telemetry(
        "azure-monitor",
        start=T0,
        end=T1,
        endpoint_url=azure.url,
        environ={"COSTLINE_AZURE_TOKEN": TOKEN},
    )
    expected = azure_expected(reference)
    assert_samples(stored(ws), expected)
    # memory of web-1: 8 GiB free of 32 → 75 %; batch-1 has no size in the bill: no memory
    assert expected[(VM_SIZED.lower(), naive(T0), "memory_percent")] == 75.0
    assert not [k for k in expected if k[0] == VM_UNSIZED and k[2] == "memory_percent"]
    assert done["source"] == f"azure-monitor:127.0.0.1:{azure.port}"
    assert (done["requested"], done["missing"], done["resources"]) == (2, 0, 2)
    assert len(azure.requests) == 2  # one request per VM, never the disk


def test_azure_monitor_pull_again_replaces(
    ws: Workspace, azure: AzureMonitorFake, reference: Path
) -> None:
    for _ in range(2):
        ws.pull_telemetry("azure-monitor", start=T0, end=T1, endpoint_url=azure.url, token=TOKEN)
    assert_samples(stored(ws), azure_expected(reference))
    assert ws.query("SELECT count(*) FROM telemetry").rows == [(len(azure_expected(reference)),)]


def test_azure_monitor_retries_429_and_5xx(azure: AzureMonitorFake, reference: Path) -> None:
    azure.script = [Reply(429, "slow down", headers={"Retry-After": "0"}), Reply(503, "busy")]
    target = Target(VM_UNSIZED)
    samples = azure_monitor.pull(
        [target], start=T0, end=T1, endpoint=azure.url, token=TOKEN, backoff=0
    )
    assert len(azure.requests) == 3
    assert {s.value for s in samples if s.metric == "cpu_percent"} == {50.0}
    azure.script = [Reply(503, "busy")] * 3
    with pytest.raises(PullUnavailableError, match="HTTP 503 .*busy \\(after 3 attempts\\)"):
        azure_monitor.pull([target], start=T0, end=T1, endpoint=azure.url, token=TOKEN, backoff=0)


@pytest.mark.parametrize(
    ("token", "resource", "status", "hint"),
    [
        ("wrong", VM_SIZED, "HTTP 401", "COSTLINE_AZURE_TOKEN"),
        (TOKEN, f"{SUB}/virtualMachines/gone", "HTTP 404", "full id"),
        (TOKEN, f"{SUB}/virtualMachines/locked", "HTTP 403", "Monitoring Reader"),
    ],
)
def test_azure_monitor_refusals_name_the_resource(
    workspace: Workspace, token: str, resource: str, status: str, hint: str
) -> None:
    server = AzureMonitorFake(
        token=TOKEN, vms=azure_points(), expect=EXPECT, forbidden=(f"{SUB}/virtualMachines/locked",)
    )
    with server:
        with pytest.raises(PullRejectedError) as err:
            workspace.pull_telemetry(
                "azure-monitor",
                start=T0,
                end=T1,
                endpoint_url=server.url,
                token=token,
                resources=[resource],
            )
    assert status in str(err.value) and resource in str(err.value)
    assert hint in str(err.value.hint)
    assert samples_in(workspace) == 0


def test_azure_monitor_bad_resource_and_period(workspace: Workspace) -> None:
    with pytest.raises(BadInputError, match="not an Azure resource id") as err:
        workspace.pull_telemetry(
            "azure-monitor", start=T0, end=T1, resources=["web-1"], token=TOKEN
        )
    assert err.value.location.file == "--resource"
    with pytest.raises(BadInputError, match="not an Azure Monitor timegrain") as err:
        workspace.pull_telemetry(
            "azure-monitor", start=T0, end=T1, resources=[VM_SIZED], token=TOKEN, period=120
        )
    assert "300" in str(err.value.hint)


def test_azure_monitor_without_token_needs_azure_identity(workspace: Workspace) -> None:
    try:
        importlib.import_module("azure.identity")
    except ImportError:
        pass
    else:
        pytest.skip("azure-identity is installed: it would look for real credentials")
    with pytest.raises(MissingDependencyError, match=r"\[azure\]"):
        workspace.pull_telemetry(
            "azure-monitor", start=T0, end=T1, resources=[VM_SIZED], environ={}
        )


# -- Prometheus on a fake server --------------------------------------------------------------
CPU_QUERY = '100 * (1 - avg by (instance_id) (rate(node_cpu_seconds_total{mode="idle"}[5m])))'
MEM_QUERY = "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)"
NET_QUERY = 'sum by (instance_id) (increase(node_network_receive_bytes_total{device!="lo"}[5m]))'


def cpu_at(t: float) -> str:
    return str(10 + (int(t) // 300) % 9)


def prom_series() -> dict[str, list[Any]]:
    return {
        CPU_QUERY: [
            ({"instance_id": "i-0aaa"}, cpu_at),
            # no data half the time: Prometheus writes NaN
            ({"instance_id": "i-0bbb"}, lambda t: "NaN" if (int(t) // 300) % 2 else "42.5"),
        ],
        MEM_QUERY: [
            (
                {"instance": "10.0.0.1:9100", "instance_id": "i-0aaa", "job": "node"},
                lambda t: "61.25",
            ),
        ],
        NET_QUERY: [({"instance_id": "i-0aaa"}, lambda t: "1.5e6")],
    }


def prom_expected(step: int = 300, end: dt.datetime = T1) -> dict[Any, float]:
    out: dict[Any, float] = {}
    t = T0
    while t < end:
        epoch = t.timestamp()
        out[("i-0aaa", naive(t), "cpu_percent")] = float(cpu_at(epoch))
        out[("i-0aaa", naive(t), "memory_percent")] = 61.25
        if (int(epoch) // 300) % 2 == 0:
            out[("i-0bbb", naive(t), "cpu_percent")] = 42.5
        t += dt.timedelta(seconds=step)
    return out


@pytest.fixture
def prom() -> Iterator[PrometheusFake]:
    server = PrometheusFake(prom_series())
    with server:
        yield server


def test_prometheus_pull_stores_what_prometheus_serves(
    workspace: Workspace, prom: PrometheusFake
) -> None:
    done = workspace.pull_telemetry(
        "prometheus", start=T0, end=T1, url=prom.url, label="instance_id"
    )
    expected = prom_expected()
    assert_samples(stored(workspace), expected)
    assert done["source"] == f"prometheus:127.0.0.1:{prom.port}"
    assert done["requested"] is None and done["rows"] == len(expected) == 24 * 2 + 12
    # [start, end) evaluated at every step: 24 points, the last at 01:55
    params = prom.params()
    assert {p["query"] for p in params} == {CPU_QUERY, MEM_QUERY}
    assert {(p["start"], p["end"], p["step"]) for p in params} == {
        (str(int(T0.timestamp())), str(int((T1 - FIVE).timestamp())), "300")
    }


def test_prometheus_extra_query_map_and_filter(workspace: Workspace, prom: PrometheusFake) -> None:
    done = workspace.pull_telemetry(
        "prometheus",
        start=T0,
        end=T1,
        url=prom.url,
        label="instance_id",
        queries={"memory_percent": "", "Network_In_Bytes": NET_QUERY},  # drop memory, add net
        resource_map={"i-0aaa": "i-0AAA-renamed"},  # only mapped series are kept
    )
    got = stored(workspace)
    assert {(r, m) for r, _, m in got} == {
        ("i-0AAA-renamed", "cpu_percent"),
        ("i-0AAA-renamed", "network_in_bytes"),
    }
    assert {v for (_, _, m), v in got.items() if m == "network_in_bytes"} == {1.5e6}
    assert done["rows"] == 48
    done = workspace.pull_telemetry(
        "prometheus", start=T0, end=T1, url=prom.url, label="instance_id", resources=["I-0BBB"]
    )
    assert (done["requested"], done["missing"], done["rows"]) == (1, 0, 12)


def test_prometheus_pull_again_replaces(workspace: Workspace, prom: PrometheusFake) -> None:
    workspace.pull_telemetry("prometheus", start=T0, end=T1, url=prom.url, label="instance_id")
    prom.series[MEM_QUERY] = [({"instance_id": "i-0aaa"}, lambda t: "70")]
    workspace.pull_telemetry("prometheus", start=T0, end=T1, url=prom.url, label="instance_id")
    expected = {k: (70.0 if k[2] == "memory_percent" else v) for k, v in prom_expected().items()}
    assert_samples(stored(workspace), expected)


def test_prometheus_long_range_is_split(workspace: Workspace, prom: PrometheusFake) -> None:
    end = T0 + dt.timedelta(days=8)  # 11,520 one-minute steps: over the 11,000-point limit
    done = workspace.pull_telemetry(
        "prometheus",
        start=T0,
        end=end,
        url=prom.url,
        label="instance_id",
        period=60,
        queries={"memory_percent": ""},
        resources=["i-0aaa"],
    )
    assert done["rows"] == 8 * 24 * 60
    ranges = sorted((float(p["start"]), float(p["end"])) for p in prom.params())
    assert [round((b - a) / 60) + 1 for a, b in ranges] == [11_000, 520]
    assert ranges[1][0] == ranges[0][1] + 60  # contiguous, no point twice


def test_prometheus_auth(workspace: Workspace) -> None:
    basic = "Basic " + base64.b64encode(b"reader:s3cret").decode()
    server = PrometheusFake(prom_series(), authorization=basic)
    with server:
        done = workspace.pull_telemetry(
            "prometheus",
            start=T0,
            end=T1,
            url=server.url,
            label="instance_id",
            username="reader",
            environ={"COSTLINE_PROMETHEUS_PASSWORD": "s3cret"},
        )
        assert done["rows"] == len(prom_expected())
        with pytest.raises(PullRejectedError, match="HTTP 401") as err:
            workspace.pull_telemetry(
                "prometheus", start=T0, end=T1, url=server.url, label="instance_id", environ={}
            )
        assert "COSTLINE_PROMETHEUS_PASSWORD" in str(err.value.hint)
    server = PrometheusFake(prom_series(), authorization="Bearer t0k")
    with server:
        done = workspace.pull_telemetry(
            "prometheus",
            start=T0,
            end=T1,
            url=server.url,
            label="instance_id",
            environ={"COSTLINE_PROMETHEUS_TOKEN": "t0k"},
        )
        assert done["rows"] == len(prom_expected())


@pytest.mark.parametrize(
    ("series", "queries", "error", "message"),
    [
        ({}, None, PullRejectedError, "cpu_percent query failed \\(bad_data\\): 1:1: parse error"),
        (
            {CPU_QUERY: [({"job": "node"}, cpu_at)]},
            {"memory_percent": ""},
            PullRejectedError,
            "has no label 'instance_id'",
        ),
        (
            {
                CPU_QUERY: [
                    ({"instance_id": "i-1", "cpu": "0"}, cpu_at),
                    ({"instance_id": "i-1", "cpu": "1"}, cpu_at),
                ]
            },
            {"memory_percent": ""},
            PullRejectedError,
            "two series for i-1",
        ),
        (
            {CPU_QUERY: [({"instance_id": "i-1"}, lambda t: "250")]},  # a sum over 4 cores
            {"memory_percent": ""},
            BadInputError,
            "sample of 'i-1' cpu_percent at 2026-10-01T00:00:00Z: value '250.0' is not valid",
        ),
        (prom_series(), {"cpu_pct": "up"}, BadInputError, "unknown metric 'cpu_pct'"),
    ],
)
def test_prometheus_bad_answers(
    workspace: Workspace,
    series: dict[str, Any],
    queries: dict[str, str] | None,
    error: type[Exception],
    message: str,
) -> None:
    server = PrometheusFake(series)
    with server, pytest.raises(error, match=message) as err:
        workspace.pull_telemetry(
            "prometheus", start=T0, end=T1, url=server.url, label="instance_id", queries=queries
        )
    if "unknown metric" in message:
        assert "did you mean 'cpu_percent'?" in str(err.value)
    if error is BadInputError and "sample" in message:
        assert "percents 0-100" in str(err.value)
    assert samples_in(workspace) == 0


def test_prometheus_unreachable_and_not_prometheus(workspace: Workspace) -> None:
    server = PrometheusFake({}, script=[Reply(200, "<html>Grafana</html>")])
    with server:
        with pytest.raises(PullRejectedError, match="not a Prometheus API answer") as err:
            workspace.pull_telemetry("prometheus", start=T0, end=T1, url=server.url)
        assert "base URL" in str(err.value.hint)
        url = server.url
    with pytest.raises(PullUnavailableError, match="cannot reach"):
        prometheus.pull(url, start=T0, end=T1, backoff=0)


@pytest.mark.parametrize(
    ("source", "kwargs", "option", "message"),
    [
        ("prometheus", {}, "--url", "no Prometheus URL"),
        ("prometheus", {"url": "http://x", "region": "us-east-1"}, "--region", "does not apply"),
        ("cloudwatch", {"url": "http://x"}, "--url", "does not apply"),
        ("cloudwatch", {"token": "t"}, "--token", "does not apply"),
        ("cloudwatch", {"period": 90}, "--period", "whole number of minutes"),
        ("cloudwatch", {"start": T1, "end": T0}, "--start", "is empty"),
        ("cloudwatch2", {}, "SOURCE", "unknown telemetry source"),
    ],
)
def test_bad_options(
    workspace: Workspace, source: str, kwargs: dict[str, Any], option: str, message: str
) -> None:
    with pytest.raises(BadInputError, match=message) as err:
        workspace.pull_telemetry(source, **{"resources": ["i-1"], **kwargs})
    assert err.value.location.file == option


def test_default_window_is_14_days_to_now(workspace: Workspace, prom: PrometheusFake) -> None:
    before = dt.datetime.now(dt.UTC)
    workspace.pull_telemetry(
        "prometheus",
        url=prom.url,
        label="instance_id",
        queries={"memory_percent": ""},
        resources=["i-0aaa"],
    )
    [first, *rest] = sorted(prom.params(), key=lambda p: float(p["start"]))
    start = dt.datetime.fromtimestamp(float(first["start"]), dt.UTC)
    last = dt.datetime.fromtimestamp(float((rest or [first])[-1]["end"]), dt.UTC)
    assert start.timestamp() % 300 == 0
    assert last + FIVE <= dt.datetime.now(dt.UTC) and last + 2 * FIVE > before
    assert (last + FIVE - start) == dt.timedelta(days=14)


# -- the CLI ----------------------------------------------------------------------------------
def test_cli_pull(workspace: Workspace, prom: PrometheusFake) -> None:
    done = CliRunner().invoke(
        app,
        [
            "--workspace",
            str(workspace.root),
            "telemetry",
            "pull",
            "prometheus",
            "--url",
            prom.url,
            "--label",
            "instance_id",
            "--start",
            "2026-10-01",
            "--end",
            "2026-10-01T02:00:00Z",
            "--query",
            f"network_in_bytes={NET_QUERY}",
            "--map",
            "i-0aaa=i-0aaa",
            "-f",
            "json",
        ],
    )
    assert done.exit_code == 0, done.output
    summary = {r["item"]: r["value"] for r in json.loads(done.output)}
    assert summary["rows"] == 24 * 3
    assert summary["metrics"] == "cpu_percent, memory_percent, network_in_bytes"
    assert "requested" not in summary
    bad = CliRunner().invoke(
        app,
        [
            "--workspace",
            str(workspace.root),
            "telemetry",
            "pull",
            "prometheus",
            "--url",
            prom.url,
            "--start",
            "yesterday",
        ],
    )
    assert bad.exit_code != 0 and "not ISO 8601" in bad.output

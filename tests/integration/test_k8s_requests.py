"""Kubernetes request rightsizing through a real workspace: node bill rows, node capacity and
daily container samples loaded as a user would, recommendations worked out here by hand
(numpy for the percentile, the 9:1 vCPU:GiB split for the unit prices)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from costline.cli.main import app
from costline.core.errors import ConfigError
from costline.workspace import Workspace
from tests.focus_files import RESOURCE_COLUMNS, daily_resource_row, write_focus_csv

DAYS = 5
NODE_DAILY = "18.432"  # $0.768 an hour for a 16-core, 64 GiB node
GIB = 1024**3
# per day: (cpu usage avg cores, memory usage GiB) of the one pod of each workload
API_CPU = [0.20, 0.30, 0.40, 0.25, 0.35]
API_MEM = [0.8, 1.0, 0.9, 0.95, 0.85]
BUSY_CPU = [1.9, 2.0, 2.1, 1.95, 2.05]
BUSY_MEM = [3.5, 3.6, 3.55, 3.4, 3.45]


def samples(path: Path) -> Path:
    lines = [
        "window_start,window_hours,cluster,node_resource_id,namespace,pod,container,"
        "cpu_request,cpu_usage,memory_request_gib,memory_usage_gib,workload"
    ]
    for d in range(DAYS):
        day = dt.date(2026, 10, 1) + dt.timedelta(days=d)
        # the api's pod is replaced every day (new hashes): one workload all the same
        lines.append(
            f"{day},24,prod,i-node1,shop,api-7d9f8c6b5-{d:05d},api,1.0,{API_CPU[d]},2.0,"
            f"{API_MEM[d]},api"
        )
        lines.append(
            f"{day},24,prod,i-node1,shop,busy-5c8d7f6-{d:05d},main,1.0,{BUSY_CPU[d]},3.0,"
            f"{BUSY_MEM[d]},busy"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = Workspace.init(tmp_path / "ws")
    days = [dt.date(2026, 10, 1) + dt.timedelta(days=d) for d in range(DAYS)]
    rows = [
        daily_resource_row(day, "i-node1", NODE_DAILY, "USE1-BoxUsage:m5.4xlarge") for day in days
    ]
    assert not w.ingest([write_focus_csv(tmp_path / "bill.csv", rows, RESOURCE_COLUMNS)]).failed
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("node_resource_id,cluster,node,cpu_cores,memory_gib\ni-node1,prod,n1,16,64\n")
    w.load_kubernetes("nodes", nodes)
    w.load_kubernetes("samples", samples(tmp_path / "samples.csv"))
    return w


def test_requests_follow_p95_cpu_and_peak_memory_priced_at_the_cluster_rate(ws: Workspace) -> None:
    got = {r["workload"]: r for r in ws.recommend_k8s_requests().records()}
    per_gib = 0.768 / (9 * 16 + 64)  # the node's hourly cost over its weighted capacity
    per_core = 9 * per_gib
    api, busy = got["api"], got["busy"]
    assert api["cpu_recommended"] == pytest.approx(float(np.percentile(API_CPU, 95)), abs=1e-4)
    assert api["memory_recommended_gib"] == pytest.approx(max(API_MEM) * 1.15, abs=1e-4)
    assert api["status"] == "reduce" and api["pods"] == pytest.approx(1.0)
    change = (
        (np.percentile(API_CPU, 95) - 1.0) * per_core + (max(API_MEM) * 1.15 - 2.0) * per_gib
    ) * 730
    assert float(api["monthly_change"]) == pytest.approx(change, abs=0.01)
    assert float(api["monthly_savings"]) == pytest.approx(-change, abs=0.01)
    assert api["cpu_price_per_core_hour"] == Decimal(repr(per_core)).quantize(Decimal("1e-6"))
    # the busy workload uses more than it requests: its requests go up, nothing is saved
    assert busy["status"] == "increase" and busy["monthly_savings"] == 0
    assert busy["cpu_recommended"] > busy["cpu_request"]
    # largest saving first
    assert [r["workload"] for r in ws.recommend_k8s_requests().records()] == ["api", "busy"]


def test_short_history_and_the_cli(ws: Workspace, tmp_path: Path) -> None:
    one_day = {r["workload"]: r for r in ws.recommend_k8s_requests(lookback_days=1).records()}
    assert one_day["api"]["status"] == "insufficient-data"  # 24 pod-hours < 30
    out = CliRunner().invoke(
        app, ["--workspace", str(ws.root), "recommend", "--kind", "k8s-requests", "-f", "json"]
    )
    assert out.exit_code == 0, out.output
    assert [r["workload"] for r in json.loads(out.output)] == ["api", "busy"]


def test_no_samples_says_how_to_load_them(tmp_path: Path) -> None:
    w = Workspace.init(tmp_path / "empty")
    with pytest.raises(ConfigError, match="k8s load samples"):
        w.recommend_k8s_requests()

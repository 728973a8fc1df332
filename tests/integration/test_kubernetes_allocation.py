"""Kubernetes allocation on a real workspace: FOCUS rows ingested, usage loaded, allocated.

Expected amounts are worked out by hand in the comments (see also the unit tests, which
derive the same formulas on smaller cases).
"""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from costline.allocation.kubernetes import load_nodes, load_opencost, load_samples
from costline.workspace import Workspace
from tests.allocation_kit import by_team, charge, setup, team_tag_rules

pytestmark = pytest.mark.xdist_group("allocation")
SEP = "2024-09"
GIB = 1073741824


def k8s_rules(**settings: Any) -> dict[str, Any]:
    """Team from the `team` tag/label; one kubernetes pool over the cluster's EC2/EKS rows."""
    pool = {
        "id": "eks-c1",
        "select": {"column": "ServiceName", "in": ["Amazon EC2", "Amazon EKS"]},
        "method": "kubernetes",
        "kubernetes": {"cluster": "c1", **settings},
    }
    return team_tag_rules(pools=[pool])


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def alloc(pod: str, team: str, *, cpu: float = 0, ram_gib: float = 0, gpu: float = 0) -> Any:
    return {
        "name": f"c1/gpu-node/ml/{pod}/main",
        "properties": {
            "cluster": "c1",
            "node": "gpu-node",
            "namespace": "ml",
            "pod": pod,
            "container": "main",
            "labels": {"team": team},
        },  # fmt: skip
        "window": {"start": "2024-09-03T00:00:00Z", "end": "2024-09-04T00:00:00Z"},
        "minutes": 1440,
        "cpuCoreRequestAverage": cpu,
        "cpuCoreUsageAverage": 0,
        "ramByteRequestAverage": ram_gib * GIB,
        "ramByteUsageAverage": 0,
        "gpuCount": gpu,
    }


def test_opencost_export_worked_example_end_to_end(workspace: Workspace) -> None:
    # The OpenCost spec's node (1 GPU, 1 CPU, 1 GB; base prices 30/30/10) costs $35 on
    # 3 Sep; OpenCost reports three containers holding one resource each all day, so
    # the GPU's $15 goes to data, the CPU's $15 to web and the RAM's $5 to api. The node's
    # resource id comes from the nodes file (the export has no providerID).
    rows = [
        charge("35", ResourceId="i-0gpu", ServiceName="Amazon EC2"),
        charge("4", tags={"team": "platform"}, ServiceName="Amazon S3"),
    ]
    weights = {"preset": "prices", "cpu": 30, "memory": 10, "gpu": 30}
    setup(workspace, rows, k8s_rules(weights=weights))
    nodes = write(
        workspace.root / "nodes.csv",
        "node_resource_id,cluster,node,cpu_cores,memory_bytes,gpus\ni-0gpu,c1,gpu-node,1,"
        f"{GIB},1\n",
    )
    export = {
        "code": 200,
        "data": [
            {
                "c1/gpu-node/ml/trainer/main": alloc("trainer", "data", gpu=1),
                "c1/gpu-node/ml/api/main": alloc("api", "web", cpu=1),
                "c1/gpu-node/ml/cache/main": alloc("cache", "api", ram_gib=1),
            }
        ],
    }
    oc = write(workspace.root / "allocation.json", json.dumps(export))
    with workspace.warehouse() as wh:
        assert load_nodes(wh.con, nodes) == 1
        assert load_opencost(wh.con, oc) == 3
    report = workspace.allocate(SEP)
    assert by_team(workspace) == {
        "data": Decimal(15),
        "web": Decimal(15),
        "api": Decimal(5),
        "platform": Decimal(4),
    }
    assert report.unallocated_pools == []
    # chargeback per cost center (allocation_kit: data and platform share CC-3)
    cc = {r[0]: r[1] for r in workspace.query(
        "SELECT x_CostCenter, SUM(EffectiveCost) FROM allocated_cost GROUP BY 1").rows}  # fmt: skip
    assert cc == {"CC-1": Decimal(15), "CC-2": Decimal(5), "CC-3": Decimal(19)}
    details = workspace.query(
        "SELECT x_Team, AllocatedMethodId, AllocatedMethodDetails FROM allocated_cost "
        "WHERE x_AllocationPath LIKE 'pool:eks-c1%' ORDER BY x_Team"
    ).rows
    ratios = [json.loads(d)["Elements"][0]["AllocatedRatio"] for _, _, d in details]
    assert [t for t, _, _ in details] == ["api", "data", "web"]
    assert {m for _, m, _ in details} == {"costline:pool:eks-c1"}
    assert sum(ratios) == pytest.approx(1.0)
    assert json.loads(details[0][2])["Elements"][0]["x_Steps"][0]["x_Method"] == "kubernetes"
    # All three containers run in namespace ml: each part names k8s://c1/ml, and the
    # direct S3 row keeps the bill's resource (none).
    assert by_resource(workspace) == {
        ("data", "k8s://c1/ml", "ml"): Decimal(15),
        ("web", "k8s://c1/ml", "ml"): Decimal(15),
        ("api", "k8s://c1/ml", "ml"): Decimal(5),
        ("platform", None, None): Decimal(4),
    }


def by_resource(ws: Workspace) -> dict[tuple[Any, ...], Decimal]:
    """EffectiveCost per (team, AllocatedResourceId, AllocatedResourceName)."""
    rows = ws.query(
        "SELECT x_Team, NULLIF(AllocatedResourceId, ''), NULLIF(AllocatedResourceName, ''), "
        "SUM(EffectiveCost) FROM allocated_cost GROUP BY ALL"
    ).rows
    return {(r[0], r[1], r[2]): r[3] for r in rows}


SAMPLES = """window_start,window_hours,cluster,node,namespace,pod,container,labels,cpu_request,cpu_usage,memory_request_bytes,memory_usage_bytes
{day}T00:00:00Z,24,c1,n1,shop,web-1,app,"{{""team"":""web""}}",1,0.5,{g4},{g2}
{day}T00:00:00Z,24,c1,n1,orders,api-1,app,"{{""team"":""api""}}",1,1.5,{g2},{g2}
{day}T00:00:00Z,24,c1,n1,kube-system,dns-1,dns,{{}},0.5,0.1,{g1},{g1}
"""


def test_idle_shared_and_overhead_end_to_end(workspace: Workspace) -> None:
    # Node i-n1 (4 vCPU, 16 GiB) at $52 on 3 Sep; AWS weights 9:1 make 1/52 of it $1:
    #   web 1 vCPU + 4 GiB = 9 + 4 = $13; api 1.5 vCPU (usage) + 2 GiB = 13.5 + 2 = $15.5;
    #   kube-system dns 0.5 vCPU + 1 GiB = 4.5 + 1 = $5.5; idle vCPU $9 + memory $9 = $18.
    # Idle shared in the cluster, per resource by allocated cost: vCPU $9 over 24 : 36 core-h
    # → web 3.6, api 5.4; memory $9 over 96 : 48 GiB-h → web 6, api 3. dns and the $10
    # cluster fee are shared by direct cost 13 : 15.5. A $6 web-tagged S3 row stays direct.
    # The same node on 4 Sep has no samples: its $20 goes to unallocated:eks-c1.
    rows = [
        charge("52", ResourceId="i-n1", ServiceName="Amazon EC2", day=3),
        charge("20", ResourceId="i-n1", ServiceName="Amazon EC2", day=4),
        charge("10", ResourceId="arn:aws:eks:us-east-1:1:cluster/c1", ServiceName="Amazon EKS"),
        charge("6", tags={"team": "web"}, ServiceName="Amazon S3"),
    ]
    rules = k8s_rules(
        shared={"namespaces": ["kube-system"]},
        idle={"mode": "share", "scope": "cluster", "split": "weighted"},
    )
    setup(workspace, rows, rules)
    nodes = write(
        workspace.root / "nodes.csv", "node_resource_id,cluster,node,cpu_cores,memory_gib\n"
        "i-n1,c1,n1,4,16\n"
    )  # fmt: skip
    samples = write(
        workspace.root / "samples.csv",
        SAMPLES.format(day="2024-09-03", g4=4 * GIB, g2=2 * GIB, g1=GIB),
    )
    with workspace.warehouse() as wh:
        load_nodes(wh.con, nodes)
        assert load_samples(wh.con, samples) == 3
    report = workspace.allocate(SEP)
    got = by_team(workspace)
    shared = Fraction(55, 10) + 10  # dns + fee, both 13 : 15.5
    web = 13 + Fraction(96, 10) + shared * 13 / Fraction(285, 10) + 6
    api = Fraction(155, 10) + Fraction(84, 10) + shared * Fraction(155, 10) / Fraction(285, 10)
    assert abs(Fraction(got["web"]) - web) < Fraction(1, 10**9)
    assert abs(Fraction(got["api"]) - api) < Fraction(1, 10**9)
    assert got["unallocated:eks-c1"] == Decimal(20)
    assert sum(got.values()) == Decimal(88)
    assert report.unallocated_pools[0]["cost"] == Decimal(20)
    # Per part, the resource it went to: web's containers run in namespace shop, api's in
    # orders; dns and the fee are parts of those receiving namespaces; the shared idle
    # (web 3.6 + 6, api 5.4 + 3, computed above) is the cluster's __idle__; the day without
    # samples, like the direct S3 row, keeps the bill row's AllocatedResourceId (none).
    parts = by_resource(workspace)
    close = {
        ("web", "k8s://c1/shop", "shop"): 13 + shared * 13 / Fraction(285, 10),
        ("api", "k8s://c1/orders", "orders"): Fraction(155, 10)
        + shared * Fraction(155, 10) / Fraction(285, 10),
    }
    for k, v in close.items():
        assert abs(Fraction(parts.pop(k)) - v) < Fraction(1, 10**9), k
    assert parts == {
        ("web", "k8s://c1/__idle__", "__idle__"): Decimal("9.6"),
        ("api", "k8s://c1/__idle__", "__idle__"): Decimal("8.4"),
        ("unallocated:eks-c1", None, None): Decimal(20),
        ("web", None, None): Decimal(6),
    }
    # deterministic: a re-run gives the same amounts
    workspace.allocate(SEP)
    assert by_team(workspace) == got

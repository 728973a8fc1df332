"""Kubernetes allocation: hand-computed splits through the real engine on in-memory DuckDB.

Each test writes node rows into ``cost``, samples/nodes files into ``tmp_path``, runs
``allocate`` and compares each team's amount with the value worked out in the comment.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections.abc import Iterator, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from pydantic import ValidationError

from costline.allocation import allocate, ensure_tables
from costline.allocation.k8s_aws import compare_aws_split, load_aws_split
from costline.allocation.kubernetes import (
    key_exprs,
    load_nodes,
    load_opencost,
    load_samples,
    weights_sql,
)
from costline.config.allocation import OwnersRegistry, Pool, RuleSet
from costline.config.rules_loader import LoadedRules
from costline.core.errors import BadInputError
from costline.demo.telemetry import POD_COLUMNS
from costline.storage.duckdb import DuckDBWarehouse

SEP = dt.date(2024, 9, 1)
GIB = 1073741824
TEAMS = ("web", "api", "data", "platform")
SAMPLE_HEADER = (
    "window_start",
    "window_hours",
    "cluster",
    "node",
    "namespace",
    "pod",
    "container",
    "labels",
    "cpu_request",
    "cpu_usage",
    "memory_request_gib",
    "memory_usage_gib",
    "gpu_request",
    "gpu_usage",
)


# -- builders -------------------------------------------------------------------------------
@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    wh = DuckDBWarehouse(None)
    wh.ensure_schema()
    yield wh.con
    wh.close()


def owners() -> OwnersRegistry:
    teams = [{"id": t, "cost_center": f"CC-{t}"} for t in TEAMS]
    return OwnersRegistry.model_validate(
        {"business_units": [{"name": "bu", "departments": [{"name": "d", "teams": teams}]}]}
    )


def k8s_pool(**settings: Any) -> dict[str, Any]:
    return {
        "id": "eks",
        "select": {"column": "ServiceName", "in": ["Amazon EC2", "Amazon EKS"]},
        "method": "kubernetes",
        "kubernetes": {"cluster": "c1", **settings},
    }


def label_team_rules(pool: dict[str, Any], *rules: dict[str, Any]) -> LoadedRules:
    """Rules: the extra ones first, then the ``team`` label names the team."""
    doc = {
        "virtual_tags": [
            {
                "key": "team",
                "rules": [
                    *rules,
                    {
                        "id": "team-label",
                        "when": {"tag": "team", "present": True},
                        "value_from": {"tag": "team"},
                    },
                ],
            }
        ],
        "pools": [pool],
    }
    return LoadedRules(RuleSet.model_validate(doc), [Path("rules.yaml")], "test")


def bill(
    con: duckdb.DuckDBPyConnection,
    rid: str,
    cost: str,
    *,
    start: str = "2024-09-03 00:00:00",
    hours: int = 24,
    service: str = "Amazon EC2",
    tags: dict[str, str] | None = None,
) -> None:
    begin = dt.datetime.fromisoformat(start)
    end = begin + dt.timedelta(hours=hours)
    tag_map = "MAP {" + ", ".join(f"'{k}': '{v}'" for k, v in (tags or {}).items()) + "}"
    con.execute(
        "INSERT INTO cost (x_Provider, BillingAccountId, BillingPeriodStart, BillingPeriodEnd, "
        "ChargePeriodStart, ChargePeriodEnd, BilledCost, EffectiveCost, ListCost, ContractedCost, "
        "BillingCurrency, ServiceName, ResourceId, Tags) VALUES ('aws', 'acct', "
        "TIMESTAMP '2024-09-01', TIMESTAMP '2024-10-01', ?, ?, ?, ?, ?, ?, 'USD', ?, ?, "
        f"CAST({tag_map} AS MAP(VARCHAR, VARCHAR)))",
        [begin, end, cost, cost, cost, cost, service, rid],
    )


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def sample(
    team: str | None,
    *,
    ns: str | None = None,
    pod: str = "p",
    cpu: tuple[float, float] = (0, 0),
    mem_gib: tuple[float, float] = (0, 0),
    gpu: tuple[float, float] = (0, 0),
    start: str = "2024-09-03T00:00:00Z",
    hours: float = 24,
    node: str = "n1",
) -> list[Any]:
    labels = json.dumps({"team": team} if team else {})
    return [start, hours, "c1", node, ns or team or "default", pod, "app", labels,
            cpu[0], cpu[1], mem_gib[0], mem_gib[1], gpu[0], gpu[1]]  # fmt: skip


def load(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    samples: Sequence[Sequence[Any]],
    nodes: Sequence[Sequence[Any]],
) -> None:
    node_file = write_csv(
        tmp_path / "nodes.csv",
        ("node_resource_id", "cluster", "node", "cpu_cores", "memory_gib", "gpus"),
        nodes,
    )
    load_nodes(con, node_file)
    load_samples(con, write_csv(tmp_path / "samples.csv", SAMPLE_HEADER, samples))


def amounts(con: duckdb.DuckDBPyConnection) -> dict[str, Decimal]:
    rows = con.execute(
        "SELECT x_Team, SUM(EffectiveCost) FROM allocated_cost GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def near(got: Decimal, want: Fraction) -> bool:
    """Within the engine's rounding: parts are exact to the 10th decimal (one unit apart)."""
    return abs(Fraction(got) - want) <= Fraction(2, 10**10)


def run(con: duckdb.DuckDBPyConnection, loaded: LoadedRules) -> dict[str, Decimal]:
    allocate(con, loaded, owners(), SEP)
    return amounts(con)


def by_resource(
    con: duckdb.DuckDBPyConnection,
) -> dict[tuple[str, str | None, str | None], Decimal]:
    """EffectiveCost per (team, AllocatedResourceId, AllocatedResourceName) of allocated_cost."""
    rows = con.execute(
        "SELECT x_Team, AllocatedResourceId, AllocatedResourceName, SUM(EffectiveCost) "
        "FROM allocated_cost GROUP BY ALL"
    ).fetchall()
    return {(r[0], r[1], r[2]): r[3] for r in rows}


# -- the OpenCost spec's worked example -----------------------------------------------------
def test_opencost_spec_worked_example(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # OpenCost spec, Appendix A: a node with 1 GPU, 1 CPU and 1 GB costs $35/month; base
    # prices GPU $30, CPU $30, RAM $10 keep their ratio 3:3:1 and are scaled to the node:
    # GPU 35·3/7 = $15, CPU 35·3/7 = $15, RAM 35·1/7 = $5. Each container below holds all of
    # one resource for the whole month (30 daily windows of 24 h = the node's 720 h), so it
    # is charged exactly that resource's cost and nothing is idle.
    bill(con, "i-oc", "35", start="2024-09-01 00:00:00", hours=720)
    rows = []
    for day in range(1, 31):
        start = f"2024-09-{day:02d}T00:00:00Z"
        rows += [
            sample("data", pod="trainer", gpu=(1, 0), start=start),
            sample("web", pod="app", cpu=(1, 0), start=start),
            sample("api", pod="cache", mem_gib=(1, 0), start=start),
        ]
    load(con, tmp_path, rows, [("i-oc", "c1", "n1", 1, 1, 1)])
    pool = k8s_pool(
        granularity="monthly", weights={"preset": "prices", "cpu": 30, "memory": 10, "gpu": 30}
    )
    assert run(con, label_team_rules(pool)) == {
        "data": Decimal("15"),
        "web": Decimal("15"),
        "api": Decimal("5"),
    }
    # One part per team and namespace (the samples' namespace is the team's name here).
    assert by_resource(con) == {
        ("data", "k8s://c1/data", "data"): Decimal(15),
        ("web", "k8s://c1/web", "web"): Decimal(15),
        ("api", "k8s://c1/api", "api"): Decimal(5),
    }


# -- AWS split-cost-allocation weights ------------------------------------------------------
def test_aws_weights_hourly_and_max_of_request_and_usage(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # AWS's documented example node: m5.xlarge, 4 vCPU, 16 GB, $1/hour; weights 9 per vCPU,
    # 1 per GB → unit = 1 / (9·4 + 1·16) = 1/52.
    # web: request 1 vCPU (uses 0.5) and 4 GiB (uses 2) → max = 1 vCPU, 4 GiB → 13/52 = $0.25.
    # api: request 1 vCPU but uses 2 → 2 vCPU; 4 GiB → (18 + 4)/52 = 22/52.
    # idle: vCPU 4 − 3 = 1 → 9; GiB 16 − 8 = 8 → 8; 17/52.
    bill(con, "i-m5", "1", start="2024-09-03 10:00:00", hours=1)
    load(
        con,
        tmp_path,
        [
            sample("web", cpu=(1, 0.5), mem_gib=(4, 2), start="2024-09-03T10:00:00Z", hours=1),
            sample("api", cpu=(1, 2), mem_gib=(4, 1), start="2024-09-03T10:00:00Z", hours=1),
        ],
        [("i-m5", "c1", "n1", 4, 16, 0)],
    )
    got = run(con, label_team_rules(k8s_pool(granularity="hourly")))
    assert got["web"] == Decimal("0.25")
    assert near(got["api"], Fraction(22, 52))
    assert near(got["idle:c1"], Fraction(17, 52))
    assert sum(got.values()) == Decimal(1)


def test_opencost_default_prices_preset(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # OpenCost's default base prices: CPU 0.031611 per core-hour, RAM 0.004237 per GiB-hour.
    # The m5.xlarge node (4 vCPU, 16 GiB, $1/hour): S = 4·0.031611 + 16·0.004237 = 0.194236;
    # api holds 2 vCPU and 4 GiB → (0.063222 + 0.016948) / 0.194236 of the node.
    bill(con, "i-m5", "1", start="2024-09-03 10:00:00", hours=1)
    at = "2024-09-03T10:00:00Z"
    load(
        con,
        tmp_path,
        [sample("api", cpu=(2, 0), mem_gib=(4, 0), start=at, hours=1)],
        [("i-m5", "c1", "n1", 4, 16, 0)],
    )
    pool = k8s_pool(granularity="hourly", weights={"preset": "opencost"})
    got = run(con, label_team_rules(pool))
    assert near(got["api"], Fraction("0.08017") / Fraction("0.194236"))
    assert sum(got.values()) == Decimal(1)


def test_node_capacity_on_sample_rows(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # No nodes file: the samples carry the node's resource id and capacity (4 vCPU, 16 GiB).
    # web holds half of each resource all day → half the node's $10; the rest is idle.
    bill(con, "i-cap", "10")
    header = (*SAMPLE_HEADER, "node_resource_id", "node_cpu_cores", "node_memory_gib")
    rows = [[*sample("web", cpu=(2, 0), mem_gib=(8, 0)), "i-cap", 4, 16]]
    assert load_samples(con, write_csv(tmp_path / "s.csv", header, rows)) == 1
    assert con.execute(
        "SELECT node_resource_id, cpu_cores, memory_bytes FROM k8s_nodes"
    ).fetchall() == [("i-cap", 4.0, 16.0 * GIB)]
    assert run(con, label_team_rules(k8s_pool())) == {"web": Decimal(5), "idle:c1": Decimal(5)}


def test_gpu_node_weights_and_fractional_gpus(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # AWS accelerated example node (p3.16xlarge): 8 GPU, 64 vCPU, 488 GB; on GPU nodes the
    # weights are 9 per GPU, 0.9 per vCPU, 0.1 per GB: total 72 + 57.6 + 48.8 = 178.4.
    # At $10/hour: data (0.5 GPU time-sliced, 4 vCPU, 32 GiB) = 10·(4.5 + 3.6 + 3.2)/178.4;
    # web (a MIG slice: usage 0.25 GPU, no request; 1 vCPU, 8 GiB) = 10·(2.25 + 0.9 + 0.8)/178.4.
    bill(con, "i-p3", "10", start="2024-09-03 10:00:00", hours=1)
    at = "2024-09-03T10:00:00Z"
    load(
        con,
        tmp_path,
        [
            sample("data", cpu=(4, 1), mem_gib=(32, 8), gpu=(0.5, 0.4), start=at, hours=1),
            sample("web", cpu=(1, 0), mem_gib=(8, 0), gpu=(0, 0.25), start=at, hours=1),
        ],
        [("i-p3", "c1", "n1", 64, 488, 8)],
    )
    got = run(con, label_team_rules(k8s_pool(granularity="hourly")))
    total = Fraction(1784, 10)
    assert near(got["data"], 10 * Fraction(113, 10) / total)
    assert near(got["web"], 10 * Fraction(395, 100) / total)
    assert sum(got.values()) == Decimal(10)


# -- idle, shared namespaces and overhead, by hand ------------------------------------------
# One node (4 vCPU, 16 GiB) at $52/day, so the AWS unit (1/52 of the node) is $1:
#   web: 1 vCPU, 4 GiB → 24 core-h, 96 GiB-h → 9·24/96 + 16·96/384 = 9 + 4 = $13
#   api: 1.5 vCPU (usage > request), 2 GiB → 36, 48 → 13.5 + 2 = $15.5
#   kube-system dns: 0.5 vCPU, 1 GiB → 12, 24 → 4.5 + 1 = $5.5 (shared namespace)
#   idle: vCPU 36·(96 − 72)/96 = $9, memory 16·(384 − 168)/384 = $9 → $18
# Shared dns, weighted by direct cost 13 : 15.5, gives web 5.5·13/28.5 and api 5.5·15.5/28.5.
# The cluster fee ($10, not a node) goes 13 : 15.5 as well (weighted overhead).
DNS_WEB = Fraction(55, 10) * 13 / Fraction(285, 10)
DNS_API = Fraction(55, 10) * Fraction(155, 10) / Fraction(285, 10)
FEE_WEB, FEE_API = 10 * 13 / Fraction(285, 10), 10 * Fraction(155, 10) / Fraction(285, 10)


def _hand_case(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    bill(con, "i-n1", "52")
    bill(con, "arn:aws:eks:us-east-1:1:cluster/c1", "10", service="Amazon EKS")
    bill(con, "i-other", "7", service="Amazon S3", tags={"team": "data"})  # not in the pool
    load(
        con,
        tmp_path,
        [
            sample("web", pod="web-1", cpu=(1, 0.5), mem_gib=(4, 2)),
            sample("api", pod="api-1", cpu=(1, 1.5), mem_gib=(2, 2)),
            sample("platform", ns="kube-system", pod="dns-1", cpu=(0.5, 0.1), mem_gib=(1, 0.5)),
        ],
        [("i-n1", "c1", "n1", 4, 16, 0)],
    )


def test_idle_kept_and_shared_namespace_weighted(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _hand_case(con, tmp_path)
    pool = k8s_pool(shared={"namespaces": ["kube-system"]})
    got = run(con, label_team_rules(pool))
    assert near(got["web"], 13 + DNS_WEB + FEE_WEB)
    assert near(got["api"], Fraction(155, 10) + DNS_API + FEE_API)
    assert got["idle:c1"] == Decimal(18)
    # dns and the fee are parts of the receiving namespaces; idle is the cluster's.
    parts = by_resource(con)
    assert parts[("idle:c1", "k8s://c1/__idle__", "__idle__")] == Decimal(18)
    assert near(parts[("web", "k8s://c1/web", "web")], 13 + DNS_WEB + FEE_WEB)
    assert ("data", None, None) in parts  # a direct row keeps the bill's (NULL here)
    assert got["data"] == Decimal(7)
    assert "platform" not in got  # kube-system was shared, not charged to its label's team
    assert sum(got.values()) == Decimal(69)


def test_idle_shared_by_node_weighted_per_resource(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # CPU idle $9 by vCPU allocation 24 : 36 → web 3.6, api 5.4; memory idle $9 by GiB
    # allocation 96 : 48 → web 6, api 3 (the shared namespace takes no idle).
    _hand_case(con, tmp_path)
    pool = k8s_pool(
        shared={"namespaces": ["kube-system"]},
        idle={"mode": "share", "scope": "node", "split": "weighted"},
    )
    got = run(con, label_team_rules(pool))
    assert near(got["web"], 13 + DNS_WEB + FEE_WEB + Fraction(96, 10))
    assert near(got["api"], Fraction(155, 10) + DNS_API + FEE_API + Fraction(84, 10))
    assert "idle:c1" not in got
    assert sum(got.values()) == Decimal(69)


def test_parts_per_team_and_namespace_name_their_resource(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # Node $52/day, 4 vCPU, 16 GiB: the AWS unit (1/52 of the node) is $1.
    #   web in shop: 1 vCPU, 4 GiB → 24 core-h, 96 GiB-h → 9·24/96 + 16·96/384 = 9 + 4 = $13
    #   web in cart: 0.5 vCPU, 2 GiB → 4.5 + 2 = $6.5
    #   api in orders: 1 vCPU, 2 GiB → 9 + 2 = $11
    #   kube-system dns (shared): 0.5 vCPU, 1 GiB → 4.5 + 1 = $5.5
    #   idle: vCPU 36·(4 − 3)/4 = $9, memory 16·(16 − 9)/16 = $7 → $16 (13+6.5+11+5.5+16 = 52)
    # Idle shared on the node per resource by allocation: vCPU $9 over web 1.5 : api 1 → 5.4,
    # 3.6; memory $7 over web 6 : api 2 GiB → 5.25, 1.75: web 10.65, api 5.35, both as parts
    # of k8s://c1/__idle__. dns ($5.5) and the cluster fee ($10, overhead) go by direct cost
    # 13 : 6.5 : 11 (total 30.5) to the receiving namespaces shop, cart and orders.
    bill(con, "i-n1", "52")
    bill(con, "arn:aws:eks:us-east-1:1:cluster/c1", "10", service="Amazon EKS")
    bill(con, "i-other", "7", service="Amazon S3", tags={"team": "data"})  # direct
    bill(con, "support-1", "3", service="Support")  # a proportional pool: all to data
    load(
        con,
        tmp_path,
        [
            sample("web", ns="shop", pod="shop-1", cpu=(1, 0.5), mem_gib=(4, 2)),
            sample("web", ns="cart", pod="cart-1", cpu=(0.5, 0.5), mem_gib=(2, 1)),
            sample("api", ns="orders", pod="api-1", cpu=(1, 0.2), mem_gib=(2, 2)),
            sample("platform", ns="kube-system", pod="dns-1", cpu=(0.5, 0.1), mem_gib=(1, 0.5)),
        ],
        [("i-n1", "c1", "n1", 4, 16, 0)],
    )
    pool = k8s_pool(
        shared={"namespaces": ["kube-system"]},
        idle={"mode": "share", "scope": "node", "split": "weighted"},
    )
    loaded = label_team_rules(pool)
    support = {"id": "support", "select": {"column": "ServiceName", "equals": "Support"},
               "method": "proportional"}  # fmt: skip
    loaded.rules.pools.append(Pool.model_validate(support))
    allocate(con, loaded, owners(), SEP)
    got = by_resource(con)
    spread = Fraction(155, 10) / Fraction(305, 10)  # dns + fee per $ of direct cost
    want = {
        ("web", "k8s://c1/shop", "shop"): 13 + 13 * spread,
        ("web", "k8s://c1/cart", "cart"): Fraction(65, 10) + Fraction(65, 10) * spread,
        ("api", "k8s://c1/orders", "orders"): 11 + 11 * spread,
        ("web", "k8s://c1/__idle__", "__idle__"): Fraction(1065, 100),
        ("api", "k8s://c1/__idle__", "__idle__"): Fraction(535, 100),
        ("data", None, None): Fraction(10),  # the S3 row and the support pool's part
    }
    assert set(got) == set(want)
    assert all(near(got[k], v) for k, v in want.items()), got
    assert sum(got.values()) == Decimal(72)
    # Stored on the parts (NULL where the pool names no resource: proportional, even, ...).
    parts = con.execute(
        "SELECT x_RuleId, AllocatedResourceId IS NULL, count(*) FROM allocation_parts "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    # node row: shop, cart, orders, 2 idle parts; fee: shop, cart, orders; support: 1
    assert parts == [("pool:eks", False, 8), ("pool:support", True, 1)]
    # A what-if run (nothing published) gives its parts the same resources.
    allocate(con, loaded, owners(), SEP, publish=False)
    what_if = con.execute(
        "SELECT owner, res_id, res_name, SUM(cost) FROM (SELECT _owner AS owner, "
        "NULL AS res_id, NULL AS res_name, EffectiveCost AS cost FROM _a_rows WHERE _pool IS NULL "
        "UNION ALL SELECT _owner, _res_id, _res_name, EffectiveCost FROM _a_split) GROUP BY ALL"
    ).fetchall()
    assert {(r[0], r[1], r[2]): r[3] for r in what_if} == got


def test_a_per_charge_store_of_an_earlier_release_is_replaced(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # Releases before aggregate-first runs stored one allocation row per charge. That store is
    # derived data: it is dropped, the period reads as not allocated, and a run restores it.
    bill(con, "i-n1", "24")
    load(
        con,
        tmp_path,
        [sample("web", cpu=(4, 0), mem_gib=(16, 0))],
        [("i-n1", "c1", "n1", 4, 16, 0)],
    )
    allocate(con, label_team_rules(k8s_pool()), owners(), SEP)
    for view in ("allocated_cost", "allocation_facts", "allocated_charges"):
        con.execute(f"DROP VIEW {view}")
    con.execute("DROP TABLE allocation_groups")
    con.execute("DROP TABLE allocation_parts")
    con.execute("CREATE TABLE allocation_rows (x_ChargeId BIGINT, x_Team VARCHAR)")
    con.execute("CREATE TABLE allocation_parts (x_ChargeId BIGINT, x_Team VARCHAR)")
    ensure_tables(con)
    tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    assert "allocation_rows" not in tables
    assert by_resource(con) == {(None, None, None): Decimal(24)}
    allocate(con, label_team_rules(k8s_pool()), owners(), SEP)
    assert by_resource(con) == {("web", "k8s://c1/web", "web"): Decimal(24)}


def test_idle_and_shared_even_by_cluster(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # Even: idle $18 → 9 each; dns $5.5 → 2.75 each; the fee $10 → 5 each.
    _hand_case(con, tmp_path)
    pool = k8s_pool(
        shared={"namespaces": ["kube-system"], "split": "even"},
        idle={"mode": "share", "scope": "cluster", "split": "even"},
        overhead={"split": "even"},
    )
    got = run(con, label_team_rules(pool))
    assert got == {"web": Decimal("29.75"), "api": Decimal("32.25"), "data": Decimal(7)}


# -- teams from labels and namespaces -------------------------------------------------------
def test_namespace_rules_labels_and_unknown_teams(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # Node $24/day, 4 vCPU, 16 GiB, AWS weights (CPU share 36/52, memory 16/52): each pod
    # holds 1 of 4 vCPU and 4 of 16 GiB all day → 36/52·1/4 + 16/52·1/4 = 13/52 → $6.
    bill(con, "i-n1", "24")
    load(
        con,
        tmp_path,
        [
            sample(None, ns="payments", pod="a", cpu=(1, 0), mem_gib=(4, 0)),  # namespace rule
            sample("WEB ", pod="b", cpu=(1, 0), mem_gib=(4, 0)),  # label, folded → web
            sample("ghost", pod="c", cpu=(1, 0), mem_gib=(4, 0)),  # not a team → unallocated
            sample(None, ns="legacy", pod="d", cpu=(1, 0), mem_gib=(4, 0)),  # no label
        ],
        [("i-n1", "c1", "n1", 4, 16, 0)],
    )
    ns_rule = {"id": "ns-payments", "when": {"tag": "k8s:namespace", "equals": "payments"},
               "value": "api"}  # fmt: skip
    got = run(con, label_team_rules(k8s_pool(), ns_rule))
    assert got == {"api": Decimal(6), "web": Decimal(6), "unallocated": Decimal(12)}


def test_pool_teams_override_the_rule_set(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    bill(con, "i-n1", "24")
    load(
        con,
        tmp_path,
        [sample("web", ns="shop", pod="a", cpu=(4, 0), mem_gib=(16, 0))],
        [("i-n1", "c1", "n1", 4, 16, 0)],
    )
    teams = [{"id": "all-to-data", "when": {"tag": "k8s:cluster", "equals": "c1"}, "value": "data"}]
    got = run(con, label_team_rules(k8s_pool(teams=teams)))
    assert got == {"data": Decimal(24)}


# -- missing driver data is reported, never dropped -----------------------------------------
def test_days_without_samples_and_nodes_without_capacity_go_to_unallocated(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    bill(con, "i-n1", "24", start="2024-09-03 00:00:00")
    bill(con, "i-n1", "24", start="2024-09-04 00:00:00")  # no samples that day
    bill(con, "i-n2", "11", start="2024-09-03 00:00:00")  # samples, but no capacity known
    node_file = write_csv(
        tmp_path / "n.csv",
        ("node_resource_id", "cluster", "node", "cpu_cores", "memory_gib"),
        [("i-n1", "c1", "n1", 4, 16)],
    )
    load_nodes(con, node_file)
    load_samples(
        con,
        write_csv(
            tmp_path / "s.csv",
            (*SAMPLE_HEADER, "node_resource_id"),
            [
                [*sample("web", cpu=(4, 0), mem_gib=(16, 0)), "i-n1"],
                [*sample("web", pod="q", node="n2", cpu=(1, 0), mem_gib=(1, 0)), "i-n2"],
            ],
        ),
    )
    report = allocate(con, label_team_rules(k8s_pool()), owners(), SEP)
    assert amounts(con) == {"web": Decimal(24), "unallocated:eks": Decimal(35)}
    assert report.unallocated_pools == [
        {"owner": "unallocated:eks", "charges": 2, "cost": Decimal(35)}
    ]


# -- conservation ---------------------------------------------------------------------------
def test_every_charge_is_conserved_exactly(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    rng = random.Random(7)
    nodes = [(f"i-{i}", "c1", f"n{i}", rng.choice([2, 4, 8]), rng.choice([8, 16, 32]), 0)
             for i in range(3)]  # fmt: skip
    rows = []
    for day in range(1, 8):
        for rid, _, name, *_ in nodes:
            bill(con, rid, f"{rng.uniform(1, 50):.10f}", start=f"2024-09-{day:02d} 00:00:00")
            for p in range(rng.randint(1, 4)):
                rows.append(
                    sample(
                        rng.choice([*TEAMS, "ghost"]),
                        ns=rng.choice(["kube-system", "a"]),
                        pod=f"{name}-{p}",
                        node=name,
                        start=f"2024-09-{day:02d}T00:00:00Z",
                        hours=rng.choice([6, 24]),
                        cpu=(rng.uniform(0, 3), rng.uniform(0, 3)),
                        mem_gib=(rng.uniform(0, 20), rng.uniform(0, 20)),
                    )  # fmt: skip
                )
    load(con, tmp_path, rows, nodes)
    pool = k8s_pool(
        shared={"namespaces": ["kube-system"]},
        idle={"mode": "share", "scope": "cluster", "split": "weighted"},
    )
    allocate(con, label_team_rules(pool), owners(), SEP)
    bad = con.execute(
        "SELECT c.x_ChargeId, c.EffectiveCost, SUM(a.EffectiveCost) FROM cost c JOIN allocated_cost a "
        "ON a.x_ChargeId = c.x_ChargeId GROUP BY 1, 2 HAVING SUM(a.EffectiveCost) <> c.EffectiveCost"
    ).fetchall()
    assert bad == []
    split = con.execute(
        "SELECT count(DISTINCT x_ChargeId), count(*) FROM allocated_cost WHERE x_Team <> "
        "'unallocated:eks'"
    ).fetchone()
    assert split is not None and split[1] > split[0]  # charges were really split
    totals = con.execute(
        "SELECT (SELECT SUM(EffectiveCost) FROM allocated_cost), (SELECT SUM(EffectiveCost) FROM cost)"
    ).fetchone()
    assert totals is not None and totals[0] == totals[1]


# -- input formats --------------------------------------------------------------------------
def test_demo_pod_usage_format_loads(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # The demo writes k8s/pod_usage.csv with POD_COLUMNS: node is the instance id, memory is
    # in GiB, running_hours is the window length, team/workload become labels.
    load_nodes(
        con,
        write_csv(
            tmp_path / "nodes.csv",
            ("node_resource_id", "cluster", "node", "cpu_cores", "memory_gib"),
            [("i-0abc", "shared-prod", "i-0abc", 16, 64)],
        ),
    )
    row = ["2026-07-01", "shared-prod", "i-0abc", "checkout", "checkout", "checkout-api",
           "checkout-api-1", "0.345", "0.195", "2.005", "1.12", "24"]  # fmt: skip
    assert len(row) == len(POD_COLUMNS)
    assert load_samples(con, write_csv(tmp_path / "pod_usage.csv", POD_COLUMNS, [row])) == 1
    got = con.execute(
        "SELECT window_start, window_hours, node_resource_id, namespace, pod, container, "
        "labels['team'], labels['workload'], cpu_request, cpu_usage, memory_request, memory_usage "
        "FROM k8s_samples"
    ).fetchone()
    assert got == (
        dt.datetime(2026, 7, 1), 24.0, "i-0abc", "checkout", "checkout-api-1", "",
        "checkout", "checkout-api", 0.345, 0.195, 2.005 * GIB, 1.12 * GIB,
    )  # fmt: skip
    # loading the same file again replaces its windows: still one row
    load_samples(con, tmp_path / "pod_usage.csv")
    assert con.execute("SELECT count(*) FROM k8s_samples").fetchone() == (1,)


def opencost_export(path: Path, entries: dict[str, dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"code": 200, "data": [entries]}))
    return path


def oc_alloc(pod: str, team: str, *, cpu: float, ram_gib: float, gpu: float = 0) -> dict[str, Any]:
    return {
        "name": f"c1/n1/default/{pod}/app",
        "properties": {
            "cluster": "c1",
            "node": "n1",
            "namespace": "default",
            "pod": pod,
            "container": "app",
            "providerID": "aws:///us-east-1a/i-oc",
            "labels": {"team": team},
        },  # fmt: skip
        "window": {"start": "2024-09-03T00:00:00Z", "end": "2024-09-04T00:00:00Z"},
        "minutes": 1440,
        "cpuCoreRequestAverage": cpu,
        "cpuCoreUsageAverage": cpu / 2,
        "ramByteRequestAverage": ram_gib * GIB,
        "ramByteUsageAverage": 0,
        "gpuCount": gpu,
        "totalCost": 1.23,
    }


def test_opencost_export_maps_to_samples(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # The spec's node again, one day at $35 split by the same base prices, from OpenCost JSON;
    # __idle__ is skipped (costline recomputes idle from the bill); providerID aws:///zone/id
    # becomes the instance id the bill carries.
    bill(con, "i-oc", "35")
    load_nodes(
        con,
        write_csv(
            tmp_path / "n.csv",
            ("node_resource_id", "cpu_cores", "memory_bytes", "gpus"),
            [("i-oc", 1, GIB, 1)],
        ),
    )
    entries = {
        "c1/n1/default/t/app": oc_alloc("t", "data", cpu=0, ram_gib=0, gpu=1),
        "c1/n1/default/w/app": oc_alloc("w", "web", cpu=1, ram_gib=0),
        "c1/n1/default/c/app": oc_alloc("c", "api", cpu=0, ram_gib=1),
        "__idle__": {"name": "__idle__", "properties": {"cluster": "c1"}, "minutes": 1440,
                     "window": {"start": "2024-09-03T00:00:00Z", "end": "2024-09-04T00:00:00Z"}},
    }  # fmt: skip
    assert load_opencost(con, opencost_export(tmp_path / "oc.json", entries)) == 3
    assert con.execute(
        "SELECT DISTINCT node_resource_id, window_hours FROM k8s_samples"
    ).fetchall() == [("i-oc", 24.0)]
    pool = k8s_pool(weights={"preset": "prices", "cpu": 30, "memory": 10, "gpu": 30})
    assert run(con, label_team_rules(pool)) == {
        "data": Decimal(15),
        "web": Decimal(15),
        "api": Decimal(5),
    }


# -- AWS split cost allocation rows ---------------------------------------------------------
def test_aws_split_rows_compared_per_namespace_and_pod(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # Same node as the hand case but without the shared namespace: costline's per-pod cost
    # (AWS's method: direct + idle shared per resource within the node) is web 13 + 3.6 + 6,
    # api 15.5 + 5.4 + 3 (see test_idle_shared_by_node_weighted_per_resource), dns 5.5 + its
    # share: vCPU idle 9·12/72 = 1.5, memory idle 9·24/168 → recompute with dns included:
    # vCPU idle 9 over 24:36:12 → web 3, api 4.5, dns 1.5; memory idle 9 over 96:48:24 →
    # web 36/7, api 18/7, dns 9/7.
    _hand_case(con, tmp_path)
    arn = "arn:aws:eks:us-east-1:1:pod/c1/{ns}/{pod}/uid-1"
    cur = write_csv(
        tmp_path / "cur.csv",
        (
            "line_item_usage_start_date",
            "line_item_resource_id",
            "line_item_usage_type",
            "line_item_currency_code",
            "split_line_item_parent_resource_id",
            "split_line_item_split_cost",
            "split_line_item_unused_cost",
        ),  # fmt: skip
        [
            (
                "2024-09-03T00:00:00Z",
                arn.format(ns="web", pod="web-1"),
                "USE1-EKS-EC2-vCPU-Hours",
                "USD",
                "i-n1",
                "9",
                "3",
            ),
            (
                "2024-09-03T00:00:00Z",
                arn.format(ns="web", pod="web-1"),
                "USE1-EKS-EC2-GB-Hours",
                "USD",
                "i-n1",
                "4",
                "5",
            ),
            (
                "2024-09-03T00:00:00Z",
                arn.format(ns="api", pod="api-1"),
                "USE1-EKS-EC2-vCPU-Hours",
                "USD",
                "i-n1",
                "15.5",
                "7",
            ),
            ("2024-09-03T00:00:00Z", "i-n1", "BoxUsage", "USD", "", "", ""),  # not a split row
        ],  # fmt: skip
    )
    assert load_aws_split(con, cur) == 3
    rows = compare_aws_split(con, Pool.model_validate(k8s_pool()), SEP, rules=None)
    by_pod = {(r["namespace"], r["pod"]): r for r in rows}
    web = by_pod[("web", "web-1")]
    assert near(web["costline_total"], 13 + 3 + Fraction(36, 7))
    assert web["aws_total"] == Decimal(21)
    assert near(web["difference"], 13 + 3 + Fraction(36, 7) - 21)
    api = by_pod[("api", "api-1")]
    assert near(api["costline_total"], Fraction(155, 10) + Fraction(45, 10) + Fraction(18, 7))
    assert api["aws_total"] == Decimal("22.5")
    dns = by_pod[("kube-system", "dns-1")]
    assert near(dns["costline_total"], Fraction(55, 10) + Fraction(15, 10) + Fraction(9, 7))
    assert dns["aws_total"] == 0  # AWS had no row for it
    # costline's pods add up to the node's cost: 52
    assert near(sum(r["costline_total"] for r in rows), Fraction(52))


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "row", "column", "reason"),
    [
        (SAMPLE_HEADER[1:], sample("web")[1:], "window_start", "missing-column"),
        (SAMPLE_HEADER, sample("web", cpu=("one", 0)), "cpu_request", "unparsable"),  # type: ignore[arg-type]
        (SAMPLE_HEADER, sample("web", cpu=(-1, 0)), "cpu_request", "unparsable"),
        (SAMPLE_HEADER, sample("web", start="yesterday"), "window_start", "unparsable"),
        (SAMPLE_HEADER, sample("web", hours=30), "window_hours", "unparsable"),
        (
            SAMPLE_HEADER,
            [*sample("web")[:7], "{not json", *sample("web")[8:]],
            "labels",
            "unparsable",
        ),
        ((*SAMPLE_HEADER, "cpu_requets"), [*sample("web"), "1"], "cpu_requets", "unknown-column"),
        (SAMPLE_HEADER, sample("web", node="n-unknown"), "node_resource_id", "unparsable"),
    ],
)
def test_bad_samples_name_file_row_column_and_fix(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    header: Sequence[str],
    row: list[Any],
    column: str,
    reason: str,
) -> None:
    load_nodes(
        con,
        write_csv(
            tmp_path / "n.csv",
            ("node_resource_id", "node", "cpu_cores", "memory_gib"),
            [("i-n1", "n1", 4, 16)],
        ),  # fmt: skip
    )
    good = sample("api", pod="ok")
    good = (good + [""] * len(header))[: len(header)] if len(header) > len(good) else good
    good = good[-len(header) :] if len(header) < len(good) else good
    path = write_csv(tmp_path / "bad.csv", header, [good, row])
    with pytest.raises(BadInputError) as err:
        load_samples(con, path)
    loc = err.value.location
    assert (loc.file, loc.column, err.value.reason) == (str(path), column, reason)
    if reason == "unparsable":
        assert loc.row == 2  # the second data row
    assert err.value.hint
    assert con.execute("SELECT count(*) FROM k8s_samples").fetchone() == (0,)


def test_bad_nodes_and_opencost_files(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    nodes = write_csv(tmp_path / "n.csv", ("node_resource_id", "cpu_cores"), [("i-1", 4)])
    with pytest.raises(BadInputError, match="memory_bytes") as err:
        load_nodes(con, nodes)
    assert err.value.reason == "missing-column"
    nodes = write_csv(
        tmp_path / "n2.csv", ("node_resource_id", "cpu_cores", "memory_gib"), [("i-1", "4x", 1)]
    )
    with pytest.raises(BadInputError) as err:
        load_nodes(con, nodes)
    assert (err.value.location.row, err.value.location.column) == (1, "cpu_cores")

    (tmp_path / "x.json").write_text('{"code": 200, "data": "nope"}')
    with pytest.raises(BadInputError, match="not an OpenCost allocation export"):
        load_opencost(con, tmp_path / "x.json")
    week = oc_alloc("w", "web", cpu=1, ram_gib=1)
    week["window"] = {"start": "2024-09-01T00:00:00Z", "end": "2024-09-08T00:00:00Z"}
    with pytest.raises(BadInputError, match="window") as err:
        load_opencost(con, opencost_export(tmp_path / "w.json", {"a": week}))
    assert err.value.hint is not None and "step=1d" in err.value.hint
    bad = oc_alloc("w", "web", cpu=1, ram_gib=1)
    bad["cpuCoreRequestAverage"] = "lots"
    with pytest.raises(BadInputError) as err:
        load_opencost(con, opencost_export(tmp_path / "b.json", {"a": bad}))
    assert err.value.location.column == "cpuCoreRequestAverage"
    with pytest.raises(BadInputError, match="split_line_item_parent_resource_id"):
        load_aws_split(con, write_csv(tmp_path / "c.csv", ("line_item_resource_id",), [("x",)]))


# -- config and SQL shape -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"method": "kubernetes"}, "needs kubernetes"),
        ({"method": "kubernetes", "kubernetes": {}, "to": ["web"]}, "to is not used"),
        ({"method": "even", "kubernetes": {}}, "only apply to method kubernetes"),
        (
            {"method": "kubernetes", "kubernetes": {"weights": {"preset": "prices", "gpu": 3}}},
            "needs at least cpu and memory",
        ),  # fmt: skip
        ({"method": "kubernetes", "kubernetes": {"weights": {"cpu": 3}}}, "apply to preset"),
        (
            {"method": "kubernetes", "kubernetes": {"weights": {"preset": "opencost", "cpu": 3}}},
            "not opencost",
        ),
        ({"method": "kubernetes", "kubernetes": {"idle": {"mode": "spread"}}}, "keep"),
        (
            {
                "method": "kubernetes",
                "kubernetes": {
                    "teams": [
                        {"id": "t", "when": {"vtag": "env", "equals": "prod"}, "value": "web"}
                    ]
                },
            },
            "reads a vtag",
        ),  # fmt: skip
    ],
)
def test_invalid_kubernetes_pools_are_rejected(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Pool.model_validate({"id": "k", "select": {"column": "x", "equals": "y"}, **settings})


@pytest.mark.parametrize(
    ("rule", "message", "hint"),
    [
        ("{id: t1, when: {tag: team, present: true}, value: wbe}",
         "kubernetes.teams rule 't1' of pool 'eks' names unknown team 'wbe'", "did you mean 'web'?"),
        ("{id: t1, when: {column: ServiceName, equals: x}, value: web}",
         "reads column 'ServiceName': a container has no bill columns", "k8s:namespace"),
        ("{id: t1, value_from: {column: ResourceId}}", "reads column 'ResourceId'", "tag: team"),
        ("{id: t1, when: {tag: 'k8s:namspace', equals: shop}, value: web}",
         "reads unknown tag 'k8s:namspace'", "did you mean 'k8s:namespace'?"),
    ],
)  # fmt: skip
def test_kubernetes_teams_rules_are_checked_with_file_and_line(
    tmp_path: Path, rule: str, message: str, hint: str
) -> None:
    from costline.config.rules_loader import check_rules, load_rules
    from costline.core.errors import ConfigError
    from costline.schema.focus import STORE_COLUMNS

    columns = [c.name for c in STORE_COLUMNS]
    path = tmp_path / "rules.yaml"
    path.write_text(
        "pools:\n"
        "  - id: eks\n"
        "    select: {column: ServiceName, equals: Amazon EC2}\n"
        "    method: kubernetes\n"
        "    kubernetes:\n"
        "      teams:\n"
        "        - {id: ok, when: {tag: 'k8s:namespace', equals: legacy}, value: data}\n"
        f"        - {rule}\n"  # line 8
    )
    loaded = load_rules(path)
    with pytest.raises(ConfigError) as err:
        check_rules(loaded, owners(), columns)
    assert message in str(err.value)
    assert f"{path}:8" in str(err.value)
    assert err.value.hint is not None and hint in err.value.hint
    # the valid first rule alone passes
    path.write_text("\n".join(path.read_text().splitlines()[:7]) + "\n")
    check_rules(load_rules(path), owners(), columns)


def test_weights_sql_is_portable_to_spark() -> None:
    pool = Pool.model_validate(
        k8s_pool(
            shared={"namespaces": ["kube-system"]},
            idle={"mode": "share", "scope": "node"},
            granularity="hourly",
        )
    )
    rules = label_team_rules(k8s_pool()).rules
    sql = weights_sql(pool, SEP, rules=rules)
    assert "GROUP BY ALL" not in sql and "->" not in sql
    spark = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
    assert "`_t:team`" in spark
    assert key_exprs(pool) == ["BillingPeriodStart", '"ResourceId"', "ChargePeriodStart"]

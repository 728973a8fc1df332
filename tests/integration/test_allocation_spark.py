"""The same rule set on Spark ``local[2]`` and on DuckDB: equal to the last decimal.

DuckDB runs through the workspace (``Workspace.allocate``); its cost table (with the stable
``x_ChargeId`` a published run gives each row) and metrics are written to Parquet and read by
Spark, which runs
:func:`costline.allocation.spark.allocate_spark` on the same rows. The first test also checks
both against amounts worked out by hand; the second compares every allocated part of a random
bill column by column. The kubernetes test exports ``k8s_samples`` and ``k8s_nodes`` the same
way and compares every part, per charge, team and namespace.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections.abc import Iterator
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest

from costline.allocation.kubernetes import load_nodes, load_samples
from costline.allocation.run import AllocationError
from costline.config.rules_loader import load_owners, load_rules
from costline.core.errors import ConfigError
from costline.schema.focus import STORE_COLUMNS
from costline.workspace import Workspace
from tests.allocation_kit import charge, setup, team_tag_rules, write_rules

pytest.importorskip("pyspark", reason="pyspark is not installed: pip install -e '.[spark]'")

from pyspark.sql import SparkSession  # noqa: E402 - after the skip

from costline.allocation.spark import SparkAllocation, allocate_spark  # noqa: E402

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.xdist_group("spark")]
SEP = dt.date(2024, 9, 1)


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    """One JVM for the module: 2 local cores, loopback only, no UI, 2 shuffle partitions."""
    old = os.environ.get("SPARK_LOCAL_IP")
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    session = (
        SparkSession.builder.master("local[2]")
        .appName("costline-tests")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    if old is None:
        os.environ.pop("SPARK_LOCAL_IP", None)
    else:
        os.environ["SPARK_LOCAL_IP"] = old


def _export(ws: Workspace, spark: SparkSession, tmp: Path, *, metrics: bool = True) -> None:
    """The workspace's cost and metrics as Spark views over Parquet.

    A published DuckDB run gives each cost row a stable ``x_ChargeId``; Spark reuses it.
    """
    with ws.warehouse() as wh:
        wh.con.execute(f"COPY cost TO '{tmp / 'cost.parquet'}' (FORMAT parquet)")
        has_metrics = wh.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'allocation_metrics'"
        ).fetchone()
        if metrics and has_metrics and has_metrics[0]:
            wh.con.execute(
                f"COPY allocation_metrics TO '{tmp / 'metrics.parquet'}' (FORMAT parquet)"
            )
    spark.read.parquet(str(tmp / "cost.parquet")).createOrReplaceTempView("cost")
    spark.catalog.dropTempView("allocation_metrics")
    if (tmp / "metrics.parquet").exists():
        spark.read.parquet(str(tmp / "metrics.parquet")).createOrReplaceTempView(
            "allocation_metrics"
        )


def _on_spark(
    ws: Workspace, spark: SparkSession, tmp: Path, *, charge_id: str | None = "x_ChargeId"
) -> SparkAllocation:
    _export(ws, spark, tmp)
    rules, owners = load_rules(ws.rules_path), load_owners(ws.owners_path)
    return allocate_spark(spark, rules, owners, SEP, charge_id=charge_id)


def _cc(report_rows: list[dict[str, Any]]) -> dict[tuple[str, str], Decimal]:
    return {(r["cost_center"], r["currency"]): r["amount"] for r in report_rows}


# -- a bill worked out by hand --------------------------------------------------------------
HAND_RULES: dict[str, Any] = team_tag_rules(
    tags={
        "keys": [{"key": "team", "values": {"svc-api": "api"}}],
        "inherit": [{"column": "SubAccountId", "values": {"acct-data": {"team": "data"}}}],
    },
    pools=[
        {  # network 40 (AWS): half into the support pool, half to platform
            "id": "network",
            "select": {"column": "ServiceName", "equals": "Network"},
            "method": "fixed",
            "shares": {"pool:support": 50, "platform": 50},
        },
        {  # support by direct cost within each provider
            "id": "support",
            "select": {"column": "ServiceName", "equals": "Support"},
            "method": "proportional",
        },
        {  # office even over AWS teams with direct cost, except data
            "id": "office",
            "select": {"column": "ServiceName", "equals": "Office"},
            "method": "even",
            "exclude": ["data"],
        },
        {  # gateway by requests
            "id": "gateway",
            "select": {"column": "ServiceName", "equals": "Gateway"},
            "method": "metric",
            "driver": {"metric": "requests"},
        },
    ],
)
HAND_RULES["virtual_tags"][0]["rules"].append(
    {"id": "plat", "when": {"column": "ResourceId", "prefix": "i-plat-"}, "value": "platform"}
)


def _hand_rows() -> list[dict[str, Any]]:
    return [
        charge("10", tags={"Team": "Web"}),  # key and value case folded → web
        charge("30", tags={"team ": "svc-api"}),  # key whitespace; value alias → api
        charge("60", SubAccountId="acct-data"),  # inherited from the account → data
        charge("20", ResourceId="i-plat-1"),  # virtual-tag prefix rule → platform
        charge("100", tags={"team": "web"}, provider="Microsoft"),
        charge("40", ServiceName="Network"),
        charge("10", ServiceName="Support"),
        charge("8", ServiceName="Support", provider="Microsoft"),
        charge("10", ServiceName="Office"),
        charge("12", ServiceName="Gateway"),
    ]


def test_hand_computed_bill_is_equal_on_both_engines(
    workspace: Workspace, spark: SparkSession, tmp_path: Path
) -> None:
    setup(workspace, _hand_rows(), HAND_RULES)
    metrics = workspace.root / "requests.csv"
    metrics.write_text("date,team,value\n2024-09-01,web,100\n2024-09-20,api,200\n")
    workspace.load_metrics(metrics, metric="requests")
    duck = workspace.allocate("2024-09")
    result = _on_spark(workspace, spark, tmp_path)

    # AWS direct: web 10, api 30, data 60, platform 20 (120); Azure direct: web 100.
    # network 40 → support pool 20, platform 20.
    # support AWS 10 + 20 = 30 by 10:30:60:20 /120 → web 2.5, api 7.5, data 15, platform 5;
    # support Azure 8 → web (the only Azure team).
    # office 10 even over api, platform, web (in that order, cumulative rounding):
    #   round(10/3) = 3.3333333333, round(20/3) − 3.3333333333 = 3.3333333334, rest 3.3333333333
    # gateway 12 by requests 100:200 → web 4, api 8.
    web = Decimal("10") + Decimal("2.5") + Decimal("3.3333333333") + 4 + 100 + 8
    api = Decimal("30") + Decimal("7.5") + Decimal("3.3333333333") + 8
    cc3 = Decimal("60") + 15 + Decimal("20") + 20 + 5 + Decimal("3.3333333334")  # data + platform
    expected = {("CC-1", "USD"): web, ("CC-2", "USD"): api, ("CC-3", "USD"): cc3}
    assert sum(expected.values()) == Decimal(300)  # the whole bill
    assert _cc(duck.cost_centers) == expected
    assert _cc(result.cost_centers) == expected
    office = {
        r["x_Team"]: r["EffectiveCost"]
        for r in result.frame.where("x_RuleId = 'pool:office'").collect()
    }
    assert office == {
        "api": Decimal("3.3333333333"),
        "platform": Decimal("3.3333333334"),
        "web": Decimal("3.3333333333"),
    }
    assert result.rows_in == duck.rows_in == 10
    assert result.rows_out == duck.rows_out


# -- a random bill, compared part by part ---------------------------------------------------
RANDOM_RULES: dict[str, Any] = team_tag_rules(
    tags={"keys": [{"key": "team", "aliases": ["owner"], "values": {"dat": "data"}}]},
    pools=[
        {
            "id": "net",
            "select": {"column": "ServiceName", "equals": "Network"},
            "method": "fixed",
            "shares": {"pool:shared": "33.3", "platform": "41.7", "web": 25},
        },
        {
            "id": "shared",
            "select": {"column": "ServiceName", "equals": "Shared"},
            "method": "proportional",
            "driver": {"cost_column": "BilledCost"},
        },
        {
            "id": "daily",
            "select": {"column": "ServiceName", "equals": "Daily"},
            "method": "even",
            "granularity": "daily",
        },
        {
            "id": "calls",
            "select": {"column": "ServiceName", "equals": "Calls"},
            "method": "metric",
            "driver": {"metric": "calls"},
        },
    ],
)
SERVICES = ["Amazon EC2"] * 6 + ["Network", "Shared", "Daily", "Calls"]


def _random_money(rng: random.Random) -> Decimal:
    """Amounts from 1e-10 to 1e21 (beyond BIGINT) with up to 10 decimals; 1 in 8 is a credit."""
    with localcontext(prec=50):  # 1e21 with 10 decimals has 32 digits
        digits = Decimal(rng.randint(1, 10**17))
        value = digits.scaleb(rng.choice([-27, -20, -15, -12, -10, 0, 4]))
        value = max(value.quantize(Decimal("1e-10")), Decimal("1e-10"))
        return -value if rng.random() < 0.125 else value


def _random_rows(seed: int, n: int) -> list[dict[str, Any]]:
    with localcontext(prec=50):  # charge() doubles the amount for ListCost
        return _random_rows_exact(random.Random(seed), n)


def _random_rows_exact(rng: random.Random, n: int) -> list[dict[str, Any]]:
    keys = ["team", "Team", "owner", "TEAM "]
    values = ["web", "api", "data", "dat", "platform", "Web", "ghost"]
    rows = []
    for _ in range(n):
        tags = {rng.choice(keys): rng.choice(values)} if rng.random() < 0.8 else {}
        cost = _random_money(rng)
        row = charge(
            cost,
            tags=tags,
            provider=rng.choice(["AWS", "Microsoft"]),
            day=rng.randint(1, 4),
            ServiceName=rng.choice(SERVICES),
        )
        row["BilledCost"] = str(_random_money(rng))  # the proportional driver differs
        rows.append(row)
    return rows


def _parts(
    rows: list[Any], names: list[str], key: tuple[str, ...] = ("x_ChargeId", "x_AllocationPath")
) -> dict[tuple[Any, ...], dict[str, Any]]:
    out = {}
    for r in rows:
        rec = dict(zip(names, r, strict=True))
        details = rec.pop("AllocatedMethodDetails")
        # Engines print a DOUBLE differently (1e-05 / 1.0E-5): compare the parsed numbers.
        rec["details"] = json.loads(details) if details else None
        if "x_VirtualTags" in rec:  # a published DuckDB run keeps the owner's in x_Team only
            rec["x_VirtualTags"] = {
                k: v for k, v in (rec["x_VirtualTags"] or {}).items() if k != "team"
            } or None
        out[tuple(rec[k] for k in key)] = rec
    return out


def test_random_bill_parts_are_equal_row_for_row(
    workspace: Workspace, spark: SparkSession, tmp_path: Path
) -> None:
    setup(workspace, _random_rows(seed=20240901, n=300), RANDOM_RULES)
    metrics = workspace.root / "calls.csv"
    metrics.write_text(
        "date,team,value\n2024-09-02,web,1234.5678901234567\n2024-09-03,api,0.3333333333333333\n"
        "2024-09-04,data,98765432.1\n"
    )
    workspace.load_metrics(metrics, metric="calls")
    duck = workspace.allocate("2024-09")
    result = _on_spark(workspace, spark, tmp_path)

    names = [c.name for c in STORE_COLUMNS] + [
        "x_ChargeId",
        "x_Team",
        "x_CostCenter",
        "x_Department",
        "x_BusinessUnit",
        "x_RuleId",
        "x_RuleVersion",
        "x_AllocationPath",
        "x_VirtualTags",
    ]
    cols = ", ".join(f'"{n}"' for n in names)
    duck_parts = _parts(workspace.query(f"SELECT {cols} FROM allocated_cost").rows, names)
    spark_parts = _parts(result.frame.select(*names).collect(), names)
    assert len(duck_parts) == duck.rows_out == result.rows_out
    assert duck_parts.keys() == spark_parts.keys()
    differing = {
        key: {
            c: (duck_parts[key][c], spark_parts[key][c])
            for c in duck_parts[key]
            if duck_parts[key][c] != spark_parts[key][c]
        }
        for key in duck_parts
        if duck_parts[key] != spark_parts[key]
    }
    assert differing == {}
    # every kind of step happened, with real splits (not everything in one bucket)
    paths = {k[1] for k in duck_parts}
    assert {"pool:net>pool:shared>api", "pool:daily>web", "pool:calls>data"} <= paths
    # per cost center: DuckDB's per-charge rows equal Spark's exactly; DuckDB's run report
    # splits each group of charges once, so it agrees to the last digits a DOUBLE ratio keeps
    # (the amounts here reach 1e21)
    per_charge = workspace.query(
        "SELECT COALESCE(x_CostCenter, x_Team) AS cost_center, BillingCurrency AS currency, "
        "SUM(EffectiveCost) AS amount FROM allocated_cost GROUP BY ALL"
    )
    assert _cc([dict(zip(per_charge.columns, r, strict=True)) for r in per_charge.rows]) == _cc(
        result.cost_centers
    )
    grouped, rows = _cc(duck.cost_centers), _cc(result.cost_centers)
    assert grouped.keys() == rows.keys()
    assert all(abs(grouped[k] - v) <= abs(v) * Decimal("1e-14") for k, v in rows.items())
    # conservation, as each engine checked it: per provider, currency and period
    assert {_key(t): {k: t[k] for k in duck.totals[0]} for t in result.totals} == {
        _key(t): t for t in duck.totals
    }


def _key(total: dict[str, Any]) -> tuple[Any, ...]:
    return total["provider"], total["currency"], total["billing_period_start"]


# -- kubernetes pools: node cost → namespaces, idle kept and shared -------------------------
def _k8s_pool(pool_id: str, select: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {"id": pool_id, "select": select, "method": "kubernetes", "kubernetes": settings}


EKS_C1 = "arn:aws:eks:us-east-1:1:cluster/c1"
K8S_RULES: dict[str, Any] = team_tag_rules(
    pools=[
        _k8s_pool(  # idle kept; kube-system shared; the EKS fee is overhead
            "eks-c1",
            {
                "any": [
                    {"column": "ResourceId", "prefix": "i-c1-"},
                    {"column": "ResourceId", "equals": EKS_C1},
                ]
            },
            cluster="c1",
            shared={"namespaces": ["kube-system"]},
        ),
        _k8s_pool(
            "eks-c2",
            {"column": "ResourceId", "prefix": "i-c2-"},
            cluster="c2",
            idle={"mode": "share", "scope": "cluster", "split": "weighted"},
        ),
        _k8s_pool(  # in EUR, not worked out by hand: awkward amounts, ties, every other option
            "eks-c3",
            {"column": "ResourceId", "regex": "^(i-c3-|arn:.*/c3$)"},
            cluster="c3",
            weights={"preset": "opencost"},
            shared={"namespaces": ["kube-system"], "split": "even"},
            idle={"mode": "share", "scope": "node", "split": "even"},
            overhead={"split": "even"},
        ),
    ]
)
K8S_NODES = (
    "node_resource_id,cluster,node,cpu_cores,memory_gib,gpus\ni-c1-n1,c1,n1,4,16,0\n"
    "i-c2-n1,c2,n1,2,8,0\ni-c3-n1,c3,n1,8,32,1\ni-c3-n2,c3,n2,3,7,0\n"
)
TEAM = '{{""team"":""{}""}}'
K8S_SAMPLES = (
    "window_start,window_hours,cluster,node,node_resource_id,namespace,pod,container,labels,"
    "cpu_request,cpu_usage,memory_request_gib,memory_usage_gib,gpu_request,gpu_usage\n"
    + "".join(
        f'2024-09-{day}T00:00:00Z,{hours},{c},{n},i-{c}-{n},{ns},{pod},app,"{labels}",{use}\n'
        for day, hours, c, n, ns, pod, labels, use in [
            # cpu request, usage; memory request, usage (GiB); gpu request, usage
            ("03", 24, "c1", "n1", "shop", "web-1", TEAM.format("web"), "1,0.5,4,2,0,0"),
            ("03", 24, "c1", "n1", "shop-admin", "admin-1", TEAM.format("web"), "0.5,0.2,1,1,0,0"),
            ("03", 24, "c1", "n1", "orders", "api-1", TEAM.format("api"), "1,1.5,2,2,0,0"),
            ("03", 24, "c1", "n1", "kube-system", "dns-1", "{}", "0.2,0.1,1.6,1,0,0"),
            ("03", 24, "c2", "n1", "etl", "etl-1", TEAM.format("data"), "1,0.5,2,1,0,0"),
            ("03", 24, "c2", "n1", "shop", "web-2", TEAM.format("web"), "0.5,0.5,2,2,0,0"),
            # c3: web and api tie on n1; a pod of 7.5 hours; a GPU; a near-free node n2
            ("05", 24, "c3", "n1", "alpha", "w3", TEAM.format("web"), "1.3,0.9,2.7,3.1,0,0"),
            ("05", 24, "c3", "n1", "alpha", "a3", TEAM.format("api"), "1.3,0.9,2.7,3.1,0,0"),
            ("05", 7.5, "c3", "n1", "beta", "d3", TEAM.format("data"), "0.7,2.2,5.1,4.9,0.5,1"),
            ("05", 24, "c3", "n1", "kube-system", "k3", "{}", "0.33,0.2,1.1,1,0,0"),
            ("05", 24, "c3", "n2", "alpha", "w4", TEAM.format("web"), "1,1,1,1,0,0"),
            ("05", 24, "c3", "n2", "gamma", "a4", TEAM.format("api"), "1,1,1,1,0,0"),
        ]
    )
)

# c3's rows are billed in EUR: one currency per billing account and period
EUR: dict[str, Any] = {"BillingCurrency": "EUR", "BillingAccountId": "aws-eu"}


def _k8s_rows() -> list[dict[str, Any]]:
    return [
        charge("52", ResourceId="i-c1-n1", ServiceName="Amazon EC2", day=3),
        charge("20", ResourceId="i-c1-n1", ServiceName="Amazon EC2", day=4),
        charge("6.8", ResourceId=EKS_C1, ServiceName="Amazon EKS"),
        charge("26", ResourceId="i-c2-n1", ServiceName="Amazon EC2", day=3),
        charge("6", tags={"team": "web"}, ServiceName="Amazon S3"),
        *(
            charge(cost, ResourceId=rid, ServiceName="Amazon EC2", day=5, **EUR)
            for cost, rid in [
                ("123.4567890123", "i-c3-n1"),
                ("0.0000000007", "i-c3-n2"),
                ("3.3333333333", "arn:aws:eks:us-east-1:1:cluster/c3"),
            ]
        ),
    ]


def _export_k8s(ws: Workspace, spark: SparkSession, tmp: Path) -> None:
    """The warehouse's k8s_samples and k8s_nodes as Spark views, as the how-to describes."""
    with ws.warehouse() as wh:
        for table in ("k8s_samples", "k8s_nodes"):
            wh.con.execute(f"COPY {table} TO '{tmp / table}.parquet' (FORMAT parquet)")
    for table in ("k8s_samples", "k8s_nodes"):
        spark.read.parquet(f"{tmp / table}.parquet").createOrReplaceTempView(table)


def test_kubernetes_pools_are_equal_on_both_engines(
    workspace: Workspace, spark: SparkSession, tmp_path: Path
) -> None:
    # AWS weights 9 per vCPU-hour : 1 per GiB-hour; both nodes cost $1 per unit on 3 Sep
    # (c1: 4 vCPU · 9 + 16 GiB = $52; c2: 2 · 9 + 8 = $26), a container max(request, usage).
    # c1: web shop 1 vCPU + 4 GiB = 13, web shop-admin 0.5 + 1 = 5.5, api orders 1.5 + 2 =
    #   15.5, kube-system dns 0.2 + 1.6 GiB = 1.8 + 1.6 = 3.4; idle 0.8 vCPU + 7.4 GiB =
    #   7.2 + 7.4 = 14.6, kept as idle:c1. dns 3.4 and the $6.8 EKS fee go to the direct cost
    #   13 : 5.5 : 15.5 (/34): shop 1.3 + 2.6, shop-admin 0.55 + 1.1, orders 1.55 + 3.1.
    # c2: data etl 1 vCPU + 2 GiB = 11, web shop 0.5 + 2 = 6.5; idle 0.5 vCPU = 4.5 by
    #   CPU cost 9 : 4.5 → data 3, web 1.5; idle 4 GiB = 4 by memory cost 2 : 2 → 2 each.
    # c1's node on 4 Sep has no samples: $20 to unallocated:eks-c1. S3 $6 is web's, direct.
    # c3 (EUR) is only compared between the engines and for conservation.
    setup(workspace, _k8s_rows(), K8S_RULES)
    nodes = workspace.root / "nodes.csv"
    nodes.write_text(K8S_NODES)
    samples = workspace.root / "samples.csv"
    samples.write_text(K8S_SAMPLES)
    with workspace.warehouse() as wh:
        assert load_nodes(wh.con, nodes) == 4
        assert load_samples(wh.con, samples) == 12
    duck = workspace.allocate("2024-09")
    _export_k8s(workspace, spark, tmp_path)
    try:
        result = _on_spark(workspace, spark, tmp_path)
    finally:
        for table in ("k8s_samples", "k8s_nodes"):
            spark.catalog.dropTempView(table)

    names = [
        "x_ChargeId", "x_Team", "AllocatedResourceId", "AllocatedResourceName", "x_CostCenter",
        "x_RuleId", "x_AllocationPath", "BillingCurrency", "EffectiveCost", "BilledCost",
        "ListCost", "ContractedCost", "AllocatedMethodDetails",
    ]  # fmt: skip
    cols = ", ".join(f'"{n}"' for n in names)
    key = ("x_ChargeId", "x_AllocationPath", "AllocatedResourceId")
    duck_parts = _parts(workspace.query(f"SELECT {cols} FROM allocated_cost").rows, names, key)
    spark_parts = _parts(result.frame.select(*names).collect(), names, key)
    # row for row, every column (amounts to the last decimal), equal between the engines
    assert duck_parts == spark_parts
    assert len(duck_parts) == duck.rows_out == result.rows_out
    assert result.rows_in == duck.rows_in == 8

    ids = {
        r[0]: r[1]
        for r in workspace.query(
            "SELECT COALESCE(ResourceId, '') || '@' || day(ChargePeriodStart), x_ChargeId FROM cost"
        ).rows
    }
    node1, node1_d4, fee = ids["i-c1-n1@3"], ids["i-c1-n1@4"], ids[f"{EKS_C1}@3"]
    node2, s3 = ids["i-c2-n1@3"], ids["@3"]
    c1, c2 = "k8s://c1/", "k8s://c2/"
    expected_parts = {
        (node1, "web", c1 + "shop"): Decimal("14.3"),  # 13 + 1.3
        (node1, "web", c1 + "shop-admin"): Decimal("6.05"),  # 5.5 + 0.55
        (node1, "api", c1 + "orders"): Decimal("17.05"),  # 15.5 + 1.55
        (node1, "idle:c1", c1 + "__idle__"): Decimal("14.6"),
        (fee, "web", c1 + "shop"): Decimal("2.6"),
        (fee, "web", c1 + "shop-admin"): Decimal("1.1"),
        (fee, "api", c1 + "orders"): Decimal("3.1"),
        (node1_d4, "unallocated:eks-c1", None): Decimal(20),
        (node2, "data", c2 + "etl"): Decimal(11),
        (node2, "web", c2 + "shop"): Decimal("6.5"),
        (node2, "data", c2 + "__idle__"): Decimal(5),  # 3 + 2
        (node2, "web", c2 + "__idle__"): Decimal("3.5"),  # 1.5 + 2
        (s3, "web", None): Decimal(6),
    }
    usd = [r for r in _k8s_rows() if r["BillingCurrency"] == "USD"]
    assert sum(expected_parts.values()) == sum(Decimal(r["EffectiveCost"]) for r in usd)
    # one part per charge, team and namespace, as worked out above
    got = {
        (p["x_ChargeId"], p["x_Team"], p["AllocatedResourceId"] or None): p["EffectiveCost"]
        for p in spark_parts.values()
        if p["BillingCurrency"] == "USD"
    }
    assert got == expected_parts
    # c3: the tie (web and api alike in alpha), the GPU pod's namespace and the node's idle
    c3_node = ids["i-c3-n1@5"]
    c3 = {
        (p["x_Team"], p["AllocatedResourceName"])
        for p in spark_parts.values()
        if p["x_ChargeId"] == c3_node
    }
    assert c3 == {(t, ns) for t in ("web", "api") for ns in ("alpha", "__idle__")} | {
        ("data", "beta"),
        ("data", "__idle__"),
    }
    # per cost center (idle and unallocated have none: their team names them)
    expected_cc = {
        ("CC-1", "USD"): Decimal("40.05"),  # web 14.3 + 6.05 + 2.6 + 1.1 + 6.5 + 3.5 + 6
        ("CC-2", "USD"): Decimal("20.15"),  # api 17.05 + 3.1
        ("CC-3", "USD"): Decimal(16),  # data 11 + 5
        ("idle:c1", "USD"): Decimal("14.6"),
        ("unallocated:eks-c1", "USD"): Decimal(20),
    }
    spark_cc = _cc(result.cost_centers)
    assert spark_cc == _cc(duck.cost_centers)
    assert {k: v for k, v in spark_cc.items() if k[1] == "USD"} == expected_cc
    # conservation, as each engine checked it, per currency and in every split column
    assert {_key(t): {k: t[k] for k in duck.totals[0]} for t in result.totals} == {
        _key(t): t for t in duck.totals
    }
    for currency in ("USD", "EUR"):
        rows = [r for r in _k8s_rows() if r["BillingCurrency"] == currency]
        (total,) = [t for t in result.totals if t["currency"] == currency]
        assert total["charges"] == len(rows)
        assert total["EffectiveCost"] == sum(Decimal(r["EffectiveCost"]) for r in rows)
        assert total["ListCost"] == sum(Decimal(r["ListCost"]) for r in rows)
        by_charge: dict[int, Decimal] = {}
        for p in spark_parts.values():
            if p["BillingCurrency"] == currency:
                by_charge[p["x_ChargeId"]] = by_charge.get(p["x_ChargeId"], 0) + p["EffectiveCost"]
        assert sorted(by_charge.values()) == sorted(Decimal(r["EffectiveCost"]) for r in rows)


# -- bad input fails the same way on Spark --------------------------------------------------
def test_overlapping_pools_are_a_rules_error_on_spark(
    workspace: Workspace, spark: SparkSession, tmp_path: Path
) -> None:
    pools = [
        {"id": "a", "select": {"column": "ServiceName", "equals": "Shared"}, "method": "even"},
        {"id": "b", "select": {"column": "ServiceName", "prefix": "Sha"}, "method": "even"},
    ]
    rows = [charge("10", tags={"team": "web"}), charge("4", ServiceName="Shared")]
    setup(workspace, rows, team_tag_rules(pools=pools))
    message = "pools 'a' and 'b' both select the same rows"
    with pytest.raises(ConfigError, match=message) as on_duckdb:
        workspace.allocate("2024-09")
    # never allocated: no stable ids yet, so Spark numbers the rows itself
    with pytest.raises(ConfigError, match=message) as on_spark:
        _on_spark(workspace, spark, tmp_path, charge_id=None)
    assert on_spark.value.path == on_duckdb.value.path == workspace.rules_path / "allocation.yaml"
    assert on_spark.value.line == on_duckdb.value.line


def test_bad_inputs_name_the_fix(workspace: Workspace, spark: SparkSession, tmp_path: Path) -> None:
    pool = {
        "id": "calls",
        "select": {"column": "ServiceName", "equals": "Calls"},
        "method": "metric",
        "driver": {"metric": "calls"},
    }
    rows = [charge("10", tags={"team": "web"}), charge("4", ServiceName="Calls")]
    setup(workspace, rows, team_tag_rules(pools=[pool]))
    _export(workspace, spark, tmp_path, metrics=False)
    rules, owners = load_rules(workspace.rules_path), load_owners(workspace.owners_path)
    with pytest.raises(ConfigError, match="no table allocation_metrics") as err:
        allocate_spark(spark, rules, owners, SEP)
    assert err.value.path is not None and err.value.line is not None
    write_rules(workspace, team_tag_rules())
    rules = load_rules(workspace.rules_path)
    with pytest.raises(AllocationError, match="no cost rows with a billing period .* 2024-10"):
        allocate_spark(spark, rules, owners, dt.date(2024, 10, 1))
    spark.sql("SELECT *, CAST(NULL AS BIGINT) AS my_id FROM cost").createOrReplaceTempView("c2")
    with pytest.raises(ConfigError, match="'my_id' is NULL or repeated on 2 of 2 rows"):
        allocate_spark(spark, rules, owners, SEP, source="c2", charge_id="my_id")
    with pytest.raises(ConfigError, match="'nope' is not in c2"):
        allocate_spark(spark, rules, owners, SEP, source="c2", charge_id="nope")
    local = spark.table("cost").withColumn(
        "BillingPeriodStart", spark.table("cost")["BillingPeriodStart"].cast("timestamp")
    )
    local.createOrReplaceTempView("c3")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        with pytest.raises(ConfigError, match="session time zone is America/New_York"):
            allocate_spark(spark, rules, owners, SEP, source="c3")
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    leftovers = [t.name for t in spark.catalog.listTables() if t.name.startswith("_a_")]
    assert leftovers == []


def test_kubernetes_and_gpu_pools_name_the_tables_they_need(
    workspace: Workspace, spark: SparkSession, tmp_path: Path
) -> None:
    # A gpu pool reads gpu_jobs (and k8s_nodes, for capacity); a kubernetes pool k8s_samples
    # and k8s_nodes. Spark has none of them unless the caller registers them.
    gpu_pool = {
        "id": "gpu",
        "select": {"column": "ServiceName", "equals": "Amazon EC2"},
        "method": "gpu",
    }
    rows = [
        charge("10", tags={"team": "web"}, ServiceName="Amazon S3"),
        charge(
            "32",
            ServiceName="Amazon EC2",
            ResourceId="i-p4",
            ChargePeriodStart="2024-09-03T10:00:00Z",
            ChargePeriodEnd="2024-09-03T11:00:00Z",
        ),
    ]
    setup(workspace, rows, team_tag_rules(pools=[gpu_pool]))
    for view in ("gpu_jobs", "k8s_nodes", "k8s_samples"):
        spark.catalog.dropTempView(view)
    _export(workspace, spark, tmp_path, metrics=False)
    owners = load_owners(workspace.owners_path)
    with pytest.raises(ConfigError, match="pool 'gpu' .*no table gpu_jobs") as err:
        allocate_spark(spark, load_rules(workspace.rules_path), owners, SEP)
    assert err.value.path == workspace.rules_path / "allocation.yaml"
    assert err.value.line is not None
    assert "costline gpu load" in (err.value.hint or "")
    assert "createOrReplaceTempView('gpu_jobs')" in (err.value.hint or "")
    # a gpu_jobs view lacking a column the split reads
    spark.sql("SELECT 'A' AS job_id").createOrReplaceTempView("gpu_jobs")
    with pytest.raises(ConfigError, match="gpu_jobs lacks column resource_id"):
        allocate_spark(spark, load_rules(workspace.rules_path), owners, SEP)
    # the jobs registered, no Kubernetes nodes: runs (k8s_nodes is empty for a gpu pool).
    # The 8-GPU node's $32 hour: A (web) 4 GPU-h → $16, idle 4 GPU-h → $16.
    jobs = workspace.root / "jobs.csv"
    jobs.write_text(
        "job_id,team,resource_id,start,end,gpu_count,node_gpus\n"
        "A,web,i-p4,2024-09-03T10:00:00Z,2024-09-03T11:00:00Z,4,8\n"
    )
    workspace.load_gpu_jobs(jobs)
    with workspace.warehouse() as wh:
        wh.con.execute(f"COPY gpu_jobs TO '{tmp_path / 'gpu_jobs.parquet'}' (FORMAT parquet)")
    spark.read.parquet(str(tmp_path / "gpu_jobs.parquet")).createOrReplaceTempView("gpu_jobs")
    result = allocate_spark(spark, load_rules(workspace.rules_path), owners, SEP)
    teams = {r[0]: r[1] for r in result.frame.groupBy("x_Team").sum("EffectiveCost").collect()}
    assert teams == {"web": Decimal(26), "idle:gpu": Decimal(16)}
    assert not spark.catalog.tableExists("k8s_nodes")  # the empty one was dropped again
    spark.catalog.dropTempView("gpu_jobs")
    # a kubernetes pool without samples
    k8s_pool = {**gpu_pool, "method": "kubernetes", "kubernetes": {"cluster": "prod"}}
    write_rules(workspace, team_tag_rules(pools=[k8s_pool]))
    with pytest.raises(ConfigError, match="pool 'gpu' .*no table k8s_samples") as err:
        allocate_spark(spark, load_rules(workspace.rules_path), owners, SEP)
    assert "costline k8s load" in (err.value.hint or "")

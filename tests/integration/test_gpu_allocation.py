"""GPU allocation on a real workspace: FOCUS rows ingested, a jobs file loaded, allocated.

Expected amounts are worked out by hand in the comments (the unit tests derive the same
formulas on smaller cases). The last test runs the same rules on Spark ``local[2]`` and checks
the per-cost-center totals equal DuckDB's.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from costline.allocation.gpu import gpu_pools, load_jobs
from costline.allocation.gpu_report import gpu_report
from costline.cli.main import app
from costline.config.rules_loader import load_owners, load_rules
from costline.core.errors import BadInputError
from costline.workspace import Workspace
from tests.allocation_kit import by_team, charge, setup, team_tag_rules

pytestmark = pytest.mark.xdist_group("allocation")
SEP = "2024-09"

JOBS = """job_id,team,resource_id,start,end,gpu_count,node_gpus,model,kind,status,tokens
A,web,i-p4,2024-09-03T10:00:00Z,2024-09-03T11:00:00Z,4,8,,training,completed,
B,api,i-p4,2024-09-03T10:00:00Z,2024-09-03T10:30:00Z,2,8,ranker,inference,completed,2000000
C,data,i-p4,2024-09-03T11:00:00Z,2024-09-03T11:30:00Z,8,8,llama,training,spot-interrupted,
D,data,i-p4,2024-09-03T11:30:00Z,2024-09-03T12:00:00Z,4,8,llama,training,completed,
"""


def gpu_rules(**settings: Any) -> dict[str, Any]:
    """Team from the `team` tag; one gpu pool over the EC2 rows."""
    pool: dict[str, Any] = {
        "id": "gpu",
        "select": {"column": "ServiceName", "equals": "Amazon EC2"},
        "method": "gpu",
    }
    if settings:
        pool["gpu"] = settings
    return team_tag_rules(pools=[pool])


def hour(cost: str, rid: str, at: int) -> dict[str, Any]:
    return charge(
        cost,
        ResourceId=rid,
        ServiceName="Amazon EC2",
        ChargePeriodStart=f"2024-09-03T{at:02d}:00:00Z",
        ChargePeriodEnd=f"2024-09-03T{at + 1:02d}:00:00Z",
    )


def _setup(ws: Workspace) -> None:
    rows = [
        hour("32", "i-p4", 10),
        hour("32", "i-p4", 11),
        hour("3", "i-cpu", 10),  # an EC2 instance the jobs file does not know
        charge("4", tags={"team": "platform"}, ServiceName="Amazon S3"),
    ]
    setup(ws, rows, gpu_rules())
    path = ws.root / "gpu_jobs.csv"
    path.write_text(JOBS)
    with ws.warehouse() as wh:
        assert load_jobs(wh.con, path) == 4


def test_gpu_pool_end_to_end(workspace: Workspace) -> None:
    # The 8-GPU node i-p4 costs $32 an hour; K = 8 GPU-hours per hour.
    # 10:00 A (web) 4 GPU-h → 4/8 = $16; B (api) 2 GPUs × 0.5 h = 1 → $4; idle 3/8 → $12.
    # 11:00 C (data, spot-interrupted) 8 GPUs × 0.5 h = 4 → $16; D (data) 4 × 0.5 = 2 → $8;
    #       idle 2/8 → $8.
    # i-cpu ($3) has no GPU capacity known → unallocated:gpu; the S3 row stays with platform.
    _setup(workspace)
    report = workspace.allocate(SEP)
    assert by_team(workspace) == {
        "web": Decimal(16),
        "api": Decimal(4),
        "data": Decimal(24),
        "idle:gpu": Decimal(20),
        "unallocated:gpu": Decimal(3),
        "platform": Decimal(4),
    }
    assert report.unallocated_pools == [
        {"owner": "unallocated:gpu", "charges": 1, "cost": Decimal(3)}
    ]
    # chargeback per cost center (allocation_kit: data and platform share CC-3)
    cc = {r[0]: r[1] for r in workspace.query(
        "SELECT COALESCE(x_CostCenter, x_Team), SUM(EffectiveCost) FROM allocated_cost "
        "GROUP BY 1").rows}  # fmt: skip
    assert cc == {
        "CC-1": Decimal(16),
        "CC-2": Decimal(4),
        "CC-3": Decimal(28),
        "idle:gpu": Decimal(20),
        "unallocated:gpu": Decimal(3),
    }
    methods = workspace.query(
        "SELECT DISTINCT AllocatedMethodId FROM allocated_cost WHERE x_RuleId = 'pool:gpu'"
    ).rows
    assert methods == [("costline:pool:gpu",)]
    # deterministic: a re-run gives the same amounts
    first = by_team(workspace)
    workspace.allocate(SEP)
    assert by_team(workspace) == first


def test_gpu_reports_on_the_published_month(workspace: Workspace) -> None:
    _setup(workspace)
    tokens = workspace.root / "tokens.csv"
    tokens.write_text("date,team,value\n2024-09-03,data,12000000\n")
    workspace.load_metrics(tokens, metric="tokens")
    workspace.allocate(SEP)
    pool = gpu_pools(load_rules(workspace.rules_path).rules)[0]
    period = dt.date(2024, 9, 1)
    with workspace.warehouse() as wh:
        teams = {r["team"]: r for r in gpu_report(wh.con, period, pool, by="team")}
        models = {(r["line"], r["model"]): r for r in gpu_report(wh.con, period, pool, by="model")}
        job_rows = gpu_report(wh.con, period, pool, by="job")
    # data: C 4 GPU-h $16 (interrupted, reported apart) + D 2 GPU-h $8; 12M tokens (metric)
    # → $24 / 12M × 1M = $2 per 1M tokens.
    data = teams["data"]
    assert (data["gpu_hours"], data["cost"], data["jobs"]) == (6.0, Decimal(24), 2)
    assert (data["interrupted_gpu_hours"], data["interrupted_cost"]) == (4.0, Decimal(16))
    assert data["cost_per_1m_tokens"] == Decimal(2)
    # api: B's 2M tokens from the jobs file → $4 / 2M × 1M = $2
    assert (teams["api"]["tokens_source"], teams["api"]["cost_per_1m_tokens"]) == (
        "jobs",
        Decimal(2),
    )
    assert (teams["idle:gpu"]["gpu_hours"], teams["idle:gpu"]["cost"]) == (5.0, Decimal(20))
    assert teams["unallocated:gpu"]["cost"] == Decimal(3)
    # per model: llama 6 GPU-h $24; ranker 1 GPU-h $4; A has no model
    assert (models[("job", "llama")]["gpu_hours"], models[("job", "llama")]["cost"]) == (
        6.0,
        Decimal(24),
    )
    assert models[("job", "ranker")]["cost_per_1m_tokens"] == Decimal(2)
    assert models[("job", None)]["cost"] == Decimal(16)
    # per job: each team's jobs add up to its allocation exactly, the lines to the pool
    allocated = by_team(workspace)
    per_team: dict[str, Decimal] = {}
    for r in job_rows:
        per_team[r["team"]] = per_team.get(r["team"], Decimal(0)) + r["cost"]
    assert per_team == {t: allocated[t] for t in per_team}
    assert sum(per_team.values()) == Decimal(67)  # the pool: 32 + 32 + 3


SAMPLES = """window_start,window_hours,cluster,node,node_resource_id,namespace,pod,container,\
cpu_request,memory_request_gib,gpu_request,gpu_usage,node_cpu_cores,node_memory_gib,node_gpus,\
job,team,model
2024-09-03T10:00:00Z,1,ml,n1,i-p4,train,ft-0,main,1,4,4,3,96,1152,8,ft,web,llama
2024-09-03T10:00:00Z,0.5,ml,n1,i-p4,serve,api-7f,main,1,4,2,,96,1152,8,,api,
2024-09-03T10:00:00Z,1,ml,n1,i-p4,web,site-1,main,1,4,0,,96,1152,8,,web,
"""


def test_gpu_jobs_from_kubernetes_labels_through_the_cli(workspace: Workspace) -> None:
    # The worked example, from samples: the 8-GPU node i-p4 at $32 for the 10:00 hour.
    # ft (web) max(4, 3) × 1 h = 4 GPU-h → $16; api-7f (no job label: the pod) 2 × 0.5 h =
    # 1 GPU-h → $4; site-1 holds no GPU. idle 3/8 → $12.
    setup(workspace, [hour("32", "i-p4", 10)], gpu_rules())
    samples = workspace.root / "samples.csv"
    samples.write_text(SAMPLES)
    runner = CliRunner()
    ws = ["--workspace", str(workspace.root)]
    result = runner.invoke(app, [*ws, "k8s", "load", str(samples)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, [*ws, "gpu", "load", "--from-k8s", "--cluster", "ml"])
    assert result.exit_code == 0, result.output
    workspace.allocate(SEP)
    assert by_team(workspace) == {"web": Decimal(16), "api": Decimal(4), "idle:gpu": Decimal(12)}
    # neither a file nor --from-k8s: a usage error; a label no GPU pod has: the fix
    assert runner.invoke(app, [*ws, "gpu", "load"]).exit_code == 2
    result = runner.invoke(app, [*ws, "gpu", "load", "--from-k8s", "--team-label", "owner"])
    assert isinstance(result.exception, BadInputError)
    assert "--team-label" in (result.exception.hint or "")


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_gpu_pool_equal_on_spark(workspace: Workspace, tmp_path: Path) -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed: pip install -e '.[spark]'")
    from pyspark.sql import SparkSession

    from costline.allocation.spark import allocate_spark

    _setup(workspace)
    duck = workspace.allocate(SEP)
    with workspace.warehouse() as wh:
        for table in ("cost", "gpu_jobs", "k8s_nodes"):
            wh.con.execute(f"COPY {table} TO '{tmp_path / table}.parquet' (FORMAT parquet)")
    old = os.environ.get("SPARK_LOCAL_IP")
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    active = SparkSession.getActiveSession()  # another module's session: use it, keep it
    spark = active or (
        SparkSession.builder.master("local[2]")
        .appName("costline-gpu-test")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "true")
        .getOrCreate()
    )
    try:
        for table in ("cost", "gpu_jobs", "k8s_nodes"):
            spark.read.parquet(str(tmp_path / f"{table}.parquet")).createOrReplaceTempView(table)
        result = allocate_spark(
            spark,
            load_rules(workspace.rules_path),
            load_owners(workspace.owners_path),
            dt.date(2024, 9, 1),
            charge_id="x_ChargeId",
        )
        teams = {
            r["x_Team"]: r["total"]
            for r in result.frame.groupBy("x_Team").agg({"EffectiveCost": "sum"})
            .withColumnRenamed("sum(EffectiveCost)", "total").collect()
        }  # fmt: skip
    finally:
        if active is None:
            spark.stop()
        if old is None:
            os.environ.pop("SPARK_LOCAL_IP", None)
        else:
            os.environ["SPARK_LOCAL_IP"] = old
    assert teams == by_team(workspace)
    assert {(r["cost_center"], r["currency"]): r["amount"] for r in result.cost_centers} == {
        (r["cost_center"], r["currency"]): r["amount"] for r in duck.cost_centers
    }

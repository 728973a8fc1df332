"""GPU allocation: hand-computed splits through the real engine on in-memory DuckDB.

Each test writes GPU node rows into ``cost`` and a jobs file into ``tmp_path``, runs
``allocate`` (and the GPU reports) and compares each team's amount with the value worked out
in the comment. Notation: ``G`` GPUs on the node, ``C`` the node bucket's cost, ``g_j`` a job's
GPU-hours, ``K = G × hours`` capacity, ``U = Σ g_j``, ``D = max(K, U)``.
"""

from __future__ import annotations

import csv
import datetime as dt
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

from costline.allocation import allocate
from costline.allocation.gpu import key_exprs, load_jobs, weights_sql
from costline.allocation.gpu_catalog import gpus_for
from costline.allocation.gpu_report import cost_per_million, gpu_report, gpu_report_sql
from costline.allocation.metrics import load_metrics
from costline.allocation.run import AllocationError, ensure_tables
from costline.config.allocation import OwnersRegistry, Pool, RuleSet
from costline.config.rules_loader import LoadedRules
from costline.core.errors import BadInputError, ConfigError
from costline.demo.telemetry import JOB_COLUMNS
from costline.storage.duckdb import DuckDBWarehouse

SEP = dt.date(2024, 9, 1)
TEAMS = ("web", "api", "data", "platform")
HEADER = ("job_id", "team", "resource_id", "start", "end", "gpu_count", "node_gpus")


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


def rules(**settings: Any) -> LoadedRules:
    """The team tag names direct rows' teams; one gpu pool takes the EC2 rows."""
    pool: dict[str, Any] = {
        "id": "gpu",
        "select": {"column": "ServiceName", "equals": "Amazon EC2"},
        "method": "gpu",
    }
    if settings:
        pool["gpu"] = settings
    doc = {
        "virtual_tags": [
            {
                "key": "team",
                "rules": [
                    {
                        "id": "tag",
                        "when": {"tag": "team", "present": True},
                        "value_from": {"tag": "team"},
                    }  # fmt: skip
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
    start: str = "2024-09-03 10:00:00",
    hours: int = 1,
    service: str = "Amazon EC2",
    tags: dict[str, str] | None = None,
) -> None:
    begin = dt.datetime.fromisoformat(start)
    tag_map = "MAP {" + ", ".join(f"'{k}': '{v}'" for k, v in (tags or {}).items()) + "}"
    con.execute(
        "INSERT INTO cost (x_Provider, BillingAccountId, BillingPeriodStart, BillingPeriodEnd, "
        "ChargePeriodStart, ChargePeriodEnd, BilledCost, EffectiveCost, ListCost, ContractedCost, "
        "BillingCurrency, ServiceName, ResourceId, Tags) VALUES ('aws', 'acct', "
        "TIMESTAMP '2024-09-01', TIMESTAMP '2024-10-01', ?, ?, ?, ?, ?, ?, 'USD', ?, ?, "
        f"CAST({tag_map} AS MAP(VARCHAR, VARCHAR)))",
        [begin, begin + dt.timedelta(hours=hours), cost, cost, cost, cost, service, rid],
    )


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def at(hhmm: str, day: int = 3) -> str:
    return f"2024-09-{day:02d}T{hhmm}:00Z"


def jobs(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    rows: Sequence[Sequence[Any]],
    header: Sequence[str] = HEADER,
) -> int:
    return load_jobs(con, write_csv(tmp_path / "jobs.csv", header, rows))


def amounts(con: duckdb.DuckDBPyConnection) -> dict[str, Decimal]:
    rows = con.execute(
        "SELECT x_Team, SUM(EffectiveCost) FROM allocated_cost GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def run(con: duckdb.DuckDBPyConnection, loaded: LoadedRules | None = None) -> dict[str, Decimal]:
    allocate(con, loaded or rules(), owners(), SEP)
    return amounts(con)


def near(got: Decimal, want: Fraction) -> bool:
    """Within the engine's rounding: weights are units of 1e-12 of a node bucket's cost."""
    return abs(Fraction(got) - want) <= Fraction(1, 10**9)


def report(
    con: duckdb.DuckDBPyConnection, by: str, loaded: LoadedRules | None = None
) -> dict[Any, dict[str, Any]]:
    pool = (loaded or rules()).rules.pools[0]
    rows = gpu_report(con, SEP, pool, by=by)  # type: ignore[arg-type]
    key = {"job": "job_id", "model": "model", "team": "team"}[by]
    return {(r[key] if r["line"] == "job" or by == "team" else r["line"]): r for r in rows}


# -- the worked example ---------------------------------------------------------------------
def test_worked_example_eight_gpu_node(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # An 8-GPU node at $32 for one hour (10:00-11:00): K = 8 GPU-hours.
    # A (web): 4 GPUs for 1 h = 4 GPU-h; B (api): 2 GPUs for 30 min = 1 GPU-h; U = 5.
    # Idle = 8 - 5 = 3 GPU-h; D = max(8, 5) = 8 → shares 4/8, 1/8, 3/8 → $16, $4, idle $12.
    bill(con, "i-p4", "32")
    bill(con, "vol-1", "7", service="Amazon S3", tags={"team": "data"})  # direct, untouched
    jobs(con, tmp_path, [
        ("A", "web", "i-p4", at("10:00"), at("11:00"), 4, 8),
        ("B", "api", "i-p4", at("10:00"), at("10:30"), 2, 8),
    ])  # fmt: skip
    assert run(con) == {
        "web": Decimal(16),
        "api": Decimal(4),
        "idle:gpu": Decimal(12),
        "data": Decimal(7),
    }
    by_job = report(con, "job")
    assert (by_job["A"]["gpu_hours"], by_job["A"]["cost"]) == (4.0, Decimal(16))
    assert (by_job["B"]["gpu_hours"], by_job["B"]["cost"]) == (1.0, Decimal(4))
    assert (by_job["idle"]["gpu_hours"], by_job["idle"]["cost"]) == (3.0, Decimal(12))


def test_idle_shared_to_the_nodes_jobs(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # Same node, idle: share → by GPU-hours only: A 4/5 · 32 = 25.6, B 1/5 · 32 = 6.4. The
    # report keeps the 3 idle GPU-hours visible at zero cost.
    bill(con, "i-p4", "32")
    jobs(con, tmp_path, [
        ("A", "web", "i-p4", at("10:00"), at("11:00"), 4, 8),
        ("B", "api", "i-p4", at("10:00"), at("10:30"), 2, 8),
    ])  # fmt: skip
    loaded = rules(idle={"mode": "share"})
    assert run(con, loaded) == {"web": Decimal("25.6"), "api": Decimal("6.4")}
    idle = report(con, "team", loaded)["idle:gpu"]
    assert (idle["gpu_hours"], idle["cost"]) == (3.0, Decimal(0))


# -- fractional GPUs ------------------------------------------------------------------------
def test_mig_slices_time_slicing_and_capacity_from_instance_type(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # p4d.24xlarge: 8 A100s (capacity from the instance-type catalog), $56 for the hour.
    # C (web) mig-1g.10gb = 1/7 GPU; D (api) 0.5 (time-slicing); E (data) 3g.40gb = 3/7;
    # F (platform) "1/7" written as a fraction; each for the whole hour.
    # U = 1/7 + 1/2 + 3/7 + 1/7 = 17/14; K = 8 → each job gets 56 · g / 8 = 7 · g:
    # web 1, api 3.5, data 3, platform 1, idle 56 - 7 · 17/14 = 47.5.
    bill(con, "i-a100", "56")
    header = ("job_id", "team", "resource_id", "start", "end", "gpu_count", "instance_type")
    rows = [
        ("C", "web", "i-a100", at("10:00"), at("11:00"), "mig-1g.10gb", "p4d.24xlarge"),
        ("D", "api", "i-a100", at("10:00"), at("11:00"), "0.5", "p4d.24xlarge"),
        ("E", "data", "i-a100", at("10:00"), at("11:00"), "3g.40gb", "p4d.24xlarge"),
        ("F", "platform", "i-a100", at("10:00"), at("11:00"), "1/7", "p4d.24xlarge"),
    ]
    assert jobs(con, tmp_path, rows, header) == 4
    loaded_caps = con.execute(
        "SELECT DISTINCT node_gpus, capacity_source, gpu_model FROM gpu_jobs"
    ).fetchall()
    assert loaded_caps == [(8.0, "catalog:aws:karpenter", "a100")]
    got = run(con)
    assert near(got["web"], Fraction(1))
    assert near(got["api"], Fraction(7, 2))
    assert near(got["data"], Fraction(3))
    assert near(got["platform"], Fraction(1))
    assert near(got["idle:gpu"], Fraction(95, 2))
    assert sum(got.values()) == Decimal(56)


@pytest.mark.parametrize(
    ("spec", "gpu_model", "fraction"),
    [
        ("mig-1g.10gb", "A100-80GB", Fraction(1, 7)),  # 1 of the A100's 7 compute slices
        ("nvidia.com/mig-2g.20gb", "H100", Fraction(2, 7)),
        ("1g.6gb", "A30", Fraction(1, 4)),  # the A30 has 4 slices
        ("4g.24gb+me", "A30", Fraction(1)),
        ("50%", "", Fraction(1, 2)),
        ("2/8", "", Fraction(1, 4)),
        ("0.25", "", Fraction(1, 4)),
        ("3", "", Fraction(3)),
    ],
)
def test_gpu_count_spellings(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, spec: str, gpu_model: str, fraction: Fraction
) -> None:
    header = (*HEADER, "gpu_model")
    jobs(con, tmp_path, [("J", "web", "i-1", at("10:00"), at("11:00"), spec, 8, gpu_model)], header)
    got = con.execute("SELECT gpu_count, gpu_spec FROM gpu_jobs").fetchone()
    assert got is not None
    assert got[0] == pytest.approx(float(fraction)) and got[1] == spec


def test_jobs_claiming_more_than_the_node_are_scaled_down(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # A 2-GPU node at $10 for the hour; two time-sliced jobs each written as 2 GPUs for 1 h:
    # U = 4 > K = 2 → D = 4: each gets 2/4 of $10, nothing is idle.
    bill(con, "i-2", "10")
    jobs(con, tmp_path, [
        ("X", "web", "i-2", at("10:00"), at("11:00"), 2, 2),
        ("Y", "api", "i-2", at("10:00"), at("11:00"), 2, 2),
    ])  # fmt: skip
    assert run(con) == {"web": Decimal(5), "api": Decimal(5)}


# -- buckets and node hours -----------------------------------------------------------------
def _per_job_vm(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # A VM started for one job (like the demo's training instances), billed per day:
    # 8 GPUs, $10/h; the job holds all 8 from 15:00 on day 3 to 03:00 on day 5:
    # day 3: 9 h = $90, day 4: 24 h = $240, day 5: 3 h = $30.
    bill(con, "i-job", "90", start="2024-09-03 00:00:00", hours=24)
    bill(con, "i-job", "240", start="2024-09-04 00:00:00", hours=24)
    bill(con, "i-job", "30", start="2024-09-05 00:00:00", hours=24)
    jobs(con, tmp_path, [("T", "data", "i-job", at("15:00"), at("03:00", 5), 8, 8)])


def test_node_hours_bucket_counts_the_whole_day(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # node_hours: bucket → K = 8 · 24 = 192 per day. Day 3: U = 72 → job 90 · 72/192 = 33.75,
    # idle 56.25; day 4: all 240 to the job; day 5: U = 24 → job 30 · 24/192 = 3.75, idle 26.25.
    _per_job_vm(con, tmp_path)
    assert run(con, rules(granularity="daily")) == {
        "data": Decimal("277.5"),
        "idle:gpu": Decimal("82.5"),
    }


def test_node_hours_jobs_counts_from_first_start_to_last_end(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # node_hours: jobs → K = 8 · (the job's hours in the day): nothing is idle, the job pays
    # the whole $360 the VM cost.
    _per_job_vm(con, tmp_path)
    assert run(con, rules(granularity="daily", node_hours="jobs")) == {"data": Decimal(360)}


def test_hourly_granularity_on_a_daily_bill_uses_the_charge_period(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # hourly keys on each charge's start; a daily row's bucket is its whole charge period:
    # 4 GPUs · 24 h = 96 GPU-h; the job holds 2 GPUs for 12 h = 24 → 48 · 24/96 = $12.
    bill(con, "i-4", "48", start="2024-09-03 00:00:00", hours=24)
    jobs(con, tmp_path, [("J", "web", "i-4", at("06:00"), at("18:00"), 2, 4)])
    assert run(con) == {"web": Decimal(12), "idle:gpu": Decimal(36)}


def test_running_job_without_end_runs_to_the_bucket_end(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # An endpoint still running (no end) from 10:30 on 1 of 2 GPUs: 0.5 GPU-h of 2 → $5 of $20.
    bill(con, "i-inf", "20")
    header = (*HEADER, "status")
    jobs(con, tmp_path, [("S", "api", "i-inf", at("10:30"), "", 1, 2, "running")], header)
    assert run(con) == {"api": Decimal(5), "idle:gpu": Decimal(15)}


def test_buckets_without_jobs_are_idle_and_unknown_nodes_unallocated(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # i-p4 has a job at 10:00 only: its 11:00 hour ($32) is idle whatever the idle mode.
    # i-cpu is not in the jobs file (no GPU capacity known): unallocated:gpu, reported.
    bill(con, "i-p4", "32", start="2024-09-03 10:00:00")
    bill(con, "i-p4", "32", start="2024-09-03 11:00:00")
    bill(con, "i-cpu", "3")
    jobs(con, tmp_path, [("A", "web", "i-p4", at("10:00"), at("11:00"), 8, 8)])
    report_ = allocate(con, rules(idle={"mode": "share"}), owners(), SEP)
    assert amounts(con) == {
        "web": Decimal(32),
        "idle:gpu": Decimal(32),
        "unallocated:gpu": Decimal(3),
    }
    assert report_.unallocated_pools == [
        {"owner": "unallocated:gpu", "charges": 1, "cost": Decimal(3)}
    ]
    lines = {r["line"]: r for r in gpu_report(con, SEP, rules().rules.pools[0], by="model")}
    assert lines["unallocated"]["cost"] == Decimal(3)
    assert lines["idle"]["cost"] == Decimal(32)


def test_capacity_from_a_kubernetes_nodes_file(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # A node with no jobs in the file but listed in k8s_nodes with 4 GPUs: its hour is idle.
    ensure_tables(con)
    con.execute("INSERT INTO k8s_nodes VALUES ('i-k8s', 'c1', 'n1', 32, 1e11, 4, 'n.csv')")
    bill(con, "i-k8s", "9")
    jobs(con, tmp_path, [("A", "web", "i-other", at("00:00"), at("01:00"), 1, 1)])
    assert run(con) == {"idle:gpu": Decimal(9)}


# -- owners ---------------------------------------------------------------------------------
def test_owner_column_label_and_unknown_teams(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # owner: project (an extra column, kept as a label). A 4-GPU node, $40, each job 1 GPU-h:
    # "WEB " folds to web; "ghost" is no team → unallocated; no project → unallocated.
    bill(con, "i-4", "40")
    header = ("job_id", "project", "resource_id", "start", "end", "gpu_count", "node_gpus")
    jobs(con, tmp_path, [
        ("A", "WEB ", "i-4", at("10:00"), at("11:00"), 1, 4),
        ("B", "ghost", "i-4", at("10:00"), at("11:00"), 1, 4),
        ("C", "", "i-4", at("10:00"), at("11:00"), 1, 4),
        ("D", "api", "i-4", at("10:00"), at("11:00"), 1, 4),
    ], header)  # fmt: skip
    got = run(con, rules(owner="project"))
    assert got == {"web": Decimal(10), "api": Decimal(10), "unallocated": Decimal(20)}


# -- reports: interruptions, models, tokens -------------------------------------------------
def _ml_case(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # One 8-GPU node at $8/h over two hours (10:00, 11:00) = $16; $1 per GPU-hour.
    #   t1 data  llama-70b training   8 GPUs 10:00-11:00  8 GPU-h  $8  completed
    #   t2 data  llama-70b training   8 GPUs 11:00-11:30  4 GPU-h  $4  interrupted (spot)
    #   i1 api   llama-8b  inference  2 GPUs 11:30-12:00  1 GPU-h  $1  tokens 4,000,000
    #   i2 web   llama-8b  inference  2 GPUs 11:30-12:00  1 GPU-h  $1  tokens 1,000,000
    # idle: 16 - 14 = 2 GPU-h of the 11:00 hour → $2 (10:00 is full).
    bill(con, "i-ml", "8", start="2024-09-03 10:00:00")
    bill(con, "i-ml", "8", start="2024-09-03 11:00:00")
    header = (*HEADER, "model", "kind", "status", "tokens")
    rows = [
        ("t1", "data", "i-ml", at("10:00"), at("11:00"), 8, 8, "llama-70b", "train", "done", ""),
        ("t2", "data", "i-ml", at("11:00"), at("11:30"), 8, 8, "llama-70b", "training",
         "preempted", ""),
        ("i1", "api", "i-ml", at("11:30"), at("12:00"), 2, 8, "llama-8b", "inference",
         "completed", "4000000"),
        ("i2", "web", "i-ml", at("11:30"), at("12:00"), 2, 8, "llama-8b", "serving",
         "completed", "1000000"),
    ]  # fmt: skip
    jobs(con, tmp_path, rows, header)


def test_interrupted_jobs_charged_to_the_owner_and_reported_apart(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _ml_case(con, tmp_path)
    assert run(con) == {
        "data": Decimal(12),  # 8 + 4: the interrupted job is charged like any other
        "api": Decimal(1),
        "web": Decimal(1),
        "idle:gpu": Decimal(2),
    }
    teams = report(con, "team")
    assert teams["data"]["gpu_hours"] == 12.0 and teams["data"]["cost"] == Decimal(12)
    assert teams["data"]["interrupted_gpu_hours"] == 4.0
    assert teams["data"]["interrupted_cost"] == Decimal(4)
    assert teams["api"]["interrupted_cost"] == Decimal(0)
    by_job = report(con, "job")
    assert by_job["t2"]["status"] == "interrupted" and by_job["t1"]["kind"] == "training"
    assert by_job["i2"]["kind"] == "inference"


def test_cost_per_model_and_per_million_tokens(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # Per model: llama-70b 12 GPU-h $12; llama-8b 2 GPU-h $2 for 5M tokens → $0.40 per 1M.
    # Per team, tokens from the metrics table win over the jobs file: api's metric says 8M
    # tokens in September (two days) → $1 / 8M · 1e6 = $0.125; web has only the jobs file
    # (1M) → $1.00; a metric row of another month does not count.
    _ml_case(con, tmp_path)
    run(con)
    models = report(con, "model")
    assert (models["llama-70b"]["gpu_hours"], models["llama-70b"]["cost"]) == (12.0, Decimal(12))
    assert models["llama-8b"]["tokens"] == 5_000_000
    assert models["llama-8b"]["cost_per_1m_tokens"] == Decimal("0.4")
    assert models["llama-70b"]["cost_per_1m_tokens"] is None
    metrics = write_csv(
        tmp_path / "tokens.csv",
        ("date", "team", "value"),
        [("2024-09-03", "api", 5e6), ("2024-09-04", "api", 3e6), ("2024-10-01", "api", 9e9)],
    )
    ensure_tables(con)
    load_metrics(con, metrics, metric="tokens")
    teams = report(con, "team")
    assert (teams["api"]["tokens"], teams["api"]["tokens_source"]) == (8e6, "metric")
    assert teams["api"]["cost_per_1m_tokens"] == Decimal("0.125")
    assert (teams["web"]["tokens"], teams["web"]["tokens_source"]) == (1e6, "jobs")
    assert teams["web"]["cost_per_1m_tokens"] == Decimal(1)


def test_tokens_of_a_job_spanning_two_months_are_prorated(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # A job from 31 Aug 18:00 to 1 Sep 06:00 (12 h, 6 in September) with 1.2M tokens: 0.6M
    # count in September; its September GPU-hours are the 6 h on the node ($6 at $1/GPU-h).
    for hour in range(6):
        bill(con, "i-1", "1", start=f"2024-09-01 {hour:02d}:00:00")
    header = (*HEADER, "model", "tokens")
    start, end = "2024-08-31T18:00:00Z", "2024-09-01T06:00:00Z"
    jobs(con, tmp_path, [("J", "web", "i-1", start, end, 1, 1, "m", "1200000")], header)
    run(con)
    job = report(con, "job")["J"]
    assert (job["gpu_hours"], job["cost"], job["tokens"]) == (6.0, Decimal(6), 600_000)
    assert job["cost_per_1m_tokens"] == Decimal(10)


def test_report_needs_a_published_run_and_a_cost_basis(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    ensure_tables(con)
    pool = rules().rules.pools[0]
    with pytest.raises(AllocationError, match="no published allocation") as err:
        gpu_report(con, SEP, pool)
    assert err.value.hint is not None and "costline allocate --period 2024-09" in err.value.hint
    with pytest.raises(ConfigError, match="basis"):
        gpu_report_sql(pool, SEP, by="team", run_id="r", basis="Cost")
    assert cost_per_million(Decimal(3), 0) is None


def test_report_after_the_jobs_changed_keeps_every_dollar(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # The job's owner changed after the run (web → api): web's $16 part has no web job left,
    # so it shows as a no-jobs line (allocate again to fix); A now holds api's GPU-hours at
    # zero cost; the report still adds up to the node's $32.
    bill(con, "i-p4", "32")
    jobs(con, tmp_path, [("A", "web", "i-p4", at("10:00"), at("11:00"), 4, 8)])
    run(con)
    con.execute("UPDATE gpu_jobs SET team = 'api'")
    rows = gpu_report(con, SEP, rules().rules.pools[0], by="job")
    lines = {(r["line"], r["team"]): (r["gpu_hours"], r["cost"]) for r in rows}
    assert lines[("no-jobs", "web")] == (None, Decimal(16))
    assert lines[("job", "api")] == (4.0, Decimal(0))
    assert lines[("idle", "idle:gpu")] == (4.0, Decimal(16))
    assert sum(r["cost"] for r in rows) == Decimal(32)


# -- conservation ---------------------------------------------------------------------------
def test_random_nodes_and_jobs_conserve_to_the_last_decimal(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    rng = random.Random(11)
    nodes = {f"i-{n}": rng.choice([1, 4, 8]) for n in range(4)}
    for rid in nodes:
        for hour in range(8):
            bill(con, rid, f"{rng.uniform(-1, 40):.10f}", start=f"2024-09-03 {hour:02d}:00:00")
    bill(con, "i-unknown", "1.2345678901")
    rows = []
    header = (*HEADER, "status", "model")
    for j in range(40):
        rid = rng.choice(list(nodes))
        begin = dt.datetime(2024, 9, 3) + dt.timedelta(minutes=rng.randrange(0, 8 * 60))
        end = begin + dt.timedelta(minutes=rng.randrange(1, 300))
        count = rng.choice(["1", "0.5", "mig-1g.10gb", "2/7", str(nodes[rid])])
        count = count if Fraction(count.replace("mig-1g.10gb", "1/7")) <= nodes[rid] else "1"
        rows.append(
            (f"j{j}", rng.choice([*TEAMS, "ghost"]), rid, f"{begin:%Y-%m-%dT%H:%M:%SZ}",
             f"{end:%Y-%m-%dT%H:%M:%SZ}", count, nodes[rid],
             rng.choice(["completed", "interrupted"]), rng.choice(["m1", "m2", ""]))
        )  # fmt: skip
    jobs(con, tmp_path, rows, header)
    billed = (dt.datetime(2024, 9, 3), dt.datetime(2024, 9, 3, 8))
    expected_hours = Fraction(0)
    for job in rows:
        begin, end = (dt.datetime.fromisoformat(str(x).rstrip("Z")) for x in (job[3], job[4]))
        seconds = (min(end, billed[1]) - max(begin, billed[0])).total_seconds()
        gpus = Fraction(str(job[5]).replace("mig-1g.10gb", "1/7"))
        expected_hours += gpus * Fraction(int(max(seconds, 0)), 3600)
    for mode in ("keep", "share"):
        loaded = rules(idle={"mode": mode})
        allocate(con, loaded, owners(), SEP)
        bad = con.execute(
            "SELECT c.x_ChargeId FROM cost c JOIN allocated_cost a ON a.x_ChargeId = c.x_ChargeId "
            "GROUP BY c.x_ChargeId, c.EffectiveCost HAVING SUM(a.EffectiveCost) <> c.EffectiveCost"
        ).fetchall()
        assert bad == []
        total = con.execute("SELECT SUM(EffectiveCost) FROM cost").fetchone()
        assert total is not None and sum(amounts(con).values()) == total[0]
        # the reports add up exactly: per team to the allocation, in all to the pool's cost
        pool = loaded.rules.pools[0]
        allocated = amounts(con)
        job_rows = gpu_report(con, SEP, pool, by="job")
        per_team: dict[str, Decimal] = {}
        for line in job_rows:
            per_team[line["team"]] = per_team.get(line["team"], Decimal(0)) + line["cost"]
        assert per_team == {t: v for t, v in allocated.items() if t in per_team}
        for by in ("model", "team"):
            assert sum(r["cost"] for r in gpu_report(con, SEP, pool, by=by)) == sum(
                per_team.values()
            )
        # GPU-hours: each job's overlap with the billed hours (03 Sep 00:00-08:00) × GPUs
        reported = sum(r["gpu_hours"] for r in job_rows if r["line"] == "job")
        assert reported == pytest.approx(float(expected_hours))


# -- input files ----------------------------------------------------------------------------
def test_demo_jobs_file_loads_as_is(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # The demo writes jobs/gpu_jobs.csv with JOB_COLUMNS: no node_gpus (capacity from the
    # instance type: p4d.24xlarge 8, g5.xlarge 1, a2-highgpu-8g 8 by its name), status
    # "runaway" (a job left running: completed), extra columns become labels.
    rows = [
        ["aws-train-runaway", "aws", "669140982555", "ml-research", "training", "p4d.24xlarge",
         "A100", "8", "2026-09-11T00:00:00Z", "2026-09-15T00:00:00Z", "96",
         "i-040e8c4b1fcfb8116", "2107.933632", "runaway"],
        ["aws-infer-1", "aws", "363326668509", "ml-serving", "inference", "g5.xlarge", "A10G",
         "1", "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z", "2208", "i-070f286801558d329",
         "2221.248", "running"],
        ["gcp-train-2026-07-1", "gcp", "acme-ml-research", "ml-research", "training",
         "a2-highgpu-8g", "A100", "8", "2026-07-03T01:00:00Z", "2026-07-05T01:00:00Z", "48",
         "//compute.googleapis.com/projects/acme-ml-research/zones/us-central1-a/instances/"
         "train-2026-07-1", "1410.57984", "completed"],
    ]  # fmt: skip
    assert all(len(r) == len(JOB_COLUMNS) for r in rows)
    path = write_csv(tmp_path / "gpu_jobs.csv", JOB_COLUMNS, rows)
    assert load_jobs(con, path) == 3
    got = con.execute(
        "SELECT job_id, team, node_gpus, capacity_source, gpu_model, kind, status, status_raw, "
        "labels['list_cost_usd'] FROM gpu_jobs ORDER BY job_id"
    ).fetchall()
    assert got == [
        ("aws-infer-1", "ml-serving", 1.0, "catalog:aws:karpenter", "A10G", "inference",
         "running", "running", "2221.248"),
        ("aws-train-runaway", "ml-research", 8.0, "catalog:aws:karpenter", "A100", "training",
         "completed", "runaway", "2107.933632"),
        ("gcp-train-2026-07-1", "ml-research", 8.0, "catalog:gcp-name", "A100", "training",
         "completed", "completed", "1410.57984"),
    ]  # fmt: skip
    # loading the same file again replaces its rows
    assert load_jobs(con, path) == 3
    assert con.execute("SELECT count(*) FROM gpu_jobs").fetchone() == (3,)


def test_parquet_jobs_file(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "jobs.parquet"
    con.execute(
        f"COPY (SELECT 'p1' AS job_id, 'web' AS team, 'i-1' AS resource_id, "
        "TIMESTAMPTZ '2024-09-03 10:00:00+02' AS start, TIMESTAMP '2024-09-03 09:00:00' AS \"end\", "
        f"0.5 AS gpu_count, 4 AS node_gpus) TO '{path}' (FORMAT parquet)"
    )
    assert load_jobs(con, path) == 1
    row = con.execute("SELECT started_at, ended_at, gpu_count FROM gpu_jobs").fetchone()
    assert row == (dt.datetime(2024, 9, 3, 8), dt.datetime(2024, 9, 3, 9), 0.5)


def test_catalog_lookups() -> None:
    assert (gpus_for("p5.48xlarge"), gpus_for("G5.12XLARGE"), gpus_for("standard_nc24ads_a100_v4"))\
        == (8, 4, 1)  # fmt: skip
    assert gpus_for("a2-megagpu-16g") == 16 and gpus_for("a3-edgegpu-8g-nolssd") == 8
    assert gpus_for("g2-standard-24") is None and gpus_for("") is None


GOOD = ("ok", "web", "i-1", at("10:00"), at("11:00"), "1", "8")


@pytest.mark.parametrize(
    ("header", "row", "column", "reason", "hint"),
    [
        (HEADER[1:], GOOD[1:], "job_id", "missing-column", "jobs-file"),
        (tuple(h for h in HEADER if h != "resource_id"), GOOD[:2] + GOOD[3:], "resource_id",
         "missing-column", "jobs-file"),
        (tuple(h for h in HEADER if h != "end"), GOOD[:4] + GOOD[5:], "end",
         "missing-column", "jobs-file"),
        ((*HEADER, "gpu_cnt"), (*GOOD, "1"), "gpu_cnt", "unknown-column", "gpu_count"),
        (HEADER, ("", *GOOD[1:]), "job_id", "unparsable", "job_id"),
        (HEADER, (*GOOD[:2], " ", *GOOD[3:]), "resource_id", "unparsable", "ResourceId"),
        (HEADER, (*GOOD[:3], "yesterday", *GOOD[4:]), "start", "unparsable", "ISO"),
        (HEADER, (*GOOD[:4], "soon", *GOOD[5:]), "end", "unparsable", "ISO"),
        (HEADER, (*GOOD[:4], at("09:00"), *GOOD[5:]), "end", "unparsable", "ends after"),
        ((*HEADER, "status"), (*GOOD[:4], "", *GOOD[5:], "failed"), "end", "unparsable",
         "status running"),
        (HEADER, (*GOOD[:5], "lots", "8"), "gpu_count", "unparsable", "MIG profile"),
        (HEADER, (*GOOD[:5], "0", "8"), "gpu_count", "unparsable", "time-slicing"),
        (HEADER, (*GOOD[:5], "9", "8"), "gpu_count", "unparsable", "more GPUs than its node"),
        (HEADER, (*GOOD[:5], "1", "eight"), "node_gpus", "unparsable", "GPUs on the node"),
        ((*HEADER, "status"), (*GOOD, "paused"), "status", "unparsable", "interrupted"),
        ((*HEADER, "tokens"), (*GOOD, "-5"), "tokens", "unparsable", "non-negative"),
        ((*HEADER, "gpu_model"), (*GOOD[:5], "7g.24gb", "8", "A30"), "gpu_count", "unparsable",
         "MIG profile does not exist"),
        (("job_id", "team", "resource_id", "start", "end", "gpu_count", "instance_type"),
         (*GOOD[:6], "m5.large"), "node_gpus", "unparsable", "add a node_gpus column"),
        (HEADER, GOOD, "job_id", "unparsable", "appear once"),  # the good row twice
        (HEADER, (*GOOD[:3], at("12:00"), at("13:00"), "1", "4"), "node_gpus", "unparsable",
         "same number of GPUs"),
    ],
)  # fmt: skip
def test_bad_jobs_name_file_row_column_and_fix(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    header: Sequence[str],
    row: Sequence[Any],
    column: str,
    reason: str,
    hint: str,
) -> None:
    extra = {"instance_type": "p4d.24xlarge"}  # a good row's capacity when node_gpus is absent
    good = [GOOD[HEADER.index(h)] if h in HEADER else extra.get(h, "") for h in header]
    path = write_csv(tmp_path / "bad.csv", header, [good, row])
    with pytest.raises(BadInputError) as err:
        load_jobs(con, path)
    loc = err.value.location
    assert (loc.file, loc.column, err.value.reason) == (str(path), column, reason)
    if reason == "unparsable":
        assert loc.row == 2  # the second data row
    assert err.value.hint is not None and hint in err.value.hint
    assert con.execute("SELECT count(*) FROM gpu_jobs").fetchone() == (0,)


def test_missing_and_unreadable_files(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="file not found"):
        load_jobs(con, tmp_path / "nope.csv")
    (tmp_path / "x.parquet").write_text("not parquet")
    with pytest.raises(BadInputError, match="cannot read") as err:
        load_jobs(con, tmp_path / "x.parquet")
    assert err.value.reason == "unreadable"


# -- config and SQL shape -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"method": "even", "gpu": {}}, "only apply to method gpu"),
        ({"method": "gpu", "to": ["web"]}, "to is not used by method gpu"),
        ({"method": "gpu", "granularity": "daily"}, "granularity is not used"),
        ({"method": "gpu", "kubernetes": {}}, "kubernetes settings only apply"),
        ({"method": "gpu", "gpu": {"idle": {"mode": "spread"}}}, "keep"),
        ({"method": "gpu", "gpu": {"granularity": "monthly"}}, "hourly"),
        ({"method": "gpu", "gpu": {"node_hours": "always"}}, "bucket"),
        ({"method": "gpu", "gpu": {"owner": ""}}, "at least 1"),
        ({"method": "gpu", "gpu": {"colour": "x"}}, "Extra inputs"),
    ],
)
def test_invalid_gpu_pools_are_rejected(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Pool.model_validate({"id": "g", "select": {"column": "x", "equals": "y"}, **settings})


def test_weights_sql_is_portable_to_spark() -> None:
    for settings in ({}, {"granularity": "daily", "node_hours": "jobs", "idle": {"mode": "share"},
                          "owner": "project"}):  # fmt: skip
        pool = Pool.model_validate(
            {"id": "g", "select": {"column": "x", "equals": "y"}, "method": "gpu", "gpu": settings}
        )
        sql = weights_sql(pool, SEP)
        assert "GROUP BY ALL" not in sql and "->" not in sql
        spark = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
        assert "DATEDIFF(SECOND" in spark and "INTERVAL '1'" in spark
    assert key_exprs(pool) == [
        "BillingPeriodStart",
        '"ResourceId"',
        "CAST(ChargePeriodStart AS DATE)",
    ]
    assert "labels['project']" in spark

"""GPU jobs from Kubernetes samples, the configurable idle recipient, and their checks.

Amounts are worked out by hand in the comments (notation as in ``test_gpu``: ``K`` capacity in
GPU-hours, ``U`` the jobs' GPU-hours). Samples go through the real samples loader.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from costline.allocation.gpu_k8s import load_jobs_from_k8s
from costline.allocation.gpu_report import gpu_report
from costline.allocation.k8s_inputs import load_samples
from costline.allocation.run import ensure_tables
from costline.config.allocation import RuleSet
from costline.config.rules_loader import LoadedRules, check_rules, load_rules
from costline.core.errors import BadInputError, ConfigError
from costline.schema.focus import STORE_COLUMNS
from costline.storage.duckdb import DuckDBWarehouse
from tests.unit.allocation.test_gpu import (
    SEP,
    at,
    bill,
    jobs,
    owners,
    report,
    rules,
    run,
    write_csv,
)

SAMPLE_HEADER = (
    "window_start", "window_hours", "cluster", "node_resource_id", "namespace", "pod",
    "container", "labels", "cpu_request", "memory_request_gib", "gpu_request", "gpu_usage",
    "node_cpu_cores", "node_memory_gib", "node_gpus",
)  # fmt: skip
DAY = "2024-09-03T00:00:00Z"


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    wh = DuckDBWarehouse(None)
    wh.ensure_schema()
    yield wh.con
    wh.close()


def sample(
    pod: str,
    labels: dict[str, str],
    gpu_request: float,
    hours: float,
    *,
    node: str = "i-g8",
    node_gpus: int = 8,
    gpu_usage: float | str = "",
    namespace: str = "ml",
    container: str = "main",
    cluster: str = "ml",
) -> tuple[Any, ...]:
    return (DAY, hours, cluster, node, namespace, pod, container, json.dumps(labels), 1, 2,
            gpu_request, gpu_usage, 32, 256, node_gpus)  # fmt: skip


def samples(con: duckdb.DuckDBPyConnection, tmp_path: Path, rows: Sequence[Sequence[Any]]) -> Path:
    ensure_tables(con)
    path = write_csv(tmp_path / "samples.csv", SAMPLE_HEADER, rows)
    load_samples(con, path)
    return path


FT = {"job": "llm-ft", "team": "data", "model": "llama-8b"}


def _cluster(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> Path:
    # Day 2024-09-03, $1 per GPU-hour on both nodes (daily bill rows: the bucket is the day).
    #   i-g8 (8 GPUs, $192): llm-ft pods train-0 max(4, 3) × 12 h = 48 and train-1
    #       max(2, 2.5) × 12 h = 30 → one job row of 78 GPU-h (6.5 GPUs for 12 h);
    #       serve-abc (no job label: the pod is the job) 1 × 24 h = 24; the sidecar and web-x
    #       hold no GPU. K = 192, U = 102, idle 90.
    #   i-g4 (4 GPUs, $96): llm-ft pod train-2 4 × 6 h = 24. K = 96, idle 72.
    bill(con, "i-g8", "192", start="2024-09-03 00:00:00", hours=24)
    bill(con, "i-g4", "96", start="2024-09-03 00:00:00", hours=24)
    return samples(con, tmp_path, [
        sample("train-0", FT, 4, 12, gpu_usage=3),
        sample("train-0", FT, 0, 12, container="sidecar"),
        sample("train-1", FT, 2, 12, gpu_usage=2.5),
        sample("serve-abc", {"team": "api"}, 1, 24, namespace="serving"),
        sample("web-x", {"team": "web"}, 0, 24, namespace="web"),
        sample("train-2", FT, 4, 6, node="i-g4", node_gpus=4),
    ])  # fmt: skip


def test_jobs_from_labels_worked_example(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    _cluster(con, tmp_path)
    assert load_jobs_from_k8s(con) == 3  # llm-ft on two nodes, serve-abc
    got = con.execute(
        "SELECT job_id, team, resource_id, gpu_count, ended_at - started_at, node_gpus, model, "
        "status, labels['k8s:namespace'] FROM gpu_jobs ORDER BY job_id, resource_id"
    ).fetchall()
    assert [(r[0], r[1], r[2], r[3], r[4].total_seconds() / 3600, r[5], r[6], r[7], r[8])
            for r in got] == [
        ("llm-ft", "data", "i-g4", 4.0, 6.0, 4.0, "llama-8b", "completed", "ml"),
        ("llm-ft", "data", "i-g8", 6.5, 12.0, 8.0, "llama-8b", "completed", "ml"),
        ("serve-abc", "api", "i-g8", 1.0, 24.0, 8.0, None, "completed", "serving"),
    ]  # fmt: skip
    # data 78 + 24 = $102, api $24, idle 90 + 72 = $162; 288 in all
    assert run(con) == {"data": Decimal(102), "api": Decimal(24), "idle:gpu": Decimal(162)}
    by_job = report(con, "job")
    assert (by_job["llm-ft"]["gpu_hours"], by_job["llm-ft"]["cost"]) == (102.0, Decimal(102))
    assert by_job["llm-ft"]["model"] == "llama-8b"
    assert (by_job["serve-abc"]["gpu_hours"], by_job["serve-abc"]["cost"]) == (24.0, Decimal(24))
    models = report(con, "model")
    assert models["llama-8b"]["cost"] == Decimal(102)


def test_loading_again_replaces_the_derived_jobs(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # A second load (same samples, other label choices) leaves one set of rows, not two;
    # a jobs-file row of another job is kept.
    _cluster(con, tmp_path)
    jobs(con, tmp_path, [("F", "web", "i-other", at("10:00"), at("11:00"), 1, 1)])
    load_jobs_from_k8s(con)
    before = con.execute("SELECT * FROM gpu_jobs ORDER BY ALL").fetchall()
    assert load_jobs_from_k8s(con, cluster="ml") == 3
    assert con.execute("SELECT * FROM gpu_jobs ORDER BY ALL").fetchall() == before
    # the team from the namespace instead: serving is no team → unallocated; ml neither
    assert load_jobs_from_k8s(con, team_label="k8s:namespace", job_label="k8s:pod") == 4
    got = con.execute("SELECT job_id, team FROM gpu_jobs ORDER BY ALL").fetchall()
    assert got == [("F", "web"), ("serve-abc", "serving"), ("train-0", "ml"), ("train-1", "ml"),
                   ("train-2", "ml")]  # fmt: skip


def test_jobs_from_k8s_bad_input(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    ensure_tables(con)
    with pytest.raises(BadInputError, match="no Kubernetes samples with GPUs") as err:
        load_jobs_from_k8s(con)  # nothing loaded
    assert err.value.reason == "no-gpu-samples" and "costline k8s load" in (err.value.hint or "")
    path = _cluster(con, tmp_path)
    with pytest.raises(BadInputError, match="cluster 'prod'") as err:
        load_jobs_from_k8s(con, cluster="prod")
    assert "clusters loaded: ml" in (err.value.hint or "")
    with pytest.raises(BadInputError, match="label 'owner'") as err:
        load_jobs_from_k8s(con, team_label="owner")
    loc = err.value.location
    assert (loc.file, loc.column, err.value.reason) == (str(path), "owner", "missing-label")
    assert "job, model, team" in (err.value.hint or "")
    assert "--team-label" in (err.value.hint or "")
    with pytest.raises(BadInputError, match="label 'jobname'") as err:
        load_jobs_from_k8s(con, job_label="jobname")
    assert "did you mean --job-label job?" in (err.value.hint or "")
    assert con.execute("SELECT count(*) FROM gpu_jobs").fetchone() == (0,)


def test_jobs_from_k8s_bad_nodes_and_teams(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    ensure_tables(con)
    # a pod with GPUs on a node whose capacity says 0 GPUs
    path = samples(con, tmp_path, [sample("p", {"team": "web"}, 1, 1, node_gpus=0)])
    with pytest.raises(BadInputError, match="node 'i-g8'") as err:
        load_jobs_from_k8s(con)
    assert (err.value.location.file, err.value.location.column) == (str(path), "node_resource_id")
    assert "--kind nodes" in (err.value.hint or "")
    # two pods of one job with different teams
    samples(con, tmp_path, [
        sample("a", {"job": "j", "team": "web"}, 1, 1),
        sample("b", {"job": "j", "team": "api"}, 1, 1),
    ])  # fmt: skip
    with pytest.raises(BadInputError, match="different teams") as err:
        load_jobs_from_k8s(con)
    assert err.value.location.value == "j" and "--job-label" in (err.value.hint or "")
    # no GPU pod at all
    samples(con, tmp_path, [sample("c", {"team": "web"}, 0, 1)])
    with pytest.raises(BadInputError, match="with GPUs"):
        load_jobs_from_k8s(con)


# -- the idle recipient ---------------------------------------------------------------------
def named(pool_id: str, **settings: Any) -> LoadedRules:
    loaded = rules(**settings)
    doc = loaded.rules.model_dump(by_alias=True, exclude_unset=True)
    doc["pools"][0]["id"] = pool_id
    return LoadedRules(RuleSet.model_validate(doc), loaded.files, "test")


def _eight(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # The worked example: an 8-GPU node, $32 for the hour; A (web) 4 GPU-h, B (api) 1 GPU-h;
    # idle 3 GPU-h. keep: web 4/8 · 32 = 16, api 4, idle 12.
    bill(con, "i-p4", "32")
    jobs(con, tmp_path, [
        ("A", "web", "i-p4", at("10:00"), at("11:00"), 4, 8),
        ("B", "api", "i-p4", at("10:00"), at("10:30"), 2, 8),
    ])  # fmt: skip


def test_idle_goes_to_idle_of_the_pool_id(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    _eight(con, tmp_path)
    loaded = named("training")
    assert run(con, loaded) == {"web": Decimal(16), "api": Decimal(4), "idle:training": 12}
    idle = report(con, "team", loaded)["idle:training"]
    assert (idle["line"], idle["gpu_hours"], idle["cost"]) == ("idle", 3.0, Decimal(12))
    # parts published before idle was configurable carry idle:gpu: still the pool's idle line
    con.execute("UPDATE allocation_parts SET x_Team = 'idle:gpu' WHERE x_Team = 'idle:training'")
    idle = report(con, "team", loaded)["idle:training"]
    assert (idle["line"], idle["cost"]) == ("idle", Decimal(12))


def test_idle_to_a_team_keep(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # idle.to web: web gets its job's $16 and the idle $12 = $28; the reports keep them apart
    _eight(con, tmp_path)
    loaded = rules(idle={"to": "web"})
    assert run(con, loaded) == {"web": Decimal(28), "api": Decimal(4)}
    rows = report_rows(con, loaded, "job")
    assert {(r["line"], r["team"], r["job_id"]): (r["gpu_hours"], r["cost"]) for r in rows} == {
        ("job", "web", "A"): (4.0, Decimal(16)),
        ("job", "api", "B"): (1.0, Decimal(4)),
        ("idle", "web", None): (3.0, Decimal(12)),
    }
    teams = {(r["line"], r["team"]): r["cost"] for r in report_rows(con, loaded, "team")}
    assert teams == {("job", "web"): 16, ("idle", "web"): 12, ("job", "api"): 4}


def test_idle_to_a_team_share(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # share: by 4 : 1 → web 25.60, api 6.40; the idle line shows 3 GPU-h at $0. A second hour
    # without jobs ($10) is idle whatever the mode: it goes to web, on the idle line.
    _eight(con, tmp_path)
    bill(con, "i-p4", "10", start="2024-09-03 12:00:00")
    loaded = rules(idle={"mode": "share", "to": "web"})
    assert run(con, loaded) == {"web": Decimal("35.6"), "api": Decimal("6.4")}
    rows = report_rows(con, loaded, "job")
    got = {(r["line"], r["team"], r["job_id"]): (r["gpu_hours"], r["cost"]) for r in rows}
    assert got == {
        ("job", "web", "A"): (4.0, Decimal("25.6")),
        ("job", "api", "B"): (1.0, Decimal("6.4")),
        ("idle", "web", None): (3.0 + 8.0, Decimal(10)),
    }


def report_rows(con: duckdb.DuckDBPyConnection, loaded: LoadedRules, by: str) -> list[Any]:
    return gpu_report(con, SEP, loaded.rules.pools[0], by=by)  # type: ignore[arg-type]


def test_idle_to_must_be_a_team(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "pools:\n"
        "  - id: gpu\n"
        "    select: {column: ServiceName, equals: Amazon EC2}\n"
        "    method: gpu\n"
        "    gpu:\n"
        "      idle:\n"
        "        to: wbe\n"
    )
    loaded = load_rules(path)
    with pytest.raises(ConfigError, match="gpu.idle.to 'wbe'") as err:
        check_rules(loaded, owners(), [c.name for c in STORE_COLUMNS])
    assert (err.value.path, err.value.line) == (path, 7)
    assert "did you mean 'web'?" in (err.value.hint or "")
    path.write_text(path.read_text().replace("wbe", "web"))
    check_rules(load_rules(path), owners(), [c.name for c in STORE_COLUMNS])
    path.write_text(path.read_text().replace("to: web", "to: 'idle:x'"))
    with pytest.raises(ConfigError, match="should match pattern"):
        load_rules(path)

"""GPU jobs from Kubernetes samples: the ``k8s_samples`` rows with GPUs → the ``gpu_jobs`` table.

A cluster whose GPU workloads already arrive as Kubernetes samples (``costline k8s load``:
a samples file or an OpenCost export, with ``gpu_request`` / ``gpu_usage``) needs no jobs file:
:func:`load_jobs_from_k8s` derives the jobs from the pods' labels and writes them where a jobs
file would (:mod:`costline.allocation.gpu_jobs`), so ``method: gpu`` pools and the GPU reports
read them unchanged. Per sample row with ``gpu_request`` or ``gpu_usage`` above 0:

* **job** = the label ``job`` (``job_label``), else the pod's name; **model** = the label
  ``model`` (``model_label``); **team** = the label ``team`` (``team_label``). A label name may
  also be one of ``k8s:cluster``, ``k8s:namespace``, ``k8s:pod``, ``k8s:node``,
  ``k8s:container`` (e.g. ``team_label="k8s:namespace"`` charges each namespace as a team);
* **GPU-hours** = ``max(gpu_request, gpu_usage) × window_hours``, summed over the job's
  containers on the node in the window;
* one job row per job, node (the sample's ``node_resource_id``) and window: it starts at the
  window start and lasts the longest container's hours (rounded to the second), holding
  ``GPU-hours / hours`` GPUs, so the row's GPU-hours are the containers' sum;
* the node's GPUs come from ``k8s_nodes`` (a nodes file, or ``node_gpus`` on the samples);
  status ``completed`` (Kubernetes samples do not say whether a pod was interrupted).

The pod's labels are kept as the row's labels, with the ``k8s:*`` keys added, so a pool's
``gpu.owner`` / ``gpu.model`` can name any of them. Loading replaces every row an earlier load
derived from the same clusters' samples (``source_file`` ``k8s_samples:<cluster>``), so loading
again after more samples arrived changes only what they changed.

Example:
    >>> label_sql("k8s:namespace"), label_sql("team")
    ('namespace', "NULLIF(trim(labels['team']), '')")
"""

from __future__ import annotations

import difflib

import duckdb

from costline.allocation.gpu_jobs import ensure_gpu_tables
from costline.allocation.k8s_inputs import ensure_k8s_tables, in_transaction
from costline.allocation.sql import lit
from costline.core.errors import BadInputError, Location

SOURCE_PREFIX = "k8s_samples:"
# label names that read a samples column instead of a label (as in kubernetes pools' rules)
K8S_KEYS = {
    "k8s:cluster": "cluster",
    "k8s:namespace": "namespace",
    "k8s:pod": "pod",
    "k8s:node": "node",
    "k8s:container": "container",
}
JOB_COLUMNS = (
    "job_id, team, resource_id, started_at, ended_at, gpu_count, gpu_spec, node_gpus, "
    "capacity_source, instance_type, gpu_model, model, kind, status, status_raw, tokens, "
    "labels, source_file"
)
TABLE = "k8s_samples"  # where errors point when no single file is to blame
HINT_LOAD = (
    "load samples with gpu_request or gpu_usage first: costline k8s load --kind samples FILE "
    "(or --kind opencost); see docs/how-to/gpu-allocation.md#jobs-from-kubernetes-labels"
)


def label_sql(name: str) -> str:
    """SQL over a samples row: the label ``name`` (exact key, else lower-cased), or a k8s: key."""
    if name in K8S_KEYS:
        return K8S_KEYS[name]
    parts = [f"NULLIF(trim(labels[{lit(k)}]), '')" for k in dict.fromkeys((name, name.lower()))]
    return parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"


def _gpu_samples(con: duckdb.DuckDBPyConnection, cluster: str | None) -> str:
    """Stage the GPU sample rows in scope as ``_gk_s``; raise when there are none."""
    where = "(COALESCE(gpu_request, 0) > 0 OR COALESCE(gpu_usage, 0) > 0)"
    if cluster is not None:
        where += f" AND cluster = {lit(cluster)}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _gk_s AS SELECT * FROM k8s_samples WHERE {where}")
    row = con.execute("SELECT count(*) FROM _gk_s").fetchone()
    if row and row[0]:
        return where
    clusters = [r[0] for r in con.execute("SELECT DISTINCT cluster FROM k8s_samples").fetchall()]
    if cluster is not None and cluster not in clusters:
        raise BadInputError(
            f"no Kubernetes samples of cluster {cluster!r}",
            location=Location(TABLE, column="cluster", value=cluster),
            reason="no-gpu-samples",
            hint=f"clusters loaded: {', '.join(sorted(clusters)) or 'none'}; " + HINT_LOAD,
        )
    scope = f" of cluster {cluster!r}" if cluster is not None else ""
    raise BadInputError(
        f"no Kubernetes samples{scope} with GPUs (gpu_request or gpu_usage above 0)",
        location=Location(TABLE, column="gpu_request"),
        reason="no-gpu-samples",
        hint=HINT_LOAD,
    )


def _require_label(con: duckdb.DuckDBPyConnection, name: str, option: str) -> None:
    """At least one GPU sample carries the label ``name``; else name the labels seen."""
    row = con.execute(f"SELECT count(*) FROM _gk_s WHERE {label_sql(name)} IS NOT NULL").fetchone()
    if row and row[0]:
        return
    seen = sorted(
        str(r[0])
        for r in con.execute(
            "SELECT DISTINCT unnest(map_keys(labels)) FROM _gk_s WHERE labels IS NOT NULL"
        ).fetchall()
    )
    files = con.execute("SELECT min(source_file) FROM _gk_s").fetchone()
    close = difflib.get_close_matches(name, [*seen, *K8S_KEYS], n=1)
    suggest = f"did you mean {option} {close[0]}? " if close else ""
    raise BadInputError(
        f"no pod with GPUs has the label {name!r}",
        location=Location(str(files[0] if files and files[0] else TABLE), column=name),
        reason="missing-label",
        hint=f"{suggest}labels on the GPU pods: {', '.join(seen) or 'none'}; pass {option} with "
        "one of them (or k8s:namespace, k8s:pod), or label the pods",
    )


def _stage_jobs(con: duckdb.DuckDBPyConnection, *, job: str, model: str, team: str) -> None:
    """``_gk_s`` → ``_gk_j``: one row per cluster, job, node and window, with its GPU-hours."""
    gh = "GREATEST(COALESCE(gpu_request, 0), COALESCE(gpu_usage, 0)) * window_hours"
    k8s_map = ", ".join(f"{lit(k)}: CAST({c} AS VARCHAR)" for k, c in K8S_KEYS.items())
    labels = (
        f"map_concat(COALESCE(labels, CAST(MAP {{}} AS MAP(VARCHAR, VARCHAR))), MAP {{{k8s_map}}})"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _gk_j AS SELECT cluster, job_id, node_resource_id, "
        "window_start, min(source_file) AS source_file, count(DISTINCT team) AS teams, "
        "min(team) AS team, max(team) AS team_2, min(model) AS model, SUM(gh) AS gh, "
        "CAST(round(max(window_hours) * 3600) AS BIGINT) AS secs, "
        "arg_min(labels, pod || '/' || container) AS labels FROM (SELECT cluster, "
        f"COALESCE({label_sql(job)}, pod) AS job_id, node_resource_id, window_start, "
        f"window_hours, pod, container, source_file, {label_sql(team)} AS team, "
        f"{label_sql(model)} AS model, {gh} AS gh, {labels} AS labels FROM _gk_s) s "
        "GROUP BY cluster, job_id, node_resource_id, window_start"
    )


def _check_jobs(con: duckdb.DuckDBPyConnection, *, team: str, job: str) -> None:
    """Every node has GPUs in ``k8s_nodes``; the pods of one job agree on its team."""
    bad = con.execute(
        "SELECT j.source_file, j.node_resource_id, j.job_id FROM _gk_j j LEFT JOIN (SELECT "
        "node_resource_id, max(gpus) AS gpus FROM k8s_nodes GROUP BY node_resource_id) n "
        "ON n.node_resource_id = j.node_resource_id WHERE COALESCE(n.gpus, 0) <= 0 "
        "ORDER BY 1, 2, 3 LIMIT 1"
    ).fetchone()
    if bad:
        raise BadInputError(
            f"node {bad[1]!r} (job {bad[2]!r}) has no GPUs in the nodes table",
            location=Location(str(bad[0] or TABLE), column="node_resource_id", value=bad[1]),
            reason="no-gpu-capacity",
            hint="load a nodes file with a gpus column (costline k8s load --kind nodes FILE), "
            "or give the samples node_cpu_cores, node_memory_gib and node_gpus",
        )
    bad = con.execute(
        "SELECT source_file, job_id, team, team_2 FROM _gk_j WHERE teams > 1 ORDER BY 1, 2 LIMIT 1"
    ).fetchone()
    if bad:
        raise BadInputError(
            f"the pods of job {bad[1]!r} name different teams ({bad[2]!r}, {bad[3]!r})",
            location=Location(str(bad[0] or TABLE), column=team, value=bad[1]),
            reason="unparsable",
            hint=f"label the job's pods with one {team}, or pass --job-label (now {job!r}) "
            "with a label that separates the teams' jobs",
        )


def load_jobs_from_k8s(
    con: duckdb.DuckDBPyConnection,
    *,
    cluster: str | None = None,
    job_label: str = "job",
    model_label: str = "model",
    team_label: str = "team",
) -> int:
    """Derive GPU jobs from the loaded Kubernetes samples; returns the job rows written.

    Args:
        con: the warehouse connection (``k8s_samples`` and ``k8s_nodes`` loaded).
        cluster: only this cluster's samples (default: every cluster).
        job_label: the label naming the job; a pod without it is a job of its own.
        model_label: the label naming the AI model (optional on each pod).
        team_label: the label naming the team (a team id in owners.yaml).

    Raises:
        BadInputError: no samples with GPUs (in the cluster), no GPU pod carries the team
            label (or an explicitly named job / model label), a node without GPUs in the
            nodes table, or pods of one job naming different teams.
    """
    ensure_k8s_tables(con)
    ensure_gpu_tables(con)
    _gpu_samples(con, cluster)
    _require_label(con, team_label, "--team-label")
    if job_label != "job":
        _require_label(con, job_label, "--job-label")
    if model_label != "model":
        _require_label(con, model_label, "--model-label")
    _stage_jobs(con, job=job_label, model=model_label, team=team_label)
    _check_jobs(con, team=team_label, job=job_label)
    hours = "(CAST(j.secs AS DOUBLE) / 3600.0)"
    select = (
        "SELECT j.job_id, j.team, j.node_resource_id, j.window_start, "
        "j.window_start + to_seconds(j.secs), j.gh / "
        f"{hours}, CAST(round(j.gh / {hours}, 6) AS VARCHAR), n.gpus, 'k8s_nodes', NULL, NULL, "
        "j.model, NULL, 'completed', NULL, NULL, j.labels, "
        f"{lit(SOURCE_PREFIX)} || j.cluster FROM _gk_j j JOIN (SELECT node_resource_id, "
        "max(gpus) AS gpus FROM k8s_nodes GROUP BY node_resource_id) n "
        "ON n.node_resource_id = j.node_resource_id WHERE j.secs > 0"
    )
    in_transaction(
        con,
        [
            "DELETE FROM gpu_jobs WHERE source_file IN (SELECT DISTINCT "
            f"{lit(SOURCE_PREFIX)} || cluster FROM _gk_j)",
            "DELETE FROM gpu_jobs g USING _gk_j j WHERE g.job_id = j.job_id "
            "AND g.started_at = j.window_start AND g.resource_id = j.node_resource_id",
            f"INSERT INTO gpu_jobs ({JOB_COLUMNS}) {select}",
        ],
    )
    row = con.execute("SELECT count(*) FROM _gk_j WHERE secs > 0").fetchone()
    return int(row[0]) if row else 0


__all__ = ["K8S_KEYS", "SOURCE_PREFIX", "label_sql", "load_jobs_from_k8s"]

"""GPU jobs file → the DuckDB table ``gpu_jobs`` that ``method: gpu`` pools split node cost by.

One row per job (or per segment of a long-running job): who ran it, on which GPU node (the
node's ``ResourceId`` in the bill), from when to when, on how many GPUs. DuckDB reads the file
(CSV or Parquet); Python only builds SQL and reports the first bad value, naming the file, the
row (the first data row is 1), the column and the fix. Nothing is written unless every row is
valid.

**GPU count** (``gpu_count``) may be fractional:

* a number: ``2``, ``0.5`` (time-slicing: half of one GPU's time), ``1/7``, ``50%``;
* a MIG profile: ``mig-1g.10gb`` (also ``1g.10gb``, ``nvidia.com/mig-3g.40gb``, ``+me``
  variants). A profile ``<g>g.<mem>gb`` holds ``g`` of the GPU's compute slices: 7 on A100,
  H100, H200 and B200 (``1g.10gb`` on an A100-80GB = 1/7 GPU, ``3g.40gb`` = 3/7), 4 on A30
  (``1g.6gb`` = 1/4). The GPU model comes from ``gpu_model`` or the instance type.

**Capacity** (GPUs on the node) comes from ``node_gpus``, else from the instance type
(:mod:`costline.allocation.gpu_catalog`: AWS, Azure, GCP accelerator names), else the row is
rejected with a hint to add ``node_gpus``.

**Status** is one of ``completed``, ``running``, ``interrupted`` (spot interruption,
preemption, eviction), ``failed``; common spellings are mapped (:data:`STATUS_ALIASES`). A row
with no end must be ``running``; an empty status means ``completed`` (with an end) or
``running`` (without).

A row is one job segment on one node: ``(job_id, start, resource_id)`` appears once (a job on
several nodes has a row per node). Loading a file replaces the rows of the same ``(job_id,
start)``, on every node, so loading it again changes nothing and a running job's row can be
re-sent with its end. :mod:`costline.allocation.gpu_k8s` derives rows from Kubernetes samples
instead. Columns not listed in
:data:`JOB_ALIASES` are kept as labels (the demo's ``provider``, ``account_id``, ``hours``,
``list_cost_usd``), and a pool can name one as its owner or model column.

Example:
    >>> sorted(STATUS_ALIASES)
    ['completed', 'failed', 'interrupted', 'running']
    >>> JOB_ALIASES["start"][:2]
    ('start', 'start_time')
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path

import duckdb

from costline.allocation.gpu_catalog import GCP_GPU_NAME, catalog_rows
from costline.allocation.k8s_inputs import (
    check_values,
    in_transaction,
    missing_column,
    utc,
)
from costline.allocation.sql import ident, lit
from costline.core.errors import BadInputError, Location
from costline.core.inputs import need_file, read_header, reader_sql

JOBS_DDL = """CREATE TABLE IF NOT EXISTS gpu_jobs (
    job_id VARCHAR NOT NULL, team VARCHAR, resource_id VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL, ended_at TIMESTAMP, gpu_count DOUBLE NOT NULL,
    gpu_spec VARCHAR, node_gpus DOUBLE NOT NULL, capacity_source VARCHAR,
    instance_type VARCHAR, gpu_model VARCHAR, model VARCHAR, kind VARCHAR,
    status VARCHAR NOT NULL, status_raw VARCHAR, tokens DOUBLE,
    labels MAP(VARCHAR, VARCHAR), source_file VARCHAR)"""

# canonical column → accepted header spellings (compared lower-cased and trimmed)
JOB_ALIASES: Mapping[str, tuple[str, ...]] = {
    "job_id": ("job_id", "job", "job_name", "id"),
    "team": ("team", "team_id"),
    "resource_id": ("resource_id", "instance_id", "node_resource_id", "vm_id", "resourceid"),
    "start": ("start", "start_time", "started_at", "start_at", "begin"),
    "end": ("end", "end_time", "ended_at", "end_at", "finished_at", "stop"),
    "gpu_count": ("gpu_count", "gpus", "gpu", "gpu_fraction", "gpu_request"),
    "node_gpus": ("node_gpus", "gpus_on_node", "node_gpu_count", "gpu_capacity"),
    "instance_type": ("instance_type", "machine_type", "vm_size"),
    "gpu_model": ("gpu_model", "gpu_type", "accelerator"),
    "model": ("model", "model_name", "ai_model"),
    "kind": ("kind", "job_kind", "workload_kind"),
    "status": ("status", "state", "job_status"),
    "tokens": ("tokens", "token_count", "total_tokens"),
}
STATUSES = ("completed", "running", "interrupted", "failed")
STATUS_ALIASES: Mapping[str, tuple[str, ...]] = {
    # NOTE: the demo marks a job left running after it finished as "runaway": it has an end
    # and ran to it, so it is completed (the anomaly is its length, not its outcome).
    "completed": ("completed", "complete", "succeeded", "success", "done", "finished", "runaway"),
    "running": ("running", "active", "in_progress", "in-progress"),
    "interrupted": (
        "interrupted",
        "preempted",
        "evicted",
        "reclaimed",
        "spot_interrupted",
        "spot-interrupted",
        "spot_interruption",
    ),
    "failed": ("failed", "failure", "error", "errored", "crashed", "oomkilled", "cancelled"),
}
KIND_ALIASES: Mapping[str, tuple[str, ...]] = {
    "training": ("training", "train", "fine-tune", "finetune", "fine-tuning", "fine_tuning"),
    "inference": ("inference", "infer", "serving", "serve", "endpoint"),
}
# NVIDIA MIG profile <g>g.<memory>gb: g compute slices of the GPU's 7 (A30: 4).
MIG_PATTERN = r"^(nvidia\.com/)?(mig[-_ ]?)?([1-7])g\.[0-9]+gb(\+me)?$"
HINT = "see docs/how-to/gpu-allocation.md#jobs-file for the columns"
HINT_COUNT = (
    "write the job's GPUs as a number (2, 0.5 for time-slicing, 1/7, 50%) or a MIG profile "
    "such as mig-1g.10gb"
)


def ensure_gpu_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``gpu_jobs`` table if it does not exist."""
    con.execute(JOBS_DDL)


def _resolve(header: list[str]) -> tuple[dict[str, str], list[str]]:
    """canonical name → raw header name, and the raw names nothing claimed."""
    folded = {h.strip().lower(): h for h in header}
    found: dict[str, str] = {}
    for canonical, names in JOB_ALIASES.items():
        hit = next((folded[n] for n in names if n in folded), None)
        if hit is not None:
            found[canonical] = hit
    claimed = set(found.values())
    return found, [h for h in header if h not in claimed]


def _check_columns(path: Path, found: Mapping[str, str], extra: list[str]) -> None:
    for need in ("job_id", "resource_id", "start", "gpu_count"):
        if need not in found:
            raise missing_column(path, need, HINT)
    if "end" not in found and "status" not in found:
        raise missing_column(path, "end (or status: running)", HINT)
    known = [n for names in JOB_ALIASES.values() for n in names]
    for h in extra:
        close = difflib.get_close_matches(h.strip().lower(), known, n=1, cutoff=0.8)
        if close:
            raise BadInputError(
                f"unknown column {h!r}",
                location=Location(str(path), column=h),
                reason="unknown-column",
                hint=f"did you mean {close[0]!r}? other columns become labels, but not ones "
                f"named like a known column; {HINT}",
            )


def _alias_case(col: str, aliases: Mapping[str, tuple[str, ...]], other: str) -> str:
    """``CASE lower(trim(col)) WHEN alias THEN canonical ... ELSE other END``."""
    whens = " ".join(f"WHEN {lit(a)} THEN {lit(c)}" for c, names in aliases.items() for a in names)
    return f"CASE lower(trim({col})) {whens} ELSE {other} END"


def _num(col: str) -> str:
    return f"try_cast(NULLIF(trim({col}), '') AS DOUBLE)"


def _count_sql(text: str, model: str) -> str:
    """The GPU count (DOUBLE) a ``gpu_count`` text means, NULL when it is not one."""
    v = f"lower(trim({text}))"
    slices = f"CASE WHEN lower(COALESCE({model}, '')) LIKE '%a30%' THEN 4.0 ELSE 7.0 END"
    fraction = r"^[0-9]+(\.[0-9]+)?\s*/\s*[0-9]+(\.[0-9]+)?$"
    percent = r"^[0-9]+(\.[0-9]+)?\s*%$"
    return (
        f"CASE WHEN try_cast({v} AS DOUBLE) IS NOT NULL THEN try_cast({v} AS DOUBLE) "
        f"WHEN regexp_matches({v}, {lit(fraction)}) THEN "
        f"CAST(trim(split_part({v}, '/', 1)) AS DOUBLE) "
        f"/ NULLIF(CAST(trim(split_part({v}, '/', 2)) AS DOUBLE), 0) "
        f"WHEN regexp_matches({v}, {lit(percent)}) THEN "
        f"CAST(trim(rtrim({v}, '%')) AS DOUBLE) / 100.0 "
        f"WHEN regexp_matches({v}, {lit(MIG_PATTERN)}) THEN "
        f"CAST(regexp_extract({v}, {lit(MIG_PATTERN)}, 3) AS DOUBLE) / {slices} END"
    )


def _mig_ok(text: str, model: str) -> str:
    """False for a MIG profile the GPU does not have (A30: 1g, 2g, 4g; others: 1-4g, 7g)."""
    v = f"lower(trim({text}))"
    g = f"regexp_extract({v}, {lit(MIG_PATTERN)}, 3)"
    a30 = f"lower(COALESCE({model}, '')) LIKE '%a30%'"
    return (
        f"(NOT regexp_matches({v}, {lit(MIG_PATTERN)}) OR "
        f"(CASE WHEN {a30} THEN {g} IN ('1', '2', '4') ELSE {g} IN ('1', '2', '3', '4', '7') END))"
    )


def _stage(
    con: duckdb.DuckDBPyConnection, source: str, found: Mapping[str, str], extra: list[str]
) -> None:
    """The file as text, one column per canonical name, extra columns in a MAP ``_extra``."""

    def raw(name: str) -> str:
        return f"CAST({ident(found[name])} AS VARCHAR)" if name in found else "NULL"

    label_cols = ", ".join(f"{lit(h)}: CAST({ident(h)} AS VARCHAR)" for h in extra)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _gpu_s AS SELECT row_number() OVER () AS _row, "
        + ", ".join(f"{raw(n)} AS {ident(n)}" for n in JOB_ALIASES)
        + (
            f", MAP {{{label_cols}}} AS _extra"
            if extra
            else ", CAST(NULL AS MAP(VARCHAR, VARCHAR)) AS _extra"
        )
        + f" FROM {source}"
    )
    rows = catalog_rows()
    values = ", ".join(f"({lit(k)}, {n}, {lit(g)}, {lit(s)})" for k, n, g, s in rows)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _gpu_cat AS SELECT * FROM (VALUES "
        f"{values}) t(itype, gpus, gpu_name, source)"
    )


def _text_tests(found: Mapping[str, str]) -> list[tuple[str, str, str, str]]:
    """Tests on the text of each row: (column shown, value SQL, failing SQL, hint)."""

    def name(c: str) -> str:
        return found.get(c, c)

    status_known = _alias_case('"status"', STATUS_ALIASES, "NULL")
    accepted = ", ".join(STATUSES)
    empty_end = '("end" IS NULL OR trim("end") = \'\')'
    return [
        (
            name("job_id"),
            "job_id",
            "job_id IS NULL OR trim(job_id) = ''",
            "every row needs a job_id",
        ),
        (
            name("resource_id"),
            "resource_id",
            "resource_id IS NULL OR trim(resource_id) = ''",
            "every job needs the GPU node's ResourceId as the bill shows it (e.g. i-0abc...)",
        ),
        (
            name("start"),
            '"start"',
            '"start" IS NULL OR try_cast("start" AS TIMESTAMPTZ) IS NULL',
            "write the start as an ISO timestamp such as 2026-07-01T13:00:00Z",
        ),
        (
            name("end"),
            '"end"',
            f'NOT {empty_end} AND try_cast("end" AS TIMESTAMPTZ) IS NULL',
            "write the end as an ISO timestamp such as 2026-07-01T15:30:00Z",
        ),
        (
            name("status"),
            '"status"',
            f'"status" IS NOT NULL AND trim("status") <> \'\' AND {status_known} IS NULL',
            f"write one of {accepted} (spot interruptions and preemptions: interrupted)",
        ),
        (
            name("end"),
            "job_id",
            f"{empty_end} AND COALESCE({status_known}, 'running') <> 'running'",
            "give the job's end, or status running for a job still running",
        ),
        (
            name("gpu_count"),
            "gpu_count",
            f"{_count_sql('gpu_count', 'NULL')} IS NULL "
            f"OR NOT isfinite({_count_sql('gpu_count', 'NULL')}) "
            f"OR {_count_sql('gpu_count', 'NULL')} <= 0",
            HINT_COUNT,
        ),
        (
            name("node_gpus"),
            "node_gpus",
            "node_gpus IS NOT NULL AND trim(node_gpus) <> '' AND "
            f"({_num('node_gpus')} IS NULL OR NOT isfinite({_num('node_gpus')}) "
            f"OR {_num('node_gpus')} <= 0)",
            "node_gpus is the number of GPUs on the node, such as 8",
        ),
        (
            name("tokens"),
            "tokens",
            "tokens IS NOT NULL AND trim(tokens) <> '' AND "
            f"({_num('tokens')} IS NULL OR NOT isfinite({_num('tokens')}) "
            f"OR {_num('tokens')} < 0)",
            "tokens is a non-negative count such as 1250000",
        ),
    ]


def _typed(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """``_gpu_s`` (validated text) → ``_gpu_t``: typed rows with capacity and GPU model."""
    itype = "lower(trim(s.instance_type))"
    gcp = f"try_cast(NULLIF(regexp_extract({itype}, {lit(GCP_GPU_NAME.pattern)}, 1), '') AS DOUBLE)"
    model = "COALESCE(NULLIF(trim(s.gpu_model), ''), NULLIF(c.gpu_name, ''))"
    status = _alias_case("s.status", STATUS_ALIASES, "NULL")
    end_empty = '(s."end" IS NULL OR trim(s."end") = \'\')'
    start, end = utc('s."start"'), utc('s."end"')
    kind = _alias_case("s.kind", KIND_ALIASES, "NULLIF(lower(trim(s.kind)), '')")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _gpu_t AS SELECT s._row, trim(s.job_id) AS job_id, "
        "NULLIF(trim(s.team), '') AS team, trim(s.resource_id) AS resource_id, "
        f"{start} AS started_at, "
        f"CASE WHEN {end_empty} THEN NULL ELSE {end} END AS ended_at, "
        f"{_count_sql('s.gpu_count', model)} AS gpu_count, trim(s.gpu_count) AS gpu_spec, "
        f"{_mig_ok('s.gpu_count', model)} AS mig_ok, "
        f"COALESCE({_num('s.node_gpus')}, CAST(c.gpus AS DOUBLE), {gcp}) AS node_gpus, "
        f"CASE WHEN {_num('s.node_gpus')} IS NOT NULL THEN 'file' "
        "WHEN c.gpus IS NOT NULL THEN 'catalog:' || c.source "
        f"WHEN {gcp} IS NOT NULL THEN 'catalog:gcp-name' END AS capacity_source, "
        "NULLIF(trim(s.instance_type), '') AS instance_type, "
        f"{model} AS gpu_model, NULLIF(trim(s.model), '') AS model, {kind} AS kind, "
        f"COALESCE({status}, CASE WHEN {end_empty} THEN 'running' ELSE 'completed' END) "
        "AS status, NULLIF(trim(s.status), '') AS status_raw, "
        f"{_num('s.tokens')} AS tokens, s._extra AS labels, {lit(str(path))} AS source_file "
        f"FROM _gpu_s s LEFT JOIN _gpu_cat c ON c.itype = {itype}"
    )


def _row_tests(found: Mapping[str, str]) -> list[tuple[str, str, str, str]]:
    """Tests on the typed rows (capacity, order of times, duplicates)."""

    def name(c: str) -> str:
        return found.get(c, c)

    return [
        (
            name("end"),
            "CAST(ended_at AS VARCHAR)",
            "ended_at IS NOT NULL AND ended_at <= started_at",
            "a job ends after it starts; check the start and end columns",
        ),
        (
            name("gpu_count"),
            "gpu_spec",
            "NOT mig_ok",
            "that MIG profile does not exist on this GPU (A30: 1g, 2g, 4g; A100/H100: 1g, "
            "2g, 3g, 4g, 7g); check gpu_model",
        ),
        (
            name("node_gpus"),
            "COALESCE(instance_type, '')",
            "node_gpus IS NULL",
            "add a node_gpus column (GPUs on the node); the instance type is not one costline "
            "knows (AWS/Azure GPU types, GCP a2/a3/a4-*gpu-<n>g)",
        ),
        (
            name("gpu_count"),
            "gpu_spec",
            "gpu_count > node_gpus",
            "a job cannot hold more GPUs than its node has; check gpu_count and node_gpus "
            "(or the instance type)",
        ),
        (
            name("job_id"),
            "job_id || ' @ ' || CAST(started_at AS VARCHAR) || ' on ' || resource_id",
            "_row > (SELECT min(d._row) FROM _gpu_t d WHERE d.job_id = _gpu_t.job_id "
            "AND d.started_at = _gpu_t.started_at AND d.resource_id = _gpu_t.resource_id)",
            "each (job_id, start, resource_id) must appear once; merge the rows or give each "
            "segment its own start",
        ),
        (
            name("node_gpus"),
            "resource_id",
            "node_gpus <> (SELECT arg_min(d.node_gpus, d._row) FROM _gpu_t d "
            "WHERE d.resource_id = _gpu_t.resource_id)",
            "every row of a node must give the same number of GPUs on it as its first row",
        ),
    ]


def load_jobs(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Load a GPU jobs file (CSV or Parquet); returns the number of job rows loaded.

    Raises:
        BadInputError: file missing or unreadable, a required column missing, a misspelt
            column, or a row with a bad value (named by row and column, with the fix).
    """
    need_file(path)
    ensure_gpu_tables(con)
    source = reader_sql(path)
    found, extra = _resolve(read_header(con, path, source, HINT))
    _check_columns(path, found, extra)
    _stage(con, source, found, extra)
    check_values(con, path, "_gpu_s", _text_tests(found))
    _typed(con, path)
    check_values(con, path, "_gpu_t", _row_tests(found))
    columns = (
        "job_id, team, resource_id, started_at, ended_at, gpu_count, gpu_spec, node_gpus, "
        "capacity_source, instance_type, gpu_model, model, kind, status, status_raw, tokens, "
        "labels, source_file"
    )
    in_transaction(
        con,
        [
            "DELETE FROM gpu_jobs g USING _gpu_t t "
            "WHERE g.job_id = t.job_id AND g.started_at = t.started_at",
            f"INSERT INTO gpu_jobs ({columns}) SELECT {columns} FROM _gpu_t",
        ],
    )
    return int(con.execute("SELECT count(*) FROM _gpu_t").fetchone()[0])  # type: ignore[index]


__all__ = [
    "JOB_ALIASES",
    "MIG_PATTERN",
    "STATUSES",
    "STATUS_ALIASES",
    "ensure_gpu_tables",
    "load_jobs",
]

"""Kubernetes usage inputs → DuckDB tables (``k8s_samples``, ``k8s_nodes``, ``k8s_aws_split``).

DuckDB reads every file (CSV, Parquet or JSON); Python only builds SQL and reports the first
bad value it finds, naming the file, the row and the column. Three inputs feed the Kubernetes
split (:mod:`costline.allocation.kubernetes`):

* a **samples file** (CSV or Parquet): one row per container and window with its requests and
  usage (see ``docs/how-to/kubernetes-allocation.md`` for the columns and their aliases; the
  demo's ``k8s/pod_usage.csv`` is one);
* an **OpenCost allocation export**: the JSON of ``/allocation/compute?aggregate=container``
  (``{"code": 200, "data": [{"<name>": {allocation}, ...}, ...]}``), mapped to the same rows;
* a **nodes file** (or capacity columns on the sample rows): each node's CPU cores, memory and
  GPUs, and the resource id its cost carries in the bill.

Loading a file replaces what an earlier file said about the same windows (samples: the same
cluster and window start; nodes: the same resource id), so loading it again changes nothing.

Example:
    >>> sorted(SAMPLE_ALIASES["window_hours"])
    ['hours', 'running_hours', 'window_hours']
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path

import duckdb

from costline.allocation.sql import ident, lit
from costline.core.errors import BadInputError, Location
from costline.core.inputs import need_file, read_header, reader_sql

GIB = 1073741824  # bytes in a GiB: memory capacity and requests are GiB-hours in the split

SAMPLES_DDL = """CREATE TABLE IF NOT EXISTS k8s_samples (
    window_start TIMESTAMP NOT NULL, window_hours DOUBLE NOT NULL, cluster VARCHAR NOT NULL,
    node VARCHAR, node_resource_id VARCHAR NOT NULL, namespace VARCHAR NOT NULL,
    pod VARCHAR NOT NULL, container VARCHAR NOT NULL, labels MAP(VARCHAR, VARCHAR),
    cpu_request DOUBLE, cpu_usage DOUBLE, memory_request DOUBLE, memory_usage DOUBLE,
    gpu_request DOUBLE, gpu_usage DOUBLE, source VARCHAR, source_file VARCHAR)"""

NODES_DDL = """CREATE TABLE IF NOT EXISTS k8s_nodes (
    node_resource_id VARCHAR NOT NULL, cluster VARCHAR, node VARCHAR,
    cpu_cores DOUBLE NOT NULL, memory_bytes DOUBLE NOT NULL, gpus DOUBLE NOT NULL,
    source_file VARCHAR)"""

AWS_SPLIT_DDL = """CREATE TABLE IF NOT EXISTS k8s_aws_split (
    usage_start TIMESTAMP NOT NULL, cluster VARCHAR, namespace VARCHAR, pod VARCHAR,
    node_resource_id VARCHAR, usage_type VARCHAR, split_cost DECIMAL(38, 10),
    unused_cost DECIMAL(38, 10), currency VARCHAR, source_file VARCHAR)"""

# canonical column → accepted header spellings (compared lower-cased and trimmed)
SAMPLE_ALIASES: Mapping[str, tuple[str, ...]] = {
    "window_start": ("window_start", "timestamp", "start", "date"),
    "window_hours": ("window_hours", "hours", "running_hours"),
    "cluster": ("cluster",),
    "node": ("node", "node_name"),
    "node_resource_id": ("node_resource_id", "provider_id", "providerid"),
    "namespace": ("namespace",),
    "pod": ("pod",),
    "container": ("container",),
    "labels": ("labels",),
    "cpu_request": ("cpu_request", "cpu_request_cores"),
    "cpu_usage": ("cpu_usage", "cpu_usage_cores", "cpu_usage_avg_cores"),
    "memory_request": ("memory_request_bytes", "mem_request_bytes", "memory_request"),
    "memory_usage": ("memory_usage_bytes", "mem_usage_bytes", "memory_usage"),
    "memory_request_gib": ("memory_request_gib", "mem_request_gib"),
    "memory_usage_gib": ("memory_usage_gib", "mem_usage_gib", "mem_usage_avg_gib"),
    "gpu_request": ("gpu_request", "gpu_request_count"),
    "gpu_usage": ("gpu_usage", "gpu_usage_count"),
    "node_cpu_cores": ("node_cpu_cores",),
    "node_memory_bytes": ("node_memory_bytes",),
    "node_memory_gib": ("node_memory_gib",),
    "node_gpus": ("node_gpus",),
}
NODE_ALIASES: Mapping[str, tuple[str, ...]] = {
    "node_resource_id": ("node_resource_id", "resource_id", "provider_id", "providerid"),
    "cluster": ("cluster",),
    "node": ("node", "node_name"),
    "cpu_cores": ("cpu_cores", "vcpu", "cpu"),
    "memory_bytes": ("memory_bytes",),
    "memory_gib": ("memory_gib",),
    "gpus": ("gpus", "gpu_count", "gpu"),
}
# Unknown columns become labels, except ones that look like a misspelt resource column.
_RESOURCE_PREFIXES = ("cpu", "mem", "gpu", "node_", "window")
HINT_SAMPLES = "see docs/how-to/kubernetes-allocation.md#samples-file for the columns"
HINT_NODES = "see docs/how-to/kubernetes-allocation.md#nodes-file for the columns"


def ensure_k8s_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the Kubernetes input tables if they do not exist."""
    for ddl in (SAMPLES_DDL, NODES_DDL, AWS_SPLIT_DDL):
        con.execute(ddl)


# -- shared helpers -------------------------------------------------------------------------
def _resolve(
    header: list[str], aliases: Mapping[str, tuple[str, ...]]
) -> tuple[dict[str, str], list[str]]:
    """canonical name → raw header name, and the raw names nothing claimed."""
    folded = {h.strip().lower(): h for h in header}
    found: dict[str, str] = {}
    for canonical, names in aliases.items():
        for name in names:
            if name in folded:
                found[canonical] = folded[name]
                break
    claimed = set(found.values())
    return found, [h for h in header if h not in claimed]


def missing_column(path: Path, what: str, hint: str) -> BadInputError:
    return BadInputError(
        f"lacks column {what}",
        location=Location(str(path), column=what.split(" ")[0]),
        reason="missing-column",
        hint=hint,
    )


def check_values(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    tests: list[tuple[str, str, str, str]],
) -> None:
    """Raise on the first row failing a test: (column shown, value SQL, failing SQL, hint).

    A test on a column of the repetitive kind (timestamps, labels) runs once per distinct
    value, on the first row holding it: same answer, a fraction of the work.
    """
    for column, value, failing, hint in tests:
        source = table
        if table == "_k8s_s" and value in _DISTINCT_COLUMNS:
            source = f"(SELECT min(_row) AS _row, {value} FROM {table} GROUP BY {value}) d"
        bad = con.execute(
            f"SELECT _row, CAST({value} AS VARCHAR) FROM {source} WHERE {failing} "
            "ORDER BY _row LIMIT 1"
        ).fetchone()
        if bad:
            raise BadInputError(
                f"{column} {bad[1]!r} is not valid",
                location=Location(str(path), row=int(bad[0]), column=column, value=bad[1]),
                reason="unparsable",
                hint=hint,
            )


_DISTINCT_COLUMNS = ("window_start", "labels", "cluster", "namespace")


def _number_tests(cols: Mapping[str, str], *, hint: str) -> list[tuple[str, str, str, str]]:
    """A non-negative number (or empty) in each given column: canonical → staged column."""
    return [
        (
            name,
            col,
            f"{col} IS NOT NULL AND trim({col}) <> '' AND "
            f"(try_cast({col} AS DOUBLE) IS NULL OR try_cast({col} AS DOUBLE) < 0)",
            hint,
        )
        for name, col in cols.items()
    ]


def _num(col: str) -> str:
    return f"CAST(NULLIF(trim({col}), '') AS DOUBLE)"


def utc(col: str) -> str:
    """A timestamp text → UTC ``TIMESTAMP`` (an offset is honoured; none means UTC)."""
    return f"timezone('UTC', CAST({col} AS TIMESTAMPTZ))"


def in_transaction(con: duckdb.DuckDBPyConnection, statements: list[str]) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        for sql in statements:
            con.execute(sql)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


# -- nodes ----------------------------------------------------------------------------------
def load_nodes(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Load a nodes file (node_resource_id, cluster, node, cpu_cores, memory_bytes|memory_gib,
    gpus); returns the number of nodes loaded.

    Raises:
        BadInputError: missing column, unparsable or negative number, empty resource id.
    """
    need_file(path)
    ensure_k8s_tables(con)
    source = reader_sql(path)
    found, _ = _resolve(read_header(con, path, source, HINT_NODES), NODE_ALIASES)
    for need in ("node_resource_id", "cpu_cores"):
        if need not in found:
            raise missing_column(path, need, HINT_NODES)
    if "memory_bytes" not in found and "memory_gib" not in found:
        raise missing_column(path, "memory_bytes (or memory_gib)", HINT_NODES)

    def raw(name: str) -> str:
        return f"CAST({ident(found[name])} AS VARCHAR)" if name in found else "NULL"

    con.execute(
        "CREATE OR REPLACE TEMP TABLE _k8s_n AS SELECT row_number() OVER () AS _row, "
        + ", ".join(f"{raw(n)} AS {n}" for n in NODE_ALIASES)
        + f" FROM {source}"
    )
    check_values(
        con,
        path,
        "_k8s_n",
        [
            (
                "node_resource_id",
                "node_resource_id",
                "node_resource_id IS NULL OR trim(node_resource_id) = ''",
                "every node needs the resource id its cost carries in the bill (e.g. i-0abc...)",
            ),
            (
                "cpu_cores",
                "cpu_cores",
                "cpu_cores IS NULL OR trim(cpu_cores) = ''",
                "give each node's CPU cores",
            ),
        ]
        + _number_tests(
            {n: n for n in ("cpu_cores", "memory_bytes", "memory_gib", "gpus")},
            hint="write plain non-negative numbers such as 16 or 68719476736",
        ),
    )
    memory = f"COALESCE({_num('memory_bytes')}, {_num('memory_gib')} * {GIB})"
    check_values(
        con,
        path,
        "_k8s_n",
        [("memory_bytes", memory, f"{memory} IS NULL", "give each node's memory")],
    )
    select = (
        f"SELECT trim(node_resource_id), NULLIF(trim(cluster), ''), NULLIF(trim(node), ''), "
        f"{_num('cpu_cores')}, {memory}, COALESCE({_num('gpus')}, 0), {lit(str(path))} "
        "FROM _k8s_n"
    )
    in_transaction(
        con,
        [
            "DELETE FROM k8s_nodes WHERE node_resource_id IN "
            "(SELECT trim(node_resource_id) FROM _k8s_n)",
            f"INSERT INTO k8s_nodes {select}",
        ],
    )
    return int(con.execute("SELECT count(*) FROM _k8s_n").fetchone()[0])  # type: ignore[index]


# -- samples --------------------------------------------------------------------------------
def load_samples(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Load a samples file (CSV or Parquet); returns the number of rows loaded.

    Columns not listed in :data:`SAMPLE_ALIASES` become labels (so the demo's ``team`` and
    ``workload`` columns are labels ``team`` and ``workload``), besides the JSON ``labels``.

    Raises:
        BadInputError: missing column, unparsable value, or a row whose node cannot be tied
            to a bill resource id.
    """
    need_file(path)
    ensure_k8s_tables(con)
    source = reader_sql(path)
    found, extra = _resolve(read_header(con, path, source, HINT_SAMPLES), SAMPLE_ALIASES)
    _check_columns(path, found, extra)

    def raw(name: str) -> str:
        return f"CAST({ident(found[name])} AS VARCHAR)" if name in found else "NULL"

    label_cols = ", ".join(f"{lit(h)}: CAST({ident(h)} AS VARCHAR)" for h in extra)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _k8s_s AS SELECT row_number() OVER () AS _row, "
        + ", ".join(f"{raw(n)} AS {n}" for n in SAMPLE_ALIASES)
        + (f", MAP {{{label_cols}}} AS _extra" if extra else ", NULL AS _extra")
        + f" FROM {source}"
    )
    check_values(con, path, "_k8s_s", _sample_tests())
    _stage_samples(con, source="samples", path=path)
    return _commit_samples(con, path, node_id_first=True)


def _check_columns(path: Path, found: Mapping[str, str], extra: list[str]) -> None:
    for need in ("window_start", "window_hours", "cluster", "namespace", "pod"):
        if need not in found:
            raise missing_column(path, need, HINT_SAMPLES)
    if "node" not in found and "node_resource_id" not in found:
        raise missing_column(path, "node (or node_resource_id)", HINT_SAMPLES)
    if not {"cpu_request", "cpu_usage"} & set(found):
        raise missing_column(path, "cpu_request (or cpu_usage)", HINT_SAMPLES)
    memory = {"memory_request", "memory_usage", "memory_request_gib", "memory_usage_gib"}
    if not memory & set(found):
        raise missing_column(
            path, "memory_request_bytes (or memory_usage_bytes, *_gib)", HINT_SAMPLES
        )
    for h in extra:
        if h.strip().lower().startswith(_RESOURCE_PREFIXES):
            known = [n for names in SAMPLE_ALIASES.values() for n in names]
            close = difflib.get_close_matches(h.strip().lower(), known, n=1)
            raise BadInputError(
                f"unknown column {h!r}",
                location=Location(str(path), column=h),
                reason="unknown-column",
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + "other columns become labels, but not ones named like a resource; "
                + HINT_SAMPLES,
            )


def _sample_tests() -> list[tuple[str, str, str, str]]:
    numbers = {
        n: n
        for n in SAMPLE_ALIASES
        if n.startswith(("cpu_", "memory_", "gpu_", "node_cpu", "node_memory", "node_gpus"))
    }
    return [
        (
            "window_start",
            "window_start",
            "window_start IS NULL OR try_cast(window_start AS TIMESTAMPTZ) IS NULL",
            "write the window start as an ISO timestamp such as 2026-07-01T13:00:00Z",
        ),
        (
            "window_hours",
            "window_hours",
            "try_cast(window_hours AS DOUBLE) IS NULL OR try_cast(window_hours AS DOUBLE) <= 0 "
            "OR try_cast(window_hours AS DOUBLE) > 24",
            "window_hours is the hours the container ran in the window: more than 0, at most 24",
        ),
        *(
            (c, c, f"{c} IS NULL OR trim({c}) = ''", f"every row needs a {c}")
            for c in ("cluster", "namespace", "pod")
        ),
        (
            "labels",
            "labels",
            "labels IS NOT NULL AND trim(labels) <> '' AND (NOT json_valid(labels) "
            "OR json_type(CAST(labels AS JSON)) <> 'OBJECT')",
            'write labels as a JSON object such as {"team": "payments"}',
        ),
        *_number_tests(numbers, hint="write plain non-negative numbers such as 0.25"),
    ]


def _stage_samples(con: duckdb.DuckDBPyConnection, *, source: str, path: Path) -> None:
    """``_k8s_s`` (validated text) → view ``_k8s_t`` (typed rows, resource id unresolved).

    Timestamps and label objects repeat on every row of a window or pod: each distinct text
    is parsed once (``_k8s_ts``, ``_k8s_lb``) and joined back.
    """
    mem_req = f"COALESCE({_num('memory_request')}, {_num('memory_request_gib')} * {GIB})"
    mem_use = f"COALESCE({_num('memory_usage')}, {_num('memory_usage_gib')} * {GIB})"
    node_mem = f"COALESCE({_num('node_memory_bytes')}, {_num('node_memory_gib')} * {GIB})"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _k8s_ts AS SELECT raw, {utc('raw')} AS ts "
        "FROM (SELECT DISTINCT window_start AS raw FROM _k8s_s) d"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _k8s_lb AS SELECT raw, "
        "CAST(CAST(raw AS JSON) AS MAP(VARCHAR, VARCHAR)) AS m FROM (SELECT DISTINCT labels AS raw "
        "FROM _k8s_s WHERE labels IS NOT NULL AND trim(labels) <> '') d"
    )
    labels = (
        "CASE WHEN lb.m IS NULL THEN s._extra WHEN s._extra IS NULL THEN lb.m "
        "ELSE map_concat(s._extra, lb.m) END"
    )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW _k8s_t AS SELECT _row, ts.ts AS window_start, "
        "CAST(window_hours AS DOUBLE) AS window_hours, trim(cluster) AS cluster, "
        "NULLIF(trim(node), '') AS node, NULLIF(trim(node_resource_id), '') AS node_resource_id, "
        "trim(namespace) AS namespace, trim(pod) AS pod, "
        "COALESCE(NULLIF(trim(container), ''), '') AS container, "
        f"{labels} AS labels, {_num('cpu_request')} AS cpu_request, "
        f"{_num('cpu_usage')} AS cpu_usage, {mem_req} AS memory_request, "
        f"{mem_use} AS memory_usage, {_num('gpu_request')} AS gpu_request, "
        f"{_num('gpu_usage')} AS gpu_usage, {_num('node_cpu_cores')} AS node_cpu, "
        f"{node_mem} AS node_memory, {_num('node_gpus')} AS node_gpus, "
        f"{lit(source)} AS source, {lit(str(path))} AS source_file FROM _k8s_s s "
        "JOIN _k8s_ts ts ON ts.raw = s.window_start LEFT JOIN _k8s_lb lb ON lb.raw = s.labels"
    )


def _commit_samples(con: duckdb.DuckDBPyConnection, path: Path, *, node_id_first: bool) -> int:
    """Tie each row to a bill resource id, record node capacity, and replace the windows.

    ``node_id_first``: the file's own resource id wins over the nodes table (samples files
    say it as the bill does; OpenCost's providerID may not, so there the nodes table wins).
    """
    # A nodes-file row names the node (in its cluster, or in any cluster) or is the node id.
    # The resource id depends only on (cluster, node, own id, has capacity): resolve each
    # distinct combination once, into a table, so later statements see one answer.
    by_name = "COALESCE(nc.rid, nn.rid)"
    by_id = "ni.rid"
    from_capacity = "CASE WHEN d.cap THEN d.node END"
    order = (
        ["d.nrid", by_name, by_id, from_capacity]
        if node_id_first
        else [by_name, by_id, "d.nrid", from_capacity]
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _k8s_map AS SELECT d.*, COALESCE({', '.join(order)}) AS rid "
        "FROM (SELECT DISTINCT cluster, node, node_resource_id AS nrid, node_cpu IS NOT NULL AS cap "
        "FROM _k8s_t) d LEFT JOIN (SELECT cluster, node, min(node_resource_id) AS rid "
        "FROM k8s_nodes WHERE node IS NOT NULL GROUP BY cluster, node) nc ON nc.node = d.node "
        "AND nc.cluster = d.cluster LEFT JOIN (SELECT node, min(node_resource_id) AS rid "
        "FROM k8s_nodes WHERE node IS NOT NULL AND cluster IS NULL GROUP BY node) nn "
        "ON nn.node = d.node LEFT JOIN (SELECT DISTINCT node_resource_id AS rid FROM k8s_nodes) ni "
        "ON ni.rid = d.node"
    )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW _k8s_r AS SELECT t.*, m.rid FROM _k8s_t t JOIN _k8s_map m "
        "ON m.cluster = t.cluster AND m.node IS NOT DISTINCT FROM t.node "
        "AND m.nrid IS NOT DISTINCT FROM t.node_resource_id AND m.cap = (t.node_cpu IS NOT NULL)"
    )
    check_values(
        con,
        path,
        "_k8s_r",
        [
            (
                "node_resource_id",
                "COALESCE(node, '')",
                "rid IS NULL",
                "add a node_resource_id column (the node's ResourceId in the bill), or load a "
                "nodes file naming this node first (docs/how-to/kubernetes-allocation.md)",
            )
        ],
    )
    capacity = (
        "INSERT INTO k8s_nodes SELECT rid, any_value(cluster), any_value(node), max(node_cpu), "
        f"max(node_memory), COALESCE(max(node_gpus), 0), {lit(str(path))} FROM _k8s_r "
        "WHERE node_cpu IS NOT NULL AND node_memory IS NOT NULL GROUP BY rid"
    )
    in_transaction(
        con,
        [
            "DELETE FROM k8s_samples s USING (SELECT DISTINCT cluster, window_start FROM _k8s_r) r "
            "WHERE s.cluster = r.cluster AND s.window_start = r.window_start",
            "INSERT INTO k8s_samples SELECT window_start, window_hours, cluster, node, rid, "
            "namespace, pod, container, labels, cpu_request, cpu_usage, memory_request, "
            "memory_usage, gpu_request, gpu_usage, source, source_file FROM _k8s_r",
            "DELETE FROM k8s_nodes WHERE node_resource_id IN "
            "(SELECT rid FROM _k8s_r WHERE node_cpu IS NOT NULL AND node_memory IS NOT NULL)",
            capacity,
        ],
    )
    return int(con.execute("SELECT count(*) FROM _k8s_r").fetchone()[0])  # type: ignore[index]


# -- OpenCost -------------------------------------------------------------------------------
# OpenCost allocation JSON field → samples column (see the how-to for the full mapping).
OPENCOST_FIELDS: Mapping[str, str] = {
    "window_start": "$.window.start",
    "window_end": "$.window.end",
    "minutes": "$.minutes",
    "cluster": "$.properties.cluster",
    "node": "$.properties.node",
    "node_resource_id": "$.properties.providerID",
    "namespace": "$.properties.namespace",
    "pod": "$.properties.pod",
    "container": "$.properties.container",
    "cpu_request": "$.cpuCoreRequestAverage",
    "cpu_usage": "$.cpuCoreUsageAverage",
    "memory_request": "$.ramByteRequestAverage",
    "memory_usage": "$.ramByteUsageAverage",
    "gpu_count": "$.gpuCount",
    "gpu_request_avg": "$.gpuRequestAverage",
    "gpu_usage_avg": "$.gpuUsageAverage",
    "gpu_alloc_request": "$.gpuAllocation.gpuRequestAverage",
    "gpu_alloc_usage": "$.gpuAllocation.gpuUsageAverage",
}
# Allocations OpenCost computes itself: costline recomputes idle from the bill.
OPENCOST_SKIPPED = ("__idle__", "__unmounted__")


def load_opencost(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Load an OpenCost ``/allocation`` export (aggregate=container) as samples.

    Raises:
        BadInputError: not that JSON shape, a window longer than a day, a missing field or
            an unparsable number (the row is the allocation's position in the file).
    """
    need_file(path)
    ensure_k8s_tables(con)
    source = (
        f"read_json({lit(str(path))}, columns = {{'data': 'MAP(VARCHAR, JSON)[]'}}, "
        f"format = 'auto', maximum_object_size = {_object_size(path)})"
    )
    hint = "export /allocation/compute?window=...&step=1d&aggregate=container as JSON"
    fields = ", ".join(
        f"json_extract_string(v, {lit(p)}) AS {n}" for n, p in OPENCOST_FIELDS.items()
    )
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _k8s_oc AS WITH sets AS (SELECT unnest(data) AS m "
            f"FROM {source}), entries AS (SELECT unnest(map_entries(m)) AS e FROM sets) "
            "SELECT row_number() OVER () AS _row, e.key AS name, e.value AS v FROM entries"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _k8s_ocf AS SELECT _row, name, {fields}, "
            "json_extract(v, '$.properties.labels') AS labels_json FROM _k8s_oc WHERE "
            + " AND ".join(f"strpos(name, {lit(s)}) = 0" for s in OPENCOST_SKIPPED)
        )
    except duckdb.Error as exc:
        raise BadInputError(
            f"not an OpenCost allocation export: {str(exc).splitlines()[0]}",
            location=Location(str(path)),
            reason="unreadable",
            hint=hint,
        ) from exc
    check_values(con, path, "_k8s_ocf", _opencost_tests())
    _stage_opencost(con)
    check_values(con, path, "_k8s_s", _sample_tests())  # the same checks as a samples file
    _stage_samples(con, source="opencost", path=path)
    return _commit_samples(con, path, node_id_first=False)


def _object_size(path: Path) -> int:
    """The export is one JSON object: DuckDB must be allowed to read it whole (its size)."""
    return max(16 * 1024 * 1024, path.stat().st_size + 1024)


def _opencost_tests() -> list[tuple[str, str, str, str]]:
    texts = ("window_start", "window_end", "cluster", "node", "node_resource_id", "namespace")
    numbers = {
        path.removeprefix("$."): name
        for name, path in OPENCOST_FIELDS.items()
        if name not in (*texts, "pod", "container")
    }
    span = (
        "date_diff('minute', try_cast(window_start AS TIMESTAMPTZ), "
        "try_cast(window_end AS TIMESTAMPTZ))"
    )
    return [
        (
            "window.start",
            "window_start",
            "try_cast(window_start AS TIMESTAMPTZ) IS NULL "
            "OR try_cast(window_end AS TIMESTAMPTZ) IS NULL",
            "every allocation needs window.start and window.end (RFC 3339)",
        ),
        (
            "window",
            "window_start || ' .. ' || window_end",
            f"{span} > 1440 OR {span} <= 0",
            "export with step=1d (or shorter) so each allocation covers at most one day",
        ),
        *(
            (
                f"properties.{c}",
                "name",
                f"{c} IS NULL OR trim({c}) = ''",
                "export with aggregate=container",
            )
            for c in ("cluster", "namespace", "pod")
        ),
        *_number_tests(numbers, hint="OpenCost numbers must be non-negative"),
    ]


def _stage_opencost(con: duckdb.DuckDBPyConnection) -> None:
    """``_k8s_ocf`` → ``_k8s_s`` in the samples layout (text, as a samples file stages it)."""
    provider = (
        "CASE WHEN node_resource_id LIKE 'aws://%' THEN regexp_extract(node_resource_id, "
        "'([^/]+)$', 1) ELSE node_resource_id END"
    )
    gpu_request = "COALESCE(gpu_alloc_request, gpu_request_avg, gpu_count)"
    hours = "CAST(CAST(minutes AS DOUBLE) / 60.0 AS VARCHAR)"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _k8s_s AS SELECT _row, window_start, "
        f"{hours} AS window_hours, cluster, node, {provider} AS node_resource_id, namespace, pod, "
        "container, CAST(labels_json AS VARCHAR) AS labels, cpu_request, cpu_usage, "
        "memory_request, memory_usage, NULL AS memory_request_gib, NULL AS memory_usage_gib, "
        f"{gpu_request} AS gpu_request, COALESCE(gpu_alloc_usage, gpu_usage_avg) AS gpu_usage, "
        "NULL AS node_cpu_cores, NULL AS node_memory_bytes, NULL AS node_memory_gib, "
        "NULL AS node_gpus, CAST(NULL AS MAP(VARCHAR, VARCHAR)) AS _extra FROM _k8s_ocf "
        "WHERE minutes IS NULL OR CAST(minutes AS DOUBLE) > 0"
    )

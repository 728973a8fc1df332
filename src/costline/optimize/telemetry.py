"""Utilization telemetry: samples of CPU, memory, network and disk per resource.

A telemetry file is a CSV or Parquet file in long form, one sample per row::

    resource_id,timestamp,metric,value
    i-0abc123,2026-10-01T00:05:00Z,cpu_percent,12.5

``resource_id`` is the bill's ``ResourceId`` (an EC2 instance id, an Azure VM's resource id;
compared case-insensitively when joined), ``timestamp`` is ISO 8601 (UTC unless it carries an
offset) and ``metric`` is one of :data:`METRICS`. Samples may come at any interval (CloudWatch
exports 1 or 5 minutes, Azure Monitor 1 minute, Prometheus whatever the scrape interval is).

:func:`load_telemetry` checks every row (the first bad one is an error naming the file, row,
column and fix) and writes the table ``telemetry``. Loading a file replaces the samples an
earlier load held for the same resource and metric over the time span the file covers, so
loading the same export again changes nothing. :func:`store_samples` stores samples pulled
from CloudWatch, Azure Monitor or Prometheus through the same checks and replacement.

Example:
    >>> sorted(METRICS)[:3]
    ['cpu_percent', 'disk_read_bytes', 'disk_read_ops']
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from costline.core.background import on_cursor
from costline.core.errors import BadInputError
from costline.core.inputs import header_columns, need_file, reader_sql, reject_bad_rows

TELEMETRY_DDL = """CREATE TABLE IF NOT EXISTS telemetry (
  resource_id VARCHAR NOT NULL, "timestamp" TIMESTAMP NOT NULL, metric VARCHAR NOT NULL,
  value DOUBLE NOT NULL, source_file VARCHAR)"""

# metric → (unit, upper bound or None); the unit is documented in docs/concepts/rightsizing.md
METRICS: dict[str, tuple[str, float | None]] = {
    "cpu_percent": ("% of the instance's vCPUs", 100.0),
    "memory_percent": ("% of the instance's memory in use", 100.0),
    "gpu_percent": ("% GPU utilization", 100.0),
    "network_in_bytes": ("bytes received in the sample period", None),
    "network_out_bytes": ("bytes sent in the sample period", None),
    "disk_read_ops": ("read operations in the sample period", None),
    "disk_write_ops": ("write operations in the sample period", None),
    "disk_read_bytes": ("bytes read in the sample period", None),
    "disk_write_bytes": ("bytes written in the sample period", None),
}
REQUIRED = ("resource_id", "timestamp", "metric", "value")
HINT = (
    "write a CSV or Parquet file with the columns resource_id, timestamp, metric, value "
    "(one sample per row); see docs/concepts/rightsizing.md#telemetry"
)


# The clock hours each resource and metric has samples in, kept by every write of
# ``telemetry`` (load, pull): rightsizing's "30 hours of data" rule counts rows here instead of
# distinct hours over every sample (the most expensive part of a rightsizing run).
HOURS_DDL = """CREATE TABLE IF NOT EXISTS telemetry_hours (
  resource_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, hour TIMESTAMP NOT NULL)"""
_HOURS_OF = (
    "SELECT DISTINCT t.resource_id, t.metric, date_trunc('hour', t.\"timestamp\") FROM telemetry t"
)


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``telemetry`` table (and its hours) when the workspace has none yet; a
    workspace from before ``telemetry_hours`` gets it built once from its samples."""
    con.execute(TELEMETRY_DDL)
    if not tables_ready(con):
        rebuild_hours(con)


def tables_ready(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``telemetry`` and ``telemetry_hours`` both exist (then a reader needs no
    write: :func:`ensure_table` would change nothing)."""
    row = con.execute(
        "SELECT count(DISTINCT table_name) FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_name IN ('telemetry', 'telemetry_hours')"
    ).fetchone()
    return bool(row and row[0] == 2)


def rebuild_hours(con: duckdb.DuckDBPyConnection) -> None:
    """``telemetry_hours`` from every sample (after writing ``telemetry`` by other means)."""
    con.execute("DROP TABLE IF EXISTS telemetry_hours")
    con.execute(HOURS_DDL)
    con.execute(f"INSERT INTO telemetry_hours {_HOURS_OF}")


def load_telemetry(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, Any]:
    """Load one telemetry file into ``telemetry``.

    Returns:
        ``file``, ``rows`` loaded, ``resources``, ``metrics`` (sorted names), ``first`` and
        ``last`` sample timestamps (UTC).

    Raises:
        BadInputError: unreadable file, missing column, empty resource id, bad timestamp,
            unknown metric, or a value that is not a number in the metric's range.
    """
    need_file(path)
    ensure_table(con)
    raw = header_columns(con, path, REQUIRED, HINT, what="telemetry file")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _tel AS {_parse_sql(path, raw)}")
    try:
        _check(con, path)
        return _store(con, str(path.resolve()))
    finally:
        con.execute("DROP TABLE IF EXISTS _tel")


def store_samples(
    con: duckdb.DuckDBPyConnection,
    samples: Sequence[tuple[str, dt.datetime, str, float]],
    source: str,
    *,
    hint: str | None = None,
) -> dict[str, Any]:
    """Store samples pulled from a monitoring API (resource id, timestamp, metric, value) like
    a loaded file: the same checks, the same replacement by resource, metric and time span.
    ``source`` is recorded as the samples' ``source_file`` (e.g. ``cloudwatch:us-east-1``);
    ``hint``, when given, replaces a file loader's fix in the error for a bad sample.

    Returns:
        as :func:`load_telemetry`, with ``file`` = ``source``.

    Raises:
        BadInputError: a sample with an empty resource id, an unknown metric or a value out
            of the metric's range, naming the resource, metric and time; nothing is stored.
    """
    ensure_table(con)
    ts = [_naive_utc(s[1]) for s in samples]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _tel AS SELECT unnest(?::BIGINT[]) AS _row, "
        "unnest(?::VARCHAR[]) AS resource_id, unnest(?::VARCHAR[]) AS ts_text, "
        "unnest(?::TIMESTAMP[]) AS ts, unnest(?::VARCHAR[]) AS metric, "
        "unnest(?::VARCHAR[]) AS value_text, unnest(?::DOUBLE[]) AS value",
        [
            list(range(1, len(samples) + 1)),
            [s[0] for s in samples],
            [t.isoformat() + "Z" for t in ts],
            ts,
            [s[2] for s in samples],
            [repr(float(s[3])) for s in samples],
            [float(s[3]) for s in samples],
        ],
    )
    try:
        try:
            _check(con, Path(source))
        except BadInputError as exc:
            row = exc.location.row
            which = con.execute(
                "SELECT resource_id, metric, ts_text FROM _tel WHERE _row = ?", [row]
            ).fetchone()
            rid, metric, when = which or (None, None, None)
            raise BadInputError(
                f"sample of {rid!r} {metric} at {when}: {exc.detail}",
                location=exc.location,
                reason=exc.reason,
                hint=hint or exc.hint,
            ) from None
        return _store(con, source)
    finally:
        con.execute("DROP TABLE IF EXISTS _tel")


# what a bill's ResourceId looks like for an instance a puller can ask about
_INSTANCE_IDS = {
    "aws": "ResourceId LIKE 'i-%'",
    "azure": "lower(ResourceId) LIKE '%/providers/microsoft.compute/virtualmachines/%'",
}


def billed_instances(
    con: duckdb.DuckDBPyConnection, provider: str, start: dt.datetime, end: dt.datetime
) -> list[tuple[str, str | None, str | None]]:
    """The EC2 instances (``aws``) or Azure VMs (``azure``) the bill charges for in
    ``[start, end)``: (ResourceId, RegionId, instance type), the latest row's region and type,
    one per resource id (case-insensitive), sorted."""
    from costline.optimize.rightsizing import INSTANCE_TYPE_SQL

    rows = con.execute(
        "SELECT arg_max(ResourceId, ChargePeriodStart), "
        "arg_max(RegionId, ChargePeriodStart) FILTER (WHERE RegionId IS NOT NULL), "
        f"arg_max({INSTANCE_TYPE_SQL}, ChargePeriodStart) FILTER (WHERE {INSTANCE_TYPE_SQL} "
        "IS NOT NULL) FROM cost "
        f"WHERE x_Provider = ? AND {_INSTANCE_IDS[provider]} "
        "AND ChargePeriodStart < ? AND ChargePeriodEnd > ? "
        "GROUP BY lower(ResourceId) ORDER BY 1",
        [provider, _naive_utc(end), _naive_utc(start)],
    ).fetchall()
    return [(str(r), g, t) for r, g, t in rows]


def _naive_utc(ts: dt.datetime) -> dt.datetime:
    return ts if ts.tzinfo is None else ts.astimezone(dt.UTC).replace(tzinfo=None)


def _parse_sql(path: Path, raw: dict[str, str]) -> str:
    def col(name: str) -> str:
        return "CAST(" + '"' + raw[name].replace('"', '""') + '"' + " AS VARCHAR)"

    ts = col("timestamp")
    return (
        "SELECT row_number() OVER () AS _row, "
        f"trim({col('resource_id')}) AS resource_id, {ts} AS ts_text, "
        f"CAST(try_cast({ts} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP) AS ts, "
        f"lower(trim({col('metric')})) AS metric, {col('value')} AS value_text, "
        f"try_cast({col('value')} AS DOUBLE) AS value FROM {reader_sql(path)}"
    )


def _check(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    bound = " ".join(f"WHEN {_q(m)} THEN {hi}" for m, (_, hi) in METRICS.items() if hi is not None)
    checks = (
        ("resource_id", "resource_id IS NULL OR resource_id = ''", "resource_id", None),
        ("timestamp", "ts IS NULL", "ts_text", None),
        (
            "metric",
            f"metric IS NULL OR metric NOT IN ({', '.join(map(_q, METRICS))})",
            "metric",
            None,
        ),
        (
            "value",
            "value IS NULL OR isnan(value) OR isinf(value) OR value < 0 "
            f"OR value > (CASE metric {bound} ELSE 'Infinity'::DOUBLE END)",
            "value_text",
            None,
        ),
    )
    reject_bad_rows(
        con,
        path,
        "_tel",
        [(c, test, shown, partial(_fix, c)) for c, test, shown, _ in checks],
        context="metric",
    )


def _fix(column: str, value: str | None, metric: str | None) -> str:
    if column == "resource_id":
        return "every sample needs the bill's ResourceId (e.g. the EC2 instance id)"
    if column == "timestamp":
        return (
            "write ISO 8601 timestamps, e.g. 2026-10-01T00:05:00Z (UTC unless an offset is given)"
        )
    if column == "metric":
        close = difflib.get_close_matches(value or "", list(METRICS), n=1)
        suggestion = f"did you mean {close[0]!r}? " if close else ""
        return f"{suggestion}use one of {', '.join(METRICS)}"
    unit, hi = METRICS.get(metric or "", ("", None))
    limit = f"between 0 and {hi:g}" if hi is not None else "0 or more"
    return f"write a plain number {limit} ({metric}: {unit})"


def _store(con: duckdb.DuckDBPyConnection, file: str) -> dict[str, Any]:
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "DELETE FROM telemetry t USING (SELECT resource_id, metric, min(ts) AS lo, "
            "max(ts) AS hi FROM _tel GROUP BY ALL) f WHERE t.resource_id = f.resource_id "
            'AND t.metric = f.metric AND t."timestamp" BETWEEN f.lo AND f.hi'
        )
        con.execute(
            "INSERT INTO telemetry SELECT resource_id, ts, metric, value, ? FROM _tel", [file]
        )
        # the hours of every (resource, metric) the file touched, from all their samples
        pairs = "(SELECT DISTINCT resource_id, metric FROM _tel)"
        con.execute(
            f"DELETE FROM telemetry_hours h USING {pairs} f "
            "WHERE h.resource_id = f.resource_id AND h.metric = f.metric"
        )
        con.execute(
            f"INSERT INTO telemetry_hours {_HOURS_OF} SEMI JOIN {pairs} f "
            "ON t.resource_id = f.resource_id AND t.metric = f.metric"
        )
        stats = con.execute(
            "SELECT count(*), count(DISTINCT resource_id), list(DISTINCT metric ORDER BY metric), "
            "min(ts), max(ts) FROM _tel"
        ).fetchone()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    assert stats is not None
    return {
        "file": file,
        "rows": int(stats[0]),
        "resources": int(stats[1]),
        "metrics": list(stats[2] or []),
        "first": stats[3],
        "last": stats[4],
    }


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- what the samples in a window say (the input of rightsizing) -----------------------------


def window_end(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """The newest telemetry sample (a lookback ends there by default)."""
    row = con.execute('SELECT max("timestamp") FROM telemetry').fetchone()
    return None if row is None else row[0]


@dataclass(frozen=True)
class WindowStats:
    """Per resource (lower-cased id) over a window: CPU (hours with a sample, the percentile,
    the maximum), the memory percentile, and the busiest hour's network and disk throughput
    in megabits per second."""

    cpu: dict[str, tuple[int, float | None, float | None]]
    memory: dict[str, float]
    bandwidth: dict[str, tuple[float | None, float | None]]


def window_stats(
    con: duckdb.DuckDBPyConnection, *, start: dt.datetime, end: dt.datetime, percentile: float
) -> WindowStats:
    """:class:`WindowStats` over ``(start, end]`` at ``percentile`` (e.g. 95)."""
    cpu, memory = _load_stats(con, start=start, end=end, percentile=percentile)
    return WindowStats(cpu, memory, _bandwidth(con, start=start, end=end))


@contextmanager
def window_stats_started(
    con: duckdb.DuckDBPyConnection, *, start: dt.datetime, end: dt.datetime, percentile: float
) -> Iterator[Future[WindowStats]]:
    """:func:`window_stats` on a background cursor (one scan of the samples, DuckDB on every
    core) while the caller reads the bill and the catalog."""
    with on_cursor(con, partial(window_stats, start=start, end=end, percentile=percentile)) as f:
        yield f


def _load_stats(
    con: duckdb.DuckDBPyConnection, *, start: dt.datetime, end: dt.datetime, percentile: float
) -> tuple[dict[str, tuple[int, float | None, float | None]], dict[str, float]]:
    """One grouped pass per metric over the window ``(start, end]``: CPU percentile and
    maximum, memory percentile; and the clock hours with a CPU sample, counted in
    ``telemetry_hours`` (hours starting after ``start``, up to ``end``; exact for windows that
    start on the hour, at most one hour short otherwise). Keyed by the lower-cased resource id.
    """
    window = '"timestamp" > $start AND "timestamp" <= $end'
    params = {"start": start, "end": end, "p": percentile / 100}
    hours = dict(
        con.execute(
            "SELECT lower(resource_id), count(*) FROM telemetry_hours WHERE metric = "
            "'cpu_percent' AND hour > $start AND hour <= $end GROUP BY 1",
            {"start": start, "end": end},
        ).fetchall()
    )
    cpu: dict[str, tuple[int, float | None, float | None]] = {}
    for rid, (p, peak) in con.execute(
        "SELECT resource_id, quantile_cont(value, [$p, 1.0]) FROM telemetry "
        f"WHERE metric = 'cpu_percent' AND {window} GROUP BY resource_id",
        params,
    ).fetchall():
        key = rid.lower()
        cpu.setdefault(key, (int(hours.get(key, 0)), float(p), float(peak)))
    memory = {
        rid.lower(): float(p)
        for rid, p in con.execute(
            "SELECT resource_id, quantile_cont(value, $p) FROM telemetry "
            f"WHERE metric = 'memory_percent' AND {window} GROUP BY resource_id",
            params,
        ).fetchall()
    }
    return cpu, memory


BANDWIDTH_METRICS = ("network_in_bytes", "network_out_bytes", "disk_read_bytes", "disk_write_bytes")


def _bandwidth(
    con: duckdb.DuckDBPyConnection, *, start: dt.datetime, end: dt.datetime
) -> dict[str, tuple[float | None, float | None]]:
    """Per resource (lower-cased id) the busiest clock hour's average network (in + out) and
    disk (read + write) throughput over ``(start, end]``, in megabits per second."""
    metrics = ", ".join(f"'{m}'" for m in BANDWIDTH_METRICS)
    got = con.execute(
        "SELECT resource_id, max(bytes) FILTER (WHERE kind = 'net'), "
        "max(bytes) FILTER (WHERE kind = 'disk') FROM (SELECT resource_id, "
        "date_trunc('hour', \"timestamp\") AS h, CASE WHEN metric LIKE 'network%' THEN 'net' "
        "ELSE 'disk' END AS kind, sum(value) AS bytes FROM telemetry "
        f'WHERE metric IN ({metrics}) AND "timestamp" > ? AND "timestamp" <= ? '
        "GROUP BY ALL) GROUP BY resource_id",
        [start, end],
    ).fetchall()

    def mbps(hourly_bytes: float | None) -> float | None:
        return None if hourly_bytes is None else float(hourly_bytes) * 8 / 3600 / 1e6

    return {rid.lower(): (mbps(net), mbps(disk)) for rid, net, disk in got}

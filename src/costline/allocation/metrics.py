"""Business and usage metrics that drive ``metric`` pools (requests per team, tokens, ...).

A metrics file is a CSV (or Parquet) with the columns ``date``, ``team``, ``value`` and,
unless given on the command line, ``metric``. Loading a file replaces the metric's values on
the dates the file covers, so loading it again changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from costline.allocation.sql import lit
from costline.core.errors import BadInputError, Location
from costline.core.inputs import header_columns, need_file, reader_sql

REQUIRED = ("date", "team", "value")


def load_metrics(con: duckdb.DuckDBPyConnection, path: Path, *, metric: str | None = None) -> int:
    """Load one metrics file; returns the number of rows loaded.

    Raises:
        BadInputError: missing column, unparsable date or number, or no metric name.
    """
    need_file(path)
    raw = header_columns(
        con,
        path,
        REQUIRED,
        "the header must name date, team, value (and metric, or pass --metric)",
        what="metrics file",
    )
    cols = list(raw)
    if "metric" not in cols and not metric:
        raise BadInputError(
            "metrics file has no metric column and no metric name was given",
            location=Location(str(path), column="metric"),
            reason="missing-column",
            hint="add a metric column or pass --metric NAME",
        )

    def col(name: str) -> str:
        return '"' + raw[name].replace('"', '""') + '"'

    metric_sql = lit(metric) if metric else f"trim(CAST({col('metric')} AS VARCHAR))"
    select = (
        f"SELECT row_number() OVER () AS _row, {metric_sql} AS metric, "
        f"CAST({col('date')} AS VARCHAR) AS d, trim(CAST({col('team')} AS VARCHAR)) AS team, "
        f"CAST({col('value')} AS VARCHAR) AS v FROM {reader_sql(path)}"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _m_raw AS {select}")
    for column, test in (
        ("date", "d IS NULL OR try_cast(d AS DATE) IS NULL"),
        ("value", "v IS NULL OR try_cast(v AS DOUBLE) IS NULL"),
        ("team", "team IS NULL OR team = ''"),
        ("metric", "metric IS NULL OR metric = ''"),
    ):
        bad = con.execute(f"SELECT _row, d, team, v FROM _m_raw WHERE {test} LIMIT 1").fetchone()
        if bad:
            value = {"date": bad[1], "team": bad[2], "value": bad[3], "metric": None}[column]
            raise BadInputError(
                f"{column} {value!r} is not valid",
                location=Location(str(path), row=int(bad[0]), column=column, value=value),
                reason="unparsable",
                hint={
                    "date": "write dates as YYYY-MM-DD",
                    "value": "write plain numbers such as 1234.5",
                    "team": "every row needs a team id from owners.yaml",
                    "metric": "every row needs a metric name",
                }[column],
            )
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "DELETE FROM allocation_metrics m USING (SELECT DISTINCT metric, CAST(d AS DATE) AS d "
            "FROM _m_raw) r WHERE m.metric = r.metric AND m.date = r.d"
        )
        con.execute(
            "INSERT INTO allocation_metrics SELECT metric, CAST(d AS DATE), team, "
            f"CAST(v AS DOUBLE), {lit(str(path))} FROM _m_raw"
        )
        n = con.execute("SELECT count(*) FROM _m_raw").fetchone()[0]  # type: ignore[index]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(n)

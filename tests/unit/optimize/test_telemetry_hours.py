"""``telemetry_hours`` stays equal to the distinct clock hours of the samples through every
load (a reload replacing a span, another metric, a legacy workspace without the table)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb

from costline.optimize import telemetry

T0 = dt.datetime(2026, 10, 1)


def write(path: Path, rows: list[tuple[str, dt.datetime, str, float]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["resource_id", "timestamp", "metric", "value"])
        for rid, ts, metric, value in rows:
            w.writerow([rid, ts.isoformat() + "Z", metric, value])
    return path


def hours_table(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str, dt.datetime]]:
    return set(con.execute("SELECT resource_id, metric, hour FROM telemetry_hours").fetchall())


def hours_of_samples(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str, dt.datetime]]:
    return set(
        con.execute(
            "SELECT DISTINCT resource_id, metric, date_trunc('hour', \"timestamp\") FROM telemetry"
        ).fetchall()
    )


def test_hours_follow_every_load(tmp_path: Path) -> None:
    con = duckdb.connect()
    every_20_min = [T0 + dt.timedelta(minutes=20 * k) for k in range(30)]  # 10 hours
    first = write(
        tmp_path / "a.csv",
        [("i-1", t, "cpu_percent", 5.0) for t in every_20_min]
        + [("i-2", t, "memory_percent", 40.0) for t in every_20_min[:6]],
    )
    telemetry.load_telemetry(con, first)
    assert len([h for h in hours_table(con) if h[0] == "i-1"]) == 10
    assert hours_table(con) == hours_of_samples(con)
    # a reload of hours 2-4 only, now with a gap: hour 3 disappears, the rest stays
    again = write(
        tmp_path / "b.csv",
        [("i-1", T0 + dt.timedelta(hours=2), "cpu_percent", 7.0)]
        + [("i-1", T0 + dt.timedelta(hours=4, minutes=40), "cpu_percent", 7.0)],
    )
    telemetry.load_telemetry(con, again)
    got = sorted(h[2] for h in hours_table(con) if h[0] == "i-1")
    assert T0 + dt.timedelta(hours=3) not in got and len(got) == 9
    assert hours_table(con) == hours_of_samples(con)


def test_a_workspace_without_the_table_gets_it_built(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute(telemetry.TELEMETRY_DDL)
    con.execute(
        "INSERT INTO telemetry VALUES ('i-9', TIMESTAMP '2026-10-01 05:30', 'cpu_percent', 1, "
        "'old'), ('i-9', TIMESTAMP '2026-10-01 05:45', 'cpu_percent', 1, 'old')"
    )
    telemetry.ensure_table(con)
    assert hours_table(con) == {("i-9", "cpu_percent", dt.datetime(2026, 10, 1, 5))}

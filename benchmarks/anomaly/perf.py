"""Anomaly detection speed: 10,000 daily series × 90 days, end to end, vs the bare GROUP BY.

Builds (once, reused) a workspace whose cost table holds 10,000 resources × (28 + 90) days
(1.18M rows: a weekly pattern, noise, and a spike on one day for 1 % of the resources),
configures one monitor per ``ResourceId`` (10,000 series), and times, each in a fresh subprocess:

* ``detect``: ``Workspace.detect_anomalies`` evaluating the last 90 days after 28 days of
  history (reading the series,
  scoring every point, gates, opening and resolving anomalies with their root causes);
* ``groupby``: the bare DuckDB query that reads the same daily series (the floor of any
  detector that reads the store).

Target (issue #4): 10,000 series × 90 days scored in ≤ 30 s on this 2-core machine. Usage::

    .venv/bin/python benchmarks/anomaly/perf.py [--series 10000] [--days 90] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import yaml

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
START = "2026-06-03"
WARMUP = 28  # days of history before the 90 evaluated (a series with no past is "new")


def build(root: Path, series: int, days: int) -> Path:
    from costline.schema.charge_ids import assign_charge_ids
    from costline.workspace import Workspace

    marker = root / "rows.txt"
    days += WARMUP
    if marker.exists() and marker.read_text() == f"{series}x{days}":
        return root
    if root.exists():
        import shutil

        shutil.rmtree(root)
    ws = Workspace.init(root)
    doc = yaml.safe_load((root / "costline.yaml").read_text())
    doc["anomalies"] = {
        "monitors": [{"id": "resource", "by": ["ResourceId"], "root_cause": ["ServiceName"]}]
    }
    (root / "costline.yaml").write_text(yaml.safe_dump(doc))
    con = duckdb.connect(str(ws.database_path))
    # every column but x_ChargeId, which the cost table gives each row on insert
    cols = [r[0] for r in con.execute("DESCRIBE cost").fetchall() if r[0] != "x_ChargeId"]
    day = f"DATE '{START}' + CAST(d AS INTEGER)"
    base = "(20 + hash(r, 1) % 500)"
    weekly = f"(CASE WHEN dayofweek({day}) IN (0, 6) THEN 0.6 ELSE 1.0 END)"
    noise = "(0.9 + (hash(r, d) % 200) / 1000.0)"
    spike = f"(CASE WHEN r % 100 = 0 AND d = {days - 10} THEN 6 ELSE 1 END)"
    values = {
        "x_Provider": "'aws'",
        "BillingAccountId": "'payer'",
        "BillingCurrency": "'USD'",
        "BillingPeriodStart": f"CAST(date_trunc('month', {day}) AS TIMESTAMP)",
        "BillingPeriodEnd": f"CAST(date_trunc('month', {day}) + INTERVAL 1 MONTH AS TIMESTAMP)",
        "ChargePeriodStart": f"CAST({day} AS TIMESTAMP)",
        "ChargePeriodEnd": f"CAST({day} AS TIMESTAMP) + INTERVAL 1 DAY",
        "ChargeCategory": "'Usage'",
        "ChargeFrequency": "'Usage-Based'",
        "ServiceName": "'svc' || CAST(r % 8 AS VARCHAR)",
        "ResourceId": "'res-' || CAST(r AS VARCHAR)",
        "EffectiveCost": f"CAST({base} * {weekly} * {noise} * {spike} AS DECIMAL(38, 10))",
        "BilledCost": f"CAST({base} * {weekly} * {noise} * {spike} AS DECIMAL(38, 10))",
    }
    select = ", ".join(values.get(c, "NULL") for c in cols)
    names = ", ".join(f'"{c}"' for c in cols)
    con.execute(
        f"INSERT INTO cost ({names}) SELECT {select} FROM range({series}) a(r), range({days}) b(d)"
    )
    assign_charge_ids(con, "TRUE")  # as ingest does (schema/charge_ids.py)
    con.execute("CHECKPOINT")
    con.close()
    marker.write_text(f"{series}x{days}")
    return root


def child(kind: str, root: Path, out: Path) -> None:
    t0 = time.perf_counter()
    if kind == "detect":
        from costline.workspace import Workspace

        ws = Workspace.open(root)
        ws.query("SELECT 1")  # open the store once, as a CLI call would
        with ws.warehouse() as wh:
            wh.con.execute("DROP TABLE IF EXISTS anomalies")
            wh.con.execute("DROP TABLE IF EXISTS anomaly_feedback")
        t0 = time.perf_counter()
        since = dt.date.fromisoformat(START) + dt.timedelta(days=WARMUP)
        report = ws.detect_anomalies(since=since.isoformat())
        result = {"series": report.series, "points": report.points, "opened": len(report.opened)}
    else:
        con = duckdb.connect(str(root / "costline.duckdb"), read_only=True)
        rows = con.execute(
            "SELECT ResourceId, list(d ORDER BY d), list(v ORDER BY d) FROM (SELECT ResourceId, "
            "CAST(ChargePeriodStart AS DATE) AS d, CAST(SUM(EffectiveCost) AS DOUBLE) AS v "
            "FROM cost GROUP BY ALL) GROUP BY 1"
        ).fetchall()
        result = {"series": len(rows)}
    result["seconds"] = time.perf_counter() - t0
    out.write_text(json.dumps(result))


def run(kind: str, root: Path) -> dict[str, float]:
    out = DATA / f"anomaly-perf-{kind}.json"
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, "--root", str(root), "--out", str(out)]
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{kind} failed with status {status}")
    data: dict[str, float] = json.loads(out.read_text())
    data["rss_mib"] = usage.ru_maxrss / 1024
    return data


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", type=int, default=10_000)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--child")
    p.add_argument("--root", type=Path)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    if args.child:
        child(args.child, args.root, args.out)
        return
    DATA.mkdir(exist_ok=True)
    root = build(DATA / f"anomaly-{args.series}x{args.days}", args.series, args.days)
    runs: dict[str, list[dict[str, float]]] = {"groupby": [], "detect": []}
    for _ in range(args.repeat):
        for kind in runs:
            runs[kind].append(run(kind, root))
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    detect = runs["detect"][-1]
    print(
        json.dumps(
            {
                "series": args.series,
                "days": args.days,
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "duckdb": duckdb.__version__,
                "detect_s": round(med["detect"], 2),
                "groupby_s": round(med["groupby"], 2),
                "ratio": round(med["detect"] / med["groupby"], 2),
                "detect_rss_mib": round(max(r["rss_mib"] for r in runs["detect"])),
                "scored_series": detect["series"],
                "scored_points": detect["points"],
                "opened": detect["opened"],
                "target_s": 30,
                "met": med["detect"] <= 30,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

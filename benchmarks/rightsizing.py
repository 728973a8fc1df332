"""Rightsizing benchmark: costline rightsizing vs a plain DuckDB percentile query, side by side.

Builds (once, reused) a workspace whose database holds N EC2 instances (default 10,000) billed
daily for 14 days (a dozen common types in us-east-1, 10 % below list) and 14 days of
5-minute ``cpu_percent`` samples per instance (N × 4,032 rows: 40.3M at N = 10,000) built in
DuckDB SQL; then runs, each in a fresh subprocess:

* ``costline``: ``Workspace.recommend_rightsizing()`` — the whole command: the bill's
  resources and effective rates, the percentile/hours/max pass over the telemetry window,
  the catalog load and the numpy candidate search for every instance;
* ``sql``: ``SELECT resource_id, quantile_cont(value, 0.95) FROM telemetry WHERE metric =
  'cpu_percent' GROUP BY 1`` over the same samples.

The issue's target is costline ≤ 1.5 × the plain query. Prints JSON (wall time, ratio, peak
RSS). Usage::

    .venv/bin/python benchmarks/rightsizing.py                    # full size, 10,000 instances
    .venv/bin/python benchmarks/rightsizing.py --instances 200    # smoke, seconds
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import duckdb
from harness import build_in_child, machine, medians, timed_child

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
DAYS = 14
SAMPLES_PER_DAY = 288  # every 5 minutes
TYPES = (
    "m5.large",
    "m5.xlarge",
    "m5.2xlarge",
    "m5.4xlarge",
    "c5.xlarge",
    "c5.2xlarge",
    "r5.large",
    "r5.xlarge",
    "m6i.xlarge",
    "m6i.2xlarge",
    "t3.large",
    "m6g.xlarge",
)
PLAIN_SQL = (
    "SELECT resource_id, quantile_cont(value, 0.95) FROM telemetry "
    "WHERE metric = 'cpu_percent' GROUP BY 1"
)


def build(root: Path, instances: int) -> None:
    """A workspace with the bill and the telemetry (skipped when already built)."""
    from costline.optimize import telemetry
    from costline.optimize.pricing import load_catalog
    from costline.workspace import Workspace

    marker = root / "built.json"
    done = json.loads(marker.read_text()) if marker.exists() else {}
    if done.get("instances") == instances and done.get("hours") == 1:
        return
    shutil.rmtree(root, ignore_errors=True)
    ws = Workspace.init(root)
    catalog = load_catalog()
    prices = ", ".join(
        f"('{t}', {catalog.price('aws', t, 'us-east-1').usd_per_hour})"  # type: ignore[union-attr]
        for t in TYPES
    )
    with ws.warehouse() as wh:
        con = wh.con
        telemetry.ensure_table(con)
        con.execute(f"CREATE TEMP TABLE types AS SELECT * FROM (VALUES {prices}) t(name, usd)")
        con.execute(
            "INSERT INTO cost BY NAME SELECT 'aws' AS x_Provider, '111' AS BillingAccountId, "
            "'222' AS SubAccountId, 'Usage' AS ChargeCategory, 'USD' AS BillingCurrency, "
            "'us-east-1' AS RegionId, 'Amazon EC2' AS ServiceName, "
            "printf('i-%08d', i) AS ResourceId, t.name AS x_InstanceType, "
            "TIMESTAMP '2026-10-01' + to_days(CAST(d AS INTEGER)) AS ChargePeriodStart, "
            "TIMESTAMP '2026-10-01' + to_days(CAST(d AS INTEGER) + 1) AS ChargePeriodEnd, "
            "CAST(24 AS DECIMAL(38, 10)) AS PricingQuantity, "
            "CAST(t.usd * 24 * 0.9 AS DECIMAL(38, 10)) AS EffectiveCost, "
            "CAST(t.usd * 24 AS DECIMAL(38, 10)) AS BilledCost "
            f"FROM range({instances}) r(i), range({DAYS}) s(d), "
            f"(SELECT name, usd, row_number() OVER () - 1 AS k FROM types) t "
            f"WHERE t.k = i % {len(TYPES)}"
        )
        # CPU of instance i: a base of 2–60 % (by i) plus a daily wave and some noise
        con.execute(
            "INSERT INTO telemetry SELECT printf('i-%08d', i), "
            "TIMESTAMP '2026-10-01' + to_minutes(CAST(5 * s AS INTEGER)), 'cpu_percent', "
            "least(100, 2 + (i % 30) * 2 * (1 + 0.3 * sin(s / 288.0 * 6.2832)) + random() * 5), "
            "'bench' "
            f"FROM range({instances}) r(i), range({DAYS * SAMPLES_PER_DAY}) t(s)"
        )
        # what `costline telemetry load` keeps beside the samples (written here in SQL)
        telemetry.rebuild_hours(con)
        con.execute("CHECKPOINT")
    marker.write_text(json.dumps({"instances": instances, "hours": 1}))


def child(kind: str, root: Path, out: Path) -> None:
    t0 = time.perf_counter()
    if kind == "costline":
        from costline.workspace import Workspace

        result = Workspace.open(root).recommend_rightsizing()
        seconds = time.perf_counter() - t0
        status = result.columns.index("status")
        summary = {
            "resources": len(result.rows),
            "recommended": sum(1 for r in result.rows if r[status] == "recommended"),
        }
    else:
        con = duckdb.connect(str(root / "costline.duckdb"), read_only=True)
        got = con.execute(PLAIN_SQL).fetchall()
        seconds = time.perf_counter() - t0
        summary = {"resources": len(got)}
    # the timed part ends with the answer in hand (counting it for the report is not timed)
    summary["seconds"] = seconds
    out.write_text(json.dumps(summary))


def run(kind: str, root: Path) -> dict[str, object]:
    return timed_child(__file__, kind, root, DATA / f"rightsizing-{kind}.json")


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--instances", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--child")
    p.add_argument("--root", type=Path)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    if args.child == "build":
        build(args.root, args.instances)
        return
    if args.child:
        child(args.child, args.root, args.out)
        return
    DATA.mkdir(exist_ok=True)
    root = DATA / f"rightsizing-{args.instances}"
    build_s = build_in_child(__file__, root, "--instances", str(args.instances))
    results: dict[str, list[dict[str, object]]] = {"sql": [], "costline": []}
    for _ in range(args.repeat):
        for kind in results:
            results[kind].append(run(kind, root))
    med = medians(results)
    print(
        json.dumps(
            {
                "instances": args.instances,
                "samples": args.instances * DAYS * SAMPLES_PER_DAY,
                "machine": machine(),
                "duckdb": duckdb.__version__,
                "build_s": round(build_s, 2),
                "costline_s": round(med["costline"], 3),
                "sql_s": round(med["sql"], 3),
                "ratio": round(med["costline"] / med["sql"], 3),
                "target_ratio": 1.5,
                "costline_wall_s": [round(float(r["wall"]), 3) for r in results["costline"]],  # type: ignore[arg-type]
                "sql_wall_s": [round(float(r["wall"]), 3) for r in results["sql"]],  # type: ignore[arg-type]
                "costline_rss_mib": max(float(r["rss_mib"]) for r in results["costline"]),  # type: ignore[arg-type]
                "sql_rss_mib": max(float(r["rss_mib"]) for r in results["sql"]),  # type: ignore[arg-type]
                "resources": results["costline"][-1]["resources"],
                "recommended": results["costline"][-1]["recommended"],
                "sql_resources": results["sql"][-1]["resources"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""Benchmark: ``commitments plan`` over 60 days of hourly data for 50 commitment scopes
(issue #5 target: under 5 s).

Builds a DuckDB ``cost`` table with the columns the plan reads: 50 billing accounts (the
scopes) × 1,440 hours × ``--rows-per-hour`` hourly compute charges with a daily cycle and
noise, then times :func:`costline.optimize.commitments.plan` (the SQL aggregate, the hourly
spreading and the optimizer for every scope) and prints JSON with the seconds and the machine.

    .venv/bin/python benchmarks/commitments.py [--scopes 50] [--days 60] [--rows-per-hour 4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import duckdb

from costline.optimize.commitments import discount_for, plan

COST_TABLE = """
CREATE TABLE cost AS
SELECT *, ContractedCost AS ListCost, ContractedCost AS EffectiveCost FROM (SELECT
    'aws' AS x_Provider,
    printf('acct-%03d', s) AS BillingAccountId,
    NULL::VARCHAR AS SubAccountId, 'us-east-1' AS RegionId, 'Amazon EC2' AS ServiceName,
    'm6i.large' AS x_InstanceType, 'USD' AS BillingCurrency,
    TIMESTAMP '2026-07-01' + to_hours(h) AS ChargePeriodStart,
    TIMESTAMP '2026-07-01' + to_hours(h + 1) AS ChargePeriodEnd,
    CAST((5 + s % 7) * (1.5 + sin(2 * pi() * (h % 24) / 24)) * (0.8 + 0.4 * random())
         AS DECIMAL(38, 10)) AS ContractedCost,
    'Usage' AS ChargeCategory, NULL::VARCHAR AS ChargeClass, 'Compute' AS ServiceCategory,
    'Standard' AS PricingCategory, 'Hours' AS PricingUnit,
    NULL::VARCHAR AS CommitmentDiscountStatus, NULL::VARCHAR AS CommitmentDiscountId
FROM range(?) t(s), range(?) u(h), range(?) v(r))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scopes", type=int, default=50)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--rows-per-hour", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    con = duckdb.connect()
    con.execute("SELECT setseed(0.5)")
    con.execute(COST_TABLE, [args.scopes, args.days * 24, args.rows_per_hour])
    rows = con.execute("SELECT count(*) FROM cost").fetchone()[0]  # type: ignore[index]
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        _, out = plan(con, discount=discount_for("1y", "no-upfront"), lookback_days=args.days)
        times.append(time.perf_counter() - start)
    assert len(out) == args.scopes
    print(
        json.dumps(
            {
                "benchmark": "commitments plan",
                "scopes": args.scopes,
                "hours": args.days * 24,
                "cost_rows": rows,
                "seconds": round(min(times), 3),
                "seconds_all": [round(t, 3) for t in times],
                "target_seconds": 5,
                "machine": f"{platform.processor() or platform.machine()}, "
                f"{os.cpu_count()} cores, Python {platform.python_version()}, "
                f"duckdb {duckdb.__version__}",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

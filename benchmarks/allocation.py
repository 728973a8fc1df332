"""Allocation benchmark: costline allocate vs one hand-written DuckDB SQL, side by side.

Builds (once, reused) a synthetic month of N cost rows in a workspace database, with tags in
several spellings, 40 teams over 12 cost centers, 8 services, 30 sub-accounts, support rows
(0.05 %), shared-network rows (1 %) and the node rows of one Kubernetes cluster (0.1 %: 20 nodes,
with a month of daily pod samples); a reference rule set (tag key folding + value aliases, 30
virtual-tag rules, one proportional pool, one even pool, the Kubernetes split of the cluster with
idle kept); then runs, each in a fresh subprocess:

* ``costline``: ``Workspace.allocate`` (the whole run: checks, temp tables, write of
  ``allocated_cost``, conservation check, commit);
* ``sql``: a single hand-written DuckDB query computing the same per-cost-center totals.

It checks that both give the same per-cost-center totals (to 1/100 of a cent: costline rounds each
split part of each charge to 10 decimals, the hand SQL rounds each team's share of a pool total
once), and reports wall time, the ratio and peak RSS. Usage::

    .venv/bin/python benchmarks/allocation.py --rows 20000000
    .venv/bin/python benchmarks/allocation.py --rows 200000      # smoke, seconds
"""

from __future__ import annotations

import argparse
import json
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import yaml
from harness import build_in_child, machine, medians, timed_child

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
TEAMS = [f"team{i:02d}" for i in range(40)]
# The Kubernetes cluster: nodes of 16 vCPU / 64 GiB, pods of PODS_PER_NODE teams per node-day.
NODES = 20
NODE_CPU, NODE_GIB = 16, 64
PODS_PER_NODE = 6
POD_CPU, POD_GIB = 1.5, 6.0  # requests; usage stays below them
K8S_DAYS = 31
SERVICES = [
    "Compute",
    "Storage",
    "Database",
    "Network",
    "Analytics",
    "ML",
    "Queue",
    "Cache",
    "Support",
    "Shared Network",
]


def owners() -> dict[str, object]:
    return {
        "version": 1,
        "business_units": [
            {
                "name": "BU",
                "departments": [
                    {
                        "name": f"D{d}",
                        "teams": [
                            {"id": t, "cost_center": f"CC-{i % 12:02d}"}
                            for i, t in enumerate(TEAMS)
                            if i % 4 == d
                        ],
                    }
                    for d in range(4)
                ],
            }
        ],
    }


def rules() -> dict[str, object]:
    vt_rules: list[dict[str, object]] = [
        {"id": "team-tag", "when": {"tag": "team", "present": True}, "value_from": {"tag": "team"}}
    ]
    # 29 rules for untagged rows: by sub-account (20), by service + region prefix (9)
    for i in range(20):
        vt_rules.append(
            {
                "id": f"acct-{i}",
                "when": {"column": "SubAccountId", "equals": f"acct-{i:02d}"},
                "value": TEAMS[i],
            }
        )
    for i in range(9):
        vt_rules.append(
            {
                "id": f"svc-{i}",
                "when": {
                    "all": [
                        {"column": "ServiceName", "equals": SERVICES[i % 8]},
                        {"column": "RegionId", "prefix": f"r{i}"},
                    ]
                },
                "value": TEAMS[20 + i],
            }
        )
    return {
        "version": 1,
        "tags": {
            "keys": [
                {
                    "key": "team",
                    "aliases": ["owner"],
                    "values": {f"t{i:02d}": TEAMS[i] for i in range(40)},
                }
            ]
        },
        "virtual_tags": [{"key": "team", "rules": vt_rules}],
        "pools": [
            {
                "id": "support",
                "select": {"column": "ServiceName", "equals": "Support"},
                "method": "proportional",
            },
            {
                "id": "network",
                "select": {"column": "ServiceName", "equals": "Shared Network"},
                "method": "even",
                "to": TEAMS[:10],
            },
            {
                "id": "eks",
                "select": {"column": "ResourceId", "prefix": "node-"},
                "method": "kubernetes",
                "kubernetes": {
                    "cluster": "bench",
                    "granularity": "daily",
                    "idle": {"mode": "keep"},
                },
            },
        ],
    }


def build(root: Path, rows: int) -> Path:
    """A workspace with ``rows`` synthetic cost rows for 2026-10 (reused when present)."""
    from costline.schema.charge_ids import assign_charge_ids
    from costline.workspace import Workspace

    marker = root / "rows.txt"
    if marker.exists() and marker.read_text() == f"{rows}:k8s:ids2":
        return root
    if root.exists():
        import shutil

        shutil.rmtree(root)
    ws = Workspace.init(root)
    (root / "owners.yaml").write_text(yaml.safe_dump(owners()))
    (root / "rules" / "bench.yaml").write_text(yaml.safe_dump(rules(), sort_keys=False))
    con = duckdb.connect(str(ws.database_path))
    con.execute("SET memory_limit = '2GB'")
    # every column but x_ChargeId, which the cost table gives each row on insert
    cols = [r[0] for r in con.execute("DESCRIBE cost").fetchall() if r[0] != "x_ChargeId"]
    values = {
        "x_Provider": "'aws'",
        "BillingAccountId": "'payer'",
        "BillingCurrency": "'USD'",
        "BillingPeriodStart": "TIMESTAMP '2026-10-01'",
        "BillingPeriodEnd": "TIMESTAMP '2026-11-01'",
        "ChargePeriodStart": "TIMESTAMP '2026-10-01' + INTERVAL (i % 31) DAY",
        "ChargePeriodEnd": "TIMESTAMP '2026-10-01' + INTERVAL (i % 31) DAY + INTERVAL 1 HOUR",
        "ChargeCategory": "'Usage'",
        # 8 services share 98.95 % of the rows; shared network 1 %, support 0.05 % (a bill's
        # support and shared-network lines are few; parts = pool rows × recipients)
        "ServiceName": (
            "CASE WHEN hash(i, 1) % 10000 < 5 THEN 'Support' "
            "WHEN hash(i, 1) % 10000 < 105 THEN 'Shared Network' "
            f"ELSE {SERVICES[:8]}[1 + CAST(hash(i, 8) % 8 AS INTEGER)] END"
        ),
        "SubAccountId": "'acct-' || lpad(CAST(hash(i, 2) % 30 AS VARCHAR), 2, '0')",
        "RegionId": "'r' || CAST(hash(i, 3) % 10 AS VARCHAR) || '-x'",
        # rows 105..114 of every 10,000 (0.1 %) are the cluster's node rows
        "ResourceId": (
            "CASE WHEN hash(i, 1) % 10000 BETWEEN 105 AND 114 "
            f"THEN 'node-' || lpad(CAST(hash(i, 9) % {NODES} AS VARCHAR), 2, '0') "
            "ELSE 'res-' || CAST(hash(i, 4) % 500000 AS VARCHAR) END"
        ),
        "BilledCost": "CAST((hash(i, 5) % 100000) / 1000.0 AS DECIMAL(38, 10))",
        "EffectiveCost": "CAST((hash(i, 5) % 100000) / 1000.0 AS DECIMAL(38, 10))",
        "ListCost": "CAST((hash(i, 5) % 100000) / 800.0 AS DECIMAL(38, 10))",
        "ContractedCost": "CAST((hash(i, 5) % 100000) / 1000.0 AS DECIMAL(38, 10))",
        # 60 % tagged (in 4 spellings, a quarter with an alias value), 40 % untagged
        "Tags": (
            "CASE hash(i, 6) % 10 "
            "WHEN 0 THEN MAP {'team': 'team' || lpad(CAST(hash(i, 7) % 40 AS VARCHAR), 2, '0')} "
            "WHEN 1 THEN MAP {'Team': 'Team' || lpad(CAST(hash(i, 7) % 40 AS VARCHAR), 2, '0')} "
            "WHEN 2 THEN MAP {'team ': 't' || lpad(CAST(hash(i, 7) % 40 AS VARCHAR), 2, '0')} "
            "WHEN 3 THEN MAP {'owner': 'team' || lpad(CAST(hash(i, 7) % 40 AS VARCHAR), 2, '0'), 'env': 'prod'} "
            "WHEN 4 THEN MAP {'team': 'team' || lpad(CAST(hash(i, 7) % 40 AS VARCHAR), 2, '0'), 'env': 'dev'} "
            "WHEN 5 THEN MAP {'TEAM': 'team' || lpad(CAST(hash(i, 7) % 40 AS VARCHAR), 2, '0')} "
            "ELSE CAST(MAP() AS MAP(VARCHAR, VARCHAR)) END"
        ),
    }
    select = ", ".join(values.get(c, "NULL") for c in cols)
    names = ", ".join(f'"{c}"' for c in cols)
    con.execute(f"INSERT INTO cost ({names}) SELECT {select} FROM range({rows}) t(i)")
    assign_charge_ids(con, "TRUE")  # as ingest does (schema/charge_ids.py)
    con.execute("CHECKPOINT")
    nodes, samples = root / "k8s-nodes.csv", root / "k8s-samples.csv"
    con.execute(
        f"COPY (SELECT 'bench' AS cluster, 'node-' || lpad(CAST(n AS VARCHAR), 2, '0') AS node, "
        "'node-' || lpad(CAST(n AS VARCHAR), 2, '0') AS node_resource_id, "
        f"{NODE_CPU} AS cpu_cores, {NODE_GIB} AS memory_gib FROM range({NODES}) t(n)) "
        f"TO '{nodes}' (HEADER)"
    )
    con.execute(f"COPY ({samples_sql()}) TO '{samples}' (HEADER)")
    con.close()
    ws.load_kubernetes("nodes", nodes)
    ws.load_kubernetes("samples", samples)
    marker.write_text(f"{rows}:k8s:ids2")
    return root


def samples_sql() -> str:
    """A month of daily pod samples: per node and day, PODS_PER_NODE pods of different teams
    running all day, requesting POD_CPU cores and POD_GIB GiB (usage below the requests)."""
    return (
        "SELECT 'bench' AS cluster, 'node-' || lpad(CAST(n AS VARCHAR), 2, '0') AS node, "
        "DATE '2026-10-01' + CAST(d AS INTEGER) AS window_start, 24 AS window_hours, "
        "'ns-' || CAST(p AS VARCHAR) AS namespace, "
        "'pod-' || CAST(n AS VARCHAR) || '-' || CAST(d AS VARCHAR) || '-' || CAST(p AS VARCHAR) AS pod, "
        f"{POD_CPU} AS cpu_request, {POD_CPU / 2} AS cpu_usage, "
        f"{POD_GIB} AS memory_request_gib, {POD_GIB / 2} AS memory_usage_gib, "
        "'team' || lpad(CAST(10 + (n * 7 + d * 3 + p) % 30 AS VARCHAR), 2, '0') AS team "
        f"FROM range({NODES}) a(n), range({K8S_DAYS}) b(d), range({PODS_PER_NODE}) c(p)"
    )


def hand_sql(root: Path) -> str:
    """The same per-cost-center totals, written by hand in one query."""
    r = rules()
    where = "BillingPeriodStart = TIMESTAMP '2026-10-01'"
    spell = "COALESCE(Tags['team'], Tags['Team'], Tags['team '], Tags['TEAM'], Tags['owner'])"
    aliases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in r["tags"]["keys"][0]["values"].items())  # type: ignore[index]
    whens = []
    for rule in r["virtual_tags"][0]["rules"][1:]:  # type: ignore[index]
        w = rule["when"]
        if "column" in w:
            whens.append(f"WHEN SubAccountId = '{w['equals']}' THEN '{rule['value']}'")
        else:
            a, b = w["all"]
            whens.append(
                f"WHEN ServiceName = '{a['equals']}' AND starts_with(RegionId, '{b['prefix']}') "
                f"THEN '{rule['value']}'"
            )
    teams = ", ".join(
        f"('{t['id']}', '{t['cost_center']}')"
        for bu in owners()["business_units"]  # type: ignore[index]
        for d in bu["departments"]
        for t in d["teams"]
    )
    net = ", ".join(f"'{t}'" for t in TEAMS[:10])
    return f"""
WITH teams(team, cc) AS (VALUES {teams}),
t AS (SELECT ServiceName, EffectiveCost, lower(trim({spell})) AS raw, SubAccountId, RegionId, ResourceId
      FROM cost WHERE {where}),
v AS (SELECT ServiceName, EffectiveCost, ResourceId,
        CASE WHEN raw IS NOT NULL AND raw <> '' THEN (CASE raw {aliases} ELSE raw END)
             {" ".join(whens)} ELSE 'unallocated' END AS team FROM t),
o AS (SELECT EffectiveCost, CASE WHEN ServiceName = 'Support' THEN 'pool:support'
        WHEN ServiceName = 'Shared Network' THEN 'pool:network'
        WHEN starts_with(ResourceId, 'node-') THEN 'pool:eks'
        WHEN team IN (SELECT team FROM teams) THEN team ELSE 'unallocated' END AS owner FROM v),
-- Kubernetes: per node-day, cost C split CPU:memory by 9 per vCPU : 1 per GiB of capacity (AWS
-- split cost allocation); a pod gets C·Σ_r s_r·request_r·24h / (capacity_r·24h); idle keeps the rest.
nd AS (SELECT ResourceId AS node, CAST(ChargePeriodStart AS DATE) AS day, SUM(EffectiveCost) AS c
       FROM cost WHERE {where} AND starts_with(ResourceId, 'node-') GROUP BY 1, 2),
pod AS (SELECT node, CAST(window_start AS DATE) AS day, team, cpu_request AS cpu, memory_request_gib AS gib
        FROM read_csv('{root}/k8s-samples.csv')),
k8s AS (SELECT pod.team AS owner, SUM(CAST(nd.c AS DOUBLE) * (9.0 * {NODE_CPU} * (pod.cpu / {NODE_CPU})
          + 1.0 * {NODE_GIB} * (pod.gib / {NODE_GIB})) / (9.0 * {NODE_CPU} + 1.0 * {NODE_GIB})) AS c
        FROM nd JOIN pod ON pod.node = nd.node AND pod.day = nd.day GROUP BY 1),
k8s_idle AS (SELECT (SELECT SUM(c) FROM nd) - (SELECT SUM(c) FROM k8s) AS c),
direct AS (SELECT owner, SUM(EffectiveCost) AS c FROM o GROUP BY 1),
sup AS (SELECT c FROM direct WHERE owner = 'pool:support'),
netc AS (SELECT c FROM direct WHERE owner = 'pool:network'),
w AS (SELECT owner, c / SUM(c) OVER () AS r FROM direct
      WHERE owner NOT LIKE 'pool:%' AND owner <> 'unallocated' AND c > 0),
alloc AS (
  SELECT owner, c FROM direct WHERE owner NOT LIKE 'pool:%'
  UNION ALL SELECT w.owner, CAST((SELECT c FROM sup) * w.r AS DECIMAL(38, 10)) FROM w
  UNION ALL SELECT team, (SELECT c FROM netc) / 10 FROM teams WHERE team IN ({net})
  UNION ALL SELECT owner, CAST(c AS DECIMAL(38, 10)) FROM k8s
  UNION ALL SELECT 'idle:bench', CAST(c AS DECIMAL(38, 10)) FROM k8s_idle)
SELECT COALESCE(cc, owner) AS cost_center, SUM(c) AS amount
FROM alloc LEFT JOIN teams ON teams.team = alloc.owner GROUP BY 1 ORDER BY 1"""


def child(kind: str, root: Path, out: Path) -> None:
    t0 = time.perf_counter()
    if kind in ("costline", "costline-rerun"):
        from costline.workspace import Workspace

        ws = Workspace.open(root)
        ws.allocate("2026-10")
        # what `costline chargeback` reads (the narrow facts view, no join with cost)
        result = ws.query(
            "SELECT COALESCE(x_CostCenter, x_Team), SUM(EffectiveCost) FROM allocation_facts "
            "GROUP BY 1 ORDER BY 1"
        ).rows
    else:
        con = duckdb.connect(str(root / "costline.duckdb"), read_only=True)
        con.execute("SET memory_limit = '2GB'")
        result = con.execute(hand_sql(root)).fetchall()
    seconds = time.perf_counter() - t0
    out.write_text(json.dumps({"seconds": seconds, "totals": [[a, str(b)] for a, b in result]}))


def run(kind: str, root: Path) -> dict[str, object]:
    """One timed subprocess. ``costline`` runs on a fresh copy of the workspace (the first
    allocation of the month, which also numbers the charges); ``costline-rerun`` allocates that
    copy again (the steady state: rules changed, same bill)."""
    import shutil

    if kind == "costline":
        fresh = root.with_name(root.name + "-run")
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.copytree(root, fresh)
        root = fresh
    elif kind == "costline-rerun":
        root = root.with_name(root.name + "-run")
    return timed_child(__file__, kind, root, DATA / f"alloc-{kind}.json")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20_000_000)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument(
        "--no-rerun",
        action="store_true",
        help="skip the second costline run (the 100M-row completion check)",
    )
    p.add_argument("--child")
    p.add_argument("--root", type=Path)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    if args.child == "build":
        build(args.root, args.rows)
        return
    if args.child:
        child(args.child, args.root, args.out)
        return
    DATA.mkdir(exist_ok=True)
    root = DATA / f"alloc-{args.rows}"
    build_in_child(__file__, root, "--rows", str(args.rows))  # see harness.py
    kinds = ("sql", "costline") if args.no_rerun else ("sql", "costline", "costline-rerun")
    results: dict[str, list[dict[str, object]]] = {k: [] for k in kinds}
    for _ in range(args.repeat):
        for kind in kinds:
            results[kind].append(run(kind, root))
    cl, hs = results["costline"][-1], results["sql"][-1]
    mine = {a: Decimal(b) for a, b in cl["totals"]}  # type: ignore[union-attr]
    theirs = {a: Decimal(b) for a, b in hs["totals"]}  # type: ignore[union-attr]
    diff = {a: mine.get(a, Decimal(0)) - theirs.get(a, Decimal(0)) for a in {*mine, *theirs}}
    same = mine.keys() == theirs.keys() and all(abs(v) < Decimal("0.0001") for v in diff.values())
    med = medians(results)
    print(
        json.dumps(
            {
                "rows": args.rows,
                "machine": machine(),
                "duckdb": duckdb.__version__,
                "costline_s": med["costline"],
                "costline_rerun_s": med.get("costline-rerun"),
                "sql_s": med["sql"],
                "ratio": med["costline"] / med["sql"],
                "ratio_rerun": med["costline-rerun"] / med["sql"]
                if "costline-rerun" in med
                else None,
                "costline_rss_mib": max(
                    float(r["rss_mib"])  # type: ignore[arg-type]
                    for k in ("costline", "costline-rerun")
                    for r in results.get(k, [])
                ),
                "sql_rss_mib": max(float(r["rss_mib"]) for r in results["sql"]),  # type: ignore[arg-type]
                "same_totals": same,
                "max_abs_diff": str(max((abs(v) for v in diff.values()), default=0)),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

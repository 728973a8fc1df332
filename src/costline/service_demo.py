"""``costline demo``: generate the demo company, ingest it, and summarise what costline found.

The demo folder is ``<workspace>/demo-data``. It is regenerated only when it is missing, was
made with another seed or row count, or a file in it changed (the ground truth lists every
file's SHA-256); otherwise the existing files are ingested again, which is a no-op for files
already in the store.

Example:
    >>> DEMO_DIR
    'demo-data'
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from costline import demo
from costline.core.progress import Progress
from costline.ingest import IngestReport
from costline.storage.base import QueryResult
from costline.workspace import Workspace

DEMO_DIR = "demo-data"


def demo_dir(ws: Workspace) -> Path:
    """Where the demo company lives inside a workspace."""
    return ws.root / DEMO_DIR


def run_demo(
    ws: Workspace, *, rows: int, seed: int, progress: Progress
) -> list[tuple[str, QueryResult]]:
    """Generate (unless current), ingest ``demo-data/billing`` and return summary tables."""
    out = demo_dir(ws)
    if demo.is_current(out, rows=rows, seed=seed):
        progress.start("demo company", total=1)
        progress.finish(f"demo company in {out} is up to date (seed {seed}, rows {rows})")
    else:
        demo.generate(out, rows=rows, seed=seed, progress=progress)
    truth = demo.load_truth(out)
    report = ws.ingest([out / demo.BILLING], progress=progress)
    if report.failed:
        progress.warn(f"{len(report.failed)} demo file(s) were not ingested; see the ingest table")
    return [
        (
            "demo: totals by provider and month (checked against ground truth)",
            totals_table(ws, truth),
        ),
        (
            "demo: spend allocatable by tags (tag `team` = a known team)",
            allocatable_table(ws, truth),
        ),
        ("demo: top 10 services by effective cost", top_services_table(ws, truth)),
        ("demo: ingest", ingest_table(ws, report)),
    ]


# Rows of the demo company only: its three billing accounts (Azure's is stored qualified,
# ``/providers/Microsoft.Billing/billingAccounts/<id>``) in the demo months.
_DEMO_ROWS = (
    "list_contains(?, regexp_extract(BillingAccountId, '[^/]+$')) "
    "AND list_contains(?, strftime(BillingPeriodStart, '%Y-%m'))"
)


def _scope(truth: dict[str, Any]) -> list[list[str]]:
    accounts = sorted({t["billing_account_id"] for t in truth["totals"]})
    return [accounts, list(truth["generator"]["months"])]


def totals_table(ws: Workspace, truth: dict[str, Any]) -> QueryResult:
    """Line items, billed and effective cost per provider and month, and whether they match truth.

    Rows a row split derived from a line item (the unused part of a commitment fee) are FOCUS
    rows the raw export does not have, so they are not counted as line items.
    """
    got = ws.query(
        "SELECT x_Provider, strftime(BillingPeriodStart, '%Y-%m') AS month, "
        "count(*) FILTER (WHERE x_RowSplit IS NULL), "
        f"sum(BilledCost), sum(EffectiveCost) FROM cost WHERE {_DEMO_ROWS} "
        "GROUP BY ALL ORDER BY 1, 2",
        _scope(truth),
    )
    found = {(r[0], r[1]): r for r in got.rows}
    rows = []
    for t in truth["totals"]:
        row = found.get((t["provider"], t["month"]))
        n, billed, effective = (row[2], row[3], row[4]) if row else (0, Decimal(0), Decimal(0))
        ok = (
            n == t["rows"]
            and billed == Decimal(t["billed_cost"])
            and effective == Decimal(t["effective_cost"])
        )
        rows.append((t["provider"], t["month"], n, billed, effective, "yes" if ok else "NO"))
    return QueryResult(
        ["provider", "month", "rows", "billed_cost", "effective_cost", "matches_ground_truth"], rows
    )


def allocatable_table(ws: Workspace, truth: dict[str, Any]) -> QueryResult:
    """Share of effective cost whose ``team`` tag names a team of the demo org, per provider."""
    teams = sorted(
        t["team"] for bu in truth["hierarchy"] for d in bu["departments"] for t in d["teams"]
    )
    ok = "list_contains(?, Tags['team'])"
    return ws.query(
        "SELECT coalesce(x_Provider, 'all') AS provider, sum(EffectiveCost) AS effective_cost, "
        f"coalesce(sum(EffectiveCost) FILTER (WHERE {ok}), 0) AS allocatable_cost, "
        f"round(100 * coalesce(sum(EffectiveCost) FILTER (WHERE {ok}), 0) / sum(EffectiveCost), "
        f"1) AS allocatable_pct FROM cost WHERE {_DEMO_ROWS} "
        "GROUP BY ROLLUP (x_Provider) ORDER BY GROUPING(x_Provider), x_Provider",
        [teams, teams, *_scope(truth)],
    )


def top_services_table(ws: Workspace, truth: dict[str, Any]) -> QueryResult:
    """The ten services with the highest effective cost over the demo months."""
    return ws.query(
        "SELECT x_Provider AS provider, ServiceName AS service, ServiceCategory AS category, "
        f"sum(EffectiveCost) AS effective_cost FROM cost WHERE {_DEMO_ROWS} "
        "GROUP BY ALL ORDER BY effective_cost DESC, provider, service LIMIT 10",
        _scope(truth),
    )


def ingest_table(ws: Workspace, report: IngestReport) -> QueryResult:
    """What happened to each demo file (paths relative to the workspace)."""
    rows = [
        (_short(ws, o.file), o.status, o.kind or "", o.rows, o.message) for o in report.outcomes
    ]
    return QueryResult(["file", "status", "kind", "rows", "message"], rows)


def _short(ws: Workspace, file: str) -> str:
    path = Path(file)
    try:
        return path.relative_to(ws.root).as_posix()
    except ValueError:
        return file

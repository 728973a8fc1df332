"""``costline demo``: generate the demo company, ingest it, allocate it and summarise.

The demo folder is ``<workspace>/demo-data``. It is regenerated only when it is missing, was
made with another seed or row count, or a file in it changed (the ground truth lists every
file's SHA-256); otherwise the existing files are ingested again, which is a no-op for files
already in the store.

Then the demo's ``owners.yaml`` and ``rules/`` are copied into the workspace (only over files
the demo wrote itself: they carry a marker line), its metrics are loaded and every demo month
is allocated. The summary shows the allocation coverage, the share of spend allocated to its
true owner (against ``truth/owners.csv``) and the latest month's chargeback.

Example:
    >>> DEMO_DIR
    'demo-data'
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from costline import demo
from costline.allocation import AllocationReport
from costline.config.rules_loader import rule_files
from costline.core.progress import Progress
from costline.demo import rules as demo_rules
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
        *allocate_demo(ws, out, truth, progress),
        *anomalies_demo(ws, truth, progress),
        *optimize_demo(ws, out, truth, progress),
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


# -- allocation -----------------------------------------------------------------------------
def allocate_demo(
    ws: Workspace, out: Path, truth: dict[str, Any], progress: Progress
) -> list[tuple[str, QueryResult]]:
    """Install the demo's owners and rules, load its metrics, allocate every demo month."""
    blocker = install_allocation_inputs(ws, out)
    if blocker is not None:
        progress.warn(
            f"demo allocation skipped: {blocker} is not from the demo (it has no "
            "`costline-demo:` marker line); move it away, or run the demo in an empty folder"
        )
        return []
    months: list[str] = list(truth["generator"]["months"])
    progress.start("allocate demo months", total=len(months))
    load_allocation_inputs(ws, out, truth)
    reports = []
    for i, month in enumerate(months, start=1):
        reports.append(ws.allocate(month))
        progress.update(completed=i, detail=month)
    owner = true_owner_table(ws, out, truth)
    share = owner.rows[-1][3] if owner.rows else 0.0
    k8s = kubernetes_table(ws, truth)
    idle = (
        f"; kubernetes idle {k8s.rows[-1][3]:,.2f} ({k8s.rows[-1][4]:.1f} % of the cluster)"
        if k8s.rows
        else ""
    )
    progress.finish(
        f"allocated {len(months)} months with rules {reports[0].rules_version}: "
        f"{share:.2f} % of spend at its true owner{idle}"
    )
    latest = months[-1]
    return [
        ("demo: allocation coverage by rule, all demo months", coverage_table(ws, reports)),
        ("demo: spend allocated to its true owner (truth/owners.csv)", owner),
        (
            "demo: kubernetes split of the shared EKS cluster (idle = k8s://<cluster>/__idle__ "
            "parts, shared to the teams)",
            k8s,
        ),
        (
            f"demo: chargeback {latest} by cost center (top 10; total = the bill)",
            chargeback_table(ws, truth, latest),
        ),
    ]


def load_allocation_inputs(ws: Workspace, out: Path, truth: dict[str, Any]) -> None:
    """Load the drivers the demo's pools read: metrics, and the cluster's nodes and pods."""
    for item in truth["allocation"]["metrics"]:
        ws.load_metrics(out / item["file"], metric=item["metric"])
    for item in truth["allocation"].get("kubernetes", []):
        ws.load_kubernetes(item["kind"], out / item["file"])


_K8S_SQL = """
SELECT coalesce(strftime(BillingPeriodStart, '%Y-%m'), 'all') AS month,
       x_RuleId AS pool, sum({basis}) AS cost,
       coalesce(sum({basis}) FILTER (WHERE AllocatedResourceName = '__idle__'), 0) AS idle,
       round(100 * CAST(coalesce(sum({basis}) FILTER (WHERE AllocatedResourceName = '__idle__'),
             0) AS DOUBLE) / CAST(sum({basis}) AS DOUBLE), 1) AS idle_pct,
       count(DISTINCT AllocatedResourceId) FILTER (WHERE AllocatedResourceName <> '__idle__')
         AS namespaces,
       count(DISTINCT x_Team) FILTER (WHERE x_Team NOT LIKE 'unallocated%') AS teams,
       coalesce(sum({basis}) FILTER (WHERE x_Team LIKE 'unallocated%'), 0) AS unallocated
FROM allocated_cost WHERE {scope} AND list_contains(?, x_RuleId)
GROUP BY GROUPING SETS ((BillingPeriodStart, x_RuleId), ())
ORDER BY GROUPING(BillingPeriodStart), month, pool"""


def kubernetes_table(ws: Workspace, truth: dict[str, Any]) -> QueryResult:
    """Per month and kubernetes pool: cost, the idle capacity's part of it (shared to the
    teams as ``k8s://<cluster>/__idle__`` parts), namespaces and teams charged."""
    pools = [f"pool:{p.id}" for p in ws.rules().rules.pools if p.method == "kubernetes"]
    if not pools:
        return QueryResult(["month", "pool", "cost", "idle", "idle_pct"], [])
    basis = ws.config.allocation.basis
    sql = _K8S_SQL.format(basis=basis, scope=_DEMO_ROWS)
    return ws.query(sql, [*_scope(truth), pools])


def install_allocation_inputs(ws: Workspace, out: Path) -> Path | None:
    """Copy ``owners.yaml`` and ``rules/*.yaml`` into the workspace; the blocking file if any.

    Only files the demo wrote (marker line) are replaced; stale demo rule files are removed.
    """
    blocker = _foreign_input(ws)
    if blocker is not None:
        return blocker
    ws.owners_path.write_text((out / demo_rules.OWNERS).read_text())
    ws.rules_path.mkdir(parents=True, exist_ok=True)
    fresh = {p.name: p for p in sorted((out / demo_rules.RULES_DIR).glob("*.yaml"))}
    for old in rule_files(ws.rules_path):
        if old.name not in fresh:
            old.unlink()
    for name, src in fresh.items():
        (ws.rules_path / name).write_text(src.read_text())
    return None


def _foreign_input(ws: Workspace) -> Path | None:
    """The first owners or rules file of the workspace the demo did not write."""
    candidates = [ws.owners_path]
    if ws.rules_path.is_dir():
        candidates += rule_files(ws.rules_path)
    elif ws.rules_path.exists():
        candidates.append(ws.rules_path)
    for path in candidates:
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
        if text is not None and not demo_rules.is_demo_file(text):
            return path
    return None


_CATEGORY_ORDER = ("tags", "virtual tags", "pools", "unallocated")


def rule_category(rule: str, owner_tag_rules: set[str]) -> str:
    """How a coverage rule allocates: by the team tag, other virtual-tag rules, pools, or not.

    Example:
        >>> rule_category("pool:support", set()), rule_category("unknown-team", set())
        ('pools', 'unallocated')
    """
    if rule.startswith("pool:"):
        return "pools"
    if rule == "unknown-team" or rule.startswith("default:"):
        return "unallocated"
    return "tags" if rule in owner_tag_rules else "virtual tags"


def coverage_table(ws: Workspace, reports: Sequence[AllocationReport]) -> QueryResult:
    """Share of the demo months' cost per rule, grouped as tags / virtual tags / pools /
    unallocated (a pool part without driver data counts as unallocated)."""
    rules = ws.rules().rules
    owner_tag = {
        r.id
        for vt in rules.virtual_tags
        if vt.key == rules.owner.vtag
        for r in vt.rules
        if r.value_from is not None and r.value_from.tag == rules.owner.vtag
    }
    cost: dict[str, Decimal] = {}
    charges: dict[str, int] = {}
    for rep in reports:
        for c in rep.coverage:
            cost[c["rule"]] = cost.get(c["rule"], Decimal(0)) + (c["cost"] or Decimal(0))
            charges[c["rule"]] = charges.get(c["rule"], 0) + c["charges"]
        for u in rep.unallocated_pools:
            pool = "pool:" + u["owner"].split(":", 1)[1]
            lost = u["owner"] + " (no driver data)"
            cost[pool] = cost.get(pool, Decimal(0)) - (u["cost"] or Decimal(0))
            cost[lost] = cost.get(lost, Decimal(0)) + (u["cost"] or Decimal(0))
            charges[lost] = charges.get(lost, 0) + u["charges"]
    total = sum(cost.values(), Decimal(0))

    def pct(x: Decimal) -> float:
        return round(float(100 * x / total), 2) if total else 0.0

    def category(rule: str) -> str:
        return "unallocated" if rule.startswith("unallocated:") else rule_category(rule, owner_tag)

    rows: list[tuple[Any, ...]] = []
    for cat in _CATEGORY_ORDER:
        mine = sorted((r for r in cost if category(r) == cat), key=lambda r: (-cost[r], r))
        sub = sum((cost[r] for r in mine), Decimal(0))
        rows.append((cat, "(all)", sum(charges.get(r, 0) for r in mine), sub, pct(sub)))
        rows += [(cat, r, charges.get(r, 0), cost[r], pct(cost[r])) for r in mine]
    rows.append(("total", "", sum(charges.values()), total, pct(total)))
    return QueryResult(["allocated_by", "rule", "charges", "cost", "pct"], rows)


_TRUE_OWNER_SQL = """
WITH truth AS (
  SELECT provider, month, coalesce(account_id, '') AS account_id,
         coalesce(resource_id, '') AS resource_id, coalesce(service, '') AS service,
         any_value(true_owner) AS owner
  FROM read_csv(?, all_varchar = true) GROUP BY ALL),
a AS (
  SELECT x_Provider AS provider, strftime(BillingPeriodStart, '%Y-%m') AS month,
         coalesce(regexp_extract(SubAccountId, '[^/]+$'), '') AS account_id,
         coalesce(ResourceId, '') AS resource_id, coalesce(ServiceName, '') AS service,
         x_Team, coalesce(x_RuleId, '') AS rule, EffectiveCost
  FROM allocated_cost WHERE {scope}),
j AS (
  SELECT a.*, t.owner,
         CASE WHEN t.owner LIKE 'shared:%'
              THEN rule = 'pool:' || substr(t.owner, 8) AND x_Team NOT LIKE 'unallocated%'
              ELSE x_Team = t.owner AND rule NOT LIKE 'pool:%' END AS ok
  FROM a LEFT JOIN truth t USING (provider, month, account_id, resource_id, service))
SELECT coalesce(provider, 'all') AS provider, sum(EffectiveCost) AS effective_cost,
       coalesce(sum(EffectiveCost) FILTER (WHERE ok), 0) AS at_true_owner,
       round(100 * CAST(coalesce(sum(EffectiveCost) FILTER (WHERE ok), 0) AS DOUBLE)
             / CAST(sum(EffectiveCost) AS DOUBLE), 2) AS pct,
       coalesce(sum(EffectiveCost) FILTER (WHERE x_Team LIKE 'unallocated%'), 0) AS unallocated
FROM j GROUP BY ROLLUP (provider) ORDER BY GROUPING(provider), provider"""


def true_owner_table(ws: Workspace, out: Path, truth: dict[str, Any]) -> QueryResult:
    """Per provider: effective cost, the part allocated to its true owner, and unallocated.

    A team's charge counts when it went to that team directly; a shared charge
    (``shared:<service>``) when the pool of that name split it among teams.
    """
    path = out / truth["allocation"]["true_owners_file"]
    return ws.query(_TRUE_OWNER_SQL.format(scope=_DEMO_ROWS), [str(path), *_scope(truth)])


def chargeback_table(ws: Workspace, truth: dict[str, Any], month: str) -> QueryResult:
    """The month's chargeback: top 10 cost centers, the rest, unallocated, total and bill."""
    got = ws.chargeback(month)
    col = {c: i for i, c in enumerate(got.columns)}
    lines: dict[tuple[str, str], list[Decimal]] = {}
    for r in got.rows:
        team = str(r[col["team"]])
        cost_center = "(unallocated)" if team.startswith("unallocated") else r[col["cost_center"]]
        key = (str(cost_center), team)
        sums = lines.setdefault(key, [Decimal(0)] * 3)
        for i, name in enumerate(("direct", "shared", "total")):
            sums[i] += r[col[name]] or Decimal(0)
    named = sorted((k for k in lines if k[0] != "(unallocated)"), key=lambda k: -lines[k][2])
    rows: list[tuple[Any, ...]] = [(*k, *lines[k]) for k in named[:10]]
    rest = named[10:]
    if rest:
        sums = [sum((lines[k][i] for k in rest), Decimal(0)) for i in range(3)]
        rows.append((f"({len(rest)} more)", "", *sums))
    for k in sorted(k for k in lines if k[0] == "(unallocated)"):
        rows.append((*k, *lines[k]))
    totals = [sum((v[i] for v in lines.values()), Decimal(0)) for i in range(3)]
    rows.append(("total", "", *totals))
    bill = _bill(truth, month, ws.config.allocation.basis)
    if bill is not None:
        ok = "= total" if bill == totals[2] else "≠ total"
        rows.append(("bill", ok, None, None, bill))
    return QueryResult(["cost_center", "team", "direct", "shared", "total"], rows)


def _bill(truth: dict[str, Any], month: str, basis: str) -> Decimal | None:
    """The month's bill on the allocation basis, from the ground truth (None: not known)."""
    key = {"EffectiveCost": "effective_cost", "BilledCost": "billed_cost"}.get(basis)
    if key is None:
        return None
    return sum((Decimal(t[key]) for t in truth["totals"] if t["month"] == month), Decimal(0))


# -- anomalies ------------------------------------------------------------------------------
ANOMALY_WARMUP_DAYS = 14  # the first two weeks only build the baselines


def matches_truth(anomaly: dict[str, Any], injected: dict[str, Any]) -> bool:
    """Whether a found anomaly is an injected one: same provider, a series dimension equal to
    the injected stream's account, service or team (an Azure account may be the subscription's
    path ``/subscriptions/<id>``), and days overlapping the injected days (± 1 day)."""
    dims = anomaly["dims"]
    provider = dims.get("x_Provider")
    if provider is not None and provider != injected["provider"]:
        return False
    values = [str(v) for k, v in dims.items() if k != "x_Provider" and v]
    names = [str(injected[k]) for k in ("account_id", "service", "team") if injected.get(k)]
    if not any(v == n or v.endswith("/" + n) for v in values for n in names):
        return False
    days = [dt.date.fromisoformat(d) for d in injected["days"]]
    slack = dt.timedelta(days=1)
    return bool(
        anomaly["first_day"] <= max(days) + slack and anomaly["last_day"] >= min(days) - slack
    )


def detect_demo_anomalies(ws: Workspace, truth: dict[str, Any]) -> dict[str, Any]:
    """Run detection over the demo months (after the warm-up) and score it against the
    injected anomalies: precision, recall, F1 and detection delay."""
    first = ws.query("SELECT min(CAST(ChargePeriodStart AS DATE)) FROM cost").rows[0][0]
    since = first + dt.timedelta(days=ANOMALY_WARMUP_DAYS)
    ws.detect_anomalies(since=since.isoformat())
    res = ws.query(
        "SELECT id, monitor, dims, first_day, last_day, impact, team, root_cause FROM anomalies "
        "WHERE last_day >= ? ORDER BY first_day, id",
        [since],
    )
    found = [dict(zip(res.columns, r, strict=True)) for r in res.rows]
    for a in found:
        a["dims"] = json.loads(a["dims"])
    injected = [
        t for t in truth["anomalies"] if max(dt.date.fromisoformat(d) for d in t["days"]) >= since
    ]
    hits = [a for a in found if any(matches_truth(a, t) for t in injected)]
    detected = []
    for t in injected:
        mine = [a for a in found if matches_truth(a, t)]
        if mine:
            first_flag = min(a["first_day"] for a in mine)
            detected.append((t, (first_flag - dt.date.fromisoformat(t["days"][0])).days))
    precision = len(hits) / len(found) if found else 1.0
    recall = len(detected) / len(injected) if injected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "since": since,
        "found": found,
        "injected": injected,
        "detected": detected,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def anomalies_demo(
    ws: Workspace, truth: dict[str, Any], progress: Progress
) -> list[tuple[str, QueryResult]]:
    """Detect the demo's anomalies and show them next to the injected ones."""
    progress.start("detect anomalies", total=1)
    result = detect_demo_anomalies(ws, truth)
    progress.finish(
        f"{len(result['found'])} anomalies; {len(result['detected'])} of "
        f"{len(result['injected'])} injected found (precision {result['precision']:.2f}, "
        f"recall {result['recall']:.2f}, F1 {result['f1']:.2f})"
    )
    rows = []
    for a in result["found"]:
        match = next((t for t in result["injected"] if matches_truth(a, t)), None)
        cause = json.loads(a["root_cause"]) if a["root_cause"] else {}
        top = next(iter((cause.get("dimensions") or {}).values()), None) or [{}]
        rows.append(
            (
                a["id"],
                ", ".join(f"{k}={v}" for k, v in a["dims"].items()),
                f"{a['first_day']}..{a['last_day']}",
                Decimal(a["impact"]).quantize(Decimal("0.01")),
                a["team"] or "",
                str(top[0].get("value", "")),
                match["description"] if match else "(not injected)",
            )
        )
    return [
        (
            f"demo: anomalies since {result['since']} (F1 {result['f1']:.2f} against the "
            "injected ones)",
            QueryResult(
                ["id", "series", "days", "impact", "team", "top cause", "injected anomaly"], rows
            ),
        )
    ]


def optimize_demo(
    ws: Workspace, out: Path, truth: dict[str, Any], progress: Progress
) -> list[tuple[str, QueryResult]]:
    """Rightsizing and waste from the demo's telemetry, and the commitment portfolio."""
    from costline.demo.telemetry import SAMPLES_FILE
    from costline.optimize.commitments import NoEligibleSpendError

    progress.start("optimize", total=1)
    ws.load_telemetry(out / SAMPLES_FILE)
    rightsizing = ws.recommend_rightsizing().records()
    recommended = [r for r in rightsizing if r["status"] == "recommended"]
    waste = ws.waste()
    flagged = {r["resource_id"] for r in recommended} | {
        r[1] for r in waste.rows if r[0] == "idle-instance"
    }
    known = {t["resource_id"]: t["classification"] for t in truth.get("overprovisioned", [])}
    found = sum(1 for rid in known if rid in flagged)
    saving = sum((r["monthly_savings"] for r in recommended), Decimal(0)) + sum(
        (r[waste.columns.index("monthly_savings")] for r in waste.rows), Decimal(0)
    )
    progress.finish(
        f"{len(recommended)} rightsizing and {len(waste.rows)} waste findings, "
        f"{saving:,.2f} a month; {found} of {len(known)} oversized or idle instances found"
    )
    top = sorted(recommended, key=lambda r: -r["monthly_savings"])[:10]
    tables = [
        (
            f"demo: rightsizing, top {len(top)} of {len(recommended)} "
            f"({found} of {len(known)} oversized or idle instances found)",
            QueryResult(
                ["resource", "type", "cpu p95 %", "to", "monthly saving", "risk", "truth"],
                [
                    (
                        r["resource_id"],
                        r["current_type"],
                        r["cpu_pct"],
                        r["recommended_type"],
                        r["monthly_savings"],
                        r["risk"],
                        known.get(r["resource_id"], "normal"),
                    )
                    for r in top
                ],
            ),
        ),
        (
            "demo: idle and waste",
            QueryResult(
                ["rule", "resource", "monthly saving", "confidence", "truth"],
                [(r[0], r[1], r[7], r[8], known.get(r[1], "-")) for r in waste.rows]
                or [("(none)", "no rule matched the demo's bills and telemetry", None, "", "")],
            ),
        ),
    ]
    requests = ws.recommend_k8s_requests().records()
    cols = ["namespace", "workload", "cpu_request", "cpu_recommended", "memory_request_gib"]
    cols += ["memory_recommended_gib", "monthly_savings"]
    tables.append(
        (
            "demo: Kubernetes requests (CPU = p95 of usage, memory = peak × 1.15), top 10",
            QueryResult(cols, [tuple(r[c] for c in cols) for r in requests[:10]]),
        )
    )
    status = ws.commitments_status()
    keep = ["level", "provider", "currency", "used_cost", "unused_cost", "utilization"]
    keep += ["eligible_on_demand", "coverage"]
    tables.append(
        (
            "demo: commitments held: used, unused, share of eligible usage covered",
            QueryResult(
                keep,
                [tuple(r[c] for c in keep) for r in status.records() if r["level"] != "commitment"],
            ),
        )
    )
    try:
        plan = ws.commitments_plan(term="1y", payment="no-upfront").records()
        cols = ["provider", "billing_account", "currency", "commitment_per_hour"]
        cols += ["expected_utilization", "coverage", "monthly_savings"]
        cols += ["heuristic_monthly_savings"]
        tables.append(
            (
                "demo: commitment to buy next (1y, no upfront; heuristic = minimum hourly usage)",
                QueryResult(cols, [tuple(r[c] for c in cols) for r in plan]),
            )
        )
    except NoEligibleSpendError as exc:
        progress.warn(f"commitment plan: {exc}")
    tables += adoption_demo(ws, truth, progress)
    return tables


# The demo's nights: recommendations as of Sep 1 (August's telemetry and bill), then a night
# after the last demo day, when the bill shows what Acme did in September.
FIRST_NIGHT = dt.date(2026, 9, 1)
LAST_NIGHT = dt.date(2026, 10, 1)


def adoption_demo(
    ws: Workspace, truth: dict[str, Any], progress: Progress
) -> list[tuple[str, QueryResult]]:
    """Replay two nightly syncs (no ticket channel in the demo: record and track only) and
    report which recommendations the bill shows actioned, against the ground truth."""
    from costline.optimize.waste import DAYS_PER_MONTH

    progress.start("adoption", total=1)
    ws.tickets_sync(as_of=FIRST_NIGHT)
    ws.tickets_sync(as_of=LAST_NIGHT)
    month = FIRST_NIGHT.strftime("%Y-%m")
    detail = ws.savings_report(month, detail=True).records()
    actions = {a["resource_id"]: a for a in truth.get("actions", [])}
    found = len({r["resource_id"] for r in detail} & set(actions))
    progress.finish(
        f"{len(detail)} recommendation(s) actioned in {month}; "
        f"{found} of the {len(actions)} resources the demo changed were detected"
    )
    rules: dict[str, list[str]] = {}
    for r in detail:
        rules.setdefault(r["resource_id"], []).append(r["rule"])
    rows = []
    for r in (r for r in detail if r["counted"]):  # one row per resource
        t = actions.get(r["resource_id"])
        expected = (
            (
                (
                    Decimal(t["effective_cost_per_day_before"])
                    - Decimal(t["effective_cost_per_day_after"])
                )
                * DAYS_PER_MONTH
            ).quantize(Decimal("0.01"))
            if t
            else None
        )
        rows.append(
            (
                r["resource_id"],
                "+".join(sorted(rules[r["resource_id"]])),
                f"{r['from_state'] or ''} → {r['to_state'] or 'gone'}",
                r["action_date"],
                r["estimated_monthly"],
                r["realized_monthly"],
                expected,
                r["realized_in_month"],
            )
        )
    cols = ["resource", "rules", "change", "day", "estimated / mo", "realized / mo"]
    cols += ["truth / mo", f"saved in {month}"]
    report = ws.savings_report(month).records()
    keep = ["team", "recommended", "actioned", "adopted_pct", "actioned_estimated_monthly"]
    keep += ["realized_monthly", "realized_in_month"]
    teams = [tuple(r[c] for c in keep) for r in report if r["actioned"] or r["team"] == "TOTAL"]
    return [
        (
            f"demo: recommendations of {FIRST_NIGHT} the bill shows actioned in {month}",
            QueryResult(cols, rows),
        ),
        (
            f"demo: savings report {month}, teams that actioned something and the total",
            QueryResult(keep, teams),
        ),
    ]

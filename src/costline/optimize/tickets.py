"""The recommendation lifecycle behind ``costline tickets``: what was recommended, since when,
and where its ticket stands.

One recommendation per resource + rule, stored in the state store
(:mod:`costline.storage.state.recommendations`, table ``recommendations``); its ``id`` is a
stable hash of kind, rule and resource, so every nightly sync finds yesterday's row again.
Lifecycle (docs/how-to/tickets.md)::

    open ──(savings ≥ threshold, ticket opened)──► ticketed
    open | ticketed ──(the bill shows the change)──► actioned   (costline.optimize.adoption)
    open | ticketed ──(no longer recommended)──► expired
    open | ticketed ──(costline tickets dismiss)──► dismissed   (never ticketed again)
    expired | actioned ──(recommended again)──► open             (a new ticket)

This module is pure: it turns what the optimizers produce into rows for the store
(:func:`produced_row`), and :func:`plan` says which tickets to open, update or close; the
façade sends them (``costline.notify.tickets``) and records the answers in the store.

Example:
    >>> key = rec_id("waste", "gp2-to-gp3", "vol-1")
    >>> key == rec_id("waste", "gp2-to-gp3", "vol-1"), key.startswith("rec-"), len(key)
    (True, True, 16)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

STATUSES = ("open", "ticketed", "actioned", "dismissed", "expired")
K8S_REQUESTS = "k8s-requests"  # kind of a Kubernetes request recommendation (rule ``requests``)
COMMITMENT = "commitment"  # kind of a commitment purchase recommendation (rule ``purchase``)
UPDATE_CHANGE = Decimal("0.10")  # a ticket is updated when the estimate moves by more than this
DEFAULT_THRESHOLD = Decimal(200)
HOURS_PER_MONTH = 730

# ``costline tickets list``: the columns, in order.
LIST_COLUMNS = (
    "id",
    "kind",
    "rule",
    "resource_id",
    "team",
    "monthly_savings",
    "status",
    "ticket_key",
    "reason",
    "realized_savings",
    "last_seen",
)


def rec_id(kind: str, rule: str, resource_id: str) -> str:
    """The stable key of one resource + recommendation (``rec-`` + 12 hex digits)."""
    digest = hashlib.sha256(f"{kind}\x1f{rule}\x1f{resource_id}".encode()).hexdigest()
    return f"rec-{digest[:12]}"


@dataclass(frozen=True)
class Produced:
    """One recommendation as evaluated now (rightsizing, waste, Kubernetes requests or a
    commitment purchase)."""

    kind: str
    rule: str
    resource_id: str
    account: str | None
    monthly_savings: Decimal
    monthly_cost: Decimal | None
    details: dict[str, Any] = field(default_factory=dict)
    team: str | None = None

    @property
    def id(self) -> str:
        return rec_id(self.kind, self.rule, self.resource_id)


@dataclass(frozen=True)
class Stored:
    """One row of ``recommendations``."""

    id: str
    kind: str
    rule: str
    resource_id: str
    team: str | None
    account: str | None
    monthly_savings: Decimal
    monthly_cost: Decimal | None
    details: dict[str, Any]
    status: str
    ticket_key: str | None
    ticket_savings: Decimal | None


@dataclass(frozen=True)
class Action:
    """What a sync does to one recommendation: ``open``, ``update`` or ``close`` its ticket,
    or ``retire`` (a status change with no ticket to close). ``status`` is the status after."""

    verb: str
    rec: Stored
    status: str
    note: str = ""


# -- converting what the optimizers produce ------------------------------------------------
def from_rightsizing(recs: Iterable[Any]) -> list[Produced]:
    """:class:`costline.optimize.rightsizing.Recommendation` → :class:`Produced`; only those
    with status ``recommended`` (a candidate type) count."""
    out = []
    for r in recs:
        c = r.candidate
        if r.status != "recommended" or c is None:
            continue
        u = r.usage
        cost = r.current_hourly * HOURS_PER_MONTH if r.current_hourly is not None else None
        details = {
            "provider": u.provider,
            "region": u.region,
            "current_type": u.instance_type,
            "recommended_type": c.spec.name,
            "effort": c.effort,
            "price_basis": c.basis,
            "risk": r.risk,
            "confidence": r.confidence,
            "currency": u.currency,
        }
        out.append(
            Produced(
                "rightsizing",
                "rightsize",
                u.resource_id,
                u.account,
                c.monthly_savings,
                cost,
                details,
            )
        )
    return out


def from_waste(findings: Iterable[Any]) -> list[Produced]:
    """:class:`costline.optimize.waste.Finding` → :class:`Produced`."""
    return [
        Produced(
            "waste",
            f.rule,
            f.resource_id,
            f.account,
            f.monthly_savings,
            f.monthly_cost,
            {
                "provider": f.provider,
                "service": f.service,
                "region": f.region,
                "confidence": f.confidence,
                "evidence": f.evidence,
            },
        )
        for f in findings
    ]


def k8s_resource_id(cluster: str, namespace: str, workload: str, container: str) -> str:
    """The resource of a Kubernetes request recommendation: ``cluster/namespace/workload/
    container``, or ``cluster/namespace/workload`` when the samples name no container
    (Kubernetes names hold no ``/``, so the key splits back unambiguously).

    Example:
        >>> k8s_resource_id("prod", "shop", "api", "app"), k8s_resource_id("prod", "shop", "api", "")
        ('prod/shop/api/app', 'prod/shop/api')
    """
    return "/".join([cluster, namespace, workload] + ([container] if container else []))


def from_k8s_requests(recs: Iterable[Any]) -> list[Produced]:
    """:class:`costline.optimize.k8s_requests.Recommendation` → :class:`Produced` (kind
    ``k8s-requests``, rule ``requests``); only ``reduce`` ones that save money. The monthly
    cost is what the current requests cost at the cluster's unit prices (pods × 730 h), the
    details hold the current and recommended requests, the prices and the samples' window end
    (adoption tracking needs them)."""
    out = []
    for r in recs:
        if r.status != "reduce" or r.monthly_savings is None or r.monthly_savings <= 0:
            continue
        p_cpu, p_mem = r.cpu_price_per_core_hour, r.memory_price_per_gib_hour
        cost = None
        if p_cpu is not None and p_mem is not None:
            per_pod = _dec(r.cpu_request) * p_cpu + _dec(r.memory_request_gib) * p_mem
            cost = (per_pod * _dec(r.pods) * HOURS_PER_MONTH).quantize(Decimal("0.01"))
        details = {
            "cluster": r.cluster,
            "namespace": r.namespace,
            "workload": r.workload,
            "container": r.container,
            "pods": r.pods,
            "cpu_request": r.cpu_request,
            "cpu_p95": r.cpu_p95,
            "cpu_recommended": r.cpu_recommended,
            "memory_request_gib": r.memory_request_gib,
            "memory_max_gib": r.memory_max_gib,
            "memory_recommended_gib": r.memory_recommended_gib,
            "cpu_price_per_core_hour": p_cpu,
            "memory_price_per_gib_hour": p_mem,
            "window_end": r.window_end,
        }
        rid = k8s_resource_id(r.cluster, r.namespace, r.workload, r.container)
        out.append(Produced(K8S_REQUESTS, "requests", rid, None, r.monthly_savings, cost, details))
    return out


def from_commitment_plan(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    option: Mapping[str, Any],
    sized_until: Any,
) -> list[Produced]:
    """The rows of :func:`costline.optimize.commitments.plan` → :class:`Produced` (kind
    ``commitment``, rule ``purchase``), those that save money. The resource is the scope key,
    its values then the currency (``aws/123456789012/USD``); details hold the scope, the
    purchase ``option`` (term, payment, offering, lookback), the hourly commitment, the
    discount, break-even and expected utilization, and ``sized_until``, the end of the
    lookback the plan was sized on. ``scope`` is a list of ``[name, value]`` pairs in the
    plan's order (``[["provider", "aws"], ["billing_account", "123456789012"]]``). No team: a
    commitment is bought for the organization."""
    cols = list(columns)
    names = cols[: cols.index("currency")]
    out = []
    for row in rows:
        got = dict(zip(cols, row, strict=True))
        if got["monthly_savings"] is None or got["monthly_savings"] <= 0:
            continue
        scope = [[n, got[n]] for n in names]  # pairs: the plan's order survives JSON
        rid = "/".join([*(str(v) for _, v in scope), str(got["currency"])])
        details = {
            "scope": scope,
            "currency": got["currency"],
            **option,
            "discount": got["discount"],
            "commitment_per_hour": got["commitment_per_hour"],
            "covers_on_demand_per_hour": got["covers_on_demand_per_hour"],
            "expected_utilization": got["expected_utilization"],
            "coverage": got["coverage"],
            "break_even_utilization": got["break_even_utilization"],
            "granularity": got["granularity"],
            "sized_until": sized_until,
        }
        account = got.get("billing_account")
        out.append(
            Produced(
                COMMITMENT,
                "purchase",
                rid,
                None if account is None else str(account),
                got["monthly_savings"],
                None,
                details,
            )
        )
    return out


def _dec(x: Any) -> Decimal:
    return Decimal(0) if x is None else Decimal(repr(float(x)))


# -- to and from the store -----------------------------------------------------------------
def produced_row(p: Produced) -> dict[str, Any]:
    """What the store records of one produced recommendation (details as plain JSON values).

    Example:
        >>> import datetime as dt
        >>> row = produced_row(Produced("waste", "r", "vol-1", "111", Decimal(5), None,
        ...     {"day": dt.date(2026, 10, 1)}))
        >>> row["id"] == rec_id("waste", "r", "vol-1"), row["details"]
        (True, {'day': '2026-10-01'})
    """
    return {
        "id": p.id,
        "kind": p.kind,
        "rule": p.rule,
        "resource_id": p.resource_id,
        "team": p.team,
        "account": p.account,
        "monthly_savings": p.monthly_savings,
        "monthly_cost": p.monthly_cost,
        "details": json.loads(json.dumps(p.details, default=str, sort_keys=True)),
    }


def stored_from(recs: Iterable[Any]) -> list[Stored]:
    """Stored recommendations (:class:`costline.storage.state.Recommendation` or anything with
    the same attributes) as :class:`Stored`, in the given order."""
    return [
        Stored(
            id=r.id,
            kind=r.kind,
            rule=r.rule,
            resource_id=r.resource_id,
            team=r.team,
            account=r.account,
            monthly_savings=r.monthly_savings,
            monthly_cost=r.monthly_cost,
            details=dict(r.details or {}),
            status=r.status,
            ticket_key=r.ticket_key,
            ticket_savings=r.ticket_savings,
        )
        for r in recs
    ]


def listing(recs: Iterable[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """``costline tickets list``: :data:`LIST_COLUMNS` and one row per stored recommendation,
    in the given order (the store lists the largest savings first)."""
    cols = list(LIST_COLUMNS)
    return cols, [tuple(getattr(r, c) for c in cols) for r in recs]


def changed(old: Decimal | None, new: Decimal) -> bool:
    """Whether the estimate moved by more than 10 % of what the ticket shows.

    Example:
        >>> changed(Decimal(300), Decimal(331)), changed(Decimal(300), Decimal(330))
        (True, False)
    """
    if old is None:
        return True
    if old == 0:
        return new != 0
    return abs(new - old) > abs(old) * UPDATE_CHANGE


def plan(
    recs: Sequence[Stored],
    produced_ids: set[str],
    *,
    threshold: Decimal,
    actioned: Mapping[str, str] | None = None,
    waiting: set[str] | None = None,
) -> list[Action]:
    """What this sync does, in order: opens (largest savings first), updates, closes.

    ``actioned``: recommendation id → what the bill shows was done
    (:func:`costline.optimize.adoption.detect`); those close as ``actioned`` whether or not
    they are still recommended (a resource rightsized one step may be recommended again: it
    gets a new ticket next time). Others no longer recommended close as ``expired``, except
    those ``waiting``: their resource is missing from the newest bill day but not long enough
    to count as gone; they keep their status until it either comes back or is gone.
    """
    done = actioned or {}
    opens, updates, closes = [], [], []
    for r in recs:
        if r.id in done and r.status in ("open", "ticketed"):
            verb = "close" if r.ticket_key else "retire"
            closes.append(Action(verb, r, "actioned", done[r.id]))
        elif r.id in produced_ids:
            if r.status == "open" and r.monthly_savings >= threshold:
                opens.append(Action("open", r, "ticketed"))
            elif r.status == "ticketed" and changed(r.ticket_savings, r.monthly_savings):
                updates.append(Action("update", r, "ticketed"))
        elif r.status in ("open", "ticketed") and r.id not in (waiting or set()):
            verb = "close" if r.ticket_key else "retire"
            closes.append(Action(verb, r, "expired", "costline no longer recommends this"))
    return [*opens, *updates, *closes]

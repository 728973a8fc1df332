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
    """One recommendation as evaluated now (rightsizing or waste)."""

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

"""The recommendation store behind ``costline tickets``: what was recommended, since when, and
where its ticket stands.

One row per resource + recommendation in the DuckDB table ``recommendations``; its ``id`` is a
stable hash of kind, rule and resource, so every nightly sync finds yesterday's row again.
Lifecycle (docs/how-to/tickets.md)::

    open ──(savings ≥ threshold, ticket opened)──► ticketed
    open | ticketed ──(the bill shows the change)──► actioned   (costline.optimize.adoption)
    open | ticketed ──(no longer recommended)──► expired
    open | ticketed ──(costline tickets dismiss)──► dismissed   (never ticketed again)
    expired | actioned ──(recommended again)──► open             (a new ticket)

This module is pure SQL and decisions: :func:`plan` says which tickets to open, update or
close; the façade sends them (``costline.notify.tickets``) and records the answers with
:func:`mark_ticketed`, :func:`mark_updated` and :func:`mark_expired`.

Example:
    >>> key = rec_id("waste", "gp2-to-gp3", "vol-1")
    >>> key == rec_id("waste", "gp2-to-gp3", "vol-1"), key.startswith("rec-"), len(key)
    (True, True, 16)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costline.core.errors import ConfigError

STATUSES = ("open", "ticketed", "actioned", "dismissed", "expired")
UPDATE_CHANGE = Decimal("0.10")  # a ticket is updated when the estimate moves by more than this
DEFAULT_THRESHOLD = Decimal(200)
HOURS_PER_MONTH = 730

TABLE_SQL = """CREATE TABLE IF NOT EXISTS recommendations (
  id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, rule VARCHAR NOT NULL,
  resource_id VARCHAR NOT NULL, team VARCHAR, account VARCHAR,
  monthly_savings DECIMAL(38, 10) NOT NULL, monthly_cost DECIMAL(38, 10), details JSON,
  first_seen TIMESTAMP NOT NULL, last_seen TIMESTAMP NOT NULL, status VARCHAR NOT NULL,
  ticket_key VARCHAR, ticket_savings DECIMAL(38, 10), reason VARCHAR,
  realized_savings DECIMAL(38, 10), updated_at TIMESTAMP NOT NULL)"""
COLUMNS = (
    "id",
    "kind",
    "rule",
    "resource_id",
    "team",
    "account",
    "monthly_savings",
    "monthly_cost",
    "details",
    "first_seen",
    "last_seen",
    "status",
    "ticket_key",
    "ticket_savings",
    "reason",
    "realized_savings",
    "updated_at",
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


def ensure_table(con: Any) -> None:
    con.execute(TABLE_SQL)


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


# -- the store -----------------------------------------------------------------------------
def upsert(con: Any, produced: Sequence[Produced], now: dt.datetime) -> None:
    """Record what was recommended now: new rows start ``open``; known rows get the new
    estimate and ``last_seen``; an ``expired`` / ``actioned`` one recommended again is
    reopened (its old ticket is closed, so it gets a new one)."""
    ensure_table(con)
    rows = [
        (
            p.id,
            p.kind,
            p.rule,
            p.resource_id,
            p.team,
            p.account,
            p.monthly_savings,
            p.monthly_cost,
            json.dumps(p.details, default=str, sort_keys=True),
            now,
            now,
            "open",
            now,
        )
        for p in produced
    ]
    if not rows:
        return
    reopen = "recommendations.status IN ('expired', 'actioned')"
    con.executemany(
        "INSERT INTO recommendations (id, kind, rule, resource_id, team, account, "
        "monthly_savings, monthly_cost, details, first_seen, last_seen, status, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
        "team = COALESCE(excluded.team, recommendations.team), "
        "account = excluded.account, monthly_savings = excluded.monthly_savings, "
        "monthly_cost = excluded.monthly_cost, details = excluded.details, "
        "last_seen = excluded.last_seen, updated_at = excluded.updated_at, "
        f"status = CASE WHEN {reopen} THEN 'open' ELSE recommendations.status END, "
        f"ticket_key = CASE WHEN {reopen} THEN NULL ELSE recommendations.ticket_key END, "
        f"ticket_savings = CASE WHEN {reopen} THEN NULL "
        "ELSE recommendations.ticket_savings END, "
        f"realized_savings = CASE WHEN {reopen} THEN NULL "
        "ELSE recommendations.realized_savings END, "
        f"reason = CASE WHEN {reopen} THEN NULL ELSE recommendations.reason END, "
        f"first_seen = CASE WHEN {reopen} THEN excluded.first_seen "
        "ELSE recommendations.first_seen END",
        rows,
    )


def stored(con: Any, *, status: str | None = None) -> list[Stored]:
    """Rows of ``recommendations`` (all, or one status), largest savings first."""
    ensure_table(con)
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    got = con.execute(
        "SELECT id, kind, rule, resource_id, team, account, monthly_savings, monthly_cost, "
        "details, status, ticket_key, ticket_savings FROM recommendations "
        f"{where} ORDER BY monthly_savings DESC, id",
        params,
    ).fetchall()
    return [
        Stored(
            id=r[0],
            kind=r[1],
            rule=r[2],
            resource_id=r[3],
            team=r[4],
            account=r[5],
            monthly_savings=r[6],
            monthly_cost=r[7],
            details=json.loads(r[8]) if r[8] else {},
            status=r[9],
            ticket_key=r[10],
            ticket_savings=r[11],
        )
        for r in got
    ]


def listing(con: Any, *, status: str | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """``costline tickets list``: columns and rows, largest savings first."""
    ensure_table(con)
    if status is not None and status not in STATUSES:
        raise ConfigError(f"unknown status {status!r}", hint=f"use one of: {', '.join(STATUSES)}")
    cols = [
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
    ]
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    rows = con.execute(
        f"SELECT {', '.join(cols)} FROM recommendations {where} ORDER BY monthly_savings DESC, id",
        params,
    ).fetchall()
    return cols, rows


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


def mark_ticketed(con: Any, rec: Stored, key: str, now: dt.datetime) -> None:
    con.execute(
        "UPDATE recommendations SET status = 'ticketed', ticket_key = ?, ticket_savings = ?, "
        "updated_at = ? WHERE id = ?",
        [key, rec.monthly_savings, now, rec.id],
    )


def mark_updated(con: Any, rec: Stored, now: dt.datetime) -> None:
    con.execute(
        "UPDATE recommendations SET ticket_savings = ?, updated_at = ? WHERE id = ?",
        [rec.monthly_savings, now, rec.id],
    )


def mark_expired(con: Any, action: Action, now: dt.datetime) -> None:
    """``expired``: no longer recommended (an ``actioned`` one is recorded by
    :func:`costline.optimize.adoption.record`, with its realized savings)."""
    con.execute(
        "UPDATE recommendations SET status = 'expired', reason = ?, realized_savings = NULL, "
        "updated_at = ? WHERE id = ?",
        [action.note or "no longer recommended", now, action.rec.id],
    )


def dismiss(con: Any, rec: str, reason: str, now: dt.datetime) -> Stored:
    """Dismiss one recommendation for good (a later sync never tickets it).

    Raises:
        ConfigError: no such id, or an empty reason.
    """
    ensure_table(con)
    if not reason.strip():
        raise ConfigError("a dismissal needs a reason", hint="pass --reason '...'")
    found = [r for r in stored(con) if r.id == rec]
    if not found:
        raise ConfigError(
            f"no recommendation {rec!r}", hint="see `costline tickets list` for the ids"
        )
    con.execute(
        "UPDATE recommendations SET status = 'dismissed', reason = ?, updated_at = ? WHERE id = ?",
        [reason.strip(), now, rec],
    )
    return found[0]

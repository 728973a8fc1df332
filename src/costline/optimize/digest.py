"""What the monthly savings digest needs besides :func:`costline.optimize.adoption.report`: the
recommendations still waiting for someone to act (picked from the state store's records), and
the billing currency of the figures (read from the bill).

*Waiting* means status ``open`` or ``ticketed`` now (when the digest runs, normally on the 1st
of the next month) and first seen before the end of the month. Each team's list holds its
largest estimates first, at most ``per_team`` of them; every row also carries the team's full
count and estimate of waiting recommendations, so the digest can say how many are not listed.
The estimate is the one the savings report uses: the figure on the ticket, else the latest.

Example:
    >>> WAITING_COLUMNS[:3]
    ('team', 'id', 'resource_id')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from costline.optimize.adoption import NO_TEAM, month_bounds

PER_TEAM = 10
WAITING_COLUMNS = (
    "team",
    "id",
    "resource_id",
    "kind",
    "rule",
    "status",
    "ticket_key",
    "first_seen",
    "estimated_monthly",
    "team_waiting",
    "team_waiting_monthly",
)

ACTIVE = ("open", "ticketed")


def waiting(
    recs: Iterable[Any], month: str, *, team: str | None = None, per_team: int = PER_TEAM
) -> list[tuple[Any, ...]]:
    """Open and ticketed recommendations first seen before the end of ``month`` (YYYY-MM),
    the ``per_team`` largest per team (columns :data:`WAITING_COLUMNS`), by team. ``recs``
    are the state store's records (or anything with their attributes).

    Raises:
        ConfigError: ``month`` is not YYYY-MM.
    """
    _, end = month_bounds(month)
    end_at = dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC)
    teams: dict[str, list[Any]] = {}
    for r in recs:
        seen = r.first_seen if r.first_seen.tzinfo else r.first_seen.replace(tzinfo=dt.UTC)
        name = r.team if r.team is not None else NO_TEAM
        if r.status in ACTIVE and seen < end_at and (team is None or name == team):
            teams.setdefault(name, []).append(r)
    out = []
    for name, group in sorted(teams.items()):
        estimated = [(_estimate(r), r) for r in group]
        estimated.sort(key=lambda e: (-e[0], e[1].id))
        total = sum((e for e, _ in estimated), Decimal(0))
        for est, r in estimated[:per_team]:
            out.append(
                (name, r.id, r.resource_id, r.kind, r.rule, r.status, r.ticket_key)
                + (r.first_seen, est, len(group), total)
            )
    return out


def _estimate(r: Any) -> Decimal:
    """The figure on the ticket, else the latest estimate."""
    return Decimal(r.ticket_savings if r.ticket_savings is not None else r.monthly_savings)


def billing_currency(con: Any) -> str | None:
    """The billing currency of the bill, when it has exactly one (else None)."""
    got = con.execute(
        "SELECT DISTINCT BillingCurrency FROM cost WHERE BillingCurrency IS NOT NULL LIMIT 2"
    ).fetchall()
    return str(got[0][0]) if len(got) == 1 else None


__all__ = ["ACTIVE", "PER_TEAM", "WAITING_COLUMNS", "billing_currency", "waiting"]

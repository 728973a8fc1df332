"""What the monthly savings digest reads besides :func:`costline.optimize.adoption.report`: the
recommendations still waiting for someone to act, and the billing currency of the figures.

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

_WAITING_SQL = """
SELECT team, id, resource_id, kind, rule, status, ticket_key, first_seen, est, n, total
FROM (
  SELECT coalesce(team, $no_team) AS team, id, resource_id, kind, rule, status, ticket_key,
    first_seen, coalesce(ticket_savings, monthly_savings) AS est,
    count(*) OVER (PARTITION BY coalesce(team, $no_team)) AS n,
    sum(coalesce(ticket_savings, monthly_savings))
      OVER (PARTITION BY coalesce(team, $no_team)) AS total,
    row_number() OVER (PARTITION BY coalesce(team, $no_team)
      ORDER BY coalesce(ticket_savings, monthly_savings) DESC, id) AS rank
  FROM recommendations
  WHERE status IN ('open', 'ticketed') AND first_seen < $end
    AND ($team IS NULL OR coalesce(team, $no_team) = $team)
)
WHERE rank <= $limit
ORDER BY team, rank
"""


def waiting(
    con: Any, month: str, *, team: str | None = None, per_team: int = PER_TEAM
) -> list[tuple[Any, ...]]:
    """Open and ticketed recommendations first seen before the end of ``month`` (YYYY-MM),
    the ``per_team`` largest per team (columns :data:`WAITING_COLUMNS`).

    Raises:
        ConfigError: ``month`` is not YYYY-MM.
    """
    _, end = month_bounds(month)
    rows = con.execute(
        _WAITING_SQL,
        {
            "no_team": NO_TEAM,
            "end": dt.datetime.combine(end, dt.time()),
            "team": team,
            "limit": per_team,
        },
    ).fetchall()
    return [(*r[:8], Decimal(r[8]), int(r[9]), Decimal(r[10])) for r in rows]


def billing_currency(con: Any) -> str | None:
    """The billing currency of the bill, when it has exactly one (else None)."""
    got = con.execute(
        "SELECT DISTINCT BillingCurrency FROM cost WHERE BillingCurrency IS NOT NULL LIMIT 2"
    ).fetchall()
    return str(got[0][0]) if len(got) == 1 else None


__all__ = ["PER_TEAM", "WAITING_COLUMNS", "billing_currency", "waiting"]

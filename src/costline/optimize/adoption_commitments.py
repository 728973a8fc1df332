"""Adoption of commitment purchase recommendations (kind ``commitment``), read from the
bill's ``CommitmentDiscount*`` columns (docs/concepts/commitments.md#adoption).

A recommendation is for one scope (``details.scope``: the plan's scope columns, by default
provider and billing account) and currency. It is **actioned** (``commitment-purchased``)
when the bill shows a commitment (``CommitmentDiscountId``) with a charge in that scope and
currency whose *first* charge anywhere in the bill is on or after the day the recommendation
was first seen (or the end of the lookback it was sized on, ``details.sized_until``, when
that is earlier: the bill may lag the clock). The action day is that first charge's day; with
several new commitments, the earliest, and all of them count.

**Realized savings**, per day after the action day (the action day itself is a transition
day, as in the bill-based rules) through the newest bill day, from the new commitments'
``Usage`` rows::

    saved(day) = Σ on_demand(Used rows) − Σ EffectiveCost(Used rows) − Σ EffectiveCost(Unused rows)

with ``on_demand = coalesce(nullif(ContractedCost, 0), nullif(ListCost, 0), EffectiveCost)``
(:data:`costline.optimize.commitments.ON_DEMAND_SQL`): what the covered usage would have cost
without the commitment, minus what it cost with it, minus the commitment's idle hours. The
adoption records ``baseline_daily`` = the covered usage's on-demand cost per day and
``after_daily`` = what was paid for it per day (used + unused commitment), both averaged over
the days after the action (a day without a charge counts as zero), so ``realized_monthly =
(baseline_daily − after_daily) × 30.4375`` is the average daily saving × 30.4375.

Example:
    >>> import datetime as dt
    >>> days = {dt.date(2026, 10, d): (Decimal(240), Decimal(186)) for d in range(17, 21)}
    >>> measure_after(days, dt.date(2026, 10, 17), dt.date(2026, 10, 20))
    (Decimal('240'), Decimal('186'), 3)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from costline.optimize.adoption import (
    Adoption,
    Detection,
    Tracked,
    last_bill_day,
    measured,
)
from costline.optimize.commitments import ON_DEMAND_SQL, SCOPE_COLUMNS

Paid = tuple[Decimal, Decimal]  # (on-demand equivalent of the covered usage, paid for it)


def measure_after(
    days: Mapping[dt.date, Paid], action: dt.date, last_day: dt.date
) -> tuple[Decimal | None, Decimal | None, int]:
    """On-demand cost per day of the usage the new commitments covered and what was paid per
    day, over the days after ``action`` through ``last_day``, and their number."""
    n = max((last_day - action).days, 0)
    if n == 0:
        return None, None, 0
    after = [v for d, v in days.items() if action < d <= last_day]
    on_demand = sum((v[0] for v in after), Decimal(0))
    paid = sum((v[1] for v in after), Decimal(0))
    return on_demand / n, paid / n, n


def _scope_sql(names: Sequence[str]) -> list[str]:
    """The cost columns of a stored scope's names (``billing_account`` → BillingAccountId)."""
    return [f'"{SCOPE_COLUMNS[n.replace("_", "-")]}"' for n in names]


def _until(as_of: dt.date | None) -> tuple[str, list[Any]]:
    if as_of is None:
        return "", []
    return " AND ChargePeriodStart < ?", [dt.datetime.combine(as_of, dt.time())]


def commitments_by_scope(
    con: Any, names: Sequence[str], *, as_of: dt.date | None = None
) -> tuple[dict[tuple[str, ...], set[str]], dict[str, tuple[dt.date, str | None]]]:
    """Each scope's commitments (scope values + currency, as text → ids with a charge in it)
    and each commitment's first charge day and type, over the bill before ``as_of``."""
    cols = _scope_sql(names)
    when, params = _until(as_of)
    members: dict[tuple[str, ...], set[str]] = {}
    rows = con.execute(
        f"SELECT DISTINCT CommitmentDiscountId, {', '.join([*cols, 'BillingCurrency'])} "
        f"FROM cost WHERE CommitmentDiscountId IS NOT NULL{when}",
        params,
    ).fetchall()
    for cid, *scope in rows:
        members.setdefault(tuple(str(v) for v in scope), set()).add(str(cid))
    first = {
        str(r[0]): (r[1], r[2])
        for r in con.execute(
            "SELECT CommitmentDiscountId, min(CAST(ChargePeriodStart AS DATE)), "
            "any_value(CommitmentDiscountType) FROM cost "
            f"WHERE CommitmentDiscountId IS NOT NULL{when} GROUP BY 1",
            params,
        ).fetchall()
    }
    return members, first


def daily_paid(
    con: Any, ids: Iterable[str], *, since: dt.date, until: dt.date
) -> dict[dt.date, Paid]:
    """Per day in ``[since, until]``: the on-demand equivalent of the usage the commitments
    ``ids`` covered, and what was paid (their used plus unused ``EffectiveCost``)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = con.execute(
        "SELECT CAST(ChargePeriodStart AS DATE), "
        f"coalesce(sum({ON_DEMAND_SQL}) FILTER (WHERE CommitmentDiscountStatus = 'Used'), 0), "
        "coalesce(sum(EffectiveCost), 0) FROM cost WHERE ChargeCategory = 'Usage' "
        "AND CommitmentDiscountStatus IN ('Used', 'Unused') "
        "AND list_contains(?, CommitmentDiscountId) "
        "AND ChargePeriodStart >= ? AND ChargePeriodStart < ? GROUP BY 1",
        [
            wanted,
            dt.datetime.combine(since, dt.time()),
            dt.datetime.combine(until + dt.timedelta(days=1), dt.time()),
        ],
    ).fetchall()
    return {r[0]: (Decimal(r[1]), Decimal(r[2])) for r in rows}


def reference_day(rec: Tracked, last_day: dt.date) -> dt.date:
    """The first day a new commitment may start to count for ``rec``: the day it was first
    seen, or the end of the lookback it was sized on when earlier (or the newest bill day,
    without a recorded lookback)."""
    first = rec.first_seen.date()
    sized = rec.details.get("sized_until")
    if sized:
        return min(first, dt.datetime.fromisoformat(str(sized)).date())
    return min(first, last_day)


def scope_key(details: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(scope names, scope values + currency as text) of a stored recommendation."""
    scope = [(str(n), v) for n, v in details.get("scope") or []]
    return tuple(n for n, _ in scope), (*(str(v) for _, v in scope), str(details.get("currency")))


def detect(con: Any, recs: Sequence[Tracked], *, as_of: dt.date | None = None) -> Detection:
    """Commitments bought since ``recs`` were recommended (bill before ``as_of``)."""
    last_day = last_bill_day(con, as_of=as_of)
    if last_day is None or not recs:
        return Detection([], set())
    found = []
    by_names: dict[tuple[str, ...], Any] = {}
    for rec in recs:
        names, values = scope_key(rec.details)
        if names not in by_names:
            by_names[names] = commitments_by_scope(con, names, as_of=as_of)
        members, first = by_names[names]
        ref = reference_day(rec, last_day)
        new = sorted(c for c in members.get(values, ()) if first[c][0] >= ref)
        if not new:
            continue
        day = min(first[c][0] for c in new)
        kinds = sorted({first[c][1] or "commitment" for c in new})
        evidence = (
            f"{', '.join(kinds)} {', '.join(new)} first charged on {day.isoformat()}"
            if len(new) == 1
            else f"{', '.join(kinds)} {', '.join(new)} first charged from {day.isoformat()}"
        )
        paid = daily_paid(con, new, since=day, until=last_day)
        baseline, after, n = measure_after(paid, day, last_day)
        bought = ",".join(new)
        what = "commitment-purchased"
        found.append(Adoption(rec, what, day, None, bought, evidence, baseline, after, n))
    return Detection(found, set())


def remeasured(
    con: Any, pending: Sequence[Any], *, as_of: dt.date | None = None
) -> list[dict[str, Any]]:
    """New measurements of stored ``commitment`` adoptions (their ``to_state`` holds the
    commitment ids)."""
    last_day = last_bill_day(con, as_of=as_of)
    if last_day is None:
        return []
    out = []
    for a in pending:
        ids = [c for c in (a.to_state or "").split(",") if c]
        paid = daily_paid(con, ids, since=a.action_date, until=last_day)
        baseline, after, n = measure_after(paid, a.action_date, last_day)
        out.append(measured(a, baseline, after, n))
    return out


__all__ = [
    "commitments_by_scope",
    "daily_paid",
    "detect",
    "measure_after",
    "reference_day",
    "remeasured",
    "scope_key",
]

"""The dashboard overview: daily trend, top providers, services and teams, month over
month and a forecast to month end (:func:`overview`).

Import it from :mod:`costline.reports.queries`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from costline.core.money import MONEY_SCALE
from costline.reports._query_base import MAX_LIMIT, Page, Scope, check_page, parse_month
from costline.reports._query_costs import costs
from costline.reports.marts import MART, StoreState, store_state, usable_mart

RUN_RATE_DAYS = 7
_MONEY = Decimal(1).scaleb(-MONEY_SCALE)


@dataclass(frozen=True)
class Overview:
    """The dashboard's first page for one month (see :func:`overview`)."""

    month: str
    data_through: dt.date | None
    daily: Page
    by_provider: Page
    by_service: Page
    by_team: Page | None
    month_over_month: list[dict[str, Any]]
    forecast: list[dict[str, Any]]
    notes: tuple[str, ...]
    stale_as_of: dt.datetime | None = None


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _previous_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def newest_day(
    con: Any, state: StoreState | None = None, *, stale_ok: bool = False
) -> dt.date | None:
    """The newest charge day in the store (the mart's when usable): the day data runs to."""
    sql = (
        f"SELECT max(day) FROM {MART}"
        if usable_mart(state or store_state(con), stale_ok=stale_ok)
        else "SELECT CAST(max(ChargePeriodStart) AS DATE) FROM cost"
    )
    row = con.execute(sql).fetchone()
    return row[0] if row else None


def _sum(
    daily: Mapping[tuple[dt.date, str], Decimal], lo: dt.date, hi: dt.date
) -> dict[str, Decimal]:
    """Per currency, the cost of days ``[lo, hi)``."""
    out: dict[str, Decimal] = {}
    for (day, currency), amount in daily.items():
        if lo <= day < hi:
            out[currency] = out.get(currency, Decimal(0)) + amount
    return out


def forecast_month(
    daily: Mapping[tuple[dt.date, str], Decimal], month: dt.date, through: dt.date
) -> list[dict[str, Any]]:
    """Month-end forecast per currency from daily costs (pure).

    ``through`` is the newest day with data. Forecast = the month's cost up to ``through``
    (month to date) + run-rate × the days after ``through`` to the month's end; run-rate =
    the cost of the 7 full days before ``through`` / 7 (the newest day may be incomplete:
    bills arrive late). A month with no day left (data up to its last day or later) is its
    actual cost.

    Example:
        >>> days = {(dt.date(2024, 9, d), "USD"): Decimal(10) for d in range(1, 11)}
        >>> f = forecast_month(days, dt.date(2024, 9, 1), dt.date(2024, 9, 10))[0]
        >>> f["month_to_date"], f["run_rate"], f["remaining_days"], f["forecast"]
        (Decimal('100'), Decimal('10.0000000000'), 20, Decimal('300.0000000000'))
    """
    end = _next_month(month)
    last = min(through, end - dt.timedelta(days=1))
    actual = _sum(daily, month, last + dt.timedelta(days=1))
    remaining = (end - last).days - 1
    if not remaining:
        return [
            {
                "currency": c,
                "month_to_date": v,
                "through": last,
                "run_rate": None,
                "remaining_days": 0,
                "forecast": v,
                "method": "actual",
            }
            for c, v in sorted(actual.items())
        ]
    window = _sum(daily, through - dt.timedelta(days=RUN_RATE_DAYS), through)
    out = []
    for c in sorted(set(actual) | set(window)):
        mtd = actual.get(c, Decimal(0))
        rate = (window.get(c, Decimal(0)) / RUN_RATE_DAYS).quantize(_MONEY)
        out.append(
            {
                "currency": c,
                "month_to_date": mtd,
                "through": last,
                "run_rate": rate,
                "remaining_days": remaining,
                "forecast": (mtd + rate * remaining).quantize(_MONEY),
                "method": f"run-rate of the {RUN_RATE_DAYS} full days before",
            }
        )
    return out


def month_over_month(
    daily: Mapping[tuple[dt.date, str], Decimal], month: dt.date, through: dt.date
) -> list[dict[str, Any]]:
    """This month up to ``through`` against the same days of the previous month (pure)."""
    end = min(_next_month(month), through + dt.timedelta(days=1))
    prev = _previous_month(month)
    same_end = min(prev + (end - month), month)
    current, same, full = (
        _sum(daily, month, end),
        _sum(daily, prev, same_end),
        _sum(daily, prev, month),
    )
    out = []
    for c in sorted(set(current) | set(full)):
        now, before = current.get(c, Decimal(0)), same.get(c, Decimal(0))
        pct = float((now - before) / before * 100) if before else None
        out.append(
            {
                "currency": c,
                "current": now,
                "previous_same_days": before,
                "previous_month": full.get(c, Decimal(0)),
                "change": now - before,
                "change_pct": pct,
            }
        )
    return out


def overview(
    con: Any,
    *,
    scope: Scope,
    month: dt.date | str | None = None,
    metric: str = "effective",
    top: int = 10,
    stale_ok: bool = False,
) -> Overview:
    """Spend trend by day, top providers, services and teams, month over month and a
    forecast to month end (:func:`forecast_month`) for one month (default: the newest).
    ``stale_ok``: as for :func:`costs` (the store's state is read once for every part)."""
    check_page(top, 0)
    state = store_state(con)
    through = newest_day(con, state, stale_ok=stale_ok)
    first = parse_month(month, key="month") or (through or dt.date.today()).replace(day=1)
    end = _next_month(first)

    def ask(group: str, start: dt.date, limit: int) -> Page:
        order = None if group == "day" else "-cost"
        return costs(
            con,
            scope=scope,
            group_by=[group],
            start=start,
            end=end,
            metric=metric,
            limit=limit,
            order=order,
            state=state,
            stale_ok=stale_ok,
        )

    days = ask("day", _previous_month(first), MAX_LIMIT)
    daily = {(dt.date.fromisoformat(r[0]), r[1]): r[2] for r in days.rows}
    trend = [r for r in days.rows if r[0] >= first.isoformat()]
    notes = list(days.notes)
    teams: Page | None = None
    if state.published:
        teams = ask("team", first, top)
    else:
        notes.append("no allocation is published: spend by team needs `costline allocate`")
    seen = through if through is not None and through >= first else None
    return Overview(
        month=first.strftime("%Y-%m"),
        data_through=seen,
        daily=Page(days.columns, trend, len(trend), MAX_LIMIT, 0, days.source, days.notes),
        by_provider=ask("provider", first, top),
        by_service=ask("service", first, top),
        by_team=teams,
        month_over_month=month_over_month(daily, first, seen) if seen else [],
        forecast=forecast_month(daily, first, seen) if seen else [],
        notes=tuple(dict.fromkeys(notes)),
        stale_as_of=days.stale_as_of,
    )

"""Presentation for the web UI: money and percent text, display names, chart data islands.

Pure functions (no request, no database): :mod:`costline.ui.pages` feeds them query results.
Money stays Decimal until it becomes text; the chart islands carry it as decimal strings
(``charts.js`` reads them), never floats.

Example:
    >>> money(Decimal("12345.675"), "USD"), money(Decimal("-3"), "EUR")
    ('$12,345.68', '-€3.00')
    >>> Names.empty().team("unallocated:no-owner"), provider_name("gcp")
    ('Unallocated', 'Google Cloud')
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

# Symbols as a browser's en-US Intl.NumberFormat writes them (charts.js formats the charts'
# tooltips that way), so a table and a chart show one amount the same way.
SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "INR": "₹",
    "CNY": "CN¥",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "BRL": "R$",
    "MXN": "MX$",
    "KRW": "₩",
    "ILS": "₪",
}
PROVIDERS = {
    "aws": "AWS",
    "azure": "Azure",
    "gcp": "Google Cloud",
    "oci": "Oracle Cloud",
}
SERIES_KEYS = {
    "x_Provider": "Provider",
    "ServiceName": "Service",
    "SubAccountId": "Account",
    "BillingAccountId": "Billing account",
    "RegionId": "Region",
    "x_Team": "Team",
    "x_UsageType": "Usage type",
    "ResourceId": "Resource",
}
ANOMALY_STATUS = {
    "open": "Open",
    "acked": "Acknowledged",
    "dismissed": "Dismissed",
    "expected": "Expected",
    "resolved": "Resolved",
}
CENT = Decimal("0.01")


def money(value: Decimal | str | int | None, currency: str | None) -> str:
    """An amount as a finance person reads it: ``$1,234.50``, ``-€3.00``, ``CHF 12.00``.

    Example:
        >>> money(Decimal("0.004"), "GBP"), money(None, "USD"), money("1500", "CHF")
        ('£0.00', '—', 'CHF 1,500.00')
    """
    text = "" if value is None else str(value).strip()
    if not text:  # no value (a template's missing field renders as "")
        return "—"
    amount = Decimal(text).quantize(CENT, rounding=ROUND_HALF_EVEN)
    code = (currency or "").upper()
    symbol = SYMBOLS.get(code, f"{code} " if code else "")
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.2f}"


def percent(value: float | Decimal | None, *, signed: bool = False) -> str:
    """``7.2 %`` (``+7.2 %`` when signed); ``—`` when there is nothing to compare with.

    Example:
        >>> percent(7.2433, signed=True), percent(-0.09, signed=True), percent(None)
        ('+7.2 %', '-0.1 %', '—')
    """
    if value is None:
        return "—"
    number = float(value)
    return f"{number:+.1f} %" if signed else f"{number:.1f} %"


def decimal_text(value: Decimal | str | int | None) -> str | None:
    """Exact decimal text for a chart island (``None`` stays a gap)."""
    if value is None:
        return None
    return format(Decimal(str(value)), "f")


def provider_name(provider: str | None) -> str:
    return PROVIDERS.get(provider or "", provider or "—")


def month_label(month: str) -> str:
    """``2026-09`` → ``September 2026``.

    Example:
        >>> month_label("2026-09")
        'September 2026'
    """
    year, number = (int(p) for p in month.split("-"))
    return f"{calendar.month_name[number]} {year}"


def day_label(day: dt.date | str) -> str:
    """``2026-09-01`` → ``Sep 1``.

    Example:
        >>> day_label("2026-09-01")
        'Sep 1'
    """
    value = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return f"{calendar.month_abbr[value.month]} {value.day}"


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """The first day of ``YYYY-MM`` and the first day of the next month (exclusive end).

    Example:
        >>> month_bounds("2026-12")
        (datetime.date(2026, 12, 1), datetime.date(2027, 1, 1))
    """
    first = dt.date.fromisoformat(f"{month}-01")
    return first, (first + dt.timedelta(days=32)).replace(day=1)


def series_text(series: str | None) -> str:
    """An anomaly's series ``ServiceName=BigQuery, x_Provider=gcp`` in words.

    Example:
        >>> series_text("ServiceName=BigQuery, x_Provider=gcp")
        'Service BigQuery · Provider Google Cloud'
    """
    if not series:
        return "—"
    parts = []
    for item in series.split(", "):
        key, _, value = item.partition("=")
        if key == "x_Provider":
            value = provider_name(value)
        parts.append(f"{SERIES_KEYS.get(key, key)} {value}")
    return " · ".join(parts)


def cause_text(cause: str | None) -> str:
    """An anomaly's likely cause ``x_UsageType=Analysis +105.32 (100%); ...`` in words.

    Example:
        >>> cause_text("x_UsageType=Analysis +105.32 (100%); RegionId=us-central1 +105.46 (100%)")
        'Usage type Analysis +105.32 (100%); Region us-central1 +105.46 (100%)'
    """
    if not cause:
        return "—"
    parts = []
    for item in cause.split("; "):
        key, sep, rest = item.partition("=")
        parts.append(f"{SERIES_KEYS.get(key, key)} {rest}" if sep else item)
    return "; ".join(parts)


def resource_name(resource_id: str | None) -> str:
    """A resource's short name: the last part of a path-like id (Azure, GCP), else the id.

    Example:
        >>> resource_name("/subscriptions/s1/resourceGroups/rg/providers/x/virtualMachines/vm-01")
        'vm-01'
        >>> resource_name("i-0f79e820bad1e605e")
        'i-0f79e820bad1e605e'
    """
    if not resource_id:
        return "—"
    return resource_id.rstrip("/").rsplit("/", 1)[-1] or resource_id


@dataclass(frozen=True)
class Names:
    """Display names from ``owners.yaml``: teams, cost centers and each team's cost center."""

    teams: Mapping[str, str] = field(default_factory=dict)
    cost_centers: Mapping[str, str] = field(default_factory=dict)
    team_cost_center: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> Names:
        return cls()

    @classmethod
    def of_owners(cls, owners: Any) -> Names:
        """From a :class:`costline.config.allocation.OwnersRegistry`."""
        teams = owners.teams()
        return cls(
            teams={tid: info.team.name or tid for tid, info in teams.items()},
            cost_centers={cc.id: cc.name or cc.id for cc in owners.cost_centers},
            team_cost_center={tid: info.team.cost_center for tid, info in teams.items()},
        )

    def team(self, team: str | None) -> str:
        """A team's display name; allocation's own values in words.

        Example:
            >>> Names(teams={"pay": "Payments"}).team("pay"), Names().team("pool:network")
            ('Payments', 'Shared pool network')
        """
        if not team:
            return "—"
        if team == "unallocated" or team.startswith("unallocated:"):
            return "Unallocated"
        if team.startswith("pool:"):
            return f"Shared pool {team.removeprefix('pool:')}"
        return self.teams.get(team, team)

    def cost_center(self, cost_center: str | None) -> str:
        if not cost_center:
            return "—"
        return self.cost_centers.get(cost_center, cost_center)

    def teams_of_cost_center(self, cost_center: str) -> list[str]:
        return sorted(t for t, cc in self.team_cost_center.items() if cc == cost_center)

    def is_team(self, team: str) -> bool:
        return team in self.teams


# -- chart data islands (read by static/charts.js) ---------------------------------------------
def bar_chart(
    title: str,
    currency: str,
    labels: Sequence[str],
    values: Sequence[Decimal | None],
    *,
    series: str = "Spend",
    horizontal: bool = True,
) -> dict[str, Any]:
    """A one-series bar chart island (horizontal: long names stay readable)."""
    return {
        "type": "bar",
        "title": title,
        "currency": currency,
        "horizontal": horizontal,
        "labels": list(labels),
        "datasets": [{"label": series, "data": [decimal_text(v) for v in values]}],
    }


def daily_trend(
    month: str,
    currency: str,
    daily: Mapping[dt.date, Decimal],
    forecast: Mapping[str, Any] | None,
    *,
    title: str = "Daily spend",
) -> dict[str, Any]:
    """A line chart island of every day of ``month``: the actual daily spend and, for a month
    still running, the forecast: the run rate on each day after the newest day with data
    (``forecast["through"]``), joined to that day's actual spend.

    Example:
        >>> days = {dt.date(2026, 9, d): Decimal(10) for d in range(1, 4)}
        >>> f = {"run_rate": Decimal(9), "remaining_days": 27, "through": dt.date(2026, 9, 3)}
        >>> spec = daily_trend("2026-09", "USD", days, f)
        >>> spec["labels"][:5], spec["datasets"][0]["data"][:5]
        (['Sep 1', 'Sep 2', 'Sep 3', 'Sep 4', 'Sep 5'], ['10', '10', '10', None, None])
        >>> spec["datasets"][1]["label"], spec["datasets"][1]["data"][:5]
        ('Forecast (run rate)', [None, None, '10', '9', '9'])
    """
    first, end = month_bounds(month)
    days = [first + dt.timedelta(days=i) for i in range((end - first).days)]
    datasets: list[dict[str, Any]] = [
        {"label": "Actual", "data": [decimal_text(daily.get(d)) for d in days]}
    ]
    rate = forecast.get("run_rate") if forecast else None
    joined = forecast.get("through") if forecast else None
    if (
        rate is not None
        and isinstance(joined, dt.date)
        and forecast
        and forecast.get("remaining_days")
    ):
        data: list[str | None] = []
        for d in days:
            if d < joined:
                data.append(None)
            elif d == joined:
                data.append(decimal_text(daily.get(d, Decimal(0))))
            else:
                data.append(decimal_text(rate))
        datasets.append({"label": "Forecast (run rate)", "data": data, "dashed": True})
    return {
        "type": "line",
        "title": title,
        "currency": currency,
        "labels": [day_label(d) for d in days],
        "datasets": datasets,
    }


def waterfall(
    title: str, currency: str, steps: Sequence[tuple[str, Decimal]], total_label: str = "Total"
) -> dict[str, Any]:
    """A waterfall island: each step floats from the running sum; the last bar is the total.

    Example:
        >>> w = waterfall("x", "USD", [("Direct", Decimal("5")), ("Shared", Decimal("2.5"))])
        >>> w["labels"], w["datasets"][0]["data"], w["waterfall"]
        (['Direct', 'Shared', 'Total'], ['5', '2.5', '7.5'], True)
    """
    total = sum((amount for _, amount in steps), Decimal(0))
    return {
        "type": "bar",
        "waterfall": True,
        "title": title,
        "currency": currency,
        "labels": [label for label, _ in steps] + [total_label],
        "datasets": [
            {"label": "Amount", "data": [decimal_text(a) for _, a in steps] + [decimal_text(total)]}
        ],
    }


def by_currency(rows: Iterable[Mapping[str, Any]], amount: str = "cost") -> dict[str, Decimal]:
    """Sum ``amount`` per ``currency``, largest first (the first is the page's main currency).

    Example:
        >>> by_currency([{"currency": "EUR", "cost": Decimal(1)},
        ...              {"currency": "USD", "cost": Decimal(5)}])
        {'USD': Decimal('5'), 'EUR': Decimal('1')}
    """
    sums: dict[str, Decimal] = {}
    for r in rows:
        value = r.get(amount)
        if value is not None:
            sums[r["currency"]] = sums.get(r["currency"], Decimal(0)) + Decimal(str(value))
    return dict(sorted(sums.items(), key=lambda kv: (-kv[1], kv[0])))

"""An anomaly (a row of the ``anomalies`` table, as a dict) → the :class:`Alert` channels send.

Example:
    >>> import datetime as dt
    >>> from decimal import Decimal
    >>> row = {"id": "an-1", "series_key": "k", "revision": 1, "severity": "low",
    ...     "kind": "spike", "dims": {"ServiceName": "S3"}, "team": "web",
    ...     "first_day": dt.date(2024, 8, 20), "last_day": dt.date(2024, 8, 20),
    ...     "currency": "USD", "expected": Decimal(100), "actual": Decimal(600),
    ...     "impact": Decimal(500), "impact_pct": 500.0,
    ...     "root_cause": {"dimensions": {"SkuId": [{"value": "requests", "delta": "500.00",
    ...     "share": 1.0}]}, "top_resources": [{"value": "b1", "delta": "500.00"}]}}
    >>> a = alert_of(row, link=None)
    >>> a.title, a.period, a.root_cause[0].value, a.top_resources[0].resource_id
    ('Spend spike: ServiceName=S3', '2024-08-20', 'requests', 'b1')
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from costline.notify.message import Alert, Cause, ResourceDelta, Severity, alert_link

CENT = Decimal("0.01")  # anomaly amounts are sums of daily amounts rounded to cents
_KIND = {"spike": "Spend spike", "drop": "Spend drop", "new": "New spend"}


def alert_of(row: Mapping[str, Any], *, link: str | None, resolved: bool = False) -> Alert:
    """The alert for one revision of one anomaly (revision 1 opens, later ones update). With
    ``resolved``, the notice that it is over: the next revision, status ``resolved``."""
    series = ", ".join(f"{k}={v}" for k, v in row["dims"].items())
    first, last = row["first_day"], row["last_day"]
    period = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
    cause = row.get("root_cause") or {}
    causes = tuple(
        Cause(dim, str(top[0]["value"]), Decimal(top[0]["delta"]), float(top[0]["share"] or 0))
        for dim, top in (cause.get("dimensions") or {}).items()
        if top
    )
    resources = tuple(
        ResourceDelta(str(r["value"]), Decimal(r["delta"]))
        for r in (cause.get("top_resources") or [])[:5]
    )
    revision = int(row["revision"]) + (1 if resolved else 0)
    # flagged on usage × price before the bill (see `costline anomalies usage`)
    estimated = " (estimated)" if row.get("estimated") else ""
    return Alert(
        anomaly_id=str(row["id"]),
        key=str(row["series_key"]),
        revision=revision,
        status="resolved" if resolved else "open" if revision == 1 else "updated",
        severity=cast(Severity, row["severity"]),
        title=f"{_KIND.get(row['kind'], 'Anomaly')}{estimated}: {series}",
        series=series,
        team=row.get("team"),
        period=period,
        currency=str(row["currency"]),
        expected=Decimal(row["expected"]).quantize(CENT),
        actual=Decimal(row["actual"]).quantize(CENT),
        impact=Decimal(row["impact"]).quantize(CENT),
        impact_pct=row.get("impact_pct"),
        root_cause=causes,
        top_resources=resources,
        link=alert_link(link, str(row["id"])),
    )

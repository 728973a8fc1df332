"""Commitment portfolio: utilization, coverage and expiry of the commitments in the bill, and
the hourly commitment to buy next.

A commitment (Savings Plan, Reserved Instance, Azure reservation, committed-use discount) is
seen in FOCUS through the ``CommitmentDiscount*`` columns. Its hours either covered a usage
row (``CommitmentDiscountStatus = 'Used'``) or went to waste (``'Unused'``); both carry the
commitment's amortized cost in ``EffectiveCost``. From these:

* **utilization** = used / (used + unused) commitment cost,
* **coverage** = on-demand-equivalent cost of eligible usage covered by a commitment /
  on-demand-equivalent cost of all eligible usage (``ELIGIBLE_SQL``, ``ON_DEMAND_SQL``),
* **expiry**: FOCUS has no end date, so the end comes from ``commitments.csv`` when the user
  keeps one, else from the data (the rows stopped; or a start seen in the data + 1 year).

The purchase plan takes the hourly on-demand-equivalent eligible spend ``s_h`` of a scope and
a flat discount ``d``. An hourly commitment ``c`` (discounted $/h) covers up to
``c / (1 − d)`` of on-demand spend each hour, so its net savings over ``H`` hours are
``S(c) = Σ_h min(s_h, c / (1 − d)) − H·c``. ``S`` is concave; its slope in ``C = c/(1−d)`` is
``#{h: s_h > C} − H·(1 − d)``, zero where a fraction ``d`` of the hours lies below ``C``:
``c* = (1 − d)·Q(d)``. :func:`optimize` evaluates ``S`` exactly at every order statistic.

Example:
    >>> import numpy as np
    >>> best = optimize(np.array([10.0, 10.0, 20.0, 20.0]), 0.5)
    >>> best.commitment, best.savings
    (5.0, 20.0)
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from costline.core.errors import BadInputError, ConfigError, Location, TerminalError

FloatArray = npt.NDArray[np.float64]

TERMS = ("1y", "3y")
PAYMENTS = ("no-upfront", "partial-upfront", "all-upfront")
OFFERINGS = ("convertible", "standard")
HOURS_PER_MONTH = 730  # 8,760 hours a year / 12
INVENTORY_FILE = "commitments.csv"
INVENTORY_REQUIRED = ("id", "end")
INVENTORY_OPTIONAL = ("start", "term", "payment", "hourly_commitment")
HOLDOUT_SHARE = 1 / 3  # the backtest fits on the first 2/3 of the lookback, scores the rest

# Public sample: vantage-sh/ec2instances.info @ 8e64e6eaefe16999bf209650f4d2ab4ec8845c6a,
# next/utils/mocks/ec2_single_instance.json (MIT), x2iedn.32xlarge Linux us-east-1; the
# discount depth is the same in all 25 regions of the sample. Effective hourly price of each
# (offering, term, payment), upfront amortized over the term, against on-demand 26.676.
SAMPLE_ON_DEMAND = Decimal("26.676")
SAMPLE_RESERVED: dict[tuple[str, str, str], Decimal] = {
    ("convertible", "1y", "no-upfront"): Decimal("19.7189"),
    ("convertible", "1y", "partial-upfront"): Decimal("18.779904"),
    ("convertible", "1y", "all-upfront"): Decimal("18.404338"),
    ("convertible", "3y", "no-upfront"): Decimal("10.2852"),
    ("convertible", "3y", "partial-upfront"): Decimal("9.523352"),
    ("convertible", "3y", "all-upfront"): Decimal("9.332877"),
    ("standard", "1y", "no-upfront"): Decimal("16.41374"),
    ("standard", "1y", "partial-upfront"): Decimal("15.632166"),
    ("standard", "1y", "all-upfront"): Decimal("15.319521"),
    ("standard", "3y", "no-upfront"): Decimal("8.55659"),
    ("standard", "3y", "partial-upfront"): Decimal("7.922767"),
    ("standard", "3y", "all-upfront"): Decimal("7.447412"),
}
RATE_TABLE: dict[tuple[str, str, str], Decimal] = {
    key: (1 - price / SAMPLE_ON_DEMAND).quantize(Decimal("0.0001"))
    for key, price in SAMPLE_RESERVED.items()
}

# Usage a commitment could cover: compute usage priced per hour, at on-demand or committed
# rates (spot and other dynamic prices excluded), not corrections, not the unused hours.
ELIGIBLE_SQL = (
    "ChargeCategory = 'Usage' AND ChargeClass IS NULL AND ServiceCategory = 'Compute' "
    "AND coalesce(PricingCategory, 'Standard') IN ('Standard', 'Committed') "
    "AND (lower(PricingUnit) LIKE '%hour%' OR lower(PricingUnit) LIKE '%hrs%') "
    "AND CommitmentDiscountStatus IS DISTINCT FROM 'Unused'"
)
# What a usage row would have cost without any commitment: the contracted (negotiated) cost,
# else the list cost, else the effective cost (some providers leave covered rows' ContractedCost 0).
ON_DEMAND_SQL = "coalesce(nullif(ContractedCost, 0), nullif(ListCost, 0), EffectiveCost)"

# ``--scope`` names → cost columns (a closed set: nothing user-typed reaches the SQL text).
SCOPE_COLUMNS = {
    "provider": "x_Provider",
    "billing-account": "BillingAccountId",
    "sub-account": "SubAccountId",
    "region": "RegionId",
    "service": "ServiceName",
    "instance-type": "x_InstanceType",
}
DEFAULT_SCOPE = ("provider", "billing-account")


class NoEligibleSpendError(TerminalError):
    """The lookback holds no usage a commitment could cover."""


# -- rate table -------------------------------------------------------------------------------
def discount_for(term: str, payment: str, *, offering: str = "convertible") -> Decimal:
    """The flat discount ``d`` of a commitment option (``RATE_TABLE``).

    Raises:
        ConfigError: an unknown term, payment or offering (the hint lists the valid ones).

    Example:
        >>> discount_for("1y", "no-upfront"), discount_for("3y", "all-upfront", offering="standard")
        (Decimal('0.2608'), Decimal('0.7208'))
    """
    for key, value, valid in (
        ("term", term, TERMS),
        ("payment", payment, PAYMENTS),
        ("offering", offering, OFFERINGS),
    ):
        if value not in valid:
            raise ConfigError(f"unknown {key} {value!r}", key=key, hint=f"use one of {valid}")
    return RATE_TABLE[(offering, term, payment)]


# -- optimizer (floats inside, Decimal outside) ---------------------------------------------
@dataclass(frozen=True)
class Optimum:
    """The best hourly commitment for a spend series: ``commitment`` in discounted $/h,
    ``covers`` = the on-demand spend it covers per hour, ``savings`` over the series."""

    commitment: float
    covers: float
    savings: float


def net_savings(spend: FloatArray, commitment: float, discount: float) -> float:
    """``Σ_h min(s_h, c/(1−d)) − H·c``: on-demand cost avoided minus the commitment paid.

    Example:
        >>> net_savings(np.array([10.0, 0.0]), 5.0, 0.5)
        0.0
    """
    covers = commitment / (1 - discount)
    return float(np.minimum(spend, covers).sum() - spend.size * commitment)


def optimize(spend: FloatArray, discount: float) -> Optimum:
    """The commitment that maximizes :func:`net_savings`, exactly.

    ``S`` is piecewise linear in the covered level ``C``, with kinks at the hourly spends, so
    the maximum is at one of them (or at 0). With the spends sorted, ``S(s_(k))`` is
    ``prefix_k + (H − k)·s_(k) − H·(1 − d)·s_(k)``: all candidates in one vectorized pass.
    """
    if spend.size == 0 or not 0 < discount < 1:
        return Optimum(0.0, 0.0, 0.0)
    ordered = np.sort(spend)
    n = ordered.size
    below = np.cumsum(ordered) - ordered  # Σ of the spends before position k
    above = n - np.arange(n)  # hours whose spend is ≥ s_(k)
    savings = below + above * ordered - n * (1 - discount) * ordered
    k = int(np.argmax(savings))
    if savings[k] <= 0:
        return Optimum(0.0, 0.0, 0.0)
    covers = float(ordered[k])
    return Optimum(covers * (1 - discount), covers, float(savings[k]))


def spread_hourly(
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    amounts: FloatArray,
    hours: int,
) -> FloatArray:
    """Spend per hour ``0 .. hours-1``: each row's amount spread evenly over its charge period
    ``[start, end)`` (hour indexes), the part outside the window dropped.

    Example:
        >>> spread_hourly(np.array([0]), np.array([24]), np.array([48.0]), 2).tolist()
        [2.0, 2.0]
    """
    length = np.maximum(ends - starts, 1)
    rate = amounts / length
    lo = np.clip(starts, 0, hours)
    hi = np.clip(np.maximum(ends, starts + 1), 0, hours)
    keep = hi > lo
    diff = np.zeros(hours + 1)
    np.add.at(diff, lo[keep], rate[keep])
    np.add.at(diff, hi[keep], -rate[keep])
    return np.cumsum(diff[:hours])


# -- plan -----------------------------------------------------------------------------------
PLAN_COLUMNS = [
    "currency",
    "hours",
    "granularity",
    "discount",
    "commitment_per_hour",
    "covers_on_demand_per_hour",
    "expected_utilization",
    "coverage",
    "break_even_utilization",
    "lookback_on_demand",
    "lookback_savings",
    "monthly_savings",
    "heuristic_commitment_per_hour",
    "heuristic_monthly_savings",
    "holdout_savings",
    "heuristic_holdout_savings",
]


def _money(value: float, places: int = 2) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places))


def _ratio(num: float, den: float) -> Decimal | None:
    return _money(num / den, 4) if den > 0 else None


def plan_scope(spend: FloatArray, discount: Decimal) -> dict[str, Any]:
    """The recommendation for one scope's hourly spend (Decimal money, 4-place ratios).

    Backtest: ``lookback_savings`` is ``c*`` replayed on the whole lookback and
    ``heuristic_*`` the "minimum hourly usage" rule ``c = (1 − d)·min s_h`` on the same hours;
    ``holdout_*`` fit both on the first 2/3 of the hours and score them on the last third.
    """
    d = float(discount)
    hours = spend.size
    best = optimize(spend, d)
    floor = float(spend.min()) * (1 - d) if hours else 0.0
    cut = hours - max(1, round(hours * HOLDOUT_SHARE)) if hours > 1 else hours
    fit, test = spend[:cut], spend[cut:]
    held = optimize(fit, d).commitment
    held_floor = float(fit.min()) * (1 - d) if fit.size else 0.0
    used = float(np.minimum(spend, best.covers).sum())
    per_month = HOURS_PER_MONTH / hours if hours else 0.0
    return {
        "hours": hours,
        "discount": discount,
        "commitment_per_hour": _money(best.commitment, 4),
        "covers_on_demand_per_hour": _money(best.covers, 4),
        "expected_utilization": _ratio(used, best.covers * hours),
        "coverage": _ratio(used, float(spend.sum())),
        "break_even_utilization": 1 - discount,
        "lookback_on_demand": _money(float(spend.sum())),
        "lookback_savings": _money(best.savings),
        "monthly_savings": _money(best.savings * per_month),
        "heuristic_commitment_per_hour": _money(floor, 4),
        "heuristic_monthly_savings": _money(net_savings(spend, floor, d) * per_month),
        "holdout_savings": _money(net_savings(test, held, d)) if test.size else None,
        "heuristic_holdout_savings": (
            _money(net_savings(test, held_floor, d)) if test.size else None
        ),
    }


def _hour(moment: dt.datetime) -> int:
    return int(moment.replace(tzinfo=dt.UTC).timestamp()) // 3600


def _granularity(hours: npt.NDArray[np.int64]) -> str:
    typical = float(np.median(hours)) if hours.size else 0.0
    if typical <= 1:
        return "hourly"
    return "daily" if typical <= 24 else "monthly"


def plan_sql(scope: Sequence[str], *, include_covered: bool) -> str:
    """Eligible on-demand-equivalent cost per scope, currency and charge period overlapping
    ``[?, ?)``; ``scope`` must be ``SCOPE_COLUMNS`` names (checked by :func:`scope_columns`)."""
    cols = ", ".join(f'"{SCOPE_COLUMNS[s]}"' for s in scope)
    covered = "" if include_covered else " AND CommitmentDiscountId IS NULL"
    return (
        f"SELECT {cols}, BillingCurrency, ChargePeriodStart, ChargePeriodEnd, "
        f"CAST(sum({ON_DEMAND_SQL}) AS DOUBLE) FROM cost "
        f"WHERE {ELIGIBLE_SQL}{covered} AND ChargePeriodEnd > ? AND ChargePeriodStart < ? "
        f"GROUP BY ALL ORDER BY ALL"
    )


def scope_columns(scope: Sequence[str]) -> list[str]:
    """Validate ``--scope`` names (unknown ones are a ``ConfigError`` listing the valid)."""
    chosen = list(dict.fromkeys(scope or DEFAULT_SCOPE))
    for name in chosen:
        if name not in SCOPE_COLUMNS:
            raise ConfigError(
                f"unknown scope {name!r}", key="scope", hint=f"use any of {list(SCOPE_COLUMNS)}"
            )
    return chosen


def lookback_window(con: Any, lookback_days: int, as_of: dt.date | None) -> tuple[dt.datetime, ...]:
    """``[start, end)`` of the lookback: ``end`` is ``as_of`` or the end of the newest eligible
    charge; ``start`` is ``lookback_days`` earlier but not before the first eligible charge."""
    if lookback_days < 1:
        raise ConfigError("lookback must be at least 1 day", key="lookback", hint="e.g. 30")
    first, last = con.execute(
        f"SELECT min(ChargePeriodStart), max(ChargePeriodEnd) FROM cost WHERE {ELIGIBLE_SQL}"
    ).fetchone()
    if last is None:
        raise NoEligibleSpendError(
            "no eligible compute usage in the cost table",
            hint="ingest bills with hourly-priced compute usage (see docs/concepts/commitments.md)",
        )
    end = dt.datetime.combine(as_of, dt.time()) if as_of else last.replace(minute=0, second=0)
    start = max(end - dt.timedelta(days=lookback_days), first)
    if start >= end:
        raise NoEligibleSpendError(
            f"no eligible compute usage in the {lookback_days} days before {end:%Y-%m-%d}",
            hint="pick an --as-of inside the data or a longer --lookback",
        )
    return start, end


def plan(
    con: Any,
    *,
    discount: Decimal,
    lookback_days: int = 30,
    scope: Sequence[str] = DEFAULT_SCOPE,
    include_covered: bool = False,
    as_of: dt.date | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Columns and one recommendation row per scope and currency, biggest savings first.

    Raises:
        NoEligibleSpendError: the lookback has no eligible spend (the hint says what to do).
        ConfigError: an unknown scope or a lookback under one day.
    """
    names = scope_columns(scope)
    start, end = lookback_window(con, lookback_days, as_of)
    rows = con.execute(plan_sql(names, include_covered=include_covered), [start, end]).fetchall()
    hours = _hour(end) - _hour(start)
    groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[: len(names) + 1]), []).append(row[len(names) + 1 :])
    out = []
    for key, charges in groups.items():
        starts = np.array([_hour(c[0]) for c in charges], dtype=np.int64) - _hour(start)
        ends = np.array([_hour(c[1]) for c in charges], dtype=np.int64) - _hour(start)
        spend = spread_hourly(starts, ends, np.array([c[2] for c in charges]), hours)
        if not spend.any():
            continue
        result = plan_scope(spend, discount)
        result["granularity"] = _granularity(ends - starts)
        result["currency"] = key[-1]
        out.append((*key[:-1], *(result[c] for c in PLAN_COLUMNS)))
    if not out:
        raise NoEligibleSpendError(
            f"no eligible {'' if include_covered else 'uncovered '}compute usage between "
            f"{start:%Y-%m-%d} and {end:%Y-%m-%d}",
            hint="try --include-covered, a longer --lookback or another --as-of",
        )
    cols = [s.replace("-", "_") for s in names] + PLAN_COLUMNS
    out.sort(key=lambda r: -r[cols.index("monthly_savings")])
    return cols, out


# -- inventory (commitments.csv) ------------------------------------------------------------
@dataclass(frozen=True)
class InventoryEntry:
    """One row of ``commitments.csv``: the facts FOCUS does not carry."""

    id: str
    end: dt.date
    start: dt.date | None = None
    term: str | None = None
    payment: str | None = None
    hourly_commitment: Decimal | None = None


def _bad(
    path: Path, row: int | None, column: str | None, value: str | None, msg: str, hint: str
) -> BadInputError:
    return BadInputError(
        msg,
        location=Location(str(path), row=row, column=column, value=value),
        reason="bad-commitments-csv",
        hint=hint,
    )


def _inventory_entry(path: Path, n: int, raw: dict[str, str]) -> InventoryEntry:
    fields: dict[str, Any] = {}
    for col in (*INVENTORY_REQUIRED, *INVENTORY_OPTIONAL):
        text = (raw.get(col) or "").strip()
        if not text:
            if col in INVENTORY_REQUIRED:
                raise _bad(path, n, col, text, f"{col} is empty", f"fill in {col}")
            continue
        try:
            if col in ("start", "end"):
                fields[col] = dt.date.fromisoformat(text)
            elif col == "hourly_commitment":
                fields[col] = Decimal(text)
                if not fields[col] >= 0:
                    raise ValueError
            elif col in ("term", "payment") and text not in (TERMS if col == "term" else PAYMENTS):
                raise ValueError
            else:
                fields[col] = text
        except (ValueError, InvalidOperation):
            hints = {
                "start": "write dates as YYYY-MM-DD",
                "end": "write dates as YYYY-MM-DD (the first day no longer covered)",
                "hourly_commitment": "a non-negative number, e.g. 12.50",
                "term": f"one of {TERMS}",
                "payment": f"one of {PAYMENTS}",
            }
            raise _bad(path, n, col, text, f"invalid {col}", hints[col]) from None
    entry = InventoryEntry(**fields)
    if entry.start is not None and entry.start >= entry.end:
        raise _bad(path, n, "end", str(entry.end), "end is not after start", "swap start and end")
    return entry


def read_inventory(path: Path) -> dict[str, InventoryEntry]:
    """Parse ``commitments.csv`` (header ``id,end`` plus any of ``start, term, payment,
    hourly_commitment``); errors name the file, the 1-based data row, the column and the fix."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in INVENTORY_REQUIRED if c not in header]
        if missing:
            raise _bad(
                path,
                None,
                missing[0],
                None,
                f"missing column {missing[0]!r}",
                f"the header needs {', '.join(INVENTORY_REQUIRED)} (optional: "
                f"{', '.join(INVENTORY_OPTIONAL)}); found {', '.join(header) or 'none'}",
            )
        entries: dict[str, InventoryEntry] = {}
        for n, raw in enumerate(reader, start=1):
            entry = _inventory_entry(path, n, {k.strip(): v for k, v in raw.items() if k})
            if entry.id in entries:
                raise _bad(path, n, "id", entry.id, "duplicate id", "keep one row per commitment")
            entries[entry.id] = entry
    return entries


# -- status ---------------------------------------------------------------------------------
STATUS_COLUMNS = [
    "level",
    "provider",
    "currency",
    "commitment_id",
    "type",
    "used_cost",
    "unused_cost",
    "utilization",
    "covered_on_demand",
    "net_savings",
    "eligible_on_demand",
    "coverage",
    "end",
    "end_source",
    "days_left",
    "expires_within",
]

COMMITMENT_SQL = (
    "SELECT x_Provider, BillingCurrency, CommitmentDiscountId, any_value(CommitmentDiscountType), "
    "coalesce(sum(EffectiveCost) FILTER (WHERE CommitmentDiscountStatus = 'Used'), 0), "
    "coalesce(sum(EffectiveCost) FILTER (WHERE CommitmentDiscountStatus = 'Unused'), 0), "
    f"coalesce(sum({ON_DEMAND_SQL}) FILTER (WHERE CommitmentDiscountStatus = 'Used'), 0) "
    "FROM cost WHERE ChargeCategory = 'Usage' AND CommitmentDiscountId IS NOT NULL "
    "AND CommitmentDiscountStatus IN ('Used', 'Unused') "
    "AND ChargePeriodStart >= ? AND ChargePeriodStart < ? GROUP BY ALL ORDER BY ALL"
)
COVERAGE_SQL = (
    f"SELECT x_Provider, BillingCurrency, sum({ON_DEMAND_SQL}), "
    f"coalesce(sum({ON_DEMAND_SQL}) FILTER (WHERE CommitmentDiscountStatus = 'Used'), 0) "
    f"FROM cost WHERE {ELIGIBLE_SQL} AND ChargePeriodStart >= ? AND ChargePeriodStart < ? "
    "GROUP BY ALL ORDER BY ALL"
)
# Each commitment's first and last charge, and each provider's data span (all periods).
LIFETIME_SQL = (
    "SELECT CommitmentDiscountId, min(ChargePeriodStart), max(ChargePeriodEnd) FROM cost "
    "WHERE CommitmentDiscountId IS NOT NULL GROUP BY 1"
)
SPAN_SQL = "SELECT x_Provider, min(ChargePeriodStart), max(ChargePeriodEnd) FROM cost GROUP BY 1"


def expires_within(days_left: int | None) -> str:
    """The calendar bucket: ``ended``, ``30``, ``60``, ``90`` (days), ``later`` or ``unknown``.

    Example:
        >>> [expires_within(d) for d in (None, 0, 30, 31, 90, 91)]
        ['unknown', 'ended', '30', '60', '90', 'later']
    """
    if days_left is None:
        return "unknown"
    if days_left <= 0:
        return "ended"
    for bucket in (30, 60, 90):
        if days_left <= bucket:
            return str(bucket)
    return "later"


def _plus_year(day: dt.date) -> dt.date:
    return day.replace(year=day.year + 1, day=28 if (day.month, day.day) == (2, 29) else day.day)


def commitment_end(
    entry: InventoryEntry | None,
    seen: tuple[dt.datetime, dt.datetime] | None,
    span: tuple[dt.datetime, dt.datetime] | None,
) -> tuple[dt.date | None, str]:
    """A commitment's end (first day no longer covered) and where it came from, in order:
    the inventory; the data's end of its rows when they stop before the provider's data does;
    its first row + 1 year (the shortest term) when its start is inside the data; else
    unknown."""
    if entry is not None:
        return entry.end, "inventory"
    if seen is None or span is None:
        return None, "unknown"
    first, last = seen
    if last < span[1]:
        return last.date(), "rows stopped"
    if first > span[0]:
        return _plus_year(first.date()), "estimated: first row + 1y"
    return None, "unknown: add it to commitments.csv"


def _summary(
    level: str, provider: str | None, currency: str, sums: list[Decimal]
) -> tuple[Any, ...]:
    used, unused, covered_od, eligible, covered_elig = sums
    utilization = _dec_ratio(used, used + unused)
    money = (used, unused, utilization, covered_od, covered_od - used - unused)
    coverage = (eligible, _dec_ratio(covered_elig, eligible))
    return (level, provider, currency, None, None, *money, *coverage, None, None, None, None)


def _dec_ratio(num: Decimal, den: Decimal) -> Decimal | None:
    return (num / den).quantize(Decimal("0.0001")) if den else None


def status(
    con: Any,
    *,
    start: dt.datetime,
    end: dt.datetime,
    as_of: dt.date,
    inventory: dict[str, InventoryEntry] | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """One row per commitment (``level = commitment``), then per provider and currency and per
    currency (``level = provider`` / ``all``) with coverage, for charges starting in
    ``[start, end)``; the expiry calendar is counted from ``as_of``."""
    inventory = inventory or {}
    lives = {r[0]: (r[1], r[2]) for r in con.execute(LIFETIME_SQL).fetchall()}
    spans = {r[0]: (r[1], r[2]) for r in con.execute(SPAN_SQL).fetchall()}
    rows: list[tuple[Any, ...]] = []
    totals: dict[tuple[str | None, str], list[Decimal]] = {}
    seen_ids = set()
    for provider, currency, cid, kind, used, unused, covered in con.execute(
        COMMITMENT_SQL, [start, end]
    ).fetchall():
        seen_ids.add(cid)
        until, source = commitment_end(inventory.get(cid), lives.get(cid), spans.get(provider))
        rows.append(
            _commitment_row(
                provider, currency, cid, kind, (used, unused, covered), until, source, as_of
            )
        )
        for key in ((provider, currency), (None, currency)):
            acc = totals.setdefault(key, [Decimal(0)] * 5)
            acc[0], acc[1], acc[2] = acc[0] + used, acc[1] + unused, acc[2] + covered
    for cid, entry in sorted(inventory.items()):
        if cid not in seen_ids:  # in the inventory, no charge in the period
            rows.append(_commitment_row(None, None, cid, None, None, entry.end, "inventory", as_of))
    for provider, currency, eligible, covered in con.execute(COVERAGE_SQL, [start, end]).fetchall():
        for key in ((provider, currency), (None, currency)):
            acc = totals.setdefault(key, [Decimal(0)] * 5)
            acc[3], acc[4] = acc[3] + eligible, acc[4] + covered
    for (provider, currency), sums in sorted(
        totals.items(), key=lambda kv: (kv[0][0] is None, kv[0])
    ):
        rows.append(_summary("provider" if provider else "all", provider, currency, sums))
    return list(STATUS_COLUMNS), rows


def _commitment_row(
    provider: str | None,
    currency: str | None,
    cid: str,
    kind: str | None,
    sums: tuple[Decimal, Decimal, Decimal] | None,
    until: dt.date | None,
    source: str,
    as_of: dt.date,
) -> tuple[Any, ...]:
    days = (until - as_of).days if until else None
    calendar = (until, source, days, expires_within(days))
    if sums is None:
        return ("commitment", provider, currency, cid, kind, *[None] * 7, *calendar)
    used, unused, covered = sums
    money = (used, unused, _dec_ratio(used, used + unused), covered, covered - used - unused)
    return ("commitment", provider, currency, cid, kind, *money, None, None, *calendar)


def status_window(
    con: Any, period: str | None, as_of: str | None
) -> tuple[dt.datetime, dt.datetime, dt.date]:
    """The month ``period`` (``YYYY-MM``; default the month of the newest charge) as
    ``[start, end)`` and the calendar's day (``as_of``; default the end of the newest charge).

    Raises:
        ConfigError: a period or date in another shape.
        NoEligibleSpendError: the cost table is empty.
    """
    newest = con.execute("SELECT max(ChargePeriodStart), max(ChargePeriodEnd) FROM cost").fetchone()
    if newest is None or newest[0] is None:
        raise NoEligibleSpendError("the cost table is empty", hint="run `costline ingest` first")
    try:
        month = dt.date.fromisoformat(f"{period}-01") if period else newest[0].date().replace(day=1)
    except ValueError:
        raise ConfigError(f"period {period!r} is not a month", hint="write it as YYYY-MM") from None
    try:
        day = dt.date.fromisoformat(as_of) if as_of else newest[1].date()
    except ValueError:
        raise ConfigError(f"as-of {as_of!r} is not a date", hint="write it as YYYY-MM-DD") from None
    start = dt.datetime.combine(month, dt.time())
    end = dt.datetime.combine((month + dt.timedelta(days=32)).replace(day=1), dt.time())
    return start, end, day


def parse_discount(text: str) -> Decimal:
    """A user-given discount (``0.3`` = 30 % off on-demand), strictly between 0 and 1.

    Example:
        >>> parse_discount("0.3")
        Decimal('0.3')
    """
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(-1)
    if not 0 < value < 1:
        raise ConfigError(
            f"discount {text!r} is not a fraction between 0 and 1",
            key="discount",
            hint="e.g. 0.28 for 28 % off on-demand",
        )
    return value

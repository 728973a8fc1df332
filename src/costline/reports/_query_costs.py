"""The costs query of the API (:func:`costs`): grouped cost over the mart or the base tables.

Import it from :mod:`costline.reports.queries`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from costline.core.errors import ConfigError
from costline.reports import fx
from costline.reports._query_base import (
    DEFAULT_LIMIT,
    METRICS,
    Page,
    Scope,
    check_choice,
    check_page,
    check_text,
    parse_date,
    require_allocation,
    scope_note,
    shown,
    sql_in,
    unknown,
)
from costline.reports.marts import MART, StoreState, store_state, usable_mart

MAX_GROUP_BY = 8
MAX_FILTER_VALUES = 1_000
TAG_KEY = re.compile(r"[A-Za-z0-9_.:/=+@ -]{1,128}")  # always fullmatch (no "$" newline gap)
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
GRANULARITIES = ("day", "month", "total")


@dataclass(frozen=True)
class Term:
    """A dimension resolved to SQL: over ``cost``/``allocated_cost`` (``base``) and over the
    mart (``mart``, None where the mart lacks it), with the parameters ``base`` binds."""

    name: str
    base: str
    mart: str | None
    params: tuple[Any, ...] = ()
    allocation: bool = False


def _dims(*terms: Term) -> dict[str, Term]:
    return {t.name: t for t in terms}


DIMENSIONS: dict[str, Term] = _dims(
    Term("provider", "x_Provider", "provider"),
    Term("billing_account", "BillingAccountId", "billing_account"),
    Term("account", "SubAccountId", "account"),
    Term("service", "ServiceName", "service"),
    Term("service_category", "ServiceCategory", "service_category"),
    Term("region", "RegionId", "region"),
    Term("charge_category", "ChargeCategory", "charge_category"),
    Term("resource", "ResourceId", None),
    Term("team", "x_Team", "team", allocation=True),
    Term("cost_center", "x_CostCenter", "cost_center", allocation=True),
    Term("department", "x_Department", "department", allocation=True),
    Term("business_unit", "x_BusinessUnit", "business_unit", allocation=True),
)
CURRENCY = Term("currency", "BillingCurrency", "currency")

TIME: dict[str, tuple[str, str]] = {
    "day": ("CAST(ChargePeriodStart AS DATE)", "day"),
    "month": (
        "CAST(date_trunc('month', ChargePeriodStart) AS DATE)",
        "CAST(date_trunc('month', day) AS DATE)",
    ),
}
_TIME_FORMAT = {"day": "%Y-%m-%d", "month": "%Y-%m"}


def dimension(name: str, *, key: str = "group_by", extra: Sequence[Term] = ()) -> Term:
    """The term of an API dimension name or ``tag:KEY``.

    Raises:
        ConfigError: an unknown name or a tag key outside :data:`TAG_KEY`.

    Example:
        >>> dimension("tag:cost center").base, dimension("tag:cost center").params
        ('Tags[?]', ('cost center',))
    """
    known = {**DIMENSIONS, **{t.name: t for t in extra}}
    if not isinstance(name, str):
        raise unknown("dimension", name, [*known, "tag:KEY"], key=key)
    if name in known:
        return known[name]
    if name.startswith("tag:"):
        tag = name[4:]
        if not TAG_KEY.fullmatch(tag):
            raise ConfigError(
                f"tag key {shown(tag)} is not valid",
                key=key,
                hint="a tag key is 1-128 letters, digits, spaces or _ . : / = + @ -",
            )
        return Term(name, "Tags[?]", None, (tag,))
    raise unknown("dimension", name, [*known, "tag:KEY"], key=key)


@dataclass(frozen=True)
class CostsRequest:
    """A validated costs request (see :func:`costs_request`)."""

    dims: tuple[Term, ...]
    time: str | None
    start: dt.date | None
    end: dt.date | None
    filters: tuple[tuple[Term, tuple[str, ...]], ...]
    metric: str
    currency: str | None
    limit: int
    offset: int
    order: tuple[int, bool]  # (1-based output column, descending)

    @property
    def columns(self) -> list[str]:
        time = [self.time] if self.time else []
        return [*(d.name for d in self.dims), *time, "currency", "cost"]

    @property
    def needs_allocation(self) -> bool:
        return any(t.allocation for t in (*self.dims, *(f for f, _ in self.filters)))

    @property
    def mart_covered(self) -> bool:
        return all(t.mart is not None for t in (*self.dims, *(f for f, _ in self.filters)))


def _group_by(group_by: Sequence[str], granularity: str) -> tuple[tuple[Term, ...], str | None]:
    names = [n.strip() for part in group_by for n in str(part).split(",") if n.strip()]
    check_choice(granularity, GRANULARITIES, key="granularity")
    time = None if granularity == "total" else granularity
    dims: list[Term] = []
    for name in dict.fromkeys(names):  # de-duplicated, in order
        if name in TIME:
            if time not in (None, name):
                raise ConfigError(
                    f"group_by {name!r} contradicts granularity {granularity!r}",
                    key="granularity",
                    hint="give the time bucket once: in group_by or as granularity",
                )
            time = name
        elif name != "currency":  # every answer is per currency already
            dims.append(dimension(name, key="group_by"))
    if len(dims) > MAX_GROUP_BY:
        raise ConfigError(
            f"{len(dims)} group_by dimensions", key="group_by", hint=f"use at most {MAX_GROUP_BY}"
        )
    return tuple(dims), time


def _filters(
    filters: Mapping[str, Sequence[str]] | None,
) -> tuple[tuple[Term, tuple[str, ...]], ...]:
    out = []
    for name, values in (filters or {}).items():
        term = dimension(name, key="filters", extra=[CURRENCY])
        vals = [values] if isinstance(values, str) else list(values)
        if not vals or len(vals) > MAX_FILTER_VALUES:
            raise ConfigError(
                f"filter {shown(name)} has {len(vals)} values",
                key="filters",
                hint=f"give 1 to {MAX_FILTER_VALUES} values",
            )
        out.append((term, tuple(check_text(v, key=f"filters.{name}") for v in vals)))
    return tuple(out)


def _order(order: str | None, columns: list[str], time: str | None) -> tuple[int, bool]:
    if order is None or not str(order).strip():
        return (columns.index(time) + 1, False) if time else (len(columns), True)
    text = str(order).strip()
    desc = text.startswith("-")
    name = text[1:] if desc else text
    if name not in columns:
        raise unknown("order", text, [*columns, *(f"-{c}" for c in columns)], key="order")
    return columns.index(name) + 1, desc


def costs_request(
    *,
    group_by: Sequence[str] = (),
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    granularity: str = "total",
    filters: Mapping[str, Sequence[str]] | None = None,
    metric: str = "effective",
    currency: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    order: str | None = None,
) -> CostsRequest:
    """Validate every parameter of a costs query (pure; raises :class:`ConfigError`)."""
    dims, time = _group_by(group_by, granularity)
    first, last = parse_date(start, key="start"), parse_date(end, key="end")
    if first and last and first >= last:
        raise ConfigError(
            f"start {first} is not before end {last}",
            key="end",
            hint="end is exclusive: start=2024-09-01&end=2024-10-01 is September",
        )
    check_choice(metric, list(METRICS), key="metric")
    if currency is not None and not CURRENCY_CODE.fullmatch(str(currency)):
        raise ConfigError(
            f"currency {shown(currency)} is not a currency code",
            key="currency",
            hint="give a 3-letter ISO 4217 code such as USD, or leave it out",
        )
    lim, off = check_page(limit, offset)
    columns = [*(d.name for d in dims), *([time] if time else []), "currency", "cost"]
    return CostsRequest(
        dims,
        time,
        first,
        last,
        _filters(filters),
        metric,
        currency,
        lim,
        off,
        _order(order, columns, time),
    )


def _where(req: CostsRequest, scope: Scope, *, mart: bool) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    when = "day" if mart else "ChargePeriodStart"
    for op, day in ((">=", req.start), ("<", req.end)):
        if day is not None:
            parts.append(f"{when} {op} ?")
            params.append(day if mart else dt.datetime.combine(day, dt.time()))
    for term, values in req.filters:
        expr = term.mart if mart and term.mart else term.base
        parts.append(sql_in(expr, values))
        params += [*([] if mart else term.params), *values]
    if not scope.all:
        teams = sorted(scope.teams)
        parts.append(sql_in("team" if mart else "x_Team", teams))
        params += teams
    return " AND ".join(parts) or "TRUE", params


def _inner(
    req: CostsRequest, scope: Scope, *, source: str, extra: Sequence[str] = ()
) -> tuple[str, list[str], list[Any]]:
    """The per-row SELECT of a request over ``source`` (dimensions ``d0, d1, ...``, the time
    bucket ``t``, ``currency``, ``amount`` and ``extra`` items), the outer items over it, and
    its parameters in order."""
    mart = source == MART
    items: list[str] = []
    params: list[Any] = []
    for i, term in enumerate(req.dims):
        items.append(f"{term.mart if mart else term.base} AS d{i}")
        params += [] if mart else list(term.params)
    outer = [f"d{i}" for i in range(len(req.dims))]
    if req.time:
        items.append(f"{TIME[req.time][1 if mart else 0]} AS t")
        outer.append(f"strftime(t, '{_TIME_FORMAT[req.time]}') AS t")
    metric = f"{req.metric}_cost" if mart else METRICS[req.metric]
    items += [f"{CURRENCY.mart if mart else CURRENCY.base} AS currency", f"{metric} AS amount"]
    where, where_params = _where(req, scope, mart=mart)
    inner = f"SELECT {', '.join([*items, *extra])} FROM {source} WHERE {where}"
    return inner, outer, params + where_params


def costs_sql(req: CostsRequest, scope: Scope, *, source: str) -> tuple[str, list[Any]]:
    """The grouped query of a request over ``source`` (``mart_daily``, ``cost`` or
    ``allocated_cost``) and its parameters, in order. Only our own SQL is in the text."""
    inner, outer, params = _inner(req, scope, source=source)
    sql = f"SELECT {', '.join([*outer, 'currency'])}, sum(amount) AS cost FROM ({inner}) AS q GROUP BY ALL"
    return sql, params


def _fx_with(
    req: CostsRequest, scope: Scope, *, source: str, have_rates: bool
) -> tuple[str, list[Any]]:
    """``WITH ... c AS (...)``: per group, charge day and billing currency (``g``) the amount
    and the rate in effect that day for billing currency → ``display`` (``r``, an ASOF join:
    the latest rate dated on or before the day; on one date the pair's own rate before the
    inverted inverse pair's). The display currency is the first parameter."""
    day = "day" if source == MART else "CAST(ChargePeriodStart AS DATE)"
    inner, _, params = _inner(req, scope, source=source, extra=[f"{day} AS fx_day"])
    keys = [f"d{i}" for i in range(len(req.dims))] + (["t"] if req.time else [])
    directed = fx.directed_sql(have_table=have_rates)
    sql = (
        "WITH x AS (SELECT CAST(? AS VARCHAR) AS display), "
        f"q AS ({inner}), "
        f"g AS (SELECT {', '.join([*keys, 'fx_day', 'currency'])}, sum(amount) AS amount "
        "FROM q GROUP BY ALL), "
        f"r AS (SELECT d.* FROM ({directed}) AS d, x WHERE d.to_currency = x.display "
        "QUALIFY row_number() OVER (PARTITION BY d.valid_from, d.from_currency "
        "ORDER BY d.inverse) = 1), "
        "c AS (SELECT g.*, x.display, r.valid_from, r.rate, r.given, r.inverse FROM g CROSS JOIN x "
        "ASOF LEFT JOIN r ON g.currency = r.from_currency AND g.fx_day >= r.valid_from) "
    )
    return sql, [req.currency, *params]


def converted_costs_sql(
    req: CostsRequest, scope: Scope, *, source: str, have_rates: bool = True
) -> tuple[str, list[Any]]:
    """:func:`costs_sql` in the display currency ``req.currency``: each group's amount per
    charge day and billing currency times the rate in effect that day (1 for the display
    currency itself), rounded to 10 decimals, then summed. A row without a rate converts to
    NULL: check :func:`rate_uses` first."""
    with_sql, params = _fx_with(req, scope, source=source, have_rates=have_rates)
    outer = _inner(req, scope, source=source)[1]
    converted = fx.convert_sql("amount", "rate")
    sql = (
        f"{with_sql}SELECT {', '.join([*outer, 'display AS currency'])}, sum(CASE WHEN "
        f"currency = display THEN amount ELSE {converted} END) AS cost FROM c GROUP BY ALL"
    )
    return sql, params


def rate_uses(
    con: Any, req: CostsRequest, scope: Scope, *, source: str
) -> tuple[list[fx.RateUse], bool]:
    """The rates a conversion of ``req`` would use, per billing currency other than the
    display currency (``valid_from`` None: days without a rate), and whether ``fx_rates``
    exists."""
    have = fx.has_rates_table(con)
    with_sql, params = _fx_with(req, scope, source=source, have_rates=have)
    rows = con.execute(
        f"{with_sql}SELECT currency, valid_from, given, coalesce(inverse, FALSE), min(fx_day), "
        "max(fx_day) FROM c WHERE currency IS DISTINCT FROM display GROUP BY ALL",
        params,
    ).fetchall()
    return [fx.RateUse(*r) for r in rows], have


def _order_sql(req: CostsRequest) -> str:
    pos, desc = req.order
    ties = [f"{i} ASC NULLS LAST" for i in range(1, len(req.columns) + 1) if i != pos]
    return ", ".join([f"{pos} {'DESC' if desc else 'ASC'} NULLS LAST", *ties])


def _sums(con: Any, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Per currency: the cost over every group and the number of groups."""
    return [
        tuple(r)
        for r in con.execute(
            f"SELECT currency, sum(cost), count(*) FROM ({sql}) AS g GROUP BY 1 ORDER BY 1", params
        ).fetchall()
    ]


def _source(req: CostsRequest, scope: Scope, state: StoreState, *, stale_ok: bool) -> str:
    if req.mart_covered and usable_mart(state, stale_ok=stale_ok):
        return MART
    return "allocated_cost" if req.needs_allocation or not scope.all else "cost"


def costs(
    con: Any,
    *,
    scope: Scope,
    group_by: Sequence[str] = (),
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    granularity: str = "total",
    filters: Mapping[str, Sequence[str]] | None = None,
    metric: str = "effective",
    currency: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    order: str | None = None,
    state: StoreState | None = None,
    stale_ok: bool = False,
) -> Page:
    """Cost grouped by dimensions (and a time bucket), one line per currency, paged.

    Args:
        group_by: dimension names (:data:`DIMENSIONS`), ``tag:KEY``, ``day`` or ``month``;
            items may be comma-separated.
        start, end: charge days ``[start, end)`` (``ChargePeriodStart``, UTC).
        granularity: ``day``, ``month`` or ``total``.
        filters: dimension (or ``currency``) → allowed values.
        metric: ``effective`` (amortized, default), ``billed``, ``list`` or ``contracted``.
        currency: a display currency: every amount converted at the ``fx_rates`` rate in
            effect on its charge day (:mod:`costline.reports.fx`), per group, day and billing
            currency, rounded to 10 decimals, then summed; one line per group in it. Without
            it: one line per group and billing currency.
        order: an output column, ``-`` for descending (default: time, else ``-cost``).
        state: the store's state when the caller read it already (one read per page).
        stale_ok: the marts may answer while newer data awaits their refresh (``costline
            serve``, which refreshes them after every load); the page's ``stale_as_of`` then
            says as of when.

    Returns:
        The page (columns: dimensions, time, ``currency``, ``cost``) with ``total`` groups
        and ``totals`` per currency over all of them; after a conversion, ``notes`` name the
        rates and dates used per billing currency.

    Raises:
        ConfigError: a parameter outside its allowed values, an allocation dimension without
            a published allocation, or a display currency without a rate for a charge day
            (naming the pair and the first such day).
    """
    req = costs_request(
        group_by=group_by,
        start=start,
        end=end,
        granularity=granularity,
        filters=filters,
        metric=metric,
        currency=currency,
        limit=limit,
        offset=offset,
        order=order,
    )
    state = state or store_state(con)
    if req.needs_allocation:
        what = "grouping or filtering by team, cost center, department or business unit"
        require_allocation(state.published, what)
    note = scope_note(state.published, scope)
    if note:
        return Page(req.columns, [], 0, req.limit, req.offset, notes=(note,))
    source = _source(req, scope, state, stale_ok=stale_ok)
    sql, params = costs_sql(req, scope, source=source)
    sums = _sums(con, sql, params)
    notes: tuple[str, ...] = ()
    if req.currency is not None and {r[0] for r in sums} - {req.currency}:
        uses, have_rates = rate_uses(con, req, scope, source=source)
        notes = fx.conversion_notes(uses, req.currency)
        sql, params = converted_costs_sql(req, scope, source=source, have_rates=have_rates)
        sums = _sums(con, sql, params)
    rows = con.execute(
        f"SELECT * FROM ({sql}) AS g ORDER BY {_order_sql(req)} LIMIT ? OFFSET ?",
        [*params, req.limit, req.offset],
    ).fetchall()
    return Page(
        req.columns,
        [tuple(r) for r in rows],
        sum(int(r[2]) for r in sums),
        req.limit,
        req.offset,
        source=source,
        notes=notes,
        totals={r[0]: r[1] for r in sums},
        stale_as_of=state.refreshed_at if source == MART and not state.mart_current else None,
    )

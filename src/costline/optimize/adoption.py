"""Adoption tracking: was a recommendation acted on, and what did it really save?

A recommendation is *actioned* when later billing data shows the change it asked for
(docs/how-to/tickets.md#adoption):

* **type changed** (``rightsize``, ``previous-generation``): the instance's type on its newest
  billed day is no longer the type it had when it was recommended (``details.current_type``,
  else the bill's type on the day it was first seen); the action day is the first day billed
  with another type after the last day billed with the old one;
* **volume type changed** (``gp2-to-gp3``): the volume's newest usage is no longer gp2;
* **resource gone** (every rule): the resource has no charge for the last :data:`GONE_DAYS`
  days of the bill (three, so that a dev instance stopped over a weekend does not count); the
  action day is the day after its last charge. When telemetry of the resource exists, whether
  its samples stopped too is noted as corroboration;
* **Kubernetes requests** (kind ``k8s-requests``) from the ``k8s_samples`` table and
  **commitment purchases** (kind ``commitment``) from the bill's ``CommitmentDiscount*``
  columns: :mod:`costline.optimize.adoption_k8s` and
  :mod:`costline.optimize.adoption_commitments`, which :func:`detect`, :func:`remeasured` and
  :func:`report` dispatch to by kind.

**Realized savings** come from the bill, never from the estimate: the resource's effective
cost per calendar day over the :data:`BASELINE_DAYS` days before the action day (fewer when it
started later) minus its cost per day after the action day (the action day itself is a
transition day and counts on neither side), times :data:`DAYS_PER_MONTH`. Each tracking run
re-measures an adoption until it has :data:`MEASURE_DAYS` days after the action, so early
figures settle as the bill fills in. :func:`realized_in_month` is the money actually saved
inside one calendar month: the sum over that month's days after the action of
``baseline − that day's cost``.

The module reads the bill (SQL over ``cost``) and decides in plain Python per resource. The
recommendations and the recorded adoptions live in the state store
(:mod:`costline.storage.state.recommendations`): the façade
(:meth:`costline.workspace.Workspace.tickets_sync`) reads them from there, hands them in
(:func:`tracked_from`; the resource ids reach DuckDB as a temporary table, see
:func:`bill_days`), runs :func:`detect` before it plans tickets, and stores what comes out
(:func:`adoption_row`, :func:`remeasured`).

Example:
    >>> import datetime as dt
    >>> days = {dt.date(2026, 9, d): Decimal(10) for d in range(1, 8)}
    >>> days |= {dt.date(2026, 9, d): Decimal(4) for d in range(8, 15)}
    >>> baseline, after, n = measure(days, dt.date(2026, 9, 8), dt.date(2026, 9, 14))
    >>> baseline, after, n, monthly(baseline, after)
    (Decimal('10'), Decimal('4'), 6, Decimal('182.62'))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costline.optimize.rightsizing import INSTANCE_TYPE_SQL
from costline.optimize.tickets import COMMITMENT, K8S_REQUESTS
from costline.optimize.waste import DAYS_PER_MONTH  # 365.25 / 12, as the waste estimates

GONE_DAYS = 3
BASELINE_DAYS = 14
MEASURE_DAYS = 30
CENT = Decimal("0.01")
TYPE_RULES = ("rightsize", "previous-generation")
VOLUME_RULES = ("gp2-to-gp3",)

# gp2 / gp3 / io1 ... of an EBS volume-usage row (AWS usage types end in VolumeUsage.<type>).
VOLUME_TYPE_SQL = (
    "CASE WHEN x_UsageType LIKE '%VolumeUsage%' THEN "
    "coalesce(nullif(regexp_extract(x_UsageType, 'VolumeUsage\\.([A-Za-z0-9]+)$', 1), ''), "
    "'standard') END"
)


@dataclass(frozen=True)
class Tracked:
    """What detection needs of one stored recommendation."""

    id: str
    kind: str
    rule: str
    resource_id: str
    team: str | None
    account: str | None
    first_seen: dt.datetime
    estimated_monthly: Decimal
    current_type: str | None
    ticket_key: str | None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Adoption:
    """One detected action and its measured savings (``after_daily`` None: no full day after
    the action billed yet)."""

    rec: Tracked
    # type-changed | volume-type-changed | resource-gone | requests-lowered | commitment-purchased
    action: str
    action_date: dt.date
    from_state: str | None
    to_state: str | None
    evidence: str
    baseline_daily: Decimal | None
    after_daily: Decimal | None
    after_days: int

    @property
    def realized_monthly(self) -> Decimal | None:
        if self.baseline_daily is None or self.after_daily is None:
            return None
        return monthly(self.baseline_daily, self.after_daily)


def monthly(baseline_daily: Decimal, after_daily: Decimal) -> Decimal:
    """Savings per average month (365.25 / 12 days) from two daily costs, to the cent."""
    return ((baseline_daily - after_daily) * DAYS_PER_MONTH).quantize(CENT)


def measure(
    daily: Mapping[dt.date, Decimal], action: dt.date, last_bill_day: dt.date
) -> tuple[Decimal | None, Decimal | None, int]:
    """Cost per day before ``action`` (up to :data:`BASELINE_DAYS` calendar days, from the
    resource's first charge when it started later) and after it (``action`` excluded, through
    ``last_bill_day``), and the number of days after. Days without a charge count as zero."""
    first = min(daily) if daily else action
    start = max(action - dt.timedelta(days=BASELINE_DAYS), first)
    before_days = (action - start).days
    baseline = (
        sum((c for d, c in daily.items() if start <= d < action), Decimal(0)) / before_days
        if before_days > 0
        else None
    )
    after_days = max((last_bill_day - action).days, 0)
    after = (
        sum((c for d, c in daily.items() if action < d <= last_bill_day), Decimal(0)) / after_days
        if after_days > 0
        else None
    )
    return baseline, after, after_days


def realized_in_month(
    daily: Mapping[dt.date, Decimal],
    baseline: Decimal,
    action: dt.date,
    month_start: dt.date,
    month_end: dt.date,
    last_bill_day: dt.date,
) -> Decimal:
    """Money saved inside ``[month_start, month_end)``: each billed day after ``action`` saves
    ``baseline − that day's cost``."""
    lo = max(month_start, action + dt.timedelta(days=1))
    hi = min(month_end, last_bill_day + dt.timedelta(days=1))
    days = (hi - lo).days
    if days <= 0:
        return Decimal(0)
    spent = sum((c for d, c in daily.items() if lo <= d < hi), Decimal(0))
    return baseline * days - spent


# -- reading the bill ----------------------------------------------------------------------
@dataclass
class _Days:
    """One resource's bill by day: cost, dominant instance type, volume type."""

    cost: dict[dt.date, Decimal]
    itype: dict[dt.date, str]
    vtype: dict[dt.date, str]


def last_bill_day(con: Any, *, as_of: dt.date | None = None) -> dt.date | None:
    """The newest day with any charge (before ``as_of`` when given)."""
    sql = "SELECT max(CAST(ChargePeriodStart AS DATE)) FROM cost"
    params: list[Any] = []
    if as_of is not None:
        sql += " WHERE ChargePeriodStart < ?"
        params.append(dt.datetime.combine(as_of, dt.time()))
    row = con.execute(sql, params).fetchone()
    return row[0] if row and row[0] is not None else None


def bill_days(
    con: Any, resource_ids: Sequence[str], *, since: dt.date, until: dt.date
) -> dict[str, _Days]:
    """Daily cost, instance type and volume type of each resource (lower-cased id) over
    ``[since, until]``; the type of a day is the one with the most cost that day."""
    out: dict[str, _Days] = {}
    if not resource_ids:
        return out
    con.execute("CREATE OR REPLACE TEMP TABLE _adopt_ids (rid VARCHAR PRIMARY KEY)")
    try:
        con.executemany(
            "INSERT OR IGNORE INTO _adopt_ids VALUES (?)", [(r.lower(),) for r in resource_ids]
        )
        rows = con.execute(
            "SELECT lower(c.ResourceId), CAST(c.ChargePeriodStart AS DATE) AS day, "
            "sum(c.EffectiveCost), "
            f"arg_max({INSTANCE_TYPE_SQL}, abs(c.EffectiveCost)) FILTER "
            f"(WHERE {INSTANCE_TYPE_SQL} IS NOT NULL), "
            f"arg_max({VOLUME_TYPE_SQL}, abs(c.EffectiveCost)) FILTER "
            f"(WHERE {VOLUME_TYPE_SQL} IS NOT NULL) "
            "FROM cost c JOIN _adopt_ids i ON i.rid = lower(c.ResourceId) "
            "WHERE c.ChargePeriodStart >= ? AND c.ChargePeriodStart < ? GROUP BY 1, 2",
            [
                dt.datetime.combine(since, dt.time()),
                dt.datetime.combine(until + dt.timedelta(days=1), dt.time()),
            ],
        ).fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS _adopt_ids")
    for rid, day, cost, itype, vtype in rows:
        d = out.setdefault(rid, _Days({}, {}, {}))
        d.cost[day] = Decimal(cost)
        if itype:
            d.itype[day] = itype
        if vtype:
            d.vtype[day] = vtype
    return out


def telemetry_last_sample(con: Any, resource_ids: Sequence[str]) -> dict[str, dt.datetime]:
    """Newest telemetry sample per resource (lower-cased id); empty without telemetry."""
    has = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'telemetry'"
    ).fetchone()
    if not has or not has[0] or not resource_ids:
        return {}
    wanted = sorted({r.lower() for r in resource_ids})
    got = con.execute(
        'SELECT lower(resource_id), max("timestamp") FROM telemetry '
        "WHERE list_contains(?, lower(resource_id)) GROUP BY 1",
        [wanted],
    ).fetchall()
    return {r[0]: r[1] for r in got}


# -- detection -----------------------------------------------------------------------------
def _changed(
    states: Mapping[dt.date, str], ref: str | None, first: dt.date
) -> tuple[dt.date, str, str] | None:
    """When the newest state differs from ``ref`` (or from the state on ``first``): the
    first day after the last day in the old state, the old state and the new one."""
    if not states:
        return None
    newest = states[max(states)]
    if ref is None or not any(s.lower() == ref.lower() for s in states.values()):
        known = [d for d in states if d <= first]  # the bill never showed ``ref``: use its own
        if not known:
            return None
        ref = states[max(known)]
    if newest.lower() == ref.lower():
        return None
    last_old = max(d for d, s in states.items() if s.lower() == ref.lower())
    later = [d for d in states if d > last_old]
    return (min(later), ref, newest) if later else None


def detect_one(
    rec: Tracked,
    days: _Days | None,
    *,
    last_day: dt.date,
    telemetry_last: dt.datetime | None = None,
    telemetry_end: dt.datetime | None = None,
) -> Adoption | None:
    """The action the bill shows for ``rec`` since it was first seen, or None (the bill may
    lag the clock: its newest day stands in for a later first-seen day)."""
    first = min(rec.first_seen.date(), last_day)
    cost = days.cost if days else {}
    found: tuple[str, dt.date, str | None, str | None, str] | None = None
    last_charge = max(cost) if cost else None
    if last_charge is None or (last_day - last_charge).days >= GONE_DAYS:
        gone_from = last_charge + dt.timedelta(days=1) if last_charge else first
        note = f"no charge since {gone_from.isoformat()}"
        if telemetry_last is not None and telemetry_end is not None:
            stopped = telemetry_last.date() < telemetry_end.date()
            note += (
                f"; telemetry stopped on {telemetry_last.date().isoformat()}"
                if stopped
                else "; telemetry still arriving"
            )
        found = ("resource-gone", gone_from, None, None, note)
    elif days is not None and rec.rule in TYPE_RULES:
        change = _changed(days.itype, rec.current_type, first)
        if change:
            day, old, new = change
            found = ("type-changed", day, old, new, f"billed as {new} since {day.isoformat()}")
    elif days is not None and rec.rule in VOLUME_RULES:
        change = _changed(days.vtype, "gp2", first)
        if change:
            day, old, new = change
            found = ("volume-type-changed", day, old, new, f"billed as {new} since {day}")
    if found is None:
        return None
    what, on, was, became, evidence = found
    if on < first - dt.timedelta(days=BASELINE_DAYS):
        return None  # the change predates the recommendation's own window: a stale row
    baseline, after, after_days = measure(cost, on, last_day)
    return Adoption(rec, what, on, was, became, evidence, baseline, after, after_days)


def _utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at


def tracked_from(recs: Iterable[Any]) -> list[Tracked]:
    """Stored recommendations (:class:`costline.storage.state.Recommendation`, or anything with
    its attributes; normally those ``open`` or ``ticketed``) as detection inputs, by id. The
    estimate is the one on the ticket, else the latest."""
    out = []
    for r in sorted(recs, key=lambda r: str(r.id)):
        details = r.details or {}
        estimate = r.ticket_savings if r.ticket_savings is not None else r.monthly_savings
        out.append(
            Tracked(
                id=r.id,
                kind=r.kind,
                rule=r.rule,
                resource_id=r.resource_id,
                team=r.team,
                account=r.account,
                first_seen=_utc(r.first_seen),
                estimated_monthly=Decimal(estimate),
                current_type=details.get("current_type"),
                ticket_key=r.ticket_key,
                details=dict(details),
            )
        )
    return out


@dataclass(frozen=True)
class Detection:
    """What the bill shows: ``adoptions`` found, and the ids of recommendations whose resource
    is missing from the newest bill day but not yet for :data:`GONE_DAYS` days (``waiting``:
    neither actioned nor expired yet)."""

    adoptions: list[Adoption]
    waiting: set[str]


def detect(con: Any, recs: Sequence[Tracked], *, as_of: dt.date | None = None) -> Detection:
    """Actions the data shows for ``recs`` (bill and samples up to the day before ``as_of``):
    Kubernetes request recommendations from the samples
    (:mod:`costline.optimize.adoption_k8s`), commitment purchases from the bill's commitment
    columns (:mod:`costline.optimize.adoption_commitments`), the others from the bill."""
    from costline.optimize import adoption_commitments, adoption_k8s

    k8s = [r for r in recs if r.kind == K8S_REQUESTS]
    bought = [r for r in recs if r.kind == COMMITMENT]
    billed = [r for r in recs if r.kind not in (K8S_REQUESTS, COMMITMENT)]
    found = _detect_billed(con, billed, as_of=as_of)
    for more in (
        adoption_k8s.detect(con, k8s, as_of=as_of),
        adoption_commitments.detect(con, bought, as_of=as_of),
    ):
        found.adoptions.extend(more.adoptions)
        found.waiting.update(more.waiting)
    return found


def _detect_billed(con: Any, recs: Sequence[Tracked], *, as_of: dt.date | None = None) -> Detection:
    """Actions the bill shows for resource recommendations (rightsizing, waste)."""
    last_day = last_bill_day(con, as_of=as_of)
    if last_day is None or not recs:
        return Detection([], set())
    first = min(min(r.first_seen.date() for r in recs), last_day)
    since = first - dt.timedelta(days=BASELINE_DAYS + 1)
    ids = [r.resource_id for r in recs]
    days = bill_days(con, ids, since=since, until=last_day)
    tel = telemetry_last_sample(con, ids)
    tel_end = max(tel.values()) if tel else None
    out, waiting = [], set()
    for rec in recs:
        rid = rec.resource_id.lower()
        got = days.get(rid)
        found = detect_one(
            rec, got, last_day=last_day, telemetry_last=tel.get(rid), telemetry_end=tel_end
        )
        if found is not None:
            out.append(found)
        elif got is not None and last_day not in got.cost:
            waiting.add(rec.id)
    return Detection(out, waiting)


def adoption_row(a: Adoption) -> dict[str, Any]:
    """What the store records of one adoption (``adoptions`` columns, without the times)."""
    r = a.rec
    return {
        "rec_id": r.id,
        "action_date": a.action_date,
        "resource_id": r.resource_id,
        "kind": r.kind,
        "rule": r.rule,
        "team": r.team,
        "account": r.account,
        "action": a.action,
        "from_state": a.from_state,
        "to_state": a.to_state,
        "evidence": a.evidence,
        "estimated_monthly": r.estimated_monthly,
        "baseline_daily": a.baseline_daily,
        "after_daily": a.after_daily,
        "after_days": a.after_days,
        "realized_monthly": a.realized_monthly,
        "ticket_key": r.ticket_key,
    }


def measured(
    a: Any, baseline: Decimal | None, after: Decimal | None, after_days: int
) -> dict[str, Any]:
    """One re-measured adoption ``a`` (a stored adoption with ``rec_id`` and ``action_date``)
    as the store's ``update_measures`` takes it, with its realized monthly savings."""
    realized = monthly(baseline, after) if baseline is not None and after is not None else None
    return {
        "rec_id": a.rec_id,
        "action_date": a.action_date,
        "baseline_daily": baseline,
        "after_daily": after,
        "after_days": after_days,
        "realized_monthly": realized,
    }


def remeasured(
    con: Any,
    pending: Sequence[Any],
    *,
    as_of: dt.date | None = None,
    details: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Measure again adoptions that had fewer than :data:`MEASURE_DAYS` days after their
    action (the bill has grown since): ``pending`` are stored adoption records (``rec_id``,
    ``action_date``, ``resource_id``, ``kind``, ``to_state``); returns their new measurements
    for the store. ``details``: recommendation id → its details (the unit prices of a
    Kubernetes request recommendation)."""
    from costline.optimize import adoption_commitments, adoption_k8s

    k8s = [a for a in pending if a.kind == K8S_REQUESTS]
    bought = [a for a in pending if a.kind == COMMITMENT]
    billed = [a for a in pending if a.kind not in (K8S_REQUESTS, COMMITMENT)]
    return (
        _remeasured_billed(con, billed, as_of=as_of)
        + adoption_k8s.remeasured(con, k8s, details or {}, as_of=as_of)
        + adoption_commitments.remeasured(con, bought, as_of=as_of)
    )


def _remeasured_billed(
    con: Any, pending: Sequence[Any], *, as_of: dt.date | None = None
) -> list[dict[str, Any]]:
    last_day = last_bill_day(con, as_of=as_of)
    if last_day is None or not pending:
        return []
    since = min(a.action_date for a in pending) - dt.timedelta(days=BASELINE_DAYS + 1)
    days = bill_days(con, [a.resource_id for a in pending], since=since, until=last_day)
    out = []
    for a in pending:
        found = days.get(a.resource_id.lower())
        baseline, after, after_days = measure(found.cost if found else {}, a.action_date, last_day)
        out.append(measured(a, baseline, after, after_days))
    return out


__all__ = [
    "Adoption",
    "Detection",
    "Tracked",
    "adoption_row",
    "detect",
    "detect_one",
    "measure",
    "measured",
    "monthly",
    "realized_in_month",
    "remeasured",
    "tracked_from",
]


# -- the monthly savings report ------------------------------------------------------------
REPORT_COLUMNS = (
    "team",
    "recommended",
    "estimated_monthly",
    "actioned",
    "dismissed",
    "adopted_pct",
    "actioned_estimated_monthly",
    "realized_monthly",
    "realization_pct",
    "realized_in_month",
)
DETAIL_COLUMNS = (
    "team",
    "resource_id",
    "kind",
    "rule",
    "action",
    "action_date",
    "from_state",
    "to_state",
    "ticket_key",
    "estimated_monthly",
    "realized_monthly",
    "realized_in_month",
    "days_measured",
    "counted",
)
NO_TEAM = "(no team)"


@dataclass(frozen=True)
class Live:
    """A recommendation that was live during the month, with its adoption if any."""

    id: str
    team: str
    resource_id: str
    kind: str
    rule: str
    status: str
    estimated: Decimal
    ticket_key: str | None
    action: str | None
    action_date: dt.date | None
    from_state: str | None
    to_state: str | None
    baseline: Decimal | None
    realized_monthly: Decimal | None
    after_days: int


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """``2026-10`` → (2026-10-01, 2026-11-01).

    Raises:
        ConfigError: not a ``YYYY-MM`` month.
    """
    from costline.core.errors import ConfigError

    try:
        start = dt.datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise ConfigError(
            f"{month!r} is not a month", hint="write the month as YYYY-MM, e.g. 2026-10"
        ) from None
    end = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, end


def live_in_month(
    recs: Iterable[Any], adoptions: Iterable[Any], start: dt.date, end: dt.date
) -> list[Live]:
    """Recommendations first seen before ``end`` and not resolved before ``start`` (resolved:
    actioned on its action day, expired or dismissed on its last update), with their newest
    adoption, by team and id. ``recs`` and ``adoptions`` are the store's records (or anything
    with their attributes)."""
    start_at = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    end_at = dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC)
    newest: dict[str, Any] = {}
    for a in adoptions:
        if a.rec_id not in newest or a.action_date > newest[a.rec_id].action_date:
            newest[a.rec_id] = a
    out = []
    for r in recs:
        a = newest.get(r.id)
        if _utc(r.first_seen) >= end_at:
            continue
        if a is not None and a.action_date < start:
            continue
        resolved = r.status in ("expired", "dismissed", "actioned")
        if a is None and resolved and _utc(r.updated_at) < start_at:
            continue
        estimates = (a.estimated_monthly if a else None, r.ticket_savings, r.monthly_savings)
        out.append(
            Live(
                id=r.id,
                team=r.team if r.team is not None else NO_TEAM,
                resource_id=r.resource_id,
                kind=r.kind,
                rule=r.rule,
                status=r.status,
                estimated=Decimal(next(e for e in estimates if e is not None)),
                ticket_key=a.ticket_key if a and a.ticket_key is not None else r.ticket_key,
                action=a.action if a else None,
                action_date=a.action_date if a is not None and a.action_date < end else None,
                from_state=a.from_state if a else None,
                to_state=a.to_state if a else None,
                baseline=a.baseline_daily if a else None,
                realized_monthly=a.realized_monthly if a else None,
                after_days=a.after_days if a else 0,
            )
        )
    return sorted(out, key=lambda r: (r.team, r.id))


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole * 100).quantize(Decimal("0.1")) if whole else None


def report(
    con: Any,
    month: str,
    recs: Iterable[Any],
    adoptions: Iterable[Any],
    *,
    team: str | None = None,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """``costline savings report``: one row per team plus ``TOTAL`` (columns
    :data:`REPORT_COLUMNS`) and one detail row per actioned recommendation
    (:data:`DETAIL_COLUMNS`), for the recommendations live during ``month``. ``recs`` and
    ``adoptions`` come from the state store; ``con`` reads the bill.

    ``adopted_pct`` is actioned / recommended by count; ``realization_pct`` is realized /
    estimated monthly savings of the actioned ones; ``realized_in_month`` is money saved within
    the month according to the bill (:func:`realized_in_month`). Money counts each resource
    once: a resource with two recommendations (say idle and rightsize) adds its largest
    estimate and, once actioned, its realized savings once (detail column ``counted``).
    """
    start, end = month_bounds(month)
    recs = list(recs)
    live = [r for r in live_in_month(recs, adoptions, start, end) if team is None or r.team == team]
    done = [r for r in live if r.action_date is not None]
    in_month: dict[str, Decimal] = dict.fromkeys((r.id for r in done), Decimal(0))
    details = {r.id: r.details for r in recs}
    for rid, (daily, baseline, action, last_day) in _daily_series(con, done, details).items():
        in_month[rid] = realized_in_month(daily, baseline, action, start, end, last_day).quantize(
            CENT
        )
    counted = {r.id for r in _once(done)}
    detail = [
        (
            r.team,
            r.resource_id,
            r.kind,
            r.rule,
            r.action,
            r.action_date,
            r.from_state,
            r.to_state,
            r.ticket_key,
            r.estimated,
            r.realized_monthly,
            in_month[r.id],
            r.after_days,
            r.id in counted,
        )
        for r in sorted(done, key=lambda r: (r.team, -(r.realized_monthly or 0), r.id))
    ]
    rows = []
    groups: dict[str, list[Live]] = {}
    for r in live:
        groups.setdefault(r.team, []).append(r)
    for name, recs in [*sorted(groups.items()), ("TOTAL", live)]:
        acted = [r for r in recs if r.action_date is not None]
        estimated = sum((r.estimated for r in _once(recs)), Decimal(0))
        acted_once = _once(acted)
        acted_estimated = sum((r.estimated for r in acted_once), Decimal(0))
        realized = sum((r.realized_monthly or Decimal(0) for r in acted_once), Decimal(0))
        rows.append(
            (
                name,
                len(recs),
                estimated.quantize(CENT),
                len(acted),
                sum(1 for r in recs if r.status == "dismissed"),
                _pct(Decimal(len(acted)), Decimal(len(recs))),
                acted_estimated.quantize(CENT),
                realized.quantize(CENT),
                _pct(realized, acted_estimated),
                sum((in_month[r.id] for r in acted_once), Decimal(0)).quantize(CENT),
            )
        )
    return rows, detail


def _daily_series(
    con: Any, done: Sequence[Live], details: Mapping[str, Any]
) -> dict[str, tuple[dict[dt.date, Decimal], Decimal, dt.date, dt.date]]:
    """Per measured adoption: what :func:`realized_in_month` needs (the daily cost, the
    baseline, the action day, the newest measured day). A resource's daily cost comes from the
    bill; a Kubernetes container's is its request cost from the samples
    (:func:`costline.optimize.adoption_k8s.request_costs`); a commitment's is ``paid −
    on-demand`` per day with a zero baseline, so ``baseline − cost`` is the day's saving
    (:mod:`costline.optimize.adoption_commitments`)."""
    from costline.optimize import adoption_commitments, adoption_k8s

    measured: list[tuple[Live, Decimal, dt.date]] = []
    for r in done:
        if r.baseline is not None and r.action_date is not None:
            measured.append((r, r.baseline, r.action_date))
    last_day = last_bill_day(con)
    if not measured or last_day is None:
        return {}
    since = min(a for _, _, a in measured) - dt.timedelta(days=BASELINE_DAYS + 1)
    out = {}
    billed = [m for m in measured if m[0].kind not in (K8S_REQUESTS, COMMITMENT)]
    days = bill_days(con, [r.resource_id for r, _, _ in billed], since=since, until=last_day)
    for r, baseline, action in billed:
        got = days.get(r.resource_id.lower())
        out[r.id] = (got.cost if got else {}, baseline, action, last_day)
    k8s = [m for m in measured if m[0].kind == K8S_REQUESTS]
    costs = adoption_k8s.request_costs(
        con, [(r.resource_id, details.get(r.id)) for r, _, _ in k8s], since=since
    )
    for r, baseline, action in k8s:
        cost, newest = costs[r.resource_id.lower()]
        if newest is not None:
            out[r.id] = (cost, baseline, action, newest)
    for r, _, action in (m for m in measured if m[0].kind == COMMITMENT):
        ids = [c for c in (r.to_state or "").split(",") if c]
        paid = adoption_commitments.daily_paid(con, ids, since=action, until=last_day)
        net = {d: cost - on_demand for d, (on_demand, cost) in paid.items()}
        out[r.id] = (net, Decimal(0), action, last_day)
    return out


def _once(recs: Sequence[Live]) -> list[Live]:
    """One recommendation per resource: the largest estimate (then the smallest id)."""
    best: dict[str, Live] = {}
    for r in sorted(recs, key=lambda r: (-r.estimated, r.id)):
        best.setdefault(r.resource_id.lower(), r)
    return list(best.values())

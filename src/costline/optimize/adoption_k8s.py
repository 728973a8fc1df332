"""Adoption of Kubernetes request recommendations (kind ``k8s-requests``), read from the
``k8s_samples`` table instead of the bill (docs/how-to/tickets.md#adoption).

A recommendation stores the container's requests as it saw them (``details.cpu_request``,
``memory_request_gib``: pod-hour weighted over its 14-day window), the recommended ones and
the cluster's unit prices. Per day of samples the container's request is the pod-hour
weighted mean of its samples' requests that day. A day has **moved** when, for a resource the
recommendation lowers, the request is at most halfway between the old and the recommended
value::

    cpu_day ≤ old_cpu − (old_cpu − recommended_cpu) / 2    (only when recommended_cpu < old_cpu)
    mem_day ≤ old_mem − (old_mem − recommended_mem) / 2    (likewise; either one is enough)

The recommendation is **actioned** (``requests-lowered``) when the newest sample day of the
container has moved; the action day is the first moved day after the last day that had not
(a change made and undone is no action). The workload is **gone** when it has no samples on
the last :data:`~costline.optimize.adoption.GONE_DAYS` days of its cluster's samples: actioned
as ``resource-gone`` from the day after its last sample, as the bill-based rule does (its
requests no longer hold capacity). Either day must be on or after the day the recommendation
was first seen, or the end of the window it was computed on when that is earlier (samples may
lag the clock); an earlier change is not an adoption of it.

**Realized savings** are measured like the bill-based rules (:func:`adoption.measure`), on
the container's daily *request cost* instead of its bill: ``Σ (cpu_request × core-hours ×
cpu price + memory_request × GiB-hours × memory price)`` over the day's samples, at the unit
prices stored with the recommendation; days without samples cost zero; the baseline is the
14 days before the action day, the after side the days after it through the cluster's newest
sample day.

Example:
    >>> moved(0.5, 1.2, old=(1.0, 2.0), recommended=(0.2, 1.15))
    True
    >>> moved(0.7, 1.9, old=(1.0, 2.0), recommended=(0.2, 1.15))
    False
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costline.optimize.adoption import (
    BASELINE_DAYS,
    GONE_DAYS,
    Adoption,
    Detection,
    Tracked,
    measure,
    measured,
)
from costline.optimize.k8s_requests import GIB, WORKLOAD_SQL

Key = tuple[str, str, str, str]  # cluster, namespace, workload, container
HOURS_PLACES = Decimal("0.000001")  # core-hours and GiB-hours of a day, before pricing


@dataclass
class Requests:
    """One container's samples by day: mean CPU (cores) and memory (GiB) requests, and the
    core-hours and GiB-hours requested."""

    cpu: dict[dt.date, float | None] = field(default_factory=dict)
    mem: dict[dt.date, float | None] = field(default_factory=dict)
    cpu_hours: dict[dt.date, Decimal] = field(default_factory=dict)
    mem_hours: dict[dt.date, Decimal] = field(default_factory=dict)

    def cost(self, prices: tuple[Decimal, Decimal] | None) -> dict[dt.date, Decimal]:
        """The request cost per day at ``(price per core-hour, per GiB-hour)``."""
        if prices is None:
            return {}
        p_cpu, p_mem = prices
        return {d: h * p_cpu + self.mem_hours[d] * p_mem for d, h in self.cpu_hours.items()}


def key_of(resource_id: str, details: Mapping[str, Any] | None = None) -> Key:
    """The container of a recommendation: from its details, else its ``cluster/namespace/
    workload[/container]`` resource id."""
    d = details or {}
    names = ("cluster", "namespace", "workload", "container")
    if all(d.get(n) is not None for n in names):  # a samples file may leave container empty
        return (str(d["cluster"]), str(d["namespace"]), str(d["workload"]), str(d["container"]))
    parts = resource_id.split("/")
    if len(parts) not in (3, 4):
        raise ValueError(f"{resource_id!r} is not cluster/namespace/workload[/container]")
    return (parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else "")


def prices_of(details: Mapping[str, Any] | None) -> tuple[Decimal, Decimal] | None:
    """The unit prices stored with a recommendation, or None."""
    d = details or {}
    cpu, mem = d.get("cpu_price_per_core_hour"), d.get("memory_price_per_gib_hour")
    if cpu is None or mem is None:
        return None
    return Decimal(str(cpu)), Decimal(str(mem))


def moved(
    cpu: float | None,
    mem: float | None,
    *,
    old: tuple[float | None, float | None],
    recommended: tuple[float | None, float | None],
) -> bool:
    """Whether a day's requests went at least halfway from ``old`` toward ``recommended``, on
    a resource the recommendation lowers (an unknown request never counts)."""
    for now, was, target in ((cpu, old[0], recommended[0]), (mem, old[1], recommended[1])):
        if now is None or was is None or target is None or target >= was:
            continue
        if now <= was - (was - target) / 2:
            return True
    return False


# -- reading the samples -------------------------------------------------------------------
def _has_samples(con: Any) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_name = 'k8s_samples'"
    ).fetchone()
    return bool(row and row[0])


def last_sample_days(con: Any, *, as_of: dt.date | None = None) -> dict[str, dt.date]:
    """The newest sample day of each cluster (samples starting before ``as_of`` only)."""
    if not _has_samples(con):
        return {}
    sql = "SELECT cluster, max(CAST(window_start AS DATE)) FROM k8s_samples"
    params: list[Any] = []
    if as_of is not None:
        sql += " WHERE window_start < ?"
        params.append(dt.datetime.combine(as_of, dt.time()))
    return {str(r[0]): r[1] for r in con.execute(sql + " GROUP BY 1", params).fetchall()}


def sample_days(
    con: Any, keys: Iterable[Key], *, since: dt.date, until: dt.date
) -> dict[Key, Requests]:
    """The daily requests of each container over ``[since, until]``."""
    wanted = sorted(set(keys))
    out: dict[Key, Requests] = {}
    if not wanted or not _has_samples(con):
        return out
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _adopt_k8s (cluster VARCHAR, namespace VARCHAR, "
        "workload VARCHAR, container VARCHAR)"
    )
    try:
        con.executemany("INSERT INTO _adopt_k8s VALUES (?, ?, ?, ?)", wanted)
        rows = con.execute(
            "SELECT cluster, namespace, workload, container, CAST(window_start AS DATE), "
            "sum(cpu_request * window_hours), "
            "sum(window_hours) FILTER (WHERE cpu_request IS NOT NULL), "
            f"sum(memory_request * window_hours) / {GIB!r}, "
            "sum(window_hours) FILTER (WHERE memory_request IS NOT NULL) "
            f"FROM (SELECT *, {WORKLOAD_SQL} AS workload FROM k8s_samples "
            "WHERE window_start >= ? AND window_start < ?) s "
            "JOIN _adopt_k8s USING (cluster, namespace, workload, container) "
            "GROUP BY 1, 2, 3, 4, 5",
            [
                dt.datetime.combine(since, dt.time()),
                dt.datetime.combine(until + dt.timedelta(days=1), dt.time()),
            ],
        ).fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS _adopt_k8s")
    for cluster, ns, workload, container, day, cpu_h, cpu_w, mem_h, mem_w in rows:
        r = out.setdefault((cluster, ns, workload, container), Requests())
        r.cpu[day] = float(cpu_h) / float(cpu_w) if cpu_h is not None and cpu_w else None
        r.mem[day] = float(mem_h) / float(mem_w) if mem_h is not None and mem_w else None
        r.cpu_hours[day] = _hours(cpu_h)
        r.mem_hours[day] = _hours(mem_h)
    return out


def _hours(x: Any) -> Decimal:
    return Decimal(0) if x is None else Decimal(repr(float(x))).quantize(HOURS_PLACES)


# -- detection -----------------------------------------------------------------------------
def reference_day(rec: Tracked, last_day: dt.date) -> dt.date:
    """The first day an action may count for ``rec``: the day it was first seen, or the end
    of the samples' window it was computed on when earlier; without that end, the bill-based
    rules' guard (first seen, at most the newest day, minus the baseline)."""
    first = rec.first_seen.date()
    end = rec.details.get("window_end")
    if end:
        return min(first, dt.datetime.fromisoformat(str(end)).date())
    return min(first, last_day) - dt.timedelta(days=BASELINE_DAYS)


def _fmt(x: float | None) -> str:
    return "?" if x is None else f"{round(float(x), 4):g}"


def _lowered(rec: Tracked, days: Requests) -> tuple[dt.date, str, str, str] | None:
    """(action day, from, to, evidence) when the newest day moved, else None."""
    d = rec.details
    old = (d.get("cpu_request"), d.get("memory_request_gib"))
    target = (d.get("cpu_recommended"), d.get("memory_recommended_gib"))
    state = {
        day: moved(days.cpu[day], days.mem[day], old=old, recommended=target) for day in days.cpu
    }
    newest = max(state)
    unmoved = [day for day, m in state.items() if not m]
    if not state[newest] or not unmoved:
        return None
    day = min(x for x in state if x > max(unmoved))
    was = f"cpu {_fmt(old[0])}, memory {_fmt(old[1])} GiB"
    now = f"cpu {_fmt(days.cpu[newest])}, memory {_fmt(days.mem[newest])} GiB"
    evidence = (
        f"requests {was} → {now} since {day.isoformat()} (recommended cpu "
        f"{_fmt(target[0])}, memory {_fmt(target[1])} GiB)"
    )
    return day, was, now, evidence


def detect_one(rec: Tracked, days: Requests | None, *, last_day: dt.date) -> Adoption | None:
    """The action the samples show for ``rec`` (``last_day``: its cluster's newest sample
    day), or None."""
    if days is None or not days.cpu:
        return None  # no samples for a month before it: gone before it was recommended
    seen = max(days.cpu)
    found: tuple[str, dt.date, str | None, str | None, str] | None = None
    if (last_day - seen).days >= GONE_DAYS:
        gone_from = seen + dt.timedelta(days=1)
        note = f"no Kubernetes samples since {gone_from.isoformat()}"
        found = ("resource-gone", gone_from, None, None, note)
    else:
        change = _lowered(rec, days)
        if change:
            found = ("requests-lowered", *change)
    if found is None:
        return None
    what, on, was, became, evidence = found
    if on < reference_day(rec, last_day):
        return None  # the change predates the recommendation: not its adoption
    baseline, after, after_days = measure(days.cost(prices_of(rec.details)), on, last_day)
    return Adoption(rec, what, on, was, became, evidence, baseline, after, after_days)


def detect(con: Any, recs: Sequence[Tracked], *, as_of: dt.date | None = None) -> Detection:
    """Actions the samples show for Kubernetes request recommendations (samples before
    ``as_of``); ``waiting``: those whose container is missing from its cluster's newest
    sample day, but not yet for :data:`GONE_DAYS` days."""
    lasts = last_sample_days(con, as_of=as_of)
    keyed = [(r, key_of(r.resource_id, r.details)) for r in recs]
    keyed = [(r, k) for r, k in keyed if k[0] in lasts]
    if not keyed:
        return Detection([], set())
    first = min(reference_day(r, lasts[k[0]]) for r, k in keyed)
    since = first - dt.timedelta(days=BASELINE_DAYS + 1)
    days = sample_days(con, [k for _, k in keyed], since=since, until=max(lasts.values()))
    out, waiting = [], set()
    for rec, key in keyed:
        got = days.get(key)
        found = detect_one(rec, got, last_day=lasts[key[0]])
        if found is not None:
            out.append(found)
        elif got is not None and lasts[key[0]] not in got.cpu:
            waiting.add(rec.id)
    return Detection(out, waiting)


def request_costs(
    con: Any,
    items: Sequence[tuple[str, Mapping[str, Any] | None]],
    *,
    since: dt.date,
    as_of: dt.date | None = None,
) -> dict[str, tuple[dict[dt.date, Decimal], dt.date | None]]:
    """Per resource id (lower-cased; ``items``: resource id and the recommendation's details):
    the daily request cost at its stored prices from ``since``, and its cluster's newest
    sample day (None: no samples of the cluster)."""
    lasts = last_sample_days(con, as_of=as_of)
    keys = {rid: key_of(rid, details) for rid, details in items}
    until = max(lasts.values()) if lasts else since
    days = sample_days(con, keys.values(), since=since, until=until)
    out = {}
    for rid, details in items:
        key = keys[rid]
        got = days.get(key)
        out[rid.lower()] = (got.cost(prices_of(details)) if got else {}, lasts.get(key[0]))
    return out


def remeasured(
    con: Any,
    pending: Sequence[Any],
    details: Mapping[str, Mapping[str, Any]],
    *,
    as_of: dt.date | None = None,
) -> list[dict[str, Any]]:
    """New measurements of stored ``k8s-requests`` adoptions (``rec_id``, ``action_date``,
    ``resource_id``), at the prices in their recommendation's ``details`` (by id)."""
    if not pending:
        return []
    since = min(a.action_date for a in pending) - dt.timedelta(days=BASELINE_DAYS + 1)
    costs = request_costs(
        con, [(a.resource_id, details.get(a.rec_id)) for a in pending], since=since, as_of=as_of
    )
    out = []
    for a in pending:
        cost, last_day = costs[a.resource_id.lower()]
        if last_day is None:
            continue
        baseline, after, after_days = measure(cost, a.action_date, last_day)
        out.append(measured(a, baseline, after, after_days))
    return out


__all__ = [
    "Requests",
    "detect",
    "detect_one",
    "key_of",
    "last_sample_days",
    "moved",
    "prices_of",
    "reference_day",
    "remeasured",
    "request_costs",
    "sample_days",
]

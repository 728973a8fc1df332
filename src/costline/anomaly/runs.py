"""Runs of the resources of one series: how long each resource has been spending.

A resource's **run** is a stretch of consecutive days with spend. Its **length** is counted in
full days of its own cost: Σ cost / the run's largest day (a job started at 18:00 and stopped
30 hours later is 1.25 days, whatever the instance costs).

The engine's "seen before" test (:func:`costline.anomaly.engine._flags`) uses this to tell a
recurring job from one left running: a spike to a daily level the series already reached is a
pattern, unless some resource's current run is longer than every run that ended in the
lookback by more than :data:`MARGIN_DAYS` (a training job that ran four days where earlier
ones ran at most two and a half). Runs that began with the data, or before the lookback, are
of unknown length and are not compared.

Where the bill gives a resource's **running hours** per day (instance-hours; see the engine),
a job's day is compared at its **full-day rate**, cost × 24 / hours: an 8-GPU job's first full
day ($705) repeats an earlier 8-GPU job that ran 20 hours of one day ($588, $29.39 an hour
either way), where its daily cost alone would be a new level.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

# How much longer than the longest run that ended (in full days of its own cost) a current
# run must be to be new: a day, so that a job a few hours longer than the last is not.
MARGIN_DAYS = 1.0
# How many more jobs may run at once than ever ran at once before (see jobs_repeat): one, so
# that a second training job beside the usual one is a repeat and a scale-out of many new
# instances is not.
EXTRA_JOBS = 1
# The fewest running hours of a day that is scaled to a full day's rate (see full_day).
MIN_HOURS = 1.0


def length(costs: np.ndarray) -> float:
    """A run's length in full days of its own cost (Σ / max; 0 for no spend)."""
    peak = float(costs.max()) if len(costs) else 0.0
    return float(costs.sum()) / peak if peak > 0 else 0.0


def full_day(costs: np.ndarray, hours: np.ndarray | None) -> np.ndarray:
    """Each day's cost at its full-day rate: cost × 24 / running hours where a day ran for
    part of it (:data:`MIN_HOURS` ≤ hours < 24); the cost itself where the hours are unknown
    (NaN), a whole day or more (several instances under one id), or under an hour (a
    minute's cost, rounded to the cent, says little about a day's).

    Example:
        >>> full_day(np.array([587.74, 705.29, 3.0]), np.array([20.0, 24.0, np.nan])).round(2).tolist()
        [705.29, 705.29, 3.0]
    """
    if hours is None:
        return costs
    with np.errstate(invalid="ignore", divide="ignore"):
        partial = (hours >= MIN_HOURS) & (hours < 24)
        return np.where(partial, costs * 24.0 / np.where(partial, hours, 1.0), costs)


def spans(costs: np.ndarray) -> list[tuple[int, int]]:
    """The runs of one resource: ``(first, last)`` bucket of every stretch of spend."""
    spend = np.concatenate([[False], costs > 0, [False]])
    edges = np.flatnonzero(spend[1:] != spend[:-1])
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


class Runs:
    """The runs of every resource of a series (``matrix``: resources × days of cost), found
    once; the questions below ask about them as seen on a day ``t`` (a run going on past
    ``t`` is on at ``t`` and as long as it was then). ``hours``: the running hours of each
    resource and day (NaN: unknown), for the full-day rates of :meth:`jobs_repeat`."""

    def __init__(self, matrix: np.ndarray, hours: np.ndarray | None = None) -> None:
        self.matrix = matrix
        self.rates = full_day(matrix, hours)
        self._spans = [spans(row) for row in matrix]

    def jobs(self, t: int, known_from: int) -> Iterator[tuple[np.ndarray, int, int]]:
        """``(row, first, last)`` of each run that started after ``known_from`` and by ``t``,
        ``last`` cut at ``t``."""
        for row, _, first, last in self._jobs(t, known_from):
            yield row, first, last

    def _jobs(self, t: int, known_from: int) -> Iterator[tuple[np.ndarray, np.ndarray, int, int]]:
        """As :meth:`jobs`, with the row's full-day rates: ``(row, rates, first, last)``."""
        for row, rates, found in zip(self.matrix, self.rates, self._spans, strict=True):
            for first, last in found:
                if known_from < first <= t:
                    yield row, rates, first, min(last, t)

    def at(self, t: int, known_from: int) -> tuple[list[float], list[tuple[float, float]]]:
        """The lengths of the jobs that ended before day ``t``, and (length, cost on ``t``)
        of those on at ``t``."""
        ended: list[float] = []
        current: list[tuple[float, float]] = []
        for row, first, last in self.jobs(t, known_from):
            n = length(row[first : last + 1])
            if last == t:
                current.append((n, float(row[t])))
            else:
                ended.append(n)
        return ended, current

    def outrun(self, t: int, known_from: int) -> bool | None:
        """Whether a resource is on a run through day ``t`` longer than every run that ended
        before ``t`` by more than :data:`MARGIN_DAYS`; None when that cannot be told: no run
        ended, or none is on. Only runs that started after ``known_from`` (the first day whose
        start is seen: the data's start or the lookback's, whichever is later) count."""
        ended, current = self.at(t, known_from)
        if not ended or not current:
            return None
        return max(n for n, _ in current) > max(ended) + MARGIN_DAYS

    def outrunning(self, t: int, known_from: int) -> float:
        """What the runs :meth:`outrun` finds cost on day ``t``: the spend of jobs left
        running (0 when there is none)."""
        ended, current = self.at(t, known_from)
        if not ended:
            return 0.0
        return sum(cost for n, cost in current if n > max(ended) + MARGIN_DAYS)

    def jobs_repeat(self, x: np.ndarray, t: int, known_from: int, margin: float) -> bool | None:
        """Whether day ``t`` of the series (``x``, its daily cost) repeats its jobs, although
        the day's total is a new level: every run on at ``t`` that started after
        ``known_from`` (a job) costs a day at most ``1 + margin`` times the largest day of a
        job that ended, both at their full-day rates (:func:`full_day`); no more jobs run at
        once than ever ran at once before plus :data:`EXTRA_JOBS`; and the rest of the series
        (``x`` less the jobs) is at most ``1 + margin`` times its largest day since
        ``known_from``. None when no job ended or none is on."""
        jobs = np.zeros(t + 1)
        running = np.zeros(t + 1, dtype=int)
        peak_ended = 0.0
        on: list[float] = []
        for row, rates, first, last in self._jobs(t, known_from):
            jobs[first : last + 1] += row[first : last + 1]
            running[first : last + 1] += 1
            if last == t:
                on.append(float(rates[t]))
            else:
                peak_ended = max(peak_ended, float(rates[first : last + 1].max()))
        if not on or peak_ended <= 0:
            return None
        rest = x[known_from + 1 : t + 1] - jobs[known_from + 1 :]
        past = rest[:-1][~np.isnan(rest[:-1])]
        return bool(
            max(on) <= (1 + margin) * peak_ended
            and len(on) <= int(running[known_from + 1 : t].max(initial=0)) + EXTRA_JOBS
            and (
                np.isnan(rest[-1]) or not len(past) or rest[-1] <= (1 + margin) * max(past.max(), 0)
            )
        )


def outrun(matrix: np.ndarray, t: int, known_from: int) -> bool | None:
    """:meth:`Runs.outrun` of ``matrix`` (resources × days of cost)."""
    return Runs(matrix).outrun(t, known_from)


def outrunning(matrix: np.ndarray, t: int, known_from: int) -> float:
    """:meth:`Runs.outrunning` of ``matrix``."""
    return Runs(matrix).outrunning(t, known_from)


def jobs_repeat(
    matrix: np.ndarray,
    x: np.ndarray,
    t: int,
    known_from: int,
    margin: float,
    hours: np.ndarray | None = None,
) -> bool | None:
    """:meth:`Runs.jobs_repeat` of ``matrix`` (``hours``: its running hours, NaN unknown)."""
    return Runs(matrix, hours).jobs_repeat(x, t, known_from, margin)


def as_matrix(
    resources: Sequence[tuple[Sequence[int], Sequence[float | None]]],
    n_buckets: int,
    missing: float = 0.0,
) -> np.ndarray:
    """Resources × buckets from ``(days, values)`` per resource (days without a value, and
    None values: ``missing``): the cost matrix (0), or the running hours (NaN)."""
    out = np.full((len(resources), n_buckets), missing)
    for r, (days, values) in enumerate(resources):
        out[r, np.asarray(days, dtype=int)] = np.array(
            [missing if v is None else v for v in values], dtype=float
        )
    return out

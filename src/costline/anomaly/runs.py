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
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# How much longer than the longest run that ended (in full days of its own cost) a current
# run must be to be new: a day, so that a job a few hours longer than the last is not.
MARGIN_DAYS = 1.0


def length(costs: np.ndarray) -> float:
    """A run's length in full days of its own cost (Σ / max; 0 for no spend)."""
    peak = float(costs.max()) if len(costs) else 0.0
    return float(costs.sum()) / peak if peak > 0 else 0.0


def spans(costs: np.ndarray) -> list[tuple[int, int]]:
    """The runs of one resource: ``(first, last)`` bucket of every stretch of spend."""
    spend = np.concatenate([[False], costs > 0, [False]])
    edges = np.flatnonzero(spend[1:] != spend[:-1])
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def outrun(matrix: np.ndarray, t: int, known_from: int) -> bool | None:
    """Whether a resource of ``matrix`` (resources × days of cost) is on a run through day
    ``t`` longer than every run that ended before ``t`` by more than :data:`MARGIN_DAYS`;
    None when that cannot be told: no run ended, or none is on. Only runs that started after
    ``known_from`` (the first day whose start is seen: the data's start or the lookback's,
    whichever is later) count, current or ended."""
    ended: list[float] = []
    current: list[float] = []
    for row in matrix[:, : t + 1]:
        for first, last in spans(row):
            if first <= known_from:
                continue
            (current if last == t else ended).append(length(row[first : last + 1]))
    if not ended or not current:
        return None
    return max(current) > max(ended) + MARGIN_DAYS


def as_matrix(
    resources: Sequence[tuple[Sequence[int], Sequence[float]]], n_buckets: int
) -> np.ndarray:
    """Resources × buckets of cost from ``(days, amounts)`` per resource (missing days: 0)."""
    out = np.zeros((len(resources), n_buckets))
    for r, (days, amounts) in enumerate(resources):
        out[r, np.asarray(days, dtype=int)] = np.asarray(amounts, dtype=float)
    return out

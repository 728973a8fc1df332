"""A streaming anomaly detector for metric series: context novelty + anomaly likelihood.

Every quantity at row ``t`` uses rows ``0..t`` only (causal), so scoring a whole history and
scoring a stream point by point give the same numbers. Pure numpy. Three steps:

1. **Raw score: how new is the recent shape?** The *context* of row ``t`` is its last
   ``context`` values, averaged into ``segments`` equal pieces (piecewise aggregate
   approximation, PAA). Its distance to the nearest context among the past ``history`` rows
   that does not overlap it (a *left matrix profile*, Yeh et al. 2016, on PAA vectors;
   the nearest-neighbour idea of KNN-CAD / CAD-OSE) is

   ``d_t = min_j ‖C_t − C_j‖ / √segments``,  ``t − history ≤ j ≤ t − context``,

   divided by the range ``max − min`` of all values before ``t``, so series of any unit
   compare. ``raw_t = min(1, d_t / (range · raw_scale))``. A pattern seen before (a daily
   cycle, a recurring batch job) scores low however large it is; a spike, a level shift, a
   changed shape or a missing daily peak scores high.
2. **Anomaly likelihood** (Ahmad et al. 2017, Numenta's ``anomaly_likelihood``): is the
   recent raw score unusual *for this series*? With ``m_t`` the mean of the last ``short``
   raw scores and ``μ, σ`` the mean and standard deviation of those averages ``m`` over the
   previous ``history`` rows (σ floored at ``min_std``),

   ``z_t = (m_t − μ) / σ``,  ``likelihood_t = Φ(z_t)`` (the normal CDF).

   As in Numenta's estimator, the distribution is that of the *averaged* scores (the ones
   being compared), it is estimated from live rows only (the warm-up rows have no raw score;
   counting them as zeros made σ tiny and raised an alert just after every warm-up), and the
   likelihood stays 0.5 until ``estimation`` live rows exist. A noisy series raises its own
   μ and σ and so needs a larger raw score to alarm.
3. **New extremes** (the "spatial anomaly" rule of Numenta's NAB detector): a value outside
   the range of all past values by more than ``novelty`` × that range sets the likelihood to
   ``1 − 10⁻⁶`` (no shape history needed to see a value never reached before).
4. **Stuck values**: a run of identical values (a flat line: a stalled collector, a
   counter stuck at zero, a key held down) longer than any earlier run of the series, and at
   least ``stuck`` rows long, sets the likelihood to ``1 − 10⁻⁶`` too. It is the new-extreme
   rule applied to run length. The novelty of step 1 cannot see it when the series has been
   flat before, however briefly: a flat context matches an earlier flat context at any
   length. A missing value ends a run; a run that began in the first ``min_history`` rows
   is not judged (a series flat from its first rows is just flat).

The score is the likelihood on a log scale, ``score = −log10(1 − likelihood + 10⁻¹⁰) / 10``
in ``[0, 1)`` (0.13 at likelihood 0.95, 0.6 at 1 − 10⁻⁶), as NAB's Numenta detectors
report it. An **alert** is a row whose likelihood reaches ``alert`` and that comes at least
``refractory`` rows after the previous alert: one alert per episode, later rows of the same
episode are not repeated. The first ``min_history`` rows only learn (score 0, no alert);
the likelihood then needs ``estimation`` more rows before it leaves 0.5 (only a new extreme
alerts sooner).
Missing values (NaN) carry the last value forward for the context and never score.

Parameters and where they come from:

* ``context`` 24 rows, ``segments`` 6: two hours of 5-minute data in 20-minute pieces.
* ``history`` 1000 rows, ``alert`` 0.95, ``novelty`` 0.05: **chosen on the NAB corpus**
  (development data, ``benchmarks/anomaly/nab_run.py``; grid of 3–4 values each). The
  held-out ``ms-cloud-monitoring`` set was never used to choose anything.
* ``short`` 10 (Numenta's averaging window), ``estimation`` 100 (Numenta's
  ``estimationSamples``), ``min_std`` 0.05, ``raw_scale`` 0.5, ``refractory`` 288 rows (a day
  of 5-minute data), ``min_history`` 100, ``stuck`` 12 (half the context): fixed a priori,
  checked on NAB only for being in a flat region (``estimation`` 50–288 moves the standard
  score by at most 0.1, ``stuck`` 6–48 by at most 0.15).

Sources: S. Ahmad, A. Lavin, S. Purdy, Z. Agha, "Unsupervised real-time anomaly detection
for streaming data", Neurocomputing 262 (2017) (anomaly likelihood, spatial anomaly);
C.-C. M. Yeh et al., "Matrix Profile I", ICDM 2016 (nearest-neighbour subsequence distance,
the left/streaming variant); E. Keogh et al., "Dimensionality reduction for fast similarity
search", KAIS 3 (2001) (PAA); M. Smirnov / NAB's ``contextOSE`` and ``knncad`` detector
descriptions (contextual nearest-neighbour novelty). Written from these descriptions; no code
was copied.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["StreamingConfig", "StreamScores", "alert_onsets", "log_score", "score_stream"]

NOVEL_LIKELIHOOD = 1.0 - 1e-6
_LOG_EPS = 1e-10
_BLOCK = 256  # rows scored together in the nearest-neighbour search (memory: block × history)


@dataclass(frozen=True)
class StreamingConfig:
    """The detector's parameters, in rows (see the module docstring for their origin)."""

    context: int = 24
    segments: int = 6
    history: int = 1000
    short: int = 10
    raw_scale: float = 0.5
    min_std: float = 0.05
    novelty: float = 0.05
    alert: float = 0.95
    refractory: int = 288
    min_history: int = 100
    estimation: int = 100
    stuck: int = 12

    def __post_init__(self) -> None:
        if self.context < 1 or self.segments < 1 or self.context % self.segments:
            raise ValueError(
                f"context ({self.context}) must be a positive multiple of segments"
                f" ({self.segments})"
            )
        if (
            self.history <= self.context
            or min(self.short, self.min_history, self.estimation, self.stuck) < 1
        ):
            raise ValueError(
                "history must exceed context; short, min_history, estimation and stuck must be ≥ 1"
            )
        if not 0.5 < self.alert < 1.0:
            raise ValueError(f"alert is a likelihood in (0.5, 1), got {self.alert}")


@dataclass(frozen=True)
class StreamScores:
    """Per row: the raw novelty, the likelihood's ``z``, the likelihood, its log score, the
    value of the nearest past context's last row (``expected``, NaN when none) and whether the
    row is an alert. Rows in warm-up or with a missing value have raw 0, z 0, likelihood 0.5,
    score 0."""

    raw: np.ndarray
    z: np.ndarray
    likelihood: np.ndarray
    score: np.ndarray
    expected: np.ndarray
    alert: np.ndarray


def log_score(likelihood: np.ndarray | float) -> np.ndarray:
    """``−log10(1 − likelihood + 1e−10) / 10``, clipped to ``[0, 0.999999]``.

    Example:
        >>> [round(float(s), 4) for s in log_score(np.array([0.5, 0.95, 1 - 1e-6]))]
        [0.0301, 0.1301, 0.6]
    """
    lik = np.asarray(likelihood, dtype=float)
    score = -np.log10(1.0 - lik + _LOG_EPS) / 10.0
    return np.asarray(np.clip(score, 0.0, 0.999999))


def score_stream(
    values: Sequence[float] | np.ndarray, config: StreamingConfig | None = None
) -> StreamScores:
    """Score every row of ``values`` against its own past (see the module docstring)."""
    cfg = config or StreamingConfig()
    raw_values = np.asarray(values, dtype=float)
    n = len(raw_values)
    missing = np.isnan(raw_values)
    x = _carry_forward(raw_values)
    lo, hi = _past_range(x)
    spread = hi - lo
    distance, nearest = _nearest_context(x, cfg)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(
            spread > 0, distance / (spread * cfg.raw_scale), np.where(distance > 0, 1, 0)
        )
    live = (np.arange(n) >= cfg.min_history) & ~missing
    raw = np.where(live & ~np.isnan(rel), np.minimum(rel, 1.0), 0.0)
    z = _likelihood_z(raw, cfg)
    z = np.where(live, z, 0.0)
    likelihood = 0.5 * _erfc(-z / math.sqrt(2.0))
    with np.errstate(invalid="ignore"):
        beyond = np.maximum(x - hi, lo - x) > cfg.novelty * spread
    novel = live & (beyond | _record_runs(raw_values, cfg.stuck, cfg.min_history))
    likelihood = np.where(novel, np.maximum(likelihood, NOVEL_LIKELIHOOD), likelihood)
    likelihood = np.where(live, likelihood, 0.5)
    score = np.where(live, log_score(likelihood), 0.0)
    expected = np.full(n, np.nan)
    has = nearest >= 0
    expected[has] = x[nearest[has]]
    alert = alert_onsets(likelihood >= cfg.alert, cfg.refractory)
    return StreamScores(raw, z, likelihood, score, expected, alert)


def alert_onsets(over: np.ndarray, refractory: int) -> np.ndarray:
    """Rows where ``over`` holds at least ``refractory`` rows after the previous such row.

    Example:
        >>> alert_onsets(np.array([1, 1, 0, 1, 1, 0, 1], dtype=bool), 3).tolist()
        [True, False, False, False, True, False, False]
    """
    out = np.zeros(len(over), dtype=bool)
    last = -refractory - 1
    for t in np.flatnonzero(over):
        if t - last > refractory:
            out[t], last = True, int(t)
    return out


def _carry_forward(x: np.ndarray) -> np.ndarray:
    """NaN → the last known value (the first known value before it; zeros if none)."""
    known = ~np.isnan(x)
    if not known.any():
        return np.zeros_like(x)
    index = np.where(known, np.arange(len(x)), 0)
    np.maximum.accumulate(index, out=index)
    out = x[index]
    out[: int(np.argmax(known))] = x[int(np.argmax(known))]
    return out


def _past_range(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of the rows before each row (the first row: itself)."""
    if len(x) == 0:
        return x.copy(), x.copy()
    lo = np.concatenate([x[:1], np.minimum.accumulate(x)[:-1]])
    hi = np.concatenate([x[:1], np.maximum.accumulate(x)[:-1]])
    return lo, hi


def _record_runs(x: np.ndarray, shortest: int, first: int) -> np.ndarray:
    """Rows inside a run of identical values that began at row ``first`` or later and is, by
    that row, at least ``shortest`` rows long and longer than every run that ended before it
    began (NaN ends a run).

    Example:
        >>> x = np.array([1, 1, 2, 3, 3, 3, 4, 4, 4, 4.0])
        >>> _record_runs(x, 3, 1).astype(int).tolist()
        [0, 0, 0, 0, 0, 1, 0, 0, 0, 1]
        >>> _record_runs(x, 3, 4).astype(int).tolist()
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    """
    n = len(x)
    rows = np.arange(n)
    same = np.zeros(n, dtype=bool)
    same[1:] = x[1:] == x[:-1]
    start = np.where(same, 0, rows)
    np.maximum.accumulate(start, out=start)
    length = rows - start + 1  # length of the current run up to and including this row
    longest = np.maximum.accumulate(length)
    before = np.where(start > 0, longest[np.maximum(start - 1, 0)], 0)
    return np.asarray((start >= first) & (length >= shortest) & (length > before))


def _nearest_context(x: np.ndarray, cfg: StreamingConfig) -> tuple[np.ndarray, np.ndarray]:
    """Distance (RMS over segments) from each row's PAA context to the nearest
    non-overlapping past context within ``history`` rows, and that context's last row
    (NaN / −1 where there is none yet)."""
    n, m, p = len(x), cfg.context, cfg.segments
    distance = np.full(n, np.nan)
    nearest = np.full(n, -1, dtype=np.int64)
    seg = m // p
    if n < 2 * m:
        return distance, nearest
    pieces = sliding_window_view(x, seg).mean(axis=1)  # pieces[i] = mean x[i : i + seg]
    # context ending at row t (t ≥ m − 1): the p pieces starting at t − m + 1 + k·seg
    ends = np.arange(m - 1, n)
    paa = np.stack([pieces[ends - m + 1 + k * seg] for k in range(p)], axis=1)
    first = m - 1  # row of paa[0]
    for t0 in range(2 * m - 1, n, _BLOCK):
        t1 = min(n, t0 + _BLOCK)
        j0, j1 = max(first, t0 - cfg.history), t1 - m + 1  # candidate rows j0 .. j1 − 1
        rows = np.arange(t0, t1)[:, None]
        cand = np.arange(j0, j1)[None, :]
        gap = (
            (paa[t0 - first : t1 - first, None, :] - paa[None, j0 - first : j1 - first]) ** 2
        ).sum(axis=2)
        gap[(cand > rows - m) | (cand < rows - cfg.history)] = np.inf
        best = np.argmin(gap, axis=1)
        distance[t0:t1] = np.sqrt(gap[np.arange(t1 - t0), best] / p)
        nearest[t0:t1] = j0 + best
    return distance, nearest


def _likelihood_z(raw: np.ndarray, cfg: StreamingConfig) -> np.ndarray:
    """``(m_t − μ) / max(σ, min_std)`` with ``m_t`` the mean of the last ``short`` live raw
    scores and ``μ, σ`` the mean and standard deviation of ``m`` over the live rows among the
    ``history`` rows before the current one; 0 until ``estimation`` such rows exist."""
    n = len(raw)
    if n == 0:
        return raw.copy()
    rows = np.arange(n)
    first = np.minimum(cfg.min_history, rows)  # warm-up rows hold no raw score
    total = np.concatenate([[0.0], np.cumsum(raw)])
    start = np.maximum(first, rows + 1 - cfg.short)
    recent = (total[rows + 1] - total[start]) / (rows + 1 - start)
    m_total = np.concatenate([[0.0], np.cumsum(recent)])
    m_squares = np.concatenate([[0.0], np.cumsum(recent * recent)])
    lo = np.maximum(first, rows - cfg.history)
    count = rows - lo
    size = np.maximum(count, 1)
    mean = (m_total[rows] - m_total[lo]) / size
    var = np.maximum((m_squares[rows] - m_squares[lo]) / size - mean * mean, 0.0)
    z = (recent - mean) / np.maximum(np.sqrt(var), cfg.min_std)
    return np.asarray(np.where(count >= cfg.estimation, z, 0.0))


_erfc = np.vectorize(math.erfc, otypes=[float])

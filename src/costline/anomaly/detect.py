"""Robust, causal anomaly scoring of one series (pure numpy).

Each point is compared with what its own past predicts, never with the future, so the same
code scores a stream as it arrives (``costline watch``) and a whole history. This robust
z-score scores the daily cost series (:mod:`costline.anomaly.engine`); ``scan`` and
``nab_scores`` (metric series of any interval) use the streaming detector of
:mod:`costline.anomaly.streaming` instead:

1. **Baseline**: the median of the recent history (``window`` points). When the series has a
   season (7 for daily cost, a day for sub-daily data) and at least ``min_seasons`` of them
   in the history, the median of the same phase in past seasons instead: Mondays against
   Mondays.
2. **Scale**: the MAD of the history (seasonal: of its seasonal differences, / √2) × 1.4826,
   the normal consistency constant, floored at ``rel_floor`` of the baseline level so a flat series
   does not turn every cent of noise into an infinite z.
3. **Robust z-score** ``z = (x − baseline) / scale``; the score is ``1 − exp(−|z| / z_scale)``
   in [0, 1), monotonic in |z|.
4. **Level shift**: when ``shift_after`` consecutive points deviate by more than ``shift_z``
   in the same direction, the series has moved: the history restarts at the first of them
   (re-baselining), so a permanent step alerts once, not forever. A CUSUM/PELT change-point
   pass over whole histories is in :mod:`costline.anomaly.changepoint` (planned).

References: Rousseeuw & Croux (1993) for the MAD and its 1.4826 constant; Hochenbaum,
Vallis & Kejariwal (2017, Twitter's S-H-ESD) for robust seasonal baselines.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from costline.anomaly.streaming import StreamingConfig, score_stream

MAD_TO_SIGMA = 1.4826
# scan: the likelihood z of an alert at medium sensitivity, Φ⁻¹(0.95) (the NAB-chosen 0.95).
_ALERT_Z_MEDIUM = 1.6448536269514722


@dataclass(frozen=True)
class DetectorConfig:
    """How a series is scored (defaults suit daily cost; ``for_interval`` adapts them)."""

    window: int = 56
    season: int | None = 7
    min_history: int = 7
    min_seasons: int = 3
    rel_floor: float = 0.01
    abs_floor: float = 1e-9
    z_scale: float = 6.0
    shift_after: int = 5
    shift_z: float = 3.0

    @classmethod
    def for_interval(cls, seconds: float) -> DetectorConfig:
        """Defaults for a sampling interval: daily data gets a weekly season, hourly and
        finer data a daily one (a window of two days, at most 2,016 points)."""
        if seconds >= 86_400:
            return cls()
        per_day = max(1, round(86_400 / seconds))
        return cls(
            window=min(2 * per_day, 2016),
            season=per_day if per_day > 1 else None,
            min_history=min(per_day, 96),
            min_seasons=2,
            shift_after=max(5, per_day // 24),
        )


@dataclass(frozen=True)
class Scored:
    """A scored series: per point the baseline, scale, robust z and score (NaN/0 in cold start)."""

    expected: np.ndarray
    scale: np.ndarray
    z: np.ndarray
    score: np.ndarray
    rebaselined: list[int]


def score_series(values: Sequence[float] | np.ndarray, config: DetectorConfig) -> Scored:
    """Score every point of ``values`` against its own past (see the module docstring).

    One series at a time is faster point by point (:func:`_score_one`); many series of equal
    length are faster together (:func:`score_matrix`). Both compute the same numbers.
    """
    return _score_one(values, config)


def score_matrix(values: np.ndarray, config: DetectorConfig) -> list[Scored]:
    """:func:`score_series` for many series of equal length at once (one row each).

    The same arithmetic, vectorized over the rows for each time step, so 10,000 daily series
    cost about as much as a few hundred scored one by one.
    """
    x = np.asarray(values, dtype=float)
    rows, n = x.shape
    expected = np.full((rows, n), np.nan)
    scale = np.full((rows, n), np.nan)
    z = np.zeros((rows, n))
    start = np.zeros(rows, dtype=np.int64)
    run_sign = np.zeros(rows, dtype=np.int64)
    run_len = np.zeros(rows, dtype=np.int64)
    rebaselined: list[list[int]] = [[] for _ in range(rows)]
    season = config.season
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: handled by the counts
        for t in range(n):
            first = max(0, t - config.window)
            hist = x[:, first:t].copy()
            cols = np.arange(first, t)
            hist[cols[None, :] < start[:, None]] = np.nan
            known = (~np.isnan(hist)).sum(axis=1)
            live = (known >= config.min_history) & ~np.isnan(x[:, t])
            if not live.any():
                continue
            base = np.nanmedian(hist, axis=1)
            spread = MAD_TO_SIGMA * np.nanmedian(np.abs(hist - base[:, None]), axis=1)
            if season:
                span = t - np.maximum(start, first)
                same = hist[:, ((t - cols) % season) == 0]
                diffs = hist[:, season:] - hist[:, :-season]
                seasonal = (
                    (span >= season * config.min_seasons)
                    & ((~np.isnan(same)).sum(axis=1) >= config.min_seasons)
                    & ((~np.isnan(diffs)).sum(axis=1) >= min(config.min_history, season))
                )
                if seasonal.any():
                    d_med = np.nanmedian(diffs, axis=1)
                    d_mad = np.nanmedian(np.abs(diffs - d_med[:, None]), axis=1)
                    base = np.where(seasonal, np.nanmedian(same, axis=1), base)
                    spread = np.where(seasonal, MAD_TO_SIGMA * d_mad / math.sqrt(2), spread)
            s = np.maximum(np.maximum(spread, config.rel_floor * np.abs(base)), config.abs_floor)
            zt = np.where(live, (x[:, t] - base) / s, 0.0)
            expected[live, t], scale[live, t], z[:, t] = base[live], s[live], zt
            sign = np.where(zt > config.shift_z, 1, np.where(zt < -config.shift_z, -1, 0))
            grown = np.where(sign != 0, np.where(sign == run_sign, run_len + 1, 1), 0)
            run_len = np.where(live, grown, run_len)
            run_sign = np.where(live, sign, run_sign)
            shifted = live & (run_len >= config.shift_after)
            for r in np.flatnonzero(shifted):
                start[r] = t - run_len[r] + 1
                rebaselined[r].append(int(start[r]))
            run_len[shifted], run_sign[shifted] = 0, 0
    score = 1.0 - np.exp(-np.abs(z) / config.z_scale)
    return [Scored(expected[r], scale[r], z[r], score[r], rebaselined[r]) for r in range(rows)]


def _score_one(values: Sequence[float] | np.ndarray, config: DetectorConfig) -> Scored:
    """One series, one point at a time (tests compare it with :func:`score_matrix`)."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    expected = np.full(n, np.nan)
    scale = np.full(n, np.nan)
    z = np.zeros(n)
    start = 0
    run_sign, run_len = 0, 0
    rebaselined: list[int] = []
    for t in range(n):
        lo = max(start, t - config.window)
        hist = x[lo:t]
        hist = hist[~np.isnan(hist)]
        if len(hist) < config.min_history or math.isnan(x[t]):
            continue
        base, spread = _baseline(x, lo, t, config)
        s = max(spread, config.rel_floor * abs(base), config.abs_floor)
        expected[t], scale[t] = base, s
        z[t] = (x[t] - base) / s
        sign = 1 if z[t] > config.shift_z else -1 if z[t] < -config.shift_z else 0
        run_len = run_len + 1 if sign and sign == run_sign else (1 if sign else 0)
        run_sign = sign
        if run_len >= config.shift_after:
            start = t - run_len + 1
            rebaselined.append(start)
            run_sign, run_len = 0, 0
    score = 1.0 - np.exp(-np.abs(z) / config.z_scale)
    return Scored(expected, scale, z, score, rebaselined)


def _baseline(x: np.ndarray, lo: int, t: int, config: DetectorConfig) -> tuple[float, float]:
    """The baseline of point ``t`` and the robust spread (σ-equivalent) of its history.

    Seasonal: the median of the same phase in past seasons, and the MAD of the seasonal
    differences ``x_i − x_{i−season}`` / √2 (the noise of one point, trend and season removed).
    Otherwise: the history's median and MAD.
    """
    hist = x[lo:t]
    season = config.season
    if season and (t - lo) >= season * config.min_seasons:
        same = x[t - season : (lo - 1 if lo else None) : -season]
        same = same[~np.isnan(same)]
        diffs = hist[season:] - hist[:-season]
        diffs = diffs[~np.isnan(diffs)]
        if len(same) >= config.min_seasons and len(diffs) >= min(config.min_history, season):
            mad = float(np.median(np.abs(diffs - np.median(diffs))))
            return float(np.median(same)), MAD_TO_SIGMA * mad / math.sqrt(2)
    clean = hist[~np.isnan(hist)]
    base = float(np.median(clean))
    return base, MAD_TO_SIGMA * float(np.median(np.abs(clean - base)))


def interval_seconds(timestamps: Sequence[object]) -> float:
    """The series' sampling interval: the median gap between consecutive timestamps
    (datetimes, aware or naive, or anything numpy reads as ``datetime64``)."""
    if len(timestamps) < 2:
        return 86_400.0
    if all(isinstance(t, dt.datetime) for t in timestamps):
        ts = np.array([t.timestamp() for t in timestamps])  # type: ignore[attr-defined]
    else:
        ts = np.asarray(timestamps, dtype="datetime64[s]").astype(np.int64).astype(float)
    return float(np.median(np.diff(ts)))


def nab_scores(timestamps: Sequence[object], values: Sequence[float]) -> list[float]:
    """Scores for the NAB harness (``benchmarks/anomaly``), as an alerting system emits them.

    The streaming detector (:mod:`costline.anomaly.streaming`, default parameters): each
    row's log-scaled anomaly likelihood, except the rows within ``refractory`` rows after an
    alert, which score 0: one alert per episode, like an anomaly that is updated instead of
    repeated (NAB charges each detection outside a window as a false positive). NAB then
    picks its own threshold; on the NAB corpus it lands on the detector's alert threshold
    (likelihood 0.95, score 0.13). ``timestamps`` are not used: the detector counts rows.
    """
    config = StreamingConfig()
    scored = score_stream(values, config)
    quiet = np.zeros(len(scored.score), dtype=bool)
    for t in np.flatnonzero(scored.alert):
        quiet[t + 1 : t + 1 + config.refractory] = True
    return [0.0 if q else float(s) for q, s in zip(quiet, scored.score, strict=True)]


def alert_likelihood(z_threshold: float) -> float:
    """The streaming detector's alert likelihood for a robust-z sensitivity (3.5, 4.5, 6).

    ``medium`` (z 4.5) is the NAB-chosen likelihood 0.95, i.e. a likelihood ``z`` of
    ``Φ⁻¹(0.95) = 1.645``; other sensitivities scale that ``z`` in proportion:
    high (3.5) → ``Φ(1.279) = 0.900``, low (6) → ``Φ(2.193) = 0.986``.

    Example:
        >>> [round(alert_likelihood(z), 3) for z in (3.5, 4.5, 6.0)]
        [0.9, 0.95, 0.986]
    """
    z = _ALERT_Z_MEDIUM * z_threshold / 4.5
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def scan(
    timestamps: Sequence[object], values: Sequence[float], *, z_threshold: float = 4.5
) -> list[dict[str, object]]:
    """Every point of a ``timestamp,value`` series scored by the streaming detector
    (:mod:`costline.anomaly.streaming`): what ``costline anomalies scan`` prints.

    Per row: ``expected`` is the value at the end of the most similar earlier context (the
    nearest past pattern; None before there is one), ``z`` the anomaly likelihood's z (how far
    the recent novelty is above this series' usual, in its standard deviations), ``score`` the
    log-scaled likelihood in [0, 1), and ``flagged`` the detector's alert: the likelihood
    reaches :func:`alert_likelihood` of ``z_threshold`` (0.95 at the default 4.5), at least a
    refractory period (288 rows) after the previous alert, so an episode is flagged once, on
    its first row.
    """
    config = replace(StreamingConfig(), alert=alert_likelihood(z_threshold))
    scored = score_stream(values, config)
    out: list[dict[str, object]] = []
    for i, (ts, value) in enumerate(zip(timestamps, values, strict=True)):
        expected = scored.expected[i]
        out.append(
            {
                "timestamp": ts,
                "value": value,
                "expected": None if math.isnan(expected) else round(float(expected), 6),
                "z": round(float(scored.z[i]), 4),
                "score": round(float(scored.score[i]), 6),
                "flagged": bool(scored.alert[i]),
            }
        )
    return out

"""Numenta Anomaly Benchmark (NAB) scorer, implemented from the published rules.

NAB scores a streaming anomaly detector on labelled time series. Each labelled anomaly is an
*anomaly window*: a run of rows, first and last row included. A detector gives every row an
anomaly score in ``[0, 1]``; a row whose score is at least the threshold is a *detection*. For a
profile (cost matrix ``A_TP``, ``A_FP``, ``A_FN``) and ``sigma(y) = 2 / (1 + exp(5 y)) - 1``
(a sigmoid scaled to ``(-1, 1)``; it is ``-1`` for ``y > 3``):

* The first ``min(floor(0.15 n), 750)`` rows of an ``n``-row file are the *probationary
  period*, in which the detector learns: detections there count for nothing.
* The earliest detection in a window of rows ``first..last`` (``width = last - first + 1``)
  at row ``i`` earns ``A_TP * sigma(y) / sigma(-1)`` with ``y = -(last - i + 1) / width``:
  exactly ``A_TP`` on the window's first row, falling towards 0 at its end. Further detections
  in the same window add nothing.
* A window without any detection costs ``-A_FN``.
* A detection outside every window costs ``A_FP * sigma(y)`` (negative) with
  ``y = (i - last) / (width - 1)`` measured from the end of the preceding window: just after a
  window it costs little, three window widths later the full ``-A_FP``. With no preceding
  window it costs ``-A_FP``.
* A corpus's raw score ``S`` is the sum over its files. One threshold per detector and profile
  is chosen to maximize ``S`` over the whole corpus.
* Normalized score ``= 100 (S - S_null) / (S_perfect - S_null)`` with ``S_null = -A_FN x
  windows`` (the null detector flags nothing) and ``S_perfect = A_TP x windows`` (every window
  detected on its first row, nothing else).

Sources (each constant checked against them):

* A. Lavin, S. Ahmad, "Evaluating Real-time Anomaly Detection Algorithms - the Numenta Anomaly
  Benchmark", ICMLA 2015, arXiv:1510.03336: windows, scaled sigmoid, profiles, normalization.
* numenta/NAB v1.1 (the code behind the published scoreboard): ``config/profiles.json``
  (standard ``tp 1.0 / fp 0.11 / fn 1.0``, reward_low_FP_rate ``fp 0.22``, reward_low_FN_rate
  ``fn 2.0``; ``tnWeight`` is never used), ``nab/sweeper.py`` (``scaledSigmoid``, the row
  positions above, probationary length ``min(floor(0.15 n), 0.15 * 5000)``, the threshold
  sweep), ``nab/optimizer.py`` (one threshold per profile over the whole corpus, best score
  wins) and ``nab/runner.py`` ``normalize`` (perfect ``= tpWeight x number of windows``,
  baseline ``=`` the null detector's score).

Where NAB v1.1 and the paper differ, this module follows v1.1, because its numbers are the
published ones: the paper puts the window's right edge at ``y = 0`` (score 0); v1.1 measures
``y`` one row later, so a detection on the last row of a window still earns a little. NAB
divides by ``width - 1`` after a one-row window (division by zero); here that divisor is 1.

Example:
    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2024, 1, 1)
    >>> rows = tuple(t0 + timedelta(minutes=5 * i) for i in range(20))
    >>> f = NabFile("f.csv", rows, (0.0,) * 20, windows=((10, 14),))
    >>> scores = {"f.csv": [1.0 if i == 10 else 0.0 for i in range(20)]}
    >>> [round(r.normalized, 1) for r in evaluate([f], scores)]
    [100.0, 100.0, 100.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from costline.core.errors import BadInputError, Location

__all__ = [
    "NO_DETECTION",
    "PROBATIONARY_FRACTION",
    "PROBATIONARY_MAX_ROWS",
    "PROFILES",
    "REWARD_LOW_FN",
    "REWARD_LOW_FP",
    "STANDARD",
    "Detector",
    "NabFile",
    "Profile",
    "ProfileResult",
    "RowCredit",
    "ThresholdScore",
    "detect_corpus",
    "evaluate",
    "null_score",
    "perfect_score",
    "probationary_length",
    "row_credits",
    "scaled_sigmoid",
    "score_at_threshold",
    "sweep",
]

PROBATIONARY_FRACTION = 0.15
# NOTE: NAB v1.1 caps the probationary period at 0.15 * 5000 rows (nab/sweeper.py).
PROBATIONARY_MAX_ROWS = 750
NO_DETECTION = math.inf
"""The threshold that flags nothing: the first point of every sweep."""

Detector = Callable[[Sequence[datetime], Sequence[float]], Sequence[float]]
"""``score(timestamps, values) -> anomaly scores``: one score in ``[0, 1]`` per row."""


@dataclass(frozen=True)
class Profile:
    """A NAB application profile: the weights of true positives, false positives, misses.

    Example:
        >>> STANDARD.fp_weight, REWARD_LOW_FP.fp_weight, REWARD_LOW_FN.fn_weight
        (0.11, 0.22, 2.0)
    """

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


# NOTE: weights from numenta/NAB v1.1 config/profiles.json.
STANDARD = Profile("standard", tp_weight=1.0, fp_weight=0.11, fn_weight=1.0)
REWARD_LOW_FP = Profile("reward_low_FP_rate", tp_weight=1.0, fp_weight=0.22, fn_weight=1.0)
REWARD_LOW_FN = Profile("reward_low_FN_rate", tp_weight=1.0, fp_weight=0.11, fn_weight=2.0)
PROFILES: tuple[Profile, ...] = (STANDARD, REWARD_LOW_FP, REWARD_LOW_FN)


@dataclass(frozen=True)
class NabFile:
    """One labelled series: ``windows`` are ``(first_row, last_row)``, 0-based and inclusive.

    Raises:
        BadInputError: lengths differ, or a window is empty, out of range, unsorted or
            overlaps the previous one.
    """

    name: str
    timestamps: tuple[datetime, ...]
    values: tuple[float, ...]
    windows: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        where = Location(file=self.name)
        if len(self.timestamps) != len(self.values):
            raise BadInputError(
                f"{len(self.timestamps)} timestamps but {len(self.values)} values",
                location=where,
                reason="nab-length-mismatch",
                hint="pass one value per timestamp",
            )
        previous_last = -1
        for first, last in self.windows:
            if not previous_last < first <= last < len(self.timestamps):
                raise BadInputError(
                    f"window rows {first}..{last} are empty, out of range (0..{len(self) - 1}),"
                    f" or overlap the previous window (ending at row {previous_last})",
                    location=where,
                    reason="nab-bad-window",
                    hint="list windows in time order, start <= end, without overlaps",
                )
            previous_last = last

    def __len__(self) -> int:
        return len(self.timestamps)


@dataclass(frozen=True)
class RowCredit:
    """What a detection on one scorable row is worth (TP credit, or negative FP cost)."""

    row: int
    window: int | None
    credit: float


@dataclass(frozen=True)
class ThresholdScore:
    """The raw corpus score of one threshold, with window and false-positive counts."""

    threshold: float
    score: float
    detected_windows: int
    missed_windows: int
    false_positives: int


@dataclass(frozen=True)
class ProfileResult:
    """A detector's best threshold on a corpus for one profile, with the normalization ends."""

    profile: Profile
    best: ThresholdScore
    null_score: float
    perfect_score: float

    @property
    def normalized(self) -> float:
        """``100 (S - S_null) / (S_perfect - S_null)``: null detector 0, perfect 100."""
        return 100.0 * (self.best.score - self.null_score) / (self.perfect_score - self.null_score)


def scaled_sigmoid(y: float) -> float:
    """NAB's ``2 / (1 + exp(5 y)) - 1``, and ``-1`` beyond ``y > 3``.

    Example:
        >>> round(scaled_sigmoid(-1.0), 5), scaled_sigmoid(0.0), scaled_sigmoid(3.5)
        (0.98661, 0.0, -1.0)
    """
    if y > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def probationary_length(n_rows: int) -> int:
    """Rows at the start of a file whose detections are ignored: ``min(floor(0.15 n), 750)``.

    Example:
        >>> probationary_length(4032), probationary_length(22695)
        (604, 750)
    """
    return min(math.floor(PROBATIONARY_FRACTION * n_rows), PROBATIONARY_MAX_ROWS)


def _tp_credit(row: int, window: tuple[int, int], profile: Profile) -> float:
    first, last = window
    y = -(last - row + 1) / (last - first + 1)
    return profile.tp_weight * scaled_sigmoid(y) / scaled_sigmoid(-1.0)


def _fp_credit(row: int, preceding: tuple[int, int] | None, profile: Profile) -> float:
    if preceding is None:
        return -profile.fp_weight
    first, last = preceding
    # NOTE: NAB divides by width - 1, undefined after a one-row window; use 1 there.
    y = (row - last) / max(last - first, 1)
    return profile.fp_weight * scaled_sigmoid(y)


def row_credits(file: NabFile, profile: Profile) -> list[RowCredit]:
    """Credit of a detection on every row after the probationary period.

    Example:
        >>> from datetime import datetime
        >>> f = NabFile("f", (datetime(2024, 1, 1),) * 20, (0.0,) * 20, ((10, 14),))
        >>> [(c.row, c.window, round(c.credit, 3)) for c in row_credits(f, STANDARD)][7:9]
        [(10, 0, 1.0), (11, 0, 0.977)]
    """
    start = probationary_length(len(file))
    credits: list[RowCredit] = []
    preceding: tuple[int, int] | None = None
    ahead = 0  # index of the first window that has not ended before the current row
    for row in range(len(file)):
        while ahead < len(file.windows) and file.windows[ahead][1] < row:
            preceding = file.windows[ahead]
            ahead += 1
        inside = ahead < len(file.windows) and file.windows[ahead][0] <= row
        if row < start:
            continue
        if inside:
            credit = _tp_credit(row, file.windows[ahead], profile)
            credits.append(RowCredit(row, ahead, credit))
        else:
            credits.append(RowCredit(row, None, _fp_credit(row, preceding, profile)))
    return credits


def _checked_scores(file: NabFile, scores: Mapping[str, Sequence[float]]) -> Sequence[float]:
    hint = "the detector must return one anomaly score in [0, 1] per row"
    if file.name not in scores:
        raise BadInputError(
            "no anomaly scores for this file",
            location=Location(file=file.name),
            reason="nab-missing-scores",
            hint=hint,
        )
    values = scores[file.name]
    if len(values) != len(file):
        raise BadInputError(
            f"{len(values)} anomaly scores for {len(file)} rows",
            location=Location(file=file.name, column="anomaly_score"),
            reason="nab-score-count",
            hint=hint,
        )
    for row, value in enumerate(values):
        if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
            raise BadInputError(
                "anomaly score is not a number in [0, 1]",
                location=Location(
                    file.name, row=row + 1, column="anomaly_score", value=repr(value)
                ),
                reason="nab-bad-score",
                hint=hint,
            )
    return values


def _scorable_windows(credits: Sequence[RowCredit]) -> int:
    return len({c.window for c in credits if c.window is not None})


def sweep(
    files: Sequence[NabFile], scores: Mapping[str, Sequence[float]], profile: Profile
) -> list[ThresholdScore]:
    """Raw corpus score at every threshold, from :data:`NO_DETECTION` down to the lowest score.

    Each distinct anomaly score is a threshold (``score >= threshold`` is a detection).

    Raises:
        BadInputError: a file has no scores, the wrong number, or one outside ``[0, 1]``.

    Example:
        >>> from datetime import datetime
        >>> f = NabFile("f", (datetime(2024, 1, 1),) * 20, (0.0,) * 20, ((10, 14),))
        >>> [(s.threshold, round(s.score, 2)) for s in sweep([f], {"f": [0.5] * 20}, STANDARD)]
        [(inf, -1.0), (0.5, -0.25)]
    """
    entries: list[tuple[float, tuple[int, int] | None, float]] = []
    windows = 0
    for index, file in enumerate(files):
        values = _checked_scores(file, scores)
        credits = row_credits(file, profile)
        windows += _scorable_windows(credits)
        entries += [
            (values[c.row], None if c.window is None else (index, c.window), c.credit)
            for c in credits
        ]
    entries.sort(key=lambda entry: entry[0], reverse=True)
    return _sweep_sorted(entries, windows, profile)


def _sweep_sorted(
    entries: Sequence[tuple[float, tuple[int, int] | None, float]], windows: int, profile: Profile
) -> list[ThresholdScore]:
    best: dict[tuple[int, int], float] = {}
    false_positives = 0
    score = -profile.fn_weight * windows
    out = [ThresholdScore(NO_DETECTION, score, 0, windows, 0)]
    for position, (value, window, credit) in enumerate(entries):
        if window is None:
            score += credit
            false_positives += 1
        elif window not in best:
            score += credit + profile.fn_weight
            best[window] = credit
        elif credit > best[window]:
            score += credit - best[window]
            best[window] = credit
        if position + 1 == len(entries) or entries[position + 1][0] != value:
            out.append(
                ThresholdScore(value, score, len(best), windows - len(best), false_positives)
            )
    return out


def score_at_threshold(
    files: Sequence[NabFile],
    scores: Mapping[str, Sequence[float]],
    profile: Profile,
    threshold: float,
) -> ThresholdScore:
    """Raw corpus score with a fixed threshold (e.g. one tuned on another corpus).

    Raises:
        BadInputError: a file has no scores, the wrong number, or one outside ``[0, 1]``.
    """
    total, detected, missed, false_positives = 0.0, 0, 0, 0
    for file in files:
        values = _checked_scores(file, scores)
        credits = row_credits(file, profile)
        first_hits: dict[int, float] = {}
        for c in credits:
            if values[c.row] < threshold:
                continue
            if c.window is None:
                total += c.credit
                false_positives += 1
            else:
                first_hits.setdefault(c.window, c.credit)  # rows come in time order
        windows = _scorable_windows(credits)
        total += sum(first_hits.values()) - profile.fn_weight * (windows - len(first_hits))
        detected += len(first_hits)
        missed += windows - len(first_hits)
    return ThresholdScore(threshold, total, detected, missed, false_positives)


def null_score(files: Sequence[NabFile], profile: Profile) -> float:
    """Raw score of a detector that flags nothing: ``-A_FN`` per window after probation."""
    return -profile.fn_weight * sum(_scorable_windows(row_credits(f, profile)) for f in files)


def perfect_score(files: Sequence[NabFile], profile: Profile) -> float:
    """Raw score of the perfect detector: ``A_TP`` per window (NAB ``runner.normalize``)."""
    return profile.tp_weight * sum(len(f.windows) for f in files)


def evaluate(
    files: Sequence[NabFile],
    scores: Mapping[str, Sequence[float]],
    *,
    profiles: Sequence[Profile] = PROFILES,
) -> list[ProfileResult]:
    """Best threshold and normalized score per profile, as NAB's optimize + score + normalize.

    Ties between thresholds go to the highest one (fewest detections).

    Raises:
        BadInputError: the scores do not fit the files, or the corpus has no window to find.
    """
    results = []
    for profile in profiles:
        best = max(sweep(files, scores, profile), key=lambda s: s.score)
        low, high = null_score(files, profile), perfect_score(files, profile)
        if high <= low:
            raise BadInputError(
                "no anomaly window after the probationary period: the score is undefined",
                location=Location(file=", ".join(f.name for f in files[:3]) or "empty corpus"),
                reason="nab-no-windows",
                hint="score a corpus with at least one labelled window",
            )
        results.append(ProfileResult(profile, best, low, high))
    return results


def detect_corpus(files: Sequence[NabFile], detector: Detector) -> dict[str, list[float]]:
    """Run ``detector`` on every file: ``{file name: anomaly scores}``."""
    return {f.name: [float(s) for s in detector(f.timestamps, f.values)] for f in files}

"""The robust detector on series whose scores can be worked out by hand."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costline.anomaly.detect import (
    MAD_TO_SIGMA,
    DetectorConfig,
    _score_one,
    interval_seconds,
    nab_scores,
    scan,
    score_matrix,
    score_series,
)

FLAT = DetectorConfig(season=None)


def wobble(n: int) -> list[float]:
    """100, 102, 98, 100, 102, 98, ...: median 100, |deviations| 0, 2, 2 → MAD 2."""
    return [100.0 + (0, 2, -2)[i % 3] for i in range(n)]


def test_spike_scores_its_robust_z() -> None:
    x = [*wobble(30), 150.0]
    r = score_series(x, FLAT)
    scale = MAD_TO_SIGMA * 2  # history: median 100, MAD 2
    assert r.expected[30] == 100.0
    assert r.scale[30] == pytest.approx(scale)
    assert r.z[30] == pytest.approx(50 / scale)
    assert r.score[30] == pytest.approx(1 - math.exp(-(50 / scale) / FLAT.z_scale))
    # nothing else comes near: the largest ordinary deviation is 2 / 2.965 = 0.67
    assert np.max(np.abs(r.z[:30])) <= 2 / scale + 1e-9


def test_dip_is_negative() -> None:
    r = score_series([*wobble(30), 40.0], FLAT)
    assert r.z[30] == pytest.approx(-60 / (MAD_TO_SIGMA * 2))


def test_cold_start_and_single_point() -> None:
    r = score_series([5.0], FLAT)
    assert np.isnan(r.expected[0]) and r.z[0] == 0 and r.score[0] == 0
    # min_history = 7: the first 7 points have no baseline
    r = score_series(wobble(10), FLAT)
    assert np.isnan(r.expected[:7]).all() and not np.isnan(r.expected[7:]).any()


def test_all_zeros_then_first_spend() -> None:
    r = score_series([0.0] * 20 + [25.0], FLAT)
    assert (r.z[:20] == 0).all()
    # MAD 0 and level 0: the absolute floor (1e-9) is the scale, so any spend is extreme
    assert r.z[20] == pytest.approx(25 / FLAT.abs_floor)


def test_flat_series_uses_the_relative_floor() -> None:
    r = score_series([200.0] * 20 + [206.0], FLAT)
    # MAD 0: scale = 1 % of the level = 2; +6 → z = 3 (a 3 % wiggle is not an anomaly)
    assert r.scale[20] == pytest.approx(2.0)
    assert r.z[20] == pytest.approx(3.0)


def test_gap_in_data_is_skipped() -> None:
    x = wobble(30)
    x[10:13] = [math.nan] * 3
    r = score_series([*x, 150.0], FLAT)
    assert r.z[10:13].tolist() == [0, 0, 0]
    assert r.expected[30] == 100.0  # the 27 known points still have median 100
    assert r.z[30] > 10


def test_level_shift_alerts_then_rebaselines() -> None:
    cfg = DetectorConfig(season=None, shift_after=3)
    x = [*wobble(30), *(v + 50 for v in wobble(30))]
    r = score_series(x, cfg)
    # the first 3 shifted points are extreme; then the history restarts at the shift
    assert (np.abs(r.z[30:33]) > 10).all()
    assert r.rebaselined == [30]
    # after re-baselining: cold start for min_history points, then normal again
    assert np.isnan(r.expected[33:37]).all()
    assert np.max(np.abs(r.z[37:])) < 1


def test_weekly_season_compares_like_days() -> None:
    # weekends cost 3×; with the weekly season a weekend is compared with weekends
    week = [100.0, 101.0, 99.0, 100.0, 100.0, 300.0, 300.0]
    x = week * 8
    seasonal = score_series([*x, *week], DetectorConfig())
    assert np.abs(seasonal.z[-7:]).max() < 1  # a normal ninth week, weekends included
    # a Monday (index 56 is a Monday: 56 % 7 == 0) at weekend level is an anomaly
    monday = score_series([*x, 300.0], DetectorConfig())
    assert monday.expected[56] == 100.0 and monday.z[56] > 10
    # without the season the weekend itself would look odd to a flat median
    flat = score_series([*x, 100.0], DetectorConfig(season=None))
    assert flat.expected[56] == 100.0


def test_interval_and_defaults() -> None:
    day = [dt.datetime(2024, 1, 1) + dt.timedelta(days=i) for i in range(3)]
    five = [dt.datetime(2024, 1, 1) + dt.timedelta(minutes=5 * i) for i in range(3)]
    assert interval_seconds(day) == 86_400 and interval_seconds(five) == 300
    cfg = DetectorConfig.for_interval(300)
    assert cfg.season == 288 and cfg.window == 576
    assert DetectorConfig.for_interval(86_400) == DetectorConfig()


def test_scan_and_nab_scores_cover_every_point() -> None:
    # scan and nab_scores use the streaming detector (tests/unit/test_anomaly_streaming.py);
    # it learns for 100 rows, so the series is 200 days of wobble and then the spike
    times = [dt.datetime(2024, 1, 1) + dt.timedelta(days=i) for i in range(201)]
    values = [*wobble(200), 150.0]
    rows = scan(times, values, z_threshold=4.5)
    # 150 is far beyond everything seen (98..102): an alert on that row only
    assert len(rows) == 201 and [r["flagged"] for r in rows].count(True) == 1
    assert rows[-1]["flagged"] and rows[-1]["expected"] in (98.0, 100.0, 102.0)
    assert len(nab_scores(times, values)) == 201


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.one_of(st.floats(-1e4, 1e4, allow_nan=False), st.just(math.nan)),
        min_size=1,
        max_size=60,
    ),
    season=st.sampled_from([None, 3, 7]),
    window=st.integers(5, 30),
)
def test_vectorized_scoring_equals_the_reference(
    data: list[float], season: int | None, window: int
) -> None:
    cfg = DetectorConfig(window=window, season=season, min_history=4, min_seasons=2, shift_after=3)
    fast, slow = score_matrix(np.array([data]), cfg)[0], _score_one(data, cfg)
    np.testing.assert_allclose(fast.z, slow.z, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fast.expected, slow.expected, rtol=1e-9, atol=1e-9)
    assert fast.rebaselined == slow.rebaselined


def test_matrix_scores_rows_independently() -> None:
    rows = np.array([[*wobble(30), 150.0], [*wobble(30), 100.0]])
    a, b = score_matrix(rows, FLAT)
    assert a.z[30] > 10 and abs(b.z[30]) < 1
    np.testing.assert_allclose(a.z, score_series(rows[0], FLAT).z)

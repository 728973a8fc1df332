"""The streaming detector (context novelty + anomaly likelihood) on series built by hand."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import pytest

from costline.anomaly.detect import alert_likelihood, nab_scores, scan
from costline.anomaly.streaming import (
    NOVEL_LIKELIHOOD,
    StreamingConfig,
    alert_onsets,
    log_score,
    score_stream,
)
from costline.anomaly.streaming import _likelihood_z as likelihood_z

CFG = StreamingConfig()
PERIOD = 48  # rows per cycle of the periodic test series


def periodic(n: int, seed: int = 7) -> np.ndarray:
    """A daily-like cycle of amplitude 10 around 50 with small noise (σ 0.2)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 50 + 10 * np.sin(2 * np.pi * t / PERIOD) + rng.normal(0, 0.2, n)


def test_scores_of_a_prefix_do_not_change_when_points_are_appended() -> None:
    x = periodic(900)
    x[700] += 40  # something to score in the tail
    full = score_stream(x)
    for cut in (150, 333, 701):
        part = score_stream(x[:cut])
        for name in ("raw", "z", "likelihood", "score", "alert"):
            np.testing.assert_array_equal(getattr(part, name), getattr(full, name)[:cut], name)
        np.testing.assert_array_equal(part.expected, full.expected[:cut])


def test_spike_is_detected_on_its_own_row() -> None:
    x = periodic(900)
    x[600] += 30  # three amplitudes above the cycle, beyond every value seen before
    s = score_stream(x)
    assert np.flatnonzero(s.alert).tolist() == [600]
    # a value beyond the past range by > 5 % of it: the likelihood is set to 1 − 1e-6
    assert s.likelihood[600] == NOVEL_LIKELIHOOD
    assert s.score[600] == pytest.approx(0.6 - math.log10(1.0001) / 10)  # −log10(1e-6 + 1e-10) / 10


def test_level_shift_inside_the_range_is_detected_within_a_few_rows() -> None:
    # the cycle moves up by 8 (within the old range 40..60, so no "new extreme" help)
    x = periodic(900)
    x[600:] += 8
    s = score_stream(x)
    alerts = np.flatnonzero(s.alert).tolist()
    assert len(alerts) == 1 and 600 <= alerts[0] <= 605, alerts


def test_a_value_stuck_longer_than_ever_before_is_detected() -> None:
    # a sparse metric: zeros are common (runs of a few rows), then it sticks at 0 for 100 rows
    rng = np.random.default_rng(3)
    x = np.round(rng.exponential(1.0, 1200), 2)
    x[rng.random(1200) < 0.3] = 0.0
    x[800:900] = 0.0
    s = score_stream(x)
    old = score_stream(x, replace(CFG, stuck=10**6))  # the detector without the stuck rule
    # flat contexts of zeros were seen before, so the novelty alone does not alarm ...
    assert old.likelihood[800:900].max() < CFG.alert
    # ... but the run becomes the longest ever on its 12th row (and stays so)
    hits = np.flatnonzero(s.likelihood[800:900] == NOVEL_LIKELIHOOD)
    assert hits.tolist() == list(range(CFG.stuck - 1, 100))
    assert np.array_equal(s.likelihood[:800], old.likelihood[:800])


def test_a_stuck_run_from_the_first_rows_or_no_longer_than_before_raises_nothing() -> None:
    x = periodic(900)
    x[300:340] = 55.0  # stuck for 40 rows: a record, detected
    x[600:640] = 55.0  # the same length again: not longer than before
    s = score_stream(x)
    assert s.likelihood[300 + CFG.stuck - 1] == NOVEL_LIKELIHOOD
    assert (s.likelihood[600:640] < NOVEL_LIKELIHOOD).all()
    late_flat = np.concatenate([[1.0, 2.0], np.full(600, 3.0)])  # flat from row 2 on
    assert not score_stream(late_flat).alert.any()


def test_flat_and_periodic_series_raise_nothing() -> None:
    flat = score_stream(np.full(600, 3.0))
    # nothing new ever: raw 0 = its own mean, z 0, likelihood Φ(0) = 0.5, score log_score(0.5)
    assert not flat.alert.any() and (flat.z == 0).all()
    assert (flat.score[CFG.min_history :] == float(log_score(0.5))).all()
    calm = score_stream(periodic(2000))
    assert not calm.alert.any()
    # the cycle repeats, so the nearest past context is the same phase one cycle back or more
    assert np.nanmax(calm.raw) < 0.1


def test_nan_and_short_input() -> None:
    assert score_stream([]).score.shape == (0,)
    short = score_stream([1.0, 2.0, 3.0])
    assert (short.score == 0).all() and not short.alert.any() and np.isnan(short.expected).all()
    allnan = score_stream([math.nan] * 300)
    assert (allnan.score == 0).all() and not allnan.alert.any()
    x = periodic(600)
    x[[0, 250, 251, 400]] = math.nan
    s = score_stream(x)
    assert s.score[[0, 250, 251, 400]].tolist() == [0.0] * 4
    assert not s.alert.any() and np.isfinite(s.score).all()


def test_warm_up_rows_never_score() -> None:
    x = periodic(400)
    x[50] += 100  # inside the first min_history (100) rows: learning only
    s = score_stream(x)
    assert (s.score[: CFG.min_history] == 0).all() and not s.alert[: CFG.min_history].any()


def test_likelihood_learns_from_live_rows_only_and_waits_for_its_estimation_rows() -> None:
    # white noise in [0, 1] whose first two rows are 0 and 1: never a new extreme, every
    # context is somewhat novel (raw > 0 on every live row), and nothing is ever anomalous
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 1.0, 800)
    x[0], x[1] = 0.0, 1.0
    s = score_stream(x)
    ready = CFG.min_history + CFG.estimation  # 200: 100 warm-up rows, 100 estimation rows
    assert s.raw[CFG.min_history :].min() > 0
    assert (s.z[:ready] == 0).all() and (s.likelihood[:ready] == 0.5).all()
    assert (s.z[ready:] != 0).any()
    # an estimator whose μ, σ include the warm-up rows' zero scores alerted here at row 106
    assert not s.alert.any()


def test_likelihood_z_by_hand() -> None:
    cfg = StreamingConfig(context=2, segments=1, history=4, short=2, min_history=1, estimation=2)
    raw = np.array([0.0, 1.0, 0.0, 1.0, 3.0])
    # m_t = mean of the last 2 raw scores from row 1 on (row 0 is warm-up):
    #   m = [0, 1, 0.5, 0.5, 2]
    # row 2: only m_1 before it (1 < estimation 2) → z 0
    # row 3: m_1, m_2 = 1, 0.5 → μ 0.75, σ 0.25 → z = (0.5 − 0.75) / 0.25 = −1
    # row 4: m_1..m_3 = 1, 0.5, 0.5 → μ 2/3, σ² = 1.5/3 − 4/9 = 1/18 → z = (2 − 2/3)·√18 = 4√2
    z = likelihood_z(raw, cfg)
    assert z.tolist()[:3] == [0.0, 0.0, 0.0]
    assert z[3] == pytest.approx(-1.0) and z[4] == pytest.approx(4 * math.sqrt(2))


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError, match="multiple of segments"):
        StreamingConfig(context=10, segments=3)
    with pytest.raises(ValueError, match="likelihood"):
        StreamingConfig(alert=1.0)
    with pytest.raises(ValueError, match="estimation"):
        StreamingConfig(estimation=0)


def test_log_score_and_alert_onsets() -> None:
    # −log10(1 − 0.99 + 1e-10) / 10 = 0.2 (to 1e-8)
    assert float(log_score(0.99)) == pytest.approx(0.2, abs=1e-7)
    over = np.array([0, 1, 1, 1, 0, 0, 1, 1], dtype=bool)
    # refractory 4: row 1 alerts, rows 2-5 are quiet, row 6 is 5 rows later → alerts
    assert np.flatnonzero(alert_onsets(over, 4)).tolist() == [1, 6]


def test_nab_scores_zero_the_refractory_rows_after_an_alert() -> None:
    times = [dt.datetime(2024, 1, 1) + dt.timedelta(minutes=5 * i) for i in range(900)]
    x = periodic(900)
    x[600] += 30
    out = nab_scores(times, x.tolist())
    full = score_stream(x)
    assert len(out) == 900 and out[600] == pytest.approx(0.6, abs=1e-5)
    quiet_end = 601 + CFG.refractory  # 889: rows 601..888 are the refractory period
    assert out[601:quiet_end] == [0.0] * CFG.refractory
    assert out[:601] == pytest.approx(full.score[:601].tolist())
    assert out[quiet_end:] == pytest.approx(full.score[quiet_end:].tolist())


def test_scan_flags_the_alert_row_at_the_sensitivity() -> None:
    times = [dt.datetime(2024, 1, 1) + dt.timedelta(minutes=5 * i) for i in range(900)]
    x = periodic(900)
    x[600] += 30
    rows = scan(times, x.tolist(), z_threshold=4.5)
    assert [i for i, r in enumerate(rows) if r["flagged"]] == [600]
    assert rows[0]["expected"] is None and rows[600]["score"] == pytest.approx(0.6, abs=1e-5)
    # Φ(1.645 · 3.5 / 4.5) = Φ(1.2793) = 0.8996; Φ(1.645 · 6 / 4.5) = Φ(2.1931) = 0.98585
    assert alert_likelihood(3.5) == pytest.approx(0.8996, abs=1e-4)
    assert alert_likelihood(4.5) == pytest.approx(0.95, abs=1e-9)
    assert alert_likelihood(6.0) == pytest.approx(0.98585, abs=1e-4)

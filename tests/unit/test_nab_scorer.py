"""NAB scorer: hand-computed scores, threshold sweep, normalization, bad input.

Expected values use the identity ``2 / (1 + exp(5 y)) - 1 == tanh(-2.5 y)`` (the module uses
the sigmoid form), so every expectation below is computed another way than the code does.
The standard fixture: 20 rows, probationary period ``min(floor(0.15 * 20), 750) = 3`` rows
(rows 0-2 ignored), one window on rows 10..14 (width 5). Profiles (numenta/NAB
config/profiles.json): standard tp 1 / fp 0.11 / fn 1, reward_low_FP_rate fp 0.22,
reward_low_FN_rate fn 2.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costline.anomaly.nab import (
    NO_DETECTION,
    PROFILES,
    REWARD_LOW_FN,
    REWARD_LOW_FP,
    STANDARD,
    NabFile,
    evaluate,
    null_score,
    perfect_score,
    probationary_length,
    row_credits,
    score_at_threshold,
    sweep,
)
from costline.anomaly.nab_corpus import load_corpus
from costline.core.errors import BadInputError

T0 = datetime(2024, 1, 1)
MAX_TP = math.tanh(2.5)  # credit at y = -1 before normalization: 0.98661


def make_file(n: int = 20, windows=((10, 14),), name: str = "f.csv") -> NabFile:
    times = tuple(T0 + timedelta(minutes=5 * i) for i in range(n))
    return NabFile(name, times, (0.0,) * n, tuple(windows))


def flags(n: int, *rows: int, name: str = "f.csv") -> dict[str, list[float]]:
    """Scores of a detector that flags exactly ``rows`` (score 1, everything else 0)."""
    return {name: [1.0 if i in rows else 0.0 for i in range(n)]}


def raw(file: NabFile, *rows: int, profile=STANDARD) -> float:
    return score_at_threshold([file], flags(len(file), *rows, name=file.name), profile, 1.0).score


# --- constants -------------------------------------------------------------------------


def test_profiles_match_nab_config():
    weights = {p.name: (p.tp_weight, p.fp_weight, p.fn_weight) for p in PROFILES}
    assert weights == {
        "standard": (1.0, 0.11, 1.0),
        "reward_low_FP_rate": (1.0, 0.22, 1.0),
        "reward_low_FN_rate": (1.0, 0.11, 2.0),
    }


@pytest.mark.parametrize(("rows", "expected"), [(20, 3), (4032, 604), (5000, 750), (22695, 750)])
def test_probationary_length(rows, expected):
    # floor(0.15 * 20) = 3; floor(0.15 * 4032) = floor(604.8) = 604; 750 = 0.15 * 5000 cap
    assert probationary_length(rows) == expected


# --- one window, one detection ---------------------------------------------------------


def test_detection_on_window_left_edge_scores_full_tp_weight():
    # y = -(14 - 10 + 1) / 5 = -1 -> tanh(2.5) / tanh(2.5) = 1.0
    f = make_file()
    assert raw(f, 10) == pytest.approx(1.0)
    (result,) = evaluate([f], flags(20, 10), profiles=[STANDARD])
    assert result.normalized == pytest.approx(100.0)


def test_detection_on_window_right_edge_scores_little():
    # y = -(14 - 14 + 1) / 5 = -0.2 -> tanh(0.5) / tanh(2.5) = 0.462117 / 0.986614 = 0.468387
    f = make_file()
    assert raw(f, 14) == pytest.approx(math.tanh(0.5) / MAX_TP)
    assert raw(f, 14) == pytest.approx(0.468387, abs=1e-6)
    # normalized: 100 * (0.468387 - (-1)) / (1 - (-1)) = 73.419
    (result,) = evaluate([f], flags(20, 14), profiles=[STANDARD])
    assert result.normalized == pytest.approx(73.419, abs=1e-3)


def test_earlier_detection_in_window_scores_more():
    f = make_file()
    credits = [raw(f, row) for row in range(10, 15)]
    assert credits == sorted(credits, reverse=True)
    assert all(c > 0 for c in credits)


def test_two_detections_in_one_window_count_once():
    # rows 11 and 13: only the earlier counts. Row 11: y = -(14 - 11 + 1) / 5 = -0.8
    # -> tanh(2.0) / tanh(2.5) = 0.964028 / 0.986614 = 0.977107 (row 13 alone: 0.771927)
    f = make_file()
    assert raw(f, 11, 13) == pytest.approx(math.tanh(2.0) / MAX_TP)
    assert raw(f, 11, 13) == pytest.approx(0.977107, abs=1e-6)
    assert raw(f, 13) == pytest.approx(math.tanh(1.0) / MAX_TP)


def test_detection_after_window_is_fp_weighted_by_distance_plus_missed_window():
    # row 16: y = (16 - 14) / (5 - 1) = 0.5 -> -tanh(1.25) = -0.848284; * 0.11 = -0.093311
    # window missed: -1  => -1.093311
    f = make_file()
    assert raw(f, 16) == pytest.approx(-1.0 - 0.11 * math.tanh(1.25))
    assert raw(f, 16) == pytest.approx(-1.093311, abs=1e-6)
    # row 15 right after the window costs less: y = 0.25 -> -0.11 * tanh(0.625) = -0.061006
    assert raw(f, 15) == pytest.approx(-1.0 - 0.11 * math.tanh(0.625))


def test_fp_far_after_window_costs_full_fp_weight():
    # 40 rows, probation 6; row 27: y = (27 - 14) / 4 = 3.25 > 3 -> exactly -1 * 0.11
    f = make_file(40)
    assert raw(f, 27) == pytest.approx(-1.0 - 0.11)


def test_fp_before_any_window_costs_fp_weight_per_profile():
    # row 5 (after probation, before the window): -A_FP, and the window is missed: -A_FN
    f = make_file()
    assert raw(f, 5, profile=STANDARD) == pytest.approx(-0.11 - 1.0)
    assert raw(f, 5, profile=REWARD_LOW_FP) == pytest.approx(-0.22 - 1.0)
    assert raw(f, 5, profile=REWARD_LOW_FN) == pytest.approx(-0.11 - 2.0)


def test_detection_in_probationary_period_is_ignored():
    f = make_file()
    assert raw(f, 2) == pytest.approx(-1.0)  # same as no detection at all
    assert raw(f, 0, 1, 2) == pytest.approx(null_score([f], STANDARD))
    assert [c.row for c in row_credits(f, STANDARD)][:1] == [3]
    assert raw(f, 3) == pytest.approx(-1.11)  # row 3 is the first scored row


def test_missed_window_costs_fn_weight():
    f = make_file(windows=((10, 14), (16, 18)))
    # window 1 at its first row: +1; window 2 missed: -1 (standard) or -2 (low FN)
    assert raw(f, 10) == pytest.approx(0.0)
    assert raw(f, 10, profile=REWARD_LOW_FN) == pytest.approx(-1.0)


def test_fp_distance_uses_the_closest_preceding_window():
    # windows 4..5 (probation 3, so scored) and 10..14; row 16 is measured from window 2:
    # y = (16 - 14) / 4 = 0.5. Both windows detected at their first rows: +1 +1.
    f = make_file(windows=((4, 5), (10, 14)))
    assert raw(f, 4, 10, 16) == pytest.approx(2.0 - 0.11 * math.tanh(1.25))
    # row 7 after window 1 (width 2): y = (7 - 5) / (2 - 1) = 2 -> -0.11 * tanh(5)
    assert raw(f, 4, 10, 7) == pytest.approx(2.0 - 0.11 * math.tanh(5.0))


def test_profile_weights_scale_the_fp_cost():
    f = make_file()
    standard = raw(f, 10, 16, profile=STANDARD) - 1.0  # TP +1, then only the FP cost remains
    low_fp = raw(f, 10, 16, profile=REWARD_LOW_FP) - 1.0
    assert standard == pytest.approx(-0.11 * math.tanh(1.25))
    assert low_fp == pytest.approx(2 * standard)  # fp 0.22 = 2 x 0.11


def test_row_credits_match_nab_published_random_results():
    # numenta/NAB results/random/realAWSCloudwatch/random_iio_us-east-1_i-a2eb1cd9_NetworkIn.csv
    # (1243 rows, windows 218..280 and 308..370): column S(t)_standard is 0.800716988837 on
    # row 254 (first detection in window 1) and -0.109998772962 on row 520 (after window 2).
    f = make_file(1243, windows=((218, 280), (308, 370)))
    credits = {c.row: c.credit for c in row_credits(f, STANDARD)}
    assert credits[254] == pytest.approx(0.800716988837, abs=1e-12)
    assert credits[520] == pytest.approx(-0.109998772962, abs=1e-12)
    assert credits[198] == pytest.approx(-0.11)


# --- threshold sweep and normalization --------------------------------------------------


def test_sweep_scores_every_threshold_and_evaluate_picks_the_best():
    # row 5 (FP) scores 0.95, row 10 (window start) 0.9, the rest 0.0.
    #   threshold inf:  nothing flagged                    -1
    #   threshold 0.95: FP row 5                           -1 - 0.11 = -1.11
    #   threshold 0.9:  FP row 5 + TP row 10               -0.11 + 1 = 0.89
    #   threshold 0.0:  rows 3..19: 7 FPs before the window (-0.77), TP +1, FPs on rows 15..19
    #                   at y = 0.25, 0.5, 0.75, 1.0, 1.25
    f = make_file()
    scores = {"f.csv": [0.95 if i == 5 else 0.9 if i == 10 else 0.0 for i in range(20)]}
    after = -0.11 * sum(math.tanh(2.5 * y) for y in (0.25, 0.5, 0.75, 1.0, 1.25))
    expected = [(NO_DETECTION, -1.0), (0.95, -1.11), (0.9, 0.89), (0.0, -0.77 + 1.0 + after)]
    got = [(s.threshold, s.score) for s in sweep([f], scores, STANDARD)]
    assert [t for t, _ in got] == [t for t, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected])
    (result,) = evaluate([f], scores, profiles=[STANDARD])
    assert result.best.threshold == 0.9
    assert (result.best.detected_windows, result.best.false_positives) == (1, 1)
    assert result.normalized == pytest.approx(100 * (0.89 + 1) / 2)  # 94.5


def test_ties_go_to_the_highest_threshold():
    # row 12 (0.5) is a second detection in the window: adds nothing, so 0.9 and 0.5 tie
    f = make_file()
    scores = {"f.csv": [0.9 if i == 10 else 0.5 if i == 12 else 0.0 for i in range(20)]}
    (result,) = evaluate([f], scores, profiles=[STANDARD])
    assert result.best.threshold == 0.9
    assert result.best.score == pytest.approx(1.0)


def test_threshold_is_shared_across_the_corpus():
    # file a wants threshold 0.9 (its window row scores 0.9), file b flags an FP at 0.95 and its
    # window row at 0.8. One threshold for both: 0.8 gives a: +1, b: -0.11 + 1 = 1.89 in total.
    a, b = make_file(name="a.csv"), make_file(name="b.csv")
    scores = {
        "a.csv": [0.9 if i == 10 else 0.0 for i in range(20)],
        "b.csv": [0.95 if i == 5 else 0.8 if i == 10 else 0.0 for i in range(20)],
    }
    (result,) = evaluate([a, b], scores, profiles=[STANDARD])
    assert result.best.threshold == 0.8
    assert result.best.score == pytest.approx(1.89)


def test_perfect_detector_scores_100_and_null_detector_0_on_every_profile():
    # 200-row files (probation 30): flagging every row costs ~170 FPs, so the best a constant
    # detector can do is to flag nothing (threshold inf), which is the null detector.
    files = [
        make_file(200, ((100, 104),), name="a.csv"),
        make_file(200, ((40, 41), (150, 160)), name="b.csv"),
    ]
    perfect = flags(200, 100, name="a.csv") | flags(200, 40, 150, name="b.csv")
    null = {"a.csv": [0.0] * 200, "b.csv": [0.0] * 200}
    for result in evaluate(files, perfect):
        assert result.normalized == pytest.approx(100.0)
        assert result.best.score == perfect_score(files, result.profile) == 3.0
    for result in evaluate(files, null):
        assert result.best.threshold == NO_DETECTION
        assert (
            result.best.score
            == null_score(files, result.profile)
            == -3.0 * (result.profile.fn_weight)
        )
        assert result.normalized == pytest.approx(0.0)


def test_threshold_zero_flags_every_row():
    # detection is score >= threshold, so an all-zero detector still has the point "flag all":
    # on the 20-row file that is 7 FPs before the window (-0.77), TP +1 and 5 FPs after it
    f = make_file()
    after = -0.11 * sum(math.tanh(2.5 * y) for y in (0.25, 0.5, 0.75, 1.0, 1.25))
    points = sweep([f], {"f.csv": [0.0] * 20}, STANDARD)
    assert [p.threshold for p in points] == [NO_DETECTION, 0.0]
    assert points[1].score == pytest.approx(-0.77 + 1.0 + after)
    assert points[1].false_positives == 12


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.2, 0.5, 0.7, 0.9, 1.0]), min_size=40, max_size=40))
def test_sweep_agrees_with_direct_scoring_at_each_threshold(values):
    f = make_file(40, windows=((8, 12), (20, 21), (30, 35)))
    scores = {"f.csv": values}
    for point in sweep([f], scores, STANDARD):
        direct = score_at_threshold([f], scores, STANDARD, point.threshold)
        assert point.score == pytest.approx(direct.score)
        assert (point.detected_windows, point.missed_windows, point.false_positives) == (
            direct.detected_windows,
            direct.missed_windows,
            direct.false_positives,
        )


# --- bad input ---------------------------------------------------------------------------


def test_missing_scores_name_the_file():
    with pytest.raises(BadInputError, match=r"f\.csv: no anomaly scores") as exc:
        evaluate([make_file()], {})
    assert "one anomaly score in [0, 1] per row" in str(exc.value)


def test_wrong_score_count_names_file_and_counts():
    with pytest.raises(BadInputError, match=r"f\.csv, column 'anomaly_score': 19 anomaly scores"):
        evaluate([make_file()], {"f.csv": [0.0] * 19})


@pytest.mark.parametrize("bad", [1.5, -0.1, math.nan])
def test_score_out_of_range_names_file_row_and_column(bad):
    values = [0.0] * 20
    values[6] = bad
    with pytest.raises(BadInputError, match=r"f\.csv, row 7, column 'anomaly_score'") as exc:
        evaluate([make_file()], {"f.csv": values})
    assert exc.value.reason == "nab-bad-score"


@pytest.mark.parametrize("windows", [((5, 3),), ((2, 8), (8, 10)), ((15, 25),), ((12, 14), (5, 6))])
def test_bad_windows_are_rejected(windows):
    with pytest.raises(BadInputError, match="window rows") as exc:
        make_file(windows=windows)
    assert "without overlaps" in str(exc.value)


def test_corpus_without_windows_has_no_normalized_score():
    with pytest.raises(BadInputError, match="no anomaly window"):
        evaluate([make_file(windows=())], {"f.csv": [0.0] * 20})


# --- loading a NAB folder ------------------------------------------------------------------


def write_nab(root: Path, labels: object, files: dict[str, str]) -> Path:
    (root / "labels").mkdir(parents=True)
    text = labels if isinstance(labels, str) else json.dumps(labels)
    (root / "labels" / "combined_windows.json").write_text(text)
    for name, body in files.items():
        path = root / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    return root


def series(n: int, start: str = "2014-01-01 00:00:00") -> str:
    t = datetime.fromisoformat(start)
    rows = [f"{t + timedelta(minutes=5 * i):%Y-%m-%d %H:%M:%S},{i * 1.5}" for i in range(n)]
    return "timestamp,value\n" + "\n".join(rows) + "\n"


def test_load_corpus_maps_window_timestamps_to_rows(tmp_path):
    labels = {
        "g/a.csv": [["2014-01-01 00:50:00.000000", "2014-01-01 01:10:00.000000"]],
        "g/b.csv": [],
        "other/not_here.csv": [["2014-01-01 00:00:00.000000", "2014-01-01 00:05:00.000000"]],
    }
    root = write_nab(tmp_path, labels, {"g/a.csv": series(20), "g/b.csv": series(8)})
    a, b = load_corpus(root)
    assert (a.name, a.windows, len(a)) == ("g/a.csv", ((10, 14),), 20)  # 00:50 = row 10
    assert a.values[3] == 4.5
    assert (b.name, b.windows) == ("g/b.csv", ())


def test_window_edge_that_is_not_a_row_is_an_error(tmp_path):
    labels = {"g/a.csv": [["2014-01-01 00:52:00.000000", "2014-01-01 01:10:00.000000"]]}
    root = write_nab(tmp_path, labels, {"g/a.csv": series(20)})
    with pytest.raises(BadInputError, match=r"g/a\.csv.*window edge 2014-01-01 00:52:00") as exc:
        load_corpus(root)
    assert "must equal CSV rows" in str(exc.value)


def test_unparsable_timestamp_names_file_row_and_column(tmp_path):
    body = series(5).replace("2014-01-01 00:10:00", "yesterday")
    root = write_nab(tmp_path, {"g/a.csv": []}, {"g/a.csv": body})
    with pytest.raises(BadInputError, match=r"g/a\.csv, row 3, column 'timestamp'"):
        load_corpus(root)


def test_unparsable_value_names_file_row_and_column(tmp_path):
    body = series(5).replace(",3.0\n", ",n/a\n")
    root = write_nab(tmp_path, {"g/a.csv": []}, {"g/a.csv": body})
    with pytest.raises(BadInputError, match=r"g/a\.csv, row 3, column 'value'"):
        load_corpus(root)


def test_unlabelled_data_file_is_an_error(tmp_path):
    root = write_nab(tmp_path, {"g/a.csv": []}, {"g/a.csv": series(5), "g/new.csv": series(5)})
    with pytest.raises(BadInputError, match="no entry in labels") as exc:
        load_corpus(root)
    assert '"g/new.csv": []' in str(exc.value)


def test_invalid_labels_json_names_the_line(tmp_path):
    root = write_nab(tmp_path, '{\n  "g/a.csv": [\n}', {"g/a.csv": series(5)})
    with pytest.raises(BadInputError, match=r"combined_windows\.json, row 3: invalid JSON"):
        load_corpus(root)


def test_missing_labels_file_says_which_folder_to_pass(tmp_path):
    with pytest.raises(BadInputError, match="window labels not found") as exc:
        load_corpus(tmp_path)
    assert "labels/ and data/" in str(exc.value)

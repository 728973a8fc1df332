"""Resource runs (costline.anomaly.runs): spans, lengths in full days of own cost, and the
"outrun" verdict the engine's seen-before test asks for."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from costline.anomaly import runs


def test_spans_are_the_stretches_of_spend() -> None:
    assert runs.spans(np.array([0, 5, 5, 0, 0, 2, 0, 1])) == [(1, 2), (5, 5), (7, 7)]
    assert runs.spans(np.array([0.0, 0.0])) == []
    assert runs.spans(np.array([3.0, 3.0])) == [(0, 1)]


def test_length_is_in_full_days_of_its_own_cost() -> None:
    # 30 hours from 18:00: 6 h, 24 h (a full day), 0 h … as costs 6, 24 → 1.25 days
    assert runs.length(np.array([6.0, 24.0])) == 1.25
    # the unit does not matter: the same run at 10× the price is as long
    assert runs.length(np.array([60.0, 240.0])) == 1.25
    assert runs.length(np.array([0.0])) == 0.0


def matrix(*rows: list[float]) -> np.ndarray:
    return np.array(rows, dtype=float)


def test_outrun_needs_a_run_more_than_a_day_longer_than_every_ended_one() -> None:
    earlier = [0, 5, 5, 0, 0, 0, 0, 0, 0, 0]  # a 2-day job, ended
    three = [0, 0, 0, 0, 0, 5, 5, 5, 0, 0]  # on day 7: 3 days, not > 2 + 1
    four = [0, 0, 0, 0, 0, 5, 5, 5, 5, 0]  # on day 8: 4 days > 3
    assert runs.outrun(matrix(earlier, three), 7, known_from=0) is False
    assert runs.outrun(matrix(earlier, four), 8, known_from=0) is True
    assert runs.outrun(matrix(earlier, four), 7, known_from=0) is False  # day 3 of it


def test_outrun_cannot_tell_without_an_ended_run_or_a_current_one() -> None:
    on = [0, 0, 5, 5, 5, 5]
    assert runs.outrun(matrix(on), 5, known_from=0) is None  # nothing ended before it
    assert runs.outrun(matrix([0, 5, 0, 0, 0, 0]), 5, known_from=0) is None  # none on at t


def test_runs_whose_start_is_not_seen_are_not_compared() -> None:
    # a box running since the data began (day 0 = known_from) is not a 6-day job
    box = [5, 5, 5, 5, 5, 5]
    job = [0, 0, 5, 0, 0, 0]
    assert runs.outrun(matrix(box, job), 5, known_from=0) is None
    # a job that started before the lookback (known_from = 2) is of unknown length too
    old_job = [0, 0, 5, 5, 5, 5]
    ended = [0, 5, 0, 0, 0, 0]
    assert runs.outrun(matrix(old_job, ended), 5, known_from=2) is None


@given(
    st.lists(
        st.floats(min_value=0, max_value=1e6).map(lambda v: v if v >= 1e-6 else 0.0),
        min_size=1,
        max_size=30,
    ),
    st.floats(min_value=0.001, max_value=1e3),
)
def test_length_is_between_one_day_and_the_days_with_spend(
    costs: list[float], scale: float
) -> None:
    a = np.array(costs)
    n = runs.length(a)
    if a.max() > 0:
        assert 1.0 - 1e-9 <= n <= np.count_nonzero(a) + 1e-9
        assert abs(runs.length(a * scale) - n) <= 1e-9 * max(1.0, n)
    else:
        assert n == 0.0


def test_a_second_job_beside_the_usual_one_repeats_a_scale_out_does_not() -> None:
    box = [1.0] * 12  # runs from the data's start: not a job
    earlier = [0, 5, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]  # one job at a time before
    a = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 5]
    b = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]
    m = matrix(box, earlier, a, b)
    x = m.sum(axis=0)  # day 11: 1 + 5 + 5 = 11, a level never seen (6 before)
    assert runs.jobs_repeat(m, x, 11, known_from=0, margin=0.1) is True
    # three new jobs at once after one at a time: more than one extra
    c = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]
    m3 = matrix(box, earlier, a, b, c)
    assert runs.jobs_repeat(m3, m3.sum(axis=0), 11, known_from=0, margin=0.1) is False
    # a job costing twice a day what the earlier one did is not like it
    big = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10]
    m2 = matrix(box, earlier, big)
    assert runs.jobs_repeat(m2, m2.sum(axis=0), 11, known_from=0, margin=0.1) is False
    # the rest of the series at a new level (the box doubled) is not the jobs' doing
    box2 = [1.0] * 11 + [2.0]
    m4 = matrix(box2, earlier, a, b)
    assert runs.jobs_repeat(m4, m4.sum(axis=0), 11, known_from=0, margin=0.1) is False
    # nothing ended before: cannot tell
    assert runs.jobs_repeat(matrix(box, a), matrix(box, a).sum(axis=0), 11, 0, 0.1) is None


def test_outrunning_is_what_the_jobs_left_running_cost_that_day() -> None:
    earlier = [0, 5, 5, 0, 0, 0, 0, 0, 0, 0]  # 2 days
    four = [0, 0, 0, 0, 0, 7, 7, 7, 7, 0]  # 4 days by day 8
    short = [0, 0, 0, 0, 0, 0, 0, 3, 3, 0]  # on too, 2 days: not left running
    m = matrix(earlier, four, short)
    assert runs.outrunning(m, 8, known_from=0) == 7.0
    assert runs.outrunning(m, 7, known_from=0) == 0.0  # 3 days is not > 2 + 1
    assert runs.outrunning(matrix(four), 8, known_from=0) == 0.0  # nothing ended before


def test_a_full_day_at_the_rate_of_an_earlier_partial_day_repeats() -> None:
    # the earlier job ran 20 hours of one day ($587.74); this one runs a full day ($705.29):
    # a new daily level, the same $29.39 an hour
    box = [1.0] * 10
    earlier = [0, 0, 587.74, 0, 0, 0, 0, 0, 0, 0]
    now = [0, 0, 0, 0, 0, 0, 0, 400.0, 705.29, 0]
    m = matrix(box, earlier, now)
    x = m.sum(axis=0)
    nan = np.nan
    hours = matrix([nan] * 10, [nan, nan, 20, *[nan] * 7], [*[nan] * 7, 13.61, 24, nan])
    assert runs.jobs_repeat(m, x, 8, known_from=0, margin=0.1) is False  # daily costs alone
    assert runs.jobs_repeat(m, x, 8, known_from=0, margin=0.1, hours=hours) is True
    # the same hours at twice the rate is a bigger job, not a repeat
    m2 = matrix(box, earlier, [2 * v for v in now])
    assert runs.jobs_repeat(m2, m2.sum(axis=0), 8, 0, 0.1, hours=hours) is False
    # unknown hours (NaN) leave the daily cost as it is
    blind = np.full_like(hours, nan)
    assert runs.jobs_repeat(m, x, 8, known_from=0, margin=0.1, hours=blind) is False


@given(
    st.lists(st.floats(min_value=0, max_value=1e5), min_size=1, max_size=20),
    st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=100)), min_size=20, max_size=20),
)
def test_a_full_day_rate_is_never_below_the_days_cost(
    costs: list[float], hours: list[float | None]
) -> None:
    c = np.array(costs)
    h = np.array([np.nan if v is None else v for v in hours[: len(costs)]])
    rate = runs.full_day(c, h)
    assert np.all(rate >= c - 1e-9)
    # unknown, under an hour, or a whole day or more: unchanged
    whole = ~((h >= runs.MIN_HOURS) & (h < 24))
    assert np.array_equal(rate[whole], c[whole])
    part = ~whole
    assert np.allclose(rate[part] * h[part], c[part] * 24)

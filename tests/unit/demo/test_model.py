"""Streams, schedules, tag modes and the small helpers of the demo model."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from costline.demo.model import (
    TAG_MODES_BAD,
    Job,
    Stream,
    Who,
    allocatable,
    logical_tags,
    make,
    parse_table,
    q,
    simulate,
)
from costline.demo.org import AWS_PAYER
from costline.demo.periods import ALL_DAYS, MONTHS


def _stream(**kw: object) -> Stream:
    who = Who(AWS_PAYER, "checkout", "prod", "checkout-api")
    return make("aws", "k", who, "ec2", "i-1", 24.0, Decimal("0.1"), "us-east-1", **kw)


def test_months_are_three_full_calendar_months() -> None:
    assert [m.label for m in MONTHS] == ["2026-07", "2026-08", "2026-09"]
    assert len(ALL_DAYS) == 31 + 31 + 30
    assert MONTHS[1].end == datetime(2026, 9, 1)


def test_always_on_stream_runs_every_day_with_exact_quantities() -> None:
    days = simulate(_stream(), seed=1)
    assert len(days) == 92
    assert {qty for _, qty in days} == {Decimal("24.000000")}


def test_weekday_stream_skips_weekends_and_spikes_multiply() -> None:
    spike = date(2026, 7, 15)
    days = dict(simulate(_stream(weekdays_only=True, spikes={spike: 5.0}), seed=1))
    assert all(d.weekday() < 5 for d in days)
    assert days[spike] == Decimal("120.000000")


def test_simulation_is_deterministic_per_seed() -> None:
    noisy = _stream(noise=0.3, growth=0.05)
    assert simulate(noisy, seed=3) == simulate(noisy, seed=3)
    assert simulate(noisy, seed=3) != simulate(noisy, seed=4)


def test_job_hours_split_over_days() -> None:
    job = Job(
        "j",
        "aws",
        "1",
        "ml-research",
        "training",
        "p4d.24xlarge",
        "A100",
        8,
        datetime(2026, 7, 1, 20),
        datetime(2026, 7, 3, 2),
        "i-1",
    )
    assert job.day_fractions() == {
        date(2026, 7, 1): 4 / 24,
        date(2026, 7, 2): 1.0,
        date(2026, 7, 3): 2 / 24,
    }


def test_good_tags_are_allocatable_and_every_bad_mode_is_not() -> None:
    stream = _stream()
    tags = logical_tags(stream)
    assert tags == {
        "team": "checkout",
        "env": "prod",
        "cost-center": "CC-1101",
        "app": "checkout-api",
    }
    assert allocatable(tags)
    for mode in TAG_MODES_BAD:
        stream.tag_mode = mode
        assert not allocatable(logical_tags(stream)), mode


@pytest.mark.parametrize(
    ("mode", "key", "value"),
    [
        ("key-case", "Team", "checkout"),
        ("key-typo", "teem", "checkout"),
        ("value-case", "team", "Checkout"),
        ("value-unknown", "team", "tbd"),
    ],
)
def test_bad_modes_look_like_real_mistakes(mode: str, key: str, value: str) -> None:
    stream = _stream(tag_mode=mode, attrs={"bad_team": "tbd"})
    assert logical_tags(stream)[key] == value


def test_shared_streams_carry_only_their_extra_tags() -> None:
    stream = make(
        "aws",
        "s",
        Who(AWS_PAYER, None),
        "dt_out",
        "",
        1.0,
        Decimal(1),
        "us-east-1",
        extra_tags={"aws:eks:cluster-name": "x"},
    )
    assert logical_tags(stream) == {"aws:eks:cluster-name": "x"}


def test_parse_table_and_rounding() -> None:
    assert parse_table("\n a | b |  c \n\n d | e | f") == {"a": ("b", "c"), "d": ("e", "f")}
    assert q(Decimal("0.125"), 2) == Decimal("0.12")
    assert q(0.1 + 0.2, 8) == Decimal("0.30000000")

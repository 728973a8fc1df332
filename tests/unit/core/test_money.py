from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costline.core.money import quantize, split_exact, to_money
from costline.core.time import iso_z, month_period


def test_to_money_refuses_float() -> None:
    with pytest.raises(TypeError):
        to_money(0.1)
    assert to_money(" 0.00000080000 ") == Decimal("8.0E-7")
    with pytest.raises(ValueError):
        to_money("12,50")


@given(
    total=st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2),
    weights=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=30).filter(
        lambda ws: sum(ws) > 0
    ),
)
def test_split_exact_conserves_the_total(total: Decimal, weights: list[int]) -> None:
    parts = split_exact(total, weights, places=2)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    assert all(p == 0 for p, w in zip(parts, weights, strict=True) if w == 0)


def test_split_exact_rejects_no_weight() -> None:
    with pytest.raises(ValueError):
        split_exact(Decimal(1), [0, 0], places=2)


def test_quantize_is_half_even() -> None:
    assert quantize(Decimal("0.125")) == Decimal("0.12")
    assert quantize(Decimal("0.135")) == Decimal("0.14")


def test_month_period_is_half_open() -> None:
    from datetime import datetime

    assert month_period(datetime(2024, 12, 31, 23)) == (datetime(2024, 12, 1), datetime(2025, 1, 1))
    assert iso_z(datetime(2024, 9, 1)) == "2024-09-01T00:00:00Z"

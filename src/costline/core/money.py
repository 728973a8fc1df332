"""Money is Decimal in Python and DECIMAL(38, 10) in SQL; never float.

Example:
    >>> to_money("0.00000080000")
    Decimal('8.0000E-7')
    >>> split_exact(Decimal("10.00"), [1, 1, 1], places=2)
    [Decimal('3.34'), Decimal('3.33'), Decimal('3.33')]
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

MONEY_SQL_TYPE = "DECIMAL(38, 10)"
MONEY_SCALE = 10


def to_money(value: object) -> Decimal:
    """Convert a string, int or Decimal to Decimal; floats are refused (they lose cents)."""
    if isinstance(value, float):
        raise TypeError("money must not be float; pass a str or Decimal")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def quantize(value: Decimal, places: int = 2) -> Decimal:
    """Round half-even to ``places`` decimals (presentation only)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def split_exact(
    total: Decimal, weights: Sequence[float | int | Decimal], *, places: int
) -> list[Decimal]:
    """Split ``total`` by ``weights`` so the parts sum to ``total`` exactly (largest remainder).

    Raises:
        ValueError: when no weight is positive.
    """
    wsum = sum(Decimal(str(w)) for w in weights)
    if wsum <= 0:
        raise ValueError("at least one weight must be positive")
    unit = Decimal(1).scaleb(-places)
    units_total = int((total / unit).to_integral_value(rounding=ROUND_HALF_EVEN))
    raw = [Decimal(units_total) * Decimal(str(w)) / wsum for w in weights]
    floors = [int(r.to_integral_value(rounding="ROUND_FLOOR")) for r in raw]
    left = units_total - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(f) * unit for f in floors]

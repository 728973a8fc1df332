from __future__ import annotations

import pytest

from costline.core.text import csv_safe


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),  # not a number: a formula
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-12.50", "-12.50"),  # a plain number is read as a number, not run
        ("+3", "+3"),
        ("payments", "payments"),
        ("a=b", "a=b"),  # only a leading character matters
        ("", ""),
    ],
)
def test_csv_safe(text: str, expected: str) -> None:
    assert csv_safe(text) == expected


def test_cli_csv_output_neutralises_the_same_way() -> None:
    from costline.cli.output import to_csv

    assert to_csv(["t", "n"], [("=x", "-1.5")]) == "t,n\n'=x,-1.5\n"

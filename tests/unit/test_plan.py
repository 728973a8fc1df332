"""The mapping SELECT: raw text, money and embedded columns are computed once, same results.

Expected values are written out by hand from the raw rows in each test.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from costline.ingest.plan import _self_delimited, select_sql
from costline.schema.focus import STORE_COLUMNS
from costline.sources import _sql
from costline.sources.base import Field, RawColumns, RowSplit
from costline.storage.duckdb import DuckDBWarehouse

# the cost table also has x_ChargeId (given on insert): name the columns loaded
STORE_NAMES = ", ".join(f'"{c.name}"' for c in STORE_COLUMNS)

COLS = RawColumns.of({"kind": "VARCHAR", "cost": "VARCHAR", "qty": "VARCHAR", "unit": "VARCHAR"})
# (kind, cost, qty, unit): a usage line, a fee, a tax without quantity or unit.
READER = (
    "(SELECT * FROM (VALUES ('Usage', ' 2.5 ', '10', 'GB-Mo'), ('Fee ', '12', '3', ''), "
    "('Tax', '0.75', '', NULL)) t(kind, cost, qty, unit))"
)
KIND = _sql.text(COLS, "kind")
COST = _sql.money(COLS, "cost")
# Columns embedded in others, as the AWS mapping does with quantities, unit prices and units;
# PRICE embeds QTY, so sharing takes two levels.
QTY = Field(f"CASE WHEN {KIND.expr} <> 'Tax' THEN {_sql.money(COLS, 'qty').expr} END")
PRICE = Field(f"CASE WHEN {KIND.expr} IN ('Usage', 'Fee') THEN {COST.expr} / {QTY.expr} END")
UNIT = Field(
    f"CASE WHEN {QTY.expr} IS NOT NULL THEN COALESCE({_sql.text(COLS, 'unit').expr}, 'Units') END"
)


def mapping() -> dict[str, Field]:
    return {
        "ChargeCategory": Field(
            f"CASE {KIND.expr} WHEN 'Fee' THEN 'Purchase' ELSE {KIND.expr} END"
        ),
        "BilledCost": COST,
        "PricingQuantity": QTY,
        "ListUnitPrice": PRICE,
        # ListCost embeds ListUnitPrice twice, ConsumedUnit embeds PricingUnit.
        "ListCost": Field(f"CASE WHEN {PRICE.expr} IS NOT NULL THEN {PRICE.expr} * {QTY.expr} END"),
        "PricingUnit": UNIT,
        "ConsumedUnit": Field(f"CASE WHEN {KIND.expr} = 'Usage' THEN {UNIT.expr} END"),
    }


def load(sql: str) -> list[tuple[object, ...]]:
    wh = DuckDBWarehouse(None)
    wh.ensure_schema()
    wh.con.execute(f"INSERT INTO cost ({STORE_NAMES}) {sql}")
    return wh.query(
        "SELECT ChargeCategory, BilledCost, PricingQuantity, ListUnitPrice, ListCost, "
        "PricingUnit, ConsumedUnit, x_RowSplit FROM cost ORDER BY BilledCost"
    ).rows


def test_embedded_columns_are_computed_once_with_the_same_rows() -> None:
    sql = select_sql(mapping(), READER)
    # Each is written once, in a projection below the mapped columns: the unit price (three
    # times in the mapping), the unit (twice) and the trimmed kind (seven times).
    assert sql.count(" / ") == 1
    assert sql.count("'Units')") == 1
    assert sql.count('TRIM("kind")') == 1
    # Usage: 2.5 / 10 = 0.25, 0.25 * 10 = 2.5; fee: 12 / 3 = 4, 4 * 3 = 12; tax: no price.
    assert load(sql) == [
        ("Tax", Decimal("0.75"), None, None, None, None, None, None),
        (
            "Usage",
            Decimal("2.5"),
            Decimal(10),
            Decimal("0.25"),
            Decimal("2.5"),
            "GB-Mo",
            "GB-Mo",
            None,
        ),
        ("Purchase", Decimal(12), Decimal(3), Decimal(4), Decimal(12), "Units", None, None),
    ]


def test_shared_columns_serve_row_splits_too() -> None:
    split = RowSplit(
        "fee-copy",
        f"{KIND.expr} = 'Fee' AND {PRICE.expr} > 1",
        {"BilledCost": _sql.ZERO, "ListCost": Field(f"{PRICE.expr} * 2")},
    )
    rows = load(select_sql(mapping(), READER, [split]))
    # The fee (price 4 > 1) gets a copy that bills 0 and lists 4 * 2 = 8.
    assert (
        "Purchase",
        Decimal(0),
        Decimal(3),
        Decimal(4),
        Decimal(8),
        "Units",
        None,
        "fee-copy",
    ) in rows
    assert len(rows) == 4


def test_a_bad_value_still_fails_the_load() -> None:
    reader = "(SELECT * FROM (VALUES ('Usage', '1,5', '1', 'GB')) t(kind, cost, qty, unit))"
    with pytest.raises(duckdb.ConversionException):
        load(select_sql(mapping(), reader))


def test_only_whole_cases_and_calls_are_shared() -> None:
    # ltrim(...) contains the text trim(...) but is another call: nothing is shared.
    name = '"a_rather_long_raw_column"'
    sql = select_sql(
        {"BillingAccountId": Field(f"trim({name})"), "SubAccountId": Field(f"ltrim({name})")},
        f"(SELECT ' x ' AS {name})",
    )
    assert "__shared" not in sql
    wh = DuckDBWarehouse(None)
    assert wh.con.execute(f'SELECT "BillingAccountId", "SubAccountId" FROM ({sql})').fetchall() == [
        ("x", "x ")
    ]


@pytest.mark.parametrize(
    ("expr", "whole"),
    [
        ("CASE WHEN a THEN 1 END", True),
        ("CASE WHEN a THEN CASE WHEN b THEN 1 END END", True),
        ("COALESCE(a, f(b))", True),
        ("CASE WHEN a THEN 1 END + CASE WHEN b THEN 2 END", False),  # c * CASE... + CASE...
        ("f(a) + g(b)", False),
        ("a + b", False),
        ("(a + b)", False),
        ("NOT (a)", False),  # a keyword, not a call
        ("f(a)[1]", False),
        ("COALESCE(a, ')')", True),  # a parenthesis in a string literal is text
        ('CASE WHEN "END" THEN 1 END', True),  # so is a quoted identifier
    ],
)
def test_self_delimited(expr: str, whole: bool) -> None:
    assert _self_delimited(expr) is whole

"""Row splits: one raw row can yield two FOCUS rows, in one scan, conserving money."""

from __future__ import annotations

from decimal import Decimal

from costline.ingest.plan import select_sql
from costline.schema.focus import STORE_COLUMNS
from costline.sources import _sql
from costline.sources.base import Field, RawColumns, RowSplit
from costline.storage.duckdb import DuckDBWarehouse

# the cost table also has x_ChargeId (given on insert): name the columns loaded
STORE_NAMES = ", ".join(f'"{c.name}"' for c in STORE_COLUMNS)


def test_split_adds_a_row_only_where_its_condition_holds() -> None:
    wh = DuckDBWarehouse(None)
    wh.ensure_schema()
    cols = RawColumns.of({"kind": "VARCHAR", "fee": "VARCHAR", "unused": "VARCHAR"})
    reader = "(SELECT * FROM (VALUES ('Usage', '5', '0'), ('Fee', '10', '4')) t(kind, fee, unused))"
    base = {
        "ChargeCategory": Field("CASE kind WHEN 'Fee' THEN 'Purchase' ELSE 'Usage' END"),
        "BilledCost": _sql.money(cols, "fee"),
        "EffectiveCost": Field("CASE kind WHEN 'Fee' THEN 0 ELSE CAST(fee AS DECIMAL(38, 10)) END"),
    }
    unused = RowSplit(
        "unused-fee",
        "kind = 'Fee'",
        {
            "ChargeCategory": _sql.lit("Usage"),
            "CommitmentDiscountStatus": _sql.lit("Unused"),
            "BilledCost": _sql.ZERO,
            "EffectiveCost": _sql.money(cols, "unused"),
        },
    )
    wh.con.execute(f"INSERT INTO cost ({STORE_NAMES}) {select_sql(base, reader, [unused])}")
    rows = wh.query(
        "select ChargeCategory, CommitmentDiscountStatus, BilledCost, EffectiveCost "
        "from cost order by all"
    ).rows
    splits = wh.query("select x_RowSplit, count(*) from cost group by 1 order by 1").rows
    assert splits == [("unused-fee", 1), (None, 2)]
    assert rows == [
        ("Purchase", None, Decimal(10), Decimal(0)),
        ("Usage", "Unused", Decimal(0), Decimal(4)),
        ("Usage", None, Decimal(5), Decimal(5)),
    ]
    assert wh.query("select sum(BilledCost) from cost").rows[0][0] == Decimal(15)


def test_no_splits_is_a_plain_select() -> None:
    sql = select_sql({"BilledCost": Field("1")}, "read_csv('x')")
    assert "__split" not in sql

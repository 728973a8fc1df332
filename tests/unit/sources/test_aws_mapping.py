"""Golden tests: one AWS CUR row per line item type → the FOCUS values AWS's definitions imply.

The raw rows are hand-written in tests/golden/aws/line-item-types/cur-legacy.csv (legacy CUR
CSV). The same rows are rewritten, with plain DuckDB, as a legacy Athena Parquet file
(snake_case names, DOUBLE costs, TIMESTAMP dates, one column per tag) and as CUR 2.0 Parquet
and CSV files (the schema in costline.sources.aws.cur2_schema, with ``product`` and
``resource_tags`` maps). Every layout must give the values in expected.json, whose ``why``
fields say which AWS/FOCUS definition each expectation comes from. A commitment fee with an
unused part loads as two rows: the fee (keyed by its description) and the unused commitment
(keyed ``<description> [Unused]``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from costline.sources.aws.cur2_schema import CUR2_SCHEMA
from costline.sources.aws.names import snake
from costline.workspace import Workspace

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "aws" / "line-item-types"
RAW_CSV = GOLDEN / "cur-legacy.csv"
EXPECTED = json.loads((GOLDEN / "expected.json").read_text())
MONEY = ("UsageAmount", "UnblendedCost", "publicOnDemandCost", "reservation/", "savingsPlan/")
DATES = ("BillingPeriodStartDate", "BillingPeriodEndDate", "UsageStartDate", "UsageEndDate")
TAGS = {"resourceTags/user:team": "user_team", "resourceTags/aws:createdBy": "aws_created_by"}
PRODUCT = {
    "product/ProductName": "product_name",
    "product/regionCode": "region_code",
    "product/location": "location",
    "product/instanceType": "instance_type",
    "product/productFamily": "product_family",
    "product/sku": "sku",
}


def _csv_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            f"DESCRIBE SELECT * FROM read_csv('{RAW_CSV}', all_varchar = true)"
        ).fetchall()
    ]


def _athena_expr(name: str) -> str:
    col = '"' + name + '"'
    if any(m in name for m in MONEY) and "ARN" not in name:
        return f"CAST(NULLIF({col}, '') AS DOUBLE)"
    if any(name.endswith(d) for d in DATES):
        return f"CAST(CAST({col} AS TIMESTAMPTZ) AS TIMESTAMP)"
    return f"COALESCE({col}, '')"  # Athena CURs write '' (not NULL) in empty text columns


def write_athena(out: Path) -> Path:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    parts = []
    for name in _csv_columns(con):
        target = "resource_tags_" + TAGS[name] if name in TAGS else snake(name)
        parts.append(f'{_athena_expr(name)} AS "{target}"')
    path = out / "athena.parquet"
    con.execute(
        f"COPY (SELECT {', '.join(parts)} FROM read_csv('{RAW_CSV}', all_varchar = true)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    return path


def _map(pairs: dict[str, str]) -> str:
    entries = ", ".join(f"{{'key': '{k}', 'value': \"{c}\"}}" for c, k in pairs.items())
    return f"map_from_entries(list_filter([{entries}], lambda e: e.value IS NOT NULL))"


def write_cur2(out: Path, *, csv: bool = False) -> Path:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    have = {snake(n): n for n in _csv_columns(con)}
    parts = []
    for name, typ in CUR2_SCHEMA:
        if name == "product":
            expr = _map(PRODUCT)
        elif name == "resource_tags":
            expr = _map(TAGS)
        elif name in have:
            expr = _athena_expr(have[name]).replace("COALESCE(", "NULLIF(")
        else:
            expr = "NULL"
        if csv and typ.startswith("MAP"):
            expr = f"CAST(to_json({expr}) AS VARCHAR)"
            typ = "VARCHAR"
        parts.append(f'CAST({expr} AS {typ}) AS "{name}"')
    path = out / ("cur2.csv" if csv else "cur2.parquet")
    fmt = "csv, HEADER true" if csv else "parquet"
    con.execute(
        f"COPY (SELECT {', '.join(parts)} FROM read_csv('{RAW_CSV}', all_varchar = true)) "
        f"TO '{path}' (FORMAT {fmt})"
    )
    return path


def _legacy(out: Path) -> Path:
    return RAW_CSV


LAYOUTS: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "legacy-csv": ("aws-cur-legacy", _legacy),
    "athena-parquet": ("aws-cur-athena", write_athena),
    "cur2-parquet": ("aws-cur2", write_cur2),
    "cur2-csv": ("aws-cur2", lambda out: write_cur2(out, csv=True)),
}


@pytest.fixture(scope="module", params=list(LAYOUTS))
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, dict[str, Any]]]:
    """(layout, FOCUS rows keyed by ChargeDescription) after a real ingest of one layout."""
    kind, build = LAYOUTS[request.param]
    tmp = tmp_path_factory.mktemp(request.param)
    raw = build(tmp)
    ws = Workspace.init(tmp / "ws")
    report = ws.ingest([raw])
    assert [o.status for o in report.outcomes] == ["loaded"], [o.message for o in report.outcomes]
    assert report.outcomes[0].kind == kind
    records = ws.query("SELECT * FROM cost").records()
    return request.param, {_key(r): r for r in records}


def _key(row: dict[str, Any]) -> str:
    unused = row["CommitmentDiscountStatus"] == "Unused"
    return row["ChargeDescription"] + (" [Unused]" if unused else "")


def _normal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value


def _expected(layout: str, field: str, value: Any) -> Any:
    if field == "Tags" and layout != "legacy-csv":
        # Athena and CUR 2.0 carry AWS's sanitised tag names: aws:createdBy → aws:created_by.
        return {("aws:created_by" if k == "aws:createdBy" else k): v for k, v in value.items()}
    if isinstance(value, str) and field.endswith(("Cost", "Quantity", "Price", "Discounts")):
        return Decimal(value).normalize()
    return value


def _check(layout: str, row: dict[str, Any], expected: dict[str, Any]) -> None:
    for field, value in expected.items():
        if field == "why":
            continue
        assert _normal(row[field]) == _expected(layout, field, value), (
            f"{layout}: {row['ChargeDescription']}: {field}"
        )


def test_every_golden_row_is_loaded_once(loaded: tuple[str, dict[str, dict[str, Any]]]) -> None:
    _, rows = loaded
    assert sorted(rows) == sorted(EXPECTED["rows"])


@pytest.mark.parametrize("description", list(EXPECTED["rows"]))
def test_line_item_type(loaded: tuple[str, dict[str, dict[str, Any]]], description: str) -> None:
    layout, rows = loaded
    expected = dict(EXPECTED["common"])
    if "ProviderName" not in EXPECTED["rows"][description]:
        expected.update(EXPECTED["first_party"])
    expected.update(EXPECTED["rows"][description])
    _check(layout, rows[description], expected)


def test_untagged_rows_have_an_empty_tag_map(loaded: tuple[str, dict[str, dict[str, Any]]]) -> None:
    _, rows = loaded
    assert rows["G13 tax for product code AmazonEC2"]["Tags"] == {}


def test_billed_total_is_the_sum_of_unblended_cost(
    loaded: tuple[str, dict[str, dict[str, Any]]],
    raw_duckdb: duckdb.DuckDBPyConnection,
) -> None:
    _, rows = loaded
    raw = raw_duckdb.execute(
        f'SELECT sum(CAST("lineItem/UnblendedCost" AS DECIMAL(38, 10))) '
        f"FROM read_csv('{RAW_CSV}', all_varchar = true)"
    ).fetchone()
    assert raw is not None
    assert sum(r["BilledCost"] for r in rows.values()) == raw[0]


def _raw_sum(con: duckdb.DuckDBPyConnection, expr: str, where: str = "true") -> Decimal:
    row = con.execute(
        f"SELECT sum({expr}) FROM (SELECT * REPLACE ("
        + ", ".join(
            f'CAST(NULLIF("{c}", \'\') AS DECIMAL(38, 10)) AS "{c}"'
            for c in (
                "lineItem/UnblendedCost",
                "reservation/EffectiveCost",
                "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
                "reservation/UnusedRecurringFee",
                "savingsPlan/SavingsPlanEffectiveCost",
                "savingsPlan/TotalCommitmentToDate",
                "savingsPlan/UsedCommitment",
            )
        )
        + f") FROM read_csv('{RAW_CSV}', all_varchar = true)) WHERE {where}"
    ).fetchone()
    assert row is not None
    return Decimal(row[0])


def test_unused_commitment_rows_move_effective_cost_and_bill_nothing(
    loaded: tuple[str, dict[str, dict[str, Any]]],
    raw_duckdb: duckdb.DuckDBPyConnection,
) -> None:
    """The split only moves money: per fee line, fee EffectiveCost (0) + unused EffectiveCost =
    AWS's unused amount; Σ EffectiveCost = AWS's amortized total; unused rows bill 0."""
    _, rows = loaded
    unused = [r for r in rows.values() if r["CommitmentDiscountStatus"] == "Unused"]
    purchases = [r for r in rows.values() if r["ChargeCategory"] == "Purchase"]
    ri_unused = _raw_sum(
        raw_duckdb,
        'coalesce("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod", 0) '
        '+ coalesce("reservation/UnusedRecurringFee", 0)',
        "\"lineItem/LineItemType\" = 'RIFee'",
    )
    sp_unused = _raw_sum(
        raw_duckdb,
        'coalesce("savingsPlan/TotalCommitmentToDate", 0) '
        '- coalesce("savingsPlan/UsedCommitment", 0)',
        "\"lineItem/LineItemType\" = 'SavingsPlanRecurringFee'",
    )
    assert sum(r["EffectiveCost"] for r in unused) == ri_unused + sp_unused == Decimal("15.25")
    assert all(r["BilledCost"] == 0 and r["ChargeCategory"] == "Usage" for r in unused)
    assert sum(r["BilledCost"] for r in unused) == 0
    commitment_purchases = [r for r in purchases if r["CommitmentDiscountId"] is not None]
    # G04 and G21 (RI fees), G05 (RI upfront), G08 and G09 (Savings Plan fees).
    assert len(commitment_purchases) == 5
    assert all(r["EffectiveCost"] == 0 for r in commitment_purchases)
    amortized = _raw_sum(
        raw_duckdb,
        """CASE "lineItem/LineItemType"
             WHEN 'DiscountedUsage' THEN "reservation/EffectiveCost"
             WHEN 'SavingsPlanCoveredUsage' THEN "savingsPlan/SavingsPlanEffectiveCost"
             WHEN 'SavingsPlanNegation' THEN 0 WHEN 'SavingsPlanUpfrontFee' THEN 0
             WHEN 'RIFee' THEN coalesce("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod", 0)
                               + coalesce("reservation/UnusedRecurringFee", 0)
             WHEN 'SavingsPlanRecurringFee' THEN "savingsPlan/TotalCommitmentToDate"
                                                 - "savingsPlan/UsedCommitment"
             WHEN 'Fee' THEN CASE WHEN "reservation/ReservationARN" <> '' THEN 0
                                  ELSE "lineItem/UnblendedCost" END
             ELSE "lineItem/UnblendedCost" END""",
    )
    assert sum(r["EffectiveCost"] for r in rows.values()) == amortized


def test_priced_rows_multiply_back_and_have_a_unit(
    loaded: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    """FOCUS on every row with a quantity: a unit, both unit prices when a SkuPriceId is set, and
    cost = unit price x quantity within half the FOCUS validator's float64 tolerance."""
    _, rows = loaded
    priced = [r for r in rows.values() if r["PricingQuantity"] is not None]
    assert len(priced) >= 15
    for r in priced:
        name = r["ChargeDescription"]
        assert r["PricingUnit"] is not None, name
        if r["SkuPriceId"] is not None:
            assert r["ListUnitPrice"] is not None and r["ContractedUnitPrice"] is not None, name
        for price, cost in (
            ("ListUnitPrice", "ListCost"),
            ("ContractedUnitPrice", "ContractedCost"),
        ):
            if r[price] is not None:
                product = float(r[price]) * float(r["PricingQuantity"])
                assert abs(product - float(r[cost])) <= 5e-10 * max(abs(float(r[cost])), 1), name

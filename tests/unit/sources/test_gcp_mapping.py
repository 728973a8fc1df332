"""GCP BigQuery billing export → FOCUS: golden rows (NDJSON, Parquet, CSV shapes) and detection.

The expected values in tests/golden/gcp/ were written by hand from Google's export schema
documentation, not produced by costline. Files are mapped exactly as the pipeline does,
including the source's row splits (a new-model CUD fee with an unused part gives two rows).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from costline.ingest.plan import check_required, select_sql
from costline.schema.focus import STORE_COLUMNS
from costline.sources import _files
from costline.sources.base import Detection, RawColumns
from costline.sources.gcp._nested import parse_type
from costline.sources.gcp.detect import detect
from costline.sources.gcp.mapping import build_mapping, unit_format
from costline.sources.registry import detect_source
from costline.storage.duckdb import DuckDBWarehouse

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "gcp" / "detailed_nested"
EXPORT = GOLDEN / "export.ndjson"
EXPECTED: dict[str, Any] = json.loads((GOLDEN / "expected.json").read_text())


def map_file(path: Path) -> tuple[Detection, list[dict[str, Any]]]:
    """Detect and map one file exactly as the pipeline does; rows as dicts in file order."""
    wh = DuckDBWarehouse(None)
    wh.ensure_schema()
    fmt = _files.sniff_format(path)
    reader = _files.reader_sql([path], fmt)
    cols = RawColumns.of(wh.describe(reader), fmt)
    spec, found = detect_source(cols, file=str(path))
    mapping = spec.build_mapping(cols, found)
    check_required(mapping, file=str(path), kind=found.kind)
    splits = spec.split_rows(cols, found) if spec.split_rows is not None else []
    rows = wh.con.execute(select_sql(mapping, reader, splits)).fetchall()
    names = [c.name for c in STORE_COLUMNS]
    return found, [dict(zip(names, row, strict=True)) for row in rows]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def assert_row(actual: dict[str, Any], expected: dict[str, Any], label: str) -> None:
    for column, want in expected.items():
        got = actual[column]
        if isinstance(got, Decimal) and want is not None:
            assert got == Decimal(want), f"{label}: {column} = {got}, expected {want}"
        else:
            assert _plain(got) == want, f"{label}: {column} = {got!r}, expected {want!r}"


def row_key(row: dict[str, Any]) -> str:
    """``sku.description @ usage_start_time``, `` [Unused]`` for an unused-commitment row."""
    unused = " [Unused]" if row["CommitmentDiscountStatus"] == "Unused" else ""
    return f"{row['ChargeDescription']} @ {row['ChargePeriodStart'].isoformat()}{unused}"


def assert_golden(rows: list[dict[str, Any]]) -> None:
    by_key = {row_key(r): r for r in rows}
    assert len(by_key) == len(rows)
    assert sorted(by_key) == sorted(EXPECTED["rows"]), "one cost row per raw row, plus splits"
    for key, want in EXPECTED["rows"].items():
        assert_row(by_key[key], EXPECTED["all"], key)
        assert_row(by_key[key], want, key)


def test_golden_ndjson_detailed_export() -> None:
    found, rows = map_file(EXPORT)
    assert found.kind == EXPECTED["kind"]
    assert_golden(rows)


def _to_parquet(tmp_path: Path) -> Path:
    """The golden rows as BigQuery writes Parquet: FLOAT64 costs, UTC timestamps, nested lists."""
    out = tmp_path / "export.parquet"
    con = duckdb.connect()
    money = "STRUCT(name VARCHAR, amount DOUBLE, full_name VARCHAR, id VARCHAR, type VARCHAR)[]"
    con.execute(f"""
        COPY (SELECT * REPLACE (
            CAST(cost AS DOUBLE) AS cost, CAST(cost_at_list AS DOUBLE) AS cost_at_list,
            CAST(usage_start_time AS TIMESTAMPTZ) AS usage_start_time,
            CAST(usage_end_time AS TIMESTAMPTZ) AS usage_end_time,
            CAST(credits AS {money}) AS credits,
            CAST(usage AS STRUCT(amount DOUBLE, unit VARCHAR, amount_in_pricing_units DOUBLE,
                                 pricing_unit VARCHAR)) AS usage,
            CAST(price AS STRUCT(effective_price DECIMAL(38, 9), tier_start_amount DECIMAL(38, 9),
                                 unit VARCHAR, pricing_unit_quantity DECIMAL(38, 9))) AS price)
        FROM read_json('{EXPORT}', format = 'auto')) TO '{out}' (FORMAT parquet)""")
    con.close()
    return out


def test_golden_parquet_same_values(tmp_path: Path) -> None:
    found, rows = map_file(_to_parquet(tmp_path))
    assert found.kind == "gcp-billing-detailed"
    # The tier is DECIMAL(38, 9) here ("0.000000000"): the SKU price id is still "SKU-VM/0".
    assert_golden(rows)


def _to_csv(tmp_path: Path, *, flatten: bool) -> Path:
    """A query result saved as CSV: records as JSON text, or flattened ``a.b`` columns."""
    out = tmp_path / ("flat.csv" if flatten else "json.csv")
    con = duckdb.connect()
    src = f"read_json('{EXPORT}', format = 'auto')"
    if flatten:
        select = (
            'SELECT billing_account_id, service.id AS "service.id", '
            'service.description AS "service.description", sku.id AS "sku.id", '
            'sku.description AS "sku.description", usage_start_time, usage_end_time, '
            'project.id AS "project.id", project.name AS "project.name", '
            "to_json(labels) AS labels, cost, currency, to_json(credits) AS credits, "
            'invoice.month AS "invoice.month", cost_type'
        )
    else:
        select = (
            "SELECT * REPLACE (to_json(service) AS service, to_json(sku) AS sku, "
            "to_json(project) AS project, to_json(labels) AS labels, "
            "to_json(system_labels) AS system_labels, to_json(tags) AS tags, "
            "to_json(credits) AS credits, to_json(invoice) AS invoice, "
            "to_json(usage) AS usage, to_json(location) AS location, "
            "to_json(resource) AS resource, to_json(price) AS price, "
            "to_json(subscription) AS subscription, "
            "to_json(adjustment_info) AS adjustment_info)"
        )
    con.execute(f"COPY ({select} FROM {src}) TO '{out}' (HEADER, DELIMITER ',')")
    con.close()
    return out


def test_golden_csv_with_json_records(tmp_path: Path) -> None:
    found, rows = map_file(_to_csv(tmp_path, flatten=False))
    assert found.kind == "gcp-billing-detailed"
    assert_golden(rows)


def test_csv_with_flattened_records(tmp_path: Path) -> None:
    found, rows = map_file(_to_csv(tmp_path, flatten=True))
    assert found.kind == "gcp-billing-standard"
    by_key = {row_key(r): r for r in rows}
    vm = by_key["N2 Instance Core running in Belgium @ 2024-09-10T10:00:00"]
    assert_row(
        vm,
        {
            "BilledCost": "10.5",
            "EffectiveCost": "6.75",
            "SubAccountId": "web-prod",
            "ServiceName": "Compute Engine",
            "BillingPeriodStart": "2024-09-01T00:00:00",
            "PricingCategory": "Committed",
            "Tags": {"env": "staging", "app": "shop"},
            "ListCost": "10.5",
        },
        "flat VM",
    )
    assert by_key["Tax @ 2024-09-01T07:00:00"]["ChargeCategory"] == "Tax"


def test_money_is_conserved_on_the_golden_file(raw_duckdb: duckdb.DuckDBPyConnection) -> None:
    """Independently of costline: Σ BilledCost = Σ cost and Σ EffectiveCost = Σ cost + credits."""
    _, rows = map_file(EXPORT)
    cost, net = raw_duckdb.execute(f"""
        SELECT sum(CAST(cost AS DECIMAL(38, 10))),
               sum(CAST(cost AS DECIMAL(38, 10)))
               + sum((SELECT coalesce(sum(CAST(c.amount AS DECIMAL(38, 10))), 0)
                      FROM unnest(credits) AS t(c)))
        FROM read_json('{EXPORT}', format = 'auto')""").fetchone()
    assert sum(r["BilledCost"] for r in rows) == cost
    assert sum(r["EffectiveCost"] for r in rows) == net
    assert sum(r["x_Discounts"] or 0 for r in rows) == net - cost


def test_unused_commitment_rows_only_move_effective_cost(
    raw_duckdb: duckdb.DuckDBPyConnection,
) -> None:
    """Per raw row: fee EffectiveCost (0) + unused EffectiveCost = cost + credits (computed from
    the raw file); only fees with a FEE_UTILIZATION_OFFSET credit and an unused part split."""
    _, rows = map_file(EXPORT)
    expected = raw_duckdb.execute(f"""
        SELECT CAST(CAST(usage_start_time AS TIMESTAMPTZ) AS TIMESTAMP), CAST(cost AS DECIMAL(38, 10))
               + (SELECT sum(CAST(c.amount AS DECIMAL(38, 10))) FROM unnest(credits) AS t(c))
        FROM read_json('{EXPORT}', format = 'auto')
        WHERE list_contains(list_transform(credits, lambda c: c.type), 'FEE_UTILIZATION_OFFSET')
        ORDER BY 1""").fetchall()
    assert [e[1] for e in expected] == [Decimal("2.5"), Decimal(0)]
    fees = [r for r in rows if r["x_Discounts"] and r["SkuId"] == "SKU-CUD-FLEX"]
    unused = [r for r in rows if r["CommitmentDiscountStatus"] == "Unused"]
    assert [r["EffectiveCost"] for r in fees] == [0, 0]
    assert [(r["ChargePeriodStart"], r["EffectiveCost"]) for r in unused] == [
        (e[0], e[1]) for e in expected if e[1] != 0
    ]
    assert all(r["BilledCost"] == 0 and r["ListCost"] == 0 for r in unused)
    legacy = [r for r in rows if r["SkuId"] == "SKU-CUD-FEE"]
    assert [(r["ChargeCategory"], r["EffectiveCost"]) for r in legacy] == [("Purchase", 24)]


def test_detects_standard_table_without_resource() -> None:
    cols = RawColumns.of(
        {
            "billing_account_id": "VARCHAR",
            "service": "STRUCT(id VARCHAR, description VARCHAR)",
            "sku": "STRUCT(id VARCHAR, description VARCHAR)",
            "usage_start_time": "TIMESTAMP WITH TIME ZONE",
            "cost": "DOUBLE",
        },
        "json",
    )
    found = detect(cols)
    assert found is not None and found.kind == "gcp-billing-standard"
    assert "no cost_at_list: ListCost is cost" in found.notes


@pytest.mark.parametrize(
    ("columns", "kind"),
    [
        (
            {
                "billing_account_id": "VARCHAR",
                "sku": "VARCHAR",
                "service": "VARCHAR",
                "list_price": "VARCHAR",
                "export_time": "VARCHAR",
            },
            "gcp-pricing-export",
        ),
        (
            {"billing_account_id": "VARCHAR", "cud_product": "VARCHAR", "term": "VARCHAR"},
            "gcp-cud-export",
        ),
    ],
)
def test_other_gcp_billing_datasets_are_skipped(columns: dict[str, str], kind: str) -> None:
    found = detect(RawColumns.of(columns))
    assert found is not None and found.kind == kind and "not_cost" in found.details


def test_focus_and_oci_files_are_not_claimed() -> None:
    focus = dict.fromkeys(
        (
            "BillingAccountId",
            "BilledCost",
            "ChargePeriodStart",
            "ServiceName",
            "billing_account_id",
            "usage_start_time",
        ),
        "VARCHAR",
    )
    assert detect(RawColumns.of(focus)) is None
    oci = dict.fromkeys(
        ("lineItem/tenantId", "lineItem/intervalUsageStart", "cost/myCost"), "VARCHAR"
    )
    assert detect(RawColumns.of(oci)) is None


def test_parse_type_handles_quoted_and_nested_fields() -> None:
    node = parse_type(
        'STRUCT(id "NULL", "name" VARCHAR, labels STRUCT("key" VARCHAR, '
        '"value" VARCHAR)[], "a ""b""" INTEGER)'
    )
    assert [n for n, _ in node.fields] == ["id", "name", "labels", 'a "b"']
    assert node.field("ID") is not None and node.field("id")[1].kind == "null"  # type: ignore[index]
    labels = node.field("labels")[1]  # type: ignore[index]
    assert labels.kind == "list" and labels.child is not None
    assert labels.child.field("value")[1].is_text  # type: ignore[index]
    assert parse_type("JSON[]").child.kind == "json"  # type: ignore[union-attr]
    assert parse_type("DECIMAL(38,9)").name == "DECIMAL(38,9)"


def test_arrays_typed_json_still_map() -> None:
    """read_json types an array JSON[] when it is empty in every sampled row; later rows that
    do carry credits and labels must still count (their elements arrive as JSON values)."""
    wh = DuckDBWarehouse(None)
    wh.ensure_schema()
    wh.con.execute("""
        CREATE TABLE raw AS SELECT
            '01A2B3-C4D5E6-F7A8B9' AS billing_account_id,
            {'id': 'S1', 'description': 'Compute Engine'} AS service,
            {'id': 'K1', 'description': 'N2 core'} AS sku,
            TIMESTAMPTZ '2024-09-10 10:00:00+00' AS usage_start_time,
            TIMESTAMPTZ '2024-09-10 11:00:00+00' AS usage_end_time,
            '10' AS cost, 'USD' AS currency, {'month': '202409'} AS invoice,
            'regular' AS cost_type,
            ['{"name": "CUD", "amount": "-4", "id": "c-1", "type": "COMMITTED_USAGE_DISCOUNT"}',
             '{"name": "Free tier", "amount": -0.5, "type": "FREE_TIER"}']::JSON[] AS credits,
            ['{"key": "team", "value": "web"}']::JSON[] AS labels,
            CAST([] AS JSON[]) AS system_labels""")
    cols = RawColumns.of(wh.describe("raw"), "json")
    found = detect(cols)
    assert found is not None
    mapping = build_mapping(cols, found)
    names = [c.name for c in STORE_COLUMNS]
    (row,) = [
        dict(zip(names, r, strict=True))
        for r in wh.con.execute(select_sql(mapping, "raw")).fetchall()
    ]
    assert row["EffectiveCost"] == Decimal("5.5")
    assert row["x_Discounts"] == Decimal("-4.5")
    assert row["CommitmentDiscountId"] == "c-1"
    assert row["PricingCategory"] == "Committed"
    assert row["Tags"] == {"team": "web"}


@pytest.mark.parametrize(
    ("unit", "focus"),
    [
        ("byte-seconds", "byte-Seconds"),
        ("request-hours", "request-Hours"),
        ("seconds", "seconds"),
        ("gibibyte month", "gibibyte month"),
        (None, None),
    ],
)
def test_units_follow_focus_unit_format(unit: str | None, focus: str | None) -> None:
    """FOCUS UnitFormat writes ``<unit>-<plural time unit>`` with the time unit capitalised."""
    value = "NULL" if unit is None else f"'{unit}'"
    assert duckdb.sql(f"SELECT {unit_format(value)}").fetchall() == [(focus,)]

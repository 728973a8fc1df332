"""The mapping expression builders, evaluated by a real in-memory DuckDB."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from costline.sources import _sql
from costline.sources.base import RawColumns, normalize_name
from costline.storage.duckdb import DuckDBWarehouse


@pytest.fixture(scope="module")
def duck() -> DuckDBWarehouse:
    return DuckDBWarehouse(None)


def _eval(
    duck: DuckDBWarehouse, expr: str, values: dict[str, object], types: dict[str, str]
) -> object:
    cols = ", ".join(f"CAST(? AS {types[k]}) AS {_sql.q(k)}" for k in values)
    return duck.query(f"SELECT {expr} FROM (SELECT {cols})", list(values.values())).rows[0][0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12.5", Decimal("12.5")),
        (" 0.00000080000 ", Decimal("8E-7")),
        ("1.5E-7", Decimal("1.5E-7")),
        ("", None),
        ("-3", Decimal(-3)),
    ],
)
def test_money_from_text(duck: DuckDBWarehouse, raw: str, expected: Decimal | None) -> None:
    cols = RawColumns.of({"Cost": "VARCHAR"})
    assert (
        _eval(duck, _sql.money(cols, "cost").expr, {"Cost": raw}, {"Cost": "VARCHAR"}) == expected
    )


def test_money_from_double_and_default_zero(duck: DuckDBWarehouse) -> None:
    cols = RawColumns.of({"c": "DOUBLE"}, "parquet")
    assert _eval(duck, _sql.money(cols, "c").expr, {"c": 0.1}, {"c": "DOUBLE"}) == Decimal("0.1")
    missing = _sql.money(cols, "nope", default_zero=True)
    assert _eval(duck, missing.expr, {"c": 1.0}, {"c": "DOUBLE"}) == Decimal(0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-11-01T00:00:00.000Z", datetime(2023, 11, 1)),
        ("2024-09-01 00:00:00", datetime(2024, 9, 1)),
        ("2023-11-13T10:00Z", datetime(2023, 11, 13, 10)),
        ("2023-11-01T02:00:00+02:00", datetime(2023, 11, 1, 0)),  # offsets convert to UTC
        ("2023-11-01T00:30:00-05:00", datetime(2023, 11, 1, 5, 30)),
    ],
)
def test_timestamps_are_utc(duck: DuckDBWarehouse, raw: str, expected: datetime) -> None:
    cols = RawColumns.of({"d": "VARCHAR"})
    assert _eval(duck, _sql.timestamp(cols, "d").expr, {"d": raw}, {"d": "VARCHAR"}) == expected


def test_us_dates_with_formats(duck: DuckDBWarehouse) -> None:
    cols = RawColumns.of({"Date": "VARCHAR"})
    field = _sql.timestamp(cols, "date", formats=["%m/%d/%Y"])
    for raw in ("9/2/2023", "09/02/2023", "2023-09-02"):
        assert _eval(duck, field.expr, {"Date": raw}, {"Date": "VARCHAR"}) == datetime(2023, 9, 2)


def test_timestamptz_parquet_column(duck: DuckDBWarehouse) -> None:
    cols = RawColumns.of({"t": "TIMESTAMP WITH TIME ZONE"}, "parquet")
    got = _eval(
        duck, _sql.timestamp(cols, "t").expr, {"t": "2024-01-01 03:00:00+03"}, {"t": "TIMESTAMPTZ"}
    )
    assert got == datetime(2024, 1, 1)


def test_tags_helpers(duck: DuckDBWarehouse) -> None:
    cols = RawColumns.of({"Tags": "VARCHAR"})
    ea = _sql.tags_from_json(cols, "Tags", wrap_braces=True)
    assert _eval(duck, ea.expr, {"Tags": '"a": "1","b": ""'}, {"Tags": "VARCHAR"}) == {
        "a": "1",
        "b": "",
    }
    wide = RawColumns.of(
        {"resourceTags/user:team": "VARCHAR", "resourceTags/aws:createdBy": "VARCHAR"}
    )
    field = _sql.tags_from_columns(wide, list(wide), strip="resourceTags/")
    got = _eval(
        duck,
        field.expr,
        {"resourceTags/user:team": "web", "resourceTags/aws:createdBy": ""},
        {"resourceTags/user:team": "VARCHAR", "resourceTags/aws:createdBy": "VARCHAR"},
    )
    assert got == {"user:team": "web"}


def test_coalesce_and_text(duck: DuckDBWarehouse) -> None:
    cols = RawColumns.of({"a": "VARCHAR", "b": "VARCHAR"})
    field = _sql.coalesce(_sql.text(cols, "a"), _sql.text(cols, "b"), _sql.text(cols, "zz"))
    assert field.sources == ("a", "b")
    assert _eval(duck, field.expr, {"a": "  ", "b": "x"}, {"a": "VARCHAR", "b": "VARCHAR"}) == "x"
    assert _sql.coalesce(_sql.NULL) is _sql.NULL


def test_normalize_name_handles_bom_case_and_localised_headers() -> None:
    assert normalize_name("\ufeffCostInBillingCurrency") == "costinbillingcurrency"
    assert normalize_name("Maßeinheit (UnitOfMeasure)") == "unitofmeasure"
    cols = RawColumns.of({"\ufeffDate": "VARCHAR", "Abonnement-GUID (SubscriptionGuid)": "VARCHAR"})
    assert cols.find("date") == "\ufeffDate"
    assert cols.find("SubscriptionGuid") == "Abonnement-GUID (SubscriptionGuid)"
    assert "DATE" in cols and "nope" not in cols

"""The SQL normalisers for Azure units, regions, resource types and service categories."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from costline.sources.azure.normalize import region_id_sql, resource_type_sql, unit_sql
from costline.sources.azure.services import OTHER, PROVIDERS, SERVICES, category_sql


def _eval(con: duckdb.DuckDBPyConnection, expr: str, value: str | None) -> object:
    sql = f"SELECT {expr} FROM (SELECT CAST(? AS VARCHAR) AS x)"
    (result,) = con.execute(sql, [value]).fetchone()
    return result


@pytest.mark.parametrize(
    ("uom", "unit"),
    [
        ("1 Hour", "Hours"),
        ("10 Hours", "10 Hours"),
        ("100 Hours", "100 Hours"),
        ("10K", "10000 Units"),
        ("1M", "1000000 Units"),
        ("1 GB/Month", "GB/Month"),
        ("1/Month", "Units/Month"),
        ("1 GB", "GB"),
        ("1", "Units"),
        ("1K Transactions", "1000 Transactions"),
        (None, None),
    ],
)
def test_unit_of_measure_to_focus_unit(
    raw_duckdb: duckdb.DuckDBPyConnection, uom: str | None, unit: str | None
) -> None:
    assert _eval(raw_duckdb, unit_sql("x"), uom) == unit


@pytest.mark.parametrize(
    ("location", "region"),
    [
        ("East US", "eastus"),
        ("EastUS2", "eastus2"),
        ("westeurope", "westeurope"),
        ("US East", "eastus"),
        ("US East 2", "eastus2"),
        ("US North Central", "northcentralus"),
        ("EU West", "westeurope"),
        ("AP Southeast", "southeastasia"),
        ("JA East", "japaneast"),
        ("CA Central", "canadacentral"),
        ("UK South", "uksouth"),
        (None, None),
    ],
)
def test_location_to_region_id(
    raw_duckdb: duckdb.DuckDBPyConnection, location: str | None, region: str | None
) -> None:
    assert _eval(raw_duckdb, region_id_sql("x"), location) == region


@pytest.mark.parametrize(
    ("resource_id", "rtype"),
    [
        (
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/a/databases/b",
            "Microsoft.Sql/servers/databases",
        ),
        (
            "/SUBSCRIPTIONS/S/RESOURCEGROUPS/G/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/K",
            "MICROSOFT.KEYVAULT/VAULTS",
        ),
        ("/subscriptions/s/resourceGroups/g", "Microsoft.Resources/resourceGroups"),
        ("/subscriptions/s", "Microsoft.Resources/subscriptions"),
        ("not-an-arm-id", None),
    ],
)
def test_resource_type_from_id(
    raw_duckdb: duckdb.DuckDBPyConnection, resource_id: str, rtype: str | None
) -> None:
    assert _eval(raw_duckdb, resource_type_sql("x"), resource_id) == rtype


def _allowed_pairs(reference: Path) -> set[tuple[str, str]]:
    model = json.loads((reference / "focus" / "rules" / "model-1.3.json").read_text())
    rule = model["ModelRules"]["CAU-ServiceSubcategory-C-004-M"]["ValidationCriteria"]
    values = re.findall(r'"Value": "([^"]*)"', json.dumps(rule))
    return {(cat, sub) for sub, cat in zip(values[0::2], values[1::2], strict=True)}


def test_every_category_pair_is_allowed_by_focus(reference: Path) -> None:
    allowed = _allowed_pairs(reference)
    assert len(allowed) > 80
    used = set(SERVICES.values()) | set(PROVIDERS.values()) | {OTHER}
    assert used <= allowed, used - allowed


def test_meter_category_wins_over_provider(raw_duckdb: duckdb.DuckDBPyConnection) -> None:
    expr = category_sql("m", "c", 0)
    sql = f"SELECT {expr} FROM (SELECT CAST(? AS VARCHAR) AS m, CAST(? AS VARCHAR) AS c)"
    assert raw_duckdb.execute(sql, ["Storage", "Microsoft.Compute"]).fetchone() == ("Storage",)
    # an unknown meter category stays Other: one ServiceName (the meter category), one category
    unknown = raw_duckdb.execute(sql, ["Quantum Widgets", "Microsoft.Compute"]).fetchone()
    assert unknown == ("Other",)
    assert raw_duckdb.execute(sql, [None, "microsoft.compute"]).fetchone() == ("Compute",)
    assert raw_duckdb.execute(sql, [None, None]).fetchone() == ("Other",)

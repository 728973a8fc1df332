"""Recognising the three AWS CUR layouts, and the pure helpers behind the AWS mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from costline.sources.aws.cur2_schema import CUR2_SCHEMA
from costline.sources.aws.detect import detect
from costline.sources.aws.mapping import build_mapping
from costline.sources.aws.names import Cur, snake
from costline.sources.aws.services import OTHER, SERVICES
from costline.sources.aws.tags import tag_key, tags
from costline.sources.base import RawColumns
from costline.sources.registry import detect_source

LEGACY = [
    "identity/LineItemId",
    "bill/PayerAccountId",
    "bill/BillingPeriodStartDate",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UnblendedCost",
    "lineItem/UsageStartDate",
    "lineItem/ProductCode",
    "resourceTags/user:team",
]
ATHENA = [snake(n) for n in LEGACY[:-1]] + ["resource_tags_user_team", "product_product_name"]


def _cols(names: list[str], typ: str = "VARCHAR", fmt: str = "csv") -> RawColumns:
    return RawColumns.of(dict.fromkeys(names, typ), fmt)  # type: ignore[arg-type]


def test_legacy_csv_headers_are_aws_cur_legacy() -> None:
    found = detect(_cols(LEGACY))
    assert found is not None
    assert (found.kind, found.provider) == ("aws-cur-legacy", "aws")


def test_snake_case_with_tag_columns_is_the_athena_layout() -> None:
    found = detect(_cols(ATHENA, fmt="parquet"))
    assert found is not None and found.kind == "aws-cur-athena"


def test_cur2_parquet_schema_is_cur2() -> None:
    found = detect(RawColumns.of(dict(CUR2_SCHEMA), "parquet"))
    assert found is not None and found.kind == "aws-cur2"


@pytest.mark.parametrize("marker", ["resource_tags", "product", "bill_payer_account_name"])
def test_any_cur2_only_column_marks_cur2(marker: str) -> None:
    found = detect(_cols([*ATHENA[:-2], marker]))
    assert found is not None and found.kind == "aws-cur2"


def test_a_cur_file_without_unblended_cost_is_still_recognised() -> None:
    found = detect(_cols([n for n in LEGACY if n != "lineItem/UnblendedCost"]))
    assert found is not None and found.kind == "aws-cur-legacy"


@pytest.mark.parametrize(
    "names",
    [
        [
            "BilledCost",
            "EffectiveCost",
            "BillingPeriodStart",
            "ChargePeriodStart",
            "BillingAccountId",
            "ChargeCategory",
            "BillingCurrency",
            "ProviderName",
        ],
        ["lineItem/UnblendedCost", "lineItem/LineItemType", "cost", "date"],
        ["SubscriptionGuid", "CostInBillingCurrency", "Date"],
    ],
)
def test_other_exports_are_not_claimed(names: list[str]) -> None:
    assert detect(_cols(names)) is None


def test_focus_files_still_go_to_the_focus_source() -> None:
    cols = _cols(
        [
            "BilledCost",
            "EffectiveCost",
            "BillingPeriodStart",
            "ChargePeriodStart",
            "BillingAccountId",
            "ChargeCategory",
            "BillingCurrency",
            "ProviderName",
        ]
    )
    spec, _ = detect_source(cols, file="focus.csv")
    assert spec.name == "focus"


def test_the_registry_routes_cur_files_to_aws() -> None:
    spec, found = detect_source(_cols(LEGACY), file="cur.csv")
    assert (spec.name, found.kind) == ("aws-cur", "aws-cur-legacy")


@pytest.mark.parametrize(
    ("legacy", "athena"),
    [
        ("lineItem/UnblendedCost", "line_item_unblended_cost"),
        ("reservation/ReservationARN", "reservation_reservation_a_r_n"),
        ("savingsPlan/SavingsPlanARN", "savings_plan_savings_plan_a_r_n"),
        ("pricing/publicOnDemandCost", "pricing_public_on_demand_cost"),
        (
            "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
            "reservation_unused_amortized_upfront_fee_for_billing_period",
        ),
        ("product/regionCode", "product_region_code"),
        ("ProductName", "product_name"),
    ],
)
def test_snake_case_names_follow_aws_rule(legacy: str, athena: str) -> None:
    assert snake(legacy) == athena


@pytest.mark.parametrize(
    ("column", "key"),
    [
        ("resourceTags/user:team", "team"),
        ("resourceTags/user:Cost Center", "Cost Center"),
        ("resourceTags/aws:createdBy", "aws:createdBy"),
        ("resource_tags_user_cost_center", "cost_center"),
        ("resource_tags_aws_autoscaling_group_name", "aws:autoscaling_group_name"),
    ],
)
def test_tag_keys(column: str, key: str) -> None:
    assert tag_key(column) == key


def test_tags_prefer_the_cur2_map_column() -> None:
    cols = RawColumns.of(
        {"resource_tags": "MAP(VARCHAR, VARCHAR)", "resource_tags_user_team": "VARCHAR"}, "parquet"
    )
    field = tags(cols)
    assert field.sources == ("resource_tags",)
    assert "costline_tags_from_map" in field.expr


def test_cur2_csv_tags_are_parsed_as_json() -> None:
    field = tags(RawColumns.of({"resource_tags": "VARCHAR"}))
    assert "costline_tags(" in field.expr


def test_product_attribute_falls_back_to_the_product_map() -> None:
    cur = Cur(
        RawColumns.of({"product": "MAP(VARCHAR, VARCHAR)", "product_sku": "VARCHAR"}, "parquet")
    )
    assert cur.product("sku").sources == ("product_sku",)
    name = cur.product("ProductName")
    assert name.sources == ("product",) and "'product_name'" in name.expr
    assert cur.product("instanceType").sources == ("product",)


def test_mapping_has_no_mandatory_gap_for_a_full_legacy_header() -> None:
    names = LEGACY + ["bill/BillingPeriodEndDate", "lineItem/UsageEndDate", "lineItem/CurrencyCode"]
    mapping = build_mapping(_cols(names), detect(_cols(names)))  # type: ignore[arg-type]
    for required in (
        "BillingAccountId",
        "BillingPeriodStart",
        "BillingPeriodEnd",
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "BilledCost",
        "EffectiveCost",
        "BillingCurrency",
        "x_Provider",
    ):
        assert mapping[required].expr != "NULL", required


def test_service_categories_are_focus_allowed_values(reference: Path) -> None:
    model = json.loads((reference / "focus" / "rules" / "model-1.3.json").read_text())
    rule = model["ModelRules"]["CAU-ServiceSubcategory-C-004-M"]["ValidationCriteria"]
    allowed = set()
    for pair in rule["Requirement"]["Items"]:
        values = {i["ColumnName"]: i["Value"] for i in pair["Items"]}
        allowed.add((values["ServiceCategory"], values["ServiceSubcategory"]))
    for code, pair in [*SERVICES.items(), ("<unknown>", OTHER)]:
        assert pair in allowed, code

"""Golden tests: small hand-written FOCUS 0.5/1.1/1.2/1.3 files → the FOCUS 1.3 values.

The inputs are in tests/golden/focus/<version>/cost.csv. Each expectation below names the FOCUS
rule it comes from (FOCUS 1.3 column requirements, the FOCUS changelog for the upgrades); the
rules are listed with their spec text in docs/connectors/focus.md.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costline.workspace import Workspace

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "focus"
CASES = ("v0_5", "v1_1", "v1_2", "v1_3")


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every golden row as stored, keyed by ChargeDescription (or ServiceName when empty)."""
    ws = Workspace.init(tmp_path_factory.mktemp("focus-golden") / "ws")
    report = ws.ingest([GOLDEN / c / "cost.csv" for c in CASES])
    assert [o.status for o in report.outcomes] == ["loaded"] * len(CASES), report.outcomes
    records = ws.query("SELECT * FROM cost").records()
    return {r["ChargeDescription"] or r["ServiceName"]: r for r in records}


def d(value: str) -> Decimal:
    return Decimal(value)


def test_every_golden_row_is_loaded(rows: dict[str, dict[str, Any]]) -> None:
    assert len(rows) == 11


# -- FOCUS 1.1 (AWS flavoured) ---------------------------------------------------------------


def test_11_values_are_carried_and_upgraded(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["t3.medium covered by a reservation"]
    # 1.3: ServiceProviderName/HostProviderName are new; a first-party charge is served and
    # hosted by its provider ("HostProviderName MUST equal ServiceProviderName in all other cases").
    assert (row["ProviderName"], row["ServiceProviderName"], row["HostProviderName"]) == (
        "AWS",
        "AWS",
        "AWS",
    )
    assert row["PublisherName"] == "AWS"
    assert row["x_Provider"] == "aws" and row["x_SourceKind"] == "focus-1.1"
    # ChargeFrequency allowed values are "One-Time", "Recurring", "Usage-Based".
    assert row["ChargeFrequency"] == "Usage-Based"
    assert (row["ConsumedQuantity"], row["ConsumedUnit"]) == (d("1"), "Hours")
    assert row["CommitmentDiscountStatus"] == "Used" and row["PricingCategory"] == "Committed"
    assert (row["BilledCost"], row["EffectiveCost"]) == (d("0"), d("0.025"))
    assert row["SkuPriceDetails"] == '{"x_InstanceType": "t3.medium"}'
    # Tags: a JSON object; keys are trimmed (" env" → "env").
    assert row["Tags"] == {"team": "web", "env": "prod"}


def test_unused_commitment_has_no_consumed_quantity(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["unused reservation hours"]
    # 1.1: "ConsumedQuantity MUST be null when CommitmentDiscountStatus is 'Unused'", and
    # 1.2: "ConsumedUnit MUST be null when ConsumedQuantity is null".
    assert (row["ConsumedQuantity"], row["ConsumedUnit"]) == (None, None)
    # The pricing side of the unused hours stays.
    assert (row["PricingQuantity"], row["PricingUnit"], row["ListCost"]) == (
        d("2"),
        "Hours",
        d("0.0832"),
    )
    assert (row["CommitmentDiscountQuantity"], row["CommitmentDiscountUnit"]) == (d("2"), "Hours")


def test_tax_rows_have_no_sku_and_costs_default_to_billed(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["Sales tax"]
    # "SkuId MUST be null when ChargeCategory is 'Tax'" (and SkuPriceId likewise).
    assert (row["SkuId"], row["SkuPriceId"]) == (None, None)
    # ContractedCost/ListCost MUST NOT be null; without a unit price, a charge "unrelated to
    # other charges MUST match the BilledCost".
    assert (row["ContractedCost"], row["ListCost"], row["BilledCost"]) == (
        d("0.50"),
        d("0.50"),
        d("0.50"),
    )
    # ServiceSubcategory MUST NOT be null; the file's empty cell gets FOCUS's catch-all.
    assert row["ServiceSubcategory"] == "Other (Compute)"


def test_missing_sku_price_id_falls_back_to_sku_id(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["S3 storage, no SkuPriceId in the file"]
    # 1.1 changelog: "SkuId can be used if the provider does not have a SkuPriceId".
    assert row["SkuPriceId"] == "SKU-S3STD"
    # "ContractedUnitPrice MUST equal ListUnitPrice when no negotiated pricing terms apply",
    # "ContractedCost MUST equal the product of ContractedUnitPrice and PricingQuantity".
    assert row["ContractedUnitPrice"] == d("0.023")
    assert row["ContractedCost"] == d("2.30")
    assert row["ChargeFrequency"] == "Usage-Based"  # raw "usage-based"


# -- FOCUS 1.2 (Azure flavoured, billed in EUR, priced in USD) --------------------------------


def test_12_list_cost_contradicting_its_unit_price_is_recomputed(
    rows: dict[str, dict[str, Any]],
) -> None:
    row = rows["D2s v5 hours"]
    # "ListCost MUST equal the product of ListUnitPrice and PricingQuantity": 0.10 × 10 = 1.00
    # (the file said 0.90). ContractedCost 0.08 × 10 = 0.80 already agrees and is kept.
    assert row["ListCost"] == d("1.00")
    assert row["ContractedCost"] == d("0.80")
    assert (row["BilledCost"], row["EffectiveCost"]) == (d("0.80"), d("0.80"))
    assert row["PricingCategory"] == "Standard"  # raw "standard"
    assert (row["BillingCurrency"], row["PricingCurrency"]) == ("EUR", "USD")
    assert row["PricingCurrencyListUnitPrice"] == d("0.11")
    assert (row["BillingAccountType"], row["SubAccountType"]) == ("Billing Profile", "Subscription")
    assert row["InvoiceId"] == "E0600000123"
    assert row["x_Provider"] == "azure" and row["Tags"] == {"costcenter": "42"}


def test_credit_without_sku_price_has_no_unit_prices(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["Azure credit"]
    # 1.3: ContractedUnitPrice, PricingQuantity (and so PricingUnit) "MUST be null when
    # SkuPriceId is null"; the file's negative unit price is dropped with them.
    assert (row["SkuPriceId"], row["ContractedUnitPrice"], row["PricingQuantity"]) == (
        None,
        None,
        None,
    )
    assert row["PricingUnit"] is None
    # The amounts stay: ContractedCost as billed by the file, ListCost (absent) = BilledCost.
    assert (row["ContractedCost"], row["ListCost"], row["BilledCost"]) == (
        d("-5"),
        d("-5"),
        d("-5"),
    )
    assert row["PricingCurrencyEffectiveCost"] == d("-5.5")


def test_purchase_has_no_consumed_quantity(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["1-year reservation"]
    # "ConsumedQuantity MUST be null when ChargeCategory is not 'Usage'".
    assert (row["ConsumedQuantity"], row["ConsumedUnit"]) == (None, None)
    assert row["ChargeFrequency"] == "One-Time"  # raw "one-time"
    assert (row["EffectiveCost"], row["ListCost"]) == (d("0"), d("500"))


# -- FOCUS 1.3 (marketplace, units, allocation, contracts) ------------------------------------


def test_13_marketplace_charge_keeps_its_parties(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["Datadog Pro (marketplace)"]
    assert (row["ServiceProviderName"], row["HostProviderName"]) == ("Datadog", "Datadog")
    # Deprecated columns (absent from a 1.3 file) default to ServiceProviderName.
    assert (row["ProviderName"], row["PublisherName"]) == ("Datadog", "Datadog")
    # Invoiced by AWS: the partition belongs to the AWS bill.
    assert row["InvoiceIssuerName"] == "Amazon Web Services, Inc." and row["x_Provider"] == "aws"
    # The store keeps a formula-like tag value exactly (CSV export neutralises, see export tests).
    assert row["Tags"] == {"owner": "=cmd|' /C calc'!A0"}


def test_units_outside_the_focus_formats_are_rewritten(rows: dict[str, dict[str, Any]]) -> None:
    gp3 = rows["gp3 provisioned throughput"]
    assert (gp3["PricingUnit"], gp3["ConsumedUnit"]) == ("GiBps-Months", "GiBps-Months")
    assert json.loads(gp3["ContractApplied"])["Elements"][0]["ContractId"] == "edp-2025"
    lam = rows["Lambda compute"]
    assert (lam["PricingUnit"], lam["ConsumedUnit"]) == ("GB-Seconds", "GB-Seconds")
    assert (lam["AllocatedMethodId"], lam["AllocatedResourceId"]) == ("even-split", "fn-a")
    assert json.loads(lam["AllocatedTags"]) == {"team": "shop"}
    assert lam["ListCost"] == d("0.0166667")


# -- FOCUS 0.5 (pre-1.0 names) ----------------------------------------------------------------


def test_05_names_are_renamed(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["Compute Engine"]
    assert row["x_SourceKind"] == "focus-0.5"
    # AmortizedCost → EffectiveCost, ChargeType → ChargeCategory, Region → RegionId (changelog).
    assert (row["EffectiveCost"], row["BilledCost"]) == (d("1.20"), d("1.50"))
    assert (row["ChargeCategory"], row["RegionId"]) == ("Usage", "europe-west1")
    assert (row["ContractedCost"], row["ListCost"]) == (d("1.50"), d("1.50"))
    assert row["ServiceSubcategory"] == "Other (Compute)"
    assert (row["ServiceProviderName"], row["x_Provider"]) == ("Google Cloud", "gcp")


# -- bad input --------------------------------------------------------------------------------


def test_unparsable_unit_price_is_traced_to_its_row_and_column(tmp_path: Path) -> None:
    with (GOLDEN / "v1_1" / "cost.csv").open(newline="") as fh:
        records = list(csv.DictReader(fh))
    records[3]["ListUnitPrice"] = "n/a"  # the fourth data row (S3)
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    ws = Workspace.init(tmp_path / "ws")
    outcome = ws.ingest([bad]).outcomes[0]
    assert outcome.status == "quarantined"
    assert outcome.error is not None and outcome.error.location is not None
    assert (outcome.error.location.row, outcome.error.location.column) == (4, "ListUnitPrice")
    assert outcome.error.location.value == "n/a"

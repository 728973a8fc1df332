"""FOCUS detection: which files are FOCUS Cost and Usage data, and which FOCUS version.

The version markers are the columns each release added (FOCUS changelog, read in the
FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec repository): 1.1 added ServiceSubcategory, SkuMeter,
SkuPriceDetails, CommitmentDiscountQuantity/Unit and CapacityReservation*; 1.2 added
BillingAccountType, SubAccountType, InvoiceId and PricingCurrency*; 1.3 added
ServiceProviderName, HostProviderName, Allocated* and ContractApplied. 1.0 renamed
AmortizedCost/ChargeType (0.5) and UsageQuantity/UsageUnit (1.0-preview).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from costline.sources.base import RawColumns
from costline.sources.focus.detect import detect, focus_version

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "focus"


def _header(path: Path) -> RawColumns:
    rows = duckdb.sql(f"DESCRIBE SELECT * FROM read_csv('{path}', all_varchar = true)").fetchall()
    return RawColumns.of({str(r[0]): "VARCHAR" for r in rows})


@pytest.mark.parametrize(
    ("case", "kind"),
    [("v0_5", "focus-0.5"), ("v1_1", "focus-1.1"), ("v1_2", "focus-1.2"), ("v1_3", "focus-1.3")],
)
def test_golden_files_are_detected_with_their_version(case: str, kind: str) -> None:
    found = detect(_header(GOLDEN / case / "cost.csv"))
    assert found is not None
    assert (found.kind, found.provider, found.score) == (kind, "focus", 100)
    assert found.details["focus_version"] == kind.removeprefix("focus-")


def test_the_focus_10_sample_is_focus_10(reference: Path) -> None:
    cols = _header(reference / "focus" / "focus-1.0-finops-foundation-sample-1000.csv")
    found = detect(cols)
    assert found is not None and found.kind == "focus-1.0"


def test_contract_commitment_dataset_is_recognised_as_not_cost(reference: Path) -> None:
    cols = _header(reference / "focus" / "focus-1.3-contractcommitment-aws-synthetic-guymano.csv")
    found = detect(cols)
    assert found is not None and found.kind == "focus-contract-commitment"
    assert "ContractCommitment" in found.details["not_cost"]


def test_13_file_without_the_deprecated_provider_name_is_focus() -> None:
    cols = RawColumns.of(
        dict.fromkeys(
            (
                "BilledCost",
                "EffectiveCost",
                "BillingPeriodStart",
                "ChargePeriodStart",
                "BillingAccountId",
                "BillingCurrency",
                "ServiceProviderName",
                "HostProviderName",
            ),
            "VARCHAR",
        )
    )
    found = detect(cols)
    assert found is not None and found.kind == "focus-1.3"


def test_version_is_the_highest_release_whose_columns_appear() -> None:
    cols = RawColumns.of({"BilledCost": "VARCHAR", "SkuMeter": "VARCHAR", "InvoiceId": "VARCHAR"})
    assert focus_version(cols) == "1.2"
    assert focus_version(RawColumns.of({"BilledCost": "VARCHAR"})) == "1.0"
    assert focus_version(RawColumns.of({"UsageQuantity": "VARCHAR"})) == "1.0-preview"


@pytest.mark.parametrize(
    "names",
    [
        # provider-native names that only resemble FOCUS (case differs: FOCUS is case-sensitive)
        (
            "billedcost",
            "effectivecost",
            "billingperiodstart",
            "chargeperiodstart",
            "billingaccountid",
            "billingcurrency",
            "providername",
        ),
        # FOCUS cost columns but no provider column at all
        (
            "BilledCost",
            "EffectiveCost",
            "BillingPeriodStart",
            "ChargePeriodStart",
            "BillingAccountId",
            "BillingCurrency",
        ),
        # too few core columns
        ("BilledCost", "ProviderName", "ServiceName"),
    ],
)
def test_non_focus_headers_are_not_claimed(names: tuple[str, ...]) -> None:
    assert detect(RawColumns.of(dict.fromkeys(names, "VARCHAR"))) is None

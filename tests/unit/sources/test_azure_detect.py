"""Recognising Azure cost-details exports (and not claiming anything else)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from costline.sources.azure.detect import detect
from costline.sources.base import RawColumns
from costline.sources.registry import detect_source

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "azure"


def _header(path: Path) -> RawColumns:
    with path.open(newline="", encoding="utf-8") as fh:
        names = next(csv.reader(fh))
    return RawColumns.of(dict.fromkeys(names, "VARCHAR"))


@pytest.mark.parametrize(
    ("case", "kind"),
    [
        ("ea-actual", "azure-ea"),
        ("ea-amortized", "azure-ea"),
        ("mca", "azure-mca"),
        ("payg-bom", "azure-payg"),
        ("german-headers", "azure-payg"),
        ("lowercase-headers", "azure-ea"),
    ],
)
def test_golden_headers(case: str, kind: str) -> None:
    found = detect(_header(GOLDEN / case / "input.csv"))
    assert found is not None and found.kind == kind and found.provider == "azure"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("ea-actualcost-export-anonymized-focus-converters.csv", "azure-ea"),
        ("ea-actualcost-small-finops-toolkit.csv", "azure-ea"),
        ("ea-amortizedcost-small-finops-toolkit.csv", "azure-ea"),
        ("opencost-azure-ea-export-headers.csv", "azure-ea"),
        ("opencost-azure-export-lowercase-headers-template.csv", "azure-ea"),
        ("opencost-azure-payg-export-german-headers.csv", "azure-payg"),
        ("opencost-azure-payg-export-utf8-bom.csv", "azure-payg"),
    ],
)
def test_reference_headers(reference: Path, name: str, kind: str) -> None:
    cols = _header(reference / "azure" / name)
    spec, found = detect_source(cols, file=name)
    assert (spec.name, found.kind) == ("azure", kind)


def test_bom_is_ignored_in_the_first_header() -> None:
    cols = RawColumns.of(
        {
            "\ufeffSubscriptionGuid": "VARCHAR",
            "MeterCategory": "VARCHAR",
            "PreTaxCost": "VARCHAR",
            "UsageDateTime": "VARCHAR",
        }
    )
    found = detect(cols)
    assert found is not None and found.kind == "azure-payg"


def test_notes_say_what_is_derived_or_missing(reference: Path) -> None:
    found = detect(
        _header(reference / "azure" / "opencost-azure-export-lowercase-headers-template.csv")
    )
    assert found is not None
    assert any("billing period" in n for n in found.notes)
    assert any("no currency column" in n for n in found.notes)


def test_focus_files_belong_to_the_focus_source(reference: Path) -> None:
    cols = _header(reference / "focus" / "focus-1.0-finops-foundation-sample-1000.csv")
    assert detect(cols) is None
    assert detect_source(cols, file="focus.csv")[0].name == "focus"


@pytest.mark.parametrize(
    "names",
    [
        ("lineItem/UnblendedCost", "lineItem/UsageStartDate", "bill/PayerAccountId"),
        ("Date", "Cost", "Currency", "Account"),
        ("SubscriptionId", "Cost", "Date"),
    ],
)
def test_other_files_are_not_azure(names: tuple[str, ...]) -> None:
    assert detect(RawColumns.of(dict.fromkeys(names, "VARCHAR"))) is None

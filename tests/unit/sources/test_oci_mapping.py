"""OCI native cost report → FOCUS: golden rows and detection.

The expected values in tests/golden/oci/ were written by hand from Oracle's cost report field
documentation, not produced by costline.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from costline.ingest.plan import check_required, select_sql
from costline.schema.focus import STORE_COLUMNS
from costline.sources import _files
from costline.sources.base import Detection, RawColumns
from costline.sources.oci.detect import detect
from costline.sources.registry import detect_source
from costline.storage.duckdb import DuckDBWarehouse

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "oci" / "cost_report"
REPORT = GOLDEN / "report.csv"
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
    wh.con.execute("SET preserve_insertion_order = true")
    rows = wh.con.execute(select_sql(mapping, reader)).fetchall()
    names = [c.name for c in STORE_COLUMNS]
    return found, [dict(zip(names, row, strict=True)) for row in rows]


def _assert_row(actual: dict[str, Any], expected: dict[str, Any], label: str) -> None:
    for column, want in expected.items():
        got = actual[column]
        if isinstance(got, Decimal) and want is not None:
            assert got == Decimal(want), f"{label}: {column} = {got}, expected {want}"
        else:
            plain = got.isoformat() if isinstance(got, datetime) else got
            assert plain == want, f"{label}: {column} = {got!r}, expected {want!r}"


def test_golden_cost_report() -> None:
    found, rows = map_file(REPORT)
    assert found.kind == EXPECTED["kind"]
    assert len(rows) == len(EXPECTED["rows"]), "one cost row per report line"
    for row, (ref, want) in zip(rows, EXPECTED["rows"].items(), strict=True):
        _assert_row(row, EXPECTED["all"], ref)
        _assert_row(row, want, ref)


def _cols(*names: str) -> RawColumns:
    return RawColumns.of(dict.fromkeys(names, "VARCHAR"))


def test_oci_focus_report_is_left_to_the_focus_source() -> None:
    focus_report = _cols(
        "AvailabilityZone",
        "BilledCost",
        "BillingAccountId",
        "BillingCurrency",
        "BillingPeriodStart",
        "ChargePeriodStart",
        "EffectiveCost",
        "ProviderName",
        "ChargeCategory",
        "oci_ReferenceNumber",
        "oci_CompartmentId",
        "lineItem/tenantId",
        "lineItem/intervalUsageStart",
    )
    assert detect(focus_report) is None
    spec, _ = detect_source(focus_report, file="focus.csv")
    assert spec.name == "focus"


def test_usage_report_is_skipped_not_quarantined() -> None:
    found = detect(
        _cols(
            "lineItem/referenceNo",
            "lineItem/tenantId",
            "lineItem/intervalUsageStart",
            "lineItem/intervalUsageEnd",
            "product/service",
            "usage/consumedQuantity",
            "usage/billedQuantity",
        )
    )
    assert found is not None and found.kind == "oci-usage-report"
    assert "cost report" in found.details["not_cost"]


def test_header_case_does_not_matter() -> None:
    found = detect(_cols("lineItem/TenantId", "lineItem/IntervalUsageStart", "cost/MyCost"))
    assert found is not None and found.kind == "oci-cost-report"


def test_other_exports_are_not_claimed() -> None:
    assert (
        detect(_cols("bill/PayerAccountId", "lineItem/UnblendedCost", "lineItem/UsageStartDate"))
        is None
    )

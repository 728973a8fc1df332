"""AWS pricing units in FOCUS UnitFormat, and the unit of a priced line AWS leaves blank.

The expected units come from AWS's own ``pricing/unit`` on priced lines of the same usage type
(the legacy CSV reference file fills it where the Athena files leave it blank) and from the
FOCUS 1.3 UnitFormat attribute; every unit costline writes must match that format.
"""

from __future__ import annotations

import re

import duckdb
import pytest

from costline.sources.aws.names import Cur
from costline.sources.aws.units import DERIVED_UNITS, UNIT_NAMES, pricing_unit
from costline.sources.base import Field, RawColumns

# FOCUS 1.3 UnitFormat: data size abbreviations, time units, capitalised count nouns; compound
# "<unit>-<plural time unit>"; "<quantity> <units>"; ratio "<units>/<singular time unit>".
_SIZE = "(?:[KMGTPE]i?[bB]|[bB])"
_TIME = "(?:Year|Month|Day|Hour|Minute|Second)"
_NOUN = "(?:[A-Z][A-Za-z0-9]*(?: [A-Z][A-Za-z0-9]*)*)"
_BASE = f"(?:{_SIZE}|{_TIME}s?|{_NOUN})"
UNIT_FORMAT = re.compile(
    rf"^(?:[0-9]+ )?{_BASE}(?:-{_TIME}s)?$|^{_BASE}/{_TIME}$|^{_BASE}/[0-9]+ {_TIME}s$"
)

COLUMNS = {
    "lineItem/LineItemType": "VARCHAR",
    "lineItem/UsageType": "VARCHAR",
    "pricing/unit": "VARCHAR",
}


def unit_of(line_type: str, usage_type: str, unit: str) -> str | None:
    """Evaluate the mapping's PricingUnit expression on one raw CSV row."""
    cols = RawColumns.of(COLUMNS)
    field: Field = pricing_unit(Cur(cols), Field("NULLIF(TRIM(\"lineItem/LineItemType\"), '')"))
    con = duckdb.connect()
    row = con.execute(
        f'SELECT {field.expr} FROM (SELECT ? AS "lineItem/LineItemType", '
        f'? AS "lineItem/UsageType", ? AS "pricing/unit")',
        [line_type, usage_type, unit],
    ).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("aws", "focus"),
    [
        ("Hrs", "Hours"),
        ("GB-Mo", "GB-Months"),
        ("IOPS-Mo", "IOPS-Months"),
        ("DPU-Hour", "DPU-Hours"),
        ("days", "Days"),
        ("Terabytes", "TB"),
        ("Obj-Month", "Object-Months"),
        ("64K-Chunks", "Events"),
        ("Request", "Requests"),
        ("API Request", "API Requests"),
        ("ConfigurationItemRecorded", "Configuration Items"),
        ("GB", "GB"),
        ("Requests", "Requests"),
        ("Lambda-GB-Second", "Lambda-GB-Second"),  # kept as AWS writes it: nothing to fix
        # the suffix rules: only at the end, case-sensitive, at most one applies
        ("GB-mo", "GB-Months"),
        ("Node-Month", "Node-Months"),
        ("GB-Hour-Mo", "GB-Hour-Months"),
        ("GB-Mo-Hour", "GB-Mo-Hours"),
        ("GB-MO", "GB-MO"),
        ("Hour", "Hour"),
        ("Mo-GB", "Mo-GB"),
    ],
)
def test_aws_units_in_focus_spelling(aws: str, focus: str) -> None:
    assert unit_of("Usage", "USE1-Anything", aws) == focus


@pytest.mark.parametrize(
    ("line_type", "usage_type", "focus"),
    [
        # the reference Athena files' blank units, with what AWS writes elsewhere
        ("Usage", "BoxUsage:t2.micro", "Hours"),
        ("Usage", "SpotUsage:c5.large", "Hours"),
        ("Usage", "USE1-DataTransfer-Out-Bytes", "GB"),
        ("Usage", "USE1-APN2-AWS-Out-Bytes", "GB"),
        ("Usage", "TimedStorage-ByteHrs", "GB-Months"),
        ("Usage", "EBS:VolumeUsage.gp2", "GB-Months"),
        ("Usage", "USE1-Catalog-Storage", "Object-Months"),
        ("Usage", "Requests-Tier2", "Requests"),
        ("Usage", "us-west-1-KMS-Requests", "Requests"),
        ("Usage", "USE1-Catalog-Request", "Requests"),
        ("Usage", "APN3-FreeEventsRecorded", "Events"),
        ("Usage", "CW:MetricMonitorUsage", "Metrics"),
        ("Usage", "USE1-SomethingNew", "Units"),
        # line item types whose unit follows from what they are
        ("RIFee", "HeavyUsage:m5.large", "Hours"),
        ("SavingsPlanRecurringFee", "ComputeSP:1yrNoUpfront", "Hours"),
        ("Fee", "HeavyUsage:m5.large", "Units"),
        ("SavingsPlanUpfrontFee", "ComputeSP:1yrAllUpfront", "Units"),
    ],
)
def test_blank_units_are_derived(line_type: str, usage_type: str, focus: str) -> None:
    assert unit_of(line_type, usage_type, "") == focus


def test_every_unit_costline_writes_conforms_to_focus() -> None:
    written = {*UNIT_NAMES.values(), *(u for _, u in DERIVED_UNITS), "Units", "Hours"}
    bad = sorted(u for u in written if not UNIT_FORMAT.match(u))
    assert not bad
    assert not UNIT_FORMAT.match("64K-Chunks")  # the check does reject AWS's spelling

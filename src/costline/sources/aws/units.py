"""AWS pricing units → FOCUS UnitFormat, and the unit of a line AWS leaves without one (pure).

FOCUS 1.3 UnitFormat: data sizes as ``B``/``KB``/``GB``/``TB``..., time units as
``Hours``/``Days``/``Months``..., count units as capitalised plural nouns (``Requests``,
``Units``); compound units as ``<unit>-<plural time unit>`` (``GB-Months``).

1. ``pricing/unit`` in AWS's spelling → FOCUS (:data:`UNIT_NAMES` first, then the suffix rules
   ``-Mo``/``-Month`` → ``-Months`` and ``-Hour`` → ``-Hours``; any other unit is kept as AWS
   writes it, e.g. ``GB``, ``Requests``, ``IOPS-Mo`` → ``IOPS-Months``).
2. A priced line (usage or purchase with a ``lineItem/UsageAmount``) whose ``pricing/unit`` is
   blank still needs a unit (CAU-PricingUnit-C-006-C: PricingUnit MUST NOT be null when
   PricingQuantity is not null). The legacy Athena CURs leave it blank on free-tier lines,
   Spot lines and RI fees. :data:`DERIVED_UNITS` gives the unit AWS writes on the priced lines
   of the same usage type (checked against the legacy CSV reference file, where AWS fills it:
   ``TimedStorage-ByteHrs`` → ``GB-Mo``, ``*-Bytes`` → ``GB``, ``Requests-Tier1`` →
   ``Requests``, ``Catalog-Storage`` → ``Obj-Month``...). Anything else counts in ``Units``
   (FOCUS's generic count unit): AWS's quantity is then a count of the line's usage type.

Example:
    >>> [u for p, u in DERIVED_UNITS if "ByteHrs" in p]
    ['GB-Months']
"""

from __future__ import annotations

from costline.sources import _sql
from costline.sources.aws.names import Cur, combine, sql_list
from costline.sources.base import Field

# AWS ``pricing/unit`` (compared case-insensitively) → FOCUS unit, where AWS's spelling does not
# conform: time and data-size abbreviations, singular simple units (FOCUS: ``<plural-units>``)
# and EventBridge's chunked events.
UNIT_NAMES: dict[str, str] = {
    "hrs": "Hours",
    "hr": "Hours",
    "hours": "Hours",
    "days": "Days",
    "terabytes": "TB",
    "gigabytes": "GB",
    "obj-month": "Object-Months",
    "request": "Requests",
    "api request": "API Requests",
    "user": "Users",
    "configurationitemrecorded": "Configuration Items",  # AWS Config: per item recorded
    "activeconfigrules": "Config Rules",  # AWS Config: per active rule
    # CloudWatch Events / EventBridge: "$1.00 per million ... events", each 64 KB chunk of a
    # payload counting as one event (the chunk size stays visible in SkuMeter / x_UsageType).
    "64k-chunks": "Events",
    "8k-chunks": "Events",
}

# Unit suffixes (case-sensitive, at the end) → FOCUS plural time units; the first match wins.
SUFFIXES: tuple[tuple[str, str], ...] = (
    ("-Mo", "-Months"),
    ("-mo", "-Months"),
    ("-Month", "-Months"),
    ("-Hour", "-Hours"),
)

# Line item types whose blank unit follows from what the line is.
HOURLY_FEES = ("RIFee", "SavingsPlanRecurringFee")  # an hourly rate × hours
ONE_TIME_FEES = ("Fee", "SavingsPlanUpfrontFee")  # a count of items bought (AWS: "Quantity")

# ``lineItem/UsageType`` pattern (DuckDB regexp, searched anywhere in the usage type, first
# match wins) → the unit AWS prices that usage type in.
DERIVED_UNITS: tuple[tuple[str, str], ...] = (
    (
        r"(Box|Spot|Dedicated|Host|Heavy|Instance|Node|Multi-AZ)Usage(:|$)",
        "Hours",
    ),  # BoxUsage:t2.micro, SpotUsage:c5.large, InstanceUsage:db.t3.micro
    (r"ByteHrs$", "GB-Months"),  # TimedStorage-ByteHrs, EarlyDelete-ByteHrs
    (r"(VolumeUsage|SnapshotUsage)", "GB-Months"),  # EBS:VolumeUsage.gp2, EBS:SnapshotUsage
    (r"Bytes$", "GB"),  # DataTransfer-Out-Bytes, USE1-APN2-AWS-Out-Bytes, DataProcessing-Bytes
    (r"Catalog-Storage$", "Object-Months"),  # Glue Data Catalog objects stored
    (r"Request", "Requests"),  # Requests-Tier2, KMS-Requests, Catalog-Request, CW:Requests
    (r"Events", "Events"),  # FreeEventsRecorded, PaidEventsAnalyzed
    (r"MetricMonitorUsage", "Metrics"),  # CW:MetricMonitorUsage
)
FALLBACK_UNIT = "Units"


def focus_unit(unit: Field) -> Field:
    """AWS's ``pricing/unit`` in FOCUS UnitFormat spelling (NULL stays NULL)."""
    u = unit.expr
    names = " ".join(
        f"WHEN {_sql.lit(k).expr} THEN {_sql.lit(v).expr}" for k, v in UNIT_NAMES.items()
    )
    # NOTE: the suffix rules as plain string tests: two regexp_replace calls per row cost
    # twice as much as the rest of this expression (CUR 1M rows: 0.38 s → 0.17 s CPU).
    suffixes = " ".join(
        f"WHEN ends_with({u}, {_sql.lit(old).expr}) "
        f"THEN left({u}, length({u}) - {len(old)}) || {_sql.lit(new).expr}"
        for old, new in SUFFIXES
    )
    return combine(f"CASE lower({u}) {names} ELSE CASE {suffixes} ELSE {u} END END", unit)


def derived_unit(line_type: Field, usage_type: Field) -> Field:
    """The unit of a priced line without ``pricing/unit`` (see the module docstring)."""
    t, ut = line_type.expr, usage_type.expr
    patterns = " ".join(
        f"WHEN regexp_matches({ut}, {_sql.lit(p).expr}) THEN {_sql.lit(unit).expr}"
        for p, unit in DERIVED_UNITS
    )
    expr = (
        f"CASE WHEN {t} IN {sql_list(HOURLY_FEES)} THEN 'Hours' "
        f"WHEN {t} IN {sql_list(ONE_TIME_FEES)} THEN 'Units' "
        f"{patterns} ELSE {_sql.lit(FALLBACK_UNIT).expr} END"
    )
    return combine(expr, line_type, usage_type)


def pricing_unit(c: Cur, line_type: Field) -> Field:
    """The FOCUS unit of a priced line: AWS's ``pricing/unit`` in FOCUS spelling, else
    :func:`derived_unit` (exactly the lines whose ``pricing/unit`` is blank)."""
    given = focus_unit(c.text("pricing/unit"))
    derived = derived_unit(line_type, c.text("lineItem/UsageType"))
    return combine(f"COALESCE({given.expr}, {derived.expr})", given, derived)

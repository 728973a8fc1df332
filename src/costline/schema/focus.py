"""FOCUS 1.3 Cost and Usage columns plus costline's ``x_`` extension columns.

The column list is generated from the FinOps Foundation requirements model (see
``scripts/gen_focus_schema.py``) so that names, types and requirement levels cannot drift from
the validator. Storage types:

* ``decimal``  → ``DECIMAL(38, 10)`` (money, prices and quantities; never float)
* ``datetime`` → ``TIMESTAMP`` holding UTC (FOCUS periods are half-open ``[start, end)``)
* ``string``   → ``VARCHAR``
* ``json``     → ``VARCHAR`` holding a JSON object, except ``Tags`` which is stored as
  ``MAP(VARCHAR, VARCHAR)`` (parsed once at ingestion, ~8× faster to query than JSON) and
  written back as a JSON object on export.

Example:
    >>> column("BilledCost").sql_type
    'DECIMAL(38, 10)'
    >>> column("Tags").sql_type
    'MAP(VARCHAR, VARCHAR)'
    >>> column("HostProviderName").introduced
    '1.3'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from costline.core.errors import SchemaError
from costline.core.money import MONEY_SQL_TYPE
from costline.schema._focus13_columns import FOCUS_13_COLUMNS

FOCUS_VERSION = "1.3"

DataType = Literal["string", "decimal", "datetime", "json", "map"]
Requirement = Literal["mandatory", "conditional", "recommended", "optional", "extension"]

_SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "decimal": MONEY_SQL_TYPE,
    "datetime": "TIMESTAMP",
    "json": "VARCHAR",
    "map": "MAP(VARCHAR, VARCHAR)",
}


@dataclass(frozen=True)
class Column:
    """One column of the cost table."""

    name: str
    data_type: DataType
    requirement: Requirement
    introduced: str
    applicability: tuple[str, ...] = ()
    description: str = ""

    @property
    def sql_type(self) -> str:
        return _SQL_TYPES[self.data_type]

    @property
    def is_extension(self) -> bool:
        return self.name.startswith("x_")


def _focus_columns() -> tuple[Column, ...]:
    cols = []
    for name, dtype, level, since, crit in FOCUS_13_COLUMNS:
        data_type: DataType = "map" if name == "Tags" else dtype  # type: ignore[assignment]
        cols.append(Column(name, data_type, level, since, crit))  # type: ignore[arg-type]
    return tuple(sorted(cols, key=lambda c: c.name))


FOCUS_COLUMNS: tuple[Column, ...] = _focus_columns()

# costline's own columns. FOCUS allows custom columns prefixed ``x_``.
EXTENSION_COLUMNS: tuple[Column, ...] = (
    Column(
        "x_Provider",
        "string",
        "extension",
        "-",
        description="Cloud whose bill this row belongs to (aws, azure, gcp, oci, ...): part of "
        "the partition key (x_Provider, BillingAccountId, BillingPeriodStart).",
    ),
    Column(
        "x_SourceKind",
        "string",
        "extension",
        "-",
        description="Detected export format, e.g. aws-cur2, azure-cost, focus-1.0.",
    ),
    Column(
        "x_SourceFile",
        "string",
        "extension",
        "-",
        description="Path of the raw file the row was read from (lineage).",
    ),
    Column(
        "x_RowSplit",
        "string",
        "extension",
        "-",
        description="Name of the row split that derived this row from a raw line item (e.g. "
        "the unused part of an AWS RI fee); NULL for a row that is the line item itself.",
    ),
    Column(
        "x_IngestionId",
        "string",
        "extension",
        "-",
        description="Id of the ingestion run that loaded the row (lineage).",
    ),
    Column(
        "x_ServiceCode",
        "string",
        "extension",
        "-",
        description="Provider's service code (AWS product code, Azure meter category, ...).",
    ),
    Column(
        "x_UsageType",
        "string",
        "extension",
        "-",
        description="Provider usage type (AWS lineItem/UsageType, GCP SKU description, ...).",
    ),
    Column(
        "x_Operation",
        "string",
        "extension",
        "-",
        description="Provider operation (AWS lineItem/Operation).",
    ),
    Column(
        "x_ChargeType",
        "string",
        "extension",
        "-",
        description="Provider's own charge type before FOCUS mapping (AWS LineItemType, "
        "Azure ChargeType, GCP cost_type, ...).",
    ),
    Column(
        "x_InstanceType",
        "string",
        "extension",
        "-",
        description="Instance/VM size where the provider reports it (for rightsizing).",
    ),
    Column(
        "x_Discounts",
        "decimal",
        "extension",
        "-",
        description="Sum of provider discounts/credits folded into EffectiveCost (e.g. GCP "
        "credits, AWS EDP), for explanation.",
    ),
)

STORE_COLUMNS: tuple[Column, ...] = FOCUS_COLUMNS + EXTENSION_COLUMNS
_BY_NAME = {c.name: c for c in STORE_COLUMNS}

# The partition a newer export replaces whole.
PARTITION_KEY: tuple[str, ...] = ("x_Provider", "BillingAccountId", "BillingPeriodStart")
# Columns an ingested row must have (null here means the file is unusable).
REQUIRED_NOT_NULL: tuple[str, ...] = (
    "BillingAccountId",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BilledCost",
    "EffectiveCost",
    "BillingCurrency",
)


def column(name: str) -> Column:
    """Look up a store column by name.

    Raises:
        SchemaError: with the closest valid name when ``name`` is unknown.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(_BY_NAME), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "see docs/reference/schema.md"
        raise SchemaError(f"unknown cost column {name!r}", hint=hint) from None


def store_ddl(table: str = "cost") -> str:
    """``CREATE TABLE`` statement for the cost store (DuckDB dialect)."""
    cols = ",\n  ".join(f'"{c.name}" {c.sql_type}' for c in STORE_COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols}\n)"


def schema_reference() -> str:
    """Markdown table of every store column (docs/reference/schema.md is generated from it)."""
    lines = [
        "# Cost table schema",
        "",
        "Generated from `costline.schema` by `make docs`; a test fails when it is stale. The table",
        "is `cost`: the FOCUS 1.3 Cost and Usage columns plus costline's `x_` columns. Money,",
        "prices and quantities are `DECIMAL(38, 10)`; timestamps are UTC; `Tags` is a",
        "`MAP(VARCHAR, VARCHAR)` (query a tag as `Tags['team']`) and is written as a JSON object",
        "on FOCUS export. Source values with more than 10 decimals are rounded (half away from",
        "zero) to 10 places on ingest; the FOCUS 1.0 sample has 7 such values, a total difference",
        "below 1e-9. The partition a newer export replaces whole is",
        f"`({', '.join(PARTITION_KEY)})`.",
        "",
        "| column | type | requirement (FOCUS 1.3) | since | notes |",
        "|---|---|---|---|---|",
    ]
    for col in STORE_COLUMNS:
        crit = ", ".join(col.applicability)
        notes = col.description or (f"when {crit}" if crit else "")
        must = " (never null in costline)" if col.name in REQUIRED_NOT_NULL else ""
        lines.append(
            f"| `{col.name}` | `{col.sql_type}` | {col.requirement}{must} | "
            f"{col.introduced} | {notes} |"
        )
    return "\n".join(lines) + "\n"

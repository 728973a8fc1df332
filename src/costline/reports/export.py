"""Export the cost store as a FOCUS 1.3 Cost and Usage dataset (Parquet or CSV).

One streaming DuckDB ``COPY``; no row passes through Python. What the file holds:

* **Columns.** Every FOCUS 1.3 column, always, in the store's order, then costline's ``x_``
  columns (FOCUS allows custom columns prefixed ``x_``; ``include_extensions=False`` leaves
  them out). A column that is null on every row is still written: FOCUS makes the presence of
  most columns conditional on a provider feature, but the FOCUS validator (2.2.1, 1.3 model)
  reports every rule of an absent column as an error, and a stable column set is easier to
  consume. docs/focus-validation.md explains the validator rules an all-null conditional
  column trips and why they are ignored.
* **Services.** FOCUS requires one ``ServiceCategory`` (and recommends one
  ``ServiceSubcategory``) per ``ServiceName``. Rows can disagree (AWS puts EBS volumes under
  "Amazon Elastic Compute Cloud" with category Storage), so each ServiceName gets the
  category/subcategory pair carrying the most ``|BilledCost|`` (then most rows, then name).
* **Values.** ``Tags`` is written as a JSON object (null when empty); in CSV, timestamps are ISO
  8601 UTC with ``Z`` and decimals are plain numbers. Text cells that a spreadsheet would run as
  a formula (starting ``= + - @``, tab or CR) are prefixed with ``'`` in CSV; JSON cells start
  with ``{`` and are never formulas, so tag values stay intact inside them. Parquet keeps
  every value as stored.

Example:
    >>> "costline_tags_json" in export_select(csv=True, columns=("Tags",))
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from costline.core.errors import CostlineError
from costline.schema.focus import STORE_COLUMNS, Column

FORMULA_PREFIX = r"^[=+\-@\t\r]"
FORMATS = ("parquet", "csv")
_BY_NAME = {c.name: c for c in STORE_COLUMNS}


def neutralize_sql(expr: str) -> str:
    """SQL that prefixes a formula-like text value with a quote (CSV/XLSX safety)."""
    return (
        f"CASE WHEN regexp_matches({expr}, '{FORMULA_PREFIX}') THEN '''' || {expr} ELSE {expr} END"
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def export_columns(*, include_extensions: bool = True) -> tuple[str, ...]:
    """The columns written: every FOCUS 1.3 column, then (optionally) the ``x_`` columns."""
    return tuple(c.name for c in STORE_COLUMNS if include_extensions or not c.is_extension)


def _value_sql(col: Column, *, csv: bool) -> str:
    name = f"c.{_q(col.name)}"
    if col.name == "ServiceCategory":
        name = "COALESCE(s.ServiceCategory, c.ServiceCategory)"
    elif col.name == "ServiceSubcategory":
        name = _SUBCATEGORY_SQL
    if col.data_type == "map":
        expr = f"costline_tags_json({name})"
    elif col.data_type == "datetime" and csv:
        expr = f"strftime({name}, '%Y-%m-%dT%H:%M:%SZ')"
    else:
        expr = name
    if csv and col.data_type in ("string", "json", "map"):
        expr = neutralize_sql(expr)
    return f"{expr} AS {_q(col.name)}"


# The category/subcategory pair that carries most of each ServiceName's cost.
_SERVICES_CTE = """services AS (
    SELECT ServiceName, ServiceCategory, ServiceSubcategory FROM (
        SELECT *, row_number() OVER (PARTITION BY ServiceName
            ORDER BY cost DESC, lines DESC, ServiceCategory, ServiceSubcategory) AS rank
        FROM (SELECT ServiceName, ServiceCategory, ServiceSubcategory,
                     sum(abs(BilledCost)) AS cost, count(*) AS lines
              FROM cost WHERE ServiceName IS NOT NULL
              GROUP BY ServiceName, ServiceCategory, ServiceSubcategory))
    WHERE rank = 1)"""


# Harmonised per ServiceName; FOCUS's "Other (<category>)" where nothing better is known.
_SUBCATEGORY_SQL = (
    "COALESCE(s.ServiceSubcategory, c.ServiceSubcategory, "
    "'Other (' || COALESCE(s.ServiceCategory, c.ServiceCategory) || ')')"
)


def export_select(*, csv: bool, columns: Sequence[str] | None = None) -> str:
    """The ``SELECT`` behind the export (all store columns when ``columns`` is None)."""
    chosen = [_BY_NAME[n] for n in columns] if columns is not None else list(STORE_COLUMNS)
    parts = ", ".join(_value_sql(col, csv=csv) for col in chosen)
    return (
        f"WITH {_SERVICES_CTE}\nSELECT {parts}\nFROM cost AS c "
        "LEFT JOIN services AS s ON s.ServiceName = c.ServiceName\n"
        "ORDER BY c.BillingPeriodStart, c.ChargePeriodStart"
    )


def export_focus(
    con: Any, out: Path, *, fmt: str = "parquet", include_extensions: bool = True
) -> list[Path]:
    """Write the whole cost table as one FOCUS 1.3 file in ``out``; returns the paths written.

    Raises:
        CostlineError: for an unknown format.
    """
    if fmt not in FORMATS:
        raise CostlineError(f"unknown export format {fmt!r}", hint="use --format parquet or csv")
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"focus-1.3.{fmt}"
    tmp = target.with_name(target.name + ".part")
    columns = export_columns(include_extensions=include_extensions)
    select = export_select(csv=fmt == "csv", columns=columns)
    opts = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
    path_sql = str(tmp).replace("'", "''")
    con.execute(f"COPY ({select}) TO '{path_sql}' ({opts})")
    tmp.replace(target)
    return [target]

"""Export the cost store as FOCUS 1.3 (Parquet or CSV).

FOCUS columns only, plus costline's ``x_`` columns (FOCUS allows custom ``x_`` columns).
``Tags`` is written as a JSON object; timestamps as ISO 8601 UTC with ``Z`` in CSV. Text cells
that a spreadsheet would run as a formula (starting ``= + - @``, tab or CR) are prefixed with
``'`` in CSV output: the data stays readable, and opening it in Excel runs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from costline.core.errors import CostlineError
from costline.schema.focus import STORE_COLUMNS

FORMULA_PREFIX = r"^[=+\-@\t\r]"


def neutralize_sql(expr: str) -> str:
    """SQL that prefixes a formula-like text value with a quote (CSV/XLSX safety)."""
    return f"CASE WHEN regexp_matches({expr}, '{FORMULA_PREFIX}') THEN '''' || {expr} ELSE {expr} END"


def export_select(*, csv: bool) -> str:
    parts = []
    for col in STORE_COLUMNS:
        name = f'"{col.name}"'
        if col.data_type == "map":
            expr = f"costline_tags_json({name})"
        elif col.data_type == "datetime" and csv:
            expr = f"strftime({name}, '%Y-%m-%dT%H:%M:%SZ')"
        else:
            expr = name
        if csv and col.data_type in ("string", "json", "map"):
            expr = neutralize_sql(expr)
        parts.append(f"{expr} AS {name}")
    return "SELECT " + ", ".join(parts) + " FROM cost ORDER BY BillingPeriodStart, ChargePeriodStart"


def export_focus(con: Any, out: Path, *, fmt: str = "parquet") -> list[Path]:
    """Write the whole cost table as one FOCUS 1.3 file in ``out``; returns the paths written."""
    if fmt not in ("parquet", "csv"):
        raise CostlineError(f"unknown export format {fmt!r}", hint="use --format parquet or csv")
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"focus-1.3.{fmt}"
    tmp = target.with_name(target.name + ".part")
    opts = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
    path_sql = str(tmp).replace("'", "''")
    con.execute(f"COPY ({export_select(csv=fmt == 'csv')}) TO '{path_sql}' ({opts})")
    tmp.replace(target)
    return [target]

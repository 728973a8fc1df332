"""Rendering for the CLI: tables (rich), JSON (a list of row objects), CSV, XLSX (binary, to a
redirected stdout). The only rich user.

JSON numbers are exact: a DECIMAL is written as its full decimal text, never through float.
CSV text cells that look like spreadsheet formulas are neutralised with a leading quote.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from costline.core.text import cell_text as _cell
from costline.core.text import to_csv

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


def _json_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize() if value == value.to_integral() else value, "f")
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, datetime):
        return json.dumps(value.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{json.dumps(str(k))}: {_json_value(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_json_value(v) for v in value) + "]"
    return json.dumps(str(value))


def to_json(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Rows as a JSON list of objects with exact decimals."""
    objs = [
        "{"
        + ", ".join(f"{json.dumps(c)}: {_json_value(v)}" for c, v in zip(columns, row, strict=True))
        + "}"
        for row in rows
    ]
    return "[" + ",\n ".join(objs) + "]"


def _table_cell(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return _cell(value)


def render(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fmt: OutputFormat,
    *,
    title: str | None = None,
    out: TextIO | None = None,
) -> None:
    """Print rows to stdout in the chosen format."""
    if fmt is OutputFormat.json:
        (out or sys.stdout).write(to_json(columns, rows) + "\n")
        return
    if fmt is OutputFormat.csv:
        (out or sys.stdout).write(to_csv(columns, rows))
        return
    if fmt is OutputFormat.xlsx:
        _write_xlsx(columns, rows, title)
        return
    table = Table(title=title, show_lines=False)
    for c in columns:
        numeric = bool(rows) and isinstance(rows[0][list(columns).index(c)], Decimal | int | float)
        table.add_column(c, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*[_table_cell(v) for v in row])
    stdout.print(table)


def _write_xlsx(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None) -> None:
    """The workbook's bytes to stdout, which must be redirected to a file."""
    from costline.core.errors import ConfigError
    from costline.reports.xlsx import table_xlsx

    if sys.stdout.isatty():
        raise ConfigError(
            "an XLSX workbook is binary and stdout is a terminal",
            hint="redirect it to a file, e.g. `... --format xlsx > report.xlsx`",
        )
    data = table_xlsx(columns, rows, title=title)
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a text-only stream (some test runners): latin-1 keeps every byte
        sys.stdout.write(data.decode("latin-1"))
    else:
        sys.stdout.flush()
        buffer.write(data)
        buffer.flush()


def error(message: str) -> None:
    stderr.print(f"[bold red]error:[/] {message}", highlight=False)


def info(message: str) -> None:
    stderr.print(message, highlight=False)

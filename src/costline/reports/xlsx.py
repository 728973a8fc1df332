"""XLSX building blocks: safe text cells, column widths, and any table as a workbook.

openpyxl is imported by this module only when a workbook is written (the CLI and the API start
without it). Text cells are neutralised with :func:`costline.core.text.csv_safe` and stored as
text, never as a formula; ``Decimal`` values are numbers with a 2-decimal thousands format.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from costline.core.text import csv_safe

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

NUMBER_FORMAT = "#,##0.00;-#,##0.00;0.00"


def xl_text(text: str) -> str:
    """Text safe for a cell: no control characters, no formula."""
    return csv_safe(ILLEGAL_CHARACTERS_RE.sub("\ufffd", text))


def xl_widths(ws: Worksheet, first_row: int) -> None:
    """Fit column widths to their content (8 to 50 characters)."""
    widths: dict[int, int] = {}
    for row in ws.iter_rows(min_row=first_row):
        for cell in row:
            size = (
                len(f"{cell.value:,.2f}") + 5
                if isinstance(cell.value, Decimal)
                else len(str(cell.value or ""))
            )
            col = cell.column or 1
            widths[col] = min(max(widths.get(col, 8), size + 2), 50)
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = width


def _put(ws: Worksheet, row: int, col: int, value: Any) -> None:
    cell = ws.cell(row=row, column=col)
    if value is None:
        return
    if isinstance(value, bool):
        cell.value = value
    elif isinstance(value, Decimal):
        cell.value = value
        cell.number_format = NUMBER_FORMAT
    elif isinstance(value, int | float):
        cell.value = value
    elif isinstance(value, datetime):
        cell.value = value.replace(tzinfo=None)
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = "yyyy-mm-dd"
    else:
        text = json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)
        cell.value = xl_text(text)
        cell.data_type = "s"  # NOTE: never a formula, whatever the text


def table_xlsx(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None
) -> bytes:
    """One sheet: a bold header row (frozen, filterable) and the rows; returns the file."""
    wb = Workbook()
    wb.properties.creator = "costline"
    if title:
        wb.properties.title = title
    ws = wb.active
    assert ws is not None
    ws.title = xl_text((title or "data")[:31]).translate(str.maketrans("[]:*?/\\", "(). -- "))
    for col, name in enumerate(columns, start=1):
        _put(ws, 1, col, name)
        ws.cell(row=1, column=col).font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        for col, value in enumerate(row, start=1):
            _put(ws, r, col, value)
    if columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
    ws.freeze_panes = "A2"
    xl_widths(ws, 1)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

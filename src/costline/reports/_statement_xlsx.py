"""XLSX rendering of a chargeback statement (see :mod:`costline.reports.statements`).

openpyxl is imported here only, so the CLI starts without it. Every text cell is neutralised
with :func:`costline.core.text.csv_safe` and stored as text, never as a formula; amounts are
numbers already rounded to cents with a currency number format.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from costline.reports.statements import (
    RECONCILIATION_HEADER,
    ROUNDING_NOTE,
    Statement,
    detail_cells,
    detail_header,
    reconciliation_cells,
    summary_cells,
    summary_header,
)
from costline.reports.xlsx import xl_text as _xl_text
from costline.reports.xlsx import xl_widths as _xl_widths


def _amount_format(currency: str) -> str:
    """``#,##0.00 "USD"`` for an ISO code; a bare 2-decimal format for anything else."""
    if len(currency) == 3 and currency.isascii() and currency.isalpha():
        unit = f' "{currency.upper()}"'
        return f"#,##0.00{unit};-#,##0.00{unit};0.00{unit}"
    return "#,##0.00;-#,##0.00;0.00"


def _xl_put(ws: Worksheet, row: int, cells: Sequence[str | Decimal], currency: str) -> None:
    for col, value in enumerate(cells, start=1):
        cell = ws.cell(row=row, column=col)
        if isinstance(value, Decimal):
            cell.value = value
            cell.number_format = _amount_format(currency)
        else:
            cell.value = _xl_text(value)
            cell.data_type = "s"  # NOTE: never a formula, whatever the text


def _xl_header(ws: Worksheet, st: Statement) -> int:
    """Title, meta and rounding note from row 1; returns the next free row."""
    _xl_put(ws, 1, [st.title], "")
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    row = 2
    for label, value in [*st.meta, ("Rounding", ROUNDING_NOTE)]:
        _xl_put(ws, row, [label, value], "")
        ws.cell(row=row, column=1).font = Font(bold=True)
        row += 1
    return row + 1


def _xl_table(
    ws: Worksheet,
    top: int,
    header: Sequence[str],
    rows: Sequence[tuple[str, str, Sequence[str | Decimal]]],
) -> int:
    """Header at ``top`` then (kind, currency, cells) rows; returns the last row written."""
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="F3F3F3")
    _xl_put(ws, top, header, "")
    for col in range(1, len(header) + 1):
        ws.cell(row=top, column=col).font = bold
        ws.cell(row=top, column=col).fill = fill
    grand = Border(top=Side(style="thin"), bottom=Side(style="double"))
    for offset, (kind, currency, cells) in enumerate(rows, start=1):
        _xl_put(ws, top + offset, cells, currency)
        for col in range(1, len(cells) + 1) if kind in ("subtotal", "grand") else ():
            ws.cell(row=top + offset, column=col).font = bold
            if kind == "grand":
                ws.cell(row=top + offset, column=col).border = grand
    return top + len(rows)


def write_xlsx(st: Statement, path: Path) -> None:
    """Sheets ``Summary`` (summary + reconciliation) and ``Detail`` (grouped, filterable)."""
    wb = Workbook()
    wb.properties.title, wb.properties.creator = st.title, "costline"
    summary = wb.active
    assert summary is not None
    summary.title = "Summary"
    top = _xl_header(summary, st)
    rows = [(x.kind, x.currency, summary_cells(st, x)) for x in st.summary]
    last = _xl_table(summary, top, summary_header(st), rows)
    recon = [("recon", r.currency, reconciliation_cells(r)) for r in st.reconciliation]
    _xl_table(summary, last + 2, RECONCILIATION_HEADER, recon)
    summary.freeze_panes = f"A{top + 1}"
    _xl_widths(summary, top)
    detail = wb.create_sheet("Detail")
    top = _xl_header(detail, st)
    rows = [(x.kind, x.currency, detail_cells(st, x)) for x in st.detail]
    header = detail_header(st)
    last = _xl_table(detail, top, header, rows)
    detail.auto_filter.ref = f"A{top}:{get_column_letter(len(header))}{last}"
    detail.freeze_panes = f"A{top + 1}"
    _xl_widths(detail, top)
    wb.save(path)

"""Text safety shared by every writer of spreadsheet-bound files (CSV, XLSX).

A spreadsheet runs a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and
some also do after a leading tab or carriage return. Tag values and names come from cloud
accounts that anyone with tagging rights can write, so ``=cmd|' /C calc'!A0`` in a team tag
must reach a finance user's spreadsheet as text. :func:`csv_safe` prefixes such text with a
single quote (the OWASP "CSV injection" advice); plain numbers such as ``-12.5`` are left
alone because a spreadsheet reads them as numbers, not formulas.

Example:
    >>> csv_safe("=cmd|' /C calc'!A0")
    "'=cmd|' /C calc'!A0"
    >>> csv_safe("-12.5"), csv_safe("payments")
    ('-12.5', 'payments')
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

FORMULA = re.compile(r"^[=+\-@\t\r]")


def csv_safe(text: str) -> str:
    """Neutralise a spreadsheet formula (``=cmd|...``) by prefixing a quote."""
    return "'" + text if FORMULA.match(text) and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def cell_text(value: Any) -> str:
    """One value as CSV text: empty for None, UTC ``Z`` timestamps, exact decimals, JSON maps."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def to_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A header and rows as CSV text; formula-like cells neutralised (:func:`csv_safe`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_safe(cell_text(v)) for v in row])
    return buf.getvalue()

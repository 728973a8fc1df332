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

import re
from decimal import Decimal

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

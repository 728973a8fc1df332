"""List endpoints answer JSON by default and a file on ``?format=csv`` or ``?format=xlsx``.

CSV cells that look like spreadsheet formulas are neutralised (as the CLI does); XLSX text cells
are never formulas (:mod:`costline.reports.xlsx`). The file name comes from the endpoint, never
from user input.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from fastapi.responses import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Format(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


def jsonable(value: Any) -> Any:
    """Decimals as exact strings, dates ISO 8601 (UTC ``Z`` for timestamps)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def records(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    return [{c: jsonable(v) for c, v in zip(columns, row, strict=True)} for row in rows]


def table_response(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fmt: Format,
    *,
    name: str,
    meta: dict[str, Any] | None = None,
) -> Response:
    """``{"columns", "rows": [objects], **meta}`` as JSON, or the same table as a file."""
    if fmt is Format.csv:
        from costline.core.text import to_csv

        return Response(
            to_csv(columns, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if fmt is Format.xlsx:
        from costline.reports.xlsx import table_xlsx

        return Response(
            table_xlsx(columns, rows, title=name),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    body = {"columns": list(columns), "rows": records(columns, rows), **(meta or {})}
    return Response(json.dumps(body), media_type="application/json")

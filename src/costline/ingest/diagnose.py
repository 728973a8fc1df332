"""Turn a failed load into an error that names the file, the data row and the raw column.

The happy path casts strictly in one pass. Only when that fails do we scan again, wrapping each
mapped expression in DuckDB's ``try()`` to find the first row where it does not parse.
"""

from __future__ import annotations

from typing import Any

from costline.core.errors import BadInputError, Location
from costline.schema.focus import column
from costline.sources._sql import q, raw
from costline.sources.base import Field as MappedField
from costline.sources.base import RawColumns

_REASONS = {
    "decimal": "unparsable-number",
    "datetime": "unparsable-date",
    "map": "bad-tags",
    "string": "bad-value",
    "json": "bad-value",
}
_HINTS = {
    "decimal": "the value must be a plain number such as 12.34 (no currency symbol or thousands "
    "separator); fix the export or re-export it",
    "datetime": "the value must be a date/time such as 2024-09-01T00:00:00Z; fix the export or "
    "re-export it",
    "map": 'tags must be a JSON object such as {"team": "web"}; fix that row in the export',
    "string": "fix the value in the export",
    "json": "fix the value in the export",
}


def numbered(reader: str, fmt: str) -> str:
    """The reader with a 1-based ``__row`` column in file order."""
    if fmt == "parquet":
        return f"(SELECT file_row_number + 1 AS __row, * FROM {reader.replace('read_parquet(', 'read_parquet(', 1)[:-1]}, file_row_number = true))"
    return f"(SELECT row_number() OVER () AS __row, * FROM {reader})"


def _present(cols: RawColumns, sources: tuple[str, ...]) -> str:
    checks = [f"{raw(cols, s)} IS NOT NULL" for s in sources if s in cols.types]
    return "(" + " OR ".join(checks) + ")" if checks else "false"


def find_bad_value(
    con: Any,
    *,
    mapping: dict[str, MappedField],
    cols: RawColumns,
    reader: str,
    file: str,
) -> BadInputError | None:
    """The first row/column whose value does not convert, or None if every value does."""
    probes = [(name, f) for name, f in mapping.items() if f.sources]
    if not probes:
        return None
    aggs = ", ".join(
        f"min(__row) FILTER (WHERE try({f.expr}) IS NULL AND {_present(cols, f.sources)})"
        for _, f in probes
    )
    con.execute("SET preserve_insertion_order = true")
    row = con.execute(f"SELECT {aggs} FROM {numbered(reader, cols.format)}").fetchone()
    hits = [(r, probes[i]) for i, r in enumerate(row or ()) if r is not None]
    if not hits:
        return None
    bad_row, (target, field) = min(hits, key=lambda h: h[0])
    shown = ", ".join(f"{raw(cols, s) or q(s)}" for s in field.sources)
    values = (
        con.execute(
            f"SELECT {shown} FROM {numbered(reader, cols.format)} WHERE __row = ?", [bad_row]
        ).fetchone()
        or ()
    )
    src_col, value = next(
        ((s, v) for s, v in zip(field.sources, values, strict=False) if v is not None),
        (field.sources[0], None),
    )
    dtype = column(target).data_type if not target.startswith("__") else "string"
    line = f" (line {int(bad_row) + 1} counting the header)" if cols.format == "csv" else ""
    return BadInputError(
        f"cannot convert the value to FOCUS {target} ({dtype}){line}",
        location=Location(
            file, row=int(bad_row), column=src_col, value=None if value is None else str(value)
        ),
        reason=_REASONS.get(dtype, "bad-value"),
        hint=_HINTS.get(dtype),
    )


def find_null_required(
    con: Any,
    *,
    mapping: dict[str, MappedField],
    cols: RawColumns,
    reader: str,
    file: str,
    names: tuple[str, ...],
) -> BadInputError | None:
    """The first row where a required column maps to NULL (an empty cell)."""
    probes = [(n, mapping[n]) for n in names if n in mapping]
    if not probes:
        return None
    aggs = ", ".join(f"min(__row) FILTER (WHERE try({f.expr}) IS NULL)" for _, f in probes)
    con.execute("SET preserve_insertion_order = true")
    row = con.execute(f"SELECT {aggs} FROM {numbered(reader, cols.format)}").fetchone()
    hits = [(r, probes[i]) for i, r in enumerate(row or ()) if r is not None]
    if not hits:
        return None
    bad_row, (target, field) = min(hits, key=lambda h: h[0])
    src = field.sources[0] if field.sources else target
    return BadInputError(
        f"empty value where FOCUS {target} is mandatory",
        location=Location(file, row=int(bad_row), column=src),
        reason="missing-value",
        hint=f"every row needs {src}; fix the export or re-export it",
    )

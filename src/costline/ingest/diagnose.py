"""Turn a failed load into an error that names the file, the data row and the raw column.

The happy path casts strictly in one pass. Only when that fails do we scan again, wrapping each
mapped expression in DuckDB's ``try()`` to find the first row where it does not parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from costline.core.errors import BadInputError, Location, SchemaError
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
        # reader is ``read_parquet([...], opts)``: add one more option before its closing ")"
        with_rows = reader[:-1] + ", file_row_number = true)"
        return (
            f"(SELECT file_row_number + 1 AS __row, * EXCLUDE (file_row_number) FROM {with_rows})"
        )
    return f"(SELECT row_number() OVER () AS __row, * FROM {reader})"


def _present(cols: RawColumns, sources: tuple[str, ...]) -> str:
    checks = [f"{raw(cols, s)} IS NOT NULL" for s in sources if s in cols.types]
    return "(" + " OR ".join(checks) + ")" if checks else "false"


@dataclass(frozen=True)
class _Probe:
    """One conversion inside a mapped field: it failed on a row where its input was not NULL."""

    target: str
    condition: str
    columns: tuple[str, ...]
    dtype: str
    message: str | None = None


def _dtype_of(node: exp.Expression) -> str:
    if isinstance(node, exp.StrToTime):
        return "datetime"
    if isinstance(node, exp.Anonymous):
        return "map"
    to = node.args.get("to")
    kind = to.sql("duckdb").upper() if to is not None else ""
    if kind.startswith(("DECIMAL", "DOUBLE", "FLOAT", "INT", "BIGINT", "NUMERIC")):
        return "decimal"
    if kind.startswith(("TIMESTAMP", "DATE")):
        return "datetime"
    return "string"


def _conversions(expr: str) -> tuple[list[exp.Expression], bool] | None:
    """The casts, strptime calls and tag parsers inside a DuckDB expression, and whether some
    sit inside a lambda (those cannot be probed alone). None when sqlglot cannot parse it."""
    try:
        tree = sqlglot.parse_one(expr, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return None
    found: list[exp.Expression] = []
    in_lambda = False
    for node in tree.find_all(exp.Cast, exp.StrToTime, exp.Anonymous):
        assert isinstance(node, exp.Expression)
        if isinstance(node, exp.Anonymous) and not node.name.lower().startswith("costline_tags"):
            continue
        if node.find_ancestor(exp.Lambda) is not None:
            in_lambda = True  # refers to lambda parameters: probed at the field level
            continue
        found.append(node)
    return found, in_lambda


def _guards(node: exp.Expression) -> list[str]:
    """Conditions under which DuckDB evaluates ``node`` (CASE branches are evaluated lazily)."""
    guards: list[str] = []
    child: exp.Expr = node
    parent = node.parent
    while parent is not None:
        case = parent.parent if isinstance(parent, exp.If) else None
        operand = case.args.get("this") if isinstance(case, exp.Case) else None
        if isinstance(parent, exp.If) and child is parent.args.get("true"):
            guards.append(_when(parent, operand))
        elif isinstance(parent, exp.Case) and child is parent.args.get("default"):
            inner = parent.args.get("this")
            guards += [f"NOT {_when(i, inner)}" for i in parent.args.get("ifs") or []]
        child, parent = parent, parent.parent
    return guards


def _when(branch: exp.Expression, operand: exp.Expression | None) -> str:
    cond = branch.this.sql("duckdb")
    if operand is not None:
        cond = f"({operand.sql('duckdb')}) = ({cond})"
    return f"coalesce(try({cond}), false)"


def _probes(target: str, field: MappedField, cols: RawColumns) -> list[_Probe]:
    """Checks that fire only where a conversion *failed*, not where NULL is the mapped value."""
    known = tuple(s for s in field.sources if s in cols.types)
    store = column(target.lstrip("_")) if _is_store(target.lstrip("_")) else None
    parsed = _conversions(field.expr)
    dtype = store.data_type if store else "string"
    whole = _Probe(target, f"try({field.expr}) IS NULL AND {_present(cols, known)}", known, dtype)
    if parsed is None:
        return [whole]
    nodes, in_lambda = parsed
    probes: list[_Probe] = [whole] if in_lambda else []
    for node in nodes:
        arg = node.expressions[0] if isinstance(node, exp.Anonymous) else node.this
        if arg is None:
            continue
        names = _columns_in(node, cols)
        message = None
        if not names:  # a deliberate error, e.g. CAST('end before start' AS TIMESTAMP) in a CASE
            names = _columns_in(node.find_ancestor(exp.Case), cols) or known
            message = arg.name if isinstance(arg, exp.Literal) and arg.is_string else None
        cond = " AND ".join(
            [
                *_guards(node),
                f"try({node.sql('duckdb')}) IS NULL",
                f"try({arg.sql('duckdb')}) IS NOT NULL",
            ]
        )
        probes.append(
            _Probe(target, cond, names, _dtype_of(node) if message is None else "string", message)
        )
    if store is not None:
        probes.append(
            _Probe(
                target,
                f"try(CAST({field.expr} AS {store.sql_type})) IS NULL AND try({field.expr}) IS NOT NULL",
                known,
                store.data_type,
            )
        )
    return probes


def _columns_in(node: exp.Expression | None, cols: RawColumns) -> tuple[str, ...]:
    """Raw column names referenced inside ``node``, in order, without repeats."""
    if node is None:
        return ()
    return tuple(dict.fromkeys(c.name for c in node.find_all(exp.Column) if c.name in cols.types))


def _is_store(name: str) -> bool:
    try:
        column(name)
    except SchemaError:
        return False
    return True


def find_bad_value(
    con: Any,
    *,
    mapping: dict[str, MappedField],
    cols: RawColumns,
    reader: str,
    file: str,
) -> BadInputError | None:
    """The first row/column whose value does not convert, or None if every value does."""
    probes = [p for name, f in mapping.items() for p in _probes(name, f, cols)]
    if not probes:
        return None
    hits = _first_hits(con, probes, numbered(reader, cols.format))
    if not hits:
        return None
    bad_row, probe = min(hits, key=lambda h: h[0])
    src_col, value = _first_value(con, reader, cols, probe.columns, int(bad_row))
    target = probe.target.lstrip("_")
    line = f" (line {int(bad_row) + 1} counting the header)" if cols.format == "csv" else ""
    what = (
        f"invalid row for FOCUS {target}: {probe.message}"
        if probe.message
        else f"cannot convert the value to FOCUS {target} ({probe.dtype})"
    )
    return BadInputError(
        f"{what}{line}",
        location=Location(
            file, row=int(bad_row), column=src_col, value=None if value is None else str(value)
        ),
        reason=_REASONS.get(probe.dtype, "bad-value"),
        hint=_HINTS.get(probe.dtype),
    )


def _first_hits(con: Any, probes: list[_Probe], relation: str) -> list[tuple[int, _Probe]]:
    """(first row, probe) for every probe that fires; one scan, or one per probe if that fails."""
    con.execute("SET preserve_insertion_order = true")
    aggs = ", ".join(f"min(__row) FILTER (WHERE {p.condition})" for p in probes)
    try:
        row = con.execute(f"SELECT {aggs} FROM {relation}").fetchone() or ()
        return [(int(r), probes[i]) for i, r in enumerate(row) if r is not None]
    except duckdb.Error:
        pass
    hits = []
    for probe in probes:
        try:
            found = con.execute(
                f"SELECT min(__row) FILTER (WHERE {probe.condition}) FROM {relation}"
            ).fetchone()
        except duckdb.Error:
            continue
        if found and found[0] is not None:
            hits.append((int(found[0]), probe))
    return hits


def _first_value(
    con: Any, reader: str, cols: RawColumns, names: tuple[str, ...], row: int
) -> tuple[str | None, object]:
    if not names:
        return None, None
    shown = ", ".join(raw(cols, s) or q(s) for s in names)
    values = (
        con.execute(
            f"SELECT {shown} FROM {numbered(reader, cols.format)} WHERE __row = ?", [row]
        ).fetchone()
        or ()
    )
    return next(
        ((s, v) for s, v in zip(names, values, strict=False) if v is not None), (names[0], None)
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

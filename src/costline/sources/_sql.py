"""Small pure builders of DuckDB SQL expressions used by every mapping.

They take the raw column *names* (already resolved with :meth:`RawColumns.find`) and the raw
types, and return :class:`Field` objects. Casts are strict (``CAST``/``strptime``): a value
that does not parse fails the load, and the ingest pipeline then re-runs the same expression
with ``TRY_`` variants to name the first bad row and column.

Example:
    >>> cols = RawColumns.of({"cost": "VARCHAR"})
    >>> money(cols, "cost").expr
    'CAST(NULLIF(TRIM("cost"), \\'\\') AS DECIMAL(38, 10))'
"""

from __future__ import annotations

from collections.abc import Sequence

from costline.core.money import MONEY_SQL_TYPE
from costline.sources.base import Field, RawColumns

NULL = Field("NULL")
ZERO = Field(f"CAST(0 AS {MONEY_SQL_TYPE})")


def q(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str | None) -> Field:
    """A string literal (or NULL)."""
    if value is None:
        return NULL
    return Field("'" + value.replace("'", "''") + "'")


def _is_text(cols: RawColumns, name: str) -> bool:
    return cols.type_of(name) in ("VARCHAR", "JSON") or cols.type_of(name).startswith("VARCHAR")


def raw(cols: RawColumns, name: str | None) -> str | None:
    """SQL for a raw column as trimmed text with empty → NULL, or None if absent."""
    if name is None:
        return None
    if _is_text(cols, name):
        return f"NULLIF(TRIM({q(name)}), '')"
    return f"CAST({q(name)} AS VARCHAR)"


def text(cols: RawColumns, *candidates: str) -> Field:
    """First present candidate as VARCHAR (empty → NULL); NULL if none is present."""
    name = cols.find(*candidates)
    if name is None:
        return NULL
    return Field(raw(cols, name) or "NULL", (name,))


def money(cols: RawColumns, *candidates: str, default_zero: bool = False) -> Field:
    """First present candidate as DECIMAL(38, 10). Strict: an unparsable value fails the load."""
    name = cols.find(*candidates)
    if name is None:
        return ZERO if default_zero else NULL
    if _is_text(cols, name):
        expr = f"CAST(NULLIF(TRIM({q(name)}), '') AS {MONEY_SQL_TYPE})"
    else:
        expr = f"CAST({q(name)} AS {MONEY_SQL_TYPE})"
    if default_zero:
        expr = f"COALESCE({expr}, CAST(0 AS {MONEY_SQL_TYPE}))"
    return Field(expr, (name,))


def timestamp(cols: RawColumns, *candidates: str, formats: Sequence[str] = ()) -> Field:
    """First present candidate as a UTC TIMESTAMP.

    Text is parsed as ISO 8601 (offsets converted to UTC; no offset means UTC). ``formats``
    adds strptime formats tried first (e.g. ``%m/%d/%Y`` for Azure EA exports).
    """
    name = cols.find(*candidates)
    if name is None:
        return NULL
    return Field(timestamp_expr(cols, name, formats=formats), (name,))


def timestamp_expr(cols: RawColumns, name: str, *, formats: Sequence[str] = ()) -> str:
    col = q(name)
    typ = cols.type_of(name)
    if typ.startswith("TIMESTAMP WITH TIME ZONE") or typ == "TIMESTAMPTZ":
        return f"CAST(timezone('UTC', {col}) AS TIMESTAMP)"
    if typ.startswith("TIMESTAMP") or typ == "DATE":
        return f"CAST({col} AS TIMESTAMP)"
    value = f"NULLIF(TRIM({col}), '')"
    iso = f"CAST(timezone('UTC', CAST({value} AS TIMESTAMPTZ)) AS TIMESTAMP)"
    if not formats:
        return iso
    fmts = ", ".join("'" + f + "'" for f in formats)
    # strptime with a list tries each format in turn; ISO is the fallback for other shapes.
    return (
        f"CASE WHEN {value} IS NULL THEN NULL "
        f"WHEN regexp_matches({value}, '^\\d{{4}}-') THEN {iso} "
        f"ELSE strptime({value}, [{fmts}]) END"
    )


def coalesce(*fields: Field) -> Field:
    """First non-null of several fields."""
    present = [f for f in fields if f.expr != "NULL"]
    if not present:
        return NULL
    if len(present) == 1:
        return present[0]
    sources = tuple(s for f in present for s in f.sources)
    return Field("COALESCE(" + ", ".join(f.expr for f in present) + ")", sources)


def tags_from_json(cols: RawColumns, name: str | None, *, wrap_braces: bool = False) -> Field:
    """A JSON-object text column → MAP(VARCHAR, VARCHAR) with trimmed keys.

    ``wrap_braces`` accepts the classic Azure EA form without braces (``"a": "b","c": "d"``).
    Non-string JSON values are kept as their JSON text. A value that is not a JSON object fails
    the load (the pipeline names the row).
    """
    if name is None:
        return Field("CAST(MAP() AS MAP(VARCHAR, VARCHAR))")
    src = raw(cols, name)
    if wrap_braces:
        src = (
            f"CASE WHEN {src} IS NULL THEN NULL WHEN starts_with({src}, '{{') THEN {src} "
            f"ELSE '{{' || {src} || '}}' END"
        )
    return Field(f"costline_tags({src})", (name,))


def tags_from_columns(cols: RawColumns, names: Sequence[str], *, strip: str) -> Field:
    """One raw column per tag (``resourceTags/user:team``) → MAP with ``strip`` removed from keys."""
    if not names:
        return Field("CAST(MAP() AS MAP(VARCHAR, VARCHAR))")
    keys = ", ".join("'" + n[len(strip) :].strip().replace("'", "''") + "'" for n in names)
    values = ", ".join(raw(cols, n) or "NULL" for n in names)
    return Field(f"costline_tags_from_lists([{keys}], [{values}])", tuple(names))

"""Build the SELECT that maps a raw file to the cost store, and check a mapping is complete."""

from __future__ import annotations

import re
from collections.abc import Sequence

from costline.core.errors import BadInputError, Location
from costline.schema.focus import REQUIRED_NOT_NULL, STORE_COLUMNS
from costline.sources._sql import lit
from costline.sources.base import Field, MappingResult, RowSplit


def lineage(
    mapping: MappingResult, *, kind: str, files_expr: Field, ingestion_id: str
) -> MappingResult:
    """The mapping plus costline's lineage columns."""
    out = dict(mapping)
    out["x_SourceKind"] = lit(kind)
    out["x_SourceFile"] = files_expr
    out["x_IngestionId"] = lit(ingestion_id)
    return out


# A money conversion of one raw column, exactly as costline.sources._sql.money writes it.
_MONEY_CAST = re.compile(
    r"""CAST\((?:NULLIF\(TRIM\("(?:[^"]|"")+"\), ''\)|"(?:[^"]|"")+") AS DECIMAL\(38, 10\)\)"""
)


def select_sql(mapping: MappingResult, reader: str, splits: Sequence[RowSplit] = ()) -> str:
    """``SELECT`` every store column (NULL of the right type where unmapped) ``FROM reader``.

    Each raw money column is converted once, in an inner projection, however many mapped
    columns read it (the AWS mapping reads ``pricing/publicOnDemandCost`` in 62 places). With
    ``splits``, the file is still scanned once: each raw row is joined to a tiny table of split
    numbers, and split ``i`` emits its row only where its condition holds.
    """
    if splits:
        names = " ".join(f"WHEN {i} THEN '{s.name}'" for i, s in enumerate(splits, 1))
        mapping = {**mapping, "x_RowSplit": Field(f"CASE __split.n {names} END")}
    hoisted: dict[str, str] = {}
    parts = []
    for col in STORE_COLUMNS:
        field = mapping.get(col.name)
        expr = field.expr if field is not None else "NULL"
        overridden = [
            (i, s.overrides[col.name]) for i, s in enumerate(splits, 1) if col.name in s.overrides
        ]
        if overridden:
            whens = " ".join(f"WHEN {i} THEN {f.expr}" for i, f in overridden)
            expr = f"CASE __split.n {whens} ELSE {expr} END"
        parts.append(f'CAST({_hoist(expr, hoisted)} AS {col.sql_type}) AS "{col.name}"')
    conds = " OR ".join(
        f"(__split.n = {i} AND ({_hoist(s.where, hoisted)}))" for i, s in enumerate(splits, 1)
    )
    # NOTE: a hoisted conversion runs on every row, also where a CASE in the mapping would
    # not have evaluated it; raw money columns hold a number or nothing on every row of a
    # real export, so this only matters for a damaged file, which fails either way.
    inner = "".join(f', {_fast_money(text)} AS "{alias}"' for text, alias in hoisted.items())
    sql = "SELECT " + ",\n  ".join(parts) + f"\nFROM (SELECT *{inner} FROM {reader}) AS __raw"
    if not splits:
        return sql
    values = ", ".join(f"({i})" for i in range(len(splits) + 1))
    return f"{sql} CROSS JOIN (VALUES {values}) AS __split(n)\nWHERE __split.n = 0 OR {conds}"


def _fast_money(cast: str) -> str:
    """The same conversion, parsed as DECIMAL(18, 10) first when the value fits.

    DuckDB parses text to DECIMAL(18, 10) about 17x faster than to DECIMAL(38, 10); the scale
    and rounding are the same, and a value that does not fit (or does not parse) falls through
    to the strict DECIMAL(38, 10) cast, so bad input still fails the load.
    """
    arg = cast[len("CAST(") : -len(" AS DECIMAL(38, 10))")]
    return f"COALESCE(TRY_CAST({arg} AS DECIMAL(18, 10)), {cast})"


def _hoist(expr: str, hoisted: dict[str, str]) -> str:
    """Replace each money conversion by a reference to its column in the inner projection."""

    def alias(match: re.Match[str]) -> str:
        name = hoisted.setdefault(match.group(0), f"__money_{len(hoisted)}")
        return f'"{name}"'

    return _MONEY_CAST.sub(alias, expr)


def check_required(mapping: MappingResult, *, file: str, kind: str) -> None:
    """Fail before reading any row when a mandatory cost/date column has no raw column.

    Raises:
        BadInputError: naming the FOCUS column that nothing in the file provides.
    """
    for name in REQUIRED_NOT_NULL:
        field = mapping.get(name)
        if field is None or (not field.sources and field.expr == "NULL"):
            raise BadInputError(
                f"missing mandatory column: nothing in this {kind} file provides FOCUS {name}",
                location=Location(file, column=name),
                reason="missing-column",
                hint=f"re-export with all columns; docs/connectors/ lists which raw column "
                f"feeds {name} for each export kind",
            )

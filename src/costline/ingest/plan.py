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
# A raw text value as costline.sources._sql.raw (and the CUR 2.0 ``product`` map lookup) write
# it: trimmed, empty -> NULL. Trimming cannot fail, so computing it for every row is safe.
_TEXT = re.compile(
    r"""NULLIF\(TRIM\((?:"(?:[^"]|"")+"|CAST\("(?:[^"]|"")+"\['(?:[^']|'')*'\] AS VARCHAR\))\), ''\)"""
)
_SHARED_REF = re.compile(r'"__shared_(\d+)"')
# SQL tokens, enough to find where a CASE or a call ends: quoted text is one token.
_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|\w+|\S""")
_NAME = re.compile(r"[A-Za-z_]\w*")
# Keywords that look like a call but bind to what surrounds them (``NOT (a)`` in ``b = NOT (a)``).
_NOT_CALLS = frozenset({"NOT", "EXISTS", "INTERVAL", "AND", "OR", "IN", "IS", "LIKE"})
# A shared expression shorter than this stays inline: not worth a column of its own.
_MIN_SHARED = 24
# Raw text read fewer times than this is trimmed where it is used.
_TEXT_MIN_USES = 2
# Join split numbers (and filter) below the projections that compute shared values.
_SPLITS_BELOW = True


def select_sql(mapping: MappingResult, reader: str, splits: Sequence[RowSplit] = ()) -> str:
    """``SELECT`` every store column (NULL of the right type where unmapped) ``FROM reader``.

    DuckDB does not share a subexpression that sits inside a CASE branch, and mappings repeat
    themselves: the AWS mapping reads ``lineItem/LineItemType`` 146 times, and its ListCost
    embeds ListUnitPrice three times. So the SELECT computes, in projections below the mapped
    columns:

    1. each raw text value (``NULLIF(TRIM(col), '')``) once;
    2. each raw money conversion once (DECIMAL(18, 10) first, see :func:`_fast_money`);
    3. each mapped column's expression once where other columns embed it (:func:`_share`).

    Text trimming cannot fail and a mapped column is evaluated on every row anyway, so steps
    1 and 3 change no value and no failure. With ``splits``, the file is still scanned once:
    each raw row is joined to a tiny table of split numbers, and split ``i`` emits its row only
    where its condition holds.
    """
    if splits:
        names = " ".join(f"WHEN {i} THEN '{s.name}'" for i, s in enumerate(splits, 1))
        mapping = {**mapping, "x_RowSplit": Field(f"CASE __split {names} END")}
    base = {c.name: mapping[c.name].expr if c.name in mapping else "NULL" for c in STORE_COLUMNS}
    over = [{n: f.expr for n, f in s.overrides.items()} for s in splits]
    wheres = [s.where for s in splits] if not _SPLITS_BELOW else []
    texts = _repeated(_TEXT, [*base.values(), *wheres, *(e for o in over for e in o.values())])
    money: dict[str, str] = {}

    def hoist(expr: str) -> str:
        expr = _TEXT.sub(lambda m: _alias(texts, m.group(0), "__text"), expr)
        return _MONEY_CAST.sub(lambda m: _alias(money, m.group(0), "__money"), expr)

    base = {n: hoist(e) for n, e in base.items()}
    over = [{n: hoist(e) for n, e in o.items()} for o in over]
    wheres = [hoist(w) for w in wheres]
    shared = _share(base, over, wheres)
    parts = []
    for col in STORE_COLUMNS:
        expr = base[col.name]
        overridden = [(i, o[col.name]) for i, o in enumerate(over, 1) if col.name in o]
        if overridden:
            whens = " ".join(f"WHEN {i} THEN {e}" for i, e in overridden)
            expr = f"CASE __split {whens} ELSE {expr} END"
        parts.append(f'CAST({expr} AS {col.sql_type}) AS "{col.name}"')
    # NOTE: a hoisted money conversion runs on every row, also where a CASE in the mapping
    # would not have evaluated it; raw money columns hold a number or nothing on every row of
    # a real export, so this only matters for a damaged file, which fails either way.
    layers = [
        {alias: text for text, alias in texts.items() if alias},
        {alias: _fast_money(text) for text, alias in money.items()},
        *shared,
    ]
    source = reader
    if splits and _SPLITS_BELOW:
        source = f"(SELECT * FROM {_split_rows(reader, [s.where for s in splits])})"
    for i, layer in enumerate(lay for lay in layers if lay):
        cols = "".join(f', {expr} AS "{alias}"' for alias, expr in layer.items())
        source = f"(SELECT *{cols} FROM {source}) AS __l{i}"
    sql = "SELECT " + ",\n  ".join(parts) + f"\nFROM {source}"
    if not splits or _SPLITS_BELOW:
        return sql
    return sql + " CROSS JOIN " + _split_rows("", wheres)[len(" CROSS JOIN ") - 1 :]


def _split_rows(reader: str, wheres: list[str]) -> str:
    """``reader`` joined to the split numbers, keeping split ``i`` only where its condition
    holds (split 0 is the row itself)."""
    conds = " OR ".join(f"(__split = {i} AND ({w}))" for i, w in enumerate(wheres, 1))
    values = ", ".join(f"({i})" for i in range(len(wheres) + 1))
    return (
        f"{reader} CROSS JOIN (VALUES {values}) AS __splits(__split)\nWHERE __split = 0 OR {conds}"
    )


def _repeated(pattern: re.Pattern[str], texts: list[str]) -> dict[str, str]:
    """Matches of ``pattern`` that occur at least ``_TEXT_MIN_USES`` times in ``texts``, each
    with an empty alias (set when first used)."""
    counts: dict[str, int] = {}
    for text in texts:
        for match in pattern.findall(text):
            counts[match] = counts.get(match, 0) + 1
    return {m: "" for m, n in counts.items() if n >= _TEXT_MIN_USES}


def _alias(found: dict[str, str], text: str, prefix: str) -> str:
    """The column computing ``text`` once (named on first use), or ``text`` itself when
    ``found`` is a fixed set (raw text) that does not hold it."""
    if prefix == "__text" and text not in found:
        return text
    if not found.get(text):
        found[text] = f"{prefix}_{sum(1 for a in found.values() if a)}"
    return '"' + found[text] + '"'


def _fast_money(cast: str) -> str:
    """The same conversion, parsed as DECIMAL(18, 10) first when the value fits.

    DuckDB parses text to DECIMAL(18, 10) about 17x faster than to DECIMAL(38, 10); the scale
    and rounding are the same, and a value that does not fit (or does not parse) falls through
    to the strict DECIMAL(38, 10) cast, so bad input still fails the load.
    """
    arg = cast[len("CAST(") : -len(" AS DECIMAL(38, 10))")]
    return f"COALESCE(TRY_CAST({arg} AS DECIMAL(18, 10)), {cast})"


def _share(
    base: dict[str, str], over: list[dict[str, str]], wheres: list[str]
) -> list[dict[str, str]]:
    """Compute once each column expression that other expressions embed; rewrite in place.

    Every mapped column is evaluated on every raw row (with splits, by the row's base copy),
    so computing it in a lower projection and referring to it elsewhere changes no value and
    no failure (mappings use no volatile functions). Only a whole CASE or call is replaced, so
    an embedded copy cannot bind differently from the column. Shorter expressions go first,
    so a longer one refers to the shorter ones inside it; the layers returned are in
    dependency order (an expression reads only layers below its own).
    """
    layers: list[dict[str, str]] = []
    level_of: list[int] = []
    for name in sorted(base, key=lambda n: len(base[n])):
        expr = base[name]
        if len(expr) < _MIN_SHARED or "__split" in expr or not _self_delimited(expr):
            continue
        found = re.compile(r"(?<![\w.\"])" + re.escape(expr) + r"(?!\w)")
        texts = [*base.values(), *wheres, *(e for o in over for e in o.values())]
        if sum(len(found.findall(t)) for t in texts) < 2:
            continue
        alias = f"__shared_{len(level_of)}"
        level = max((level_of[int(i)] + 1 for i in _SHARED_REF.findall(expr)), default=0)
        level_of.append(level)
        if level == len(layers):
            layers.append({})
        layers[level][alias] = expr
        ref = f'"{alias}"'
        for n in base:
            base[n] = found.sub(ref, base[n])
        for o in over:
            for n in o:
                o[n] = found.sub(ref, o[n])
        wheres[:] = [found.sub(ref, w) for w in wheres]
    return layers


def _self_delimited(expr: str) -> bool:
    """Whether ``expr`` is one ``CASE ... END`` or one call ``f(...)`` from start to end.

    Such text, found inside another expression, is that same expression there: unlike
    ``a + b`` (in ``c * a + b``), it cannot bind to its neighbours differently.
    """
    tokens = _TOKEN.findall(expr)
    if len(tokens) < 3:
        return False
    if tokens[0].upper() == "CASE":
        opens, closes = ("CASE",), ("END",)
    elif _NAME.fullmatch(tokens[0]) and tokens[0].upper() not in _NOT_CALLS and tokens[1] == "(":
        opens, closes = ("(",), (")",)
        tokens = tokens[1:]
    else:
        return False
    depth = parens = 0
    for i, token in enumerate(tokens):
        word = token.upper()
        depth += (word in opens) - (word in closes)
        parens += (token == "(") - (token == ")")
        if parens < 0 or (depth == 0 and i < len(tokens) - 1):
            return False
    return depth == 0 and parens == 0


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

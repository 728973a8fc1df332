"""Nested BigQuery records as DuckDB reads them, turned into SQL (pure, no I/O).

The same BigQuery billing export reaches costline in several shapes:

* NDJSON (``bq extract --destination_format NEWLINE_DELIMITED_JSON``): ``read_json`` infers
  ``STRUCT``/``LIST`` types, but an empty array becomes ``JSON[]`` and an all-null record
  becomes the type ``"NULL"``; NUMERIC values arrive as JSON strings (``VARCHAR``).
* Parquet: ``STRUCT``/``LIST`` with native types (``DOUBLE``, ``DECIMAL``, ``TIMESTAMP``).
* CSV (a query result saved as CSV, since BigQuery cannot extract repeated fields to CSV):
  every column is ``VARCHAR``; a record is either JSON text in one column (``service`` =
  ``{"id": ..., "description": ...}``) or flattened into ``service.description`` /
  ``service_description`` columns.

:class:`Record` resolves a field path (``("project", "labels")``) against the actual raw
types and returns SQL for it, or ``None`` when the file does not carry that field, so a
mapping never references a field DuckDB cannot bind.

Example:
    >>> cols = RawColumns.of({"service": "STRUCT(id VARCHAR, description VARCHAR)"}, "json")
    >>> text(Record(cols).get("service", "description"))
    'NULLIF(TRIM(struct_extract("service", \\'description\\')), \\'\\')'
    >>> Record(cols).get("service", "missing") is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from costline.core.money import MONEY_SQL_TYPE
from costline.sources._sql import q
from costline.sources.base import RawColumns

Kind = Literal["struct", "list", "map", "json", "null", "scalar"]


@dataclass(frozen=True)
class TypeNode:
    """A parsed DuckDB type: ``kind`` plus struct fields or the list element type."""

    kind: Kind
    name: str = ""
    fields: tuple[tuple[str, TypeNode], ...] = ()
    child: TypeNode | None = None

    def field(self, name: str) -> tuple[str, TypeNode] | None:
        """The struct field ``name`` (case-insensitive) as (actual name, type), or None."""
        low = name.lower()
        return next(((n, t) for n, t in self.fields if n.lower() == low), None)

    @property
    def is_text(self) -> bool:
        return self.kind == "scalar" and self.name.startswith("VARCHAR")


def parse_type(text: str) -> TypeNode:
    """Parse a DuckDB type string as ``DESCRIBE`` prints it.

    Example:
        >>> parse_type('STRUCT("key" VARCHAR, "value" VARCHAR)[]').child.field("key")[0]
        'key'
        >>> parse_type('"NULL"').kind
        'null'
    """
    text = text.strip()
    upper = text.upper()
    if text.endswith("[]"):
        return TypeNode("list", child=parse_type(text[:-2]))
    if upper in ('"NULL"', "NULL"):
        return TypeNode("null")
    if upper == "JSON":
        return TypeNode("json")
    if upper.startswith("STRUCT(") and text.endswith(")"):
        fields = tuple(_split_field(part) for part in _split_top(text[7:-1]))
        return TypeNode("struct", fields=fields)
    if upper.startswith("MAP("):
        return TypeNode("map", name=upper)
    return TypeNode("scalar", name=upper)


def _split_top(body: str) -> list[str]:
    """Split ``a INT, b STRUCT(c INT, d INT)`` on top-level commas (quotes respected)."""
    parts: list[str] = []
    depth, quoted, start = 0, False, 0
    for i, ch in enumerate(body):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and ch == ",":
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return [p.strip() for p in parts if p.strip()]


def _split_field(item: str) -> tuple[str, TypeNode]:
    if item.startswith('"'):
        i = 1
        while i < len(item):
            if item[i] == '"' and item[i + 1 : i + 2] == '"':
                i += 2
                continue
            if item[i] == '"':
                break
            i += 1
        return item[1:i].replace('""', '"'), parse_type(item[i + 1 :])
    name, _, rest = item.partition(" ")
    return name, parse_type(rest)


@dataclass(frozen=True)
class Value:
    """A resolved field: SQL expression, its type and the raw (top-level) column it reads."""

    expr: str
    node: TypeNode
    source: str


def _json_path(names: tuple[str, ...]) -> str:
    return "$" + "".join('."' + n.replace('"', '\\"').replace("'", "''") + '"' for n in names)


class Record:
    """Resolve nested field paths against the raw columns of one file."""

    def __init__(self, cols: RawColumns) -> None:
        self.cols = cols

    def get(self, *path: str) -> Value | None:
        """The field at ``path`` or None when the file does not carry it (or it is all null)."""
        top = self.cols.find(path[0])
        if top is not None:
            found = _walk(Value(q(top), parse_type(self.cols.types[top]), top), path[1:])
            if found is not None and found.node.kind != "null":
                return found
        if len(path) > 1:
            flat = self.cols.find(".".join(path), "_".join(path))
            if flat is not None:
                return Value(q(flat), parse_type(self.cols.types[flat]), flat)
        return None

    def has(self, *path: str) -> bool:
        """Whether the file has a column for ``path`` at all (even an all-null one)."""
        names = [path[0]] if len(path) == 1 else [path[0], ".".join(path), "_".join(path)]
        return self.cols.find(*names) is not None


def _walk(value: Value, rest: tuple[str, ...]) -> Value | None:
    for i, name in enumerate(rest):
        node = value.node
        if node.kind == "struct":
            hit = node.field(name)
            if hit is None:
                return None
            value = Value(f"struct_extract({value.expr}, '{hit[0]}')", hit[1], value.source)
        elif node.kind == "json" or node.is_text:
            src = value.expr if node.kind == "json" else f"NULLIF(TRIM({value.expr}), '')"
            path = _json_path(rest[i:])
            return Value(f"json_extract({src}, '{path}')", TypeNode("json"), value.source)
        else:
            return None
    return value


def text(value: Value | None, *, keep_empty: bool = False) -> str:
    """SQL for the value as trimmed VARCHAR (empty → NULL unless ``keep_empty``)."""
    if value is None or value.node.kind == "null":
        return "NULL"
    expr = value.expr
    if value.node.kind == "json":
        expr = f"({expr} ->> '$')"
    elif not value.node.is_text:
        expr = f"CAST({expr} AS VARCHAR)"
    return f"TRIM({expr})" if keep_empty else f"NULLIF(TRIM({expr}), '')"


def money(value: Value | None) -> str:
    """SQL for the value as DECIMAL(38, 10); strict (an unparsable value fails the load)."""
    if value is None or value.node.kind == "null":
        return "NULL"
    numeric = value.node.kind == "scalar" and not value.node.is_text
    if numeric and not value.node.name.startswith(("FLOAT", "DOUBLE", "REAL")):
        return f"CAST({value.expr} AS {MONEY_SQL_TYPE})"
    # Text (NDJSON NUMERIC strings) and floats both go through their shortest text form, so a
    # DOUBLE 0.1 becomes exactly 0.1 rather than its binary neighbour.
    return f"CAST({text(value)} AS {MONEY_SQL_TYPE})"


def list_of(value: Value | None, field: str, *, keep_empty: bool = False) -> str | None:
    """SQL for ``[element.field for element in value]`` as VARCHAR[] (None if not a list)."""
    if value is None:
        return None
    node = value.node
    if node.kind == "list" and node.child is not None:
        elem = _element(node.child, field, keep_empty=keep_empty)
        if elem is None:
            return None
        return f"list_transform({value.expr}, lambda __e: {elem})"
    if node.kind == "json" or node.is_text:
        src = value.expr if node.kind == "json" else f"NULLIF(TRIM({value.expr}), '')"
        return f"json_extract_string({src}, '$[*].\"{field}\"')"
    if node.kind == "map" and field in ("key", "value"):
        fn = "map_keys" if field == "key" else "map_values"
        return f"list_transform({fn}({value.expr}), lambda __e: CAST(__e AS VARCHAR))"
    return None


def _element(child: TypeNode, field: str, *, keep_empty: bool) -> str | None:
    if child.kind == "json":
        return text(Value(f"(__e -> '{_json_path((field,))}')", child, ""), keep_empty=keep_empty)
    if child.kind != "struct":
        return None
    hit = child.field(field)
    if hit is None or hit[1].kind == "null":
        return None
    inner = Value(f"struct_extract(__e, '{hit[0]}')", hit[1], "")
    return text(inner, keep_empty=keep_empty)


def empty_list(expr: str | None) -> str:
    """``expr`` with NULL replaced by an empty VARCHAR list (or an empty list if absent)."""
    if expr is None:
        return "CAST([] AS VARCHAR[])"
    return f"COALESCE({expr}, CAST([] AS VARCHAR[]))"

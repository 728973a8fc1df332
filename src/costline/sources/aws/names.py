"""Resolve AWS CUR column names across the three spellings AWS uses.

One logical column has up to three spellings:

* legacy CUR CSV: ``category/ColumnName`` (``lineItem/UnblendedCost``);
* legacy CUR for Athena (Parquet) and CUR 2.0: snake_case, made by AWS's rule "``/`` becomes
  ``_``, and an ``_`` goes before every capital letter, then lower-case"
  (``line_item_unblended_cost``, ``reservation_reservation_a_r_n``);
* CUR 2.0 folds most ``product/*`` attributes into one ``product`` map column, keyed in
  snake_case (``product['product_name']``).

:class:`Cur` resolves a logical name (written in the CSV spelling) to whichever spelling the file
has and returns :class:`~costline.sources.base.Field` objects built with the shared ``_sql``
helpers, so every expression is strict and traceable to the raw column a user can see.

Example:
    >>> snake("reservation/ReservationARN")
    'reservation_reservation_a_r_n'
    >>> cur = Cur(RawColumns.of({"line_item_unblended_cost": "DOUBLE"}, "parquet"))
    >>> cur.name("lineItem/UnblendedCost")
    'line_item_unblended_cost'
"""

from __future__ import annotations

import re

from costline.sources import _sql
from costline.sources.base import Field, RawColumns

_CAPITAL = re.compile(r"([A-Z])")


def snake(name: str) -> str:
    """AWS's Athena/CUR 2.0 spelling of a legacy CUR column name."""
    return _CAPITAL.sub(r"_\1", name.replace("/", "_")).lower().replace("__", "_").lstrip("_")


def _text_expr(cols: RawColumns, name: str) -> str:
    return _sql.raw(cols, name) or "NULL"


class Cur:
    """Typed access to the raw columns of one CUR file, whatever its spelling."""

    def __init__(self, cols: RawColumns) -> None:
        self.cols = cols

    def name(self, field: str) -> str | None:
        """The raw name of a logical column (CSV spelling), or None when the file lacks it."""
        return self.cols.find(field, snake(field))

    def text(self, field: str) -> Field:
        return _sql.text(self.cols, field, snake(field))

    def money(self, field: str) -> Field:
        return _sql.money(self.cols, field, snake(field))

    def money0(self, field: str) -> Field:
        """A money column where AWS leaves zero amounts blank: NULL (or absent) reads as 0."""
        return _sql.money(self.cols, field, snake(field), default_zero=True)

    def timestamp(self, field: str) -> Field:
        return _sql.timestamp(self.cols, field, snake(field))

    def product(self, attribute: str) -> Field:
        """A product attribute (``ProductName``, ``regionCode``...): a flat column when the file
        has one (``product/ProductName``, ``product_product_name``), else the key of the CUR 2.0
        ``product`` map (``product['product_name']``), else NULL."""
        flat = self.text(f"product/{attribute}")
        if flat.sources:
            return flat
        col = self.cols.find("product")
        if col is None:
            return _sql.NULL
        key = snake(attribute)
        typ = self.cols.type_of(col)
        if typ.startswith("MAP"):
            value = f"NULLIF(TRIM(CAST({_sql.q(col)}[{_sql.lit(key).expr}] AS VARCHAR)), '')"
        else:
            # CUR 2.0 CSV: the map is written as a JSON object.
            path = _sql.lit(f'$."{key}"').expr
            value = f"NULLIF(TRIM(json_extract_string({_text_expr(self.cols, col)}, {path})), '')"
        return Field(value, (col,))


def combine(expr: str, *fields: Field) -> Field:
    """A new expression reading the raw columns of ``fields`` (sources de-duplicated, in order)."""
    seen: dict[str, None] = {}
    for f in fields:
        for s in f.sources:
            seen.setdefault(s, None)
    return Field(expr, tuple(seen))


def sql_list(values: tuple[str, ...] | list[str]) -> str:
    """``('a', 'b')`` for an ``IN`` test."""
    return "(" + ", ".join(_sql.lit(v).expr for v in values) + ")"

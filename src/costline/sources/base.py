"""The connector protocol: a source recognises raw columns and maps them to FOCUS.

A *mapping* is a ``dict`` from cost-store column name to :class:`Field`: a DuckDB SQL
expression over the raw columns plus the raw columns it reads (so a bad value can be traced
back to the raw column a user can see). Columns a mapping leaves out are NULL.

Example:
    >>> cols = RawColumns.of({"lineItem/UnblendedCost": "VARCHAR"})
    >>> cols.find("lineitem/unblendedcost")
    'lineItem/UnblendedCost'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

FileFormat = Literal["csv", "parquet", "json"]

_PAREN = re.compile(r"\(([^()]+)\)\s*$")


def normalize_name(name: str) -> str:
    """Case-, space- and BOM-insensitive key for a raw column name.

    Localised Azure headers carry the English name in parentheses
    (``Abonnement-GUID (SubscriptionGuid)``); that English name is the key.

    Example:
        >>> normalize_name("\\ufeffAbonnement-GUID (SubscriptionGuid)")
        'subscriptionguid'
    """
    text = name.lstrip("\ufeff").strip()
    match = _PAREN.search(text)
    if match:
        text = match.group(1)
    return text.replace(" ", "").lower()


@dataclass(frozen=True)
class RawColumns:
    """The columns of a raw file, as DuckDB reads it: ordered name → DuckDB type."""

    types: Mapping[str, str]
    format: FileFormat = "csv"
    _index: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, types: Mapping[str, str], format: FileFormat = "csv") -> RawColumns:
        index: dict[str, str] = {}
        for name in types:
            index.setdefault(normalize_name(name), name)
        return cls(dict(types), format, index)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.types)

    def __len__(self) -> int:
        return len(self.types)

    def find(self, *candidates: str) -> str | None:
        """The actual raw name of the first candidate present (case-insensitive), else None."""
        for cand in candidates:
            hit = self._index.get(normalize_name(cand))
            if hit is not None:
                return hit
        return None

    def has_all(self, *names: str) -> bool:
        return all(self.find(n) is not None for n in names)

    def type_of(self, raw_name: str) -> str:
        return self.types[raw_name].upper()

    def with_prefix(self, prefix: str) -> list[str]:
        """Raw names starting with ``prefix`` (case-insensitive), in file order."""
        low = prefix.lower()
        return [n for n in self.types if n.lower().startswith(low)]


@dataclass(frozen=True)
class Field:
    """A mapped column: SQL expression (DuckDB dialect) and the raw columns it reads."""

    expr: str
    sources: tuple[str, ...] = ()


MappingResult = dict[str, Field]


@dataclass(frozen=True)
class Detection:
    """A source's claim on a file: higher ``score`` wins; ``kind`` names the exact variant.

    ``details["not_cost"]``, when set, says the file is a recognised dataset that is not cost
    and usage data: the pipeline skips it with that message instead of quarantining it.
    """

    kind: str
    score: int
    provider: str
    notes: tuple[str, ...] = ()
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RowSplit:
    """An extra output row for each raw row matching ``where`` (DuckDB SQL over raw columns).

    The extra row takes the base mapping with ``overrides`` applied. Used where FOCUS needs two
    rows for one raw line item, e.g. an AWS RI fee is a Purchase *and* an unused-commitment
    Usage row. A split must conserve money: what it adds to a cost column, the base row must
    not also carry.
    """

    name: str
    where: str
    overrides: MappingResult


@dataclass(frozen=True)
class SourceSpec:
    """A registered source (built-in or plugin)."""

    name: str
    description: str
    detect: Callable[[RawColumns], Detection | None]
    build_mapping: Callable[[RawColumns, Detection], MappingResult]
    csv_options: Mapping[str, object] = field(default_factory=dict)
    docs: str = ""
    split_rows: Callable[[RawColumns, Detection], list[RowSplit]] | None = None
    # "partition": each export holds the whole period (AWS CUR, Azure exports) and replaces it.
    # "file": exports are incremental (OCI writes a report every few hours with only new lines);
    # a file replaces only the rows an earlier file of the same name loaded.
    replace_scope: Literal["partition", "file"] = "partition"

"""AWS resource tags → FOCUS ``Tags`` (MAP(VARCHAR, VARCHAR) in the store).

FOCUS asks for user-defined tags without a prefix (AWS has one user tag scheme) and
provider-defined tags with the provider's prefix. AWS spells the same tag three ways:

=========================  ================================  ===================
export                     raw column / map key              Tags key
=========================  ================================  ===================
legacy CUR CSV             ``resourceTags/user:team``        ``team``
legacy CUR CSV             ``resourceTags/aws:createdBy``    ``aws:createdBy``
legacy CUR for Athena      ``resource_tags_user_team``       ``team``
legacy CUR for Athena      ``resource_tags_aws_created_by``  ``aws:created_by``
CUR 2.0 ``resource_tags``  key ``user_team``                 ``team``
CUR 2.0 ``resource_tags``  key ``aws_created_by``            ``aws:created_by``
=========================  ================================  ===================

Athena and CUR 2.0 names are already sanitised by AWS (``aws:createdBy`` became
``aws_created_by``); costline cannot restore the original spelling, so the ``aws:`` prefix is put
back on the sanitised name. Empty values are dropped (a CUR row without the tag has ``''``).

Example:
    >>> tag_key("resourceTags/user:cost-center")
    'cost-center'
    >>> tag_key("resource_tags_aws_created_by")
    'aws:created_by'
"""

from __future__ import annotations

from costline.sources import _sql
from costline.sources.base import Field, RawColumns

CSV_PREFIX = "resourceTags/"
ATHENA_PREFIX = "resource_tags_"
EMPTY_MAP = "CAST(MAP() AS MAP(VARCHAR, VARCHAR))"


def tag_key(column: str) -> str:
    """The FOCUS tag key for a one-column-per-tag CUR column name."""
    if column.lower().startswith(CSV_PREFIX.lower()):
        key = column[len(CSV_PREFIX) :]
        return key[len("user:") :] if key.startswith("user:") else key
    key = column[len(ATHENA_PREFIX) :]
    return _rename_snake(key)


def _rename_snake(key: str) -> str:
    if key.startswith("user_"):
        return key[len("user_") :]
    if key.startswith("aws_"):
        return "aws:" + key[len("aws_") :]
    return key


def tags(cols: RawColumns) -> Field:
    """The Tags field for a CUR file: the CUR 2.0 map column when present, else tag columns."""
    col = cols.find("resource_tags")
    if col is not None:
        return _from_map_column(cols, col)
    names = cols.with_prefix(CSV_PREFIX) or cols.with_prefix(ATHENA_PREFIX)
    if not names:
        return Field(EMPTY_MAP)
    keys = [tag_key(n) for n in names]
    values = [_sql.raw(cols, n) or "NULL" for n in names]
    return Field(_from_columns(keys, values), tuple(names))


def _from_columns(keys: list[str], values: list[str]) -> str:
    """One column per tag → Tags, without building a map entry by entry where possible.

    DuckDB checks every map it builds from lists for repeated keys, which makes
    ``costline_tags_from_lists`` the costliest column of a legacy CUR (about 10x the cost of
    a struct cast). A row without tags gets the empty map, and a row with every tag set gets
    a struct of the tag columns cast to a MAP (keys in column order, as the lists give them).
    Other rows, and files whose keys cannot be struct fields (empty, or equal ignoring case:
    DuckDB struct names are case-insensitive), take the general path.
    """
    key_list = ", ".join(_sql.lit(k).expr for k in keys)
    general = f"costline_tags_from_lists([{key_list}], [{', '.join(values)}])"
    if "" in keys or len({k.lower() for k in keys}) < len(keys):
        return general
    fields = ", ".join(f"{_sql.lit(k).expr}: {v}" for k, v in zip(keys, values, strict=True))
    untagged = " AND ".join(f"{v} IS NULL" for v in values)
    every = " AND ".join(f"{v} IS NOT NULL" for v in values)
    return (
        f"CASE WHEN {untagged} THEN {EMPTY_MAP} "
        f"WHEN {every} THEN CAST({{{fields}}} AS MAP(VARCHAR, VARCHAR)) ELSE {general} END"
    )


def _from_map_column(cols: RawColumns, col: str) -> Field:
    if cols.type_of(col).startswith("MAP"):
        return Field(_from_map(_sql.q(col)), (col,))
    # CUR 2.0 CSV writes the map as a JSON object.
    return Field(_renamed(f"costline_tags({_sql.raw(cols, col)})"), (col,))


# Keys as AWS writes them in CUR 2.0 (joined by newlines): each sanitised, with a ``user_`` or
# ``aws_`` prefix, no ``:`` and no whitespace.
_SANITISED = r"(user|aws)_[^:\s]*(\n(user|aws)_[^:\s]*)*"


def _from_map(col: str) -> str:
    """A CUR 2.0 ``resource_tags`` MAP column → Tags, in one pass over the entries.

    On a row whose keys all look the way AWS writes them (:data:`_SANITISED`), renaming
    cannot make two keys equal: ``user_x`` → ``x`` has no ``:``, ``aws_y`` → ``aws:y`` has one,
    and the raw keys are distinct (DuckDB refuses a map with repeated keys) and need no
    trimming. Those rows skip the first-key-wins de-duplication of :func:`_renamed`, which
    costs more than the rest of the tag mapping (CUR 2.0, 1M rows: 4.7 s CPU → 3.0 s with
    this check). Any other row takes the general path, so the result is the same on every row.
    """
    general = _renamed(f"costline_tags_from_map({col})")
    keys = f"array_to_string(map_keys({col}), chr(10))"
    entries = f"list_filter(map_entries({col}), lambda e: CAST(e.value AS VARCHAR) <> '')"
    k = "CAST(e.key AS VARCHAR)"
    key = f"CASE WHEN starts_with({k}, 'user_') THEN {k}[6:] ELSE 'aws:' || {k}[5:] END"
    fast = (
        f"map_from_entries(list_transform({entries}, "
        f"lambda e: {{'key': {key}, 'value': CAST(e.value AS VARCHAR)}}))"
    )
    return (
        f"CASE WHEN cardinality({col}) = 0 THEN {EMPTY_MAP} "
        f"WHEN regexp_full_match({keys}, {_sql.lit(_SANITISED).expr}) THEN {fast} "
        f"ELSE {general} END"
    )


def _renamed(map_sql: str) -> str:
    """``user_x`` → ``x``, ``aws_x`` → ``aws:x`` on a MAP expression; the first key wins when
    two keys collide after renaming (``team`` and ``user_team`` on one row)."""
    key = (
        "CASE WHEN starts_with(e.key, 'user_') THEN e.key[6:] "
        "WHEN starts_with(e.key, 'aws_') THEN 'aws:' || e.key[5:] ELSE e.key END"
    )
    entries = (
        f"list_transform(map_entries({map_sql}), lambda e: {{'key': {key}, 'value': e.value}})"
    )
    # NOTE: the entries are computed once and bound through a one-element list_transform;
    # repeating them inside the filter re-parsed the whole map per tag (4x slower on CUR 2.0).
    return (
        f"list_transform([{entries}], lambda es: map_from_entries(list_filter(es, lambda e, i: "
        f"list_position(list_transform(es, lambda x: x.key), e.key) = i)))[1]"
    )

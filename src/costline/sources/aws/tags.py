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
    keys = ", ".join(_sql.lit(tag_key(n)).expr for n in names)
    values = ", ".join(_sql.raw(cols, n) or "NULL" for n in names)
    return Field(f"costline_tags_from_lists([{keys}], [{values}])", tuple(names))


def _from_map_column(cols: RawColumns, col: str) -> Field:
    if cols.type_of(col).startswith("MAP"):
        parsed = f"costline_tags_from_map({_sql.q(col)})"
    else:  # CUR 2.0 CSV writes the map as a JSON object.
        parsed = f"costline_tags({_sql.raw(cols, col)})"
    return Field(_renamed(parsed), (col,))


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

"""CUR 2.0 ``resource_tags`` (a MAP column) → Tags: the one-pass path for keys as AWS writes
them gives what the general path (trim, rename, first key wins) gives, on every row.

Expected maps are written by hand from the rules in costline.sources.aws.tags: ``user_x`` →
``x``, ``aws_x`` → ``aws:x``, other keys kept, empty values dropped, the first key wins when
two keys become one.
"""

from __future__ import annotations

import duckdb
import pytest

from costline.sources.aws.tags import _renamed, tags
from costline.sources.base import RawColumns
from costline.storage.duckdb import DuckDBWarehouse

CASES = [
    ("NULL", {}),
    ("MAP()", {}),
    ("MAP {'user_team': 'web', 'aws_created_by': 'me'}", {"team": "web", "aws:created_by": "me"}),
    ("MAP {'user_team': 'web', 'user_env': ''}", {"team": "web"}),  # empty value dropped
    ("MAP {'user_a': NULL, 'aws_b': 'x'}", {"aws:b": "x"}),
    ("MAP {'user_': '1', 'aws_': '2'}", {"": "1", "aws:": "2"}),
    # Keys AWS would not write: the general path decides, so the results are the same.
    ("MAP {'user_team': 'a', 'team': 'b'}", {"team": "a"}),  # first key wins
    ("MAP {'aws:y': '1', 'aws_y': '2'}", {"aws:y": "1"}),
    ("MAP {'user_aws:y': '1', 'aws_y': '2'}", {"aws:y": "1"}),
    ("MAP {'': 'e'}", {"": "e"}),
    ("MAP {' user_x ': '1'}", {"x": "1"}),  # trimmed, then renamed
    ("MAP {'user_a\nfoo': '1', 'foo': '2'}", {"a\nfoo": "1", "foo": "2"}),
    ("MAP {'USER_x': '1'}", {"USER_x": "1"}),
]


def _tags_of(expr: str, literal: str) -> object:
    wh = DuckDBWarehouse(None)
    sql = f'SELECT {expr} FROM (SELECT CAST({literal} AS MAP(VARCHAR, VARCHAR)) AS "resource_tags")'
    row = wh.con.execute(sql).fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_cur2_map_tags(raw: str, expected: dict[str, str]) -> None:
    field = tags(RawColumns.of({"resource_tags": "MAP(VARCHAR, VARCHAR)"}, "parquet"))
    assert _tags_of(field.expr, raw) == expected
    general = _renamed('costline_tags_from_map("resource_tags")')
    assert _tags_of(general, raw) == expected


def test_keys_equal_after_trimming_fail_both_ways() -> None:
    field = tags(RawColumns.of({"resource_tags": "MAP(VARCHAR, VARCHAR)"}, "parquet"))
    raw = "MAP {'user_a ': '1', 'user_a': '2'}"
    with pytest.raises(duckdb.InvalidInputException):
        _tags_of(field.expr, raw)
    with pytest.raises(duckdb.InvalidInputException):
        _tags_of(_renamed('costline_tags_from_map("resource_tags")'), raw)


LEGACY = ["resourceTags/user:Team", "resourceTags/aws:createdBy", "resourceTags/user:env"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (("web", "me", "prod"), {"Team": "web", "aws:createdBy": "me", "env": "prod"}),
        ((" web ", "me", "prod"), {"Team": "web", "aws:createdBy": "me", "env": "prod"}),
        ((None, "", "  "), {}),  # untagged: blank cells are no tag
        (("web", None, "prod"), {"Team": "web", "env": "prod"}),
        ((None, "me", None), {"aws:createdBy": "me"}),
    ],
)
def test_legacy_tag_columns(values: tuple[str | None, ...], expected: dict[str, str]) -> None:
    field = tags(RawColumns.of(dict.fromkeys(LEGACY, "VARCHAR")))
    wh = DuckDBWarehouse(None)
    names = ", ".join(f'? AS "{n}"' for n in LEGACY)
    sql = f"SELECT {field.expr}, CAST({field.expr} AS VARCHAR) FROM (SELECT {names})"
    got, text = wh.con.execute(sql, list(values)).fetchone()  # type: ignore[misc]
    assert got == expected
    # Keys keep the column order and their case.
    assert (
        text
        == "{"
        + ", ".join(f"{k}={v}" for k, v in expected.items()).replace(
            "aws:createdBy", "'aws:createdBy'"
        )
        + "}"
    )


def test_legacy_keys_that_differ_only_in_case_keep_the_general_path() -> None:
    # user:team -> "team", Team -> "Team": one struct could not hold both.
    cols = RawColumns.of({"resourceTags/user:team": "VARCHAR", "resourceTags/Team": "VARCHAR"})
    field = tags(cols)
    assert "CAST({" not in field.expr
    wh = DuckDBWarehouse(None)
    row = wh.con.execute(
        f"SELECT {field.expr} FROM (SELECT 'a' AS \"resourceTags/user:team\", "
        f"'b' AS \"resourceTags/Team\")"
    ).fetchone()
    assert row == ({"team": "a", "Team": "b"},)

"""Files a user hands to a loader (metrics, Kubernetes samples, GPU jobs, usage): the DuckDB
reader for them, and the two checks every loader starts with, with errors naming the file.

Stdlib only: the connection is whatever DuckDB connection the caller holds.

Example:
    >>> from pathlib import Path
    >>> reader_sql(Path("m.parquet")), reader_sql(Path("it's.csv"))
    ("read_parquet('m.parquet')", "read_csv('it''s.csv', all_varchar = true, header = true)")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from costline.core.errors import BadInputError, Location


def reader_sql(path: Path, *, csv_extra: str = "") -> str:
    """``read_parquet(...)`` for a ``.parquet`` file, else ``read_csv(...)`` with every column
    read as text (the loader parses and reports bad values itself)."""
    quoted = "'" + str(path).replace("'", "''") + "'"
    if path.name.lower().endswith(".parquet"):
        return f"read_parquet({quoted})"
    return f"read_csv({quoted}, all_varchar = true, header = true{csv_extra})"


def need_file(path: Path) -> None:
    if not path.is_file():
        raise BadInputError(
            "file not found", location=Location(str(path)), reason="missing", hint="check the path"
        )


def read_header(con: Any, path: Path, source: str, hint: str, *, what: str = "file") -> list[str]:
    """The column names of ``source`` (a reader over ``path``); a file DuckDB cannot read is a
    ``BadInputError`` naming it, DuckDB's first line and ``hint``."""
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except Exception as exc:
        if not type(exc).__module__.lstrip("_").startswith("duckdb"):
            raise
        raise BadInputError(
            f"cannot read {what}: {str(exc).splitlines()[0]}",
            location=Location(str(path)),
            reason="unreadable",
            hint=hint,
        ) from exc
    return [str(c[0]) for c in described]


def header_columns(
    con: Any,
    path: Path,
    required: tuple[str, ...],
    hint: str,
    *,
    what: str = "file",
    source: str | None = None,
) -> dict[str, str]:
    """The file's columns by folded name (``" Team "`` → ``team``) → name as written; a file
    DuckDB cannot read, or one without every ``required`` column, is a ``BadInputError``
    naming the file (and the first missing column) with ``hint``."""
    header = read_header(con, path, source or reader_sql(path), hint, what=what)
    raw = {c.strip().lower(): c for c in header}
    missing = [c for c in required if c not in raw]
    if missing:
        raise BadInputError(
            f"{what} lacks column(s) {', '.join(missing)}",
            location=Location(str(path), column=missing[0]),
            reason="missing-column",
            hint=hint,
        )
    return raw


# (column, SQL true for a bad row, SQL of the value to show, fix) — the fix may be computed
# from the value shown and the row's ``context`` column.
RowCheck = tuple[str, str, str, "str | Callable[[str | None, Any], str]"]


def reject_bad_rows(
    con: Any, path: Path, table: str, checks: Iterable[RowCheck], *, context: str = "NULL"
) -> None:
    """The first row of ``table`` (numbered ``_row``) a check finds is a ``BadInputError``
    naming the file, row, column and value, with the check's fix; checks run in order."""
    for column, test, shown, fix in checks:
        bad = con.execute(
            f"SELECT _row, {shown}, {context} FROM {table} WHERE {test} ORDER BY _row LIMIT 1"
        ).fetchone()
        if bad:
            value = None if bad[1] is None else str(bad[1])
            raise BadInputError(
                f"{column} {value!r} is not valid" if value else f"{column} is empty",
                location=Location(str(path), row=int(bad[0]), column=column, value=value),
                reason="unparsable",
                hint=fix(value, bad[2]) if callable(fix) else fix,
            )

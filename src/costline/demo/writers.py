"""Deterministic file writers: Parquet (through DuckDB), CSV and NDJSON.

Parquet is written with DuckDB's ``COPY ... (FORMAT parquet)`` on one thread, from a
temporary NDJSON file whose values are all text (maps as JSON objects): DuckDB parses each
decimal string to the nearest DOUBLE, so a money value written with 8 decimals reads back as
exactly that decimal once cast to ``DECIMAL(38, 10)``. Same rows in, same bytes out.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> write_csv([{"a": 1, "b": None}], ["a", "b"], p).read_text()
    'a,b\\n1,\\n'
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb


def text(value: object) -> Any:
    """A value as the text the writers emit (dicts stay dicts, None stays None)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [text(v) for v in value]
    return str(value)


def _atomic(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(path.name + ".part")


def write_parquet(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[tuple[str, str]], path: Path
) -> Path:
    """Write ``rows`` with exactly ``columns`` (name, DuckDB type) as a Parquet file."""
    tmp = _atomic(path)
    with tempfile.TemporaryDirectory(prefix="costline-demo-") as work:
        src = Path(work) / "rows.ndjson"
        with src.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps({n: text(row.get(n)) for n, _ in columns}) + "\n")
        spec = ", ".join(f"'{n}': '{t if t.startswith('MAP') else 'VARCHAR'}'" for n, t in columns)
        select = ", ".join(f'CAST("{n}" AS {t}) AS "{n}"' for n, t in columns)
        src_sql, tmp_sql = (str(p).replace("'", "''") for p in (src, tmp))
        con = duckdb.connect()
        try:
            con.execute("SET threads = 1")
            con.execute(
                f"COPY (SELECT {select} FROM read_json('{src_sql}', format = 'newline_delimited', "
                f"columns = {{{spec}}})) TO '{tmp_sql}' (FORMAT parquet, COMPRESSION snappy)"
            )
        finally:
            con.close()
    tmp.replace(path)
    return path


def write_csv(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    path: Path,
    *,
    bom: bool = False,
    crlf: bool = False,
) -> Path:
    """Write ``rows`` as CSV with a header (minimal quoting, like the clouds' exports)."""
    tmp = _atomic(path)
    with tmp.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n" if crlf else "\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else text(row.get(c)) for c in columns])
    tmp.replace(path)
    return path


def write_ndjson(rows: Iterable[Mapping[str, Any]], path: Path) -> Path:
    """Write one JSON object per line, keys in the order given."""
    tmp = _atomic(path)
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(text(dict(row))) + "\n")
    tmp.replace(path)
    return path

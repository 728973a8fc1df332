"""Work on a DuckDB cursor in a background thread while the caller goes on.

DuckDB releases the GIL while a statement runs, so a long scan on one cursor and Python
work (or other statements) on the caller's thread overlap.

Example:
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> with on_cursor(con, lambda cur: cur.execute("SELECT 41 + 1").fetchone()[0]) as answer:
    ...     answer.result()
    42
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import duckdb

T = TypeVar("T")


@contextmanager
def on_cursor(
    con: duckdb.DuckDBPyConnection,
    work: Callable[..., T],
    *args: Any,
    **kwargs: Any,
) -> Iterator[Future[T]]:
    """Run ``work(cursor, *args, **kwargs)`` on a thread with its own cursor of ``con`` (the
    same database, the same committed data; UTC like every costline connection). On the way
    out the work is interrupted if the caller failed, waited for, and the cursor closed."""
    cursor = con.cursor()
    cursor.execute("SET TimeZone = 'UTC'")
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="costline-bg") as pool:
            future = pool.submit(work, cursor, *args, **kwargs)
            try:
                yield future
            except BaseException:
                cursor.interrupt()
                raise
    finally:
        cursor.close()

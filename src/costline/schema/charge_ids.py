"""The cost table's stable charge ids: ``x_ChargeId``, given to every row as it lands.

Allocation names a charge by it (``costline explain --charge``) and records the highest id a
run saw, so rows ingested later show as not yet allocated. Ids are never reused: the next free
id lives in ``_charge_id_state`` and only grows.

The ids are written by one UPDATE once the rows are committed (``rowid`` − the first new
rowid + the next free id). Measured on a 5M-row CUR 2.0 ingest: a column default drawing from
a sequence, or a ``row_number()`` in the INSERT, doubled the insert (DuckDB ran it on one
thread); the same UPDATE inside the load's transaction made the commit 6 s slower; after the
commit it costs about 0.3 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

STATE_DDL = "CREATE TABLE IF NOT EXISTS _charge_id_state (next_charge_id BIGINT NOT NULL)"


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_name = ?",
        [table],
    ).fetchone()
    return bool(row and row[0])


def ensure_charge_ids(con: duckdb.DuckDBPyConnection) -> None:
    """The ``x_ChargeId`` column and the id counter; a store of an earlier release keeps its
    ids (the counter starts above all of them) and gets ids for its rows without one."""
    con.execute("ALTER TABLE cost ADD COLUMN IF NOT EXISTS x_ChargeId BIGINT")
    if _exists(con, "_charge_id_state"):
        return
    default = con.execute(
        "SELECT column_default FROM information_schema.columns WHERE table_schema = 'main' "
        "AND table_name = 'cost' AND column_name = 'x_ChargeId'"
    ).fetchone()
    if default and default[0]:  # a development build drew ids from a sequence
        con.execute("ALTER TABLE cost ALTER COLUMN x_ChargeId DROP DEFAULT")
    top = con.execute("SELECT max(x_ChargeId) + 1 FROM cost").fetchone()
    start = max(1, int((top or [0])[0] or 0))
    if _exists(con, "_allocation_state"):  # the id counter of earlier releases' allocation
        nxt = con.execute("SELECT max(next_charge_id) FROM _allocation_state").fetchone()
        start = max(start, int((nxt or [0])[0] or 0))
    con.execute(STATE_DDL)
    con.execute("INSERT INTO _charge_id_state VALUES (?)", [start])
    assign_charge_ids(con, "TRUE")


def assign_charge_ids(
    con: duckdb.DuckDBPyConnection, where: str, params: Sequence[Any] = ()
) -> int:
    """Give the rows of ``cost`` matching ``where`` that have no id the next free ids (in the
    caller's transaction, if any); returns how many rows got one."""
    row = con.execute(
        f"SELECT min(rowid), max(rowid), count(*) FROM cost WHERE x_ChargeId IS NULL AND ({where})",
        list(params),
    ).fetchone()
    if not row or not row[2]:
        return 0
    first, last, count = int(row[0]), int(row[1]), int(row[2])
    # above the counter and above every id held (a crash between the two UPDATEs below can
    # leave the counter behind; this keeps ids unique even then)
    state = con.execute(
        "SELECT greatest((SELECT max(next_charge_id) FROM _charge_id_state), "
        "(SELECT max(x_ChargeId) + 1 FROM cost), 1)"
    ).fetchone()
    nxt = int((state or [1])[0] or 1)
    con.execute(
        f"UPDATE cost SET x_ChargeId = rowid - {first} + {nxt} "
        f"WHERE x_ChargeId IS NULL AND ({where})",
        list(params),
    )
    con.execute("UPDATE _charge_id_state SET next_charge_id = ?", [nxt + last - first + 1])
    return count

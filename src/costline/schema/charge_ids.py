"""The cost table's stable charge ids: ``x_ChargeId``, given to every row as it lands.

Allocation names a charge by it (``costline explain --charge``) and records the highest id a
run saw, so rows ingested later show as not yet allocated.
"""

from __future__ import annotations

import duckdb

CHARGE_ID_SEQUENCE = "cost_charge_id"


def ensure_charge_ids(con: duckdb.DuckDBPyConnection) -> None:
    """Every cost row gets a stable ``x_ChargeId`` as it lands (ids are never reused).

    The column's default draws from a sequence; a store of an earlier release (ids given by
    the first allocation run, or none yet) gets the sequence started above every id it holds,
    and rows without an id get one now.
    """
    found = con.execute(
        "SELECT count(*) FROM duckdb_sequences() WHERE sequence_name = ? AND schema_name = 'main' "
        "AND database_name = current_database()",
        [CHARGE_ID_SEQUENCE],
    ).fetchone()
    if found and found[0]:
        return
    has_column = con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'main' "
        "AND table_name = 'cost' AND column_name = 'x_ChargeId'"
    ).fetchone()
    start = 1
    if has_column and has_column[0]:
        top = con.execute("SELECT max(x_ChargeId) + 1 FROM cost").fetchone()
        start = max(start, int((top or [0])[0] or 0))
    state = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_name = '_allocation_state'"
    ).fetchone()
    if state and state[0]:  # the id counter of earlier releases' allocation runs
        nxt = con.execute("SELECT max(next_charge_id) FROM _allocation_state").fetchone()
        start = max(start, int((nxt or [0])[0] or 0))
    con.execute(f"CREATE SEQUENCE {CHARGE_ID_SEQUENCE} START {start}")
    default = f"nextval('{CHARGE_ID_SEQUENCE}')"
    if has_column and has_column[0]:
        con.execute(f"ALTER TABLE cost ALTER COLUMN x_ChargeId SET DEFAULT {default}")
        con.execute(f"UPDATE cost SET x_ChargeId = {default} WHERE x_ChargeId IS NULL")
    else:  # fills the rows already there
        con.execute(f"ALTER TABLE cost ADD COLUMN x_ChargeId BIGINT DEFAULT {default}")

"""Stable charge ids: every cost row gets one, ids are unique and never reused."""

from __future__ import annotations

import duckdb

from costline.schema.charge_ids import assign_charge_ids, ensure_charge_ids
from costline.storage.duckdb import DuckDBWarehouse


def _insert(con: duckdb.DuckDBPyConnection, n: int, tag: str) -> None:
    con.execute(
        "INSERT INTO cost (x_Provider, BillingAccountId, x_IngestionId) "
        "SELECT 'aws', 'a', ? FROM range(?)",
        [tag, n],
    )


def _ids(con: duckdb.DuckDBPyConnection, tag: str) -> list[int]:
    return [
        r[0]
        for r in con.execute(
            "SELECT x_ChargeId FROM cost WHERE x_IngestionId = ? ORDER BY 1", [tag]
        ).fetchall()
    ]


def test_ids_are_unique_contiguous_per_load_and_never_reused() -> None:
    wh = DuckDBWarehouse(None)
    wh.ensure_schema()
    con = wh.con
    _insert(con, 5, "first")
    assert assign_charge_ids(con, "x_IngestionId = ?", ["first"]) == 5
    assert _ids(con, "first") == [1, 2, 3, 4, 5]
    assert assign_charge_ids(con, "TRUE") == 0  # rows with an id keep it
    con.execute("DELETE FROM cost WHERE x_ChargeId >= 4")  # a restatement replaced them
    _insert(con, 3, "second")
    assign_charge_ids(con, "TRUE")
    assert _ids(con, "second") == [6, 7, 8]  # above every id ever given, not max + 1
    assert _ids(con, "first") == [1, 2, 3]


def test_a_counter_left_behind_still_gives_unique_ids() -> None:
    wh = DuckDBWarehouse(None)
    wh.ensure_schema()
    con = wh.con
    _insert(con, 4, "a")
    assign_charge_ids(con, "TRUE")
    con.execute("UPDATE _charge_id_state SET next_charge_id = 2")  # as after a crash
    _insert(con, 2, "b")
    assign_charge_ids(con, "TRUE")
    assert _ids(con, "b") == [5, 6]


def test_a_store_of_an_earlier_release_keeps_its_ids_and_numbers_the_rest() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE cost (x_Provider VARCHAR, BillingAccountId VARCHAR, x_IngestionId VARCHAR, x_ChargeId BIGINT)"
    )
    con.execute(
        "INSERT INTO cost VALUES ('aws', 'a', 'old', 10), ('aws', 'a', 'old', 11), ('aws', 'a', 'new', NULL)"
    )
    con.execute("CREATE TABLE _allocation_state (next_charge_id BIGINT)")
    con.execute("INSERT INTO _allocation_state VALUES (50)")  # ids up to 49 were handed out once
    ensure_charge_ids(con)
    assert _ids(con, "old") == [10, 11]
    assert _ids(con, "new") == [50]

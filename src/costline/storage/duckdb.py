"""DuckDB warehouse: the default engine.

One database file holds the cost table and the ingest manifest, so a load and its manifest
entry commit in one transaction: readers never see a half-loaded partition, and a crash at any
point leaves the previous version (DuckDB rolls back uncommitted work on open).

Example:
    >>> wh = DuckDBWarehouse(None)  # in memory
    >>> wh.ensure_schema()
    >>> wh.query("select count(*) from cost").rows
    [(0,)]
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from costline.core.errors import DatabaseLockedError, QueryError, StorageError
from costline.core.time import utcnow
from costline.schema.charge_ids import assign_charge_ids, ensure_charge_ids
from costline.schema.focus import PARTITION_KEY, STORE_COLUMNS, store_ddl
from costline.storage.base import EngineAdapter, LoadPlan, LoadResult, PartitionKey, QueryResult

# SQL macros every connection gets. Tags are parsed once, at ingestion, into a MAP.
MACROS = (
    # A JSON object text → MAP(VARCHAR, VARCHAR): keys trimmed (first wins on a clash after
    # trimming), string values unquoted, other values kept as JSON text, JSON null → NULL.
    # NOTE: the text is parsed once and bound through a one-element list_transform; repeating
    # the argument made DuckDB parse the JSON again per key (about 6x slower on Azure tags).
    """CREATE OR REPLACE MACRO costline_tags(j) AS
    CASE WHEN j IS NULL THEN CAST(MAP() AS MAP(VARCHAR, VARCHAR)) ELSE
    list_transform([CAST(CAST(j AS JSON) AS MAP(VARCHAR, JSON))], lambda m:
        list_transform([list_transform(map_keys(m), lambda k: trim(k))], lambda ks:
            map_from_entries(list_filter(
                list_transform(map_entries(m), lambda e: {'key': trim(e.key),
                    'value': CASE json_type(e.value) WHEN 'VARCHAR' THEN e.value->>'$'
                        WHEN 'NULL' THEN NULL ELSE CAST(e.value AS VARCHAR) END}),
                lambda e, i: list_position(ks, e.key) = i)))[1])[1]
    END""",
    # Parallel key/value lists (one raw column per tag) → MAP, dropping empty values.
    """CREATE OR REPLACE MACRO costline_tags_from_lists(ks, vs) AS
    map_from_entries(list_filter(
        list_transform(list_zip(ks, vs), lambda p: {'key': p[1], 'value': p[2]}),
        lambda e: e.value IS NOT NULL))""",
    # A MAP column (CUR 2.0 resource_tags) → MAP(VARCHAR, VARCHAR) without empty values.
    """CREATE OR REPLACE MACRO costline_tags_from_map(m) AS
    CASE WHEN m IS NULL THEN CAST(MAP() AS MAP(VARCHAR, VARCHAR)) ELSE
    map_from_entries(list_filter(
        list_transform(map_entries(m), lambda e: {'key': trim(CAST(e.key AS VARCHAR)),
                                                  'value': NULLIF(CAST(e.value AS VARCHAR), '')}),
        lambda e: e.value IS NOT NULL))
    END""",
    # Provider / invoice issuer name → the short cloud id used in the partition key.
    """CREATE OR REPLACE MACRO costline_provider(name) AS
    CASE
        WHEN name IS NULL THEN 'unknown'
        WHEN lower(name) IN ('aws', 'amazon') OR lower(name) LIKE 'amazon web services%'
            OR lower(name) LIKE 'aws %' THEN 'aws'
        WHEN lower(name) LIKE '%microsoft%' OR lower(name) LIKE '%azure%' THEN 'azure'
        WHEN lower(name) LIKE '%google%' OR lower(name) = 'gcp' THEN 'gcp'
        WHEN lower(name) LIKE '%oracle%' OR lower(name) = 'oci' THEN 'oci'
        ELSE lower(trim(name))
    END""",
    # MAP → FOCUS KeyValueFormat JSON text.
    """CREATE OR REPLACE MACRO costline_tags_json(m) AS
    CASE WHEN m IS NULL OR cardinality(m) = 0 THEN NULL ELSE CAST(to_json(m) AS VARCHAR) END""",
)

MANIFEST_DDL = (
    """CREATE TABLE IF NOT EXISTS _ingestions (
        ingestion_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP,
        source_kind VARCHAR, provider VARCHAR, files VARCHAR[], bytes BIGINT, rows BIGINT,
        replaced_rows BIGINT)""",
    """CREATE TABLE IF NOT EXISTS _ingested_files (
        sha256 VARCHAR PRIMARY KEY, file VARCHAR, ingestion_id VARCHAR, bytes BIGINT,
        ingested_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS _partitions (
        x_Provider VARCHAR, BillingAccountId VARCHAR, BillingPeriodStart TIMESTAMP,
        ingestion_id VARCHAR, rows BIGINT, billed_cost DECIMAL(38, 10), loaded_at TIMESTAMP,
        PRIMARY KEY (x_Provider, BillingAccountId, BillingPeriodStart))""",
    """CREATE TABLE IF NOT EXISTS _partition_history (
        x_Provider VARCHAR, BillingAccountId VARCHAR, BillingPeriodStart TIMESTAMP,
        ingestion_id VARCHAR, replaced_ingestion_id VARCHAR, rows BIGINT,
        billed_cost DECIMAL(38, 10), loaded_at TIMESTAMP)""",
)

_LOCK_PID = re.compile(r"PID (\d+)")


class DuckDBWarehouse(EngineAdapter):
    """The cost store in one DuckDB file (or in memory when ``path`` is None)."""

    NAME = "duckdb"
    SUPPORTS_TRANSACTIONS = True
    SUPPORTS_MAP_TYPE = True

    def __init__(
        self,
        path: Path | None,
        *,
        read_only: bool = False,
        memory_limit: str | None = None,
        threads: int | None = None,
        temp_directory: Path | None = None,
    ) -> None:
        self.path = path
        self.read_only = read_only
        config: dict[str, Any] = {}
        if memory_limit:
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        if temp_directory:
            config["temp_directory"] = str(temp_directory)
        try:
            self.con = duckdb.connect(
                str(path) if path else ":memory:", read_only=read_only, config=config
            )
        except duckdb.IOException as exc:
            raise _locked_or_io(path, exc) from exc
        self.con.execute("SET TimeZone = 'UTC'")
        # query_progress() (polled while a load runs) only reports with the bar enabled.
        self.con.execute("SET enable_progress_bar = true")
        self.con.execute("SET enable_progress_bar_print = false")
        for macro in MACROS:
            if not read_only:
                self.con.execute(macro)
        if read_only:
            # Macros are per-catalog; a read-only file cannot take them, use a temp schema.
            for macro in MACROS:
                self.con.execute(
                    macro.replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO")
                )

    @classmethod
    def cursor_of(cls, owner: DuckDBWarehouse) -> DuckDBWarehouse:
        """Another connection to ``owner``'s open database, for one thread (``costline serve``:
        one process holds the file and every request or job gets its own cursor; DuckDB runs
        their transactions concurrently). Closing it leaves ``owner`` open."""
        wh = cls.__new__(cls)
        wh.path, wh.read_only = owner.path, owner.read_only
        wh.con = owner.con.cursor()
        wh.con.execute("SET TimeZone = 'UTC'")
        return wh

    # -- schema -----------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        if self.read_only:
            return
        self.con.execute(store_ddl("cost"))
        ensure_charge_ids(self.con)
        for ddl in MANIFEST_DDL:
            self.con.execute(ddl)

    def describe(self, relation_sql: str) -> dict[str, str]:
        rows = self.con.execute(f"DESCRIBE SELECT * FROM {relation_sql}").fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    # -- reads ------------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> QueryResult:
        try:
            cur = self.con.execute(sql, list(params))
        except duckdb.Error as exc:
            raise QueryError(
                f"query failed: {_first_line(exc)}",
                hint="check the SQL; the cost table is `cost` (FOCUS 1.3 columns), "
                "see docs/reference/schema.md",
            ) from exc
        columns = [d[0] for d in (cur.description or [])]
        return QueryResult(columns, cur.fetchall())

    def known_sha256(self, sha256: str) -> str | None:
        row = self.con.execute(
            "SELECT ingestion_id FROM _ingested_files WHERE sha256 = ?", [sha256]
        ).fetchone()
        return None if row is None else str(row[0])

    # -- the one write path -----------------------------------------------------------------
    def load(
        self, plan: LoadPlan, *, on_progress: Callable[[float], None] | None = None
    ) -> LoadResult:
        with _ProgressPoller(self.con, on_progress):
            return self._load(plan)

    def _load(self, plan: LoadPlan) -> LoadResult:
        started = time.perf_counter()
        started_at = utcnow()
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            cols = ", ".join(f'"{c.name}"' for c in STORE_COLUMNS)
            con.execute(f"INSERT INTO cost ({cols}) {plan.select_sql}")
            if plan.validate is not None:
                plan.validate(con)
            partitions = con.execute(
                """SELECT x_Provider, BillingAccountId, BillingPeriodStart, count(*), sum(BilledCost)
                   FROM cost WHERE x_IngestionId = ? GROUP BY ALL ORDER BY ALL""",
                [plan.ingestion_id],
            ).fetchall()
            rows = sum(int(p[3]) for p in partitions)
            replaced = self._replace_partitions(plan, partitions, started_at)
            self._record(plan, started_at, rows, replaced)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        # Ids after the commit: an UPDATE of rows still in the transaction made the commit
        # about 6 s slower per 5M rows; on committed rows it takes 0.3 s. A crash in between
        # leaves rows without ids, which the next load or allocation run gives them.
        con.execute("BEGIN TRANSACTION")  # ids and the id counter move together
        try:
            assign_charge_ids(con, "TRUE")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        keys = [PartitionKey(str(p[0]), str(p[1]), p[2]) for p in partitions]
        return LoadResult(plan.ingestion_id, rows, keys, replaced, time.perf_counter() - started)

    def _replace_partitions(
        self, plan: LoadPlan, partitions: list[tuple[Any, ...]], now: Any
    ) -> int:
        """Delete older rows of the partitions this load covers; update ownership and history."""
        con = self.con
        con.execute("CREATE OR REPLACE TEMP TABLE _new_parts (p VARCHAR, a VARCHAR, s TIMESTAMP)")
        if partitions:
            con.executemany(
                "INSERT INTO _new_parts VALUES (?, ?, ?)", [list(p[:3]) for p in partitions]
            )
        key = " AND ".join(
            f"c.{k} IS NOT DISTINCT FROM n.{v}"
            for k, v in zip(PARTITION_KEY, ("p", "a", "s"), strict=True)
        )
        where = f"c.x_IngestionId <> ? AND EXISTS (SELECT 1 FROM _new_parts n WHERE {key})"
        params: list[Any] = [plan.ingestion_id]
        if plan.replace_scope == "file":
            names = [Path(f).name for f in plan.files]
            where += " AND regexp_extract(c.x_SourceFile, '[^/]+$') IN (SELECT unnest(?))"
            params.append(names)
        found = con.execute(f"SELECT count(*) FROM cost c WHERE {where}", params).fetchone()
        replaced = int(found[0]) if found else 0
        if replaced:
            con.execute(f"DELETE FROM cost c WHERE {where}", params)
        totals = con.execute(
            f"""SELECT c.x_Provider, c.BillingAccountId, c.BillingPeriodStart, count(*),
                       sum(c.BilledCost)
                FROM cost c WHERE EXISTS (SELECT 1 FROM _new_parts n WHERE {key}) GROUP BY ALL"""
        ).fetchall()
        for prov, acct, start, n, billed in totals:
            old = con.execute(
                "SELECT ingestion_id FROM _partitions WHERE x_Provider = ? AND "
                "BillingAccountId = ? AND BillingPeriodStart = ?",
                [prov, acct, start],
            ).fetchone()
            row = [prov, acct, start, plan.ingestion_id]
            con.execute(
                "INSERT INTO _partition_history VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [*row, old[0] if old else None, n, billed, now],
            )
            con.execute(
                "INSERT OR REPLACE INTO _partitions VALUES (?, ?, ?, ?, ?, ?, ?)",
                [*row, n, billed, now],
            )
        return replaced

    def _record(self, plan: LoadPlan, started_at: Any, rows: int, replaced: int) -> None:
        self.con.execute(
            "INSERT INTO _ingestions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                plan.ingestion_id,
                started_at,
                utcnow(),
                plan.source_kind,
                plan.provider,
                list(plan.files),
                plan.bytes,
                rows,
                replaced,
            ],
        )
        for file, sha in zip(plan.files, plan.sha256, strict=True):
            self.con.execute(
                "INSERT OR REPLACE INTO _ingested_files VALUES (?, ?, ?, ?, ?)",
                [
                    sha,
                    file,
                    plan.ingestion_id,
                    Path(file).stat().st_size if Path(file).exists() else None,
                    utcnow(),
                ],
            )

    def close(self) -> None:
        self.con.close()


class _ProgressPoller:
    """Polls DuckDB's ``query_progress()`` from a thread while a statement runs."""

    def __init__(self, con: Any, callback: Callable[[float], None] | None) -> None:
        self.con = con
        self.callback = callback
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _ProgressPoller:
        if self.callback is not None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            try:
                pct = float(self.con.query_progress())
            except duckdb.Error:
                continue
            if pct >= 0 and self.callback is not None:
                self.callback(pct)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _locked_or_io(path: Path | None, exc: BaseException) -> StorageError:
    msg = str(exc)
    if "lock" in msg.lower():
        pid = _LOCK_PID.search(msg)
        who = f"process {pid.group(1)}" if pid else "another process"
        return DatabaseLockedError(
            f"the warehouse {path} is in use by {who}",
            hint="wait for that command to finish, or stop `costline serve` (it owns the file "
            "while it runs) and run this command again",
        )
    return StorageError(f"cannot open the warehouse {path}: {_first_line(exc)}")

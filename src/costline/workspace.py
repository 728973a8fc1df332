"""The façade every front end calls: one ``Workspace`` wires config, storage and the stages.

A workspace is a folder with a ``costline.yaml``; commands find it by walking up from the
current directory, or take it from ``--workspace`` / ``COSTLINE_WORKSPACE``.

Example:
    >>> import tempfile, pathlib
    >>> ws = Workspace.init(pathlib.Path(tempfile.mkdtemp()) / "acme")
    >>> ws.config.name
    'acme'
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from costline.config import CONFIG_FILE, CostlineConfig, load_config
from costline.core.errors import ConfigError, WorkspaceError
from costline.core.progress import NoProgress, Progress
from costline.storage.base import QueryResult
from costline.storage.duckdb import DuckDBWarehouse

if TYPE_CHECKING:
    from collections.abc import Mapping  # tickets (issue #5)
    from decimal import Decimal

    from costline import allocation
    from costline.anomaly.series import DetectReport
    from costline.config.allocation import OwnersRegistry
    from costline.config.rules_loader import LoadedRules
    from costline.ingest import IngestReport
    from costline.notify import Alert, DeliveryReport
    from costline.reports.savings_digest import Digest as SavingsDigest
    from costline.storage.state import (  # issue #6
        AlertOutbox,
        IngestHistory,
        RecommendationStore,
        StateStore,
    )

log = logging.getLogger(__name__)
ENV_WORKSPACE = "COSTLINE_WORKSPACE"
# NOTE: serializes the one-time move of a warehouse's workflow tables (serve's threads).
_MOVE_LOCK = threading.Lock()
STATE_MOVE = "state.move"  # the audit action that records the move (see workflow_state)


class _Missing(Exception):
    """A read-only pass found a table it needs not created yet (the caller creates it)."""


def _adoption_note(found: Any) -> str:
    """The ticket comment of an actioned recommendation: what the bill shows, and the
    realized savings against the estimate when a day after the action is billed."""
    note = f"{found.action}: {found.evidence}"
    realized = found.realized_monthly
    if realized is not None:
        note += (
            f"; realized {realized:,.2f}/month so far (estimated "
            f"{found.rec.estimated_monthly:,.2f})"
        )
    return note


def _allocation_published(con: Any) -> bool:
    """Whether any allocation run is published (team and cost-center dimensions need one)."""
    from costline import allocation

    allocation.ensure_tables(con)
    row = con.execute("SELECT count(*) FROM allocation_groups").fetchone()
    return bool(row and row[0])


@dataclass
class WatchCycle:
    """One ``costline watch`` cycle: the files that became ready, their ingest, the detection
    over the series they touched (None when nothing loaded), and the latency from the newest
    file's modification time (when it landed) to the end of alert delivery."""

    files: list[str]
    ingest: IngestReport
    detect: DetectReport | None
    latency_s: float


CONFIG_TEMPLATE = """\
# costline workspace configuration. Every key is documented in docs/reference/config.md.
version: 1
name: {name}

storage:
  engine: duckdb                 # the embedded default; Spark comes as an extra
  database: costline.duckdb      # relative to this folder
  memory_limit: 1536MB           # DuckDB spills larger work to temp files; RSS peaks ~250 MiB above
  # threads: 2                   # default: all cores

ingest:
  landing: copy                  # keep an immutable copy of every raw file under landing/

# Allocation: who owns what (owners.yaml) and how every dollar reaches them (rules/*.yaml).
# See docs/how-to/write-allocation-rules.md.
allocation:
  owners: owners.yaml
  rules: rules
  basis: EffectiveCost           # or BilledCost

# Where `costline ingest` (with no paths) looks for exports. Globs and folders work.
sources: []
#  - name: aws-cur
#    paths: ["exports/aws/**/*.parquet"]
#  - name: azure
#    paths: ["exports/azure/*.csv.gz"]

# Where anomaly alerts go; secrets come from environment variables.
# See docs/how-to/alert-channels.md, then try `costline channels test slack-payments`.
# alerts:
#   channels:
#     - id: slack-payments
#       type: slack
#       url_env: SLACK_PAYMENTS_URL
#   routes:
#     payments: [slack-payments]
#     default: [slack-payments]
"""


@dataclass
class Workspace:
    root: Path
    config: CostlineConfig
    # the database held open by :meth:`serving` (None: every call opens and closes the file)
    _owner: DuckDBWarehouse | None = field(default=None, repr=False, compare=False)
    _owner_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # -- finding and creating ---------------------------------------------------------------
    @classmethod
    def find(cls, explicit: Path | None = None, *, start: Path | None = None) -> Workspace:
        """The workspace named explicitly, by ``COSTLINE_WORKSPACE``, or above ``start``.

        Raises:
            WorkspaceError: none found (the hint says how to create one).
        """
        chosen = explicit or (
            Path(os.environ[ENV_WORKSPACE]) if os.environ.get(ENV_WORKSPACE) else None
        )
        if chosen is not None:
            if not (chosen / CONFIG_FILE).is_file():
                raise WorkspaceError(
                    f"{chosen} is not a costline workspace (no {CONFIG_FILE})",
                    hint=f"run `costline init {chosen}` first",
                )
            return cls.open(chosen)
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG_FILE).is_file():
                return cls.open(folder)
        raise WorkspaceError(
            f"no {CONFIG_FILE} in {here} or any parent folder",
            hint="run `costline init ./acme && cd acme`, or pass --workspace DIR",
        )

    @classmethod
    def locate(cls, explicit: Path | None = None) -> Workspace | None:
        """Like :meth:`find` but None when there is no workspace."""
        try:
            return cls.find(explicit)
        except WorkspaceError:
            return None

    @classmethod
    def open(cls, root: Path) -> Workspace:
        root = root.resolve()
        return cls(root, load_config(root / CONFIG_FILE))

    @classmethod
    def init(cls, root: Path, *, name: str | None = None) -> Workspace:
        """Create a workspace folder with a commented ``costline.yaml``."""
        root = root.resolve()
        cfg = root / CONFIG_FILE
        if cfg.exists():
            raise ConfigError(
                f"{cfg} already exists",
                path=cfg,
                hint="this folder is already a workspace; use it as it is",
            )
        root.mkdir(parents=True, exist_ok=True)
        # quoted: a folder named off, yes or 2026 is a name, not a YAML boolean or number
        cfg.write_text(CONFIG_TEMPLATE.format(name=json.dumps(name or root.name)))
        for sub in ("landing", "landing/quarantine", "reports", "rules"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        ws = cls.open(root)
        with ws.warehouse() as wh:
            wh.ensure_schema()
        return ws

    # -- paths ------------------------------------------------------------------------------
    @property
    def database_path(self) -> Path:
        return self.root / self.config.storage.database

    @property
    def landing_dir(self) -> Path:
        return self.root / "landing"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "landing" / "quarantine"

    @property
    def pricing_dir(self) -> Path:
        """Refreshed price files (``costline pricing refresh``); they override packaged prices."""
        return self.root / "pricing"

    def state(self) -> StateStore:
        """The state store (users, tokens, job runs, audit, alert and recommendation state;
        issue #6), migrated to the newest schema on first use and kept for this object. Its
        URL: COSTLINE_STATE_URL, else ``service.state_url`` (a relative SQLite path is relative
        to the workspace), else ``state.db`` in the workspace.

        Raises:
            MissingDependencyError: a PostgreSQL URL without the ``service`` extra (psycopg);
                SQLite needs nothing beyond the base install.
        """
        cached: StateStore | None = self.__dict__.get("_state_store")
        if cached is not None:
            return cached
        from costline.storage.state import open_state, resolve_url

        url = resolve_url(
            self.config.service.state_url, default=f"sqlite:///{self.root / 'state.db'}"
        )
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            url = url.set(database=str(self.root / url.database))  # an absolute path stays
        store = open_state(url, workspace=str(self.root))
        self.__dict__["_state_store"] = store
        return store

    def close(self) -> None:
        """Close the state store's connections, if this object opened it (it reopens on use)."""
        store: StateStore | None = self.__dict__.get("_state_store")
        if store is not None:
            store.close()

    @property
    def state_key(self) -> str:
        """What this workspace's workflow state (alert outbox, recommendations) is filed under
        in the state store: its ``name`` from costline.yaml, so it survives moving or
        restoring the folder. Workspaces that share one state database need distinct names."""
        return self.config.name

    def alert_outbox(self, con: Any | None = None) -> AlertOutbox:
        """This workspace's alert outbox in the state store (see :meth:`workflow_state`)."""
        return self.workflow_state(con).alert_outbox(self.state_key)

    def recommendation_store(self, con: Any | None = None) -> RecommendationStore:
        """This workspace's recommendations and adoption records in the state store (see
        :meth:`workflow_state`)."""
        return self.workflow_state(con).recommendations(self.state_key)

    def ingest_history(self) -> IngestHistory:
        """What every ingest run of this workspace did with each file, in the state store
        (``ingest_files``, filed under :attr:`state_key`; new in migration 0004, so there is
        nothing to move from the warehouse)."""
        return self.state().ingest_history(self.state_key)

    def workflow_state(self, con: Any | None = None) -> StateStore:
        """The state store, after moving this warehouse's workflow tables into it once (older
        releases kept the alert outbox, recommendations and adoptions in the warehouse; see
        :mod:`costline.storage.state.legacy`). The move is recorded in the audit log
        (``state.move``, target :attr:`state_key`); once it is there the warehouse is not
        opened for this, so e.g. ``costline tickets list`` works while ``costline serve``
        owns the warehouse. ``con``: a read-write warehouse connection outside a
        transaction, when the caller has one open (else one is opened here if needed)."""
        store = self.state()
        if self.__dict__.get("_workflow_moved"):
            return store
        with _MOVE_LOCK:
            if self.__dict__.get("_workflow_moved"):
                return store
            if not store.audit_entries(1, action=STATE_MOVE, target=self.state_key):
                if con is not None:
                    self._move_workflow(con, store)
                elif self._owner is not None or self.database_path.exists():
                    with self.warehouse() as wh:
                        self._move_workflow(wh.con, store)
                # else: no warehouse yet, so no old tables (a new one never has them)
            self.__dict__["_workflow_moved"] = True
        return store

    def _move_workflow(self, con: Any, store: StateStore) -> None:
        from costline.storage.state import legacy

        alerts = legacy.move_alert_outbox(con, store.alert_outbox(self.state_key))
        recs = legacy.move_recommendations(con, store.recommendations(self.state_key))
        detail = {"warehouse": str(self.database_path), "alert_outbox": alerts}
        store.audit(None, STATE_MOVE, self.state_key, {**detail, "recommendations": recs})

    def check_team_ids(self, teams: Iterable[str]) -> None:
        """Raise ConfigError naming the closest match for a team id that owners.yaml lacks
        (nothing is checked while there is no owners.yaml)."""
        if not self.owners_path.is_file():
            return
        import difflib

        known = sorted(self.owners().teams())
        for team in teams:
            if team not in known:
                close = difflib.get_close_matches(team, known, n=1)
                raise ConfigError(
                    f"no team {team!r} in {self.owners_path.name}",
                    hint=f"did you mean {close[0]!r}?"
                    if close
                    else f"teams: {', '.join(known) or 'none'}",
                )

    @property
    def marts_maintained(self) -> bool:
        """Whether this process refreshes the marts after every change of the data (inside
        :meth:`serving`): the dashboard may then answer from them while a refresh is pending
        (:func:`costline.reports.marts.usable_mart`)."""
        return self._owner is not None

    @contextmanager
    def serving(self) -> Iterator[Workspace]:
        """Hold the warehouse open for this process while the block runs (``costline serve``).

        Inside, every :meth:`warehouse` call, from any thread, gets its own cursor on the one
        open database instead of opening the file: requests read while jobs write, with no
        "database is locked" between them (one process owns the file, see ARCHITECTURE.md).
        Other processes cannot open the file meanwhile; they get DatabaseLockedError naming
        the fix.
        """
        storage = self.config.storage
        owner = DuckDBWarehouse(
            self.database_path,
            memory_limit=storage.memory_limit,
            threads=storage.threads,
            temp_directory=self.root / ".tmp",
        )
        owner.ensure_schema()
        with self._owner_lock:
            if self._owner is not None:
                owner.close()
                raise WorkspaceError(
                    f"{self.root} is already being served by this process",
                    hint="call serving() once per process",
                )
            self._owner = owner
        try:
            yield self
        finally:
            with self._owner_lock:
                self._owner = None
            owner.close()

    @contextmanager
    def warehouse(
        self, *, read_only: bool = False, close_behind: ExitStack | None = None
    ) -> Iterator[DuckDBWarehouse]:
        """The cost store, open for the ``with`` block (in ``costline serve``: a cursor of the
        server's connection). With ``close_behind`` the connection is closed on a thread when
        the block ends, and ``close_behind`` waits for that when it exits: the caller's work
        between the two overlaps the close (DuckDB frees its buffer pool without the GIL)."""
        owner = self._owner
        if owner is not None:
            with self._owner_lock:
                cursor = DuckDBWarehouse.cursor_of(owner)
            try:
                yield cursor
            finally:
                cursor.close()
            return
        storage = self.config.storage
        if read_only and not self.database_path.exists():
            read_only = False
        wh = DuckDBWarehouse(
            self.database_path,
            read_only=read_only,
            memory_limit=storage.memory_limit,
            threads=storage.threads,
            temp_directory=self.root / ".tmp",
        )
        try:
            if not read_only:
                wh.ensure_schema()
            yield wh
        finally:
            if close_behind is None:
                wh.close()
            else:
                closer = threading.Thread(target=wh.close, name="costline-close")
                closer.start()
                close_behind.callback(closer.join)

    def refresh_marts(self, *, full: bool = False) -> dict[str, Any]:
        """Bring the dashboard marts (``mart_daily``) up to date with the cost store and the
        published allocation, atomically: only the partitions changed since the last refresh,
        or all with ``full`` (:func:`costline.reports.marts.refresh_marts`)."""
        from costline.reports.marts import refresh_marts

        with self.warehouse() as wh:
            got = refresh_marts(wh.con, full=full)
        return {
            "rows": got.rows,
            "allocated": got.allocated,
            "seconds": round(got.seconds, 3),
            "mode": got.mode,
            "partitions": got.partitions,
        }

    # -- stages -----------------------------------------------------------------------------
    def ingest(
        self, inputs: Sequence[str | Path] = (), *, progress: Progress | None = None
    ) -> IngestReport:
        """Ingest files/dirs/globs (or, with none, every configured source with its kind)."""
        batches: list[tuple[list[str | Path], str | None]] = [(list(inputs), None)]
        if not inputs:
            batches = [
                ([p if Path(p).is_absolute() else str(self.root / p) for p in src.paths], src.kind)
                for src in self.config.sources
            ]
        if not any(paths for paths, _ in batches):
            raise WorkspaceError(
                "nothing to ingest",
                hint="pass files, folders or globs, or list them under `sources:` in costline.yaml",
            )
        from costline.ingest import Ingestor, IngestReport  # stages load what they use
        from costline.ingest.history import new_run_id

        landing = self.landing_dir if self.config.ingest.landing == "copy" else None
        report = IngestReport()
        run_id = new_run_id()
        try:
            with self.warehouse() as wh:
                ingestor = Ingestor(
                    wh,
                    landing_dir=landing,
                    quarantine_dir=self.quarantine_dir,
                    progress=progress or NoProgress(),
                )
                for paths, kind in batches:
                    done = ingestor.run(paths, kind=kind)
                    report.outcomes += done.outcomes
                    report.loads += done.loads
        finally:  # NOTE: also the batches done before a failure: their data is committed
            self._record_ingest(run_id, report)
        return report

    def _record_ingest(self, run_id: str, report: IngestReport) -> None:
        """File the run's outcomes in the ingest history (:meth:`ingest_history`). The data
        and its manifest are committed already, so a state store that cannot be written costs
        the history only: a warning, never a failed ingest."""
        if not report.outcomes:
            return
        from costline.ingest.history import history_rows

        opened_here = "_state_store" not in self.__dict__
        try:
            self.ingest_history().record_ingest_files(run_id, history_rows(report.outcomes))
        except Exception as exc:  # NOTE: any failure of the store, by design (see above)
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            log.warning(
                "ingest run %s: its %d file outcome(s) were not recorded in the state store's "
                "ingest history (%s: %s); the data itself was ingested. Fix: check "
                "service.state_url / COSTLINE_STATE_URL and that the state store is writable",
                run_id,
                len(report.outcomes),
                type(exc).__name__,
                first,
            )
        finally:
            if opened_here:  # opened for the history only: no connection left behind
                self.close()
                self.__dict__.pop("_state_store", None)

    def costs(self, by: Iterable[str], *, where: str | None = None) -> QueryResult:
        from costline.reports import costs as costs_report

        sql = costs_report.costs_sql(list(by), where=where)
        with self.warehouse(read_only=True) as wh:
            return wh.query(sql)

    def query(self, sql: str, params: Sequence[Any] = ()) -> QueryResult:
        with self.warehouse(read_only=True) as wh:
            return wh.query(sql, params)

    def export_focus(
        self, out: Path, *, fmt: str = "parquet", include_extensions: bool = True
    ) -> list[Path]:
        """Write the cost store as FOCUS 1.3 (with costline's ``x_`` columns unless told not to)."""
        from costline.reports import export as focus_export

        with self.warehouse(read_only=True) as wh:
            return focus_export.export_focus(
                wh.con, out, fmt=fmt, include_extensions=include_extensions
            )

    def ingestions(self) -> QueryResult:
        with self.warehouse(read_only=True) as wh:
            return wh.query(
                "SELECT ingestion_id, finished_at, source_kind, provider, rows, replaced_rows, "
                "bytes, files FROM _ingestions ORDER BY finished_at"
            )

    # -- exchange rates (issue #6) ------------------------------------------------------------
    @property
    def fx_rates_path(self) -> Path:
        """The workspace's rates file, read by ``costline fx load`` when given no file."""
        from costline.reports.fx import RATES_FILE

        return self.root / RATES_FILE

    def load_fx_rates(self, path: Path | None = None, *, ecb: Path | None = None) -> QueryResult:
        """Replace every exchange rate (``fx_rates``) with those of a rates file (default:
        :attr:`fx_rates_path`, unless only ``ecb`` is given) and of the ECB's
        eurofxref-hist.csv; every row is validated first, a bad one loads nothing. Returns
        the rates loaded per pair and file (:mod:`costline.reports.fx`)."""
        from costline.reports import fx

        files: list[tuple[Path, fx.RatesFormat]] = []
        if path is not None or ecb is None:
            files.append((path or self.fx_rates_path, "rates"))
        if ecb is not None:
            files.append((ecb, "ecb"))
        rates = [r for p, kind in files for r in fx.read_rates(p, fmt=kind)]
        with self.warehouse() as wh:
            fx.load_rates(wh.con, rates)
            return wh.query(fx.summary_sql())

    def fx_rates(self, *, currency: str | None = None) -> QueryResult:
        """The loaded exchange rates (only those from or to ``currency``), by pair and date."""
        from costline.reports import fx

        sql, params = fx.list_sql(currency=currency)
        with self.warehouse(read_only=True) as wh:
            if not fx.has_rates_table(wh.con):
                return QueryResult(list(fx.LIST_COLUMNS), [])
            return wh.query(sql, params)

    # -- allocation -------------------------------------------------------------------------
    @property
    def owners_path(self) -> Path:
        return self.root / self.config.allocation.owners

    @property
    def rules_path(self) -> Path:
        return self.root / self.config.allocation.rules

    def owners(self) -> OwnersRegistry:
        if not self.owners_path.is_file():
            raise WorkspaceError(
                f"no ownership registry at {self.owners_path}",
                hint="write owners.yaml (see docs/reference/rules.md#owners) or run `costline demo`",
            )
        from costline.config.rules_loader import load_owners

        return load_owners(self.owners_path)

    def rules(self, path: Path | None = None) -> LoadedRules:
        from costline.config.rules_loader import load_rules

        return load_rules(path or self.rules_path)

    def allocate(
        self, period: str, *, rules: Path | None = None, publish: bool = True
    ) -> allocation.AllocationReport:
        """Allocate one month (``YYYY-MM``); replaces that month's allocation atomically."""
        from costline import allocation

        owners, loaded = self.owners(), self.rules(rules)
        with self.warehouse() as wh:
            return allocation.allocate(
                wh.con,
                loaded,
                owners,
                allocation.parse_period(period),
                publish=publish,
                basis=self.config.allocation.basis,
            )

    def allocation_diff(self, period: str, rules: Path) -> QueryResult:
        """What-if: per cost center, published vs the draft rules (nothing is published)."""
        from costline import allocation

        owners, draft = self.owners(), self.rules(rules)
        with self.warehouse() as wh:
            rows = allocation.what_if(
                wh.con,
                draft,
                owners,
                allocation.parse_period(period),
                basis=self.config.allocation.basis,
            )
        cols = ["cost_center", "currency", "published", "draft", "change", "change_pct"]
        return QueryResult(cols, [tuple(r[c] for c in cols) for r in rows])

    def _allocated(self, sql: str, params: Sequence[Any] = ()) -> QueryResult:
        from costline import allocation

        with self.warehouse() as wh:
            allocation.ensure_tables(wh.con)
            return wh.query(sql, params)

    def unallocated_charges(self, period: str) -> int:
        """Charges of the month without an allocation (ingested after the last run, or never run)."""
        from costline import allocation

        where = allocation.plan.period_filter(allocation.parse_period(period))
        # Rows a run grouped have ids up to its high-water mark (cost rows never change).
        result = self._allocated(
            f"SELECT count(*) FROM cost c WHERE {where} AND (c.x_ChargeId IS NULL OR "
            "c.x_ChargeId > COALESCE((SELECT max(r.max_charge_id) FROM _allocation_runs r "
            f"WHERE r.run_id IN (SELECT x_AllocationRunId FROM allocation_groups WHERE {where})), "
            "-1))"
        )
        return int(result.rows[0][0])

    def chargeback(self, period: str, *, basis: str | None = None) -> QueryResult:
        from costline import allocation
        from costline.reports import allocation as alloc_report

        month = allocation.parse_period(period).isoformat()
        return self._allocated(
            alloc_report.chargeback_sql(month, basis=basis or self.config.allocation.basis)
        )

    def showback(
        self, team: str, *, months: int = 6, end: str | None = None, basis: str | None = None
    ) -> QueryResult:
        from costline import allocation
        from costline.reports import allocation as alloc_report

        last = allocation.parse_period(end).isoformat() if end else None
        sql = alloc_report.showback_sql(
            months=months, end=last, basis=basis or self.config.allocation.basis
        )
        return self._allocated(sql, [team])

    def explain_cost_center(
        self, cost_center: str, period: str, *, basis: str | None = None
    ) -> QueryResult:
        from costline import allocation
        from costline.reports import allocation as alloc_report

        month = allocation.parse_period(period).isoformat()
        sql = alloc_report.explain_cost_center_sql(
            month, basis=basis or self.config.allocation.basis
        )
        return self._allocated(sql, [cost_center])

    def explain_charge(self, charge_id: int, *, basis: str | None = None) -> QueryResult:
        from costline.reports import allocation as alloc_report

        sql = alloc_report.explain_charge_sql(basis=basis or self.config.allocation.basis)
        return self._allocated(sql, [charge_id])

    def allocation_runs(self) -> QueryResult:
        return self._allocated(
            "SELECT run_id, strftime(period, '%Y-%m') AS period, rules_version, started_at, "
            "finished_at, rows_in, rows_out FROM _allocation_runs ORDER BY started_at"
        )

    def load_metrics(self, path: Path, *, metric: str | None = None) -> int:
        """Load a business/usage metric CSV (date, team, value[, metric]) for metric pools."""
        from costline import allocation

        with self.warehouse() as wh:
            allocation.ensure_tables(wh.con)
            return allocation.load_metrics(wh.con, path, metric=metric)

    # -- idle and waste (issue #5) ------------------------------------------------------------
    def load_inventory(self, path: Path) -> int:
        """Replace the resource inventory (volumes, snapshots, ... and their state)."""
        from costline.optimize import waste

        with self.warehouse() as wh:
            return waste.load_inventory(wh.con, path)

    def waste(
        self, *, lookback_days: int = 30, as_of: dt.date | None = None, rules: Sequence[str] = ()
    ) -> QueryResult:
        """Idle and waste findings, largest monthly saving first (``optimize/waste.py``)."""
        from costline.optimize import waste

        with self.warehouse() as wh:
            found = waste.find_waste(
                wh.con,
                lookback_days=lookback_days,
                as_of=as_of,
                rules=tuple(rules) or waste.RULES,
                pricing_dir=self.pricing_dir,
            )
        cols = [
            "rule",
            "resource_id",
            "provider",
            "account",
            "service",
            "region",
            "monthly_cost",
            "monthly_savings",
            "confidence",
            "evidence",
        ]
        return QueryResult(cols, [tuple(getattr(f, c) for c in cols) for f in found])

    def recommend_k8s_requests(self, *, lookback_days: int = 14) -> QueryResult:
        """Kubernetes request rightsizing (``optimize/k8s_requests.py``), largest saving first."""
        from costline import allocation
        from costline.optimize import k8s_requests

        with self.warehouse() as wh:
            allocation.ensure_tables(wh.con)  # the k8s_samples and k8s_nodes tables
            found = k8s_requests.recommend_requests(wh.con, lookback_days=lookback_days)
        return QueryResult(list(k8s_requests.COLUMNS), [r.row() for r in found])

    # -- alert channels ---------------------------------------------------------------------
    def channels(self) -> QueryResult:
        """``alerts.channels``: id, type, where it sends (host or env var), teams routed to it."""
        from costline.notify.channels import describe_target

        routes = self.config.alerts.routes
        rows = [
            (
                c.id,
                c.type,
                describe_target(c),
                ", ".join(team for team, ids in routes.items() if c.id in ids),
            )
            for c in self.config.alerts.channels
        ]
        return QueryResult(["channel", "type", "target", "routes"], rows)

    def test_channel(self, channel_id: str, *, team: str | None = None) -> str:
        """Send a test alert through one channel once; returns what the channel answered.

        Raises:
            WorkspaceError: no such channel or team (the hint names the closest one).
            DeliveryError: the channel failed (host, HTTP status and body, or SMTP reply).
        """
        import difflib

        from costline.notify import channels, message

        channel = self.config.alerts.channel(channel_id)
        if channel is None:
            known = [c.id for c in self.config.alerts.channels]
            close = difflib.get_close_matches(channel_id, known, n=1)
            raise WorkspaceError(
                f"no channel {channel_id!r} under alerts.channels in costline.yaml",
                hint=f"did you mean {close[0]!r}?"
                if close
                else f"channels: {', '.join(known) or 'none (see docs/how-to/alert-channels.md)'}",
            )
        contacts = None
        if team is not None:
            teams = self.owners().teams()
            if team not in teams:
                raise WorkspaceError(
                    f"no team {team!r} in {self.owners_path}",
                    hint="pass a team id from owners.yaml",
                )
            contacts = teams[team].team.contacts
        alert = message.test_alert(channel_id, team=team, link=self.config.alerts.link)
        return channels.send(
            channel, alert, contacts=contacts, timeout=self.config.alerts.retry.timeout_seconds
        )

    def deliver_alerts(
        self, alerts: Iterable[Alert], *, sleep: Callable[[float], None] | None = None
    ) -> DeliveryReport:
        """Send alerts (:class:`costline.notify.Alert`) to their teams' channels, with retries;
        revisions left undelivered by earlier runs go too. Returns a ``DeliveryReport``."""
        import time

        from costline.notify import deliver, router

        contacts = (
            {tid: info.team.contacts for tid, info in self.owners().teams().items()}
            if self.owners_path.is_file()
            else {}
        )
        return deliver(
            alerts,
            router(self.config.alerts, contacts),
            self.alert_outbox(),
            retry=self.config.alerts.retry,
            sleep=sleep or time.sleep,
        )

    def alert_deliveries(self) -> QueryResult:
        """Every alert revision × channel with its delivery status, newest first (the outbox
        in the state store)."""
        return self.alert_outbox().deliveries()

    # -- Kubernetes inputs ------------------------------------------------------------------
    def load_kubernetes(self, kind: str, path: Path) -> int:
        """Load Kubernetes inputs: ``nodes``, ``samples``, ``opencost`` or ``aws-split``."""
        from costline import allocation
        from costline.allocation import k8s_aws, k8s_inputs

        loaders = {
            "nodes": k8s_inputs.load_nodes,
            "samples": k8s_inputs.load_samples,
            "opencost": k8s_inputs.load_opencost,
            "aws-split": k8s_aws.load_aws_split,
        }
        if kind not in loaders:
            raise WorkspaceError(
                f"unknown Kubernetes input {kind!r}", hint=f"use one of {', '.join(loaders)}"
            )
        with self.warehouse() as wh:
            allocation.ensure_tables(wh.con)
            return loaders[kind](wh.con, path)

    def compare_aws_split(self, pool_id: str, period: str) -> QueryResult:
        """costline's Kubernetes split vs AWS split cost allocation, per namespace and pod."""
        from costline import allocation
        from costline.allocation import k8s_aws

        loaded = self.rules()
        pool = next((p for p in loaded.rules.pools if p.id == pool_id), None)
        if pool is None or pool.method != "kubernetes":
            known = [p.id for p in loaded.rules.pools if p.method == "kubernetes"]
            raise WorkspaceError(
                f"no kubernetes pool {pool_id!r} in the rules",
                hint=f"kubernetes pools: {', '.join(known) or 'none'}",
            )
        with self.warehouse() as wh:
            allocation.ensure_tables(wh.con)
            rows = k8s_aws.compare_aws_split(
                wh.con, pool, allocation.parse_period(period), rules=loaded.rules
            )
        cols = list(rows[0]) if rows else ["namespace", "pod"]
        return QueryResult(cols, [tuple(r[c] for c in cols) for r in rows])

    # -- GPU jobs ---------------------------------------------------------------------------
    def load_gpu_jobs(self, path: Path) -> int:
        """Load a GPU jobs file (CSV/Parquet) for gpu pools."""
        from costline import allocation
        from costline.allocation import gpu

        with self.warehouse() as wh:
            allocation.ensure_tables(wh.con)
            return gpu.load_jobs(wh.con, path)

    def load_gpu_jobs_from_k8s(
        self,
        *,
        cluster: str | None = None,
        job_label: str = "job",
        model_label: str = "model",
        team_label: str = "team",
    ) -> int:
        """Derive GPU jobs from the loaded Kubernetes samples (pods with GPUs and labels)."""
        from costline import allocation
        from costline.allocation import gpu_k8s

        with self.warehouse() as wh:
            allocation.ensure_tables(wh.con)
            return gpu_k8s.load_jobs_from_k8s(
                wh.con,
                cluster=cluster,
                job_label=job_label,
                model_label=model_label,
                team_label=team_label,
            )

    def gpu_report(
        self,
        period: str,
        *,
        by: str = "team",
        pool_id: str | None = None,
        basis: str | None = None,
        tokens_metric: str = "tokens",
    ) -> QueryResult:
        """GPU-hours and cost per job, model or team; interruptions; cost per 1M tokens."""
        from costline import allocation
        from costline.allocation import gpu, gpu_report

        pools = gpu.gpu_pools(self.rules().rules)
        pool = next((p for p in pools if pool_id in (None, p.id)), None)
        if pool is None:
            raise WorkspaceError(
                f"no gpu pool {pool_id or ''!r} in the rules",
                hint=f"gpu pools: {', '.join(p.id for p in pools) or 'none'}; "
                "see docs/how-to/gpu-allocation.md",
            )
        if by not in ("job", "model", "team"):
            raise WorkspaceError(f"unknown --by {by!r}", hint="use job, model or team")
        grain = cast(Literal["job", "model", "team"], by)
        with self.warehouse() as wh:
            allocation.ensure_tables(wh.con)
            rows = gpu_report.gpu_report(
                wh.con,
                allocation.parse_period(period),
                pool,
                by=grain,
                basis=basis or self.config.allocation.basis,
                tokens_metric=tokens_metric,
            )
        cols = list(rows[0]) if rows else ["line", by]
        return QueryResult(cols, [tuple(r[c] for c in cols) for r in rows])

    # -- anomalies ------------------------------------------------------------------------------
    def _anomaly_filters(self) -> dict[str, str]:
        """Each monitor's filter as SQL over a cost row (tags read by their exact key)."""
        from costline.allocation.sql import Context, condition_sql, lit, referenced_tags

        filters = {}
        for monitor in self.config.anomalies.monitors:
            if monitor.filter is not None:
                tags = {t: f"Tags[{lit(t)}]" for t in referenced_tags([monitor.filter], [])}
                filters[monitor.id] = condition_sql(
                    monitor.filter, Context(tag_exprs=tags, vtag_cols={})
                )
        return filters

    def detect_anomalies(
        self, *, since: str | None = None, sleep: Callable[[float], None] | None = None
    ) -> DetectReport:
        """Evaluate every monitor; open, update or resolve anomalies; alert the owners of the
        opened and updated ones (``alerts:`` in costline.yaml) unless acknowledged,
        suppressed or below ``anomalies.alert_min_severity``."""

        return self._detect(dt.date.fromisoformat(since) if since else None, sleep=sleep)

    def _detect(
        self,
        since: dt.date | None,
        *,
        ingestions: Sequence[str] = (),
        sleep: Callable[[float], None] | None = None,
    ) -> DetectReport:
        from costline.anomaly import engine as anomaly_engine
        from costline.anomaly import store as anomaly_store

        with self.warehouse() as wh:
            allocated = _allocation_published(wh.con)
            report = anomaly_engine.detect(
                wh.con,
                self.config.anomalies,
                since=since,
                filters=self._anomaly_filters(),
                allocated=allocated,
                ingestions=ingestions,
            )
            changed = [*report.opened, *report.updated]
            rows = anomaly_store.alertable(wh.con, changed, self.config.anomalies)
            ended = (
                anomaly_store.alertable(
                    wh.con,
                    self.alert_outbox(wh.con).delivered(report.resolved),
                    self.config.anomalies,
                    status="resolved",
                )
                if self.config.alerts.channels
                else []
            )
        if self.config.alerts.channels:  # also retries revisions earlier runs left undelivered
            from costline.notify.bridge import alert_of

            link = self.config.alerts.link
            alerts = [alert_of(r, link=link) for r in rows]
            # a resolution is news only to whoever heard of the anomaly
            alerts += [alert_of(r, link=link, resolved=True) for r in ended]
            delivery = self.deliver_alerts(alerts, sleep=sleep)
            report.alerts_delivered = len(delivery.delivered)
            report.alerts_failed = len(delivery.failed)
        report.alerts = len(rows)
        return report

    def anomalies(self, *, status: str | None = "open") -> QueryResult:
        """Anomalies with the given status (``all`` for every one), newest first."""
        from costline.anomaly import store as anomaly_store

        with self.warehouse() as wh:
            rows = anomaly_store.list_anomalies(wh.con, status=status)
        cols = list(anomaly_store.LIST_COLUMNS)
        return QueryResult(cols, [tuple(r[c] for c in cols) for r in rows])

    def anomaly_feedback(self, anomaly_id: str, kind: str, reason: str | None) -> dict[str, Any]:
        """``ack``, ``dismiss`` or ``expected`` (see :func:`costline.anomaly.store.give_feedback`)."""
        from costline.anomaly import store as anomaly_store

        with self.warehouse() as wh:
            return anomaly_store.give_feedback(wh.con, anomaly_id, kind, reason)

    def load_usage(
        self, path: Path, *, provider: str | None = None, skip_unpriced: bool = False
    ) -> dict[str, Any]:
        """Load a usage file as estimated cost for detection before the bill (see
        :func:`costline.anomaly.estimates.load_usage`)."""
        from costline.anomaly import estimates

        with self.warehouse() as wh:
            return estimates.load_usage(
                wh.con, path, provider=provider, skip_unpriced=skip_unpriced
            )

    def reconcile_estimates(self, *, days: int = 14) -> tuple[QueryResult, QueryResult]:
        """Estimated vs billed cost on the days both cover, and the anomalies flagged on
        estimates that the bill confirmed or not (see :func:`costline.anomaly.reconcile.reconcile`)."""
        from costline.anomaly import reconcile

        with self.warehouse() as wh:
            allocated = _allocation_published(wh.con)
            rows, settled = reconcile.reconcile(
                wh.con,
                self.config.anomalies,
                days=days,
                filters=self._anomaly_filters(),
                allocated=allocated,
            )
        cols = list(reconcile.RECONCILE_COLUMNS)
        report = QueryResult(cols, [tuple(r[c] for c in cols) for r in rows])
        scols = ["id", "monitor", "series", "days", "estimated", "billed", "outcome", "status"]
        return report, QueryResult(scols, [tuple(r[c] for c in scols) for r in settled])

    # -- watch ----------------------------------------------------------------------------------
    def watch(
        self,
        folder: Path,
        *,
        interval: float = 5.0,
        cycles: int | None = None,
        sleep: Callable[[float], None] | None = None,
        on_cycle: Callable[[WatchCycle], None] | None = None,
    ) -> list[WatchCycle]:
        """Poll ``folder``; ingest each export once it is complete, evaluate only the series
        its rows touch, and alert. Runs ``cycles`` polls (forever when None)."""
        import time

        from costline.watch import FolderPoller

        if not folder.exists():
            raise WorkspaceError(
                f"{folder} does not exist", hint="create the landing folder, or fix the path"
            )
        pause = sleep or time.sleep
        poller = FolderPoller(folder)
        done: list[WatchCycle] = []
        n = 0
        while cycles is None or n < cycles:
            n += 1
            ready = poller.poll()
            if ready:
                cycle = self._watch_cycle(ready)
                done.append(cycle)
                if on_cycle:
                    on_cycle(cycle)
            if cycles is None or n < cycles:
                pause(interval)
        return done

    def _watch_cycle(self, files: list[Path]) -> WatchCycle:
        import time

        landed = max(f.stat().st_mtime for f in files)
        before = {
            r[0]: r[1]
            for r in self.query(
                "SELECT x_Provider, max(CAST(ChargePeriodStart AS DATE)) FROM cost GROUP BY 1"
            ).rows
        }
        report = self.ingest(files)
        ids = [o.ingestion_id for o in report.outcomes if o.status == "loaded" and o.ingestion_id]
        detect = None
        if ids:
            marks = ", ".join("?" for _ in ids)
            spans = self.query(
                "SELECT x_Provider, min(CAST(ChargePeriodStart AS DATE)), "
                "max(CAST(ChargePeriodStart AS DATE)) FROM cost "
                f"WHERE x_IngestionId IN ({marks}) GROUP BY 1",
                ids,
            ).rows
            # from the last day the store already had (a month-to-date export's new days and
            # its last, partial one), or the file's first day for a provider seen first now
            starts: list[dt.date] = []
            for provider, first, last in spans:
                known = before.get(provider)
                starts.append(known if known is not None and first <= known <= last else first)
            if starts:
                detect = self._detect(min(starts), ingestions=ids)
        return WatchCycle(
            files=[str(f) for f in files],
            ingest=report,
            detect=detect,
            latency_s=max(0.0, time.time() - landed),
        )

    # -- commitments (issue #5) --
    def commitments_status(
        self,
        *,
        period: str | None = None,
        as_of: str | None = None,
        inventory: Path | None = None,
    ) -> QueryResult:
        """Utilization, coverage and the expiry calendar of the commitments in the bill (see
        :func:`costline.optimize.commitments.status`); ``inventory`` defaults to the
        workspace's ``commitments.csv`` when there is one."""
        from costline.core.inputs import need_file
        from costline.optimize import commitments

        path = inventory or self.root / commitments.INVENTORY_FILE
        if inventory is not None:
            need_file(path)
        entries = commitments.read_inventory(path) if path.is_file() else {}
        with self.warehouse(read_only=True) as wh:
            start, end, day = commitments.status_window(wh.con, period, as_of)
            cols, rows = commitments.status(
                wh.con, start=start, end=end, as_of=day, inventory=entries
            )
        return QueryResult(cols, rows)

    def commitments_plan(
        self,
        *,
        lookback: int = 30,
        term: str = "1y",
        payment: str = "no-upfront",
        offering: str = "convertible",
        discount: str | None = None,
        scope: Sequence[str] = (),
        include_covered: bool = False,
        as_of: str | None = None,
    ) -> QueryResult:
        """The hourly commitment to buy per scope, with savings, break-even and backtest (see
        :func:`costline.optimize.commitments.plan`); ``discount`` overrides the rate table."""
        from costline.optimize import commitments

        d = (
            commitments.parse_discount(discount)
            if discount is not None
            else commitments.discount_for(term, payment, offering=offering)
        )
        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise ConfigError(
                f"as-of {as_of!r} is not a date", hint="write it as YYYY-MM-DD"
            ) from None
        with self.warehouse(read_only=True) as wh:
            cols, rows = commitments.plan(
                wh.con,
                discount=d,
                lookback_days=lookback,
                scope=scope,
                include_covered=include_covered,
                as_of=day,
            )
        return QueryResult(cols, rows)

    # -- rightsizing (issue #5) ---------------------------------------------------------------
    def load_telemetry(self, path: Path) -> dict[str, Any]:
        """Load a utilization telemetry file (resource_id, timestamp, metric, value) into the
        ``telemetry`` table (see :func:`costline.optimize.telemetry.load_telemetry`)."""
        from costline.optimize import telemetry

        with self.warehouse() as wh:
            return telemetry.load_telemetry(wh.con, path)

    def pull_telemetry(
        self,
        source: str,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        resources: Sequence[str] = (),
        period: int = 300,
        region: str | None = None,
        endpoint_url: str | None = None,
        url: str | None = None,
        queries: Mapping[str, str] | None = None,
        label: str = "instance",
        resource_map: Mapping[str, str] | None = None,
        token: str | None = None,
        username: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Pull utilization samples from ``cloudwatch``, ``azure-monitor`` or ``prometheus``
        over ``[start, end)`` (default: the 14 days up to now) into ``telemetry``, checked and
        stored like a loaded file (docs/how-to/telemetry.md). CloudWatch and Azure Monitor ask
        about ``resources``, by default the EC2 instances / Azure VMs the bill charges for in
        the window; Prometheus keeps the series of ``resources`` when given.

        Returns ``source``, ``requested`` (resources asked for, None for all), ``missing``
        (of those, how many returned no sample), then ``rows``, ``resources``, ``metrics``,
        ``first``, ``last`` as :meth:`load_telemetry`.
        """
        from costline.optimize import telemetry
        from costline.sources.telemetry import pulling

        env = os.environ if environ is None else environ
        window = pulling.window(source, start, end, period)
        provider = pulling.PROVIDERS.get(source)
        billed: list[tuple[str, str | None, str | None]] = []
        if provider is not None:
            with self.warehouse(read_only=True) as wh:
                billed = telemetry.billed_instances(wh.con, provider, *window)
        memory: dict[str, float] = {}
        if provider == "azure":
            from costline.optimize.pricing import load_catalog

            catalog = load_catalog(("azure",))
            for rid, _, size in billed:
                spec = catalog.instance_type("azure", size) if size else None
                if spec is not None:
                    memory[rid.lower()] = spec.memory_gib * 2**30
        pulled = pulling.pull(
            source,
            window,
            targets=pulling.targets(source, resources, billed, memory, region=region),
            resources=resources,
            period=period,
            region=region,
            endpoint_url=endpoint_url,
            url=url,
            queries=queries,
            metrics=tuple(telemetry.METRICS),
            label=label,
            resource_map=resource_map,
            token=token,
            username=username,
            environ=env,
        )
        with self.warehouse() as wh:
            stored = telemetry.store_samples(
                wh.con, pulled.samples, pulled.source, hint=pulled.bad_value_hint
            )
        got = {s.resource_id.lower() for s in pulled.samples}
        requested = pulled.requested
        missing = None if requested is None else sum(r.lower() not in got for r in requested)
        return {
            "source": stored.pop("file"),
            "requested": None if requested is None else len(requested),
            "missing": missing,
            **stored,
        }

    def recommend_rightsizing(
        self,
        *,
        lookback: int = 14,
        percentile: float = 95.0,
        end: dt.datetime | None = None,
    ) -> QueryResult:
        """Rightsizing of every billed EC2 instance / Azure VM / GCP VM with telemetry (see
        :mod:`costline.optimize.rightsizing`); one row per resource, largest savings first."""
        from costline.optimize import telemetry

        # read-only (no schema upkeep on open); the first run in a workspace without the
        # telemetry tables creates them, then reads
        try:
            return self._rightsize(lookback, percentile, end)
        except _Missing:
            with self.warehouse() as wh:
                telemetry.ensure_table(wh.con)
            return self._rightsize(lookback, percentile, end)

    def _rightsize(self, lookback: int, percentile: float, end: dt.datetime | None) -> QueryResult:
        from costline.optimize import telemetry

        with ExitStack() as closing:
            with self.warehouse(read_only=True, close_behind=closing) as wh:
                if not telemetry.tables_ready(wh.con):
                    raise _Missing
                last = end or telemetry.window_end(wh.con)
                if last is None:  # gather() says what to do
                    stats: Any = nullcontext()
                else:  # the scan starts now and runs while the rules load (numpy and all)
                    start = last - dt.timedelta(days=lookback)
                    stats = telemetry.window_stats_started(
                        wh.con, start=start, end=last, percentile=percentile
                    )
                with stats as started:
                    from costline.optimize import rightsizing

                    opts = rightsizing.Options(lookback_days=lookback, percentile=percentile)
                    gathered = rightsizing.gather(
                        wh.con, opts, end=last, pricing_dir=self.pricing_dir, stats=started
                    )
            # the rules run while the warehouse closes on a thread (DuckDB frees its buffers
            # without the GIL); leaving ``closing`` waits for the close
            rows = [r.row() for r in rightsizing.decide(gathered, opts)]
        return QueryResult(list(rightsizing.COLUMNS), rows)

    # -- pricing catalog refresh (issue #5) --
    def refresh_pricing(
        self,
        provider: str,
        *,
        regions: Sequence[str] = (),
        endpoint: str | None = None,
        progress: Progress | None = None,
    ) -> QueryResult:
        """Fetch on-demand Linux list prices from the provider's public price API into
        :attr:`pricing_dir` (see :mod:`costline.optimize.pricing_refresh`); one row per region."""
        from costline.optimize import pricing_refresh

        done = pricing_refresh.refresh(
            provider, self.pricing_dir, regions=regions, endpoint=endpoint, progress=progress
        )
        cols = ["provider", "region", "prices", "as_of", "source"]
        rows = [(r.provider, r.region, len(r.prices), r.as_of, r.source) for r in done.regions]
        return QueryResult(cols, rows)

    def pricing_status(self) -> QueryResult:
        """The price files in effect: the workspace's refreshed ones and the packaged ones."""
        from costline.optimize import pricing

        return QueryResult(*pricing.status(self.pricing_dir))

    def pricing_show(self, instance_type: str, *, region: str | None = None) -> QueryResult:
        """The list price in effect for one instance type / VM size, per region."""
        from costline.optimize import pricing

        return QueryResult(*pricing.show(self.pricing_dir, instance_type, region=region))

    # -- tickets (issue #5) --
    def tickets_sync(
        self,
        *,
        threshold: Decimal | None = None,
        dry_run: bool = False,
        now: dt.datetime | None = None,
        as_of: dt.date | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> QueryResult:
        """The nightly recommendation job (docs/how-to/tickets.md): evaluate rightsizing,
        waste, Kubernetes requests and the commitment plan, record them in the state store
        (:meth:`recommendation_store`), detect from the bill which were actioned
        (:mod:`costline.optimize.adoption`, with realized savings), and open, update or close
        their tickets when ``tickets.channel`` is set (without one, only the store changes).
        Returns one row per action.

        ``as_of`` evaluates as if it were that day: bill and telemetry before it only (a
        replay or backfill). Each ticket action is recorded right after the channel
        answered; the first channel failure stops the sync with a WorkspaceError and leaves
        that recommendation (and the rest) as they were, so the next sync retries them.
        ``dry_run`` sends and records nothing.
        """
        from costline.optimize import adoption
        from costline.optimize import tickets as lifecycle

        limit = self.config.tickets.threshold if threshold is None else threshold
        if as_of is not None:
            stamp = dt.datetime.combine(as_of, dt.time())
        else:
            stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)
        with self.warehouse() as wh:
            con = wh.con
            recs = self.recommendation_store(con)
            produced = self._recommend_now(con, stamp, as_of=as_of)
            # detect first: a resource rightsized one step and still oversized is recommended
            # again, and the upsert would record its new type as current
            tracked = adoption.tracked_from(recs.listing("open", "ticketed"))
            found = adoption.detect(con, tracked, as_of=as_of)
            rows = [lifecycle.produced_row(p) for p in produced]
            after = recs.preview_upsert(rows, stamp) if dry_run else recs.upsert(rows, stamp)
            actions = lifecycle.plan(
                lifecycle.stored_from(after),
                {p.id for p in produced},
                threshold=limit,
                actioned={a.rec.id: _adoption_note(a) for a in found.adoptions},
                waiting=found.waiting,
            )
            done = self._ticket_actions(
                actions, found.adoptions, stamp, dry_run=dry_run, environ=environ
            )
            if not dry_run:
                pending = recs.adoptions(measured_days_below=adoption.MEASURE_DAYS)
                priced = {a.rec_id for a in pending if a.kind == lifecycle.K8S_REQUESTS}
                details = {i: recs.get(i).details for i in priced}  # a container's unit prices
                measures = adoption.remeasured(con, pending, as_of=as_of, details=details)
                recs.update_measures(measures, stamp)
        cols = ["action", "id", "resource_id", "rule", "monthly_savings", "ticket", "status"]
        return QueryResult([*cols, "note"], done)

    def _recommend_now(self, con: Any, stamp: dt.datetime, *, as_of: dt.date | None) -> list[Any]:
        """What rightsizing, waste, Kubernetes request rightsizing and the commitment plan
        recommend now (``tickets.Produced``): a resource's team from the published allocation,
        a container's the team of its namespace there, a commitment's none."""

        from dataclasses import replace

        from costline.optimize import adoption, rightsizing, telemetry, waste
        from costline.optimize import tickets as lifecycle

        telemetry.ensure_table(con)
        last_day = adoption.last_bill_day(con, as_of=as_of)
        produced = (
            lifecycle.from_waste(
                waste.find_waste(con, as_of=last_day, pricing_dir=self.pricing_dir)
            )
            if last_day is not None
            else []
        )
        end = stamp if as_of is not None else telemetry.window_end(con)
        if end is not None and telemetry.window_end(con) is not None:
            produced += lifecycle.from_rightsizing(
                rightsizing.rightsize(
                    con, rightsizing.Options(), end=end, pricing_dir=self.pricing_dir
                )
            )
        teams = self._resource_teams(con)
        produced = [replace(p, team=teams.get(p.resource_id.lower())) for p in produced]
        return produced + self._recommend_k8s(con, as_of) + self._recommend_commitments(con, as_of)

    def _recommend_k8s(self, con: Any, as_of: dt.date | None) -> list[Any]:
        """Kubernetes request reductions (``tickets.Produced``, kind ``k8s-requests``) with the
        team of their namespace; none without samples."""
        from dataclasses import replace

        from costline.optimize import k8s_requests
        from costline.optimize import tickets as lifecycle

        if k8s_requests.samples_end(con, as_of=as_of) is None:
            return []
        found = lifecycle.from_k8s_requests(k8s_requests.recommend_requests(con, as_of=as_of))
        teams = self._namespace_teams(con)
        return [
            replace(p, team=teams.get(f"{p.details['cluster']}/{p.details['namespace']}".lower()))
            for p in found
        ]

    def _recommend_commitments(self, con: Any, as_of: dt.date | None) -> list[Any]:
        """The commitment to buy per provider and billing account (``tickets.Produced``, kind
        ``commitment``), sized with the option of ``tickets.commitment`` (by default what
        ``costline commitments plan`` does by default); none when it is disabled or without
        eligible uncovered usage."""
        from costline.optimize import commitments
        from costline.optimize import tickets as lifecycle

        chosen = self.config.tickets.commitment
        if not chosen.enabled:
            return []
        option: dict[str, Any] = chosen.model_dump(exclude={"enabled"})
        lookback = chosen.lookback_days
        discount = commitments.discount_for(
            option["term"], option["payment"], offering=option["offering"]
        )
        try:
            _, sized_until = commitments.lookback_window(con, lookback, as_of)
            cols, rows = commitments.plan(
                con, discount=discount, lookback_days=lookback, as_of=as_of
            )
        except commitments.NoEligibleSpendError:
            return []
        return lifecycle.from_commitment_plan(cols, rows, option=option, sized_until=sized_until)

    def _ticket_actions(
        self,
        actions: Sequence[Any],
        adoptions: Sequence[Any],
        stamp: dt.datetime,
        *,
        dry_run: bool,
        environ: Mapping[str, str] | None,
    ) -> list[tuple[Any, ...]]:
        """Send each planned ticket action (``tickets.Action``) to the ticket channel, if any,
        and record its outcome in the state store right after; returns one row per action."""
        from costline.config.models import JiraChannel, WebhookChannel
        from costline.notify import tickets as send_tickets
        from costline.notify.errors import DeliveryError
        from costline.optimize import adoption

        cfg = self.config.tickets
        channel = self.config.alerts.channel(cfg.channel) if cfg.channel else None
        has_channel = isinstance(channel, JiraChannel | WebhookChannel)
        contacts = (
            {tid: info.team.contacts for tid, info in self.owners().teams().items()}
            if self.owners_path.is_file() and has_channel
            else {}
        )
        recs = self.recommendation_store()
        by_rec = {a.rec.id: a for a in adoptions}
        rows: list[tuple[Any, ...]] = []
        for action in actions:
            rec = action.rec
            key = rec.ticket_key
            if action.verb == "open" and not has_channel:
                continue  # no ticket channel: the recommendation stays open
            if has_channel and not dry_run and action.verb != "retire":
                assert isinstance(channel, JiraChannel | WebhookChannel)
                team = contacts.get(rec.team) if rec.team else None
                project = (team.jira if team else None) or getattr(channel, "project", None)
                try:
                    key = send_tickets.send(
                        channel,
                        action,
                        project=project,
                        timeout=self.config.alerts.retry.timeout_seconds,
                        environ=environ,
                    )
                except DeliveryError as exc:
                    raise WorkspaceError(
                        f"tickets: could not {action.verb} the ticket of {rec.id} "
                        f"({rec.rule} on {rec.resource_id}): {exc}; {len(rows)} earlier "
                        "action(s) were done and recorded, this one and the rest were not",
                        hint="fix the channel (or wait until it is back) and run "
                        "`costline tickets sync` again: nothing is lost or duplicated",
                    ) from exc
            if not dry_run:
                if action.verb == "open":
                    recs.mark_ticketed(rec.id, key or "", rec.monthly_savings, stamp)
                elif action.verb == "update":
                    recs.mark_updated(rec.id, rec.monthly_savings, stamp)
                elif action.status == "actioned":
                    recs.record_adoptions([adoption.adoption_row(by_rec[rec.id])], stamp)
                else:
                    recs.mark_expired(rec.id, action.note or "no longer recommended", stamp)
            rows.append(
                (action.verb, rec.id, rec.resource_id, rec.rule, rec.monthly_savings, key)
                + (action.status, action.note)
            )
        return rows

    def savings_report(
        self, month: str, *, team: str | None = None, detail: bool = False
    ) -> QueryResult:
        """Adoption and realized savings of the recommendations live in ``month`` (YYYY-MM):
        per team and TOTAL, or (``detail``) one row per actioned recommendation; see
        :func:`costline.optimize.adoption.report`."""
        from costline.optimize import adoption

        with self.warehouse() as wh:
            recs = self.recommendation_store(wh.con)
            rows, details = adoption.report(
                wh.con, month, recs.listing(), recs.adoptions(), team=team
            )
        if detail:
            return QueryResult(list(adoption.DETAIL_COLUMNS), details)
        return QueryResult(list(adoption.REPORT_COLUMNS), rows)

    def savings_digest(self, month: str, *, team: str | None = None) -> SavingsDigest:
        """The monthly savings digest of ``month`` (YYYY-MM), or of one ``team``: the savings
        report, its actioned recommendations and the open / ticketed ones still waiting (the 10
        largest per team); render it with :mod:`costline.reports.savings_digest`."""
        from costline.optimize import adoption, digest
        from costline.reports import savings_digest as page

        with self.warehouse() as wh:
            recs = self.recommendation_store(wh.con)
            stored = recs.listing()
            rows, details = adoption.report(wh.con, month, stored, recs.adoptions(), team=team)
            waiting = digest.waiting(stored, month, team=team)
            currency = digest.billing_currency(wh.con)
        built = page.build(
            month,
            self.config.name,
            [dict(zip(adoption.REPORT_COLUMNS, r, strict=True)) for r in rows],
            [dict(zip(adoption.DETAIL_COLUMNS, r, strict=True)) for r in details],
            [dict(zip(digest.WAITING_COLUMNS, r, strict=True)) for r in waiting],
            currency=currency,
        )
        return page.for_team(built, team) if team else built

    def send_savings_digest(
        self, digest: SavingsDigest, *, environ: Mapping[str, str] | None = None
    ) -> QueryResult:
        """Email ``digest`` through the channel named by ``savings.digest_channel``: each team in
        it with a ``contacts.email`` in owners.yaml gets its own sections, the channel's ``to:``
        (finance) gets every team; a digest of one team goes to that team only. Every email is
        tried; returns one row per email sent.

        Raises:
            ConfigError: no ``savings.digest_channel``, or nobody to send to.
            DeliveryError: an email failed, naming its recipients (the others were sent).
        """
        from costline.config.models import EmailChannel
        from costline.notify import digest as mail
        from costline.reports import savings_digest as page

        wanted = self.config.savings.digest_channel
        channel = self.config.alerts.channel(wanted) if wanted else None
        if not isinstance(channel, EmailChannel):  # validated: None or an email channel
            raise ConfigError(
                "no savings.digest_channel: the digest has no email channel to go through",
                hint="define an email channel under alerts.channels and name it in "
                "costline.yaml as `savings: {digest_channel: <id>}`",
            )
        teams = self.owners().teams() if self.owners_path.is_file() else {}
        emails = {t: e for t, info in teams.items() if (e := info.team.contacts.email)}

        def email(d: SavingsDigest, audience: str, to: Sequence[str]) -> mail.DigestEmail:
            content = (page.subject(d), page.render_text(d), page.render_html(d))
            return mail.DigestEmail(audience, tuple(to), *content, month=d.month)

        plan = [
            email(page.for_team(digest, t), f"team {t}", [emails[t]])
            for t in ([digest.team] if digest.team else [r["team"] for r in digest.teams])
            if t in emails
        ]
        if digest.team is None and channel.to:
            plan.append(email(digest, "finance", channel.to))
        if not plan:
            why = (
                f"team {digest.team} has no contacts.email in {self.owners_path.name}"
                if digest.team
                else f"no team in it has a contacts.email in {self.owners_path.name} and "
                f"channel {channel.id!r} has no `to:` for the whole digest"
            )
            raise ConfigError(
                f"savings digest {digest.month}: nobody to send to: {why}",
                hint="add contacts.email to the team in owners.yaml, or `to:` to the channel",
            )
        env = os.environ if environ is None else environ
        timeout = self.config.alerts.retry.timeout_seconds
        sent = mail.send_all(channel, plan, timeout=timeout, env=env)
        return QueryResult(
            ["audience", "recipients", "result"],
            [(e.audience, ", ".join(e.recipients), note) for e, note in sent],
        )

    @staticmethod
    def _resource_teams(con: Any) -> dict[str, str]:
        """Lower-cased ResourceId → x_Team of its newest allocated charge (published allocation
        only; empty without one)."""
        if not _allocation_published(con):
            return {}
        got = con.execute(
            "SELECT lower(ResourceId), arg_max(x_Team, ChargePeriodStart) FROM allocated_charges "
            "WHERE ResourceId IS NOT NULL AND x_Team IS NOT NULL GROUP BY 1"
        ).fetchall()
        return {r[0]: r[1] for r in got}

    @staticmethod
    def _namespace_teams(con: Any) -> dict[str, str]:
        """Lower-cased ``cluster/namespace`` → the team the published allocation gave the most
        of the namespace's cost (its parts ``k8s://<cluster>/<namespace>``) in the newest
        month it allocated; empty without a published Kubernetes pool."""
        if not _allocation_published(con):
            return {}
        got = con.execute(
            "WITH t AS (SELECT lower(substr(AllocatedResourceId, 7)) AS ns, BillingPeriodStart "
            "AS period, x_Team AS team, sum(EffectiveCost) AS cost FROM allocation_parts "
            "WHERE starts_with(AllocatedResourceId, 'k8s://') AND x_Team IS NOT NULL "
            "AND NOT starts_with(x_Team, 'pool:') "
            "GROUP BY ALL) SELECT ns, team FROM t QUALIFY row_number() OVER "
            "(PARTITION BY ns ORDER BY period DESC, cost DESC, team) = 1"
        ).fetchall()
        return {r[0]: r[1] for r in got}

    def tickets(self, *, status: str | None = None) -> QueryResult:
        """The stored recommendations (all, or one status), largest savings first.

        Raises:
            ConfigError: an unknown status (the hint lists the valid ones).
        """
        from costline.optimize import tickets as lifecycle

        found = self.recommendation_store().listing(*([status] if status is not None else []))
        return QueryResult(*lifecycle.listing(found))

    def reopen_recommendation(self, rec_id: str) -> None:
        """Undo a dismissal (the next ``tickets sync`` tickets it again if it still applies).

        Raises:
            NotFoundError: no such recommendation. ConflictError: it is not dismissed.
        """
        self.recommendation_store().reopen(rec_id, dt.datetime.now(dt.UTC))

    def dismiss_recommendation(self, rec_id: str, reason: str) -> str:
        """Dismiss a recommendation for good; returns its ticket key, if it had one (close that
        ticket by hand: a dismissal is a human decision already visible in the tracker).

        Raises:
            ConfigError: an empty reason, or no such recommendation (NotFoundError).
        """
        if not reason.strip():
            raise ConfigError("a dismissal needs a reason", hint="pass --reason '...'")
        rec = self.recommendation_store().dismiss(rec_id, reason, dt.datetime.now(dt.UTC))
        return rec.ticket_key or ""

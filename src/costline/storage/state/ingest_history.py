"""The ingest history in the state store: what every ingest run did with each input file, for
one workspace.

Table (migration 0004): ``ingest_files``, one row per file outcome of every ingest run (one
run per :meth:`costline.workspace.Workspace.ingest` call): the run id, the file's path (never
its contents), status (``loaded``, ``unchanged``, ``duplicate``, ``skipped``, ``manifest``,
``quarantined``, ``missing``), source kind, rows, message (for a quarantined file the error,
its fix and where the quarantined copy went), the ingestion that loaded it (loaded files only),
seconds, and when it was recorded (UTC).

This is a history, not the ingest manifest. The manifest (``_ingestions``,
``_ingested_files``, ``_partitions``, ``_partition_history``) stays in the warehouse and
commits in the same transaction as the rows it describes, so a crash never leaves an entry for
rows that are not there; it alone decides what is ingested already (sha256) and which load
owns a partition. This table is written after the run and decides nothing, so a run whose
history could not be written has still loaded its data.

Storage does not import ingest: outcomes come in as plain mappings (the façade converts), and
come out as :class:`~costline.storage.state.records.IngestFile`. Get one from
:meth:`costline.storage.state.StateStore.ingest_history`.

Example:
    >>> from costline.storage.state import open_state
    >>> history = open_state("sqlite://").ingest_history("acme")
    >>> history.record_ingest_files("run-1", [{"file": "cur.csv", "status": "loaded",
    ...     "kind": "aws-cur", "rows": 42, "message": "42 rows", "ingestion_id": "ing_1",
    ...     "seconds": 0.5}])
    1
    >>> [(f.file, f.status, f.rows, f.ingestion_id) for f in history.ingest_files(10)]
    [('cur.csv', 'loaded', 42, 'ing_1')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, func, select

from costline.core.errors import ConfigError
from costline.storage.state.models import INGEST_FILE_STATUSES, IngestFileRow
from costline.storage.state.records import IngestFile
from costline.storage.state.scoped import WorkspaceScoped
from costline.storage.state.validation import check_choice

# NOTE: error texts are short (DuckDB's is cut at 500 characters); this only bounds a row.
MAX_MESSAGE = 8_000
MAX_RUN_ID = 64


def check_status(status: str) -> str:
    """``status`` if it is a file outcome status, else ConfigError naming the valid ones.

    Example:
        >>> check_status("quarantined")
        'quarantined'
    """
    return check_choice(status, tuple(INGEST_FILE_STATUSES), what="ingest file status")


def ingest_file_record(row: IngestFileRow) -> IngestFile:
    return IngestFile(
        id=row.id,
        run_id=row.run_id,
        file=row.file,
        status=row.status,
        kind=row.kind,
        rows=row.rows,
        message=row.message,
        ingestion_id=row.ingestion_id,
        seconds=row.seconds,
        at=row.at,
    )


def _row_values(index: int, outcome: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of one outcome, checked (ConfigError naming the outcome and key)."""
    file, status = outcome.get("file"), outcome.get("status")
    if not isinstance(file, str) or not file:
        raise ConfigError(
            f"ingest outcome {index}: no file path", key="file", hint="give the path as given"
        )
    check_status(str(status))
    kind = outcome.get("kind")
    return {
        "file": file,
        "status": status,
        "kind": str(kind)[:100] if kind else None,
        "rows": int(outcome.get("rows") or 0),
        "message": str(outcome.get("message") or "")[:MAX_MESSAGE],
        # NOTE: only a load made an ingestion; an unchanged file's earlier one is in its message
        "ingestion_id": outcome.get("ingestion_id") if status == "loaded" else None,
        "seconds": float(outcome.get("seconds") or 0.0),
    }


class IngestHistory(WorkspaceScoped):
    """The ingest file history of one workspace in the state store."""

    def _mine(self, status: str | None) -> Select[IngestFileRow]:
        query = select(IngestFileRow).where(IngestFileRow.workspace == self.workspace)
        if status is not None:
            query = query.where(IngestFileRow.status == check_status(status))
        return query

    def record_ingest_files(self, run_id: str, outcomes: Sequence[Mapping[str, Any]]) -> int:
        """Record the file outcomes of run ``run_id``, stamped now, in one transaction (all or
        none); returns how many rows were added.

        ``outcomes``: mappings with ``file`` and ``status`` and optionally ``kind``, ``rows``,
        ``message``, ``ingestion_id`` (kept for ``loaded`` only) and ``seconds``.

        Raises:
            ConfigError: an empty or over-long run id, an outcome without a file, or an
                unknown status (nothing is recorded then).
        """
        if not run_id or len(run_id) > MAX_RUN_ID:
            raise ConfigError(f"an ingest run id needs 1 to {MAX_RUN_ID} characters", key="run_id")
        values = [_row_values(i, o) for i, o in enumerate(outcomes)]
        if not values:
            return 0
        at = self._now()
        with self._tx() as s:
            s.add_all(
                IngestFileRow(workspace=self.workspace, run_id=run_id, at=at, **v) for v in values
            )
        return len(values)

    def ingest_files(
        self, limit: int = 100, offset: int = 0, status: str | None = None
    ) -> list[IngestFile]:
        """Recorded file outcomes (all, or those with ``status``), newest run first; a run's
        files in the order of their outcomes.

        Raises:
            ConfigError: an unknown status, a limit below 1 or a negative offset.
        """
        if limit < 1 or offset < 0:
            raise ConfigError(
                f"limit {limit} / offset {offset} out of range",
                key="limit",
                hint="use a limit of 1 or more and an offset of 0 or more",
            )
        query = (
            self._mine(status)
            .order_by(IngestFileRow.at.desc(), IngestFileRow.id)
            .limit(limit)
            .offset(offset)
        )
        with self._tx() as s:
            return [ingest_file_record(r) for r in s.scalars(query)]

    def count(self, status: str | None = None) -> int:
        """How many file outcomes are recorded (all, or those with ``status``)."""
        query = select(func.count()).select_from(self._mine(status).subquery())
        with self._tx() as s:
            return int(s.scalar(query) or 0)

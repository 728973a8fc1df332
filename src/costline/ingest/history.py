"""An ingest run's file outcomes as rows of the state store's ingest history.

:meth:`costline.workspace.Workspace.ingest` gives each call a run id (:func:`new_run_id`) and,
after the run, files every :class:`~costline.ingest.pipeline.FileOutcome` through
:func:`history_rows` into ``ingest_files``
(:class:`costline.storage.state.ingest_history.IngestHistory`). Pure: no I/O here.

Example:
    >>> from costline.ingest.pipeline import FileOutcome
    >>> bad = FileOutcome("in/bad.csv", "quarantined", "focus", message="in/bad.csv: oops",
    ...     quarantined_to="landing/quarantine/ab12-bad.csv")
    >>> print(history_rows([bad])[0]["message"])
    in/bad.csv: oops
      quarantined copy: landing/quarantine/ab12-bad.csv
    >>> new_run_id().startswith("run_")
    True
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from costline.core.time import utcnow
from costline.ingest.pipeline import FileOutcome


def new_run_id() -> str:
    """A new ingest run id: ``run_<UTC time>_<8 hex>`` (sorts by time, unique)."""
    return f"run_{utcnow():%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}"


def history_rows(outcomes: Iterable[FileOutcome]) -> list[dict[str, Any]]:
    """One mapping per outcome with the ingest history's columns; a quarantined file's
    message is its error with the fix, then where its quarantined copy went."""
    rows = []
    for o in outcomes:
        message = o.message
        if o.status == "quarantined" and o.quarantined_to:
            message += f"\n  quarantined copy: {o.quarantined_to}"
        rows.append(
            {
                "file": o.file,
                "status": o.status,
                "kind": o.kind,
                "rows": o.rows,
                "message": message,
                "ingestion_id": o.ingestion_id if o.status == "loaded" else None,
                "seconds": round(o.seconds, 3),
            }
        )
    return rows

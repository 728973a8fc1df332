"""Shared assertion for bad-input tests: the file is quarantined whole, with a reason file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from costline.workspace import Workspace


def quarantined_reason(ws: Workspace, path: Path) -> dict[str, Any]:
    """Ingest ``path`` alone; assert nothing of it loads; return its ``.reason.json``."""
    report = ws.ingest([path])
    assert [o.status for o in report.outcomes] == ["quarantined"]
    assert ws.query("SELECT count(*) FROM cost").rows[0][0] == 0, "nothing of the file loads"
    (reason_file,) = ws.quarantine_dir.glob(f"*-{path.name}.reason.json")
    reason: dict[str, Any] = json.loads(reason_file.read_text())
    return reason

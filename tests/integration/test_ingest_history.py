"""The ingest file history in the state store (issue #6), on SQLite and on the real PostgreSQL:
every outcome of every `Workspace.ingest` call is recorded (loaded, quarantined with its error,
fix and quarantined copy, already ingested), listed by `GET /api/v1/ingest/files` and on the web
UI's data page; a state store that cannot be written costs the history, never the ingest.

The files: ``old.csv`` (1 row, ingested first), then one run of ``new.csv`` (3 rows),
``bad.csv`` (its 2nd data row has the cost ``twelve``) and ``old.csv`` again. Expected
statuses, rows and ingestion ids are worked out here from those files and the warehouse's own
manifest, not read back from the history.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from costline.cli.main import app
from costline.core.errors import ConfigError
from costline.ingest.pipeline import Status
from costline.server import build
from costline.storage.state import IngestHistory, open_state
from costline.storage.state.models import INGEST_FILE_STATUSES
from costline.workspace import Workspace
from tests.focus_files import focus_row, write_focus_csv
from tests.state_db import BACKENDS, state_database
from tests.web_session import sign_in

PASSWORD = "a long enough password 1"
SECRET_CELL = "contents-never-stored-7f3a"  # a cell of new.csv: must not reach the history
NEW_ROWS = 3
BAD_VALUE = "twelve"


@dataclass
class Files:
    old: Path
    new: Path
    bad: Path


def write_files(root: Path) -> Files:
    old = write_focus_csv(root / "in" / "old.csv", [focus_row(BillingAccountId="111")])
    new = write_focus_csv(
        root / "in" / "new.csv",
        [focus_row(BillingAccountId="222", ChargeDescription=SECRET_CELL)] * NEW_ROWS,
    )
    bad = write_focus_csv(
        root / "in" / "bad.csv",
        [
            focus_row(BillingAccountId="333"),
            focus_row(BillingAccountId="333", BilledCost=BAD_VALUE),
        ],
    )
    return Files(old, new, bad)


def ingest_both_runs(ws: Workspace, files: Files) -> None:
    first = ws.ingest([files.old])
    assert [o.status for o in first.outcomes] == ["loaded"]
    ws.ingest([files.new, files.bad, files.old])


def manifest_ids(ws: Workspace) -> dict[str, str]:
    """file name → the ingestion that loaded it, from the warehouse's manifest."""
    got = ws.query("SELECT file, ingestion_id FROM _ingested_files")
    return {Path(f).name: i for f, i in got.rows}


@pytest.fixture(params=BACKENDS)
def ws(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    with state_database(request.param, tmp_path) as url:
        monkeypatch.setenv("COSTLINE_STATE_URL", url.render_as_string(hide_password=False))
        workspace = Workspace.init(tmp_path / "acme")
        yield workspace
        workspace.close()


# -- recording ---------------------------------------------------------------------------------
def test_statuses_are_the_pipelines() -> None:
    assert INGEST_FILE_STATUSES == get_args(Status)


def test_every_file_outcome_of_a_run_is_recorded(ws: Workspace, tmp_path: Path) -> None:
    files = write_files(tmp_path)
    before = dt.datetime.now(dt.UTC)
    ingest_both_runs(ws, files)
    after = dt.datetime.now(dt.UTC)

    history = ws.ingest_history().ingest_files(100)
    assert len(history) == 4  # one row in the first run, three in the second
    second, first = history[:3], history[3:]
    assert len({f.run_id for f in second}) == 1
    assert first[0].run_id != second[0].run_id
    assert [Path(f.file).name for f in first] == ["old.csv"]
    assert all(before <= f.at <= after and f.at.tzinfo is not None for f in history)
    assert first[0].at <= second[0].at

    by_name = {Path(f.file).name: f for f in second}
    assert {n: f.status for n, f in by_name.items()} == {
        "new.csv": "loaded",
        "bad.csv": "quarantined",
        "old.csv": "unchanged",
    }
    assert {n: f.file for n, f in by_name.items()} == {
        p.name: str(p.resolve()) for p in (files.new, files.bad, files.old)
    }
    assert {n: f.rows for n, f in by_name.items()} == {
        "new.csv": NEW_ROWS,
        "bad.csv": 0,
        "old.csv": 0,
    }
    ids = manifest_ids(ws)
    assert set(ids) == {"old.csv", "new.csv"}  # nothing of bad.csv reached the manifest
    assert by_name["new.csv"].ingestion_id == ids["new.csv"]
    assert by_name["bad.csv"].ingestion_id is None
    assert by_name["old.csv"].ingestion_id is None  # NULL unless loaded ...
    assert ids["old.csv"] in by_name["old.csv"].message  # ... the earlier one is named
    assert first[0].ingestion_id == ids["old.csv"]
    assert by_name["new.csv"].kind and by_name["new.csv"].kind.startswith("focus")

    bad = by_name["bad.csv"].message
    for part in ("bad.csv", "row 2", "'BilledCost'", f"'{BAD_VALUE}'", "fix: "):
        assert part in bad, (part, bad)
    copy = Path(bad.rsplit("quarantined copy: ", 1)[1].strip())
    assert copy.parent == ws.quarantine_dir and copy.is_file()
    assert copy.read_bytes() == files.bad.read_bytes()


def test_history_is_filed_under_the_workspace_name_and_holds_no_file_contents(
    ws: Workspace, tmp_path: Path
) -> None:
    ingest_both_runs(ws, write_files(tmp_path))
    store = ws.state()
    with store.engine.connect() as con:
        raw = [dict(r._mapping) for r in con.execute(sa.text("SELECT * FROM ingest_files"))]
    assert len(raw) == 4
    assert {r["workspace"] for r in raw} == {"acme"}  # costline.yaml's name: state_key
    assert not any(SECRET_CELL in str(v) for r in raw for v in r.values())
    assert store.ingest_history("another-workspace").ingest_files(10) == []


def test_status_filter_paging_and_bad_arguments(ws: Workspace, tmp_path: Path) -> None:
    ingest_both_runs(ws, write_files(tmp_path))
    history = ws.ingest_history()
    every = history.ingest_files(100)
    assert history.ingest_files(2, 1) == every[1:3]
    assert history.ingest_files(10, 4) == []
    (bad,) = history.ingest_files(10, status="quarantined")
    assert Path(bad.file).name == "bad.csv"
    assert [Path(f.file).name for f in history.ingest_files(10, status="loaded")] == [
        "new.csv",
        "old.csv",
    ]
    assert (history.count(), history.count("unchanged"), history.count("missing")) == (4, 1, 0)
    with pytest.raises(ConfigError, match="unknown ingest file status 'quarantine'") as err:
        history.ingest_files(10, status="quarantine")
    assert err.value.hint and "did you mean 'quarantined'" in err.value.hint
    with pytest.raises(ConfigError, match="unknown ingest file status 'lost'"):
        history.record_ingest_files("run-x", [{"file": "a.csv", "status": "lost"}])
    with pytest.raises(ConfigError, match="ingest outcome 1: no file path"):
        history.record_ingest_files(
            "run-x", [{"file": "a.csv", "status": "missing"}, {"status": "missing"}]
        )
    with pytest.raises(ConfigError, match="run id"):
        history.record_ingest_files("", [{"file": "a.csv", "status": "missing"}])
    assert history.count() == 4  # a refused batch records nothing, not even its good rows


def test_the_cli_ingest_records_its_run(ws: Workspace, tmp_path: Path) -> None:
    files = write_files(tmp_path)
    args = ["--workspace", str(ws.root), "ingest", str(files.new), str(files.bad)]
    done = CliRunner().invoke(app, [*args, "--format", "json"])
    assert done.exit_code == 1, done.output  # one file failed: the command says so
    recorded = ws.ingest_history().ingest_files(10)
    assert sorted((Path(f.file).name, f.status, f.rows) for f in recorded) == [
        ("bad.csv", "quarantined", 0),
        ("new.csv", "loaded", NEW_ROWS),
    ]
    assert len({f.run_id for f in recorded}) == 1


# -- a state store that cannot be written ------------------------------------------------------
def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "costline.workspace" and r.levelno == logging.WARNING
    ]


def test_a_failing_history_write_does_not_fail_the_ingest(
    ws: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    files = write_files(tmp_path)

    def refuse(*_args: Any, **_kwargs: Any) -> int:
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))

    with (
        monkeypatch.context() as patch,
        caplog.at_level(logging.WARNING, logger="costline.workspace"),
    ):
        patch.setattr(IngestHistory, "record_ingest_files", refuse)
        report = ws.ingest([files.new, files.bad])
    assert sorted(o.status for o in report.outcomes) == ["loaded", "quarantined"]
    assert ws.query("SELECT count(*) FROM cost").rows[0][0] == NEW_ROWS
    (warning,) = warnings_of(caplog)
    assert "2 file outcome(s) were not recorded" in warning and "disk I/O error" in warning
    assert "the data itself was ingested" in warning and "COSTLINE_STATE_URL" in warning
    assert ws.ingest_history().ingest_files(10) == []
    ws.ingest([files.old])  # the store works again: the next run is recorded
    assert [f.status for f in ws.ingest_history().ingest_files(10)] == ["loaded"]


def test_an_unreachable_state_store_does_not_fail_the_ingest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = tmp_path / "no-such-dir" / "state.db"
    monkeypatch.setenv("COSTLINE_STATE_URL", f"sqlite:///{nowhere}")
    ws = Workspace.init(tmp_path / "acme")
    files = write_files(tmp_path)
    with caplog.at_level(logging.WARNING, logger="costline.workspace"):
        report = ws.ingest([files.old])
    assert [o.status for o in report.outcomes] == ["loaded"]
    assert ws.query("SELECT count(*) FROM cost").rows[0][0] == 1
    (warning,) = warnings_of(caplog)
    assert "StorageError" in warning and "cannot open the state store" in warning
    assert not nowhere.exists()


# -- API and UI --------------------------------------------------------------------------------
@pytest.fixture
def served(ws: Workspace, tmp_path: Path) -> Iterator[dict[str, Any]]:
    ingest_both_runs(ws, write_files(tmp_path))
    with build(ws, secure_cookies=False) as svc:
        _, admin = svc.store.add_user("root", "admin", [])
        svc.store.set_password("root", PASSWORD)
        _, member = svc.store.add_user("webby", "team", ["web"])
        with TestClient(svc.app) as client:
            yield {"ws": ws, "client": client, "tokens": {"admin": admin, "team": member}}


def get(served: dict[str, Any], who: str, **params: Any) -> Any:
    token = served["tokens"][who]
    return served["client"].get(
        "/api/v1/ingest/files", params=params, headers={"Authorization": f"Bearer {token}"}
    )


def test_api_lists_the_history_with_filter_paging_and_downloads(
    served: dict[str, Any],
) -> None:
    whole = get(served, "team", limit=100)  # no money in it: a team member sees it all
    assert whole.status_code == 200, whole.text
    body = whole.json()
    assert body["total"] == 4 and body["limit"] == 100 and body["offset"] == 0
    assert body["columns"] == [
        "at",
        "run_id",
        "file",
        "status",
        "kind",
        "rows",
        "message",
        "ingestion_id",
        "seconds",
    ]
    names = [(Path(r["file"]).name, r["status"]) for r in body["rows"]]
    assert sorted(names[:3]) == [
        ("bad.csv", "quarantined"),
        ("new.csv", "loaded"),
        ("old.csv", "unchanged"),
    ]
    assert names[3] == ("old.csv", "loaded")
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["at"]) for r in body["rows"])

    quarantined = get(served, "admin", status="quarantined").json()
    assert quarantined["total"] == 1
    (row,) = quarantined["rows"]
    assert Path(row["file"]).name == "bad.csv" and row["ingestion_id"] is None
    assert f"value '{BAD_VALUE}'" in row["message"] and "quarantined copy: " in row["message"]

    page = get(served, "admin", limit=2, offset=1).json()
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert page["rows"] == body["rows"][1:3]

    as_csv = get(served, "admin", limit=100, format="csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert 'filename="ingest-files.csv"' in as_csv.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(as_csv.text)))
    assert lines[0] == body["columns"]
    assert lines[1:] == [
        ["" if r[c] is None else str(r[c]) for c in body["columns"]] for r in body["rows"]
    ]
    as_xlsx = get(served, "admin", limit=100, format="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None
    cells = [[c.value for c in r] for r in sheet.iter_rows()]
    assert cells[0] == body["columns"] and len(cells) == 1 + 4
    assert [r[2] for r in cells[1:]] == [r["file"] for r in body["rows"]]


def test_api_refuses_bad_parameters(served: dict[str, Any]) -> None:
    bad = get(served, "admin", status="quarantine")
    assert bad.status_code == 400, bad.text
    err = bad.json()["error"]
    assert err["code"] == "bad_request" and "quarantine" in err["message"]
    assert "did you mean 'quarantined'" in err["hint"]
    assert get(served, "admin", limit=0).status_code == 422
    assert get(served, "admin", offset=-1).status_code == 422
    assert served["client"].get("/api/v1/ingest/files").status_code == 401


def test_api_answer_is_not_cached(served: dict[str, Any]) -> None:
    """Another process (a CLI on the same state store) records a run while the server runs:
    the next answer shows it, though nothing told the server's cache."""
    assert get(served, "admin").json()["total"] == 4
    assert get(served, "admin").json()["total"] == 4
    other = open_state(os.environ["COSTLINE_STATE_URL"])
    try:
        other.ingest_history("acme").record_ingest_files(
            "run_cli", [{"file": "/exports/late.csv", "status": "missing", "message": "gone"}]
        )
    finally:
        other.close()
    again = get(served, "admin").json()
    assert again["total"] == 5
    assert (again["rows"][0]["file"], again["rows"][0]["status"]) == (
        "/exports/late.csv",
        "missing",
    )


def test_data_page_lists_a_quarantined_file_with_its_message(served: dict[str, Any]) -> None:
    client = served["client"]
    sign_in(client, "root", PASSWORD)
    page = client.get("/data")
    assert page.status_code == 200, page.text
    assert 'id="table-ingestions"' in page.text  # the ingestions table stays
    table = page.text.split('id="table-files"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr class="file-(\w+)">(.*?)</tr>', table, re.S)
    assert sorted(s for s, _ in rows) == ["loaded", "loaded", "quarantined", "unchanged"]
    (marked,) = [html.unescape(r) for s, r in rows if s == "quarantined"]
    assert '<span class="badge error">quarantined</span>' in marked
    assert ">bad.csv<" in marked
    assert f"value '{BAD_VALUE}'" in marked and "fix: " in marked
    assert "<br>  quarantined copy: " in marked
    for fmt in ("csv", "xlsx"):
        assert f'href="/api/v1/ingest/files?format={fmt}"' in page.text

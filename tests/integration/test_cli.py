"""The CLI end to end: a real subprocess for the entry point, CliRunner for the rest."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costline.cli.main import app
from tests.focus_files import focus_row, write_focus_csv

runner = CliRunner()


def _run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "costline.cli.main", *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    done = _run("init", "acme", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path / "acme"


def test_init_writes_commented_config(acme: Path) -> None:
    text = (acme / "costline.yaml").read_text()
    assert 'name: "acme"' in text and "# " in text
    assert (acme / "costline.duckdb").is_file()


def test_ingest_costs_query_in_every_format(acme: Path, tmp_path: Path) -> None:
    export = write_focus_csv(
        tmp_path / "sep.csv",
        [focus_row(BilledCost="1.10"), focus_row(BilledCost="2.20", ServiceName="Amazon S3")],
    )
    assert _run("ingest", str(export), cwd=acme).returncode == 0
    js = _run("costs", "--by", "provider,service,month", "--format", "json", cwd=acme)
    rows = json.loads(js.stdout)
    assert {(r["service"], Decimal(str(r["billed_cost"]))) for r in rows} == {
        ("Amazon EC2", Decimal("1.1")),
        ("Amazon S3", Decimal("2.2")),
    }
    assert all(r["provider"] == "aws" and r["month"] == "2024-09" for r in rows)
    # JSON numbers are exact decimals, not floats
    assert '"billed_cost": 1.1000000000' in js.stdout
    out = _run(
        "query",
        "select ServiceName, sum(EffectiveCost) as c from cost group by 1 order by 1",
        "--format",
        "csv",
        cwd=acme,
    ).stdout
    assert list(csv.reader(io.StringIO(out))) == [
        ["ServiceName", "c"],
        ["Amazon EC2", "1.2500000000"],
        ["Amazon S3", "1.2500000000"],
    ]
    table = _run("costs", "--by", "service", cwd=acme).stdout
    assert "Amazon S3" in table and "2.20" in table


def test_workspace_found_by_walking_up_and_by_env(acme: Path, tmp_path: Path) -> None:
    deep = acme / "a" / "b"
    deep.mkdir(parents=True)
    assert _run("costs", cwd=deep).returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert _run("costs", cwd=elsewhere, env={"COSTLINE_WORKSPACE": str(acme)}).returncode == 0
    assert _run("--workspace", str(acme), "costs", cwd=elsewhere).returncode == 0


def test_error_is_one_red_line_with_fix_and_exit_1(tmp_path: Path) -> None:
    done = _run("costs", cwd=tmp_path, env={"COSTLINE_WORKSPACE": ""})
    assert done.returncode == 1
    assert "error:" in done.stderr and "costline init" in done.stderr
    assert "Traceback" not in done.stderr
    debug = _run("--debug", "costs", cwd=tmp_path, env={"COSTLINE_WORKSPACE": ""})
    assert "Traceback" in debug.stderr and "WorkspaceError" in debug.stderr


def test_unknown_dimension_suggests_closest(acme: Path) -> None:
    done = _run("costs", "--by", "servce", cwd=acme)
    assert done.returncode == 1 and "did you mean 'service'" in done.stderr


def test_bad_sql_is_a_clean_error(acme: Path) -> None:
    done = _run("query", "select nope from cost", cwd=acme)
    assert done.returncode == 1 and "query failed" in done.stderr and "Traceback" not in done.stderr


def test_ingest_exit_code_and_json_reasons_on_bad_file(acme: Path, tmp_path: Path) -> None:
    good = write_focus_csv(tmp_path / "good.csv", [focus_row()])
    bad = write_focus_csv(tmp_path / "bad.csv", [focus_row(BilledCost="n/a")])
    done = _run("ingest", str(good), str(bad), "--format", "json", cwd=acme)
    assert done.returncode == 1
    by_file = {Path(r["file"]).name: r for r in json.loads(done.stdout)}
    assert by_file["good.csv"]["status"] == "loaded"
    assert (
        by_file["bad.csv"]["reason"],
        by_file["bad.csv"]["row"],
        by_file["bad.csv"]["column"],
    ) == ("unparsable-number", 1, "BilledCost")
    assert "bad.csv" in done.stderr and "row 1" in done.stderr


def test_export_focus_csv_neutralises_formulas(acme: Path, tmp_path: Path) -> None:
    evil = "=cmd|' /C calc'!A0"
    export = write_focus_csv(tmp_path / "e.csv", [focus_row(ChargeDescription=evil)])
    assert _run("ingest", str(export), cwd=acme).returncode == 0
    assert _run("export", "focus", "--out", "out", "--format", "csv", cwd=acme).returncode == 0
    text = (acme / "out" / "focus-1.3.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["ChargeDescription"] == "'" + evil
    q = _run("query", "select ChargeDescription from cost", "--format", "csv", cwd=acme).stdout
    assert list(csv.reader(io.StringIO(q)))[1] == ["'" + evil]
    # the store itself keeps the data as it was billed
    raw = _run("query", "select ChargeDescription from cost", "--format", "json", cwd=acme).stdout
    assert json.loads(raw) == [{"ChargeDescription": evil}]


def test_version_and_help_for_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for cmd in ("init", "ingest", "costs", "query", "ingestions", "demo", "version"):
        sub = runner.invoke(app, [cmd, "--help"])
        assert sub.exit_code == 0 and "Usage" in sub.output, cmd


def test_export_focus_without_extension_columns(acme: Path, tmp_path: Path) -> None:
    export = write_focus_csv(tmp_path / "e.csv", [focus_row()])
    assert _run("ingest", str(export), cwd=acme).returncode == 0
    for flag, expect_x in (("--extensions", True), ("--no-extensions", False)):
        out = f"out{flag}"
        assert (
            _run("export", "focus", "--out", out, "--format", "csv", flag, cwd=acme).returncode == 0
        )
        header = (acme / out / "focus-1.3.csv").read_text().splitlines()[0].split(",")
        assert "BilledCost" in header and "ServiceProviderName" in header
        assert any(h.startswith("x_") for h in header) is expect_x


@pytest.mark.parametrize("folder", ["off", "yes", "2026", "acme: prod"])
def test_a_workspace_folder_name_stays_a_name(tmp_path: Path, folder: str) -> None:
    """YAML would read an unquoted off/yes as a boolean and 2026 as a number."""
    from costline.workspace import Workspace

    ws = Workspace.init(tmp_path / folder)
    assert ws.config.name == folder

"""Every bad-input case: a clear error naming file/row/column and the fix, the file quarantined
with its reason, and the other files of the batch still loaded."""

from __future__ import annotations

import gzip
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from costline.workspace import Workspace
from tests.focus_files import COLUMNS, focus_row, write_focus_csv


def _good(tmp_path: Path) -> Path:
    return write_focus_csv(
        tmp_path / "in" / "good.csv", [focus_row(), focus_row(BilledCost="2.75")]
    )


def _reason(ws: Workspace, name: str) -> dict[str, object]:
    hits = list(ws.quarantine_dir.glob(f"*-{name}.reason.json"))
    assert len(hits) == 1, f"expected one reason file for {name}, found {hits}"
    data: dict[str, object] = json.loads(hits[0].read_text())
    copy = hits[0].with_name(hits[0].name.removesuffix(".reason.json"))
    assert copy.is_file(), "the quarantined copy sits beside its reason"
    return data


def _ingest_with_good(ws: Workspace, tmp_path: Path, bad: Path) -> dict[str, object]:
    good = _good(tmp_path)
    report = ws.ingest([bad, good])
    statuses = {Path(o.file).name: o.status for o in report.outcomes}
    assert statuses["good.csv"] == "loaded", "the rest of the batch still loads"
    assert statuses[bad.name] == "quarantined"
    total = ws.query("select sum(BilledCost), count(*) from cost").rows[0]
    assert total == (Decimal("4.0000000000"), 2)
    return _reason(ws, bad.name)


def test_corrupt_gzip(workspace: Workspace, tmp_path: Path) -> None:
    src = write_focus_csv(tmp_path / "x.csv", [focus_row()] * 200)
    blob = gzip.compress(src.read_bytes())
    bad = tmp_path / "in" / "corrupt.csv.gz"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(blob[: len(blob) // 2] + b"\x00garbage" + blob[len(blob) // 2 + 8 :])
    reason = _ingest_with_good(workspace, tmp_path, bad)
    assert reason["reason"] == "corrupt-gzip"
    assert "gzip -t" in str(reason["hint"])


def test_gzip_csv_loads(workspace: Workspace, tmp_path: Path) -> None:
    src = write_focus_csv(tmp_path / "x.csv", [focus_row(BilledCost="3")])
    gz = tmp_path / "in" / "ok.csv.gz"
    gz.parent.mkdir(parents=True, exist_ok=True)
    gz.write_bytes(gzip.compress(src.read_bytes()))
    report = workspace.ingest([gz])
    assert [o.status for o in report.outcomes] == ["loaded"]
    assert workspace.query("select sum(BilledCost) from cost").rows[0][0] == Decimal(3)


def test_truncated_parquet(workspace: Workspace, tmp_path: Path, raw_duckdb) -> None:  # type: ignore[no-untyped-def]
    src = write_focus_csv(tmp_path / "x.csv", [focus_row()] * 50)
    pq = tmp_path / "full.parquet"
    raw_duckdb.execute(
        f"COPY (SELECT * FROM read_csv('{src}', all_varchar=true)) TO '{pq}' (FORMAT parquet)"
    )
    bad = tmp_path / "in" / "cut.parquet"
    bad.parent.mkdir(parents=True, exist_ok=True)
    data = pq.read_bytes()
    bad.write_bytes(data[: len(data) - 40])
    reason = _ingest_with_good(workspace, tmp_path, bad)
    assert reason["reason"] == "truncated-parquet"


def test_unknown_format(workspace: Workspace, tmp_path: Path) -> None:
    bad = tmp_path / "in" / "inventory.csv"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("host,owner,ram_gb\nweb-1,alice,16\n")
    reason = _ingest_with_good(workspace, tmp_path, bad)
    assert reason["reason"] == "unknown-format"
    assert "host" in str(reason["message"])  # names what it saw
    assert "supported" in str(reason["hint"])


def test_binary_unknown_format(workspace: Workspace, tmp_path: Path) -> None:
    bad = tmp_path / "in" / "image.csv"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    reason = _ingest_with_good(workspace, tmp_path, bad)
    assert reason["reason"] == "unknown-format"


def test_missing_mandatory_cost_column(workspace: Workspace, tmp_path: Path) -> None:
    cols = [c for c in COLUMNS if c != "BilledCost"]
    bad = write_focus_csv(tmp_path / "in" / "nocost.csv", [focus_row()], columns=cols)
    reason = _ingest_with_good(workspace, tmp_path, bad)
    assert reason["reason"] == "missing-column"
    assert reason["column"] == "BilledCost"


def test_missing_mandatory_date_column(workspace: Workspace, tmp_path: Path) -> None:
    cols = [c for c in COLUMNS if c != "ChargePeriodStart"]
    bad = write_focus_csv(tmp_path / "in" / "nodate.csv", [focus_row()], columns=cols)
    reason = _ingest_with_good(workspace, tmp_path, bad)
    assert reason["reason"] == "missing-column"
    assert reason["column"] == "ChargePeriodStart"


def test_unparsable_number_names_row_and_column(workspace: Workspace, tmp_path: Path) -> None:
    rows = [focus_row(), focus_row(), focus_row(EffectiveCost="12,50 EUR"), focus_row()]
    bad = write_focus_csv(tmp_path / "in" / "badnum.csv", rows)
    reason = _ingest_with_good(workspace, tmp_path, bad)
    assert reason["reason"] == "unparsable-number"
    assert (reason["row"], reason["column"], reason["value"]) == (3, "EffectiveCost", "12,50 EUR")
    assert "plain number" in str(reason["hint"])


def test_unparsable_date_names_row_and_column(workspace: Workspace, tmp_path: Path) -> None:
    rows = [focus_row(), focus_row(ChargePeriodStart="the 3rd of September")]
    bad = write_focus_csv(tmp_path / "in" / "baddate.csv", rows)
    reason = _ingest_with_good(workspace, tmp_path, bad)
    assert reason["reason"] == "unparsable-date"
    assert (reason["row"], reason["column"]) == (2, "ChargePeriodStart")


def test_empty_mandatory_value(workspace: Workspace, tmp_path: Path) -> None:
    rows = [focus_row(), focus_row(), focus_row(BillingAccountId="")]
    bad = write_focus_csv(tmp_path / "in" / "noacct.csv", rows)
    reason = _ingest_with_good(workspace, tmp_path, bad)
    assert reason["reason"] == "missing-value"
    assert (reason["row"], reason["column"]) == (3, "BillingAccountId")


def test_empty_file(workspace: Workspace, tmp_path: Path) -> None:
    bad = tmp_path / "in" / "empty.csv"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(b"")
    reason = _ingest_with_good(workspace, tmp_path, bad)
    assert reason["reason"] == "empty-file"


def test_header_only_file(workspace: Workspace, tmp_path: Path) -> None:
    bad = write_focus_csv(tmp_path / "in" / "header.csv", [])
    reason = _ingest_with_good(workspace, tmp_path, bad)
    assert reason["reason"] == "no-rows"


def test_mixed_billing_currencies(workspace: Workspace, tmp_path: Path) -> None:
    rows = [focus_row(), focus_row(BillingCurrency="EUR")]
    bad = write_focus_csv(tmp_path / "in" / "mixed.csv", rows)
    reason = _ingest_with_good(workspace, tmp_path, bad)
    assert reason["reason"] == "mixed-currency"
    assert "EUR, USD" in str(reason["message"])


def test_currencies_may_differ_across_accounts(workspace: Workspace, tmp_path: Path) -> None:
    rows = [focus_row(), focus_row(BillingAccountId="222", BillingCurrency="EUR")]
    ok = write_focus_csv(tmp_path / "in" / "two.csv", rows)
    assert [o.status for o in workspace.ingest([ok]).outcomes] == ["loaded"]


@pytest.mark.parametrize("tags", ['["team", "web"]', '"web"', "42", "{not json"])
def test_tags_not_a_json_object(workspace: Workspace, tmp_path: Path, tags: str) -> None:
    rows = [focus_row(), focus_row(Tags=tags)]
    bad = write_focus_csv(tmp_path / "in" / "tags.csv", rows)
    reason = _ingest_with_good(workspace, tmp_path, bad)
    assert reason["reason"] == "bad-tags"
    assert (reason["row"], reason["column"]) == (2, "Tags")


def test_duplicate_export_run_in_one_batch(workspace: Workspace, tmp_path: Path) -> None:
    first = _good(tmp_path)
    second = tmp_path / "in" / "copy-of-good.csv"
    shutil.copyfile(first, second)
    report = workspace.ingest([first, second])
    statuses = sorted(o.status for o in report.outcomes)
    assert statuses == ["duplicate", "loaded"]
    assert workspace.query("select count(*) from cost").rows[0][0] == 2


def test_formula_injection_in_tags_is_kept_as_data(workspace: Workspace, tmp_path: Path) -> None:
    evil = "=cmd|' /C calc'!A0"
    rows = [focus_row(Tags=json.dumps({"team": evil, "owner": "+1-555"}))]
    ok = write_focus_csv(tmp_path / "in" / "evil.csv", rows)
    assert [o.status for o in workspace.ingest([ok]).outcomes] == ["loaded"]
    assert workspace.query("select Tags['team'] from cost").rows[0][0] == evil


def test_missing_input_is_reported_not_fatal(workspace: Workspace, tmp_path: Path) -> None:
    good = _good(tmp_path)
    report = workspace.ingest([tmp_path / "nope" / "*.csv", good])
    statuses = sorted(o.status for o in report.outcomes)
    assert statuses == ["loaded", "missing"]


def test_unparsable_number_in_parquet_names_row(
    workspace: Workspace, tmp_path: Path, raw_duckdb
) -> None:  # type: ignore[no-untyped-def]
    src = write_focus_csv(
        tmp_path / "x.csv", [focus_row(), focus_row(), focus_row(BilledCost="oops")]
    )
    bad = tmp_path / "in" / "badnum.parquet"
    bad.parent.mkdir(parents=True, exist_ok=True)
    raw_duckdb.execute(
        f"COPY (SELECT * FROM read_csv('{src}', all_varchar=true)) TO '{bad}' (FORMAT parquet)"
    )
    reason = _ingest_with_good(workspace, tmp_path, bad)
    assert (reason["reason"], reason["row"], reason["column"], reason["value"]) == (
        "unparsable-number",
        3,
        "BilledCost",
        "oops",
    )

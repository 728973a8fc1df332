"""Bad AWS CUR files are quarantined with an error naming the file, the row and the column."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from costline.workspace import Workspace

GOLDEN = (
    Path(__file__).resolve().parents[2] / "golden" / "aws" / "line-item-types" / "cur-legacy.csv"
)


def _rows() -> tuple[list[str], list[dict[str, str]]]:
    with GOLDEN.open(newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_non_numeric_cost_names_file_row_and_column(workspace: Workspace, tmp_path: Path) -> None:
    header, rows = _rows()
    rows[3]["lineItem/UnblendedCost"] = "44,64 USD"
    bad = _write(tmp_path / "cur-bad-cost.csv", header, rows)
    report = workspace.ingest([bad])
    (outcome,) = report.outcomes
    assert outcome.status == "quarantined" and outcome.kind == "aws-cur-legacy"
    assert outcome.error is not None
    loc = outcome.error.location
    assert (loc.file, loc.row, loc.column, loc.value) == (
        str(bad),
        4,
        "lineItem/UnblendedCost",
        "44,64 USD",
    )
    assert "BilledCost" in outcome.message and "line 5" in outcome.message
    assert workspace.query("SELECT count(*) FROM cost").rows == [(0,)]
    assert any(p.name.endswith("cur-bad-cost.csv") for p in workspace.quarantine_dir.iterdir())


def test_cur_without_unblended_cost_is_rejected_before_loading(
    workspace: Workspace, tmp_path: Path
) -> None:
    header, rows = _rows()
    bad = _write(
        tmp_path / "cur-no-cost.csv", [h for h in header if h != "lineItem/UnblendedCost"], rows
    )
    (outcome,) = workspace.ingest([bad]).outcomes
    assert outcome.status == "quarantined" and outcome.kind == "aws-cur-legacy"
    assert outcome.error is not None and outcome.error.location.column == "BilledCost"
    assert "missing mandatory column" in outcome.message
    assert workspace.query("SELECT count(*) FROM cost").rows == [(0,)]


def test_a_good_file_in_the_same_batch_still_loads(workspace: Workspace, tmp_path: Path) -> None:
    header, rows = _rows()
    bad_rows = [dict(r) for r in rows]
    bad_rows[0]["lineItem/UsageStartDate"] = "yesterday"
    bad = _write(tmp_path / "cur-bad-date.csv", header, bad_rows)
    report = workspace.ingest([bad, GOLDEN])
    status = {Path(o.file).name: o.status for o in report.outcomes}
    assert status == {"cur-bad-date.csv": "quarantined", "cur-legacy.csv": "loaded"}
    bad_outcome = next(o for o in report.outcomes if o.status == "quarantined")
    assert bad_outcome.error is not None
    assert (bad_outcome.error.location.row, bad_outcome.error.location.column) == (
        1,
        "lineItem/UsageStartDate",
    )
    # G04 (RIFee) and G08 (SavingsPlanRecurringFee) each add an unused-commitment row.
    assert workspace.query("SELECT count(*) FROM cost").rows == [(len(rows) + 2,)]


def test_bad_amortization_input_names_its_own_column(workspace: Workspace, tmp_path: Path) -> None:
    """EffectiveCost reads several raw columns; the one that does not parse is reported."""
    header, rows = _rows()
    rows[2]["reservation/EffectiveCost"] = "n/a"  # G03, a DiscountedUsage row
    bad = _write(tmp_path / "cur-bad-ri.csv", header, rows)
    (outcome,) = workspace.ingest([bad]).outcomes
    assert outcome.status == "quarantined" and outcome.error is not None
    loc = outcome.error.location
    assert (loc.row, loc.column, loc.value) == (3, "reservation/EffectiveCost", "n/a")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("reservation/UnusedRecurringFee", "two"),
        ("reservation/UnusedQuantity", "37.5h"),
    ],
)
def test_bad_unused_commitment_input_is_named(
    workspace: Workspace, tmp_path: Path, column: str, value: str
) -> None:
    """Columns only the unused-commitment row reads are still checked and named."""
    header, rows = _rows()
    rows[3][column] = value  # G04, the RIFee
    bad = _write(tmp_path / "cur-bad-unused.csv", header, rows)
    (outcome,) = workspace.ingest([bad]).outcomes
    assert outcome.status == "quarantined" and outcome.error is not None
    loc = outcome.error.location
    assert (loc.row, loc.column, loc.value) == (4, column, value)
    assert workspace.query("SELECT count(*) FROM cost").rows == [(0,)]


def test_bad_usage_amount_is_named(workspace: Workspace, tmp_path: Path) -> None:
    header, rows = _rows()
    rows[5]["lineItem/UsageAmount"] = "20 hrs"
    bad = _write(tmp_path / "cur-bad-amount.csv", header, rows)
    (outcome,) = workspace.ingest([bad]).outcomes
    assert outcome.status == "quarantined" and outcome.error is not None
    loc = outcome.error.location
    assert (loc.row, loc.column, loc.value) == (6, "lineItem/UsageAmount", "20 hrs")

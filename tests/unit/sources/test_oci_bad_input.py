"""Bad OCI cost reports: quarantined with the row and raw column named, nothing loads."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from tests.quarantine import quarantined_reason

from costline.workspace import Workspace

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "oci" / "cost_report" / "report.csv"


def _rows() -> list[dict[str, str]]:
    with GOLDEN.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _write(tmp_path: Path, rows: list[dict[str, str]], name: str = "bad.csv") -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("cost/myCost", "USD 0.05"),
        ("cost/unitPrice", "n/a"),
        ("lineItem/intervalUsageStart", "13/11/2023 10:00"),
    ],
)
def test_unparsable_value_names_row_and_column(
    workspace: Workspace, tmp_path: Path, column: str, value: str
) -> None:
    rows = _rows()
    rows[1][column] = value
    reason = quarantined_reason(workspace, _write(tmp_path, rows))
    assert reason["row"] == 2
    assert reason["column"] == column


def test_missing_cost_column_is_named(workspace: Workspace, tmp_path: Path) -> None:
    rows = [{k: v for k, v in r.items() if k != "cost/myCost"} for r in _rows()]
    reason = quarantined_reason(workspace, _write(tmp_path, rows))
    assert reason["reason"] == "missing-column"
    assert "BilledCost" in str(reason["message"])


def test_end_before_start_isquarantined_reason(workspace: Workspace, tmp_path: Path) -> None:
    rows = _rows()
    rows[3]["lineItem/intervalUsageEnd"] = "2024-03-31T23:00:00Z"  # start is 2024-04-01T00:00Z
    reason = quarantined_reason(workspace, _write(tmp_path, rows))
    assert reason["row"] == 4
    assert reason["column"] == "lineItem/intervalUsageEnd"
    assert "intervalUsageEnd is before intervalUsageStart" in str(reason["message"])


def test_empty_mandatory_value_is_named(workspace: Workspace, tmp_path: Path) -> None:
    rows = _rows()
    rows[2]["lineItem/tenantId"] = ""
    reason = quarantined_reason(workspace, _write(tmp_path, rows))
    assert reason["row"] == 3
    assert reason["column"] == "lineItem/tenantId"

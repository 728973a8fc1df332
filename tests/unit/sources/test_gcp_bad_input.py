"""Bad GCP exports: the file is quarantined with the row and raw column named, nothing loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.quarantine import quarantined_reason

from costline.workspace import Workspace

GOLDEN = (
    Path(__file__).resolve().parents[2] / "golden" / "gcp" / "detailed_nested" / "export.ndjson"
)


def _rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in GOLDEN.read_text().splitlines() if line.strip()]


def _write(tmp_path: Path, rows: list[dict[str, Any]], name: str = "bad.ndjson") -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_end_before_start_is_quarantined_naming_the_row(
    workspace: Workspace, tmp_path: Path
) -> None:
    rows = _rows()
    rows[2]["usage_end_time"] = "2024-09-10 09:00:00 UTC"  # start is 10:00
    reason = quarantined_reason(workspace, _write(tmp_path, rows))
    assert reason["row"] == 3
    assert reason["column"] == "usage_end_time"
    assert "usage_end_time is before usage_start_time" in str(reason["message"])


def test_equal_start_and_end_is_accepted(workspace: Workspace, tmp_path: Path) -> None:
    rows = _rows()
    rows[0]["usage_end_time"] = rows[0]["usage_start_time"]
    report = workspace.ingest([_write(tmp_path, rows)])
    assert [o.status for o in report.outcomes] == ["loaded"]


@pytest.mark.parametrize(
    ("field", "value", "column"),
    [
        ("cost", "12,50 EUR", "cost"),
        (
            "credits",
            [
                {
                    "name": "x",
                    "amount": "minus one",
                    "full_name": "x",
                    "id": "x",
                    "type": "PROMOTION",
                }
            ],
            "credits",
        ),
        ("invoice", {"month": "2024-9", "publisher_type": "GOOGLE"}, "invoice"),
        ("usage_start_time", "yesterday", "usage_start_time"),
        (
            "usage",
            {
                "amount": "lots",
                "unit": "seat",
                "amount_in_pricing_units": "1",
                "pricing_unit": "seat",
            },
            "usage",
        ),
    ],
)
def test_unparsable_value_names_row_and_column(
    workspace: Workspace, tmp_path: Path, field: str, value: Any, column: str
) -> None:
    rows = _rows()
    rows[4][field] = value
    reason = quarantined_reason(workspace, _write(tmp_path, rows))
    assert reason["row"] == 5
    assert reason["column"] == column


def test_missing_cost_column_is_named(workspace: Workspace, tmp_path: Path) -> None:
    rows = [{k: v for k, v in r.items() if k != "cost"} for r in _rows()]
    reason = quarantined_reason(workspace, _write(tmp_path, rows))
    assert reason["reason"] == "missing-column"
    assert "BilledCost" in str(reason["message"])


def test_missing_invoice_month_falls_back_to_usage_month(
    workspace: Workspace, tmp_path: Path
) -> None:
    rows = [{k: v for k, v in r.items() if k != "invoice"} for r in _rows()]
    workspace.ingest([_write(tmp_path, rows)])
    periods = workspace.query(
        "SELECT DISTINCT strftime(BillingPeriodStart, '%Y-%m') FROM cost ORDER BY 1"
    ).rows
    # The August correction now lands in August: without invoice.month nothing says otherwise.
    assert periods == [("2024-08",), ("2024-09",)]

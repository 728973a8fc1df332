"""OCI cost reports are incremental: each file adds lines, a file of the same name replaces its own."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb

from costline.workspace import Workspace

OCI = "oci/oci-cost-report-csv-focus-converters.csv"


def _split(src: Path, out: Path, raw: duckdb.DuckDBPyConnection) -> tuple[Path, Path, Decimal]:
    """Two report files: the hours before 09:00, and from 09:00 (as OCI would write them)."""
    out.mkdir(parents=True, exist_ok=True)
    rel = f"read_csv('{src}', all_varchar=true, header=true)"
    first, second = out / "0001000000001.csv", out / "0001000000002.csv"
    start = '"lineItem/intervalUsageStart"'
    raw.execute(f"COPY (SELECT * FROM {rel} WHERE {start} < '2023-11-13T09') TO '{first}' (HEADER)")
    raw.execute(
        f"COPY (SELECT * FROM {rel} WHERE {start} >= '2023-11-13T09') TO '{second}' (HEADER)"
    )
    total = raw.execute(f'SELECT sum(CAST("cost/myCost" AS DECIMAL(38, 10))) FROM {rel}').fetchone()
    assert total is not None
    return first, second, total[0]


def test_reports_add_up_and_a_resent_report_replaces_only_itself(
    workspace: Workspace, reference: Path, tmp_path: Path, raw_duckdb: duckdb.DuckDBPyConnection
) -> None:
    first, second, total = _split(reference / OCI, tmp_path / "reports", raw_duckdb)
    workspace.ingest([first])
    report = workspace.ingest([second])
    assert report.loads[0].replaced_rows == 0, "an incremental report must not replace the month"
    assert workspace.query("select sum(BilledCost) from cost").rows[0][0] == total
    # the first report is re-sent with one line corrected: only its own rows are replaced
    lines = first.read_text().splitlines()
    n_first = len(lines) - 1
    first.write_text("\n".join(lines[:-1]) + "\n")
    again = workspace.ingest([first])
    assert again.loads[0].replaced_rows == n_first
    after = workspace.query("select count(*) from cost").rows[0][0]
    assert after == n_first - 1 + (len(second.read_text().splitlines()) - 1)

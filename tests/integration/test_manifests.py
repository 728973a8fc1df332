"""CUR manifests: only the current assembly loads, as one unit; a partial download loads nothing.

The data files here are small FOCUS CSVs standing in for CUR parts: manifest handling is the
same whatever the format of the parts.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from costline.workspace import Workspace
from tests.focus_files import focus_row, write_focus_csv


def _legacy_period(root: Path, assemblies: dict[str, list[str]], current: str) -> Path:
    """<root>/20240901-20241001/<assembly>/acme-<n>.csv plus the period's top manifest."""
    period = root / "acme" / "20240901-20241001"
    for assembly, costs in assemblies.items():
        for n, cost in enumerate(costs, start=1):
            write_focus_csv(period / assembly / f"acme-{n}.csv", [focus_row(BilledCost=cost)])
    keys = [
        f"cur/acme/20240901-20241001/{current}/acme-{n}.csv"
        for n in range(1, len(assemblies[current]) + 1)
    ]
    manifest = {
        "assemblyId": current,
        "reportKeys": keys,
        "billingPeriod": {"start": "20240901T000000.000Z", "end": "20241001T000000.000Z"},
    }
    (period / "acme-Manifest.json").write_text(json.dumps(manifest))
    # AWS also writes a copy of each assembly's manifest inside the assembly folder
    for assembly, costs in assemblies.items():
        inner = dict(
            manifest,
            assemblyId=assembly,
            reportKeys=[
                f"cur/acme/20240901-20241001/{assembly}/acme-{n}.csv"
                for n in range(1, len(costs) + 1)
            ],
        )
        (period / assembly / "acme-Manifest.json").write_text(json.dumps(inner))
    return period


def test_only_the_current_assembly_loads(workspace: Workspace, tmp_path: Path) -> None:
    period = _legacy_period(
        tmp_path, {"old-run": ["100", "200"], "new-run": ["1", "2", "3"]}, current="new-run"
    )
    report = workspace.ingest([tmp_path / "acme"])
    by_status: dict[str, list[str]] = {}
    for o in report.outcomes:
        by_status.setdefault(o.status, []).append(str(Path(o.file).relative_to(period)))
    assert sorted(by_status["loaded"]) == [
        "new-run/acme-1.csv",
        "new-run/acme-2.csv",
        "new-run/acme-3.csv",
    ]
    assert sorted(by_status["skipped"]) == [
        "new-run/acme-Manifest.json",
        "old-run/acme-1.csv",
        "old-run/acme-2.csv",
        "old-run/acme-Manifest.json",
    ]
    assert by_status["manifest"] == ["acme-Manifest.json"]
    assert len(report.loads) == 1, "the manifest's parts load as one unit"
    assert workspace.query("select sum(BilledCost) from cost").rows[0][0] == Decimal(6)


def test_incomplete_download_loads_nothing(workspace: Workspace, tmp_path: Path) -> None:
    period = _legacy_period(tmp_path, {"run": ["1", "2", "3"]}, current="run")
    (period / "run" / "acme-2.csv").unlink()
    report = workspace.ingest([tmp_path / "acme"])
    top = next(o for o in report.outcomes if o.file.endswith("20241001/acme-Manifest.json"))
    assert top.status == "quarantined" and top.error is not None
    assert top.error.reason == "incomplete-export"  # type: ignore[attr-defined]
    assert "acme-2.csv" in top.message
    assert not report.loads
    assert workspace.query("select count(*) from cost").rows[0][0] == 0


def test_new_part_reloads_the_whole_unit(workspace: Workspace, tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_focus_csv(run / "cur-00001.csv", [focus_row(BilledCost="1")])
    write_focus_csv(run / "cur-00002.csv", [focus_row(BilledCost="2")])
    workspace.ingest([run])
    # a restated export rewrites part 2 only; part 1 is byte-identical
    write_focus_csv(run / "cur-00002.csv", [focus_row(BilledCost="5")])
    report = workspace.ingest([run])
    assert {o.status for o in report.outcomes} == {"loaded"}
    assert workspace.query("select sum(BilledCost) from cost").rows[0][0] == Decimal(6)
    again = workspace.ingest([run])
    assert {o.status for o in again.outcomes} == {"unchanged"}


def test_cur2_data_exports_layout(workspace: Workspace, tmp_path: Path) -> None:
    data = tmp_path / "exp" / "data" / "BILLING_PERIOD=2024-09"
    write_focus_csv(data / "exp-00001.csv", [focus_row(BilledCost="4")])
    write_focus_csv(data / "exp-00002.csv", [focus_row(BilledCost="6")])
    meta = tmp_path / "exp" / "metadata" / "BILLING_PERIOD=2024-09"
    meta.mkdir(parents=True)
    (meta / "exp-Manifest.json").write_text(
        json.dumps(
            {
                "executionId": "e1",
                "dataFiles": [
                    "s3://bkt/p/exp/data/BILLING_PERIOD=2024-09/exp-00001.csv",
                    "s3://bkt/p/exp/data/BILLING_PERIOD=2024-09/exp-00002.csv",
                ],
            }
        )
    )
    report = workspace.ingest([tmp_path / "exp"])
    assert len(report.loads) == 1
    assert workspace.query("select sum(BilledCost) from cost").rows[0][0] == Decimal(10)

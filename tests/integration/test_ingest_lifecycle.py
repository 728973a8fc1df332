"""Idempotency, restatement (a newer export replaces its partition whole) and lineage."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

from costline.workspace import Workspace
from tests.focus_files import focus_row, write_focus_csv

SNAPSHOT = "select * from cost order by all"


def _september(tmp_path: Path, name: str, costs: list[str], account: str = "111") -> Path:
    rows = [focus_row(BilledCost=c, EffectiveCost=c, BillingAccountId=account) for c in costs]
    return write_focus_csv(tmp_path / name, rows)


def test_ingest_three_times_is_identical(workspace: Workspace, tmp_path: Path) -> None:
    export = _september(tmp_path, "sep.csv", ["1.10", "2.20", "3.30"])
    first = workspace.ingest([export])
    before = workspace.query(SNAPSHOT).rows
    manifests = workspace.query("select count(*) from _ingestions").rows
    for _ in range(2):
        again = workspace.ingest([export])
        assert [o.status for o in again.outcomes] == ["unchanged"]
        assert again.outcomes[0].ingestion_id == first.outcomes[0].ingestion_id
    assert workspace.query(SNAPSHOT).rows == before
    assert workspace.query("select count(*) from _ingestions").rows == manifests


def test_restatement_replaces_partition_whole(workspace: Workspace, tmp_path: Path) -> None:
    workspace.ingest([_september(tmp_path, "v1.csv", ["1", "2", "3"])])
    workspace.ingest([_september(tmp_path, "other.csv", ["100"], account="222")])
    report = workspace.ingest([_september(tmp_path, "v2.csv", ["5", "5"])])
    assert report.loads[0].replaced_rows == 3
    rows = workspace.query(
        "select BillingAccountId, count(*), sum(BilledCost) from cost group by 1 order by 1"
    ).rows
    assert rows == [("111", 2, Decimal("10.0000000000")), ("222", 1, Decimal("100.0000000000"))]
    history = workspace.query(
        "select count(*) from _partition_history where BillingAccountId = '111'"
    ).rows
    assert history == [(2,)]


def test_restatement_leaves_other_periods(workspace: Workspace, tmp_path: Path) -> None:
    oct_row = focus_row(
        BillingPeriodStart="2024-10-01T00:00:00Z",
        BillingPeriodEnd="2024-11-01T00:00:00Z",
        ChargePeriodStart="2024-10-02T00:00:00Z",
        ChargePeriodEnd="2024-10-03T00:00:00Z",
        BilledCost="7",
    )
    both = write_focus_csv(tmp_path / "both.csv", [focus_row(BilledCost="1"), oct_row])
    workspace.ingest([both])
    workspace.ingest([_september(tmp_path, "sep-v2.csv", ["4"])])
    rows = workspace.query(
        "select strftime(BillingPeriodStart, '%Y-%m'), sum(BilledCost) from cost group by 1 order by 1"
    ).rows
    assert rows == [("2024-09", Decimal("4.0000000000")), ("2024-10", Decimal("7.0000000000"))]


def test_old_export_sent_again_is_a_no_op(workspace: Workspace, tmp_path: Path) -> None:
    v1 = _september(tmp_path, "v1.csv", ["1"])
    workspace.ingest([v1])
    workspace.ingest([_september(tmp_path, "v2.csv", ["2"])])
    assert [o.status for o in workspace.ingest([v1]).outcomes] == ["unchanged"]
    assert workspace.query("select sum(BilledCost) from cost").rows[0][0] == Decimal(2)


def test_lineage_columns_and_landing_copy(workspace: Workspace, tmp_path: Path) -> None:
    export = _september(tmp_path, "sep.csv", ["1"])
    report = workspace.ingest([export])
    row = workspace.query("select x_SourceFile, x_IngestionId, x_SourceKind from cost").rows[0]
    assert row == (str(export.resolve()), report.loads[0].ingestion_id, "focus-1.0")
    landed = list((workspace.landing_dir / "focus").glob("*-sep.csv"))
    assert len(landed) == 1 and landed[0].read_bytes() == export.read_bytes()


def test_multi_part_export_loads_as_one_unit(workspace: Workspace, tmp_path: Path) -> None:
    part1 = _september(tmp_path / "run", "cur-00001.csv", ["1", "2"])
    part2 = _september(tmp_path / "run", "cur-00002.csv", ["3"])
    report = workspace.ingest([tmp_path / "run"])
    assert len(report.loads) == 1 and report.loads[0].rows == 3
    assert {o.status for o in report.outcomes} == {"loaded"}
    assert workspace.query("select sum(BilledCost) from cost").rows[0][0] == Decimal(6)
    files = workspace.query("select distinct x_SourceFile from cost order by 1").rows
    assert [Path(f[0]).name for f in files] == [part1.name, part2.name]


def test_bigquery_extract_shards_load_as_one_unit(workspace: Workspace, tmp_path: Path) -> None:
    _september(tmp_path / "bq", "billing-000000000000.csv", ["1"])
    _september(tmp_path / "bq", "billing-000000000001.csv", ["2"])
    report = workspace.ingest([tmp_path / "bq"])
    assert len(report.loads) == 1
    assert workspace.query("select sum(BilledCost) from cost").rows[0][0] == Decimal(3)


def test_dated_month_to_date_exports_are_not_parts(workspace: Workspace, tmp_path: Path) -> None:
    # two cumulative exports of September: the later one replaces the earlier, never adds to it
    early = _september(tmp_path / "az", "costs_20240915.csv", ["1"])
    late = _september(tmp_path / "az", "costs_20240930.csv", ["1", "2"])
    os.utime(early, (1_000, 1_000))
    os.utime(late, (2_000, 2_000))
    report = workspace.ingest([tmp_path / "az"])
    assert len(report.loads) == 2
    assert workspace.query("select sum(BilledCost) from cost").rows[0][0] == Decimal(3)


def test_configured_sources_with_kinds(workspace: Workspace, tmp_path: Path) -> None:
    _september(workspace.root / "exports" / "focus", "sep.csv", ["4"])
    cfg = workspace.root / "costline.yaml"
    cfg.write_text(
        cfg.read_text().replace(
            "sources: []",
            "sources:\n  - name: focus\n    paths: [exports/focus]\n    kind: focus\n"
            "  - name: wrong\n    paths: [exports/focus/*.csv]\n    kind: oci\n",
        )
    )
    ws = Workspace.open(workspace.root)
    report = ws.ingest()
    statuses = sorted((Path(o.file).name, o.status) for o in report.outcomes)
    # the first source loads it; the second lists the same file, already ingested by content
    assert statuses == [("sep.csv", "loaded"), ("sep.csv", "unchanged")]
    fresh = Workspace.init(tmp_path / "fresh")
    cfg = fresh.root / "costline.yaml"
    cfg.write_text(
        cfg.read_text().replace(
            "sources: []",
            f"sources:\n  - name: wrong\n    paths: [{tmp_path}/sep.csv]\n    kind: oci\n",
        )
    )
    _september(tmp_path, "sep.csv", ["4"])
    outcome = Workspace.open(fresh.root).ingest().outcomes[0]
    assert outcome.status == "quarantined" and "configured as kind 'oci'" in outcome.message

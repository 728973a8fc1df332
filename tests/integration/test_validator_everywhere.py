"""Invariant 5: the FOCUS export of every reference export, and of the demo company, passes
the FinOps Foundation FOCUS 1.3 validator (tests/validator.py says which rules are ignored and
why). One export per provider and file, as a user would run it."""

from __future__ import annotations

from pathlib import Path

import pytest

from costline.core.progress import NoProgress
from costline.service_demo import run_demo
from costline.workspace import Workspace
from tests.validator import assert_passes

AWS = [
    "aws/cur-legacy-csv-anonymized-focus-converters.csv",
    "aws/cur-legacy-athena-parquet-wa-labs-Oct2018.snappy.parquet",
    "aws/cur-legacy-athena-parquet-wa-labs-Nov2018.snappy.parquet",
    "aws/cur-legacy-athena-parquet-wa-labs-Dec2018.snappy.parquet",
]


@pytest.mark.validator
@pytest.mark.slow
@pytest.mark.parametrize("name", AWS)
def test_aws_reference_exports(name: str, reference: Path, tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    report = ws.ingest([reference / name])
    assert report.loads, report.outcomes
    assert_passes(ws.export_focus(tmp_path / "out", fmt="parquet"))


@pytest.mark.validator
@pytest.mark.slow
def test_demo_company(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "demo")
    run_demo(ws, rows=300, seed=11, progress=NoProgress())
    assert_passes(ws.export_focus(tmp_path / "out", fmt="parquet"))

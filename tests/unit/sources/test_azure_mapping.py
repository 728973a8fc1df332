"""Golden tests: small hand-written Azure exports → the FOCUS values derived from the docs.

Each case under tests/golden/azure/<case>/ has an ``input.csv`` (EA actual/amortized, MCA,
pay-as-you-go with a BOM, German headers, lower-case headers) and an ``expected.json`` whose
values were worked out by hand from Microsoft's Cost Management→FOCUS conversion table and the
FOCUS 1.3 rules (docs/connectors/azure.md explains each rule). Rows are keyed by their
ChargeDescription; ``all_rows`` holds values every row must have.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costline.ingest import Ingestor
from costline.schema.focus import STORE_COLUMNS
from costline.sources.azure import build_mapping, detect
from costline.sources.base import RawColumns
from costline.storage.duckdb import DuckDBWarehouse

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "azure"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "expected.json").is_file())


@pytest.fixture
def warehouse() -> Iterator[DuckDBWarehouse]:
    wh = DuckDBWarehouse(None)
    wh.ensure_schema()
    yield wh
    wh.close()


def _load(wh: DuckDBWarehouse, path: Path) -> dict[str, dict[str, Any]]:
    report = Ingestor(wh, landing_dir=None, quarantine_dir=None).run([path])
    assert not report.failed, [o.message for o in report.failed]
    cur = wh.con.execute("SELECT * FROM cost")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    keyed = {r["ChargeDescription"]: r for r in rows}
    assert len(keyed) == len(rows), "golden rows must have distinct ChargeDescription"
    return keyed


def _same(actual: Any, expected: Any) -> bool:
    if expected is None or actual is None:
        return actual is expected
    if isinstance(actual, Decimal):
        return actual == Decimal(expected)
    if isinstance(actual, datetime):
        return actual == datetime.fromisoformat(expected)
    return bool(actual == expected)


def _mismatches(row: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    return [
        f"{col}: got {row[col]!r}, expected {value!r}"
        for col, value in expected.items()
        if not _same(row[col], value)
    ]


def test_every_case_has_input() -> None:
    assert CASES, f"no golden cases in {GOLDEN}"
    assert {"ea-actual", "ea-amortized", "mca", "payg-bom", "german-headers"} <= set(CASES)
    for case in CASES:
        assert (GOLDEN / case / "input.csv").is_file()


@pytest.mark.parametrize("case", CASES)
def test_golden_case(case: str, warehouse: DuckDBWarehouse) -> None:
    spec = json.loads((GOLDEN / case / "expected.json").read_text())
    rows = _load(warehouse, GOLDEN / case / "input.csv")
    assert set(rows) == set(spec["rows"])
    problems = []
    for key, row in rows.items():
        for bad in _mismatches(row, {**spec.get("all_rows", {}), **spec["rows"][key]}):
            problems.append(f"{key}: {bad}")
    assert not problems, "\n".join(problems)


def test_actual_file_totals_are_the_invoice(warehouse: DuckDBWarehouse) -> None:
    """Actual cost: Σ BilledCost is every charge; the RI purchase/refund leave EffectiveCost."""
    _load(warehouse, GOLDEN / "ea-actual" / "input.csv")
    billed, effective = warehouse.con.execute(
        "SELECT sum(BilledCost), sum(EffectiveCost) FROM cost"
    ).fetchone()
    # 1.92 + 0.2 + 30 - 10 + 5 - 0.01 + 100 (all raw CostInBillingCurrency values)
    assert billed == Decimal("127.11")
    # the same without the reservation purchase (30) and refund (-10)
    assert effective == Decimal("107.11")


def test_amortized_file_totals_are_the_amortized_cost(warehouse: DuckDBWarehouse) -> None:
    """Amortized cost: Σ EffectiveCost is every row; commitment consumption is not billed again."""
    _load(warehouse, GOLDEN / "ea-amortized" / "input.csv")
    billed, effective, used, unused = warehouse.con.execute(
        """SELECT sum(BilledCost), sum(EffectiveCost),
                  sum(EffectiveCost) FILTER (WHERE CommitmentDiscountStatus = 'Used'),
                  sum(EffectiveCost) FILTER (WHERE CommitmentDiscountStatus = 'Unused')
           FROM cost"""
    ).fetchone()
    assert billed == Decimal("1")  # only the on-demand storage row
    assert effective == Decimal("5.5")  # 1.2 + 0.6 + 0.2 + 2.5 + 1
    assert used + unused == Decimal("4.5")  # FOCUS EffectiveCost-C-013: used + unused


def test_tags_keep_empty_values_and_trim_keys(warehouse: DuckDBWarehouse) -> None:
    rows = _load(warehouse, GOLDEN / "ea-amortized" / "input.csv")
    assert rows["Storage LRS data stored"]["Tags"] == {"team": "web", "cost-center": ""}


@pytest.mark.parametrize("case", CASES)
def test_mapping_names_only_store_columns(case: str) -> None:
    """A misspelt key would be dropped silently by the SELECT builder."""
    with (GOLDEN / case / "input.csv").open(encoding="utf-8-sig", newline="") as fh:
        cols = RawColumns.of(dict.fromkeys(next(csv.reader(fh)), "VARCHAR"))
    found = detect(cols)
    assert found is not None
    assert set(build_mapping(cols, found)) <= {c.name for c in STORE_COLUMNS}

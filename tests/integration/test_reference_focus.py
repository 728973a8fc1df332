"""The FOCUS reference files: costline's totals equal plain DuckDB over the raw file.

Expected values are computed here, from the raw CSV, with plain DuckDB (the ``raw_duckdb``
fixture has none of costline's macros). Two things costline does on purpose are written out
in the expected SQL rather than hidden:

* Money is stored as DECIMAL(38, 10); the sample has values with 11 decimals (7 BilledCost
  values have a non-zero 11th digit), so the expected sums round each raw value to 10 decimals
  first, and a separate test bounds the difference to the exact raw sum.
* ListCost follows the FOCUS rule "ListCost MUST equal the product of ListUnitPrice and
  PricingQuantity when both are not null" where the file contradicts it (rows whose raw
  ListUnitPrice × PricingQuantity differs from ListCost beyond 1e-9 relative), and equals
  BilledCost where the file leaves it null (docs/connectors/focus.md).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from costline.workspace import Workspace

SAMPLE = "focus-1.0-finops-foundation-sample-1000.csv"
CONTRACTS = "focus-1.3-contractcommitment-aws-synthetic-guymano.csv"
MONEY = "DECIMAL(38, 10)"


def _m(col: str) -> str:
    return f"CAST({col} AS {MONEY})"


# A row is priced (has a SkuPriceId) when the file gives one, or, for Usage/Purchase rows
# that are not corrections and have a list price, when FOCUS 1.1's "SkuId can be used" applies.
_PRICED = (
    "ChargeCategory <> 'Tax' AND (SkuPriceId IS NOT NULL OR (ChargeCategory IN ('Usage', "
    "'Purchase') AND ChargeClass IS DISTINCT FROM 'Correction' AND ListUnitPrice IS NOT NULL "
    "AND SkuId IS NOT NULL))"
)
_PRODUCT = f"{_m('ListUnitPrice')} * {_m('PricingQuantity')}"
_LIST_COST = (
    f"CASE WHEN {_PRICED} AND ListUnitPrice IS NOT NULL AND PricingQuantity IS NOT NULL AND "
    f"(ListCost IS NULL OR abs({_PRODUCT} - {_m('ListCost')}) > "
    f"1e-9 * greatest(abs({_m('ListCost')}), 1)) THEN CAST({_PRODUCT} AS {MONEY}) "
    f"ELSE COALESCE({_m('ListCost')}, {_m('BilledCost')}) END"
)


def _raw(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    con.execute(
        f"CREATE OR REPLACE VIEW raw AS SELECT * FROM read_csv('{path}', all_varchar = true, "
        "nullstr = ['', 'NULL'])"
    )
    return "raw"


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory: pytest.TempPathFactory, reference: Path) -> Workspace:
    ws = Workspace.init(tmp_path_factory.mktemp("focus-ref") / "ws")
    report = ws.ingest([reference / "focus" / SAMPLE])
    assert [(o.status, o.rows) for o in report.outcomes] == [("loaded", 1000)], report.outcomes
    return ws


def _by_key(rows: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {tuple(r[:2]): tuple(r[2:]) for r in rows}


def test_totals_per_period_and_account_equal_the_raw_file(
    sample_ws: Workspace, reference: Path, raw_duckdb: duckdb.DuckDBPyConnection
) -> None:
    _raw(raw_duckdb, reference / "focus" / SAMPLE)
    expected = raw_duckdb.execute(f"""
        SELECT CAST(BillingPeriodStart AS TIMESTAMP), BillingAccountId, count(*),
               sum({_m("BilledCost")}), sum({_m("EffectiveCost")}), sum({_LIST_COST}),
               count(*) FILTER (WHERE Tags IS NOT NULL AND Tags <> '{{}}')
        FROM raw GROUP BY ALL""").fetchall()
    got = sample_ws.query("""
        SELECT BillingPeriodStart, BillingAccountId, count(*), sum(BilledCost),
               sum(EffectiveCost), sum(ListCost), count(*) FILTER (WHERE cardinality(Tags) > 0)
        FROM cost GROUP BY ALL""").rows
    assert len(expected) == 4  # 3 accounts in 2024-09, the Oracle account again in 2024-10
    assert _by_key(got) == _by_key(expected)


def test_stored_totals_are_within_storage_rounding_of_the_exact_raw_sums(
    sample_ws: Workspace, reference: Path, raw_duckdb: duckdb.DuckDBPyConnection
) -> None:
    _raw(raw_duckdb, reference / "focus" / SAMPLE)
    exact = raw_duckdb.execute(
        "SELECT sum(CAST(BilledCost AS DECIMAL(38, 15))), "
        "sum(CAST(EffectiveCost AS DECIMAL(38, 15))), count(*) FROM raw"
    ).fetchone()
    got = sample_ws.query("SELECT sum(BilledCost), sum(EffectiveCost) FROM cost").rows[0]
    assert exact is not None
    bound = Decimal("0.5e-10") * exact[2]
    assert abs(got[0] - exact[0]) <= bound and abs(got[1] - exact[1]) <= bound


def test_list_cost_corrections_are_only_the_rows_that_contradict_their_unit_price(
    sample_ws: Workspace, reference: Path, raw_duckdb: duckdb.DuckDBPyConnection
) -> None:
    _raw(raw_duckdb, reference / "focus" / SAMPLE)
    changed = raw_duckdb.execute(
        f"SELECT count(*) FROM raw WHERE ({_LIST_COST}) IS DISTINCT FROM {_m('ListCost')}"
    ).fetchone()
    assert changed is not None and changed[0] > 0
    stored = sample_ws.query("SELECT count(*) FROM cost WHERE ListCost IS NULL").rows[0][0]
    assert stored == 0


def test_contract_commitment_dataset_is_skipped(
    make_workspace: Callable[..., Workspace], reference: Path
) -> None:
    ws = make_workspace()
    outcome = ws.ingest([reference / "focus" / CONTRACTS]).outcomes[0]
    assert outcome.status == "skipped"
    assert "ContractCommitment" in outcome.message
    assert ws.query("SELECT count(*) FROM cost").rows == [(0,)]

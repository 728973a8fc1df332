"""Every Azure reference export (shared/reference-data/azure) through a real workspace.

Expected figures are computed here, straight from the raw files with plain DuckDB, from the
documented rules (docs/connectors/azure.md) — never from costline's own mapping:

* BilledCost: the raw cost, 0 for commitment consumption (usage priced by a reservation or
  savings plan, unused reservation/savings-plan rows);
* EffectiveCost: the raw cost, 0 for commitment purchases/refunds;
* ListCost: list unit price × Quantity on usage/purchase rows with a meter and a price (list
  price = PayGPrice, or UnitPrice where EA writes a 0 retail price next to a positive one),
  else the raw cost;
* account: ``/providers/Microsoft.Billing/billingAccounts/<BillingAccountId>`` (EA) or
  ``/subscriptions/<subscription>`` (pay-as-you-go); period: BillingPeriodStartDate or the
  charge date's month; a row is tagged when its Tags has at least one key.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from costline.workspace import Workspace
from tests.validator import assert_passes

LOADS = (
    "ea-actualcost-export-anonymized-focus-converters.csv",
    "ea-actualcost-small-finops-toolkit.csv",
    "ea-amortizedcost-small-finops-toolkit.csv",
    "opencost-azure-ea-export-headers.csv",
    "opencost-azure-payg-export-german-headers.csv",
)
# file → (reason, data row, raw column): what costline must say about the files it cannot load.
QUARANTINED = {
    # 11-field header, 10-field rows and no currency column at all: costline does not guess.
    "opencost-azure-export-lowercase-headers-template.csv": (
        "missing-column",
        None,
        "BillingCurrency",
    ),
    # the one data row is empty except its date: no subscription (= billing account), no cost.
    "opencost-azure-payg-export-utf8-bom.csv": ("missing-value", 1, "SubscriptionGuid"),
}
ACTUAL, AMORTIZED = LOADS[1], LOADS[2]
MONEY = "DECIMAL(38, 10)"
COMMITMENTS = "('reservation', 'savingsplan')"


# -- independent expectations (plain DuckDB over the raw file) --------------------------------


def _key(name: str) -> str:
    """Header → lookup key: BOM, case, spaces and a localised prefix do not matter."""
    name = name.lstrip("\ufeff").strip()
    match = re.search(r"\(([^()]+)\)\s*$", name)
    return (match.group(1) if match else name).replace(" ", "").lower()


def _reader(path: Path) -> str:
    return (
        f"read_csv('{path}', header = true, all_varchar = true, quote = '\"', "
        "escape = '\"', null_padding = true)"
    )


def _columns(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {_reader(path)}").fetchall()]
    return {_key(n): n for n in reversed(names)}


def _rows_sql(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """One SELECT with the raw values each expectation needs, under fixed names."""
    cols = _columns(con, path)

    def col(*keys: str) -> str:
        found = next((cols[k] for k in keys if k in cols), None)
        return "NULL" if found is None else f"NULLIF(TRIM(\"{found}\"), '')"

    def money(*keys: str) -> str:
        return f"CAST({col(*keys)} AS {MONEY})"

    def date(key: str) -> str:
        v = col(key)
        us = f"strptime({v}, '%m/%d/%Y')"
        return f"CASE WHEN {v} LIKE '%/%' THEN {us} ELSE CAST({v} AS TIMESTAMP) END"

    if "billingaccountid" in cols:
        account = f"'/providers/Microsoft.Billing/billingAccounts/' || {col('billingaccountid')}"
    else:
        account = f"'/subscriptions/' || {col('subscriptionid', 'subscriptionguid')}"
    charge = date("date") if "date" in cols else date("usagedatetime")
    period = (
        date("billingperiodstartdate")
        if "billingperiodstartdate" in cols
        else f"date_trunc('month', {charge})"
    )
    return f"""
        SELECT {account} AS account, CAST({period} AS TIMESTAMP) AS period,
               {money("costinbillingcurrency", "cost", "pretaxcost")} AS cost,
               COALESCE(lower(replace({col("chargetype")}, ' ', '')), 'usage') AS ct,
               lower(replace({col("pricingmodel")}, ' ', '')) AS pm,
               NULLIF(concat_ws('_', {col("meterid")}, {col("partnumber")}), '') AS meter,
               {money("quantity", "usagequantity")} AS qty,
               {money("paygprice")} AS paygo, {money("unitprice", "resourcerate")} AS unit,
               {money("paygcostinbillingcurrency")} AS payg_cost, {col("tags")} AS tags
        FROM {_reader(path)}"""


def expected_totals(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple[Any, ...]]:
    rows = _rows_sql(con, path)
    price = "CASE WHEN paygo IS NULL OR (paygo = 0 AND unit > 0) THEN unit ELSE paygo END"
    priced = (
        f"meter IS NOT NULL AND ({price}) IS NOT NULL AND qty IS NOT NULL AND ct IN "
        "('usage', 'purchase', 'unusedreservation', 'unusedsavingsplan')"
    )
    tags = "CASE WHEN starts_with(tags, '{') THEN tags ELSE '{' || tags || '}' END"
    return con.execute(f"""
        SELECT account, period, count(*),
               sum(CASE WHEN (ct = 'usage' AND pm IN {COMMITMENTS})
                         OR ct IN ('unusedreservation', 'unusedsavingsplan') THEN 0 ELSE cost END),
               sum(CASE WHEN ct IN ('purchase', 'refund') AND pm IN {COMMITMENTS}
                        THEN 0 ELSE cost END),
               sum(CASE WHEN {priced} THEN CAST(({price}) * qty AS {MONEY})
                        WHEN ct = 'usage' THEN COALESCE(payg_cost, cost) ELSE cost END),
               count(*) FILTER (WHERE tags IS NOT NULL AND len(json_keys({tags})) > 0)
        FROM ({rows}) GROUP BY ALL ORDER BY ALL""").fetchall()


# -- costline ---------------------------------------------------------------------------------

TOTALS = """SELECT BillingAccountId, BillingPeriodStart, count(*), sum(BilledCost),
                   sum(EffectiveCost), sum(ListCost), count(*) FILTER (WHERE cardinality(Tags) > 0)
            FROM cost GROUP BY ALL ORDER BY ALL"""


def _ingest_one(tmp_path: Path, path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / path.stem)
    report = ws.ingest([path])
    assert [o.status for o in report.outcomes] == ["loaded"], report.outcomes
    return ws


def test_every_reference_file_is_classified(reference: Path) -> None:
    found = {p.name for p in (reference / "azure").iterdir() if p.is_file()}
    assert found == set(LOADS) | set(QUARANTINED), "classify new reference files in this test"


@pytest.mark.parametrize("name", LOADS)
def test_totals_per_account_and_period_match_the_raw_file(
    tmp_path: Path, reference: Path, raw_duckdb: duckdb.DuckDBPyConnection, name: str
) -> None:
    path = reference / "azure" / name
    ws = _ingest_one(tmp_path, path)
    got = [tuple(r) for r in ws.query(TOTALS).rows]
    assert got == expected_totals(raw_duckdb, path)
    assert ws.query("SELECT DISTINCT x_Provider FROM cost").rows == [("azure",)]


@pytest.mark.parametrize("name", sorted(QUARANTINED))
def test_unloadable_files_are_quarantined_with_the_exact_reason(
    tmp_path: Path, reference: Path, name: str
) -> None:
    ws = Workspace.init(tmp_path / "ws")
    report = ws.ingest([reference / "azure" / name])
    (outcome,) = report.outcomes
    assert outcome.status == "quarantined"
    reason_code, row, column = QUARANTINED[name]
    (reason_file,) = ws.quarantine_dir.glob(f"*-{name}.reason.json")
    assert reason_file.with_name(reason_file.name.removesuffix(".reason.json")).is_file()
    reason = json.loads(reason_file.read_text())
    assert (reason["reason"], reason["row"], reason["column"]) == (reason_code, row, column)
    assert reason["hint"]
    assert ws.query("SELECT count(*) FROM cost").rows == [(0,)]


def test_the_whole_folder_in_one_batch(tmp_path: Path, reference: Path) -> None:
    """The two toolkit files are one account and month: the later load replaces the earlier."""
    ws = Workspace.init(tmp_path / "ws")
    report = ws.ingest([reference / "azure"])
    statuses = {Path(o.file).name: o.status for o in report.outcomes}
    assert statuses == {
        **dict.fromkeys(LOADS, "loaded"),
        **dict.fromkeys(QUARANTINED, "quarantined"),
    }
    sources = ws.query("""SELECT DISTINCT x_SourceFile FROM cost
        WHERE BillingAccountId = '/providers/Microsoft.Billing/billingAccounts/8611537'""").rows
    assert len(sources) == 1 and Path(sources[0][0]).name in (ACTUAL, AMORTIZED)
    history = ws.query("""SELECT count(*) FILTER (WHERE replaced_ingestion_id IS NOT NULL)
        FROM _partition_history WHERE BillingAccountId LIKE '%/8611537'""").rows
    assert history == [(1,)]


# -- the finops-toolkit actual / amortized pair -----------------------------------------------

PAIR_ROWS = """SELECT ChargePeriodStart, SkuId, ResourceId, PricingQuantity, x_ChargeType,
                      PricingCategory, BilledCost, EffectiveCost, CommitmentDiscountStatus
               FROM cost"""


def test_actual_and_amortized_pair(
    tmp_path: Path, reference: Path, raw_duckdb: duckdb.DuckDBPyConnection
) -> None:
    actual_ws = _ingest_one(tmp_path, reference / "azure" / ACTUAL)
    amortized_ws = _ingest_one(tmp_path, reference / "azure" / AMORTIZED)
    actual = Counter(tuple(r) for r in actual_ws.query(PAIR_ROWS).rows)
    amortized = Counter(tuple(r) for r in amortized_ws.query(PAIR_ROWS).rows)

    # Only in the actual file: the reservation's monthly fee, billed but not effective.
    (purchase,) = actual - amortized
    assert purchase[4:8] == ("Purchase", "Standard", Decimal("3.25"), Decimal("0"))
    # Every other actual row is in the amortized file with the same costs.
    assert sum((actual - amortized).values()) == 1

    # Only in the amortized file: rows of subscriptions/days the actual sample lacks, among
    # them the commitment usage, which carries the amortized cost and is not billed again.
    extra = amortized - actual
    committed = [r for r in extra if r[5] == "Committed"]
    assert len(committed) == 2
    assert all(r[6] == 0 and r[7] > 0 and r[8] == "Used" for r in committed)

    # Hence, exactly: Σ EffectiveCost(amortized) − Σ EffectiveCost(actual) = Σ raw cost of the
    # amortized rows without an actual counterpart (the purchase contributes 0 to the actual).
    amo, act = (_reader(reference / "azure" / n) for n in (AMORTIZED, ACTUAL))
    keys = "Date, MeterId, ResourceId, Quantity, Cost, ChargeType, PricingModel"
    (only_amortized,) = raw_duckdb.execute(f"""
        SELECT sum(CAST(Cost AS {MONEY})) FROM (
            SELECT {keys} FROM {amo} EXCEPT ALL SELECT {keys} FROM {act})""").fetchone()
    diff = _sum(amortized_ws, "EffectiveCost") - _sum(actual_ws, "EffectiveCost")
    assert diff == only_amortized
    # and BilledCost differs by the purchase, minus nothing billed for commitment usage
    billed_diff = _sum(actual_ws, "BilledCost") - _sum(amortized_ws, "BilledCost")
    assert billed_diff == Decimal("3.25") - only_amortized + sum(r[7] for r in committed)


def _sum(ws: Workspace, column: str) -> Decimal:
    value = ws.query(f"SELECT sum({column}) FROM cost").rows[0][0]
    assert isinstance(value, Decimal)
    return value


# -- FOCUS validator --------------------------------------------------------------------------


@pytest.mark.validator
@pytest.mark.slow
def test_exported_focus_passes_the_validator(tmp_path: Path, reference: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    ws.ingest([reference / "azure" / n for n in LOADS if n != AMORTIZED])
    ws.ingest([reference / "azure" / AMORTIZED])
    (out,) = ws.export_focus(tmp_path / "focus", fmt="parquet")
    assert_passes([out])

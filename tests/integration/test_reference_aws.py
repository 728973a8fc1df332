"""Every AWS reference export, ingested through the real workspace, matches plain DuckDB sums.

Expected figures are computed here, straight from the raw files, with plain DuckDB and AWS's
definitions of billed, amortized (effective) and on-demand (list) cost per line item type, not
with costline's mapping. They must match the cost store exactly (Decimal), per billing period,
billing account and usage account. FOCUS puts the unused part of a commitment on a row of its
own: every ``RIFee`` / ``SavingsPlanRecurringFee`` line with a non-zero unused amount adds one
row (billing 0, listing 0), so the row counts below add those lines, and every total is the
same as without the split.

ListCost and ContractedCost follow FOCUS's product rule (docs/connectors/aws.md, "Unit prices
and units"): a line without a public price lists at its billed cost, a missing unit price is
cost / quantity, and a cost that does not multiply back from its unit price becomes the
product. The expected sums apply those written rules to the raw columns here; BilledCost and
EffectiveCost are AWS's amounts, untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from costline.workspace import Workspace

FILES = {
    "cur-legacy-csv-anonymized-focus-converters.csv": "aws-cur-legacy",
    "cur-legacy-athena-parquet-wa-labs-Oct2018.snappy.parquet": "aws-cur-athena",
    "cur-legacy-athena-parquet-wa-labs-Nov2018.snappy.parquet": "aws-cur-athena",
    "cur-legacy-athena-parquet-wa-labs-Dec2018.snappy.parquet": "aws-cur-athena",
}
ZERO = "CAST(0 AS DECIMAL(38, 10))"


@pytest.fixture(scope="module")
def store(reference: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One workspace holding all four AWS reference files (distinct payers/periods)."""
    ws = Workspace.init(tmp_path_factory.mktemp("aws") / "ws")
    report = ws.ingest([reference / "aws"])
    outcomes = {Path(o.file).name: o for o in report.outcomes}
    assert set(outcomes) == set(FILES)
    for name, kind in FILES.items():
        assert (outcomes[name].status, outcomes[name].kind) == ("loaded", kind), outcomes[
            name
        ].message
    yield ws


class Raw:
    """SQL over one raw CUR file, written from AWS's column definitions."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        self.reader = (
            f"read_csv('{path}', all_varchar = true)"
            if path.suffix == ".csv"
            else f"read_parquet('{path}')"
        )
        self.types = {
            r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {self.reader}").fetchall()
        }
        self.slash = "lineItem/UnblendedCost" in self.types

    def col(self, slash_name: str, snake_name: str) -> str | None:
        name = slash_name if self.slash else snake_name
        return f'"{name}"' if name in self.types else None

    def text(self, slash_name: str, snake_name: str) -> str:
        c = self.col(slash_name, snake_name)
        return f"NULLIF(TRIM(CAST({c} AS VARCHAR)), '')" if c else "NULL"

    def num(self, slash_name: str, snake_name: str) -> str:
        c = self.col(slash_name, snake_name)
        if c is None:
            return "NULL"
        if self.types[c.strip('"')] == "VARCHAR":
            return f"CAST(NULLIF(TRIM({c}), '') AS DECIMAL(38, 10))"
        return f"CAST({c} AS DECIMAL(38, 10))"

    def ts(self, slash_name: str, snake_name: str) -> str:
        c = self.col(slash_name, snake_name)
        if c and self.types[c.strip('"')] == "VARCHAR":
            return f"CAST(CAST({c} AS TIMESTAMPTZ) AS TIMESTAMP)"
        return f"CAST({c} AS TIMESTAMP)"

    def tag_columns(self) -> list[str]:
        prefix = "resourceTags/" if self.slash else "resource_tags_"
        return [n for n in self.types if n.startswith(prefix)]


def _unused(raw: Raw) -> tuple[str, str]:
    """AWS's unused commitment amounts of an RIFee and of a SavingsPlanRecurringFee line."""

    def n0(slash_name: str, snake_name: str) -> str:
        return f"COALESCE({raw.num(slash_name, snake_name)}, {ZERO})"

    ri = (
        f"{n0('reservation/UnusedAmortizedUpfrontFeeForBillingPeriod', 'reservation_unused_amortized_upfront_fee_for_billing_period')}"
        f" + {n0('reservation/UnusedRecurringFee', 'reservation_unused_recurring_fee')}"
    )
    sp = (
        f"{n0('savingsPlan/TotalCommitmentToDate', 'savings_plan_total_commitment_to_date')}"
        f" - {n0('savingsPlan/UsedCommitment', 'savings_plan_used_commitment')}"
    )
    return ri, sp


PRICED = (
    "'Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage', "
    "'Fee', 'RIFee', 'SavingsPlanRecurringFee', 'SavingsPlanUpfrontFee'"
)
DISCOUNTS = (
    "'SavingsPlanNegation', 'Discount', 'EdpDiscount', 'PrivateRateDiscount', "
    "'BundledDiscount', 'DistributorDiscount', 'RiVolumeDiscount', 'SppDiscount'"
)


def _lines_sql(raw: Raw) -> str:
    """One row per raw line: AWS's amounts plus the list price and quantity FOCUS's price rules
    read (docs/connectors/aws.md, "Unit prices and units")."""
    typ = raw.text("lineItem/LineItemType", "line_item_line_item_type")
    unblended = raw.num("lineItem/UnblendedCost", "line_item_unblended_cost")
    public = raw.num("pricing/publicOnDemandCost", "pricing_public_on_demand_cost")
    public_rate = raw.num("pricing/publicOnDemandRate", "pricing_public_on_demand_rate")
    rate = raw.num("lineItem/UnblendedRate", "line_item_unblended_rate")
    amount = raw.num("lineItem/UsageAmount", "line_item_usage_amount")
    arn = raw.text("reservation/ReservationARN", "reservation_reservation_a_r_n")
    ri_unused, sp_unused = _unused(raw)

    def n0(slash_name: str, snake_name: str) -> str:
        return f"COALESCE({raw.num(slash_name, snake_name)}, {ZERO})"

    # AWS amortized cost per line item type (AWS CUR docs; CUDOS "amortized cost"): the fee
    # lines' amortized cost is their unused part.
    effective = f"""CASE {typ}
        WHEN 'DiscountedUsage' THEN {n0("reservation/EffectiveCost", "reservation_effective_cost")}
        WHEN 'SavingsPlanCoveredUsage' THEN {n0("savingsPlan/SavingsPlanEffectiveCost", "savings_plan_savings_plan_effective_cost")}
        WHEN 'SavingsPlanNegation' THEN 0 WHEN 'SavingsPlanUpfrontFee' THEN 0
        WHEN 'SavingsPlanRecurringFee' THEN {sp_unused}
        WHEN 'RIFee' THEN {ri_unused}
        WHEN 'Fee' THEN CASE WHEN {arn} IS NOT NULL THEN 0 ELSE {unblended} END
        ELSE {unblended} END"""
    commitment = (
        f"({typ} IN ('RIFee', 'SavingsPlanRecurringFee', 'SavingsPlanUpfrontFee') "
        f"OR ({typ} = 'Fee' AND {arn} IS NOT NULL))"
    )
    # No public price: no public cost, or AWS's 0.0 public cost without a public rate (Spot).
    unpriced = f"({public} IS NULL OR ({public_rate} IS NULL AND {public} = 0))"
    # On-demand list cost; taxes/credits/refunds keep their amount, discounts have no list cost.
    listed = f"""CASE WHEN {typ} IN ('Tax', 'Credit', 'Refund') THEN {unblended}
        WHEN {typ} IN ({DISCOUNTS}) THEN 0
        WHEN {commitment} THEN COALESCE({public}, 0)
        WHEN {unpriced} THEN {unblended} ELSE {public} END"""
    list_rate = f"""CASE WHEN {commitment} THEN COALESCE({public_rate}, 0)
        WHEN {unpriced} THEN {rate} ELSE {public_rate} END"""
    # Lines that also yield an unused-commitment row (FOCUS).
    lines = (
        f"1 + CASE WHEN ({typ} = 'RIFee' AND {ri_unused} <> 0) "
        f"OR ({typ} = 'SavingsPlanRecurringFee' AND {sp_unused} <> 0) THEN 1 ELSE 0 END"
    )
    tags = (
        " OR ".join(f"NULLIF(TRIM(\"{t}\"), '') IS NOT NULL" for t in raw.tag_columns()) or "false"
    )
    return f"""SELECT {raw.ts("bill/BillingPeriodStartDate", "bill_billing_period_start_date")} AS period,
            {raw.text("bill/PayerAccountId", "bill_payer_account_id")} AS payer,
            {raw.text("lineItem/UsageAccountId", "line_item_usage_account_id")} AS account,
            {unblended} AS billed, {effective} AS effective, {listed} AS list,
            {list_rate} AS list_rate, {rate} AS rate,
            CASE WHEN {typ} IN ({PRICED}) THEN {amount} END AS quantity,
            {lines} AS lines, {tags} AS tagged
        FROM {raw.reader}"""


def _matching(cost: str, rate: str) -> str:
    """FOCUS cost = unit price x quantity: the unit price is AWS's rate, else cost / quantity
    at 10 decimals; a cost off the product by more than 5e-10 x max(|cost|, 1) (float64)
    becomes the product."""
    price = (
        f"COALESCE({rate}, CASE WHEN quantity = 0 THEN CASE WHEN {cost} = 0 THEN 0 END "
        f"ELSE CAST({cost} / quantity AS DECIMAL(38, 10)) END)"
    )
    product = f"CAST({price} AS DOUBLE) * CAST(quantity AS DOUBLE)"
    return (
        f"CASE WHEN quantity IS NOT NULL AND {price} IS NOT NULL AND abs({product} - "
        f"CAST({cost} AS DOUBLE)) > 5e-10 * greatest(abs(CAST({cost} AS DOUBLE)), 1) "
        f"THEN CAST({product} AS DECIMAL(38, 10)) ELSE {cost} END"
    )


def _expected_sql(raw: Raw) -> str:
    return f"""SELECT period, payer, account, sum(billed), sum(effective),
            sum({_matching("list", "list_rate")}), sum({_matching("billed", "rate")}),
            sum(lines), COALESCE(sum(lines) FILTER (WHERE tagged), 0)
        FROM ({_lines_sql(raw)}) GROUP BY ALL ORDER BY ALL"""


def _actual(ws: Workspace, name: str) -> list[tuple[Any, ...]]:
    return ws.query(
        """SELECT BillingPeriodStart, BillingAccountId, SubAccountId, sum(BilledCost),
                  sum(EffectiveCost), sum(ListCost), sum(ContractedCost), count(*),
                  count(*) FILTER (WHERE cardinality(Tags) > 0)
           FROM cost WHERE x_SourceFile LIKE '%/' || ? GROUP BY ALL ORDER BY ALL""",
        [name],
    ).rows


@pytest.mark.parametrize("name", list(FILES))
def test_totals_match_the_raw_file(
    store: Workspace, reference: Path, name: str, raw_duckdb: duckdb.DuckDBPyConnection
) -> None:
    raw = Raw(raw_duckdb, reference / "aws" / name)
    expected = raw_duckdb.execute(_expected_sql(raw)).fetchall()
    actual = _actual(store, name)
    assert expected, "the raw file has rows"
    assert [tuple(r) for r in actual] == [tuple(r) for r in expected]


def test_every_row_lands_in_its_billing_period(store: Workspace) -> None:
    rows = store.query(
        """SELECT count(*) FROM cost WHERE x_Provider = 'aws' AND (ChargePeriodStart < BillingPeriodStart
           - INTERVAL 1 YEAR OR BillingPeriodEnd <= BillingPeriodStart)"""
    ).rows
    assert rows == [(0,)]


def test_amortization_is_visible_on_the_athena_ri_data(store: Workspace) -> None:
    """The wa-labs account has RIs: RI-covered usage bills 0 but carries amortized cost; the
    RIFee is a purchase at EffectiveCost 0, its unused part a Usage row that bills 0."""
    rows = store.query(
        """SELECT x_ChargeType, ChargeCategory, CommitmentDiscountStatus, sum(BilledCost),
                  sum(EffectiveCost), count(DISTINCT CommitmentDiscountId)
           FROM cost WHERE x_ChargeType IN ('DiscountedUsage', 'RIFee') GROUP BY ALL ORDER BY 1, 2"""
    ).rows
    (du, fee, unused) = rows
    assert du[:3] == ("DiscountedUsage", "Usage", "Used")
    assert du[3] == Decimal(0) and du[4] > 0 and du[5] > 0
    assert fee[:3] == ("RIFee", "Purchase", None)
    assert fee[3] > 0 and fee[4] == Decimal(0)
    assert unused[:3] == ("RIFee", "Usage", "Unused")
    assert unused[3] == Decimal(0) and unused[4] > 0 and 0 < unused[5] <= fee[5]


@pytest.mark.parametrize("name", [n for n, kind in FILES.items() if kind == "aws-cur-athena"])
def test_unused_rows_carry_exactly_the_raw_unused_amounts(
    store: Workspace, reference: Path, name: str, raw_duckdb: duckdb.DuckDBPyConnection
) -> None:
    """Per reservation: Σ EffectiveCost of its unused rows = Σ of AWS's unused amounts on its
    RIFee lines, its unused hours = reservation/UnusedQuantity, and its fees' EffectiveCost 0."""
    raw = Raw(raw_duckdb, reference / "aws" / name)
    ri_unused, _ = _unused(raw)
    typ = raw.text("lineItem/LineItemType", "line_item_line_item_type")
    arn = raw.text("reservation/ReservationARN", "reservation_reservation_a_r_n")
    hours = raw.num("reservation/UnusedQuantity", "reservation_unused_quantity")
    expected = raw_duckdb.execute(
        f"""SELECT {arn}, sum({ri_unused}), sum({hours}) FROM {raw.reader}
            WHERE {typ} = 'RIFee' AND {ri_unused} <> 0 GROUP BY ALL ORDER BY ALL"""
    ).fetchall()
    actual = store.query(
        """SELECT CommitmentDiscountId, sum(EffectiveCost), sum(PricingQuantity) FROM cost
           WHERE x_SourceFile LIKE '%/' || ? AND CommitmentDiscountStatus = 'Unused'
           GROUP BY ALL ORDER BY ALL""",
        [name],
    ).rows
    assert expected and [tuple(r) for r in actual] == [tuple(r) for r in expected]
    fees = store.query(
        """SELECT count(*), sum(EffectiveCost) FROM cost WHERE x_SourceFile LIKE '%/' || ?
           AND ChargeCategory = 'Purchase' AND CommitmentDiscountId IS NOT NULL""",
        [name],
    ).rows
    assert fees[0][0] > 0 and fees[0][1] == 0


def test_athena_tags_keep_aws_prefix_and_drop_user_prefix(store: Workspace) -> None:
    keys = {
        r[0]
        for r in store.query(
            "SELECT DISTINCT unnest(map_keys(Tags)) FROM cost WHERE x_SourceKind = 'aws-cur-athena'"
        ).rows
    }
    assert {"cost_center", "aws:created_by", "workload_type", "tag21_nov"} <= keys
    assert not any(k.startswith(("user_", "resource_tags")) for k in keys)


@pytest.mark.parametrize("name", list(FILES))
def test_prices_and_units_follow_focus(store: Workspace, name: str) -> None:
    """On every row: a unit exactly where there is a quantity (CAU-PricingUnit-C-005/006), both
    unit prices where there is a SkuPriceId (CAU-ListUnitPrice-C-013, ContractedUnitPrice-C-015),
    and cost = unit price x quantity within the FOCUS validator's float64 tolerance."""

    def off(price: str, cost: str) -> str:
        return (
            f"abs(CAST({price} AS DOUBLE) * CAST(PricingQuantity AS DOUBLE) - "
            f"CAST({cost} AS DOUBLE)) > 1e-9 * greatest(abs(CAST({cost} AS DOUBLE)), 1)"
        )

    rows = store.query(
        f"""SELECT count(*) FILTER (WHERE PricingQuantity IS NOT NULL AND PricingUnit IS NULL),
                  count(*) FILTER (WHERE PricingQuantity IS NULL AND PricingUnit IS NOT NULL),
                  count(*) FILTER (WHERE SkuPriceId IS NOT NULL
                                   AND (ListUnitPrice IS NULL OR ContractedUnitPrice IS NULL)),
                  count(*) FILTER (WHERE {off("ListUnitPrice", "ListCost")}),
                  count(*) FILTER (WHERE {off("ContractedUnitPrice", "ContractedCost")}),
                  count(*) FILTER (WHERE PricingQuantity IS NOT NULL)
           FROM cost WHERE x_SourceFile LIKE '%/' || ?""",
        [name],
    ).rows
    assert rows[0][:5] == (0, 0, 0, 0, 0) and rows[0][5] > 0

"""Bad Azure exports are quarantined with a reason naming the row, the raw column and the fix."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from costline.ingest import Ingestor
from costline.storage.duckdb import DuckDBWarehouse

HEADER = (
    "SubscriptionId,Date,MeterCategory,MeterId,ChargeType,PricingModel,Quantity,UnitPrice,"
    "PayGPrice,CostInBillingCurrency,BillingCurrencyCode,BillingAccountId,Tags"
)
GOOD = "s-1,9/1/2024,Storage,m-1,Usage,OnDemand,2,0.5,0.5,1,EUR,123,"


@pytest.fixture
def warehouse() -> Iterator[DuckDBWarehouse]:
    wh = DuckDBWarehouse(None)
    wh.ensure_schema()
    yield wh
    wh.close()


def _quarantine(
    wh: DuckDBWarehouse, tmp_path: Path, text: str, name: str = "export.csv"
) -> dict[str, object]:
    path = tmp_path / name
    path.write_text(text)
    qdir = tmp_path / "quarantine"
    report = Ingestor(wh, landing_dir=None, quarantine_dir=qdir).run([path])
    assert [o.status for o in report.outcomes] == ["quarantined"], report.outcomes
    assert wh.con.execute("SELECT count(*) FROM cost").fetchone() == (0,)
    (reason_file,) = qdir.glob(f"*-{name}.reason.json")
    reason: dict[str, object] = json.loads(reason_file.read_text())
    assert reason["hint"], "every quarantine reason names a fix"
    return reason


def test_missing_currency_column_fails_naming_billing_currency(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    """No currency anywhere: costline refuses to guess one (docs/connectors/azure.md)."""
    text = (
        "subscriptionid,billingaccountid,UsageDateTime,MeterCategory,costinbillingcurrency\n"
        "s-1,acct-1,2021-02-02,Storage,0.5\n"
    )
    reason = _quarantine(warehouse, tmp_path, text)
    assert reason["reason"] == "missing-column"
    assert reason["column"] == "BillingCurrency"
    assert "BillingCurrency" in str(reason["message"])


def test_unparsable_cost_names_row_and_column(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    bad = GOOD.replace(",1,EUR", ",1.2.3,EUR")
    reason = _quarantine(warehouse, tmp_path, f"{HEADER}\n{GOOD}\n{bad}\n")
    assert (reason["reason"], reason["row"], reason["column"], reason["value"]) == (
        "unparsable-number",
        2,
        "CostInBillingCurrency",
        "1.2.3",
    )


def test_day_first_date_is_unparsable(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    """Cost Management writes month first; 31/12/2024 is not a US date and is rejected."""
    bad = GOOD.replace("9/1/2024", "31/12/2024")
    reason = _quarantine(warehouse, tmp_path, f"{HEADER}\n{GOOD}\n{bad}\n")
    assert (reason["reason"], reason["row"], reason["column"], reason["value"]) == (
        "unparsable-date",
        2,
        "Date",
        "31/12/2024",
    )


def test_bad_quantity_is_blamed_not_the_rows_where_it_is_unused(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    """Quantity only feeds conditional fields; the probe still names the right cell."""
    tax = "s-1,9/30/2024,,,Tax,,1,,,3,EUR,123,"
    bad = GOOD.replace(",2,0.5", ",two,0.5")
    reason = _quarantine(warehouse, tmp_path, f"{HEADER}\n{tax}\n{GOOD}\n{bad}\n")
    assert (reason["row"], reason["column"], reason["value"]) == (3, "Quantity", "two")


def test_tags_that_are_not_an_object(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    bad = GOOD[:-1] + '"[1, 2]"'
    reason = _quarantine(warehouse, tmp_path, f"{HEADER}\n{GOOD}\n{bad}\n")
    assert (reason["reason"], reason["row"], reason["column"]) == ("bad-tags", 2, "Tags")


def test_empty_billing_account_on_one_row(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    bad = GOOD.replace(",EUR,123,", ",EUR,,")
    reason = _quarantine(warehouse, tmp_path, f"{HEADER}\n{GOOD}\n{bad}\n")
    assert (reason["reason"], reason["row"], reason["column"]) == (
        "missing-value",
        2,
        "BillingAccountId",
    )


def test_empty_cost_is_a_missing_value(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    bad = GOOD.replace(",1,EUR", ",,EUR")
    reason = _quarantine(warehouse, tmp_path, f"{HEADER}\n{GOOD}\n{bad}\n")
    assert (reason["reason"], reason["row"], reason["column"]) == (
        "missing-value",
        2,
        "CostInBillingCurrency",
    )


def test_payg_row_without_subscription(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    """The subscription is a PAYG file's billing account: an empty one cannot be placed."""
    text = (
        "\ufeffSubscriptionGuid,UsageDateTime,MeterCategory,PreTaxCost,Currency\n"
        "s-1,2022-11-03,Storage,1,USD\n"
        ",2022-11-03,,,\n"
    )
    reason = _quarantine(warehouse, tmp_path, text)
    assert (reason["reason"], reason["row"], reason["column"]) == (
        "missing-value",
        2,
        "SubscriptionGuid",
    )


def test_azure_file_without_a_cost_column(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    text = (
        "SubscriptionId,Date,MeterCategory,MeterId,BillingCurrencyCode,BillingAccountId\n"
        "s-1,9/1/2024,Storage,m-1,EUR,123\n"
    )
    reason = _quarantine(warehouse, tmp_path, text)
    assert (reason["reason"], reason["column"]) == ("missing-column", "BilledCost")

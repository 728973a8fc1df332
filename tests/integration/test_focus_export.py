"""FOCUS 1.3 export: column set, value formats, CSV formula safety, round trip, validator.

The validator tests run ``shared/tools/focus-validate`` (focus-validator 2.2.1, FOCUS 1.3
model) on the export of the FOCUS 1.0 sample, as Parquet and as CSV, and require exit code 0.
They need Python 3.12 (the wrapper builds its own venv from PyPI on first use). Without it
they FAIL with the fix in the message, because "FOCUS output passes the FOCUS 1.3 validator"
is one of costline's invariants and a CI that cannot check it must say so explicitly: set
``COSTLINE_SKIP_VALIDATOR=1`` to skip them (docs/focus-validation.md).

Rules passed with ``--ignore`` are computed, not listed by hand: the nullability rules of the
conditional FOCUS columns that are null on every row of the file (validator defect: it does
not skip the rules of a column whose feature is not declared), in CSV the type rules of text
columns whose every value looks like a number (the validator infers CSV types), plus the model
defects in ``MODEL_DEFECTS``. docs/focus-validation.md gives the evidence.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from costline.schema.focus import STORE_COLUMNS
from costline.workspace import Workspace
from tests.validator import (
    assert_passes,
    ignored_rules,
    model,
    null_conditional_columns,
    only_non_commitment_purchases_carry_cost,
)

SAMPLE = "focus-1.0-finops-foundation-sample-1000.csv"
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "focus"
EVIL = "=cmd|' /C calc'!A0"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TOTALS = """SELECT x_Provider, BillingAccountId, BillingPeriodStart, BillingCurrency, count(*),
    sum(BilledCost), sum(EffectiveCost), sum(ListCost), sum(ContractedCost)
    FROM cost GROUP BY ALL ORDER BY ALL"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, reference: Path) -> dict[str, Path]:
    """The FOCUS sample plus the 1.3 golden (formula-like tag), exported both ways."""
    root = tmp_path_factory.mktemp("focus-export")
    ws = Workspace.init(root / "ws")
    report = ws.ingest([reference / "focus" / SAMPLE])
    assert report.loaded_rows == 1000
    out = {fmt: ws.export_focus(root / "out", fmt=fmt)[0] for fmt in ("parquet", "csv")}
    evil_ws = Workspace.init(root / "evil")
    evil_ws.ingest([GOLDEN / "v1_3" / "cost.csv"])
    out["evil-csv"] = evil_ws.export_focus(root / "evil-out", fmt="csv")[0]
    out["evil-parquet"] = evil_ws.export_focus(root / "evil-out", fmt="parquet")[0]
    out["ws"] = ws.root
    return out


def _csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


# -- shape and formats ------------------------------------------------------------------------


def test_every_focus_column_then_the_x_columns(exported: dict[str, Path]) -> None:
    names = [c.name for c in STORE_COLUMNS]
    parquet = duckdb.sql(f"DESCRIBE SELECT * FROM '{exported['parquet']}'").fetchall()
    assert [r[0] for r in parquet] == names
    header = next(csv.reader(io.StringIO(exported["csv"].read_text())))
    assert header == names
    first_x = names.index("x_Provider")
    assert all(not n.startswith("x_") for n in names[:first_x])
    assert all(n.startswith("x_") for n in names[first_x:])


def test_parquet_keeps_store_types(exported: dict[str, Path]) -> None:
    types = {
        r[0]: r[1] for r in duckdb.sql(f"DESCRIBE SELECT * FROM '{exported['parquet']}'").fetchall()
    }
    assert types["BilledCost"] == "DECIMAL(38,10)"
    assert types["ChargePeriodStart"] == "TIMESTAMP"
    assert types["Tags"] == "VARCHAR"  # FOCUS KeyValueFormat: a JSON object


def test_csv_values_follow_focus_formats(exported: dict[str, Path]) -> None:
    rows = _csv_rows(exported["csv"])
    assert len(rows) == 1000
    row = rows[0]
    # DateTimeFormat: ISO 8601 UTC with Z.
    assert row["BillingPeriodStart"].endswith("Z") and "T" in row["BillingPeriodStart"]
    # NumericFormat: plain decimals, no exponent.
    assert all("e" not in r["BilledCost"].lower() for r in rows)
    tagged = [json.loads(r["Tags"]) for r in rows if r["Tags"]]
    assert tagged and all(isinstance(t, dict) and t for t in tagged)


def test_one_service_category_per_service_name(exported: dict[str, Path]) -> None:
    pairs = duckdb.sql(
        f"SELECT ServiceName, count(DISTINCT ServiceCategory), count(DISTINCT ServiceSubcategory) "
        f"FROM '{exported['parquet']}' GROUP BY 1"
    ).fetchall()
    assert pairs and all(c == 1 and s == 1 for _, c, s in pairs)
    # The store keeps each row's own category (EBS volumes are Storage under EC2).
    ws = Workspace.open(exported["ws"])
    cats = ws.query(
        "SELECT count(DISTINCT ServiceCategory) FROM cost "
        "WHERE ServiceName = 'Amazon Elastic Compute Cloud'"
    ).rows[0][0]
    assert cats == 2


# -- formula injection -------------------------------------------------------------------------


def test_csv_neutralises_formula_text_but_keeps_json_tags_intact(exported: dict[str, Path]) -> None:
    text_cols = {c.name for c in STORE_COLUMNS if c.data_type in ("string", "json", "map")}
    rows = _csv_rows(exported["evil-csv"])
    for row in rows:
        for name in text_cols:
            assert not row[name].startswith(FORMULA_START), (name, row[name])
    tags = [json.loads(r["Tags"]) for r in rows if r["Tags"]]
    # The Tags cell is a JSON object (it starts with "{", which no spreadsheet evaluates);
    # the tag value inside it is the value as billed.
    assert {"owner": EVIL} in tags


def test_formula_text_cells_get_a_quote_prefix(tmp_path: Path) -> None:
    from tests.focus_files import focus_row, write_focus_csv

    ws = Workspace.init(tmp_path / "ws")
    ws.ingest(
        [
            write_focus_csv(
                tmp_path / "e.csv",
                [focus_row(ResourceName=EVIL)],
                columns=(*focus_row(), "ResourceName"),
            )
        ]
    )
    rows = _csv_rows(ws.export_focus(tmp_path / "out", fmt="csv")[0])
    assert rows[0]["ResourceName"] == "'" + EVIL


def test_parquet_and_store_keep_formula_text_intact(exported: dict[str, Path]) -> None:
    tags = duckdb.sql(f"SELECT Tags FROM '{exported['evil-parquet']}' WHERE Tags IS NOT NULL")
    assert {"owner": EVIL} in [json.loads(t) for (t,) in tags.fetchall()]


# -- round trip -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_round_trips_to_identical_totals(
    exported: dict[str, Path], fmt: str, tmp_path: Path
) -> None:
    original = Workspace.open(exported["ws"]).query(TOTALS).rows
    again = Workspace.init(tmp_path / "again")
    outcome = again.ingest([exported[fmt]]).outcomes[0]
    assert (outcome.status, outcome.kind, outcome.rows) == ("loaded", "focus-1.3", 1000)
    assert again.query(TOTALS).rows == original
    assert original and all(isinstance(r[5], Decimal) for r in original)


# -- the FOCUS validator ----------------------------------------------------------------------


@pytest.mark.validator
def test_export_passes_the_focus_13_validator(exported: dict[str, Path]) -> None:
    assert_passes([exported["parquet"], exported["csv"]])


def test_ignored_rules_are_only_those_of_all_null_conditional_columns(
    exported: dict[str, Path],
) -> None:
    columns = null_conditional_columns(exported["parquet"])
    # Columns the FOCUS 1.0 sample has no data for (1.1+ columns and unused features).
    assert "BillingAccountType" in columns and "PricingCurrency" in columns
    assert "SkuPriceId" not in columns and "Tags" not in columns
    ignored = ignored_rules(exported["parquet"])
    referenced = {model()["ModelRules"][r]["Reference"] for r in ignored}
    allowed = {*columns, "CapacityReservationStatus", "PricingCurrencyContractedUnitPrice"}
    if only_non_commitment_purchases_carry_cost(exported["parquet"]):
        allowed.add("EffectiveCost")  # EffectiveCost-C-005-C, see tests/validator.py
    assert referenced <= allowed
    assert null_conditional_columns(exported["csv"]) == columns

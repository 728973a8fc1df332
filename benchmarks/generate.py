"""Generate large AWS billing exports for the ingest benchmark, scaled from a real export.

Both files are built from the rows of the anonymised legacy CUR reference export
(``aws/cur-legacy-csv-anonymized-focus-converters.csv``, 1,281 rows, billing period 2023-11),
repeated and perturbed with DuckDB SQL (no Python loop touches a row):

* every output row ``i`` takes reference row ``i % 1281`` and a 64-bit hash of ``i``;
* usage dates move to another day of the same month (the interval keeps its length and never
  leaves the billing period); tax rows keep their whole-month interval;
* usage amount and the cost columns are scaled by one factor in [0.25, 2.75) (rates stay);
* each usage row gets a resource id (bucket name, queue/topic/key ARN ... by product code),
  one of 8 linked usage accounts, and resource tags (team, environment, cost centre;
  one resource in five is untagged), so tag parsing is part of the measured work;
* line item ids are made unique.

Outputs:

``cur-legacy_<rows>rows.csv``
    Legacy CUR CSV: the reference header (``lineItem/UnblendedCost`` style) in the same order,
    plus ``lineItem/ResourceId`` after ``lineItem/AvailabilityZone`` and
    ``resourceTags/user:*`` / ``resourceTags/aws:createdBy`` columns at the end, as a CUR
    with "Include resource IDs" and activated cost allocation tags has. Numbers keep the
    export's Java-style text (``5.2E-9``); timestamps ``2023-11-04T00:00:00.000Z``.

``cur2_<rows>rows.parquet``
    AWS Data Exports CUR 2.0 (table ``COST_AND_USAGE_REPORT`` with ``INCLUDE_RESOURCES``):
    the fixed snake_case schema (``bill_*``, ``identity_*``, ``line_item_*``, ``pricing_*``,
    ``product_*``, ``reservation_*``, ``savings_plan_*``, ``split_line_item_*``) with the
    documented types: costs and amounts DOUBLE, rates VARCHAR, dates TIMESTAMP, and the
    ``product``, ``resource_tags`` and ``cost_category`` MAP(VARCHAR, VARCHAR) columns
    (``discount`` is MAP(VARCHAR, DOUBLE)). Product attributes without a static column
    (``product_name``, ``servicename``, ``storage_class`` ...) go into the ``product`` map.

Usage::

    .venv/bin/python benchmarks/generate.py --rows-cur2 5000000 --rows-legacy 1000000
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
REFERENCE_CSV = (
    Path(
        os.environ.get("COSTLINE_REFERENCE_DATA", HERE.parent.parent / "shared" / "reference-data")
    )
    / "aws"
    / "cur-legacy-csv-anonymized-focus-converters.csv"
)
DEFAULT_DATA_DIR = HERE / "data"

ACCOUNTS = (
    "123412340534",
    "234523451645",
    "345634562756",
    "456745673867",
    "567856784978",
    "678967896089",
    "789078907190",
    "890189018201",
)
TEAMS = (
    "payments",
    "search",
    "checkout",
    "identity",
    "data-platform",
    "ml",
    "mobile",
    "web",
    "growth",
    "ops",
    "security",
    "support",
)
ENVS = ("prod", "staging", "dev")


def legacy_path(data_dir: Path, rows: int) -> Path:
    return data_dir / f"cur-legacy_{rows}rows.csv"


def cur2_path(data_dir: Path, rows: int) -> Path:
    return data_dir / f"cur2_{rows}rows.parquet"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v + "'" for v in values) + "]"


def connect() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the reference rows loaded as ``base`` (k = 0..n-1)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # Java-style number text as in the export: 5.2E-9, 0.0112297686, 1.0
    con.execute(
        """CREATE MACRO jnum(x) AS CASE WHEN x IS NULL THEN NULL ELSE
           replace(replace(replace(CAST(x AS VARCHAR), 'e-0', 'E-'), 'e-', 'E-'), 'e+', 'E')
           END"""
    )
    con.execute("CREATE MACRO ts_text(t) AS strftime(t, '%Y-%m-%dT%H:%M:%S.000Z')")
    con.execute("CREATE MACRO day_text(t) AS strftime(t, '%Y-%m-%dT%H:%M:%SZ')")
    con.execute("CREATE MACRO ts_of(s) AS CAST(rtrim(s, 'Z') AS TIMESTAMP)")
    con.execute(
        f"""CREATE TABLE base AS
            SELECT CAST(row_number() OVER () - 1 AS BIGINT) AS k, *
            FROM read_csv('{REFERENCE_CSV}', all_varchar = true, header = true)"""
    )
    return con


def _expanded_sql(con: duckdb.DuckDBPyConnection, rows: int) -> str:
    """SELECT producing ``rows`` perturbed rows: the raw reference columns plus typed helpers."""
    n = con.execute("SELECT count(*) FROM base").fetchone()[0]  # type: ignore[index]
    return f"""
    WITH g AS (
        SELECT i, i % {n} AS k, hash(i) AS h FROM range({rows}) t(i)
    ), j AS (
        SELECT g.i, g.h, b.*,
            b."lineItem/LineItemType" = 'Tax' AS _tax,
            ts_of(b."lineItem/UsageStartDate") AS _s0,
            ts_of(b."lineItem/UsageEndDate") AS _e0,
            ts_of(b."bill/BillingPeriodStartDate") AS _ps,
            ts_of(b."bill/BillingPeriodEndDate") AS _pe,
            0.25 + ((g.h >> 16) % 1000) / 400.0 AS _f,
            CAST((g.h >> 32) % 400 AS INTEGER) AS _rn
        FROM g JOIN base b USING (k)
    ), s AS (
        SELECT j.*,
            CASE WHEN _tax THEN 0 ELSE
                CAST(h % (date_diff('day', _ps, _pe)
                          - date_diff('day', CAST(_s0 AS DATE),
                                      CAST(_e0 - INTERVAL 1 MICROSECOND AS DATE)))
                     AS INTEGER)
                - (day(_s0) - 1) END AS _shift
        FROM j
    )
    SELECT s.*,
        _s0 + to_days(_shift) AS _s,
        _e0 + to_days(_shift) AS _e,
        date_trunc('day', _s0 + to_days(_shift)) AS _d,
        CASE WHEN _tax THEN "lineItem/UsageAccountId"
             ELSE {_sql_list(ACCOUNTS)}[CAST((h >> 40) % {len(ACCOUNTS)} AS INTEGER) + 1]
        END AS _acct,
        md5(CAST(i AS VARCHAR)) || substr(md5('li' || CAST(i AS VARCHAR)), 1, 20) AS _lid,
        coalesce("product/regionCode", "product/region", 'us-east-1') AS _region
    FROM s
    """


def _resource_id_sql() -> str:
    arn = "'arn:aws:' || {svc} || ':' || _region || ':' || _acct || ':' || {rest}"
    return f"""CASE WHEN _tax THEN NULL
        WHEN "lineItem/ProductCode" = 'AmazonS3' THEN 'bench-bucket-' || _rn
        WHEN "lineItem/ProductCode" = 'AWSQueueService'
            THEN {arn.format(svc="'sqs'", rest="'queue-' || _rn")}
        WHEN "lineItem/ProductCode" = 'AmazonSNS'
            THEN {arn.format(svc="'sns'", rest="'topic-' || _rn")}
        WHEN "lineItem/ProductCode" = 'AWSGlue'
            THEN {arn.format(svc="'glue'", rest="'job/etl-' || _rn")}
        WHEN "lineItem/ProductCode" = 'AmazonCloudWatch'
            THEN {arn.format(svc="'logs'", rest="'log-group:/app/svc-' || _rn")}
        WHEN "lineItem/ProductCode" = 'awskms'
            THEN {arn.format(svc="'kms'", rest="'key/' || md5('key' || _rn)")}
        ELSE {arn.format(svc='lower("lineItem/ProductCode")', rest="'resource/r-' || _rn")}
    END"""


def _tag_sql(tag: str) -> str:
    """Tag value for a resource (stable per resource number; one resource in five untagged)."""
    untagged = "_tax OR _rn % 5 = 0"
    values = {
        "team": f"{_sql_list(TEAMS)}[_rn % {len(TEAMS)} + 1]",
        "environment": f"{_sql_list(ENVS)}[(_rn // {len(TEAMS)}) % {len(ENVS)} + 1]",
        "cost-center": "'CC-' || CAST(100 + _rn % 37 AS VARCHAR)",
        "createdBy": "'IAMUser:AIDA' || upper(substr(md5('u' || (_rn % 9)), 1, 12))",
    }
    return f"CASE WHEN {untagged} THEN NULL ELSE {values[tag]} END"


def _scaled(col: str) -> str:
    return f"round(CAST({_q(col)} AS DOUBLE) * _f, 10)"


def _usage() -> str:
    """Usage amount scaled like the costs (a tax line's amount stays 1.0)."""
    raw = _q("lineItem/UsageAmount")
    return f"CASE WHEN _tax THEN CAST({raw} AS DOUBLE) ELSE {_scaled('lineItem/UsageAmount')} END"


def _legacy_overrides() -> dict[str, str]:
    return {
        "identity/LineItemId": "_lid",
        "identity/TimeInterval": "day_text(_d) || '/' || day_text(_d + INTERVAL 1 DAY)",
        "lineItem/UsageAccountId": "_acct",
        "lineItem/UsageStartDate": "ts_text(_s)",
        "lineItem/UsageEndDate": "ts_text(_e)",
        "lineItem/UsageAmount": f"jnum({_usage()})",
        "lineItem/UnblendedCost": f"jnum({_scaled('lineItem/UnblendedCost')})",
        "lineItem/BlendedCost": f"jnum({_scaled('lineItem/BlendedCost')})",
        "pricing/publicOnDemandCost": f"jnum({_scaled('pricing/publicOnDemandCost')})",
    }


def legacy_select(con: duckdb.DuckDBPyConnection, rows: int) -> str:
    """The SELECT producing the legacy CUR CSV columns (all VARCHAR, reference order)."""
    cols = [r[0] for r in con.execute("DESCRIBE base").fetchall() if r[0] != "k"]
    overrides = _legacy_overrides()
    parts: list[str] = []
    for col in cols:
        parts.append(f"{overrides.get(col, _q(col))} AS {_q(col)}")
        if col == "lineItem/AvailabilityZone":
            parts.append(f"{_resource_id_sql()} AS {_q('lineItem/ResourceId')}")
    parts += [
        f"{_tag_sql('createdBy')} AS {_q('resourceTags/aws:createdBy')}",
        f"{_tag_sql('cost-center')} AS {_q('resourceTags/user:cost-center')}",
        f"{_tag_sql('environment')} AS {_q('resourceTags/user:environment')}",
        f"{_tag_sql('team')} AS {_q('resourceTags/user:team')}",
    ]
    return "SELECT " + ",\n  ".join(parts) + f"\nFROM ({_expanded_sql(con, rows)}) x ORDER BY i"


def _map_sql(pairs: list[tuple[str, str]], value_type: str = "VARCHAR") -> str:
    """MAP(VARCHAR, value_type) of the non-null values (CUR 2.0 omits absent keys)."""
    entries = ", ".join(f"{{'key': '{k}', 'value': {v}}}" for k, v in pairs)
    return (
        f"CAST(map_from_entries(list_filter([{entries}], lambda e: e.value IS NOT NULL))"
        f" AS MAP(VARCHAR, {value_type}))"
    )


def _v(col: str) -> str:
    return _q(col)


def _d(col: str) -> str:
    return f"CAST({_q(col)} AS DOUBLE)"


# CUR 2.0 columns, identity first then alphabetical as listed in the Data Exports table
# dictionary: (name, DuckDB type, expression).
# None as an expression means the column exists in the schema but this account has no value.
def cur2_columns() -> list[tuple[str, str, str | None]]:
    product_map = _map_sql(
        [
            ("product_name", _v("product/ProductName")),
            ("servicename", _v("product/servicename")),
            ("availability", _v("product/availability")),
            ("durability", _v("product/durability")),
            ("event_type", _v("product/eventType")),
            ("group", _v("product/group")),
            ("group_description", _v("product/groupDescription")),
            ("message_delivery_frequency", _v("product/messageDeliveryFrequency")),
            ("message_delivery_order", _v("product/messageDeliveryOrder")),
            ("overhead", _v("product/overhead")),
            ("product_type", _v("product/productType")),
            ("queue_type", _v("product/queueType")),
            ("region", _v("product/region")),
            ("storage_class", _v("product/storageClass")),
            ("storage_media", _v("product/storageMedia")),
            ("transfer_type", _v("product/transferType")),
            ("version", _v("product/version")),
            ("volume_type", _v("product/volumeType")),
        ]
    )
    tags_map = _map_sql(
        [
            ("aws_created_by", _tag_sql("createdBy")),
            ("user_cost_center", _tag_sql("cost-center")),
            ("user_environment", _tag_sql("environment")),
            ("user_team", _tag_sql("team")),
        ]
    )
    cost_category = _map_sql(
        [("business_unit", "CASE WHEN _tax THEN NULL ELSE 'bu-' || (_rn % 4) END")]
    )
    return [
        ("identity_line_item_id", "VARCHAR", "_lid"),
        ("identity_time_interval", "VARCHAR", _legacy_overrides()["identity/TimeInterval"]),
        ("bill_bill_type", "VARCHAR", _v("bill/BillType")),
        ("bill_billing_entity", "VARCHAR", _v("bill/BillingEntity")),
        ("bill_billing_period_end_date", "TIMESTAMP", "_pe"),
        ("bill_billing_period_start_date", "TIMESTAMP", "_ps"),
        ("bill_invoice_id", "VARCHAR", _v("bill/InvoiceId")),
        ("bill_invoicing_entity", "VARCHAR", _v("bill/InvoicingEntity")),
        ("bill_payer_account_id", "VARCHAR", _v("bill/PayerAccountId")),
        ("bill_payer_account_name", "VARCHAR", "'Example Corp Management'"),
        ("capacity_reservation_capacity_reservation_arn", "VARCHAR", None),
        ("capacity_reservation_capacity_reservation_status", "VARCHAR", None),
        ("capacity_reservation_capacity_reservation_type", "VARCHAR", None),
        ("cost_category", "MAP(VARCHAR, VARCHAR)", cost_category),
        ("discount", "MAP(VARCHAR, DOUBLE)", "MAP()"),
        ("discount_bundled_discount", "DOUBLE", None),
        ("discount_total_discount", "DOUBLE", None),
        ("line_item_availability_zone", "VARCHAR", _v("lineItem/AvailabilityZone")),
        ("line_item_blended_cost", "DOUBLE", _scaled("lineItem/BlendedCost")),
        ("line_item_blended_rate", "VARCHAR", _v("lineItem/BlendedRate")),
        ("line_item_currency_code", "VARCHAR", _v("lineItem/CurrencyCode")),
        ("line_item_legal_entity", "VARCHAR", _v("lineItem/LegalEntity")),
        ("line_item_line_item_description", "VARCHAR", _v("lineItem/LineItemDescription")),
        ("line_item_line_item_type", "VARCHAR", _v("lineItem/LineItemType")),
        ("line_item_net_unblended_cost", "DOUBLE", None),
        ("line_item_net_unblended_rate", "VARCHAR", None),
        ("line_item_normalization_factor", "DOUBLE", _d("lineItem/NormalizationFactor")),
        ("line_item_normalized_usage_amount", "DOUBLE", _d("lineItem/NormalizedUsageAmount")),
        ("line_item_operation", "VARCHAR", _v("lineItem/Operation")),
        ("line_item_product_code", "VARCHAR", _v("lineItem/ProductCode")),
        ("line_item_resource_id", "VARCHAR", _resource_id_sql()),
        ("line_item_tax_type", "VARCHAR", _v("lineItem/TaxType")),
        ("line_item_unblended_cost", "DOUBLE", _scaled("lineItem/UnblendedCost")),
        ("line_item_unblended_rate", "VARCHAR", _v("lineItem/UnblendedRate")),
        ("line_item_usage_account_id", "VARCHAR", "_acct"),
        ("line_item_usage_account_name", "VARCHAR", "'account-' || right(_acct, 4)"),
        ("line_item_usage_amount", "DOUBLE", _usage()),
        ("line_item_usage_end_date", "TIMESTAMP", "_e"),
        ("line_item_usage_start_date", "TIMESTAMP", "_s"),
        ("line_item_usage_type", "VARCHAR", _v("lineItem/UsageType")),
        ("pricing_currency", "VARCHAR", _v("pricing/currency")),
        ("pricing_lease_contract_length", "VARCHAR", None),
        ("pricing_offering_class", "VARCHAR", None),
        ("pricing_public_on_demand_cost", "DOUBLE", _scaled("pricing/publicOnDemandCost")),
        ("pricing_public_on_demand_rate", "VARCHAR", _v("pricing/publicOnDemandRate")),
        ("pricing_purchase_option", "VARCHAR", None),
        ("pricing_rate_code", "VARCHAR", _v("pricing/RateCode")),
        ("pricing_rate_id", "VARCHAR", _v("pricing/RateId")),
        ("pricing_term", "VARCHAR", _v("pricing/term")),
        ("pricing_unit", "VARCHAR", _v("pricing/unit")),
        ("product", "MAP(VARCHAR, VARCHAR)", product_map),
        ("product_comment", "VARCHAR", None),
        ("product_fee_code", "VARCHAR", _v("product/feeCode")),
        ("product_fee_description", "VARCHAR", _v("product/feeDescription")),
        ("product_from_location", "VARCHAR", _v("product/fromLocation")),
        ("product_from_location_type", "VARCHAR", _v("product/fromLocationType")),
        ("product_from_region_code", "VARCHAR", _v("product/fromRegionCode")),
        ("product_instance_family", "VARCHAR", None),
        ("product_instance_type", "VARCHAR", None),
        ("product_instancesku", "VARCHAR", None),
        ("product_location", "VARCHAR", _v("product/location")),
        ("product_location_type", "VARCHAR", _v("product/locationType")),
        ("product_operation", "VARCHAR", _v("product/operation")),
        ("product_pricing_unit", "VARCHAR", None),
        ("product_product_family", "VARCHAR", _v("product/productFamily")),
        ("product_region_code", "VARCHAR", _v("product/regionCode")),
        ("product_servicecode", "VARCHAR", _v("product/servicecode")),
        ("product_sku", "VARCHAR", _v("product/sku")),
        ("product_to_location", "VARCHAR", _v("product/toLocation")),
        ("product_to_location_type", "VARCHAR", _v("product/toLocationType")),
        ("product_to_region_code", "VARCHAR", _v("product/toRegionCode")),
        ("product_usagetype", "VARCHAR", _v("product/usagetype")),
        *_reservation_columns(),
        ("resource_tags", "MAP(VARCHAR, VARCHAR)", tags_map),
        *_savings_plan_columns(),
        *_split_columns(),
    ]


def _reservation_columns() -> list[tuple[str, str, str | None]]:
    doubles = (
        "amortized_upfront_cost_for_usage",
        "amortized_upfront_fee_for_billing_period",
        "effective_cost",
        "net_amortized_upfront_cost_for_usage",
        "net_amortized_upfront_fee_for_billing_period",
        "net_effective_cost",
        "net_recurring_fee_for_usage",
        "net_unused_amortized_upfront_fee_for_billing_period",
        "net_unused_recurring_fee",
        "net_upfront_value",
        "recurring_fee_for_usage",
        "unused_amortized_upfront_fee_for_billing_period",
        "unused_normalized_unit_quantity",
        "unused_quantity",
        "unused_recurring_fee",
        "upfront_value",
    )
    strings = (
        "availability_zone",
        "end_time",
        "modification_status",
        "normalized_units_per_reservation",
        "number_of_reservations",
        "reservation_a_r_n",
        "start_time",
        "subscription_id",
        "total_reserved_normalized_units",
        "total_reserved_units",
        "units_per_reservation",
    )
    cols: list[tuple[str, str, str | None]] = [
        (f"reservation_{c}", "DOUBLE", None) for c in doubles
    ]
    cols += [
        (
            f"reservation_{c}",
            "VARCHAR",
            _v("reservation/SubscriptionId") if c == "subscription_id" else None,
        )
        for c in strings
    ]
    return sorted(cols)


def _savings_plan_columns() -> list[tuple[str, str, str | None]]:
    doubles = (
        "amortized_upfront_commitment_for_billing_period",
        "net_amortized_upfront_commitment_for_billing_period",
        "net_recurring_commitment_for_billing_period",
        "net_savings_plan_effective_cost",
        "recurring_commitment_for_billing_period",
        "savings_plan_effective_cost",
        "savings_plan_rate",
        "total_commitment_to_date",
        "used_commitment",
    )
    strings = (
        "end_time",
        "instance_type_family",
        "offering_type",
        "payment_option",
        "purchase_term",
        "region",
        "savings_plan_a_r_n",
        "start_time",
    )
    cols: list[tuple[str, str, str | None]] = [
        (f"savings_plan_{c}", "DOUBLE", None) for c in doubles
    ]
    cols += [(f"savings_plan_{c}", "VARCHAR", None) for c in strings]
    return sorted(cols)


def _split_columns() -> list[tuple[str, str, str | None]]:
    doubles = (
        "actual_usage",
        "net_split_cost",
        "net_unused_cost",
        "public_on_demand_split_cost",
        "public_on_demand_unused_cost",
        "reserved_usage",
        "split_cost",
        "split_usage",
        "split_usage_ratio",
        "unused_cost",
    )
    cols: list[tuple[str, str, str | None]] = [
        (f"split_line_item_{c}", "DOUBLE", None) for c in doubles
    ]
    cols.append(("split_line_item_parent_resource_id", "VARCHAR", None))
    return sorted(cols)


def cur2_select(con: duckdb.DuckDBPyConnection, rows: int) -> str:
    parts = [
        f"CAST({expr if expr is not None else 'NULL'} AS {typ}) AS {_q(name)}"
        for name, typ, expr in cur2_columns()
    ]
    return "SELECT " + ",\n  ".join(parts) + f"\nFROM ({_expanded_sql(con, rows)}) x ORDER BY i"


def generate_legacy(rows: int, out: Path, con: duckdb.DuckDBPyConnection | None = None) -> Path:
    """Write a legacy CUR CSV of ``rows`` rows to ``out`` (atomically)."""
    con = con or connect()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    con.execute(f"COPY ({legacy_select(con, rows)}) TO '{tmp}' (FORMAT csv, HEADER)")
    tmp.replace(out)
    return out


def generate_cur2(rows: int, out: Path, con: duckdb.DuckDBPyConnection | None = None) -> Path:
    """Write a CUR 2.0 Parquet file of ``rows`` rows to ``out`` (atomically)."""
    con = con or connect()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    con.execute(f"COPY ({cur2_select(con, rows)}) TO '{tmp}' (FORMAT parquet, COMPRESSION snappy)")
    tmp.replace(out)
    return out


def ensure(
    rows_cur2: int, rows_legacy: int, data_dir: Path, *, force: bool = False
) -> dict[str, Path]:
    """Generate the two files unless they already exist; return their paths."""
    paths = {"cur2": cur2_path(data_dir, rows_cur2), "legacy": legacy_path(data_dir, rows_legacy)}
    con: duckdb.DuckDBPyConnection | None = None
    for kind, path in paths.items():
        if path.exists() and not force:
            continue
        con = con or connect()
        started = time.perf_counter()
        if kind == "cur2":
            generate_cur2(rows_cur2, path, con)
        else:
            generate_legacy(rows_legacy, path, con)
        size = path.stat().st_size / 2**20
        print(f"generated {path} ({size:,.1f} MiB) in {time.perf_counter() - started:.1f} s")
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-cur2", type=int, default=5_000_000)
    parser.add_argument("--rows-legacy", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--force", action="store_true", help="regenerate existing files")
    args = parser.parse_args(argv)
    for kind, path in ensure(
        args.rows_cur2, args.rows_legacy, args.data_dir, force=args.force
    ).items():
        print(f"{kind}: {path}")


if __name__ == "__main__":
    main()

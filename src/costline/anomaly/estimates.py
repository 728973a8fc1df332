"""Estimated cost before the bill: usage × price, scored until the bill replaces it.

A provider's bill arrives hours to days after the usage. A **usage file** (CSV or Parquet, one
row per hour or day and usage key) loaded by :func:`load_usage` becomes rows of the
``estimated_cost`` table: the quantity times its price, the price being the file's
``unit_price`` or, without one, the customer's own effective rate observed in the bill
(``EffectiveCost / ConsumedQuantity``, or ``PricingQuantity`` where a row has no consumed
quantity, over the provider's last :data:`RATE_DAYS` billed days, for the same provider,
service, usage type and currency, and the same region when the bill has that region).

Detection (:mod:`costline.anomaly.engine`) reads each provider's days after its last billed day
from ``estimated_cost`` and earlier days from ``cost``, so the bill replaces the estimate as it
arrives. :mod:`costline.anomaly.reconcile` then compares the two on the days both cover and
settles the anomalies flagged on estimated days.

DuckDB reads the file; Python only builds SQL and reports the first bad value, naming the
file, row and column. Loading a file replaces the rows an earlier load of the same file wrote.

Example:
    >>> ALIASES["usage_type"]
    ('x_usagetype', 'usage_type')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from costline.anomaly.series import ident, lit
from costline.core.errors import BadInputError, Location
from costline.core.inputs import need_file, read_header, reader_sql, reject_bad_rows

ESTIMATED_DDL = """CREATE TABLE IF NOT EXISTS estimated_cost (
  day DATE NOT NULL, hour TIMESTAMP, x_Provider VARCHAR NOT NULL, SubAccountId VARCHAR,
  ServiceName VARCHAR, ResourceId VARCHAR, RegionId VARCHAR, x_UsageType VARCHAR,
  BillingCurrency VARCHAR, quantity DECIMAL(38, 10), unit_price DECIMAL(38, 16),
  price_source VARCHAR, EffectiveCost DECIMAL(38, 10), source_file VARCHAR,
  loaded_at TIMESTAMP)"""

# canonical column → accepted header spellings (compared lower-cased and trimmed)
ALIASES: Mapping[str, tuple[str, ...]] = {
    "timestamp": ("timestamp",),
    "provider": ("x_provider", "provider"),
    "account": ("subaccountid", "account"),
    "service": ("servicename", "service"),
    "resource": ("resourceid", "resource"),
    "region": ("regionid", "region"),
    "usage_type": ("x_usagetype", "usage_type"),
    "quantity": ("quantity",),
    "unit_price": ("unit_price",),
    "currency": ("billingcurrency", "currency"),
}
REQUIRED = ("timestamp", "account", "service", "quantity")
# Days of the provider's bill (ending at its last billed day) the observed rate is taken over.
RATE_DAYS = 30
HINT = (
    "write a CSV or Parquet file with the columns timestamp, provider, account, service, "
    "quantity (and optionally usage_type, region, resource, unit_price, currency); see "
    "docs/concepts/anomalies.md#estimated-cost-before-the-bill"
)
_CHECKS = (  # column, SQL true for a bad row, value shown, fix
    (
        "timestamp",
        "t IS NULL",
        "ts",
        "write ISO 8601 hours or days, e.g. 2024-09-04T10:00:00Z or 2024-09-04 (UTC unless an "
        "offset is given)",
    ),
    ("provider", "provider IS NULL", "provider", "fill the provider or pass --provider"),
    ("account", "account IS NULL", "account", "every row needs its account (SubAccountId)"),
    ("service", "service IS NULL", "service", "every row needs its service (ServiceName)"),
    (
        "quantity",
        "quantity IS NULL OR quantity < 0",
        "q",
        "write plain non-negative numbers such as 1234.5",
    ),
    (
        "unit_price",
        "(p IS NOT NULL AND unit_price IS NULL) OR unit_price < 0",
        "p",
        "write plain non-negative numbers such as 0.0000004, or leave it empty to price the "
        "row from the bill",
    ),
)


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(ESTIMATED_DDL)


def load_usage(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    provider: str | None = None,
    skip_unpriced: bool = False,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Load one usage file into ``estimated_cost``, replacing the rows of an earlier load of
    the same file. ``provider`` fills rows (or a file) without one.

    Returns:
        ``file``, ``rows`` loaded, ``skipped`` (unpriced, with ``skip_unpriced``),
        ``priced_from_file``, ``priced_from_bill``, ``first_day``, ``last_day`` and the
        estimated ``cost`` per currency.

    Raises:
        BadInputError: unreadable file, missing column, bad timestamp or number, a provider
            without a bill, or rows without a price (unless ``skip_unpriced``).
    """
    ensure_table(con)
    file = str(path.resolve())
    found = _columns(con, path)
    if "provider" not in found and not provider:
        raise _missing(
            path, "provider", "add a provider column (aws, azure, ...) or pass --provider"
        )
    for need in REQUIRED:
        if need not in found:
            raise _missing(path, need, HINT)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _u AS {_parse_sql(path, found, provider)}")
    try:
        _check_values(con, path)
        _check_providers(con, path)
        con.execute(_priced_sql())
        skipped = _check_prices(con, path, skip=skip_unpriced)
        report = _store(con, file, now or dt.datetime.now(dt.UTC).replace(tzinfo=None))
    finally:
        con.execute("DROP TABLE IF EXISTS _u")
        con.execute("DROP TABLE IF EXISTS _u_priced")
    return {"file": file, **report, "skipped": skipped}


def _columns(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    """Canonical name → the file's header for each column present."""
    need_file(path)
    described = read_header(con, path, reader_sql(path), HINT, what="usage file")
    header = {c.strip().lower(): c for c in described}
    found = {}
    for name, spellings in ALIASES.items():
        raw = next((header[s] for s in spellings if s in header), None)
        if raw is not None:
            found[name] = raw
    return found


def _missing(path: Path, column: str, hint: str) -> BadInputError:
    return BadInputError(
        f"usage file lacks column {column}",
        location=Location(str(path), column=column),
        reason="missing-column",
        hint=hint,
    )


def _parse_sql(path: Path, found: Mapping[str, str], provider: str | None) -> str:
    def text(name: str) -> str:
        if name not in found:
            return "CAST(NULL AS VARCHAR)"
        return f"NULLIF(trim(CAST({ident(found[name])} AS VARCHAR)), '')"

    given = lit(provider.strip().lower()) if provider else "NULL"
    ts = text("timestamp")
    return (
        "SELECT _row, ts, CAST(timezone('UTC', try_cast(ts AS TIMESTAMPTZ)) AS TIMESTAMP) AS t, "
        "length(ts) > 10 AS hourly, provider, account, service, resource, region, usage_type, "
        "currency, q, p, try_cast(q AS DECIMAL(38, 10)) AS quantity, "
        "try_cast(p AS DECIMAL(38, 16)) AS unit_price FROM ("
        f"SELECT row_number() OVER () AS _row, {ts} AS ts, "
        f"COALESCE(lower({text('provider')}), {given}) AS provider, {text('account')} AS account, "
        f"{text('service')} AS service, {text('resource')} AS resource, "
        f"{text('region')} AS region, {text('usage_type')} AS usage_type, "
        f"upper({text('currency')}) AS currency, {text('quantity')} AS q, "
        f"{text('unit_price')} AS p FROM {reader_sql(path)})"
    )


def _check_values(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    reject_bad_rows(con, path, "_u", _CHECKS)


def _check_providers(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    known = [
        r[0] for r in con.execute("SELECT DISTINCT x_Provider FROM cost ORDER BY 1").fetchall()
    ]
    bad = con.execute(
        "SELECT _row, provider FROM _u WHERE provider NOT IN (SELECT x_Provider FROM cost) "
        "ORDER BY _row LIMIT 1"
    ).fetchone()
    if bad:
        raise BadInputError(
            f"provider {bad[1]!r} has no bill in the cost store",
            location=Location(str(path), row=int(bad[0]), column="provider", value=str(bad[1])),
            reason="unknown-provider",
            hint=(
                f"use a provider of an ingested bill ({', '.join(known)})"
                if known
                else "ingest the provider's bill first: an estimate fills the days after it"
            ),
        )


def _priced_sql() -> str:
    """``_u_priced``: each row with its currency (the file's, else the one the provider's
    recent bill uses most) and price (the file's, else the observed rate in its region, else
    across regions)."""
    window = f"c.ChargePeriodStart >= CAST(h.billed - INTERVAL {RATE_DAYS - 1} DAY AS TIMESTAMP)"
    qty = "COALESCE(c.ConsumedQuantity, c.PricingQuantity)"
    return (
        "CREATE OR REPLACE TEMP TABLE _u_priced AS "
        "WITH h AS (SELECT x_Provider AS provider, max(CAST(ChargePeriodStart AS DATE)) AS billed "
        "FROM cost WHERE x_Provider IN (SELECT provider FROM _u) GROUP BY 1), "
        "cur AS (SELECT c.x_Provider AS provider, mode(c.BillingCurrency) AS currency "
        f"FROM cost c JOIN h ON c.x_Provider = h.provider WHERE {window} GROUP BY 1), "
        "u AS (SELECT _u.* REPLACE (COALESCE(_u.currency, cur.currency) AS currency) "
        "FROM _u LEFT JOIN cur USING (provider)), "
        "obs AS (SELECT c.x_Provider AS provider, c.ServiceName AS service, "
        "c.x_UsageType AS usage_type, c.RegionId AS region, c.BillingCurrency AS currency, "
        f"SUM(c.EffectiveCost) AS cost, SUM({qty}) AS qty FROM cost c "
        f"JOIN h ON c.x_Provider = h.provider WHERE {window} AND c.ChargeCategory = 'Usage' "
        f"AND {qty} > 0 AND c.ServiceName IN (SELECT service FROM _u) GROUP BY ALL), "
        "by_region AS (SELECT provider, service, usage_type, region, currency, "
        "CAST(CAST(cost AS DOUBLE) / CAST(qty AS DOUBLE) AS DECIMAL(38, 16)) AS rate FROM obs "
        "WHERE region IS NOT NULL), "
        "any_region AS (SELECT provider, service, usage_type, currency, "
        "CAST(CAST(SUM(cost) AS DOUBLE) / CAST(SUM(qty) AS DOUBLE) AS DECIMAL(38, 16)) AS rate "
        "FROM obs GROUP BY ALL) "
        "SELECT u.*, COALESCE(u.unit_price, r.rate, a.rate) AS price, "
        "CASE WHEN u.unit_price IS NOT NULL THEN 'file' WHEN r.rate IS NOT NULL "
        "THEN 'bill-region' WHEN a.rate IS NOT NULL THEN 'bill' END AS price_source FROM u "
        "LEFT JOIN by_region r ON r.provider = u.provider AND r.service = u.service "
        "AND r.usage_type IS NOT DISTINCT FROM u.usage_type AND r.region = u.region "
        "AND r.currency = u.currency "
        "LEFT JOIN any_region a ON a.provider = u.provider AND a.service = u.service "
        "AND a.usage_type IS NOT DISTINCT FROM u.usage_type AND a.currency = u.currency"
    )


def _check_prices(con: duckdb.DuckDBPyConnection, path: Path, *, skip: bool) -> int:
    """Rows without a price: an error listing them (default), or the number skipped."""
    keys = con.execute(
        "SELECT provider, service, usage_type, region, currency, count(*), min(_row) "
        "FROM _u_priced WHERE price IS NULL GROUP BY ALL ORDER BY min(_row)"
    ).fetchall()
    total = sum(int(k[5]) for k in keys)
    if not keys or skip:
        return total
    shown = "; ".join(
        "/".join(str(v) if v is not None else "-" for v in k[:5]) + f" ({k[5]} row(s))"
        for k in keys[:5]
    )
    more = f"; and {len(keys) - 5} more key(s)" if len(keys) > 5 else ""
    raise BadInputError(
        f"{total} row(s) have no unit_price and no observed rate in the bill's last {RATE_DAYS} "
        f"days (provider/service/usage_type/region/currency): {shown}{more}",
        location=Location(str(path), row=int(keys[0][6]), column="unit_price"),
        reason="unpriced",
        hint="add a unit_price for them, ingest a bill with ConsumedQuantity (or PricingQuantity) "
        "for that service and usage type, or pass --skip-unpriced to leave them out",
    )


def _store(con: duckdb.DuckDBPyConnection, file: str, stamp: dt.datetime) -> dict[str, Any]:
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM estimated_cost WHERE source_file = ?", [file])
        con.execute(
            "INSERT INTO estimated_cost SELECT CAST(t AS DATE), "
            "CASE WHEN hourly THEN date_trunc('hour', t) END, provider, account, service, "
            "resource, region, usage_type, currency, quantity, price, price_source, "
            "CAST(quantity * price AS DECIMAL(38, 10)), ?, ? FROM _u_priced "
            "WHERE price IS NOT NULL",
            [file, stamp],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    rows, from_file, first, last = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE price_source = 'file'), min(day), max(day) "
        "FROM estimated_cost WHERE source_file = ?",
        [file],
    ).fetchone() or (0, 0, None, None)
    cost = con.execute(
        "SELECT BillingCurrency, SUM(EffectiveCost) FROM estimated_cost WHERE source_file = ? "
        "GROUP BY 1 ORDER BY 1",
        [file],
    ).fetchall()
    return {
        "rows": int(rows),
        "priced_from_file": int(from_file),
        "priced_from_bill": int(rows) - int(from_file),
        "first_day": first,
        "last_day": last,
        "cost": {cur: Decimal(c) for cur, c in cost},
    }

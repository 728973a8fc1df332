"""The API's query layer: request parameters → safe SQL over the cost store, per scope.

Every function takes a DuckDB connection and a :class:`Scope` and returns a :class:`Page`
(columns, rows, the total before pagination) or a small dataclass of pages. Nothing a caller
passes is ever written into SQL text:

* dimensions, metrics and granularities come from fixed allow-lists that map an API name
  to SQL we wrote (:data:`DIMENSIONS`, :data:`METRICS`); anything else is a
  :class:`~costline.core.errors.ConfigError` naming the allowed values (the API answers 400);
* a tag key (``tag:KEY``) must match :data:`TAG_KEY` and is bound as a parameter of the map
  lookup (``Tags[?]``); filter values, dates, teams, limit and offset are bound parameters;
* output columns are aliased ``d0, d1, ...`` and ordered by position, never by a name given.

Access is enforced in SQL: a team member's :class:`Scope` adds ``x_Team IN (?, ...)`` on the
allocated rows (``allocated_cost``, ``allocation_facts``, the mart's ``team``) or ``team IN
(?, ...)`` on anomalies and recommendations, so no group-by, filter or tag reaches another
team's rows. Without a published allocation a team member sees nothing and the page's
``notes`` say why.

Cost queries read ``mart_daily`` (:mod:`costline.reports.marts`) when it is current and
carries every requested dimension, else the base tables; ``Page.source`` says which.

This module is the one to import; the code lives in ``_query_base`` (scope, page, checks),
``_query_costs`` (:func:`costs`), ``_query_reads`` (the other lists) and ``_query_overview``.

Example:
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE cost AS SELECT TIMESTAMP '2024-09-03' AS "
    ...     "ChargePeriodStart, 'aws' AS x_Provider, 'EC2' AS ServiceName, "
    ...     "MAP {'env': 'prod'} AS Tags, 'USD' AS BillingCurrency, "
    ...     "1.5::DECIMAL(38, 10) AS EffectiveCost")
    >>> page = costs(con, scope=Scope.everything(), group_by=["provider", "tag:env"])
    >>> page.columns, page.rows, page.total
    (['provider', 'tag:env', 'currency', 'cost'], [('aws', 'prod', 'USD', Decimal('1.5000000000'))], 1)
"""

from __future__ import annotations

from costline.reports._query_base import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    METRICS,
    NO_ALLOCATION,
    NO_TEAMS,
    Page,
    Scope,
    parse_date,
    parse_month,
)
from costline.reports._query_costs import (
    DIMENSIONS,
    GRANULARITIES,
    TAG_KEY,
    CostsRequest,
    Term,
    costs,
    costs_request,
    costs_sql,
    dimension,
)
from costline.reports._query_overview import (
    Overview,
    forecast_month,
    month_over_month,
    newest_day,
    overview,
)
from costline.reports._query_reads import (
    ANOMALY_STATUSES,
    RECOMMENDATION_KINDS,
    Freshness,
    anomalies,
    chargeback,
    commitments,
    explain_cost_center,
    freshness,
    ingest_files,
    ingest_runs,
    recommendations,
)
from costline.reports.marts import MartReport, mart_current, refresh_marts

__all__ = [
    "ANOMALY_STATUSES",
    "DEFAULT_LIMIT",
    "DIMENSIONS",
    "GRANULARITIES",
    "MAX_LIMIT",
    "METRICS",
    "NO_ALLOCATION",
    "NO_TEAMS",
    "RECOMMENDATION_KINDS",
    "TAG_KEY",
    "CostsRequest",
    "Freshness",
    "MartReport",
    "Overview",
    "Page",
    "Scope",
    "Term",
    "anomalies",
    "chargeback",
    "commitments",
    "costs",
    "costs_request",
    "costs_sql",
    "dimension",
    "explain_cost_center",
    "forecast_month",
    "freshness",
    "ingest_files",
    "ingest_runs",
    "mart_current",
    "month_over_month",
    "newest_day",
    "overview",
    "parse_date",
    "parse_month",
    "recommendations",
    "refresh_marts",
]

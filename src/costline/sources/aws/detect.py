"""Recognise an AWS Cost and Usage Report and which of its three layouts a file uses.

* ``aws-cur-legacy``: legacy CUR as CSV, ``category/ColumnName`` headers
  (``lineItem/UnblendedCost``, ``bill/BillingPeriodStartDate``, ``resourceTags/user:team``).
* ``aws-cur-athena``: legacy CUR delivered for Athena (Parquet), snake_case names
  (``line_item_unblended_cost``) and one column per tag (``resource_tags_user_team``).
* ``aws-cur2``: CUR 2.0 from AWS Data Exports (Parquet or CSV). The same snake_case names, plus
  columns legacy CUR never had: the map columns ``resource_tags``, ``product``,
  ``cost_category``, ``discount`` and the name columns ``bill_payer_account_name`` /
  ``line_item_usage_account_name``. Any one of them marks CUR 2.0.

A file is claimed when at least three of eight core CUR columns are present, so a CUR file that
lacks ``lineItem/UnblendedCost`` is still recognised and the user is told which mandatory
column is missing instead of "unknown format". The score (90) is below FOCUS's 100; a CUR file
has no FOCUS column names, so the two never compete.

Example:
    >>> detect(RawColumns.of({"lineItem/UnblendedCost": "VARCHAR",
    ...     "lineItem/LineItemType": "VARCHAR", "bill/PayerAccountId": "VARCHAR"})).kind
    'aws-cur-legacy'
"""

from __future__ import annotations

from costline.sources.aws.names import snake
from costline.sources.base import Detection, RawColumns

SCORE = 90
MIN_MARKERS = 3
CORE = (
    "lineItem/UnblendedCost",
    "lineItem/LineItemType",
    "lineItem/UsageAccountId",
    "lineItem/UsageStartDate",
    "lineItem/ProductCode",
    "bill/PayerAccountId",
    "bill/BillingPeriodStartDate",
    "identity/LineItemId",
)
CUR2_ONLY = (
    "resource_tags",
    "product",
    "cost_category",
    "discount",
    "bill_payer_account_name",
    "line_item_usage_account_name",
)


def detect(cols: RawColumns) -> Detection | None:
    slash = sum(1 for name in CORE if _exact(cols, name))
    snaked = sum(1 for name in CORE if _exact(cols, snake(name)))
    if max(slash, snaked) < MIN_MARKERS:
        return None
    if slash >= snaked:
        kind, layout = "aws-cur-legacy", "legacy CUR (CSV headers category/ColumnName)"
    elif any(_exact(cols, name) for name in CUR2_ONLY):
        kind, layout = "aws-cur2", "CUR 2.0 (AWS Data Exports)"
    else:
        kind, layout = "aws-cur-athena", "legacy CUR for Athena (snake_case, tag columns)"
    return Detection(kind=kind, score=SCORE, provider="aws", details={"layout": layout})


def _exact(cols: RawColumns, name: str) -> bool:
    # CUR names are case-sensitive in practice; accept only a case-insensitive exact match
    # (not the space-stripping of RawColumns.find) so "product" never matches "Product Name".
    low = name.lower()
    return any(raw.lower().lstrip("\ufeff") == low for raw in cols.types)

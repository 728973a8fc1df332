"""GCP Cloud Billing export to BigQuery (standard and detailed), as NDJSON, Parquet or CSV.

A committed use discount fee of Google's new spend-based model with an unused part also yields
an "unused commitment" row (:func:`costline.sources.gcp.splits.split_rows`).
"""

from __future__ import annotations

from costline.sources.base import SourceSpec
from costline.sources.gcp.detect import detect
from costline.sources.gcp.mapping import build_mapping
from costline.sources.gcp.splits import split_rows

SOURCES = (
    SourceSpec(
        name="gcp",
        description="GCP Cloud Billing export to BigQuery, standard or detailed table "
        "(NDJSON from bq extract, Parquet, or CSV with JSON/flattened records)",
        detect=detect,
        build_mapping=build_mapping,
        docs="docs/connectors/gcp.md",
        split_rows=split_rows,
    ),
)

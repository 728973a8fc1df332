"""AWS Cost and Usage Reports → FOCUS 1.3 (see docs/connectors/aws.md).

One source, three layouts (the detection ``kind``): ``aws-cur-legacy`` (legacy CUR CSV),
``aws-cur-athena`` (legacy CUR for Athena, Parquet) and ``aws-cur2`` (CUR 2.0 from AWS Data
Exports, Parquet or CSV).

Commitment fees with an unused part also yield an "unused commitment" row
(:func:`costline.sources.aws.splits.split_rows`).
"""

from __future__ import annotations

from costline.sources.aws.detect import detect
from costline.sources.aws.mapping import build_mapping
from costline.sources.aws.splits import split_rows
from costline.sources.base import SourceSpec

SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec(
        name="aws-cur",
        description="AWS Cost and Usage Reports: legacy CUR (CSV or Athena Parquet) and CUR 2.0 "
        "(Data Exports, Parquet or CSV)",
        detect=detect,
        build_mapping=build_mapping,
        docs="docs/connectors/aws.md",
        split_rows=split_rows,
    ),
)

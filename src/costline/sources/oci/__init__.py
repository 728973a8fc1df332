"""OCI native cost report CSV (``reports/cost-csv``). OCI's FOCUS report is the focus source."""

from __future__ import annotations

from costline.sources.base import SourceSpec
from costline.sources.oci.detect import detect
from costline.sources.oci.mapping import build_mapping

SOURCES = (
    SourceSpec(
        name="oci",
        description="OCI native cost report CSV (reports/cost-csv, lineItem/* and cost/* headers)",
        detect=detect,
        build_mapping=build_mapping,
        docs="docs/connectors/oci.md",
        # OCI writes a new report every few hours holding only the lines since the last one.
        replace_scope="file",
    ),
)

"""Azure Cost Management cost-details exports → FOCUS 1.3 (see docs/connectors/azure.md).

EA, MCA and legacy pay-as-you-go CSV exports, actual or amortized, with English, lower-case or
localised headers. Microsoft's own FOCUS export is read by the ``focus`` source.
"""

from __future__ import annotations

from costline.sources.azure.detect import detect
from costline.sources.azure.mapping import build_mapping
from costline.sources.base import SourceSpec

SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec(
        name="azure",
        description="Azure Cost Management cost details CSV (EA, MCA, pay-as-you-go; actual or "
        "amortized)",
        detect=detect,
        build_mapping=build_mapping,
        # Cost Management writes RFC 4180 CSV (JSON in quoted Tags/AdditionalInfo cells). The
        # default lenient mode (strict_mode=false) makes DuckDB's parallel reader give up on
        # large files of that shape; strict parsing reads them in parallel. Short rows are
        # still padded (null_padding stays on).
        csv_options={"strict_mode": True},
        docs="docs/connectors/azure.md",
    ),
)

"""FOCUS files from any provider (1.0, 1.1, 1.2, 1.3), upgraded to FOCUS 1.3."""

from __future__ import annotations

from costline.sources.base import SourceSpec
from costline.sources.focus.detect import detect
from costline.sources.focus.mapping import build_mapping

SOURCES = (
    SourceSpec(
        name="focus",
        description="FOCUS 1.0-1.3 Cost and Usage files (AWS/Azure/GCP/OCI FOCUS exports)",
        detect=detect,
        build_mapping=build_mapping,
        docs="docs/connectors/focus.md",
    ),
)

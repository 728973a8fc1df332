"""gcp billing exports → FOCUS 1.3 (see docs/connectors/gcp.md)."""

from __future__ import annotations

from costline.sources.base import SourceSpec

# Filled in as the gcp mappings land; the registry loads every SOURCES tuple.
SOURCES: tuple[SourceSpec, ...] = ()

"""The ingest pipeline: files → landing → detect → map → atomic partition replace."""

from __future__ import annotations

from costline.ingest.pipeline import FileOutcome, Ingestor, IngestReport, expand_inputs

__all__ = ["FileOutcome", "IngestReport", "Ingestor", "expand_inputs"]

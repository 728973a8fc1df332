"""Billing sources: recognise an export from its columns and map it to FOCUS 1.3.

One folder per provider with the same file names: ``detect.py`` (recognise a file from its
columns), ``mapping.py`` (pure raw→FOCUS mapping, as DuckDB SQL expressions) and, where the
provider has an API, ``client.py``. The mappings never open files: the ingest pipeline reads
files with DuckDB and applies the SQL the mapping returns, so files larger than memory stream.
"""

from __future__ import annotations

from costline.sources.base import Detection, Field, RawColumns, SourceSpec
from costline.sources.registry import SOURCES, detect_source, get_source

__all__ = [
    "SOURCES",
    "Detection",
    "Field",
    "RawColumns",
    "SourceSpec",
    "detect_source",
    "get_source",
]

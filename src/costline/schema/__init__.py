"""The FOCUS 1.3 cost schema: the single source of truth for columns, types and requirements."""

from __future__ import annotations

from costline.schema.focus import (
    EXTENSION_COLUMNS,
    FOCUS_COLUMNS,
    FOCUS_VERSION,
    STORE_COLUMNS,
    Column,
    column,
    store_ddl,
)

__all__ = [
    "EXTENSION_COLUMNS",
    "FOCUS_COLUMNS",
    "FOCUS_VERSION",
    "STORE_COLUMNS",
    "Column",
    "column",
    "store_ddl",
]

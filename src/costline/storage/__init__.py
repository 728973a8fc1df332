"""Engine adapters (DuckDB default), atomic partition replacement and the ingest manifest."""

from __future__ import annotations

from costline.storage.base import EngineAdapter, LoadPlan, LoadResult, QueryResult
from costline.storage.duckdb import DuckDBWarehouse

__all__ = ["DuckDBWarehouse", "EngineAdapter", "LoadPlan", "LoadResult", "QueryResult"]

"""The engine adapter interface.

An engine stores the cost table and the ingest manifest, and runs SQL written in DuckDB
dialect. Per-engine differences are ``SUPPORTS_*`` flags plus small overrides; a Spark adapter
(partitioned Parquet with dynamic partition overwrite) implements the same methods, with SQL
transpiled by sqlglot.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of a query."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class LoadPlan:
    """One unit of ingestion: the SELECT that maps raw rows to store columns, and its lineage."""

    ingestion_id: str
    select_sql: str
    files: tuple[str, ...]
    sha256: tuple[str, ...]
    bytes: int
    source_kind: str
    provider: str
    validate: Callable[[Any], None] | None = None
    # "partition": the load replaces every (provider, account, period) it covers (cumulative
    # exports such as AWS CUR, Azure exports). "file": it replaces only rows that came from a
    # file of the same name in those partitions (incremental exports such as OCI cost reports).
    replace_scope: Literal["partition", "file"] = "partition"


@dataclass(frozen=True)
class PartitionKey:
    provider: str
    billing_account_id: str
    billing_period_start: datetime


@dataclass(frozen=True)
class LoadResult:
    ingestion_id: str
    rows: int
    partitions: list[PartitionKey]
    replaced_rows: int
    seconds: float
    warnings: list[str] = field(default_factory=list)


class EngineAdapter(ABC):
    """What every engine offers the pipeline and the front ends."""

    NAME = "base"
    SUPPORTS_TRANSACTIONS = False
    SUPPORTS_MAP_TYPE = False

    @abstractmethod
    def ensure_schema(self) -> None: ...

    @abstractmethod
    def describe(self, relation_sql: str) -> dict[str, str]:
        """Column name → engine type of a relation (e.g. a file reader)."""

    @abstractmethod
    def load(
        self, plan: LoadPlan, *, on_progress: Callable[[float], None] | None = None
    ) -> LoadResult:
        """Insert the plan's rows and replace the partitions they cover, atomically.

        ``on_progress`` receives the engine's completion estimate (0-100) while the load runs.
        """

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> QueryResult: ...

    @abstractmethod
    def known_sha256(self, sha256: str) -> str | None:
        """Ingestion id that already loaded a file with this checksum, if any."""

    @abstractmethod
    def close(self) -> None: ...

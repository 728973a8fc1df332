"""The ``costline.yaml`` models. Every model forbids unknown keys, so a typo is an error.

Example:
    >>> CostlineConfig.model_validate({"name": "acme"}).storage.database
    'costline.duckdb'
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageConfig(ConfigModel):
    """Where and how the cost store lives."""

    engine: Literal["duckdb"] = Field("duckdb", description="Warehouse engine.")
    database: str = Field("costline.duckdb", description="DuckDB file, relative to the workspace.")
    memory_limit: str | None = Field(
        "2GB", description="DuckDB memory limit; larger work spills to temp files."
    )
    threads: int | None = Field(None, ge=1, description="DuckDB threads (default: all cores).")


class IngestConfig(ConfigModel):
    """How raw files are received."""

    landing: Literal["copy", "none"] = Field(
        "copy",
        description="Keep an immutable copy of each raw file under landing/ (copy), "
        "or only record its checksum (none).",
    )


class SourceConfig(ConfigModel):
    """A named place `costline ingest` (with no paths) reads exports from."""

    name: str = Field(description="Label shown in reports.")
    paths: list[str] = Field(description="Files, directories or globs (relative to the workspace).")
    kind: str = Field("auto", description="Source kind, or auto to detect from the columns.")


class AllocationConfig(ConfigModel):
    """Where the ownership registry and the allocation rules live, and the default basis."""

    owners: str = Field("owners.yaml", description="Ownership registry, relative to the workspace.")
    rules: str = Field("rules", description="Rules file or folder of *.yaml (name order).")
    basis: Literal["EffectiveCost", "BilledCost"] = Field(
        "EffectiveCost",
        description="Cost column reports use: EffectiveCost (amortized) or BilledCost.",
    )


class CostlineConfig(ConfigModel):
    """The whole ``costline.yaml``."""

    version: Literal[1] = Field(1, description="Config format version.")
    name: str = Field("costline", description="Workspace name shown in reports.")
    storage: StorageConfig = Field(default_factory=StorageConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    allocation: AllocationConfig = Field(default_factory=AllocationConfig)

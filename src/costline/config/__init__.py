"""``costline.yaml`` as pydantic models, and a loader whose errors name file, line and key."""

from __future__ import annotations

from costline.config.loader import CONFIG_FILE, load_config
from costline.config.models import CostlineConfig, IngestConfig, SourceConfig, StorageConfig

__all__ = [
    "CONFIG_FILE",
    "CostlineConfig",
    "IngestConfig",
    "SourceConfig",
    "StorageConfig",
    "load_config",
]

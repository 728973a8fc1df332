"""AWS CUR manifests: which data files make up the current export of a billing period.

AWS writes a ``<report>-Manifest.json`` next to the data: legacy CUR lists ``reportKeys`` (the
parts of the latest *assembly*), CUR 2.0 Data Exports list ``dataFiles``. When a folder holds
several assemblies of one period (AWS keeps older ones unless told to overwrite), only the files
the manifest names are current; loading every file would count the period twice. A manifest
whose files are not all present describes an incomplete download: loading part of it would
replace a partition with partial data, so nothing of it is loaded.

Example:
    >>> m = parse_manifest({"reportKeys": ["p/r/20181001-20181101/abc/r-1.csv.gz"],
    ...                     "assemblyId": "abc"}, Path("/x/r-Manifest.json"))
    >>> m.keys
    ('p/r/20181001-20181101/abc/r-1.csv.gz',)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_MANIFEST_BYTES = 16 << 20


@dataclass(frozen=True)
class Manifest:
    path: Path
    keys: tuple[str, ...]
    assembly: str | None

    @property
    def scope(self) -> Path:
        """The folder whose data files this manifest governs (the billing period folder)."""
        return self.path.parent


def is_manifest_name(path: Path) -> bool:
    return path.name.lower().endswith("manifest.json")


def read_manifest(path: Path) -> Manifest | None:
    """Parse a CUR manifest file, or None if it is not one."""
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return None
    return parse_manifest(data, path) if isinstance(data, dict) else None


def parse_manifest(data: dict[str, Any], path: Path) -> Manifest | None:
    """Pure: the data-file keys of a legacy (``reportKeys``) or 2.0 (``dataFiles``) manifest."""
    keys = data.get("reportKeys") or data.get("dataFiles")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        return None
    assembly = data.get("assemblyId") or data.get("executionId")
    return Manifest(path, tuple(keys), str(assembly) if assembly else None)


def key_matches(key: str, file: Path) -> bool:
    """Does an S3 key name this local file? Basename, plus the parent folder when the key has one.

    Example:
        >>> key_matches("s3://b/p/BILLING_PERIOD=2024-01/x-00001.parquet",
        ...             Path("/d/BILLING_PERIOD=2024-01/x-00001.parquet"))
        True
        >>> key_matches("p/r/20181001-20181101/old/r-1.csv.gz", Path("/d/new/r-1.csv.gz"))
        False
    """
    parts = key.rstrip("/").split("/")
    if parts[-1] != file.name:
        return False
    return len(parts) < 2 or parts[-2] == file.parent.name or parts[-2] == ""


def resolve(manifest: Manifest, files: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """The local files the manifest names, and the keys with no local file."""
    found: list[Path] = []
    missing: list[str] = []
    for key in manifest.keys:
        hit = next((f for f in files if key_matches(key, f)), None)
        if hit is None:
            missing.append(key)
        else:
            found.append(hit)
    return found, missing

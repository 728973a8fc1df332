"""Shared fixtures. Reference exports live in ../shared/reference-data (written by others)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from costline.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
REFERENCE = Path(
    os.environ.get("COSTLINE_REFERENCE_DATA", REPO.parent / "shared" / "reference-data")
)


@pytest.fixture(scope="session")
def reference() -> Path:
    """The shared reference-data folder (fails loudly if missing: tests must not skip it)."""
    assert REFERENCE.is_dir(), f"reference data not found at {REFERENCE}"
    return REFERENCE


@pytest.fixture
def make_workspace(tmp_path: Path) -> Callable[..., Workspace]:
    """Builder: a fresh workspace in tmp_path (optionally named)."""

    def make(name: str = "ws") -> Workspace:
        return Workspace.init(tmp_path / name)

    return make


@pytest.fixture
def workspace(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace()


@pytest.fixture
def raw_duckdb() -> Iterator[duckdb.DuckDBPyConnection]:
    """A plain in-memory DuckDB (UTC, no costline macros) for computing expected values
    straight from raw files, independently of costline's mappings."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    yield con
    con.close()

from __future__ import annotations

from pathlib import Path

import pytest

from costline.config import load_config
from costline.core.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "costline.yaml"
    path.write_text(text)
    return path


def test_defaults_when_empty(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, ""))
    assert cfg.storage.database == "costline.duckdb" and cfg.ingest.landing == "copy"


def test_unknown_key_names_file_line_key_and_suggestion(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: acme\nstorage:\n  engine: duckdb\n  memroy_limit: 1GB\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert (err.path, err.line, err.key) == (path, 4, "storage.memroy_limit")
    assert "did you mean 'memory_limit'" in str(err)
    assert f"{path}:4" in str(err)


def test_wrong_type_in_a_list_item(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "sources:\n  - name: aws\n    paths: [a.csv]\n  - name: az\n    paths: 7\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.line == 5 and info.value.key == "sources.1.paths"


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: acme\nstorage: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.line is not None and "not valid YAML" in str(info.value)


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "storage:\n  memory_limit: 1GB\n")
    cfg = load_config(
        path, environ={"COSTLINE__STORAGE__MEMORY_LIMIT": "3GB", "COSTLINE__STORAGE__THREADS": "2"}
    )
    assert cfg.storage.memory_limit == "3GB" and cfg.storage.threads == 2

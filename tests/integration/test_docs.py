"""Docs stay true: the CLI reference is current, every setting is documented, links resolve."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from costline.cli.docs import render_cli_reference
from costline.config.allocation import Condition
from costline.config.models import CostlineConfig

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_cli_reference_is_current() -> None:
    page = (DOCS / "reference" / "cli.md").read_text()
    assert page == render_cli_reference(), "run `make docs` to regenerate docs/reference/cli.md"


def test_schema_reference_is_current() -> None:
    from costline.schema.focus import schema_reference

    page = (DOCS / "reference" / "schema.md").read_text()
    assert page == schema_reference(), "run `make docs` to regenerate docs/reference/schema.md"


def _settings(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        args = getattr(ann, "__args__", None)
        inner = args[0] if args else ann
        if inner is Condition:  # a rules condition: documented in docs/reference/rules.md
            keys.append(f"{prefix}{name}")
        elif isinstance(inner, type) and issubclass(inner, BaseModel):
            keys.append(f"{prefix}{name}")
            sep = "[]." if getattr(ann, "__origin__", None) is list else "."
            keys += _settings(inner, f"{prefix}{name}{sep}")
        else:
            keys.append(f"{prefix}{name}")
    return keys


def test_every_setting_is_documented() -> None:
    page = (DOCS / "reference" / "config.md").read_text()
    missing = [k for k in _settings(CostlineConfig) if f"`{k}`" not in page]
    assert not missing, f"document these settings in docs/reference/config.md: {missing}"


def test_relative_links_in_docs_resolve() -> None:
    root = DOCS.parent
    pages = [*DOCS.rglob("*.md"), root / "README.md"]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(root)} -> {target}")
    assert not broken, broken

"""Load ``costline.yaml``: defaults, then the file, then ``COSTLINE__SECTION__KEY`` env vars.

Errors name the file, the line and the dotted key, with the closest valid key on a typo.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from costline.config.models import CostlineConfig
from costline.core.errors import ConfigError

CONFIG_FILE = "costline.yaml"
ENV_PREFIX = "COSTLINE__"


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> CostlineConfig:
    """Read and validate a ``costline.yaml``.

    Raises:
        ConfigError: unreadable YAML, unknown key, wrong type; with file, line and key.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        node = yaml.compose(text) if text.strip() else None
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            path=path,
            line=mark.line + 1 if mark else None,
            hint="check indentation and quoting at that line",
        ) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of settings", path=path, line=1)
    _apply_env(data, environ if environ is not None else os.environ)
    try:
        return CostlineConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        line = line_of(node, err["loc"])
        hint = _hint(err, loc)
        raise ConfigError(err["msg"], path=path, line=line, key=".".join(loc), hint=hint) from exc


def _apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in key[len(ENV_PREFIX) :].split("__") if p]
        target = data
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        if parts:
            target[parts[-1]] = yaml.safe_load(value)


def line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            key_node = next((k for k, v in node.value if k.value == part), None)
            if key_node is None and _is_tag(node, part):
                continue  # NOTE: pydantic puts a union member's tag (`type: slack`) in the loc.
            if key_node is not None:
                line = key_node.start_mark.line + 1
            node = match
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    if line is None and node is not None:
        line = node.start_mark.line + 1
    return line


def _is_tag(node: yaml.MappingNode, part: int | str) -> bool:
    return any(k.value == "type" and getattr(v, "value", None) == part for k, v in node.value)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation holds: ``X``, ``list[X]``, ``X | None``, a union of models."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _tag_of(model: type[BaseModel]) -> object:
    field = model.model_fields.get("type")
    args = get_args(field.annotation) if field else ()
    return args[0] if args else None


def _hint(err: Mapping[str, Any], loc: list[str]) -> str | None:
    if err["type"] != "extra_forbidden":
        return "see docs/reference/config.md"
    model: type[BaseModel] = CostlineConfig
    members: list[type[BaseModel]] = []
    for part in loc[:-1]:
        tagged = next((m for m in members if _tag_of(m) == part), None)
        if tagged is not None:
            model, members = tagged, []
            continue
        field = model.model_fields.get(part)
        found = _models_in(field.annotation) if field else []
        if len(found) == 1:
            model = found[0]
        elif found:
            members = found
    close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"valid keys here: {', '.join(model.model_fields)}"

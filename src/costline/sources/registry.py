"""Registry of sources. Built-ins register exactly as plugins would: a module with ``SOURCES``.

Example:
    >>> get_source("focus").name
    'focus'
"""

from __future__ import annotations

import difflib
import importlib

from costline.core.errors import CostlineError, Location, UnknownFormatError
from costline.sources.base import Detection, RawColumns, SourceSpec

BUILTIN_MODULES = (
    "costline.sources.focus",
    "costline.sources.aws",
    "costline.sources.azure",
    "costline.sources.gcp",
    "costline.sources.oci",
)


def _load() -> dict[str, SourceSpec]:
    specs: dict[str, SourceSpec] = {}
    for module_name in BUILTIN_MODULES:
        module = importlib.import_module(module_name)
        for spec in getattr(module, "SOURCES", ()):
            specs[spec.name] = spec
    return specs


SOURCES: dict[str, SourceSpec] = _load()


def get_source(name: str) -> SourceSpec:
    """A source by name; an unknown name fails with the closest valid one."""
    try:
        return SOURCES[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(SOURCES), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"one of: {', '.join(sorted(SOURCES))}"
        raise CostlineError(f"unknown source kind {name!r}", hint=hint) from None


def detect_source(
    cols: RawColumns, *, file: str, kind: str | None = None
) -> tuple[SourceSpec, Detection]:
    """The source that claims these columns with the highest score (only ``kind`` if given).

    Raises:
        UnknownFormatError: no source recognises the columns, or ``kind`` does not.
        CostlineError: ``kind`` is not a registered source (with the closest name).
    """
    if kind is not None and kind != "auto":
        spec = get_source(kind)
        found = spec.detect(cols)
        if found is None:
            shown = ", ".join(list(cols.types)[:8]) + (", ..." if len(cols) > 8 else "")
            raise UnknownFormatError(
                f"configured as kind {kind!r}, but its columns are not a {spec.description} "
                f"export (columns: {shown})",
                location=Location(file),
                hint="fix `sources[].kind` in costline.yaml, or set it to auto",
            )
        return spec, found
    best: tuple[SourceSpec, Detection] | None = None
    for spec in SOURCES.values():
        found = spec.detect(cols)
        if found is not None and (best is None or found.score > best[1].score):
            best = (spec, found)
    if best is None:
        shown = ", ".join(list(cols.types)[:8]) + (", ..." if len(cols) > 8 else "")
        raise UnknownFormatError(
            f"not a billing export costline recognises (columns: {shown})",
            location=Location(file),
            hint="supported: "
            + "; ".join(s.description for s in SOURCES.values())
            + ". Pass only cost exports, or open an issue with this header",
        )
    return best

"""Every ``Example:`` in costline's docstrings runs as a doctest: documentation that can fail."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import costline

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(costline.__path__, prefix="costline.") if not m.ispkg
)


def test_the_walk_finds_the_modules() -> None:
    assert "costline.optimize.adoption" in MODULES and len(MODULES) > 100


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert failed == 0, (
        f"{failed} docstring example(s) of {name} failed (run: pytest --doctest-modules {module.__file__})"
    )

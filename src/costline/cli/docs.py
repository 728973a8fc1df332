"""Generate docs/reference/cli.md from the CLI's own ``--help`` (a test keeps it current)."""

from __future__ import annotations

import os
from collections.abc import Iterator

from typer.main import get_command
from typer.testing import CliRunner

from costline.cli.main import app

HEADER = """# CLI reference

Generated from `costline --help` by `make docs` (`python scripts/gen_cli_docs.py`);
`tests/integration/test_docs.py` fails when this page is stale.

Every command acts on the workspace found by walking up from the current directory to a
`costline.yaml`, or the one named by `--workspace` / `COSTLINE_WORKSPACE`. Listing commands take
`--format table|json|csv` (JSON is a list of row objects with exact decimal numbers). Errors are
one red line naming the fix, exit code 1; `--debug` shows the traceback.
"""


def _commands() -> Iterator[list[str]]:
    """Every command path, groups before their commands, at any depth
    (``anomalies usage load`` included)."""

    def walk(cmd: object, path: list[str]) -> Iterator[list[str]]:
        yield path
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    yield from walk(get_command(app), [])


def render_cli_reference() -> str:
    """The whole CLI reference page as markdown."""
    runner = CliRunner()
    env = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        parts = [HEADER]
        for path in _commands():
            result = runner.invoke(app, [*path, "--help"], env=env, color=False)
            title = "costline " + " ".join(path) if path else "costline"
            text = "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())
            parts.append(f"## `{title}`\n\n```text\n{text}\n```\n")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return "\n".join(parts)

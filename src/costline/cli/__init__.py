"""The ``costline`` command line (typer). Commands are thin: parse, call the workspace, render."""

# NOTE: the options of the main callback (--workspace, --debug) live here, not in
# ``costline.cli.main``: run as ``python -m costline.cli.main`` that module is ``__main__``,
# and the sub-apps that import ``costline.cli.main`` would get a second copy with empty state.
STATE: dict[str, object] = {"debug": False, "workspace": None}

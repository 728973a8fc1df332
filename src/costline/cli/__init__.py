"""The ``costline`` command line (typer). Commands are thin: parse, call the workspace, render."""

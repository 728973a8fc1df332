"""``costline inventory load``: what exists and in what state (volumes, snapshots, ...)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from costline.cli import output

if TYPE_CHECKING:
    from costline.workspace import Workspace

inventory_app = typer.Typer(
    help="Resource inventory (volumes, snapshots and their state) for the waste rules.",
    no_args_is_help=True,
)


def _workspace() -> Workspace:
    from costline.cli.main import _workspace as find

    return find()


@inventory_app.command("load")
def inventory_load(
    path: Annotated[
        Path, typer.Argument(help="CSV or Parquet: resource_id, resource_type, state, ...")
    ],
) -> None:
    """Replace the inventory with this snapshot (see docs/concepts/waste.md for the columns)."""
    n = _workspace().load_inventory(path)
    output.info(f"inventory: {n} resources loaded from {path}")

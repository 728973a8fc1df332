"""``costline channels ...``: list the alert channels, send a test alert, show deliveries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from costline.cli import output
from costline.cli.output import OutputFormat, render
from costline.core.errors import CostlineError

if TYPE_CHECKING:
    from costline.workspace import Workspace

channels_app = typer.Typer(
    help="Alert channels (Slack, email, Jira, webhook): list, test, deliveries.",
    no_args_is_help=True,
)
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


def _workspace() -> Workspace:
    from costline.cli.main import _workspace as find

    return find()


@channels_app.command("list")
def channels_list(fmt: FormatOpt = OutputFormat.table) -> None:
    """The channels under alerts.channels, where they send and which routes use them."""
    result = _workspace().channels()
    render(result.columns, result.rows, fmt, title="alert channels")


@channels_app.command("test")
def channels_test(
    channel: Annotated[str, typer.Argument(help="Channel id from alerts.channels.")],
    team: Annotated[
        str | None,
        typer.Option("--team", help="Send as this team (its contacts fill an empty to/project)."),
    ] = None,
) -> None:
    """Send a test alert through a channel; print the exact failure (exit 1) if it fails."""
    try:
        answer = _workspace().test_channel(channel, team=team)
    except CostlineError as exc:
        output.error(f"test alert not delivered: {exc}")
        raise typer.Exit(1) from exc
    output.info(f"channel {channel}: test alert delivered ({answer})")


@channels_app.command("deliveries")
def channels_deliveries(fmt: FormatOpt = OutputFormat.table) -> None:
    """Alert deliveries: status and attempts per alert revision and channel, newest first."""
    result = _workspace().alert_deliveries()
    render(result.columns, result.rows, fmt, title="alert deliveries")

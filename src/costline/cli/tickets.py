"""``costline tickets sync|list|dismiss|reopen``: the ticket loop for recommendations (issue #5)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer

from costline.cli.output import OutputFormat, render

if TYPE_CHECKING:
    from costline.workspace import Workspace

tickets_app = typer.Typer(
    help="Tickets for rightsizing and waste recommendations (Jira or a webhook).",
    no_args_is_help=True,
)
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


def _workspace() -> Workspace:
    from costline.cli.main import _workspace as find

    return find()


@tickets_app.command("sync")
def sync(
    threshold: Annotated[
        float | None,
        typer.Option(
            min=0, help="Monthly savings a recommendation needs for a ticket (tickets.threshold)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would happen; send and record nothing.")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Evaluate as if it were this day (YYYY-MM-DD): bill and telemetry before it "
            "only; for replays and backfills.",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Evaluate rightsizing + waste, detect which recommendations the bill shows actioned
    (with realized savings), and open, update (estimate moved > 10 %) and close tickets.

    Without `tickets.channel` in costline.yaml it records and tracks only, no tickets.
    Run it nightly, e.g. cron `0 6 * * * costline tickets sync`; see docs/how-to/tickets.md.
    """
    from costline.cli.output import info

    limit = Decimal(str(threshold)) if threshold is not None else None
    day = _day(as_of) if as_of else None
    result = _workspace().tickets_sync(threshold=limit, dry_run=dry_run, as_of=day)
    render(
        result.columns, result.rows, fmt, title="tickets sync" + (" (dry run)" if dry_run else "")
    )
    if fmt is OutputFormat.table:
        verbs = [r[0] for r in result.rows]
        info(
            f"{verbs.count('open')} opened, {verbs.count('update')} updated, "
            f"{verbs.count('close')} closed, {verbs.count('retire')} retired without a ticket"
        )


@tickets_app.command("list")
def list_(
    status: Annotated[
        str | None,
        typer.Option(help="Only this status: open, ticketed, actioned, dismissed, expired."),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Every recorded recommendation with its status and ticket, largest savings first."""
    result = _workspace().tickets(status=status)
    render(result.columns, result.rows, fmt, title="recommendations")


@tickets_app.command("dismiss")
def dismiss(
    rec_id: Annotated[str, typer.Argument(metavar="ID", help="Recommendation id (rec-...).")],
    reason: Annotated[str, typer.Option("--reason", help="Why it will not be done.")],
) -> None:
    """Dismiss a recommendation for good: later syncs never ticket it."""
    from costline.cli.output import info

    key = _workspace().dismiss_recommendation(rec_id, reason)
    info(f"dismissed {rec_id}" + (f"; close its ticket {key} in the tracker" if key else ""))


@tickets_app.command("reopen")
def reopen(
    rec_id: Annotated[str, typer.Argument(metavar="ID", help="Recommendation id (rec-...).")],
) -> None:
    """Undo a dismissal: the recommendation is open again; the next sync tickets it if it
    still applies."""
    from costline.cli.output import info

    _workspace().reopen_recommendation(rec_id)
    info(f"reopened {rec_id}")


def _day(text: str) -> dt.date:
    from costline.core.errors import ConfigError

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"--as-of {text!r} is not a date", hint="write it as YYYY-MM-DD, e.g. 2026-10-01"
        ) from None


def register(app: typer.Typer) -> None:
    """Add ``tickets`` to the main app."""
    app.add_typer(tickets_app, name="tickets")

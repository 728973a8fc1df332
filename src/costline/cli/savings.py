"""``costline savings report|digest``: adoption and realized savings of recommendations, and the
monthly digest of them by page and email (issue #5)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from costline.cli import output
from costline.cli.output import OutputFormat, render

if TYPE_CHECKING:
    from costline.workspace import Workspace

savings_app = typer.Typer(
    help="Adoption of recommendations and the savings the bill shows they realized.",
    no_args_is_help=True,
)
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


def _workspace() -> Workspace:
    from costline.cli.main import _workspace as find

    return find()


@savings_app.command("report")
def report(
    month: Annotated[str, typer.Option("--month", help="The month, YYYY-MM.")],
    team: Annotated[str | None, typer.Option(help="Only this team.")] = None,
    detail: Annotated[
        bool, typer.Option("--detail", help="One row per actioned recommendation.")
    ] = False,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Per team: recommendations live in the month, how many were actioned (adopted %), their
    estimated vs realized monthly savings, and the money the bill shows saved in the month.

    Adoption is detected by `costline tickets sync` (type changed, resource gone); see
    docs/how-to/tickets.md#adoption.
    """
    result = _workspace().savings_report(month, team=team, detail=detail)
    title = f"savings {month}" + (" (actioned recommendations)" if detail else "")
    render(result.columns, result.rows, fmt, title=title)


@savings_app.command("digest")
def digest(
    month: Annotated[str, typer.Option("--month", help="The month, YYYY-MM.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="HTML file (default: reports/savings-digest-MONTH.html)."),
    ] = None,
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help="Email it through savings.digest_channel: each team its part, finance all.",
        ),
    ] = False,
    team: Annotated[
        str | None, typer.Option(help="Only this team (with --send: only its email).")
    ] = None,
) -> None:
    """The monthly savings digest as an HTML page (and, with --send, by email): headline
    figures, the per-team table, the actioned recommendations and the ones still waiting,
    largest savings first.

    With --send, each team with contacts.email in owners.yaml gets its own part, the digest
    channel's `to:` (finance) the whole; see docs/how-to/tickets.md#monthly-savings-digest.
    """
    from costline.reports.savings_digest import render_html

    ws = _workspace()
    result = ws.savings_digest(month, team=team)
    name = f"savings-digest-{month}" + (f"-{team}" if team else "") + ".html"
    target = out or ws.root / "reports" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(result), encoding="utf-8")
    output.info(f"wrote {target}")
    if send:
        sent = ws.send_savings_digest(result)
        render(sent.columns, sent.rows, OutputFormat.table, title=f"savings digest {month} sent")


def register(app: typer.Typer) -> None:
    """Add ``savings`` to the main app."""
    app.add_typer(savings_app, name="savings")

"""``costline commitments ...``: utilization, coverage and expiry of the commitments in the
bill, and the hourly commitment to buy next."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from costline.cli.output import OutputFormat, render

commitments_app = typer.Typer(
    help="Savings plans, reservations and committed-use discounts: status and purchase plan.",
    no_args_is_help=True,
)
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


if TYPE_CHECKING:
    from costline.workspace import Workspace


def _workspace() -> Workspace:
    from costline.cli.main import _workspace as find

    return find()


@commitments_app.command("status")
def status(
    period: Annotated[
        str | None,
        typer.Option(help="Month YYYY-MM (default: the month of the newest charge)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Day the expiry calendar counts from, YYYY-MM-DD (default: end of the data).",
        ),
    ] = None,
    inventory: Annotated[
        Path | None,
        typer.Option(
            help="commitments.csv with id,end[,start,term,payment,hourly_commitment] "
            "(default: the workspace's commitments.csv when present)."
        ),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Per commitment: used and unused cost, utilization, net savings, end and days left
    (expiring within 30/60/90 days); per provider and overall: coverage of eligible usage."""
    result = _workspace().commitments_status(period=period, as_of=as_of, inventory=inventory)
    render(result.columns, result.rows, fmt, title="commitments")


@commitments_app.command("plan")
def plan(
    lookback: Annotated[int, typer.Option(min=1, help="Days of history to size on.")] = 30,
    term: Annotated[str, typer.Option(help="1y or 3y.")] = "1y",
    payment: Annotated[
        str, typer.Option(help="no-upfront, partial-upfront or all-upfront.")
    ] = "no-upfront",
    offering: Annotated[
        str,
        typer.Option(
            help="convertible (flexible: savings plans, convertible RIs) or standard (RIs)."
        ),
    ] = "convertible",
    discount: Annotated[
        str | None,
        typer.Option(help="Your own discount off on-demand, e.g. 0.28 (overrides the table)."),
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            help="Group by (repeatable): provider, billing-account, sub-account, region, "
            "service, instance-type (default: provider and billing-account)."
        ),
    ] = None,
    include_covered: Annotated[
        bool,
        typer.Option(
            "--include-covered",
            help="Size on all eligible usage, covered or not (renewal sizing); default: only "
            "usage no commitment covers (the next purchase).",
        ),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="End of the lookback, YYYY-MM-DD (default: end of data)."),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Recommended hourly commitment per scope: c* = (1 − d)·Q(d) of hourly on-demand
    spend, with utilization, coverage, monthly savings, break-even and a backtest against
    the minimum-hourly-usage rule."""
    result = _workspace().commitments_plan(
        lookback=lookback,
        term=term,
        payment=payment,
        offering=offering,
        discount=discount,
        scope=scope or (),
        include_covered=include_covered,
        as_of=as_of,
    )
    render(result.columns, result.rows, fmt, title=f"commitment plan ({term}, {payment})")

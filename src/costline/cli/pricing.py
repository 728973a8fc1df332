"""``costline pricing refresh|status|show``: the list prices rightsizing and waste use (#5)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from costline.cli.output import OutputFormat, render

if TYPE_CHECKING:
    from costline.workspace import Workspace

pricing_app = typer.Typer(
    help="The pricing catalog: refresh list prices from the AWS and Azure price APIs, see "
    "which prices are in effect (GCP: the packaged us-central1 list).",
    no_args_is_help=True,
)
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


class Provider(StrEnum):
    aws = "aws"
    azure = "azure"
    gcp = "gcp"  # refused with the reason (no public price API without a key)


def _workspace() -> Workspace:
    from costline.cli.main import _workspace as find

    return find()


@pricing_app.command("refresh")
def refresh(
    provider: Annotated[
        Provider,
        typer.Option(
            "--provider",
            help="aws: the Price List Bulk API (EC2); azure: the Retail Prices API (VMs). "
            "GCP is not refreshable (its Cloud Billing Catalog API needs an API key): it "
            "uses the packaged us-central1 list.",
        ),
    ],
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region",
            help="Region code (us-east-1, eastus); repeat for more. Default: every region "
            "already priced (packaged or refreshed).",
            show_default=False,
        ),
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            help="Price API base URL (default https://pricing.us-east-1.amazonaws.com for aws, "
            "https://prices.azure.com for azure).",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Fetch on-demand Linux list prices from the provider's public price API.

    The prices go to the workspace's pricing/ folder and replace the packaged prices of the
    same type and region; a failed refresh changes nothing. An AWS region's offer file is a
    few hundred MB (streamed, not kept): pass --region to read fewer.
    """
    from costline.cli.output import info
    from costline.cli.progress import RichProgress

    ws = _workspace()
    progress = RichProgress()
    try:
        result = ws.refresh_pricing(
            provider.value, regions=region or [], endpoint=endpoint, progress=progress
        )
    finally:
        progress.close()
    render(result.columns, result.rows, fmt, title=f"{provider.value} prices refreshed")
    if fmt is OutputFormat.table:
        info(f"written to {ws.pricing_dir}; see `costline pricing status`")


@pricing_app.command("status")
def status(fmt: FormatOpt = OutputFormat.table) -> None:
    """Per region: how many prices in effect are refreshed or packaged, as_of, confidence.

    A refreshed price (workspace) replaces the packaged one of the same type and region.
    """
    result = _workspace().pricing_status()
    render(result.columns, result.rows, fmt, title="prices in effect")


@pricing_app.command("show")
def show(
    instance_type: Annotated[
        str,
        typer.Argument(
            metavar="TYPE", help="EC2 instance type, Azure VM size or GCP machine type."
        ),
    ],
    region: Annotated[
        str | None, typer.Option(help="Only this region.", show_default=False)
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """The list price in effect for one type, per region, and where it comes from."""
    result = _workspace().pricing_show(instance_type, region=region)
    rows = result.rows
    if fmt is OutputFormat.table:  # the table shows money to the cent: keep every digit here
        rows = [tuple(format(v, "f") if isinstance(v, Decimal) else v for v in r) for r in rows]
    render(result.columns, rows, fmt, title=instance_type)


def register(app: typer.Typer) -> None:
    """Add ``pricing`` to the main app."""
    app.add_typer(pricing_app, name="pricing")

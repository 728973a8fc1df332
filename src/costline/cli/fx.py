"""``costline fx load|list``: the exchange rates a display currency converts with (#6)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from costline.cli import output
from costline.cli.output import OutputFormat, render

if TYPE_CHECKING:
    from costline.workspace import Workspace

fx_app = typer.Typer(
    help="Exchange rates: load them from fx-rates.csv or the ECB's reference rates, list them.",
    no_args_is_help=True,
)
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


def _workspace() -> Workspace:
    from costline.cli.main import _workspace as find

    return find()


@fx_app.command("load")
def load(
    path: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE",
            help="Rates CSV: date,from,to,rate (1 FROM = rate TO from date on). Default: the "
            "workspace's fx-rates.csv, unless only --ecb is given.",
            show_default=False,
        ),
    ] = None,
    ecb: Annotated[
        Path | None,
        typer.Option(
            "--ecb",
            help="The ECB's historical reference rates (eurofxref-hist.csv, unzipped): EUR→X.",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Replace every exchange rate with those of FILE and/or --ecb.

    Every row is checked first (a date, ISO 4217 codes, a positive rate, one rate per date
    and pair); a bad row loads nothing and the error names the file, row, column and fix.
    See docs/how-to/currency.md.
    """
    result = _workspace().load_fx_rates(path, ecb=ecb)
    render(result.columns, result.rows, fmt, title="exchange rates loaded")
    if fmt is OutputFormat.table:
        output.info(f"{sum(r[2] for r in result.rows):,} rates loaded; see `costline fx list`")


@fx_app.command("list")
def list_rates(
    currency: Annotated[
        str | None,
        typer.Option("--currency", "-c", help="Only rates from or to this currency (e.g. EUR)."),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """The loaded exchange rates by pair and date, with the file and row each came from."""
    result = _workspace().fx_rates(currency=currency)
    # a rate is DECIMAL(38, 18): show it as written (1.0823), and every digit in the table
    rows = [
        tuple(_rate(v, text=fmt is OutputFormat.table) if isinstance(v, Decimal) else v for v in r)
        for r in result.rows
    ]
    render(result.columns, rows, fmt, title="exchange rates")


def _rate(value: Decimal, *, text: bool) -> Decimal | str:
    plain = value.normalize()
    return format(plain, "f") if text else plain


def register(app: typer.Typer) -> None:
    """Add ``fx`` to the main app."""
    app.add_typer(fx_app, name="fx")

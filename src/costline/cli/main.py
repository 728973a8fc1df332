"""costline CLI entry point.

Every command acts on the workspace found by walking up from the current directory to a
``costline.yaml``, or the one named by ``--workspace`` / ``COSTLINE_WORKSPACE``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from costline import __version__
from costline.cli import output
from costline.cli.output import OutputFormat, render
from costline.core.errors import CostlineError
from costline.ingest import FileOutcome
from costline.workspace import Workspace

app = typer.Typer(
    name="costline",
    help="costline: ingest cloud bills into one FOCUS 1.3 cost store and make sense of them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
export_app = typer.Typer(help="Export the cost store.", no_args_is_help=True)
app.add_typer(export_app, name="export")

_state: dict[str, object] = {"debug": False, "workspace": None}

FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


def _workspace() -> Workspace:
    return Workspace.find(_state["workspace"])  # type: ignore[arg-type]


@app.callback()
def _main(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace folder (default: walk up to costline.yaml; or COSTLINE_WORKSPACE).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    _state["workspace"] = workspace
    _state["debug"] = debug


@app.command()
def version() -> None:
    """Print the costline version."""
    typer.echo(__version__)


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")] = Path("."),
    name: Annotated[str | None, typer.Option(help="Workspace name (default: folder name).")] = None,
) -> None:
    """Create a workspace with a commented costline.yaml."""
    ws = Workspace.init(path, name=name)
    output.info(f"created workspace [bold]{ws.config.name}[/] in {ws.root}")


@app.command()
def ingest(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Files, folders or globs (default: the sources in costline.yaml).",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Ingest billing exports (CSV, CSV.gz, Parquet, NDJSON) into the cost store."""
    from costline.cli.progress import RichProgress

    ws = _workspace()
    progress = RichProgress()
    try:
        report = ws.ingest(paths or [], progress=progress)
    finally:
        progress.close()
    if fmt is OutputFormat.table:
        rows = [
            (
                Path(o.file).name,
                o.status,
                o.kind or "",
                o.rows,
                _short(getattr(o.error, "detail", o.message)),
            )
            for o in report.outcomes
        ]
        render(["file", "status", "kind", "rows", "message"], rows, fmt, title="ingest")
    else:
        cols = [
            "file",
            "status",
            "kind",
            "rows",
            "ingestion_id",
            "reason",
            "row",
            "column",
            "value",
            "message",
            "hint",
        ]
        render(cols, [_outcome_row(o) for o in report.outcomes], fmt)
    for failed in report.failed:
        output.error(failed.message)
    if report.failed:
        output.error(
            f"{len(report.failed)} file(s) not ingested; quarantined copies and reasons "
            f"are in {ws.quarantine_dir}"
        )
        raise typer.Exit(1)


def _short(message: str, width: int = 70) -> str:
    first = message.splitlines()[0] if message else ""
    return first if len(first) <= width else first[: width - 1] + "…"


def _outcome_row(o: FileOutcome) -> tuple[object, ...]:
    err = o.error
    loc = getattr(err, "location", None)
    return (
        o.file,
        o.status,
        o.kind,
        o.rows,
        o.ingestion_id,
        getattr(err, "reason", None),
        getattr(loc, "row", None),
        getattr(loc, "column", None),
        getattr(loc, "value", None),
        getattr(err, "detail", o.message),
        getattr(err, "hint", None),
    )


@app.command()
def costs(
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="Comma-separated dimensions: provider, account, "
            "service, category, charge, region, month, day, tag:KEY, ...",
        ),
    ] = "provider,month",
    where: Annotated[str | None, typer.Option(help="SQL filter on the cost table.")] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Cost totals (billed, effective, list) grouped by dimensions, per currency."""
    result = _workspace().costs(by.split(","), where=where)
    render(result.columns, result.rows, fmt, title="costs")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL over the `cost` table (DuckDB dialect).")],
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Run SQL against the cost store."""
    result = _workspace().query(sql)
    render(result.columns, result.rows, fmt)


@app.command()
def ingestions(fmt: FormatOpt = OutputFormat.table) -> None:
    """List ingestion runs (lineage: files, rows, replaced rows)."""
    result = _workspace().ingestions()
    render(result.columns, result.rows, fmt, title="ingestions")


@export_app.command("focus")
def export_focus(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("focus"),
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    extensions: Annotated[
        bool,
        typer.Option(
            "--extensions/--no-extensions",
            help="Include costline's x_ columns (lineage, provider specifics) after the FOCUS columns.",
        ),
    ] = True,
) -> None:
    """Write the cost store as a FOCUS 1.3 dataset (passes the FOCUS 1.3 validator)."""
    for path in _workspace().export_focus(out, fmt=fmt, include_extensions=extensions):
        output.info(f"wrote {path}")


@app.command()
def demo(
    rows: Annotated[
        int, typer.Option(help="Approximate line items per provider per month.")
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same company).")] = 7,
) -> None:
    """Generate a demo company, ingest it and print what costline found."""
    from costline.cli.progress import RichProgress
    from costline.service_demo import run_demo

    ws = Workspace.locate(_state["workspace"])  # type: ignore[arg-type]
    if ws is None:
        target = Path("costline-demo")
        ws = (
            Workspace.open(target)
            if (target / "costline.yaml").exists()
            else Workspace.init(target)
        )
    progress = RichProgress()
    try:
        summary = run_demo(ws, rows=rows, seed=seed, progress=progress)
    finally:
        progress.close()
    for title, result in summary:
        render(result.columns, result.rows, OutputFormat.table, title=title)


def main(argv: list[str] | None = None) -> None:
    """Entry point with the one error handler: a red line naming the fix, exit 1."""
    try:
        app(args=argv)
    except CostlineError as exc:
        if _state["debug"]:
            raise
        output.error(str(exc))
        sys.exit(1)


if __name__ == "__main__":
    main()

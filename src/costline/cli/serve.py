"""``costline serve`` (API + web UI + scheduler in one process) and ``costline jobs``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from costline.cli.output import OutputFormat, render

if TYPE_CHECKING:
    from costline.workspace import Workspace

jobs_app = typer.Typer(
    help="The scheduled jobs of `costline serve`, run by hand or from cron/Airflow/Dagster.",
    no_args_is_help=True,
)
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


def _workspace() -> Workspace:
    from costline.cli.main import _workspace as find

    return find()


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    scheduler: Annotated[
        bool, typer.Option("--scheduler/--no-scheduler", help="Run service.schedules' jobs.")
    ] = True,
    insecure_cookies: Annotated[
        bool,
        typer.Option(
            "--insecure-cookies",
            help="Session cookies without the Secure flag (plain http on localhost only).",
        ),
    ] = False,
) -> None:
    """Serve the REST API (/api/v1, OpenAPI at /docs), the web UI and the scheduler.

    The process owns the workspace's warehouse while it runs: requests read while jobs write.
    Put it behind a reverse proxy with TLS (docs/how-to/deploy.md).
    """
    from costline.server import run_server

    run_server(
        _workspace(),
        host=host,
        port=port,
        scheduler=scheduler,
        secure_cookies=not insecure_cookies,
    )


@jobs_app.command("run")
def run(
    job: Annotated[
        str,
        typer.Argument(
            help="ingest, allocate, anomalies, recommendations, digest or marts.",
        ),
    ],
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Run one job now and record it in the state store (exit 1 when it fails)."""
    from costline.server import run_job

    got = run_job(_workspace(), job)
    render(
        ["job", "run_id", "status", "error", "detail"],
        [(job, got["run_id"], got["status"], got["error"], got["detail"])],
        fmt,
        title="job run",
    )
    if got["status"] != "succeeded":
        raise typer.Exit(1)


@jobs_app.command("list")
def list_(
    job: Annotated[str | None, typer.Option(help="Only this job.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Recorded job runs, newest first."""
    store = _workspace().state()
    try:
        runs = store.runs(job=job, limit=limit)
    finally:
        store.close()
    cols = ["id", "job", "trigger", "status", "attempt", "started_at", "duration_s", "error"]
    render(cols, [tuple(getattr(r, c) for c in cols) for r in runs], fmt, title="job runs")


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``jobs`` to the main app."""
    app.command("serve")(serve)
    app.add_typer(jobs_app, name="jobs")

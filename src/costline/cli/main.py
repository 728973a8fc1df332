"""costline CLI entry point.

Every command acts on the workspace found by walking up from the current directory to a
``costline.yaml``, or the one named by ``--workspace`` / ``COSTLINE_WORKSPACE``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from costline import __version__
from costline.cli import STATE as _state
from costline.cli import output
from costline.cli.anomalies import anomalies_app
from costline.cli.channels import channels_app
from costline.cli.commitments import commitments_app
from costline.cli.inventory import inventory_app
from costline.cli.output import OutputFormat, render
from costline.core.errors import CostlineError
from costline.workspace import Workspace

if TYPE_CHECKING:
    from costline.ingest import FileOutcome

app = typer.Typer(
    name="costline",
    help="costline: ingest cloud bills into one FOCUS 1.3 cost store and make sense of them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
export_app = typer.Typer(help="Export the cost store.", no_args_is_help=True)
app.add_typer(export_app, name="export")
k8s_app = typer.Typer(help="Kubernetes inputs for kubernetes pools.", no_args_is_help=True)
app.add_typer(k8s_app, name="k8s")
gpu_app = typer.Typer(help="GPU jobs for gpu pools, and GPU cost reports.", no_args_is_help=True)
app.add_typer(gpu_app, name="gpu")
metrics_app = typer.Typer(
    help="Business and usage metrics for metric-driven pools.", no_args_is_help=True
)
app.add_typer(metrics_app, name="metrics")
app.add_typer(anomalies_app, name="anomalies")
app.add_typer(channels_app, name="channels")
app.add_typer(commitments_app, name="commitments")
app.add_typer(inventory_app, name="inventory")


def _register_recommend() -> None:  # `costline telemetry ...` and `costline recommend` (#5)
    from costline.cli.recommend import register

    register(app)


_register_recommend()


def _register_tickets() -> None:  # `costline tickets sync|list|dismiss` (#5)
    from costline.cli.tickets import register

    register(app)


_register_tickets()


def _register_pricing() -> None:  # `costline pricing refresh|status|show` (#5)
    from costline.cli.pricing import register

    register(app)


_register_pricing()


def _register_savings() -> None:  # `costline savings report` (#5)
    from costline.cli.savings import register

    register(app)


_register_savings()


def _register_users() -> None:  # `costline users add|list|disable|password|token|revoke` (#6)
    from costline.cli.users import register

    register(app)


_register_users()


def _register_serve() -> None:  # `costline serve` and `costline jobs run|list` (#6)
    from costline.cli.serve import register

    register(app)


_register_serve()


def _register_fx() -> None:  # `costline fx load|list` (#6)
    from costline.cli.fx import register

    register(app)


_register_fx()


FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


def _workspace() -> Workspace:
    ws = Workspace.find(_state["workspace"])  # type: ignore[arg-type]
    # NOTE: the state store's connections end with the command (the callback's context)
    on_close = getattr(_state.get("ctx"), "call_on_close", None)
    if on_close is not None:
        on_close(ws.close)
    return ws


@app.callback()
def _main(
    ctx: typer.Context,
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
    _state["ctx"] = ctx


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


PeriodOpt = Annotated[str, typer.Option("--period", "-p", help="Billing month, YYYY-MM.")]
BasisOpt = Annotated[
    str | None,
    typer.Option("--basis", help="EffectiveCost (amortized, default) or BilledCost."),
]


@app.command()
def allocate(
    period: PeriodOpt,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="Rules file or folder (default: the workspace's rules/)."),
    ] = None,
    diff: Annotated[
        bool,
        typer.Option(
            "--diff", help="What-if: compare with the published allocation, publish nothing."
        ),
    ] = False,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Allocate a month: tags, virtual tags, shared pools → allocated_cost (replaced atomically)."""
    ws = _workspace()
    if diff:
        result = ws.allocation_diff(period, rules or ws.rules_path)
        render(result.columns, result.rows, fmt, title=f"what-if {period}: draft vs published")
        return
    report = ws.allocate(period, rules=rules)
    if fmt is not OutputFormat.table:
        cols = ["rule", "charges", "cost", "share"]
        render(cols, [tuple(r[c] for c in cols) for r in report.coverage], fmt)
        return
    output.info(
        f"allocated {period}: {report.rows_in:,} charges → {report.rows_out:,} rows "
        f"(run {report.run_id}, rules {report.rules_version})"
    )
    render(
        ["rule", "charges", "cost", "share %"],
        [(r["rule"], r["charges"], r["cost"], round(r["share"] * 100, 2)) for r in report.coverage],
        fmt,
        title="spend by the rule that allocated it",
    )
    if report.unknown_teams:
        render(
            ["tag value (not a team)", "charges", "cost"],
            [(r["value"], r["charges"], r["cost"]) for r in report.unknown_teams],
            fmt,
            title="unallocated: team values not in owners.yaml",
        )
    if report.missing_tags:
        output.error(
            "no charge of the month carries tag(s) "
            + ", ".join(repr(t) for t in report.missing_tags)
            + " read by the rules: check the spelling, or add an alias under tags.keys"
        )
    for pool in report.unallocated_pools:
        output.error(f"{pool['owner']}: {pool['cost']} had no driver data and stays unallocated")


@app.command()
def chargeback(
    period: PeriodOpt,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="table, json, csv, xlsx or html.")
    ] = "table",
    out: Annotated[
        Path | None, typer.Option("--out", help="File for xlsx/html (default: reports/).")
    ] = None,
    basis: BasisOpt = None,
) -> None:
    """Chargeback per cost center and team for a month: direct, shared, total."""
    ws = _workspace()
    result = ws.chargeback(period, basis=basis)
    missing = ws.unallocated_charges(period)
    if missing:
        output.error(
            f"{missing:,} charges of {period} are not in this chargeback (ingested after the "
            f"last allocation, or never allocated): run `costline allocate --period {period}`"
        )
    if fmt in ("xlsx", "html"):
        from costline.reports.statements import write_statement

        target = out or ws.root / "reports" / f"chargeback-{period}.{fmt}"
        target.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "workspace": ws.config.name,
            "period": period,
            "basis": basis or ws.config.allocation.basis,
        }
        path = write_statement(
            result.columns,
            result.rows,
            target,
            fmt="xlsx" if fmt == "xlsx" else "html",
            title=f"Chargeback {period}",
            meta=meta,
        )
        output.info(f"wrote {path}")
        return
    if fmt not in {f.value for f in OutputFormat}:
        raise CostlineError(f"unknown format {fmt!r}", hint="use table, json, csv, xlsx or html")
    render(result.columns, result.rows, OutputFormat(fmt), title=f"chargeback {period}")


@app.command()
def showback(
    team: Annotated[str, typer.Option("--team", help="Team id from owners.yaml.")],
    months: Annotated[int, typer.Option("--months", help="How many months back.")] = 6,
    end: Annotated[
        str | None, typer.Option("--end", help="Last month, YYYY-MM (default: latest).")
    ] = None,
    basis: BasisOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """A team's monthly spend trend: direct, shared, total."""
    result = _workspace().showback(team, months=months, end=end, basis=basis)
    render(result.columns, result.rows, fmt, title=f"showback {team}")


@app.command()
def explain(
    cost_center: Annotated[
        str | None, typer.Option("--cost-center", help="Explain a cost center's month.")
    ] = None,
    period: Annotated[str | None, typer.Option("--period", "-p", help="YYYY-MM.")] = None,
    charge: Annotated[
        int | None, typer.Option("--charge", help="Explain one origin charge (x_ChargeId).")
    ] = None,
    basis: BasisOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Why a cost center was charged what it was, or where one charge went."""
    from costline.reports.allocation import describe_steps

    ws = _workspace()
    if charge is not None:
        result = ws.explain_charge(charge, basis=basis)
    elif cost_center and period:
        result = ws.explain_cost_center(cost_center, period, basis=basis)
    else:
        raise CostlineError(
            "nothing to explain",
            hint="pass --cost-center CC --period YYYY-MM, or --charge ID",
        )
    if not result.rows:
        raise CostlineError(
            "nothing allocated matches",
            hint="run `costline allocate --period YYYY-MM` first, and check the id",
        )
    cols = list(result.columns)
    i = cols.index("details")
    rows = [(*r[:i], describe_steps(r[i]), *r[i + 1 :]) for r in result.rows]
    cols[i] = "how"
    render(cols, rows, fmt, title="explain")


@app.command()
def allocations(fmt: FormatOpt = OutputFormat.table) -> None:
    """List allocation runs (period, rules version, rows)."""
    result = _workspace().allocation_runs()
    render(result.columns, result.rows, fmt, title="allocation runs")


@metrics_app.command("load")
def metrics_load(
    path: Annotated[Path, typer.Argument(help="CSV/Parquet with date, team, value[, metric].")],
    metric: Annotated[
        str | None, typer.Option("--metric", help="Metric name when the file has no column.")
    ] = None,
) -> None:
    """Load a metric (requests, tokens, active users ...) per team and day."""
    n = _workspace().load_metrics(path, metric=metric)
    output.info(f"loaded {n:,} metric rows from {path}")


@k8s_app.command("load")
def k8s_load(
    path: Annotated[Path, typer.Argument(help="The file to load.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind", help="nodes, samples (CSV/Parquet), opencost (allocation JSON), aws-split."
        ),
    ] = "samples",
) -> None:
    """Load node capacities, pod/container samples, an OpenCost export or AWS split rows."""
    n = _workspace().load_kubernetes(kind, path)
    output.info(f"loaded {n:,} {kind} rows from {path}")


@k8s_app.command("compare-aws")
def k8s_compare_aws(
    pool: Annotated[str, typer.Option("--pool", help="The kubernetes pool id.")],
    period: PeriodOpt,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """costline's split vs AWS split cost allocation, per namespace and pod."""
    result = _workspace().compare_aws_split(pool, period)
    render(result.columns, result.rows, fmt, title=f"kubernetes {pool}: costline vs AWS")


@gpu_app.command("load")
def gpu_load(
    path: Annotated[
        Path | None, typer.Argument(help="GPU jobs CSV/Parquet (job_id, team, ...).")
    ] = None,
    from_k8s: Annotated[
        bool,
        typer.Option(
            "--from-k8s", help="Derive the jobs from the loaded Kubernetes samples instead."
        ),
    ] = False,
    cluster: Annotated[
        str | None, typer.Option("--cluster", help="--from-k8s: only this cluster.")
    ] = None,
    job_label: Annotated[
        str, typer.Option("--job-label", help="--from-k8s: label naming the job (else the pod).")
    ] = "job",
    model_label: Annotated[
        str, typer.Option("--model-label", help="--from-k8s: label naming the model.")
    ] = "model",
    team_label: Annotated[
        str, typer.Option("--team-label", help="--from-k8s: label naming the team.")
    ] = "team",
) -> None:
    """Load GPU jobs (training and inference; MIG and time-sliced fractions; interruptions)."""
    if from_k8s == (path is not None):
        raise typer.BadParameter("give a jobs file or --from-k8s (one of them)")
    if path is not None:
        n = _workspace().load_gpu_jobs(path)
        output.info(f"loaded {n:,} GPU jobs from {path}")
        return
    n = _workspace().load_gpu_jobs_from_k8s(
        cluster=cluster, job_label=job_label, model_label=model_label, team_label=team_label
    )
    output.info(f"derived {n:,} GPU job rows from the Kubernetes samples")


@gpu_app.command("report")
def gpu_report(
    period: PeriodOpt,
    by: Annotated[str, typer.Option("--by", help="job, model or team.")] = "team",
    pool: Annotated[str | None, typer.Option("--pool", help="The gpu pool id.")] = None,
    basis: BasisOpt = None,
    tokens_metric: Annotated[
        str, typer.Option("--tokens-metric", help="Metric holding token counts per team.")
    ] = "tokens",
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """GPU-hours and cost per job, model or team; spot interruptions; cost per 1M tokens."""
    result = _workspace().gpu_report(
        period, by=by, pool_id=pool, basis=basis, tokens_metric=tokens_metric
    )
    render(result.columns, result.rows, fmt, title=f"GPU {period} by {by}")


@app.command()
def watch(
    folder: Annotated[Path, typer.Argument(help="Landing folder to watch (recursively).")],
    interval: Annotated[
        float, typer.Option(help="Seconds between polls; a file is taken once stable for one.")
    ] = 5.0,
    cycles: Annotated[
        int | None, typer.Option(help="Stop after this many polls (default: run until Ctrl-C).")
    ] = None,
) -> None:
    """Ingest export files as they land, evaluate the series they touch, alert."""
    from costline.workspace import WatchCycle

    def report(cycle: WatchCycle) -> None:
        d = cycle.detect
        loaded = sum(o.rows for o in cycle.ingest.outcomes if o.status == "loaded")
        found = (
            f"{len(d.opened)} opened, {len(d.updated)} updated, {d.alerts_delivered} alerts sent"
            + (f", {d.alerts_failed} failed" if d.alerts_failed else "")
            if d
            else "nothing new to evaluate"
        )
        statuses = ", ".join(sorted({o.status for o in cycle.ingest.outcomes}))
        output.info(
            f"{len(cycle.files)} file(s) ({statuses}, {loaded:,} rows): {found}; "
            f"landed → done in {cycle.latency_s:.1f} s"
        )

    ws = _workspace()
    output.info(f"watching {folder} every {interval:g} s (Ctrl-C to stop)")
    try:
        ws.watch(folder, interval=interval, cycles=cycles, on_cycle=report)
    except KeyboardInterrupt:
        output.info("stopped")


@app.command()
def demo(
    rows: Annotated[
        int, typer.Option(help="Approximate line items per provider per month.")
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same company).")] = 7,
) -> None:
    """Generate a demo company, ingest and allocate it, and print what costline found."""
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

"""``costline telemetry load`` and ``costline recommend``: utilization in, recommendations out."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from costline.cli.output import OutputFormat, render

if TYPE_CHECKING:
    from costline.workspace import Workspace

telemetry_app = typer.Typer(
    help="Utilization telemetry (CPU, memory, network, disk) for rightsizing.",
    no_args_is_help=True,
)
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


class Kind(StrEnum):
    rightsizing = "rightsizing"
    waste = "waste"
    k8s_requests = "k8s-requests"


DEFAULT_LOOKBACK = {Kind.rightsizing: 14, Kind.waste: 30, Kind.k8s_requests: 14}


def _workspace() -> Workspace:
    from costline.cli.main import _workspace as find

    return find()


@telemetry_app.command("load")
def telemetry_load(
    path: Annotated[
        Path,
        typer.Argument(
            help="CSV or Parquet, one sample per row: resource_id, timestamp, metric, value "
            "(metrics cpu_percent, memory_percent, gpu_percent, network_in_bytes, "
            "network_out_bytes, disk_read_ops, disk_write_ops, disk_read_bytes, disk_write_bytes)."
        ),
    ],
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Load utilization samples; loading the same file again replaces its samples."""
    done = _workspace().load_telemetry(path)
    rows = [
        (k, ", ".join(done[k]) if k == "metrics" else done[k])
        for k in ("file", "rows", "resources", "metrics", "first", "last")
    ]
    render(["item", "value"], rows, fmt, title="telemetry loaded")


def recommend(
    kind: Annotated[Kind, typer.Option("--kind", help="What to recommend.")] = Kind.rightsizing,
    lookback: Annotated[
        int | None,
        typer.Option(
            min=2, help="Days up to the newest sample or bill day (rightsizing 14, waste 30)."
        ),
    ] = None,
    percentile: Annotated[
        float, typer.Option(help="rightsizing: CPU and memory percentile, 95 (default) or 99.5.")
    ] = 95.0,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Optimization recommendations, largest monthly savings first.

    rightsizing: for each EC2 instance / Azure VM in the bill with 30+ hours of CPU samples,
    the cheapest type that keeps CPU (and memory, when measured) at or below 80 % after the
    move, priced at your effective rate; see docs/concepts/rightsizing.md.

    waste: idle and previous-generation instances, idle public IPs and load balancers, gp2
    volumes, unattached volumes and orphaned snapshots, with their monthly cost and saving;
    see docs/concepts/waste.md.

    k8s-requests: Kubernetes container requests = p95 of CPU usage and max memory × 1.15,
    with the monthly change at the cluster's unit prices; see docs/concepts/rightsizing.md.
    """
    from costline.cli.output import info

    days = lookback or DEFAULT_LOOKBACK[kind]
    ws = _workspace()
    if kind is Kind.waste:
        result = ws.waste(lookback_days=days)
        render(result.columns, result.rows, fmt, title=f"waste (last {days} days)")
        if fmt is OutputFormat.table:
            total = sum(r[result.columns.index("monthly_savings")] for r in result.rows)
            info(f"{len(result.rows)} finding(s); {total:,.2f} a month to save")
        return
    if kind is Kind.k8s_requests:
        result = ws.recommend_k8s_requests(lookback_days=days)
        render(result.columns, result.rows, fmt, title=f"Kubernetes requests (last {days} days)")
        if fmt is OutputFormat.table:
            total = sum(r[-1] or 0 for r in result.rows)
            info(f"{len(result.rows)} container(s); {total:,.2f} a month to save")
        return
    result = ws.recommend_rightsizing(lookback=days, percentile=percentile)
    render(result.columns, result.rows, fmt, title=f"{kind.value} (last {days} days)")
    if fmt is OutputFormat.table:
        status = [r[result.columns.index("status")] for r in result.rows]
        info(
            f"{status.count('recommended')} recommendation(s) for {len(status)} resource(s); "
            f"{status.count('insufficient-data')} with too little data"
        )


def register(app: typer.Typer) -> None:
    """Add ``telemetry`` and ``recommend`` to the main app."""
    app.add_typer(telemetry_app, name="telemetry")
    app.command("recommend")(recommend)

"""``costline telemetry load|pull`` and ``costline recommend``: utilization in, recommendations out."""

from __future__ import annotations

import datetime as dt
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
    idle = "idle"
    waste = "waste"
    commitments = "commitments"
    k8s_requests = "k8s-requests"


DEFAULT_LOOKBACK = {
    Kind.rightsizing: 14,
    Kind.idle: 30,
    Kind.waste: 30,
    Kind.commitments: 30,
    Kind.k8s_requests: 14,
}


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


class PullSource(StrEnum):
    cloudwatch = "cloudwatch"
    azure_monitor = "azure-monitor"
    prometheus = "prometheus"


def _instant(value: str | None) -> dt.datetime | None:
    """ISO 8601 date or time (UTC unless it has an offset) → an aware datetime."""
    if value is None:
        return None
    try:
        ts = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not ISO 8601 (e.g. 2026-10-01 or 2026-10-01T00:00:00Z)"
        ) from exc
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts


def _pairs(values: list[str] | None, option: str, what: str) -> dict[str, str] | None:
    """``KEY=VALUE`` options → a dict (the value may contain ``=``)."""
    if not values:
        return None
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r} is not {what}", param_hint=option)
        out[key.strip()] = value.strip()
    return out


@telemetry_app.command("pull")
def telemetry_pull(
    source: Annotated[PullSource, typer.Argument(help="Where to read the samples from.")],
    start: Annotated[
        str | None,
        typer.Option(
            help="ISO 8601 start (UTC unless an offset is given); default --end − 14 days."
        ),
    ] = None,
    end: Annotated[str | None, typer.Option(help="ISO 8601 end (exclusive); default now.")] = None,
    resource: Annotated[
        list[str] | None,
        typer.Option(
            "--resource",
            help="A resource to pull (repeatable): EC2 instance id, Azure VM resource id, or for "
            "prometheus a resource id to keep. Default: every EC2 instance / Azure VM the bill "
            "charges for in the window (prometheus: every series).",
        ),
    ] = None,
    period: Annotated[
        int,
        typer.Option(
            help="Seconds per sample: CloudWatch period, Azure timegrain (60, 300, 900, 1800, "
            "3600), Prometheus step."
        ),
    ] = 300,
    region: Annotated[
        str | None,
        typer.Option(
            help="cloudwatch: the region of all resources (default: each one's from the bill, else boto3's)."
        ),
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(
            help="cloudwatch: endpoint URL (VPC endpoint); azure-monitor: Resource Manager "
            "endpoint (default https://management.azure.com)."
        ),
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="prometheus: base URL, e.g. http://prometheus:9090.")
    ] = None,
    query: Annotated[
        list[str] | None,
        typer.Option(
            "--query",
            help="prometheus: METRIC=PROMQL (repeatable) adds or replaces a metric's query "
            "(defaults: node_exporter cpu_percent, memory_percent); METRIC= drops it.",
        ),
    ] = None,
    label: Annotated[
        str, typer.Option(help="prometheus: the label holding the resource id.")
    ] = "instance",
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="prometheus: LABEL_VALUE=RESOURCE_ID (repeatable); with it, only mapped "
            "series are kept.",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="azure-monitor / prometheus: bearer token (prefer COSTLINE_AZURE_TOKEN / "
            "COSTLINE_PROMETHEUS_TOKEN: a flag shows in the process list)."
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            help="prometheus: basic-auth user; the password is read from "
            "COSTLINE_PROMETHEUS_PASSWORD."
        ),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Pull utilization samples from CloudWatch, Azure Monitor or Prometheus into the
    telemetry table; pulling a window again replaces its samples. See docs/how-to/telemetry.md."""
    done = _workspace().pull_telemetry(
        source.value,
        start=_instant(start),
        end=_instant(end),
        resources=resource or (),
        period=period,
        region=region,
        endpoint_url=endpoint_url,
        url=url,
        queries=_pairs(query, "--query", "METRIC=PROMQL"),
        label=label,
        resource_map=_pairs(map_, "--map", "LABEL_VALUE=RESOURCE_ID"),
        token=token,
        username=user,
    )
    keys = ("source", "requested", "missing", "rows", "resources", "metrics", "first", "last")
    rows = [
        (k, ", ".join(done[k]) if k == "metrics" else done[k])
        for k in keys
        if done[k] is not None or k not in ("requested", "missing")
    ]
    render(["item", "value"], rows, fmt, title="telemetry pulled")


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

    rightsizing: for each EC2 instance / Azure VM / GCP VM in the bill with 30+ hours of CPU
    samples, the cheapest type that keeps CPU (and memory, when measured) at or below 80 %
    after the move, priced at your effective rate; see docs/concepts/rightsizing.md.

    idle: the idle rules of waste only (instances, public IPs, load balancers, unattached
    volumes, orphaned snapshots).

    waste: idle and previous-generation instances, idle public IPs and load balancers, gp2
    volumes, unattached volumes and orphaned snapshots, with their monthly cost and saving;
    see docs/concepts/waste.md.

    commitments: the savings plan / RI / CUD commitment to buy per scope (1-year, no upfront;
    `costline commitments plan` has every option); see docs/concepts/commitments.md.

    k8s-requests: Kubernetes container requests = p95 of CPU usage and max memory × 1.15,
    with the monthly change at the cluster's unit prices; see docs/concepts/rightsizing.md.
    """
    from costline.cli.output import info

    days = lookback or DEFAULT_LOOKBACK[kind]
    ws = _workspace()
    if kind is Kind.commitments:
        result = ws.commitments_plan(lookback=days)
        render(result.columns, result.rows, fmt, title=f"commitments (last {days} days)")
        return
    if kind in (Kind.waste, Kind.idle):
        from costline.optimize.waste import IDLE_RULES

        result = ws.waste(lookback_days=days, rules=IDLE_RULES if kind is Kind.idle else ())
        render(result.columns, result.rows, fmt, title=f"{kind.value} (last {days} days)")
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

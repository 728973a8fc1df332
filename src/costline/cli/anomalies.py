"""``costline anomalies ...``: detect, list, feedback, and scan any series."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from costline.cli.output import OutputFormat, render

anomalies_app = typer.Typer(
    help="Anomalous spend: detect, list, give feedback, scan a series.", no_args_is_help=True
)
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why (kept with the feedback).")]


if TYPE_CHECKING:
    from costline.workspace import Workspace


def _workspace() -> Workspace:
    from costline.cli.main import _workspace as find

    return find()


@anomalies_app.command("detect")
def detect(
    since: Annotated[
        str | None,
        typer.Option(help="First day to evaluate, YYYY-MM-DD (default: the last 7 days of data)."),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Evaluate every monitor; open, update or resolve anomalies."""
    report = _workspace().detect_anomalies(since=since)
    summary = report.as_dict()
    rows = [(k, ", ".join(v) if isinstance(v, list) else v) for k, v in summary.items()]
    render(["item", "value"], rows, fmt, title="anomaly detection")


@anomalies_app.command("list")
def list_(
    status: Annotated[
        str, typer.Option(help="open, acked, resolved, dismissed, expected or all.")
    ] = "open",
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Anomalies, newest first, with impact and the top root cause."""
    result = _workspace().anomalies(status=status)
    render(result.columns, result.rows, fmt, title=f"anomalies ({status})")


def _feedback(kind: str, anomaly_id: str, reason: str | None) -> None:
    done = _workspace().anomaly_feedback(anomaly_id, kind, reason)
    render(["id", "status"], [(done["id"], done["status"])], OutputFormat.table, title=kind)


@anomalies_app.command("ack")
def ack(
    anomaly_id: Annotated[str, typer.Argument(help="Anomaly id.")], reason: ReasonOpt = None
) -> None:
    """Own it: stays open, no more alerts for it."""
    _feedback("ack", anomaly_id, reason)


@anomalies_app.command("dismiss")
def dismiss(
    anomaly_id: Annotated[str, typer.Argument(help="Anomaly id.")], reason: ReasonOpt = None
) -> None:
    """A false alarm: closes it and makes the series less sensitive."""
    _feedback("dismiss", anomaly_id, reason)


@anomalies_app.command("expected")
def expected(
    anomaly_id: Annotated[str, typer.Argument(help="Anomaly id.")], reason: ReasonOpt = None
) -> None:
    """Real but planned (a load test): closes it; its days leave the baseline."""
    _feedback("expected", anomaly_id, reason)


@anomalies_app.command("scan")
def scan(
    path: Annotated[Path, typer.Argument(help="CSV with the columns timestamp,value.")],
    sensitivity: Annotated[
        str,
        typer.Option(
            help="Alert at anomaly likelihood low 0.986, medium 0.95 or high 0.90 "
            "(the streaming detector; the first 100 rows only learn)."
        ),
    ] = "medium",
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Score every point of any timestamp,value series with the streaming detector (no
    workspace needed); ``flagged`` marks the first row of each alert episode."""
    from costline.anomaly.detect import scan as scan_series
    from costline.anomaly.nab_corpus import read_series
    from costline.config.anomalies import SENSITIVITY_Z
    from costline.core.errors import BadInputError, Location

    if sensitivity not in SENSITIVITY_Z:
        raise BadInputError(
            f"unknown sensitivity {sensitivity!r}",
            location=Location(str(path)),
            reason="anomaly-sensitivity",
            hint="use low, medium or high",
        )
    times, values = read_series(path)
    rows = scan_series(times, values, z_threshold=SENSITIVITY_Z[sensitivity])
    cols = ["timestamp", "value", "expected", "z", "score", "flagged"]
    render(cols, [tuple(r[c] for c in cols) for r in rows], fmt, title=str(path))


usage_app = typer.Typer(
    help="Estimated cost before the bill: load usage × price, reconcile it with the bill.",
    no_args_is_help=True,
)
anomalies_app.add_typer(usage_app, name="usage")


@usage_app.command("load")
def usage_load(
    path: Annotated[
        Path,
        typer.Argument(
            help="CSV or Parquet: timestamp, provider, account, service, quantity "
            "[, usage_type, region, resource, unit_price, currency]."
        ),
    ],
    provider: Annotated[
        str | None, typer.Option(help="Provider of rows (or a file) without one, e.g. aws.")
    ] = None,
    skip_unpriced: Annotated[
        bool,
        typer.Option(
            "--skip-unpriced",
            help="Leave out rows with no unit_price and no observed rate in the bill "
            "(default: they are an error).",
        ),
    ] = False,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Load usage as estimated cost; detection scores it on the days after the bill.

    Loading the same file again replaces its rows.
    """
    done = _workspace().load_usage(path, provider=provider, skip_unpriced=skip_unpriced)
    rows = [
        (k, ", ".join(f"{c} {v}" for c, v in done[k].items()) if k == "cost" else done[k])
        for k in (
            "file",
            "rows",
            "skipped",
            "priced_from_file",
            "priced_from_bill",
            "first_day",
            "last_day",
            "cost",
        )
    ]
    render(["item", "value"], rows, fmt, title="estimated cost loaded")


@usage_app.command("reconcile")
def usage_reconcile(
    days: Annotated[
        int,
        typer.Option(min=1, help="Billed days to compare, per provider (up to its bill's end)."),
    ] = 14,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Estimated vs billed cost where both exist; settle anomalies flagged on estimates.

    An anomaly day flagged on an estimate takes the billed cost; one whose billed days no
    longer pass the monitor's gates is resolved with the reason "not in the bill".
    """
    from costline.cli.output import info

    report, settled = _workspace().reconcile_estimates(days=days)
    render(report.columns, report.rows, fmt, title=f"estimated vs billed (last {days} days)")
    if fmt is OutputFormat.table and settled.rows:
        render(settled.columns, settled.rows, fmt, title="anomalies flagged on estimates")
    outcomes = [r[settled.columns.index("outcome")] for r in settled.rows]
    info(
        f"{len(outcomes)} anomaly(ies) settled: {outcomes.count('confirmed')} confirmed by the "
        f"bill, {outcomes.count('not in the bill')} not in the bill"
    )

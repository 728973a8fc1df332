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
        str, typer.Option(help="low (z ≥ 6), medium (4.5) or high (3.5).")
    ] = "medium",
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Score every point of any timestamp,value series (no workspace needed)."""
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

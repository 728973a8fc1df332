"""What ``costline telemetry pull`` decides before and around the API calls: the window, the
resources to ask about, the Prometheus queries, and which puller runs with which options.

Pure apart from :func:`pull`, which calls one puller. The workspace reads the bill's
instances and stores the result; this module knows neither the warehouse nor the catalog.

Example:
    >>> import datetime as dt
    >>> end = dt.datetime(2026, 10, 15, 0, 7, tzinfo=dt.UTC)
    >>> [t.isoformat() for t in window("cloudwatch", None, end, 300)]
    ['2026-10-01T00:05:00+00:00', '2026-10-15T00:05:00+00:00']
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from costline.core.errors import BadInputError, Location, WorkspaceError
from costline.sources.telemetry import Sample, Target

# source name → the bill's provider whose instances it is asked about (None: all series)
PROVIDERS: dict[str, str | None] = {
    "cloudwatch": "aws",
    "azure-monitor": "azure",
    "prometheus": None,
}
DEFAULT_DAYS = 14
PROMETHEUS_TOKEN_ENV = "COSTLINE_PROMETHEUS_TOKEN"
PROMETHEUS_PASSWORD_ENV = "COSTLINE_PROMETHEUS_PASSWORD"
WHAT = {"aws": "EC2 instances", "azure": "Azure VMs"}


@dataclass(frozen=True)
class Pulled:
    """What one pull returned: the source label stored with the samples, the samples, the
    resources asked for (None: every series) and the fix to show for an out-of-range value."""

    source: str
    samples: list[Sample]
    requested: list[str] | None
    bad_value_hint: str | None = None


def _bad(option: str, message: str, hint: str, value: str | None = None) -> BadInputError:
    return BadInputError(
        message, location=Location(option, value=value), reason="bad-option", hint=hint
    )


def check_source(source: str) -> None:
    if source not in PROVIDERS:
        close = difflib.get_close_matches(source, list(PROVIDERS), n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        raise _bad(
            "SOURCE",
            f"unknown telemetry source {source!r}",
            f"{guess}use one of {', '.join(PROVIDERS)}",
            source,
        )


def window(
    source: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    period: int,
    *,
    now: dt.datetime | None = None,
) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` in UTC, both rounded down to a multiple of ``period`` seconds (a
    partial last period would be a partial sum); by default the 14 days up to now. Naive
    datetimes are UTC."""
    check_source(source)
    if period < 60 or period % 60:
        raise _bad(
            "--period",
            f"period of {period} s is not a whole number of minutes",
            "use 60 s or a multiple of it (default 300, 5 minutes)",
            str(period),
        )
    last = _utc(end or now or dt.datetime.now(dt.UTC))
    first = _utc(start) if start is not None else last - dt.timedelta(days=DEFAULT_DAYS)
    first, last = _floor(first, period), _floor(last, period)
    if first >= last:
        raise _bad(
            "--start",
            f"the window {first.isoformat()} .. {last.isoformat()} is empty",
            f"give --start before --end (at least one period of {period} s apart)",
        )
    return first, last


def targets(
    source: str,
    resources: Sequence[str],
    billed: Sequence[tuple[str, str | None, str | None]],
    memory_bytes: Mapping[str, float],
    *,
    region: str | None = None,
) -> list[Target]:
    """The resources CloudWatch or Azure Monitor is asked about: ``resources`` (spelled, and
    with the region, as the bill has them when it does), else every ``billed`` instance;
    ``region`` overrides the bill's. ``memory_bytes`` is keyed by lower-cased resource id."""
    provider = PROVIDERS[source]
    if provider is None:
        return []
    by_id = {rid.lower(): (rid, reg) for rid, reg, _ in billed}
    chosen: dict[str, str] = {}
    for rid in resources or [rid for rid, _, _ in billed]:
        rid = rid.strip()
        if not rid:
            continue
        if provider == "azure" and not rid.lower().startswith("/subscriptions/"):
            raise _bad(
                "--resource",
                f"{rid!r} is not an Azure resource id",
                "pass the VM's full id: /subscriptions/<id>/resourceGroups/<rg>/providers/"
                "Microsoft.Compute/virtualMachines/<name>",
                rid,
            )
        # the bill's spelling wins: samples are stored under the id the bill shows
        chosen.setdefault(rid.lower(), by_id.get(rid.lower(), (rid, None))[0])
    if not chosen:
        raise WorkspaceError(
            f"no {WHAT[provider]} in the bill for the window",
            hint=f"ingest the bill first (costline ingest), widen --start/--end, or name the "
            f"{WHAT[provider]} with --resource",
        )
    return [
        Target(
            rid,
            region=region or by_id.get(key, (rid, None))[1],
            memory_bytes=memory_bytes.get(key),
        )
        for key, rid in chosen.items()
    ]


def _queries(
    given: Mapping[str, str] | None, label: str, metrics: Collection[str]
) -> dict[str, str]:
    """Prometheus' query per metric: the node_exporter defaults for ``label``, overridden or
    extended by ``given``; an empty query drops that metric."""
    from costline.sources.telemetry.prometheus import default_queries

    out = default_queries(label)
    for name, query in (given or {}).items():
        metric = name.strip().lower()
        if metric not in metrics:
            close = difflib.get_close_matches(metric, list(metrics), n=1)
            guess = f"did you mean {close[0]!r}? " if close else ""
            raise _bad(
                "--query",
                f"unknown metric {name!r}",
                f"{guess}write METRIC=PROMQL with a metric of {', '.join(sorted(metrics))}",
                name,
            )
        if query.strip():
            out[metric] = query.strip()
        else:
            out.pop(metric, None)
    if not out:
        raise _bad("--query", "no query left to run", "keep at least one METRIC=PROMQL")
    return out


def pull(
    source: str,
    window: tuple[dt.datetime, dt.datetime],
    *,
    targets: Sequence[Target],
    resources: Sequence[str] = (),
    period: int = 300,
    region: str | None = None,
    endpoint_url: str | None = None,
    url: str | None = None,
    queries: Mapping[str, str] | None = None,
    metrics: Collection[str] = (),
    label: str = "instance",
    resource_map: Mapping[str, str] | None = None,
    token: str | None = None,
    username: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Pulled:
    """Run the puller of ``source`` (options that do not apply to it are an error).
    ``queries`` add to or replace Prometheus' defaults (see :func:`queries`; ``metrics`` are
    the metric names they may use)."""
    check_source(source)
    start, end = window
    env = environ or {}
    _only(source, ("prometheus",), "--url", url)
    _only(source, ("prometheus",), "--query", queries)
    _only(source, ("prometheus",), "--map", resource_map)
    _only(source, ("prometheus",), "--user", username)
    _only(source, ("cloudwatch",), "--region", region)
    _only(source, ("azure-monitor", "prometheus"), "--token", token)
    _only(source, ("cloudwatch", "azure-monitor"), "--endpoint-url", endpoint_url)
    if source == "cloudwatch":
        from costline.sources.telemetry import cloudwatch

        by_region: dict[str | None, list[str]] = {}
        for t in targets:
            by_region.setdefault(t.region, []).append(t.resource_id)
        samples: list[Sample] = []
        for reg, ids in by_region.items():
            samples += cloudwatch.pull(
                ids, start=start, end=end, region=reg, endpoint_url=endpoint_url, period=period
            )
        regions = ",".join(sorted(r or "default" for r in by_region))
        return Pulled(f"cloudwatch:{regions}", samples, [t.resource_id for t in targets])
    if source == "azure-monitor":
        from costline.sources.telemetry import azure_monitor

        samples = azure_monitor.pull(
            targets,
            start=start,
            end=end,
            endpoint=endpoint_url or azure_monitor.ENDPOINT,
            token=token,
            period=period,
            environ=env,
        )
        where = _netloc(endpoint_url or azure_monitor.ENDPOINT)
        return Pulled(f"azure-monitor:{where}", samples, [t.resource_id for t in targets])
    from costline.sources.telemetry import prometheus

    if not url:
        raise _bad(
            "--url",
            "no Prometheus URL",
            "pass --url with the server's base URL, e.g. http://prometheus:9090",
        )
    samples = prometheus.pull(
        url,
        start=start,
        end=end,
        step=period,
        queries=_queries(queries, label, metrics),
        label=label,
        resource_map=resource_map,
        token=token or env.get(PROMETHEUS_TOKEN_ENV),
        username=username,
        password=env.get(PROMETHEUS_PASSWORD_ENV),
    )
    requested = [r.strip() for r in resources if r.strip()] or None
    if requested is not None:
        keep = {r.lower() for r in requested}
        samples = [s for s in samples if s.resource_id.lower() in keep]
    return Pulled(
        f"prometheus:{_netloc(url)}",
        samples,
        requested,
        bad_value_hint="each --query must return its metric in costline's unit: percents "
        "0-100, bytes and operations per sample 0 or more (docs/how-to/telemetry.md)",
    )


def _only(source: str, owners: tuple[str, ...], name: str, value: object) -> None:
    if value and source not in owners:
        raise _bad(
            name,
            f"{name} does not apply to {source}",
            f"{name} is for `costline telemetry pull {'|'.join(owners)}`; leave it out",
        )


def _netloc(url: str) -> str:
    """``https://host:8443/path`` → ``host:8443`` (credentials in the URL are left out)."""
    return url.split("://")[-1].split("/")[0].rpartition("@")[2]


def _utc(ts: dt.datetime) -> dt.datetime:
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)


def _floor(ts: dt.datetime, period: int) -> dt.datetime:
    epoch = int(ts.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % period, dt.UTC)

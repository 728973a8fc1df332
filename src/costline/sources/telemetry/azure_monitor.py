"""Azure Monitor: VM utilization through the metrics REST API (httpx, no Azure SDK).

One ``GET {endpoint}{resourceId}/providers/Microsoft.Insights/metrics`` per VM asks for the
host metrics of :data:`METRICS` at ``interval`` (``PT5M`` by default) with the ``Average`` and
``Total`` aggregations. ``Available Memory Bytes`` becomes ``memory_percent`` only for a VM
whose memory size is known (from its VM size in the pricing catalog):
``100 × (1 − available / memory)``; without it memory is skipped.

The bearer token is ``token``, else ``COSTLINE_AZURE_TOKEN``, else azure-identity's
``DefaultAzureCredential`` (the ``azure`` extra) for ``{endpoint}/.default``.

Example:
    >>> interval_for(300)
    'PT5M'
    >>> memory_percent(available=4 * 2**30, total=16 * 2**30)
    75.0
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from costline.core.errors import BadInputError, Location, MissingDependencyError
from costline.sources.telemetry import Sample, Target, _http
from costline.sources.telemetry.errors import PullRejectedError

API_VERSION = "2023-10-01"
ENDPOINT = "https://management.azure.com"
TOKEN_ENV = "COSTLINE_AZURE_TOKEN"
AVAILABLE_MEMORY = "Available Memory Bytes"
# Azure metric → (aggregation read, costline metric, per-second rate: × interval seconds)
METRICS: dict[str, tuple[str, str, bool]] = {
    "Percentage CPU": ("average", "cpu_percent", False),
    AVAILABLE_MEMORY: ("average", "memory_percent", False),
    "Network In Total": ("total", "network_in_bytes", False),
    "Network Out Total": ("total", "network_out_bytes", False),
    "Disk Read Bytes": ("total", "disk_read_bytes", False),
    "Disk Write Bytes": ("total", "disk_write_bytes", False),
    "Disk Read Operations/Sec": ("average", "disk_read_ops", True),
    "Disk Write Operations/Sec": ("average", "disk_write_ops", True),
}
# timegrains the metrics API accepts, in seconds
INTERVALS = {60: "PT1M", 300: "PT5M", 900: "PT15M", 1800: "PT30M", 3600: "PT1H"}


def interval_for(period: int) -> str:
    """The ISO 8601 timegrain of ``period`` seconds (one the API supports)."""
    if period not in INTERVALS:
        raise BadInputError(
            f"period of {period} s is not an Azure Monitor timegrain",
            location=Location("--period"),
            reason="bad-option",
            hint=f"use one of {', '.join(str(s) for s in INTERVALS)} seconds (default 300)",
        )
    return INTERVALS[period]


def memory_percent(*, available: float, total: float) -> float:
    """Memory in use as a percent of ``total``, clamped to 0–100 (the OS sees a little less
    than the VM size's nominal memory)."""
    return min(100.0, max(0.0, 100.0 * (1.0 - available / total)))


def metrics_params(start: dt.datetime, end: dt.datetime, interval: str) -> dict[str, str]:
    """The query string of one metrics request."""
    return {
        "api-version": API_VERSION,
        "metricnames": ",".join(METRICS),
        "timespan": f"{_iso(start)}/{_iso(end)}",
        "interval": interval,
        "aggregation": "Average,Total",
    }


def samples_from_response(body: Mapping[str, Any], target: Target, *, period: int) -> list[Sample]:
    """One metrics response → samples of ``target`` (its id as the bill writes it); points
    without the aggregation (no data in that interval) are left out."""
    out: list[Sample] = []
    for metric in body.get("value", []):
        name = str((metric.get("name") or {}).get("value", ""))
        known = METRICS.get(name) or next(
            (v for k, v in METRICS.items() if k.lower() == name.lower()), None
        )
        if known is None:
            continue
        aggregation, costline_metric, per_second = known
        if costline_metric == "memory_percent" and not target.memory_bytes:
            continue
        for series in metric.get("timeseries", []):
            for point in series.get("data", []):
                raw = point.get(aggregation)
                if raw is None or not math.isfinite(float(raw)):
                    continue
                value = float(raw)
                if costline_metric == "memory_percent":
                    assert target.memory_bytes
                    value = memory_percent(available=value, total=target.memory_bytes)
                elif per_second:
                    value *= period
                out.append(
                    Sample(
                        target.resource_id, _parse_ts(point["timeStamp"]), costline_metric, value
                    )
                )
    return out


def pull(
    targets: Sequence[Target],
    *,
    start: dt.datetime,
    end: dt.datetime,
    endpoint: str = ENDPOINT,
    token: str | None = None,
    period: int = 300,
    environ: Mapping[str, str] | None = None,
    client: httpx.Client | None = None,
    backoff: float = _http.BACKOFF_SECONDS,
) -> list[Sample]:
    """Samples of the VMs in ``targets`` over ``[start, end)``.

    Raises:
        PullRejectedError: 401/403 (token or role), 404 (no such resource), 400 (bad
            request), naming the resource.
        PullUnavailableError: 429/5xx or unreachable after retries.
        MissingDependencyError: no token given and azure-identity not installed.
    """
    if not targets:
        return []
    interval = interval_for(period)
    base = endpoint.rstrip("/")
    source = f"azure-monitor:{httpx.URL(base).netloc.decode() or base}"
    bearer = token or (os.environ if environ is None else environ).get(TOKEN_ENV)
    if not bearer:
        bearer = _default_credential_token(base, source)
    headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/json"}
    params = metrics_params(start, end, interval)
    own = client is None
    http = client or httpx.Client(timeout=60.0)
    try:
        out: list[Sample] = []
        for target in targets:
            rid = "/" + target.resource_id.strip().lstrip("/")
            url = f"{base}{rid}/providers/Microsoft.Insights/metrics"
            response = _http.get(
                http,
                url,
                source=source,
                what=target.resource_id,
                params=params,
                headers=headers,
                backoff=backoff,
            )
            _raise_for(response, target.resource_id, source)
            out += samples_from_response(response.json(), target, period=period)
        return out
    finally:
        if own:
            http.close()


def _raise_for(response: httpx.Response, resource: str, source: str) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = _error_message(response)
    if status in (401, 403):
        hint = (
            "the token is missing, expired or for another tenant: set COSTLINE_AZURE_TOKEN or "
            "sign in (az login / a managed identity)"
            if status == 401
            else "grant the identity the Monitoring Reader role on the VM (or its resource "
            "group or subscription)"
        )
        raise PullRejectedError(source, f"HTTP {status} for {resource}: {detail}", hint=hint)
    if status == 404:
        raise PullRejectedError(
            source,
            f"HTTP 404 for {resource}: {detail}",
            hint="the resource id is not a VM Azure Monitor knows (deleted, or a typo): pass "
            "the full id /subscriptions/<id>/resourceGroups/<rg>/providers/"
            "Microsoft.Compute/virtualMachines/<name>",
        )
    raise PullRejectedError(
        source,
        f"HTTP {status} for {resource}: {detail}",
        hint="check the resource id, --start/--end (Azure keeps 93 days) and --period",
    )


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return f"{err.get('code', 'error')}: {err.get('message', '')}".strip()
    text = " ".join(response.text.split())
    return text[:300] or response.reason_phrase


def _default_credential_token(endpoint: str, source: str) -> str:
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError as exc:
        raise MissingDependencyError(
            f"pulling from Azure Monitor without {TOKEN_ENV}", "azure"
        ) from exc
    try:
        return str(DefaultAzureCredential().get_token(f"{endpoint}/.default").token)
    except Exception as exc:  # azure-identity raises ClientAuthenticationError and others
        raise PullRejectedError(
            source,
            f"no Azure credential: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
            hint=f"sign in (az login, a managed identity, AZURE_CLIENT_ID/SECRET/TENANT_ID) "
            f"or set {TOKEN_ENV} to a bearer token for {endpoint}",
        ) from exc


def _iso(ts: dt.datetime) -> str:
    if ts.tzinfo is not None:
        ts = ts.astimezone(dt.UTC).replace(tzinfo=None)
    return ts.isoformat(timespec="seconds") + "Z"


def _parse_ts(text: str) -> dt.datetime:
    ts = dt.datetime.fromisoformat(text)
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)

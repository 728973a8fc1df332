"""Prometheus: utilization through the HTTP API's range queries (httpx).

One ``GET {url}/api/v1/query_range?query=&start=&end=&step=`` per costline metric, with a
PromQL query per metric (:func:`default_queries` for node_exporter: CPU and memory). Each
series returned is one resource: its id is the value of a label (``instance`` by default; with
EC2 service discovery, relabel ``__meta_ec2_instance_id`` to e.g. ``instance_id``), optionally
translated through a mapping (label value → the bill's ResourceId). A range longer than
Prometheus' 11,000 points per series is asked for in several windows.

Example:
    >>> default_queries("instance_id")["cpu_percent"]
    '100 * (1 - avg by (instance_id) (rate(node_cpu_seconds_total{mode="idle"}[5m])))'
    >>> [len(range(a, b + 1, 300)) for a, b in windows(0, 300 * 11_001, 300)]
    [11000, 1]
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import httpx

from costline.sources.telemetry import Sample, _http
from costline.sources.telemetry.errors import PullRejectedError

MAX_POINTS = 11_000  # Prometheus refuses a range query with more points per series


def default_queries(label: str = "instance") -> dict[str, str]:
    """node_exporter's CPU busy % (averaged over the machine's CPUs) and memory in use %,
    one series per ``label`` value."""
    return {
        "cpu_percent": (
            f'100 * (1 - avg by ({label}) (rate(node_cpu_seconds_total{{mode="idle"}}[5m])))'
        ),
        "memory_percent": (
            "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)"
        ),
    }


def windows(start: float, end: float, step: float) -> list[tuple[float, float]]:
    """Evaluation ranges (inclusive ends, Unix seconds) covering ``[start, end)`` at ``step``,
    at most :data:`MAX_POINTS` points each."""
    points = max(1, math.ceil((end - start) / step))
    out = []
    for first in range(0, points, MAX_POINTS):
        last = min(points, first + MAX_POINTS) - 1
        out.append((start + first * step, start + last * step))
    return out


def samples_from_matrix(
    body: Mapping[str, Any],
    metric: str,
    *,
    label: str,
    resource_map: Mapping[str, str] | None = None,
    source: str = "prometheus",
) -> list[Sample]:
    """One successful ``query_range`` answer → samples of ``metric``.

    With ``resource_map``, series whose label value is not in it are left out; NaN and ±Inf
    values (no data) are too.

    Raises:
        PullRejectedError: not a matrix, a series without ``label``, or two series for the
            same resource (the query must aggregate by the label).
    """
    data = body.get("data") or {}
    if data.get("resultType") != "matrix":
        raise PullRejectedError(
            source,
            f"the {metric} query returned a {data.get('resultType')!r}, not a range matrix",
            hint="--url must point at Prometheus or a server with its HTTP API (Thanos, "
            "Mimir, VictoriaMetrics), whose query_range answers with a matrix",
        )
    out: list[Sample] = []
    seen: dict[str, dict[str, str]] = {}
    for series in data.get("result") or []:
        labels = series.get("metric") or {}
        value = labels.get(label)
        if not value:
            raise PullRejectedError(
                source,
                f"a series of the {metric} query has no label {label!r}: {_labels(labels)}",
                hint=f"keep the label in the query (`avg by ({label}) (...)`) or pass the label "
                "that holds the resource id with --label",
            )
        if resource_map is not None:
            if value not in resource_map:
                continue
            value = resource_map[value]
        if value in seen:
            raise PullRejectedError(
                source,
                f"the {metric} query returned two series for {value}: "
                f"{_labels(seen[value])} and {_labels(labels)}",
                hint=f"aggregate to one series per resource, e.g. `avg by ({label}) (...)`",
            )
        seen[value] = labels
        for ts, raw in series.get("values") or []:
            number = float(raw)
            if math.isfinite(number):
                out.append(
                    Sample(value, dt.datetime.fromtimestamp(float(ts), dt.UTC), metric, number)
                )
    return out


def pull(
    url: str,
    *,
    start: dt.datetime,
    end: dt.datetime,
    step: int = 300,
    queries: Mapping[str, str] | None = None,
    label: str = "instance",
    resource_map: Mapping[str, str] | None = None,
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
    client: httpx.Client | None = None,
    backoff: float = _http.BACKOFF_SECONDS,
) -> list[Sample]:
    """Samples of every metric in ``queries`` (default :func:`default_queries`) over
    ``[start, end)`` at ``step`` seconds, from the Prometheus (or compatible: Thanos, Mimir,
    VictoriaMetrics) at ``url``.

    Raises:
        PullRejectedError: 401/403, 404 (not a Prometheus API at ``url``), a ``status:
            error`` answer (bad PromQL, too many points), or series that do not name a
            resource once.
        PullUnavailableError: 429/5xx or unreachable after retries.
    """
    base = url.rstrip("/")
    source = f"prometheus:{httpx.URL(base).netloc.decode() or base}"
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    auth = httpx.BasicAuth(username, password or "") if username else None
    own = client is None
    http = client or httpx.Client(timeout=120.0, auth=auth)
    out: list[Sample] = []
    try:
        for metric, query in (queries or default_queries(label)).items():
            for first, last in windows(start.timestamp(), end.timestamp(), step):
                params = {"query": query, "start": _num(first), "end": _num(last), "step": step}
                response = _http.get(
                    http,
                    f"{base}/api/v1/query_range",
                    source=source,
                    what=f"the {metric} query",
                    params=params,
                    headers=headers,
                    backoff=backoff,
                )
                body = _answer(response, metric, query, source)
                out += samples_from_matrix(
                    body, metric, label=label, resource_map=resource_map, source=source
                )
    finally:
        if own:
            http.close()
    return out


def _answer(response: httpx.Response, metric: str, query: str, source: str) -> dict[str, Any]:
    """The JSON body of a successful answer, else a PullRejectedError naming the query."""
    status = response.status_code
    if status in (401, 403):
        raise PullRejectedError(
            source,
            f"HTTP {status} for the {metric} query",
            hint="pass --token (or COSTLINE_PROMETHEUS_TOKEN) or --user with "
            "COSTLINE_PROMETHEUS_PASSWORD for the Prometheus in front of the proxy",
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PullRejectedError(
            source,
            f"HTTP {status} for the {metric} query is not a Prometheus API answer",
            hint="pass the server's base URL (e.g. http://prometheus:9090, or with its path "
            "prefix), not a page of its UI",
        )
    if body.get("status") != "success":
        kind = body.get("errorType", "error")
        raise PullRejectedError(
            source,
            f"the {metric} query failed ({kind}): {body.get('error', '')} — query: {query}",
            hint="fix the PromQL (--query metric=PROMQL) or shorten --start/--end / raise --step",
        )
    return body


def _labels(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _num(ts: float) -> str:
    return f"{ts:.3f}".rstrip("0").rstrip(".")

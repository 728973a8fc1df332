"""Amazon CloudWatch: EC2 utilization through ``GetMetricData`` (boto3, imported lazily).

For every instance id the queries are the instance-level ``AWS/EC2`` metrics of
:data:`EC2_METRICS` (one statistic per period) and, when the CloudWatch agent publishes it,
``CWAgent`` ``mem_used_percent``. The agent adds dimensions of its own (``ImageId``,
``InstanceType``, ...) and CloudWatch matches dimension sets exactly, so the memory metric's
dimensions are read with ``ListMetrics`` first. ``DiskRead*``/``DiskWrite*`` (instance store)
and ``EBSRead*``/``EBSWrite*`` (EBS volumes of Nitro instances) both count as disk I/O: their
sums per period are added.

Queries go out 500 per call (the API's limit) through the ``get_metric_data`` paginator.

Example:
    >>> [q["Id"] for q in build_queries(["i-1"], {}, period=300)][:2]
    ['q0', 'q1']
    >>> build_queries(["i-1"], {}, period=300)[0]["MetricStat"]["Stat"]
    'Average'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from costline.core.errors import MissingDependencyError
from costline.sources.telemetry import Sample
from costline.sources.telemetry.errors import PullRejectedError, PullUnavailableError

# CloudWatch metric name → (statistic per period, costline metric)
EC2_METRICS: dict[str, tuple[str, str]] = {
    "CPUUtilization": ("Average", "cpu_percent"),
    "NetworkIn": ("Sum", "network_in_bytes"),
    "NetworkOut": ("Sum", "network_out_bytes"),
    "DiskReadBytes": ("Sum", "disk_read_bytes"),
    "DiskWriteBytes": ("Sum", "disk_write_bytes"),
    "DiskReadOps": ("Sum", "disk_read_ops"),
    "DiskWriteOps": ("Sum", "disk_write_ops"),
    "EBSReadBytes": ("Sum", "disk_read_bytes"),
    "EBSWriteBytes": ("Sum", "disk_write_bytes"),
    "EBSReadOps": ("Sum", "disk_read_ops"),
    "EBSWriteOps": ("Sum", "disk_write_ops"),
}
MEMORY_NAMESPACE = "CWAgent"
MEMORY_METRIC = "mem_used_percent"  # Linux agent; statistic Average → memory_percent
MAX_QUERIES = 500  # GetMetricData's limit of MetricDataQueries per call
PERMISSIONS = "cloudwatch:GetMetricData and cloudwatch:ListMetrics"

Dimensions = list[dict[str, str]]


def build_queries(
    instance_ids: Sequence[str], memory_dims: Mapping[str, Dimensions], *, period: int
) -> list[dict[str, Any]]:
    """The ``MetricDataQueries`` for ``instance_ids``: every :data:`EC2_METRICS` metric, and
    ``mem_used_percent`` for the instances in ``memory_dims`` (with those dimensions).

    Each query carries its instance and costline metric in ``Label`` (``i-1|cpu_percent``),
    which :func:`samples_from_results` reads back.
    """
    queries: list[dict[str, Any]] = []

    def add(namespace: str, name: str, dims: Dimensions, stat: str, label: str) -> None:
        metric = {"Namespace": namespace, "MetricName": name, "Dimensions": dims}
        queries.append(
            {
                "Id": f"q{len(queries)}",
                "MetricStat": {"Metric": metric, "Period": period, "Stat": stat},
                "Label": label,
                "ReturnData": True,
            }
        )

    for iid in instance_ids:
        for name, (stat, metric) in EC2_METRICS.items():
            add("AWS/EC2", name, [{"Name": "InstanceId", "Value": iid}], stat, f"{iid}|{metric}")
        if iid in memory_dims:
            add(
                MEMORY_NAMESPACE,
                MEMORY_METRIC,
                memory_dims[iid],
                "Average",
                f"{iid}|memory_percent",
            )
    return queries


def batches(queries: Sequence[dict[str, Any]], size: int = MAX_QUERIES) -> Iterator[list[Any]]:
    """``queries`` in calls of at most ``size`` (:func:`build_queries` numbers ids across
    all calls, so results of every call map back through one table)."""
    for i in range(0, len(queries), size):
        yield list(queries[i : i + size])


def samples_from_results(
    results: Iterable[Mapping[str, Any]], labels: Mapping[str, str]
) -> list[Sample]:
    """``MetricDataResults`` (of any number of pages) → samples, one per instance, metric and
    period start; values of queries that map to the same metric (``DiskReadBytes`` and
    ``EBSReadBytes``) are added. ``labels`` maps query id → ``instance|metric``."""
    totals: dict[tuple[str, str, dt.datetime], float] = {}
    for result in results:
        iid, metric = labels[result["Id"]].split("|", 1)
        for ts, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=True):
            key = (iid, metric, _utc(ts))
            totals[key] = totals.get(key, 0.0) + float(value)
    return [Sample(iid, ts, metric, v) for (iid, metric, ts), v in sorted(totals.items())]


def memory_dimensions(metrics: Iterable[Mapping[str, Any]]) -> dict[str, Dimensions]:
    """``ListMetrics`` entries of ``mem_used_percent`` → the dimensions to query per instance
    id: the set with the fewest dimensions (then the first in name order) when the agent
    published several."""
    found: dict[str, Dimensions] = {}
    for m in metrics:
        dims = [{"Name": d["Name"], "Value": d["Value"]} for d in m.get("Dimensions", [])]
        iid = next((d["Value"] for d in dims if d["Name"] == "InstanceId"), None)
        if iid is None:
            continue
        best = found.get(iid)
        key = (len(dims), sorted((d["Name"], d["Value"]) for d in dims))
        if best is None or key < (len(best), sorted((d["Name"], d["Value"]) for d in best)):
            found[iid] = dims
    return found


def pull(
    instance_ids: Sequence[str],
    *,
    start: dt.datetime,
    end: dt.datetime,
    region: str | None = None,
    endpoint_url: str | None = None,
    period: int = 300,
    memory: bool = True,
) -> list[Sample]:
    """Samples of ``instance_ids`` in ``[start, end)`` at ``period`` seconds, from one region.

    ``region`` defaults to boto3's (``AWS_REGION``, the profile); ``endpoint_url`` points the
    client elsewhere (a VPC endpoint, a test server). Credentials are boto3's default chain.

    Raises:
        MissingDependencyError: boto3 is not installed (the ``aws`` extra).
        PullRejectedError: no region, no credentials, or an API error (e.g. AccessDenied).
        PullUnavailableError: the endpoint cannot be reached.
    """
    if not instance_ids:
        return []
    source = f"cloudwatch:{region or 'default region'}"
    client = _client(region, endpoint_url, source)
    try:
        memory_dims: dict[str, Dimensions] = {}
        if memory:
            pages = client.get_paginator("list_metrics").paginate(
                Namespace=MEMORY_NAMESPACE, MetricName=MEMORY_METRIC
            )
            wanted = set(instance_ids)
            listed = memory_dimensions(m for page in pages for m in page.get("Metrics", []))
            memory_dims = {k: v for k, v in listed.items() if k in wanted}
        queries = build_queries(instance_ids, memory_dims, period=period)
        results: list[Mapping[str, Any]] = []
        for batch in batches(queries):
            pages = client.get_paginator("get_metric_data").paginate(
                MetricDataQueries=batch,
                StartTime=start,
                EndTime=end,
                ScanBy="TimestampAscending",
            )
            for page in pages:
                results += page.get("MetricDataResults", [])
    except Exception as exc:
        raise _translate(exc, source) from exc
    return samples_from_results(results, {q["Id"]: q["Label"] for q in queries})


def _client(region: str | None, endpoint_url: str | None, source: str) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        raise MissingDependencyError("pulling telemetry from CloudWatch", "aws") from exc
    try:
        # a session of its own: the default session caches the credentials it found first
        return boto3.session.Session().client(
            "cloudwatch",
            region_name=region,
            endpoint_url=endpoint_url,
            config=Config(retries={"mode": "standard", "max_attempts": 5}),
        )
    except Exception as exc:
        raise _translate(exc, source) from exc


def _translate(exc: Exception, source: str) -> Exception:
    """boto3/botocore exceptions → PullError with the fix; anything else unchanged."""
    from botocore import exceptions as be

    if isinstance(exc, be.NoRegionError):
        return PullRejectedError(
            source,
            "no AWS region",
            hint="pass --region (e.g. us-east-1) or set AWS_REGION / the profile's region",
        )
    if isinstance(exc, be.NoCredentialsError | be.PartialCredentialsError):
        return PullRejectedError(
            source,
            "no AWS credentials",
            hint="configure boto3 credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/"
            f"AWS_SECRET_ACCESS_KEY, an instance or task role) allowed {PERMISSIONS}",
        )
    if isinstance(exc, be.EndpointConnectionError | be.ConnectTimeoutError | be.ReadTimeoutError):
        return PullUnavailableError(
            source, str(exc), hint="check --endpoint-url / the network, then pull again"
        )
    if isinstance(exc, be.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "error"))
        message = str(error.get("Message", "")).strip()
        hint = "check the request and pull again"
        if "denied" in code.lower() or "unauthorized" in code.lower():
            hint = f"the credentials in use need {PERMISSIONS}"
        elif "token" in code.lower() or "signature" in code.lower():
            hint = "the AWS credentials are invalid or expired: refresh them (aws sso login, ...)"
        elif code.lower().startswith("throttl"):
            return PullUnavailableError(
                source, f"{code}: {message}", hint="CloudWatch throttled the pull: try later"
            )
        return PullRejectedError(source, f"{code}: {message}" if message else code, hint=hint)
    return exc


def _utc(ts: Any) -> dt.datetime:
    if isinstance(ts, str):
        ts = dt.datetime.fromisoformat(ts)
    assert isinstance(ts, dt.datetime)
    if ts.tzinfo is None:
        return ts.replace(tzinfo=dt.UTC)
    return ts.astimezone(dt.UTC)

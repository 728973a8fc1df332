"""Telemetry pullers: utilization samples read from a monitoring API instead of a file.

Each puller is a function over one API that returns :class:`Sample` rows in the long form
``costline telemetry load`` reads (resource id, UTC timestamp, metric, value), so pulled
samples are checked and stored by the same code as loaded files:

* :mod:`~costline.sources.telemetry.cloudwatch`: Amazon CloudWatch ``GetMetricData`` (boto3);
* :mod:`~costline.sources.telemetry.azure_monitor`: the Azure Monitor metrics REST API (httpx);
* :mod:`~costline.sources.telemetry.prometheus`: the Prometheus HTTP API ``query_range`` (httpx).

The pullers never touch the warehouse: the workspace picks the resources from the bill, calls
a puller and stores what it returns. Errors are :class:`PullError` (see
:mod:`~costline.sources.telemetry.errors`).

Example:
    >>> import datetime as dt
    >>> Sample("i-1", dt.datetime(2026, 10, 1, tzinfo=dt.UTC), "cpu_percent", 12.5).metric
    'cpu_percent'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from costline.sources.telemetry.errors import PullError, PullRejectedError, PullUnavailableError


class Sample(NamedTuple):
    """One utilization sample: the bill's resource id, the UTC start of the sample period,
    a costline metric name (``cpu_percent``, ...) and its value."""

    resource_id: str
    timestamp: dt.datetime
    metric: str
    value: float


@dataclass(frozen=True)
class Target:
    """A resource to pull: its id as the bill writes it, its region (CloudWatch is regional)
    and its memory in bytes (Azure reports free memory in bytes, not a percent)."""

    resource_id: str
    region: str | None = None
    memory_bytes: float | None = None


__all__ = ["PullError", "PullRejectedError", "PullUnavailableError", "Sample", "Target"]

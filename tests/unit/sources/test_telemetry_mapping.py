"""The pure parts of the telemetry pullers: response → samples, query planning, windows."""

from __future__ import annotations

import datetime as dt

import pytest

from costline.sources.telemetry import Target, azure_monitor, cloudwatch, prometheus
from costline.sources.telemetry.errors import PullRejectedError

T0 = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)


def test_memory_dimensions_prefers_the_smallest_set() -> None:
    listed = [
        {"Dimensions": [{"Name": "InstanceId", "Value": "i-1"}, {"Name": "ImageId", "Value": "a"}]},
        {"Dimensions": [{"Name": "InstanceId", "Value": "i-1"}]},
        {"Dimensions": [{"Name": "host", "Value": "web"}]},  # no instance id: ignored
        {
            "Dimensions": [
                {"Name": "InstanceType", "Value": "m5"},
                {"Name": "InstanceId", "Value": "i-2"},
            ]
        },
    ]
    assert cloudwatch.memory_dimensions(listed) == {
        "i-1": [{"Name": "InstanceId", "Value": "i-1"}],
        "i-2": [{"Name": "InstanceType", "Value": "m5"}, {"Name": "InstanceId", "Value": "i-2"}],
    }


def test_cloudwatch_queries_and_results() -> None:
    dims = {"i-1": [{"Name": "InstanceId", "Value": "i-1"}]}
    queries = cloudwatch.build_queries(["i-1", "i-2"], dims, period=60)
    assert len(queries) == 2 * len(cloudwatch.EC2_METRICS) + 1
    memory = [q for q in queries if q["MetricStat"]["Metric"]["Namespace"] == "CWAgent"]
    assert [q["Label"] for q in memory] == ["i-1|memory_percent"]
    assert {q["MetricStat"]["Period"] for q in queries} == {60}
    labels = {"a": "i-1|disk_read_bytes", "b": "i-1|disk_read_bytes", "c": "i-2|cpu_percent"}
    results = [
        {"Id": "a", "Timestamps": [T0, T0 + dt.timedelta(minutes=1)], "Values": [1.0, 2.0]},
        {"Id": "b", "Timestamps": [T0], "Values": [10.0]},  # EBS adds to instance store
        {
            "Id": "c",
            "Timestamps": [T0.astimezone(dt.timezone(dt.timedelta(hours=2)))],
            "Values": [5],
        },
    ]
    got = {
        (s.resource_id, s.timestamp, s.metric): s.value
        for s in cloudwatch.samples_from_results(results, labels)
    }
    assert got == {
        ("i-1", T0, "disk_read_bytes"): 11.0,
        ("i-1", T0 + dt.timedelta(minutes=1), "disk_read_bytes"): 2.0,
        ("i-2", T0, "cpu_percent"): 5.0,
    }


def test_azure_response_mapping() -> None:
    body = {
        "value": [
            {
                "name": {"value": "percentage cpu"},  # names compare case-insensitively
                "timeseries": [
                    {
                        "data": [
                            {"timeStamp": "2026-10-01T00:00:00Z", "average": 7.5},
                            {"timeStamp": "2026-10-01T00:01:00Z"},
                        ]
                    }
                ],
            },
            {
                "name": {"value": "Disk Write Operations/Sec"},
                "timeseries": [{"data": [{"timeStamp": "2026-10-01T00:00:00Z", "average": 0.5}]}],
            },
            {"name": {"value": "VM Cached IOPS Consumed Percentage"}, "timeseries": []},
        ]
    }
    samples = azure_monitor.samples_from_response(body, Target("/subscriptions/x"), period=60)
    assert [(s.metric, s.value) for s in samples] == [
        ("cpu_percent", 7.5),
        ("disk_write_ops", 30.0),
    ]
    assert azure_monitor.memory_percent(available=20.0, total=16.0) == 0.0  # clamped


def test_prometheus_windows_cover_half_open_range() -> None:
    assert prometheus.windows(0, 600, 300) == [(0, 300)]  # 600 itself is the next window's
    assert prometheus.windows(0, 601, 300) == [(0, 600)]
    (a, b), (c, d) = prometheus.windows(0, 300 * 11_001, 300)
    assert (a, b, c, d) == (0, 300 * 10_999, 300 * 11_000, 300 * 11_000)


def test_prometheus_matrix_mapping() -> None:
    body = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {
                    "metric": {"instance": "a:9100"},
                    "values": [[T0.timestamp(), "1"], [T0.timestamp() + 60, "+Inf"]],
                },
                {"metric": {"instance": "b:9100"}, "values": [[T0.timestamp(), "2"]]},
            ],
        },
    }
    samples = prometheus.samples_from_matrix(
        body, "cpu_percent", label="instance", resource_map={"a:9100": "i-a"}
    )
    assert samples == [("i-a", T0, "cpu_percent", 1.0)]
    with pytest.raises(PullRejectedError, match="returned a 'vector'"):
        prometheus.samples_from_matrix(
            {"data": {"resultType": "vector", "result": []}}, "cpu_percent", label="instance"
        )

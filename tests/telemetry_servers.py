"""Fake monitoring APIs on 127.0.0.1 for the telemetry puller tests (real HTTP, real httpx).

* :class:`AzureMonitorFake`: ``GET {resourceId}/providers/Microsoft.Insights/metrics``. It
  checks the bearer token (401 otherwise), the query parameters the puller must send (400 with
  what differs), knows a fixed set of VMs (404 for others, 403 for ``forbidden`` ones) and
  answers with the documented shape: ``value[].name.value``,
  ``value[].timeseries[].data[].timeStamp/average/total``.
* :class:`PrometheusFake`: ``GET /api/v1/query_range``. Series per PromQL text, values a
  function of the evaluation time; unknown PromQL is ``status: error`` (``bad_data``), more
  than 11,000 points per series is refused like Prometheus does, auth is checked.

Both can answer from a ``script`` of replies first (429, 503, ...) and record every request.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.notify_servers import Reply, Request, _Server

Point = dict[str, Any]  # {"timeStamp": ..., "average": ..., "total": ...}


def _json(status: int, body: Any) -> Reply:
    return Reply(status, json.dumps(body), headers={"Content-Type": "application/json"})


class AzureMonitorFake(_Server):
    def __init__(
        self,
        *,
        token: str,
        vms: dict[str, dict[str, list[Point]]],
        expect: dict[str, str],
        forbidden: tuple[str, ...] = (),
        script: list[Reply] | None = None,
    ) -> None:
        super().__init__()
        self.token = token
        self.vms = {k.lower(): v for k, v in vms.items()}
        self.expect = expect  # query parameter → exact value
        self.forbidden = {f.lower() for f in forbidden}
        self.script = list(script or [])

    def handle(self, req: Request) -> Reply:
        with self.lock:
            self.requests.append(req)
            if self.script:
                return self.script.pop(0)
        parts = urlsplit(req.path)
        suffix = "/providers/Microsoft.Insights/metrics"
        if not parts.path.endswith(suffix):
            return _json(404, {"error": {"code": "NotFound", "message": "no such API"}})
        rid = unquote(parts.path[: -len(suffix)]).lower()
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return _json(
                401,
                {
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": "The access token is invalid.",
                    }
                },
            )
        if rid in self.forbidden:
            return _json(
                403,
                {"error": {"code": "AuthorizationFailed", "message": f"no read on {rid}"}},
            )
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        wrong = {k: query.get(k) for k, v in self.expect.items() if query.get(k) != v}
        if wrong:
            return _json(400, {"error": {"code": "BadRequest", "message": f"unexpected {wrong}"}})
        if rid not in self.vms:
            return _json(
                404,
                {
                    "error": {
                        "code": "ResourceNotFound",
                        "message": f"The Resource '{rid}' was not found.",
                    }
                },
            )
        value = [
            {
                "id": f"{rid}/providers/Microsoft.Insights/metrics/{name}",
                "type": "Microsoft.Insights/metrics",
                "name": {"value": name, "localizedValue": name},
                "unit": "Percent" if name == "Percentage CPU" else "Bytes",
                "timeseries": [{"metadatavalues": [], "data": points}],
                "errorCode": "Success",
            }
            for name, points in self.vms[rid].items()
            if name in query.get("metricnames", "").split(",")
        ]
        return _json(
            200,
            {
                "cost": 0,
                "timespan": query.get("timespan"),
                "interval": query.get("interval"),
                "value": value,
                "namespace": "Microsoft.Compute/virtualMachines",
                "resourceregion": "eastus",
            },
        )


Series = tuple[dict[str, str], Callable[[float], str]]


class PrometheusFake(_Server):
    MAX_POINTS = 11_000

    def __init__(
        self,
        series: dict[str, list[Series]],
        *,
        authorization: str | None = None,
        script: list[Reply] | None = None,
    ) -> None:
        super().__init__()
        self.series = series
        self.authorization = authorization
        self.script = list(script or [])

    def params(self) -> list[dict[str, str]]:
        """The query parameters of every ``query_range`` request so far."""
        out = []
        for r in self.requests:
            parts = urlsplit(r.path)
            if parts.path == "/api/v1/query_range":
                out.append({k: v[0] for k, v in parse_qs(parts.query).items()})
        return out

    def handle(self, req: Request) -> Reply:
        with self.lock:
            self.requests.append(req)
            if self.script:
                return self.script.pop(0)
        parts = urlsplit(req.path)
        if parts.path != "/api/v1/query_range":
            return Reply(404, "404 page not found")
        if self.authorization and req.headers.get("authorization") != self.authorization:
            return Reply(401, "Unauthorized")
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        start, end, step = float(q["start"]), float(q["end"]), float(q["step"])
        points = math.floor((end - start) / step) + 1
        if points > self.MAX_POINTS:
            return _json(
                400,
                {
                    "status": "error",
                    "errorType": "bad_data",
                    "error": "exceeded maximum resolution of 11,000 points per timeseries. "
                    "Try decreasing the query resolution (?step=XX)",
                },
            )
        if q["query"] not in self.series:
            return _json(
                400,
                {
                    "status": "error",
                    "errorType": "bad_data",
                    "error": f'1:1: parse error: unknown function "{q["query"][:10]}"',
                },
            )
        times = [start + k * step for k in range(points)]
        result = [
            {"metric": labels, "values": [[t, value(t)] for t in times]}
            for labels, value in self.series[q["query"]]
        ]
        return _json(200, {"status": "success", "data": {"resultType": "matrix", "result": result}})

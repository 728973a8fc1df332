"""The ASGI app of ``costline serve``: API under ``/api/v1``, web UI, health and metrics.

:func:`create_app` wires one :class:`~costline.workspace.Workspace` (held open by
:meth:`~costline.workspace.Workspace.serving` while the server runs) and one state store
(users, tokens, sessions, job runs, audit log). Every request gets an ``X-Request-ID``; the
access log line has method, route, status and duration, never headers, cookies or query
values (tokens and filter values stay out of logs).
"""

from __future__ import annotations

import hmac
import logging
import os
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from costline import __version__
from costline.api import errors
from costline.api.cache import ResponseCache, TokenCache
from costline.api.middleware import ServiceMiddleware

log = logging.getLogger("costline.api")
API_PREFIX = "/api/v1"


class Metrics:
    """Request counters and latencies for ``/metrics`` (one registry per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "costline_http_requests_total",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "costline_http_request_seconds",
            "HTTP request duration by route template.",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.jobs = Counter(
            "costline_job_runs_total",
            "Scheduled job runs by job and outcome.",
            ["job", "status"],
            registry=self.registry,
        )


def _metrics_allowed(request: Request, ws: Any) -> None:
    """401 unless /metrics is open or the caller sends the configured bearer token (a token
    configured but unset in the environment closes it: never open by accident)."""
    name = ws.config.service.metrics_token_env
    if name is None:
        return
    expected = os.environ.get(name, "")
    header = request.headers.get("authorization", "")
    scheme, _, sent = header.partition(" ")
    if (
        not expected
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(sent.strip().encode(), expected.encode())
    ):
        raise errors.ApiError(
            401,
            "/metrics needs its token",
            hint=f"send `Authorization: Bearer <the value of {name}>`",
            headers={"WWW-Authenticate": "Bearer"},
        )


def create_app(ws: Any, store: Any, *, secure_cookies: bool = True) -> FastAPI:
    """The app over ``ws`` (a Workspace) and ``store`` (a StateStore)."""
    app = FastAPI(
        title="costline",
        version=__version__,
        description="Cloud cost data, allocation, anomalies and savings (issue #6).",
        openapi_url="/api/v1/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.ws = ws
    app.state.store = store
    app.state.secure_cookies = secure_cookies
    app.state.metrics = Metrics()
    app.state.scheduler = None  # costline.server.build sets it
    app.state.cache = ResponseCache()
    app.state.flights = {}  # (cache key, version) → the answer being computed
    app.state.tokens = TokenCache()
    errors.install(app)

    app.add_middleware(ServiceMiddleware, prefix=API_PREFIX)

    @app.get("/health", tags=["service"])
    def health() -> dict[str, Any]:
        """Liveness and the data's freshness; no authentication (for load balancers)."""
        return {"status": "ok", "version": __version__}

    @app.get("/metrics", tags=["service"], include_in_schema=False)
    def metrics(request: Request) -> Response:
        """Prometheus text format: request counts and latencies, job runs. With
        ``service.metrics_token_env`` set, only for ``Authorization: Bearer <that token>``."""
        _metrics_allowed(request, ws)
        return Response(generate_latest(app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    from costline.api import admin, routes

    app.include_router(routes.router, prefix=API_PREFIX)
    app.include_router(admin.router, prefix=API_PREFIX)
    try:
        from costline.ui import pages
    except ImportError:  # the UI package is optional in a trimmed install
        pass
    else:
        pages.mount(app)
    return app

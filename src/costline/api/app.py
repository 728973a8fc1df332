"""The ASGI app of ``costline serve``: API under ``/api/v1``, web UI, health and metrics.

:func:`create_app` wires one :class:`~costline.workspace.Workspace` (held open by
:meth:`~costline.workspace.Workspace.serving` while the server runs) and one state store
(users, tokens, sessions, job runs, audit log). Every request gets an ``X-Request-ID``; the
access log line has method, route, status and duration, never headers, cookies or query
values (tokens and filter values stay out of logs).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from costline import __version__
from costline.api import errors
from costline.api.auth import authenticate
from costline.api.cache import NOT_CACHED, ResponseCache, TokenCache

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
    app.state.tokens = TokenCache()
    errors.install(app)

    @app.middleware("http")
    async def _cached(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """GET answers under /api/v1 from the cache while the data is unchanged; any other
        request that succeeds may have changed it (an action, a job run): the cache is emptied."""
        path = request.url.path
        cacheable = (
            request.method == "GET" and path.startswith(API_PREFIX + "/") and path not in NOT_CACHED
        )
        if not cacheable:
            response = await call_next(request)
            if request.method != "GET" and response.status_code < 400:
                request.app.state.cache.bump()
            return response
        who = await run_in_threadpool(authenticate, request)
        if who is None:
            return await call_next(request)  # the endpoint answers 401
        request.state.principal = who
        scope = ("*",) if who.sees_all else tuple(sorted(who.teams))
        key = (path, str(request.url.query), scope)
        cache: ResponseCache = request.app.state.cache
        version = cache.version
        hit = cache.get(key)
        if hit is not None:
            status, body, media, headers = hit
            return Response(body, status_code=status, media_type=media, headers=headers)
        response = await call_next(request)
        if response.status_code != 200:
            return response
        body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
        headers = {
            k: v for k, v in response.headers.items() if k.lower() in ("content-disposition",)
        }
        media = response.headers.get("content-type", "application/json")
        if cache.version == version:  # the data did not change while it was computed
            cache.put(key, (200, body, media, headers))
        return Response(body, status_code=200, media_type=media, headers=headers)

    @app.middleware("http")
    async def _observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        started = time.perf_counter()
        response = await call_next(request)
        took = time.perf_counter() - started
        route = getattr(request.scope.get("route"), "path", "unmatched")
        if route != "unmatched" and request.url.path.startswith(API_PREFIX + "/"):
            route = API_PREFIX + route  # routes of an included router carry no prefix
        metrics: Metrics = request.app.state.metrics
        metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        metrics.latency.labels(route).observe(took)
        response.headers["X-Request-ID"] = request.state.request_id
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        log.info(
            "%s %s %s %.1fms id=%s",
            request.method,
            route,
            response.status_code,
            took * 1000,
            request.state.request_id,
        )
        return response

    @app.get("/health", tags=["service"])
    def health() -> dict[str, Any]:
        """Liveness and the data's freshness; no authentication (for load balancers)."""
        return {"status": "ok", "version": __version__}

    @app.get("/metrics", tags=["service"], include_in_schema=False)
    def metrics() -> Response:
        """Prometheus text format: request counts and latencies, job runs."""
        return Response(generate_latest(app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    from costline.api import routes

    app.include_router(routes.router, prefix=API_PREFIX)
    try:
        from costline.ui import pages
    except ImportError:  # the UI package is optional in a trimmed install
        pass
    else:
        pages.mount(app)
    return app

"""The one middleware of ``costline serve`` (plain ASGI: no per-request task group or body
stream of Starlette's ``BaseHTTPMiddleware``, which took most of a request's CPU under load).

Per request it

* gives it an ``X-Request-ID`` (the caller's, or a new one) and the security headers;
* answers a cacheable read from the :class:`~costline.api.cache.ResponseCache` (see there);
  when the same question is being computed already it waits for that answer (single flight)
  instead of running the same query again;
* empties the cache after a state change that succeeded (any non-GET answered below 400);
* counts the request and its latency per route template for ``/metrics`` and writes one log
  line (method, route, status, duration, id: never headers, cookies or query values).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request

from costline.api.auth import Principal, authenticate, cached_principal
from costline.api.cache import NOT_CACHED, Entry, ResponseCache

log = logging.getLogger("costline.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"))
KEPT_HEADERS = ("content-disposition",)  # besides the content type, what a cached answer keeps


class ServiceMiddleware:
    """See the module docstring; ``prefix`` is the API's path prefix (``/api/v1``)."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        request.state.request_id = request_id
        started = time.perf_counter()
        status = 500

        async def send_marked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
            await send(message)

        try:
            if self._cacheable(request):
                await self._cached(request, scope, receive, send_marked)
            else:
                await self.app(scope, receive, send_marked)
                if request.method != "GET" and status < 400:
                    request.app.state.cache.bump()  # an action or a job may have changed data
        finally:
            self._observe(request, status, time.perf_counter() - started, request_id)

    def _cacheable(self, request: Request) -> bool:
        path = request.url.path
        return (
            request.method == "GET"
            and path.startswith(self.prefix + "/")
            and not path.startswith(NOT_CACHED)
        )

    async def _cached(self, request: Request, scope: Scope, receive: Receive, send: Send) -> None:
        who: Principal | None = cached_principal(request)
        if who is None:  # a token not seen lately or a session: ask the state store
            who = await run_in_threadpool(authenticate, request)
        if who is None:
            await self.app(scope, receive, send)  # the endpoint answers 401
            return
        request.state.principal = who
        key = (
            request.url.path,
            request.url.query,
            ("*",) if who.sees_all else tuple(sorted(who.teams)),
        )
        cache: ResponseCache = request.app.state.cache
        flights: dict[Any, asyncio.Future[Entry | None]] = request.app.state.flights
        version = cache.version
        hit = cache.get(key)
        if hit is None:
            # single flight: while one request computes an answer, the same question waits
            # for it instead of running the same query again (a dashboard opened by many)
            leader = flights.get((key, version))
            if leader is not None:
                hit = await asyncio.shield(leader)
        if hit is not None:
            await _replay(hit, send)
            return
        flight: asyncio.Future[Entry | None] = asyncio.get_running_loop().create_future()
        flights.setdefault((key, version), flight)
        entry: Entry | None = None
        try:
            entry = await _capture(self.app, scope, receive, send)
            if entry is not None and cache.version == version:  # the data did not change
                cache.put(key, entry)
        finally:
            if flights.get((key, version)) is flight:
                del flights[(key, version)]
            flight.set_result(entry)  # None: a follower asks again itself

    def _observe(self, request: Request, status: int, took: float, request_id: str) -> None:
        scope = request.scope
        route = getattr(scope.get("route"), "path", "unmatched")
        if route != "unmatched" and request.url.path.startswith(self.prefix + "/"):
            route = self.prefix + route  # routes of an included router carry no prefix
        metrics = request.app.state.metrics
        metrics.requests.labels(route, request.method, str(status)).inc()
        metrics.latency.labels(route).observe(took)
        log.info("%s %s %s %.1fms id=%s", request.method, route, status, took * 1000, request_id)


async def _capture(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> Entry | None:
    """Run the app, passing its answer on; return it as a cache entry when it is a complete
    200 (else None)."""
    start: Message | None = None
    chunks: list[bytes] = []
    keep = True

    async def recording(message: Message) -> None:
        nonlocal start, keep
        if message["type"] == "http.response.start":
            start = message
            keep = message["status"] == 200
        elif message["type"] == "http.response.body" and keep:
            chunks.append(message.get("body", b""))
        await send(message)

    await app(scope, receive, recording)
    if start is None or not keep:
        return None
    headers = MutableHeaders(raw=list(start.get("headers", [])))
    media = headers.get("content-type", "application/json")
    kept = {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
    return (200, b"".join(chunks), media, kept)


async def _replay(entry: Entry, send: Send) -> None:
    status, body, media, kept = entry
    headers = [
        (b"content-type", media.encode("latin-1")),
        (b"content-length", str(len(body)).encode()),
        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in kept.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


__all__ = ["ServiceMiddleware"]

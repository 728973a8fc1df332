"""Run ``costline serve``: the warehouse held open, the state store, the app, the scheduler.

The CLI calls :func:`run_server`; tests build the same pieces with :func:`build` and drive the
app in-process or under a real uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from costline.workspace import Workspace

log = logging.getLogger("costline.service")


@dataclass
class Service:
    ws: Workspace
    store: Any
    app: Any
    scheduler: Any


def scheduler_for(ws: Workspace, store: Any, *, on_run: Any = None) -> Any:
    """The scheduler of ``ws``'s ``service.schedules`` (jobs see the served workspace)."""
    from costline.scheduler import Scheduler, job_functions

    cfg = ws.config.service
    return Scheduler(
        store=store,
        jobs=job_functions(ws),
        schedules=dict(cfg.schedules),
        workspace=str(ws.root),
        retry_minutes=cfg.retry_minutes,
        max_attempts=cfg.max_attempts,
        on_run=on_run,
    )


@contextmanager
def build(ws: Workspace, *, secure_cookies: bool = True) -> Iterator[Service]:
    """The served workspace, its store, the app and the (not yet started) scheduler."""
    from costline.api.app import create_app

    with ws.serving():
        _marts_current(ws)
        store = ws.state()
        app = create_app(ws, store, secure_cookies=secure_cookies)
        metrics = app.state.metrics
        cache = app.state.cache

        def ran(job: str, status: str) -> None:
            metrics.jobs.labels(job, status).inc()
            cache.bump()  # a job may have changed the data: cached answers are stale

        sched = scheduler_for(ws, store, on_run=ran)
        app.state.scheduler = sched
        try:
            yield Service(ws, store, app, sched)
        finally:
            sched.stop()
            store.close()


def _marts_current(ws: Workspace) -> None:
    """Rebuild the dashboard marts when the data changed since they were built (a CLI ingest
    or allocation while the server was down); a failure leaves the API on the base tables."""
    from costline.reports.marts import mart_current

    try:
        with ws.warehouse() as wh:
            current = mart_current(wh.con)
        if not current:
            log.info("refreshing the dashboard marts: %s", ws.refresh_marts())
    except Exception as exc:  # the API still answers from the base tables
        log.error("marts refresh at start failed: %s", exc)


def run_server(
    ws: Workspace, *, host: str, port: int, scheduler: bool = True, secure_cookies: bool = True
) -> None:
    """Serve until interrupted (uvicorn), with the scheduler's thread when asked."""
    import uvicorn

    with build(ws, secure_cookies=secure_cookies) as svc:
        if scheduler:
            svc.scheduler.start()
        try:
            uvicorn.run(svc.app, host=host, port=port, log_level="info", access_log=False)
        finally:
            svc.scheduler.stop()


def run_job(ws: Workspace, job: str) -> dict[str, Any]:
    """Run one scheduled job now, recorded like a scheduled run (``costline jobs run``)."""
    from costline.scheduler import Scheduler, job_functions

    store = ws.state()
    try:
        sched = Scheduler(store=store, jobs=job_functions(ws), schedules={}, workspace=str(ws.root))
        return sched.run(job, trigger="manual")
    finally:
        store.close()

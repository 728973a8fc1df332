"""The jobs of ``costline serve``: cron-style schedules, one job at a time, every run recorded.

Each job is a stage the CLI also runs (docs/how-to/scheduling.md shows cron, Airflow and
Dagster doing it instead):

=================  ============================================  ==========================
job                what it does                                  CLI equivalent
=================  ============================================  ==========================
``ingest``         load every configured source                  ``costline ingest``
``allocate``       allocate this month (and last month in its    ``costline allocate``
                   first days, while its bill still changes)
``anomalies``      detect anomalies and alert their owners        ``costline anomalies detect``
``recommendations``  record, track and ticket recommendations    ``costline tickets sync``
``digest``         last month's savings digest, emailed           ``costline savings digest``
``marts``          refresh the dashboard marts                    (after ingest / allocate)
=================  ============================================  ==========================

:class:`Scheduler` runs in a daemon thread: every ``tick`` seconds it starts the due jobs one
after another (never two at once: one lock per workspace, also taken by :meth:`Scheduler.run`
for a manual run, so overlapping triggers wait their turn instead of running concurrently). A
job that raises is recorded as ``failed`` with its error and retried after
``retry_minutes`` up to ``max_attempts`` times; nothing a job does can stop the thread or the
server.

Example:
    >>> import datetime as dt
    >>> next_time("0 6 * * *", dt.datetime(2026, 10, 1, 7, 30, tzinfo=dt.UTC)).isoformat()
    '2026-10-02T06:00:00+00:00'
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from costline.config.models import SERVICE_JOBS as JOBS
from costline.config.models import check_cron
from costline.core.errors import ConfigError

log = logging.getLogger("costline.scheduler")

# jobs that change the cost data: the marts are refreshed after them
REFRESHES_MARTS = ("ingest", "allocate")
ALLOCATE_PREVIOUS_DAYS = 5  # the previous month is allocated again in this month's first days


def next_time(expr: str, after: dt.datetime) -> dt.datetime:
    """The first time strictly after ``after`` that ``expr`` matches (UTC)."""
    from croniter import croniter

    got: dt.datetime = croniter(expr, after.astimezone(dt.UTC)).get_next(dt.datetime)
    return got.astimezone(dt.UTC)


def job_functions(ws: Any) -> dict[str, Callable[[dt.datetime], dict[str, Any]]]:
    """What each job does on ``ws`` (a Workspace); each returns a small detail dict."""

    def ingest(now: dt.datetime) -> dict[str, Any]:
        if not ws.config.sources:
            return {"skipped": "no sources in costline.yaml"}
        report = ws.ingest()
        failed = [f"{o.file}: {o.message}" for o in report.failed]
        if failed:
            raise RuntimeError(f"{len(failed)} file(s) failed: " + "; ".join(failed[:3]))
        return {"outcomes": len(report.outcomes)}

    def allocate(now: dt.datetime) -> dict[str, Any]:
        if not ws.owners_path.is_file():
            return {"skipped": "no owners.yaml"}
        months = [now.strftime("%Y-%m")]
        if now.day <= ALLOCATE_PREVIOUS_DAYS:
            months.insert(0, (now.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m"))
        done = []
        for month in months:
            ws.allocate(month)
            done.append(month)
        return {"months": done}

    def anomalies(now: dt.datetime) -> dict[str, Any]:
        report = ws.detect_anomalies()
        return {"summary": str(getattr(report, "summary", report))[:500]}

    def recommendations(now: dt.datetime) -> dict[str, Any]:
        result = ws.tickets_sync()
        return {"actions": len(result.rows)}

    def digest(now: dt.datetime) -> dict[str, Any]:
        month = (now.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
        made = ws.savings_digest(month)
        if ws.config.savings.digest_channel:
            sent = ws.send_savings_digest(made)
            return {"month": month, "emails": len(sent.rows)}
        return {"month": month, "skipped": "no savings.digest_channel"}

    def marts(now: dt.datetime) -> dict[str, Any]:
        return dict(ws.refresh_marts())

    return {
        "ingest": ingest,
        "allocate": allocate,
        "anomalies": anomalies,
        "recommendations": recommendations,
        "digest": digest,
        "marts": marts,
    }


@dataclass
class _Due:
    job: str
    at: dt.datetime
    attempt: int = 1
    trigger: str = "schedule"


@dataclass
class Scheduler:
    """Runs ``jobs`` on ``schedules`` (job → cron) and records every run in ``store``."""

    store: Any
    jobs: Mapping[str, Callable[[dt.datetime], dict[str, Any]]]
    schedules: Mapping[str, str]
    workspace: str = ""
    retry_minutes: float = 15.0
    max_attempts: int = 3
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    on_run: Callable[[str, str], None] | None = None  # (job, status), e.g. metrics
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _queue: list[_Due] = field(default_factory=list)
    _started: list[threading.Thread] = field(default_factory=list)
    _lock_started: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for job, expr in self.schedules.items():
            if job not in self.jobs:
                raise ConfigError(
                    f"unknown job {job!r} in service.schedules",
                    hint=f"use one of: {', '.join(self.jobs)}",
                )
            check_cron(expr, job=job)
        now = self.clock()
        self._queue = [_Due(job, next_time(expr, now)) for job, expr in self.schedules.items()]

    # -- running ----------------------------------------------------------------------------
    def run(self, job: str, *, trigger: str = "manual", attempt: int = 1) -> dict[str, Any]:
        """Run one job now (waiting for a running one to finish first) and record it.
        Returns ``{"run_id", "status", "error", "detail"}``; never raises for a job failure."""
        if job not in self.jobs:
            raise ConfigError(f"unknown job {job!r}", hint=f"use one of: {', '.join(self.jobs)}")
        with self._lock:
            now = self.clock()
            run_id = self.store.start_run(job, trigger=trigger, attempt=attempt)
            try:
                detail = self.jobs[job](now)
            except Exception as exc:  # a failing job is recorded, never fatal
                error = f"{type(exc).__name__}: {exc}"
                log.error("job %s failed (attempt %d): %s", job, attempt, error)
                self.store.finish_run(run_id, "failed", error=error[:4000])
                self._notify(job, "failed")
                return {"run_id": run_id, "status": "failed", "error": error, "detail": None}
            self.store.finish_run(run_id, "succeeded", detail=detail)
            self._notify(job, "succeeded")
            if job in REFRESHES_MARTS and "marts" in self.jobs and job != "marts":
                self._refresh_marts(trigger)
            return {"run_id": run_id, "status": "succeeded", "error": None, "detail": detail}

    def _refresh_marts(self, trigger: str) -> None:
        """Bring the marts up to date after a job that changed the data, recorded as a
        ``marts`` run of the same trigger, and say so (``on_run``: the server's answer cache is
        emptied, so the dashboard stops showing the older figures)."""
        run_id = self.store.start_run("marts", trigger=trigger)
        try:
            detail = self.jobs["marts"](self.clock())
        except Exception as exc:  # the marts stay as they were; the next run tries again
            error = f"{type(exc).__name__}: {exc}"
            log.error("marts refresh failed: %s", error)
            self.store.finish_run(run_id, "failed", error=error[:4000])
            self._notify("marts", "failed")
        else:
            self.store.finish_run(run_id, "succeeded", detail=detail)
            self._notify("marts", "succeeded")

    def _notify(self, job: str, status: str) -> None:
        if self.on_run is not None:
            self.on_run(job, status)

    def tick(self) -> list[dict[str, Any]]:
        """Run every job due now (in due order); schedule the next time or a retry."""
        now = self.clock()
        due = sorted((d for d in self._queue if d.at <= now), key=lambda d: (d.at, d.job))
        results = []
        for item in due:
            self._queue.remove(item)
            result = self.run(item.job, trigger=item.trigger, attempt=item.attempt)
            results.append({"job": item.job, **result})
            after = self.clock()
            if result["status"] == "failed" and item.attempt < self.max_attempts:
                retry_at = after + dt.timedelta(minutes=self.retry_minutes)
                self._queue.append(_Due(item.job, retry_at, item.attempt + 1, "retry"))
            elif item.job in self.schedules:
                self._queue.append(_Due(item.job, next_time(self.schedules[item.job], after)))
        return results

    def pending(self) -> list[tuple[str, dt.datetime, int]]:
        """(job, when, attempt) of what is queued, soonest first."""
        return sorted(((d.job, d.at, d.attempt) for d in self._queue), key=lambda x: x[1])

    # -- the thread -------------------------------------------------------------------------
    def start(self, *, interval: float = 20.0) -> None:
        """Tick every ``interval`` seconds in a daemon thread until :meth:`stop`."""

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.tick()
                except Exception:  # never let the thread die
                    log.exception("scheduler tick failed")

        self._thread = threading.Thread(target=loop, name="costline-scheduler", daemon=True)
        self._thread.start()

    def run_in_background(self, job: str, *, trigger: str = "manual") -> threading.Thread:
        """Start :meth:`run` in a thread that :meth:`stop` waits for (an API call)."""
        if job not in self.jobs:
            raise ConfigError(f"unknown job {job!r}", hint=f"use one of: {', '.join(self.jobs)}")
        thread = threading.Thread(
            target=self.run, args=(job,), kwargs={"trigger": trigger}, name=f"job-{job}"
        )
        with self._lock_started:
            self._started = [t for t in self._started if t.is_alive()] + [thread]
        thread.start()
        return thread

    def stop(self, timeout: float = 30.0) -> None:
        """Stop ticking and wait for the running jobs (up to ``timeout`` seconds each)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock_started:
            started, self._started = self._started, []
        for thread in started:
            thread.join(timeout)


__all__ = ["JOBS", "Scheduler", "check_cron", "job_functions", "next_time"]

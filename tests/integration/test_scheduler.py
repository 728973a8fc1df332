"""The scheduler of `costline serve` against a real state store (SQLite and PostgreSQL): a job
that raises is recorded and retried, overlapping triggers never run at once, and every job is
also a CLI command (`costline jobs run`)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from costline.cli.main import app
from costline.config import load_config
from costline.core.errors import CostlineError
from costline.scheduler import Scheduler, next_time
from costline.storage.state import open_state
from costline.workspace import Workspace
from tests.focus_files import focus_row, write_focus_csv
from tests.state_db import BACKENDS, state_database

T0 = dt.datetime(2026, 10, 1, 5, 59, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with state_database(request.param, tmp_path) as url:
        opened = open_state(url.render_as_string(hide_password=False))
        try:
            yield opened
        finally:
            opened.close()


def test_a_failing_job_is_recorded_and_retried_then_the_schedule_goes_on(store: Any) -> None:
    clock = Clock(T0)
    calls: list[dt.datetime] = []

    def flaky(now: dt.datetime) -> dict[str, Any]:
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("the bucket is not reachable")
        return {"files": 3}

    sched = Scheduler(
        store=store,
        jobs={"ingest": flaky},
        schedules={"ingest": "0 6 * * *"},
        retry_minutes=15,
        max_attempts=3,
        clock=clock,
    )
    assert sched.tick() == []  # 05:59: not due yet
    clock.advance(minutes=1)  # 06:00
    (first,) = sched.tick()
    assert (first["status"], first["error"]) == (
        "failed",
        "RuntimeError: the bucket is not reachable",
    )
    assert sched.pending() == [("ingest", clock.now + dt.timedelta(minutes=15), 2)]
    clock.advance(minutes=15)
    (second,) = sched.tick()
    assert second["status"] == "succeeded" and second["detail"] == {"files": 3}
    # back on the schedule: tomorrow 06:00
    assert sched.pending() == [("ingest", dt.datetime(2026, 10, 2, 6, 0, tzinfo=dt.UTC), 1)]
    runs = store.runs(job="ingest")
    assert [(r.status, r.trigger, r.attempt) for r in reversed(runs)] == [
        ("failed", "schedule", 1),
        ("succeeded", "retry", 2),
    ]
    assert runs[-1].error == "RuntimeError: the bucket is not reachable"
    assert all(r.finished_at is not None and r.duration_s is not None for r in runs)


def test_retries_stop_after_max_attempts(store: Any) -> None:
    clock = Clock(T0)

    def broken(now: dt.datetime) -> dict[str, Any]:
        raise ValueError("always")

    sched = Scheduler(
        store=store,
        jobs={"anomalies": broken},
        schedules={"anomalies": "0 6 * * *"},
        retry_minutes=1,
        max_attempts=2,
        clock=clock,
    )
    clock.advance(minutes=1)
    sched.tick()
    clock.advance(minutes=1)
    sched.tick()
    assert [r.attempt for r in store.runs(job="anomalies")] == [2, 1]
    # no third attempt: the next run is the next scheduled one
    assert sched.pending() == [("anomalies", dt.datetime(2026, 10, 2, 6, tzinfo=dt.UTC), 1)]


def test_overlapping_triggers_do_not_run_concurrently(store: Any) -> None:
    running, peak, lock = 0, 0, threading.Lock()

    def slow(now: dt.datetime) -> dict[str, Any]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.2)
        with lock:
            running -= 1
        return {}

    sched = Scheduler(store=store, jobs={"allocate": slow, "ingest": slow}, schedules={})
    threads = [
        threading.Thread(target=sched.run, args=(job,)) for job in ("allocate", "ingest") * 2
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 1
    assert sorted(r.job for r in store.runs()) == ["allocate", "allocate", "ingest", "ingest"]
    assert {r.status for r in store.runs()} == {"succeeded"}


def test_the_scheduler_thread_survives_a_failing_job(store: Any) -> None:
    clock = Clock(T0 + dt.timedelta(minutes=1))
    done = threading.Event()

    def boom(now: dt.datetime) -> dict[str, Any]:
        done.set()
        raise KeyError("x")

    sched = Scheduler(
        store=store,
        jobs={"digest": boom},
        schedules={"digest": "* * * * *"},
        clock=clock,
    )
    clock.advance(minutes=2)  # due
    sched.start(interval=0.05)
    try:
        assert done.wait(5)
        time.sleep(0.2)
        assert sched._thread is not None and sched._thread.is_alive()
    finally:
        sched.stop()
    assert store.runs(job="digest")[0].status == "failed"


def test_bad_schedules_are_named_with_the_fix(tmp_path: Path) -> None:
    cfg = tmp_path / "costline.yaml"
    cfg.write_text("service:\n  schedules:\n    ingset: '0 6 * * *'\n")
    with pytest.raises(CostlineError, match="unknown job 'ingset'.*did you mean 'ingest'"):
        load_config(cfg)
    cfg.write_text("service:\n  schedules:\n    ingest: 'every day'\n")
    with pytest.raises(CostlineError, match="'every day' of job ingest is not a cron"):
        load_config(cfg)
    assert next_time("*/15 * * * *", T0) == dt.datetime(2026, 10, 1, 6, 0, tzinfo=dt.UTC)


def test_every_job_is_a_cli_command_recorded_in_the_store(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    bill = write_focus_csv(tmp_path / "bill.csv", [focus_row()])
    cfg = ws.root / "costline.yaml"
    cfg.write_text(cfg.read_text() + f"sources:\n  - name: focus\n    paths: ['{bill}']\n")
    runner = CliRunner()
    done = runner.invoke(app, ["-w", str(ws.root), "jobs", "run", "ingest", "-f", "json"])
    assert done.exit_code == 0, done.output
    listed = runner.invoke(app, ["-w", str(ws.root), "jobs", "list", "-f", "json"])
    assert listed.exit_code == 0, listed.output
    assert '"job": "ingest"' in listed.stdout and '"status": "succeeded"' in listed.stdout
    assert Workspace.open(ws.root).query("SELECT count(*) FROM cost").rows[0][0] == 1
    # a job that fails exits 1 and is recorded as failed
    (ws.root / "owners.yaml").write_text("not: [valid")
    failed = runner.invoke(app, ["-w", str(ws.root), "jobs", "run", "allocate"])
    assert failed.exit_code == 1
    store = Workspace.open(ws.root).state()
    try:
        assert store.runs(job="allocate")[0].status == "failed"
    finally:
        store.close()


def test_the_marts_refresh_after_a_load_is_a_recorded_run_even_when_it_fails(store: Any) -> None:
    told: list[tuple[str, str]] = []
    calls = {"marts": 0}

    def marts(now: dt.datetime) -> dict[str, Any]:
        calls["marts"] += 1
        if calls["marts"] == 1:
            raise RuntimeError("out of memory")
        return {"mode": "incremental", "partitions": 1}

    sched = Scheduler(
        store=store,
        jobs={"ingest": lambda now: {"outcomes": 1}, "marts": marts},
        schedules={},
        clock=Clock(T0),
        on_run=lambda job, status: told.append((job, status)),
    )
    first = sched.run("ingest", trigger="manual")
    assert first["status"] == "succeeded"  # the load stands; only the refresh failed
    sched.run("ingest", trigger="manual")
    runs = [(r.job, r.trigger, r.status, r.error) for r in reversed(store.runs(limit=10))]
    assert runs == [
        ("ingest", "manual", "succeeded", None),
        ("marts", "manual", "failed", "RuntimeError: out of memory"),
        ("ingest", "manual", "succeeded", None),
        ("marts", "manual", "succeeded", None),
    ]
    assert told == [
        ("ingest", "succeeded"),
        ("marts", "failed"),
        ("ingest", "succeeded"),
        ("marts", "succeeded"),
    ]
    assert store.runs(job="marts", limit=1)[0].detail == {"mode": "incremental", "partitions": 1}

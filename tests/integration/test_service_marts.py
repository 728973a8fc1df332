"""`costline serve` keeps the dashboard on the marts while new data is loaded and summarised.

A load makes the marts stale. A CLI query then reads the cost store (right, slower); the
server instead answers from the marts as of their last refresh, says so (`stale_as_of`), and
refreshes them right after the job, emptying its answer cache when the refresh is done. Many
requests for the same answer at once run its query once (single flight).

The bill: September 2024, days 1-10, per day web 10.00, api 4.00, data 1.00 (tag team=...);
the second load (another billing account) adds days 11-12 with web 7.00 a day. Expected sums are worked out here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from costline.reports import queries
from costline.server import build
from costline.workspace import Workspace
from tests.allocation_kit import ALLOC_COLUMNS, charge, setup, team_tag_rules
from tests.focus_files import write_focus_csv
from tests.web_session import sign_in

DAILY = {"web": Decimal("10.00"), "api": Decimal("4.00"), "data": Decimal("1.00")}
FIRST = sum(DAILY.values()) * 10
LATER = Decimal("7.00") * 2
PASSWORD = "a long enough password 1"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("COSTLINE_STATE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    ws = Workspace.init(tmp_path / "acme")
    rows = [
        charge(str(cost), tags={"team": team}, day=d, ResourceId=f"r-{team}")
        for d in range(1, 11)
        for team, cost in DAILY.items()
    ]
    setup(ws, rows, team_tag_rules())
    ws.allocate("2024-09")
    with build(ws, secure_cookies=False) as svc:
        _, token = svc.store.add_user("root", "admin", [])
        svc.store.set_password("root", PASSWORD)
        with TestClient(svc.app) as client:
            yield {
                "ws": ws,
                "svc": svc,
                "client": client,
                "headers": {"Authorization": f"Bearer {token}"},
            }


def load_later_days(ws: Workspace) -> None:
    """Days 11 and 12 of web in a second billing account (a load of the same account and
    month would replace the first), loaded while the server runs (a job's work)."""
    path = ws.root / "later.csv"
    rows = [
        charge("7.00", tags={"team": "web"}, day=d, ResourceId="r-web", BillingAccountId="222")
        for d in (11, 12)
    ]
    write_focus_csv(path, rows, ALLOC_COLUMNS)
    report = ws.ingest([path])
    assert not report.failed, [o.message for o in report.failed]


def total(body: dict[str, Any]) -> Decimal:
    return sum((Decimal(r["cost"]) for r in body["rows"]), Decimal(0))


def test_the_dashboard_answers_from_the_last_marts_until_their_refresh(
    served: dict[str, Any],
) -> None:
    client, headers, ws = served["client"], served["headers"], served["ws"]
    svc = served["svc"]

    def costs(**params: str) -> dict[str, Any]:
        got = client.get("/api/v1/costs", params=params, headers=headers)
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body

    before = costs(group_by="provider")
    assert total(before) == FIRST and before["source"] == "mart_daily"
    assert "stale_as_of" not in before
    refreshed = client.get("/api/v1/freshness", headers=headers).json()
    assert refreshed["marts_current"] is True

    load_later_days(ws)
    svc.app.state.cache.bump()  # what the ingest job's end does
    stale = costs(group_by="provider")
    # the figures of the last refresh, labelled as such: not a mix, not an error
    assert total(stale) == FIRST and stale["source"] == "mart_daily"
    fresh = client.get("/api/v1/freshness", headers=headers).json()
    assert fresh["marts_current"] is False
    assert stale["stale_as_of"] == fresh["marts_refreshed_at"] == refreshed["marts_refreshed_at"]
    overview = client.get("/api/v1/overview", params={"month": "2024-09"}, headers=headers)
    assert overview.json()["stale_as_of"] == fresh["marts_refreshed_at"]
    # the web UI says so in words
    sign_in(client, "root", PASSWORD)
    page = client.get("/", params={"month": "2024-09"})
    as_of = dt.datetime.fromisoformat(fresh["marts_refreshed_at"])
    assert page.status_code == 200 and f"Figures as of {as_of:%Y-%m-%d %H:%M} UTC" in page.text
    # outside the server (a CLI query) a stale mart never answers: the cost store does
    with ws.warehouse() as wh:
        cli = queries.costs(wh.con, scope=queries.Scope.everything(), group_by=["provider"])
    assert cli.source == "cost" and cli.stale_as_of is None
    assert sum(r[-1] for r in cli.rows) == FIRST + LATER

    # the allocate job runs (as the scheduler would on Sep 12): marts refreshed after it and
    # the cache emptied after the refresh, so the next answer is current
    calls: list[tuple[str, str]] = []
    notify = svc.scheduler.on_run
    svc.scheduler.on_run = lambda job, status: (calls.append((job, status)), notify(job, status))
    svc.scheduler.clock = lambda: dt.datetime(2024, 9, 12, 8, tzinfo=dt.UTC)
    ran = svc.scheduler.run("allocate")
    assert ran["status"] == "succeeded", ran
    assert calls == [("allocate", "succeeded"), ("marts", "succeeded")]
    after = costs(group_by="team")
    assert "stale_as_of" not in after and after["source"] == "mart_daily"
    assert {r["team"]: Decimal(r["cost"]) for r in after["rows"]} == {
        "web": DAILY["web"] * 10 + LATER,
        "api": DAILY["api"] * 10,
        "data": DAILY["data"] * 10,
    }
    assert client.get("/api/v1/freshness", headers=headers).json()["marts_current"] is True


def test_a_stale_mart_without_the_published_allocation_does_not_answer_by_team(
    served: dict[str, Any],
) -> None:
    """Marts built before the first allocation have no teams: they never answer for one."""
    ws = served["ws"]
    with ws.warehouse() as wh:
        wh.con.execute("UPDATE mart_state SET allocated = false, signature = 'older'")
        page = queries.costs(
            wh.con, scope=queries.Scope.everything(), group_by=["team"], stale_ok=True
        )
    assert page.source == "allocated_cost" and page.stale_as_of is None
    assert {r[0]: r[-1] for r in page.rows} == {t: c * 10 for t, c in DAILY.items()}


def test_the_same_question_asked_at_once_is_answered_by_one_query(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, headers = served["svc"].app, served["headers"]
    ran: list[int] = []
    lock = threading.Lock()
    real = queries.costs

    def slow(*args: Any, **kwargs: Any) -> Any:
        with lock:
            ran.append(1)
        time.sleep(0.3)  # long enough for every request to arrive while it runs
        return real(*args, **kwargs)

    monkeypatch.setattr(queries, "costs", slow)

    async def ask() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            same = [
                client.get("/api/v1/costs", params={"group_by": "service"}, headers=headers)
                for _ in range(8)
            ]
            other = client.get("/api/v1/costs", params={"group_by": "region"}, headers=headers)
            return await asyncio.gather(*same, other)

    answers = asyncio.run(ask())
    assert [a.status_code for a in answers] == [200] * 9
    bodies = [a.json() for a in answers[:8]]
    assert all(b == bodies[0] for b in bodies) and total(bodies[0]) == FIRST
    assert total(answers[8].json()) == FIRST
    assert len(ran) == 2  # one query for the eight identical requests, one for the other


def test_a_failed_answer_is_not_shared(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Followers of a request that failed ask again themselves (and are not cached)."""
    app, headers = served["svc"].app, served["headers"]
    ran: list[int] = []
    real = queries.costs

    def first_fails(*args: Any, **kwargs: Any) -> Any:
        ran.append(1)
        time.sleep(0.2)
        if len(ran) == 1:
            raise RuntimeError("the warehouse went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(queries, "costs", first_fails)

    async def ask() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            calls = [
                client.get("/api/v1/costs", params={"group_by": "account"}, headers=headers)
                for _ in range(3)
            ]
            return await asyncio.gather(*calls)

    answers = asyncio.run(ask())
    assert sorted(a.status_code for a in answers) == [200, 200, 500]
    assert len(ran) == 3  # the leader's failure was not handed to the two waiting
    assert all(total(a.json()) == FIRST for a in answers if a.status_code == 200)

"""Workflow state in the state store (issue #6), on SQLite and on the real PostgreSQL: the alert
outbox, and the one-time move of an older warehouse's DuckDB tables into the store.

The "old warehouse" tables are created here with the DDL costline 0.1 used, so the move is
tested against what real workspaces hold.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from costline.cli.main import app
from costline.core.errors import MissingDependencyError, StorageError
from costline.notify import Alert
from costline.notify.message import to_json
from costline.storage.state import StateStore, legacy, open_state
from costline.workspace import Workspace
from tests.notify_servers import HookServer
from tests.state_db import BACKENDS, state_database

T0 = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)

# The outbox tables as costline 0.1 created them in the warehouse.
OLD_OUTBOX_DDL = """
CREATE TABLE alert_deliveries (
    anomaly_id VARCHAR NOT NULL, revision INTEGER NOT NULL, channel VARCHAR NOT NULL,
    status VARCHAR NOT NULL, payload VARCHAR, attempts INTEGER NOT NULL DEFAULT 0,
    last_error VARCHAR, created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (anomaly_id, revision, channel));
CREATE TABLE alert_delivery_attempts (
    anomaly_id VARCHAR NOT NULL, revision INTEGER NOT NULL, channel VARCHAR NOT NULL,
    attempt INTEGER NOT NULL, attempted_at TIMESTAMP NOT NULL, outcome VARCHAR NOT NULL,
    detail VARCHAR);
"""


class Clock:
    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def alert(anomaly_id: str, revision: int = 1) -> Alert:
    return Alert(
        anomaly_id=anomaly_id,
        key=f"ServiceName=S3|{anomaly_id}",
        revision=revision,
        status="open",
        severity="high",
        title=f"S3 spend spiked ({anomaly_id})",
        series="ServiceName=S3",
        team=None,
        period="2026-08-20",
        currency="USD",
        expected=Decimal("100.00"),
        actual=Decimal("600.00"),
        impact=Decimal("500.00"),
        impact_pct=500.0,
    )


@pytest.fixture(params=BACKENDS)
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[URL]:
    with state_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def make_store(state_url: URL) -> Iterator[Callable[..., StateStore]]:
    opened: list[StateStore] = []

    def make(**options: Any) -> StateStore:
        store = open_state(state_url, **options)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def rows_of(store: StateStore, table: str) -> list[dict[str, Any]]:
    with store.engine.connect() as con:
        return [dict(r._mapping) for r in con.execute(sa.text(f"SELECT * FROM {table}"))]


# -- the outbox ----------------------------------------------------------------------------
def test_outbox_status_payload_error_and_attempts(make_store: Callable[..., StateStore]) -> None:
    clock = Clock()
    box = make_store(clock=clock, workspace="/srv/a").alert_outbox()
    assert box.status_of("an-1", 1, "ops") is None and box.pending() == []
    box.mark("an-1", 1, "ops", "sending", payload='{"x": 1}')
    clock.advance(seconds=5)
    # a naive time is taken as UTC; the attempt is counted on the delivery row
    naive = dt.datetime(2026, 9, 1, 8, 0, 5)
    first = box.record_attempt("an-1", 1, "ops", at=naive, outcome="error", detail="HTTP 500")
    assert first == 1
    box.mark("an-1", 1, "ops", "failed", error="HTTP 500")
    assert box.pending() == [("an-1", 1, "ops", '{"x": 1}')]  # the payload was kept
    clock.advance(seconds=5)
    second = box.record_attempt("an-1", 1, "ops", at=clock.now, outcome="delivered", detail="200")
    assert second == 2
    box.mark("an-1", 1, "ops", "failed")  # no new error: the last one stays
    (row,) = box.deliveries().records()
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", 2, "HTTP 500")
    box.mark("an-1", 1, "ops", "delivered")  # delivered clears the error
    (row,) = box.deliveries().records()
    assert (row["status"], row["last_error"]) == ("delivered", None)
    assert row["updated_at"] == T0 + dt.timedelta(seconds=10)
    log = box.attempts("an-1", 1, "ops").records()
    assert [(a["attempt"], a["outcome"], a["attempted_at"]) for a in log] == [
        (1, "error", T0 + dt.timedelta(seconds=5)),
        (2, "delivered", T0 + dt.timedelta(seconds=10)),
    ]
    assert box.pending() == [] and box.delivered(["an-1", "an-2"]) == ["an-1"]


def test_outbox_rows_belong_to_one_workspace(make_store: Callable[..., StateStore]) -> None:
    clock = Clock()
    a = make_store(clock=clock, workspace="/srv/a").alert_outbox()
    b = make_store(clock=clock, workspace="/srv/b").alert_outbox()
    a.mark("an-1", 1, "ops", "delivered", payload="{}")
    clock.advance(minutes=1)
    a.mark("an-2", 1, "ops", "failed", payload="{}")
    b.mark("an-1", 1, "ops", "failed", payload="{}")
    assert (
        b.status_of("an-1", 1, "ops") == "failed" and a.status_of("an-1", 1, "ops") == "delivered"
    )
    assert [r[:3] for r in b.pending()] == [("an-1", 1, "ops")]
    assert b.delivered(["an-1"]) == []
    assert [r["anomaly_id"] for r in a.deliveries().records()] == ["an-2", "an-1"]  # newest first
    assert len(b.deliveries().rows) == 1


def test_an_unknown_status_is_refused(make_store: Callable[..., StateStore]) -> None:
    box = make_store().alert_outbox()
    with pytest.raises(sa.exc.IntegrityError):
        box.mark("an-1", 1, "ops", "lost")
    assert box.deliveries().rows == []


def test_a_postgresql_store_without_psycopg_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "psycopg" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(MissingDependencyError) as info:
        open_state("postgresql://costline@127.0.0.1:5432/costline")
    assert 'pip install "costline[service]"' in str(info.value)
    assert "psycopg" in str(info.value)


# -- moving an older warehouse's outbox ----------------------------------------------------
def old_outbox(
    con: Any, deliveries: list[tuple[Any, ...]], attempts: list[tuple[Any, ...]]
) -> None:
    con.execute(OLD_OUTBOX_DDL)
    for row in deliveries:
        con.execute("INSERT INTO alert_deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    for row in attempts:
        con.execute("INSERT INTO alert_delivery_attempts VALUES (?, ?, ?, ?, ?, ?, ?)", row)


def tables(con: Any) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


NAIVE = dt.datetime(2026, 8, 20, 7, 30)  # what 0.1 stored: naive UTC


def test_the_move_copies_once_and_a_repeat_adds_nothing(
    make_store: Callable[..., StateStore],
) -> None:
    box = make_store(workspace="/srv/a").alert_outbox()
    con = duckdb.connect()
    old_outbox(
        con,
        [
            ("an-1", 1, "hook", "delivered", "{}", 1, None, NAIVE, NAIVE),
            ("an-2", 1, "hook", "failed", '{"p": 2}', 2, "HTTP 500", NAIVE, NAIVE),
        ],
        [
            ("an-1", 1, "hook", 1, NAIVE, "delivered", "HTTP 200"),
            ("an-2", 1, "hook", 1, NAIVE, "error", "HTTP 500"),
            ("an-2", 1, "hook", 2, NAIVE, "error", "HTTP 500"),
        ],
    )
    assert legacy.move_alert_outbox(con, box) == (2, 3)
    assert {"alert_deliveries_moved", "alert_delivery_attempts_moved"} <= tables(con)
    assert not {"alert_deliveries", "alert_delivery_attempts"} & tables(con)
    assert legacy.move_alert_outbox(con, box) is None  # retired: nothing to do
    got = {(r["anomaly_id"], r["status"], r["attempts"]) for r in box.deliveries().records()}
    assert got == {("an-1", "delivered", 1), ("an-2", "failed", 2)}
    (first,) = box.attempts("an-1", 1, "hook").records()
    assert first["attempted_at"] == NAIVE.replace(tzinfo=dt.UTC)

    # a crash between the copy and the rename: the next run copies again, adding nothing and
    # keeping what changed in the store meanwhile
    box.mark("an-2", 1, "hook", "delivered")
    for name in ("alert_deliveries", "alert_delivery_attempts"):
        con.execute(f"ALTER TABLE {name}_moved RENAME TO {name}")
    assert legacy.move_alert_outbox(con, box) == (0, 0)
    assert box.status_of("an-2", 1, "hook") == "delivered"
    assert len(box.attempts("an-2", 1, "hook").rows) == 2


def test_rows_the_store_refuses_keep_the_old_tables(
    make_store: Callable[..., StateStore],
) -> None:
    box = make_store().alert_outbox()
    con = duckdb.connect()
    old_outbox(con, [("an-1", 1, "hook", "bogus", "{}", 0, None, NAIVE, NAIVE)], [])
    with pytest.raises(StorageError) as info:
        legacy.move_alert_outbox(con, box)
    assert "alert outbox (1 deliveries, 0 attempts)" in str(info.value)
    assert "run the command again" in str(info.value)
    assert "alert_deliveries" in tables(con) and box.deliveries().rows == []


@pytest.fixture
def old_workspace(
    state_url: URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], Workspace]]:
    """A workspace whose warehouse holds a 0.1 outbox: an-1 delivered to ``hook``, an-2 failed
    there (its payload waits for a retry). Builder: takes the hook URL."""
    monkeypatch.setenv("COSTLINE_STATE_URL", state_url.render_as_string(hide_password=False))
    made: list[Workspace] = []

    def make(hook_url: str) -> Workspace:
        ws = Workspace.init(tmp_path / "acme")
        doc = yaml.safe_load((ws.root / "costline.yaml").read_text())
        doc["alerts"] = {
            "channels": [{"id": "hook", "type": "webhook", "url": hook_url}],
            "routes": {"default": ["hook"]},
        }
        (ws.root / "costline.yaml").write_text(yaml.safe_dump(doc))
        with ws.warehouse() as wh:
            old_outbox(
                wh.con,
                [
                    ("an-1", 1, "hook", "delivered", to_json(alert("an-1")), 1, None, NAIVE, NAIVE),
                    (
                        "an-2",
                        1,
                        "hook",
                        "failed",
                        to_json(alert("an-2")),
                        1,
                        "HTTP 502",
                        NAIVE,
                        NAIVE,
                    ),
                ],
                [("an-1", 1, "hook", 1, NAIVE, "delivered", "HTTP 200")],
            )
        made.append(Workspace.open(ws.root))
        return made[-1]

    yield make
    for ws in made:
        ws.close()


def test_an_alert_delivered_before_the_move_is_not_sent_again(
    old_workspace: Callable[[str], Workspace],
) -> None:
    with HookServer() as hook:
        ws = old_workspace(hook.url)
        report = ws.deliver_alerts([alert("an-1")], sleep=lambda s: None)
        restarted = Workspace.open(ws.root)  # a new process
        again = restarted.deliver_alerts([alert("an-1")], sleep=lambda s: None)
        restarted.close()
    outcomes = sorted((o.anomaly_id, o.status) for o in report.outcomes)
    # an-1 was delivered by 0.1: skipped; an-2 failed then: retried from its stored payload
    assert outcomes == [("an-1", "skipped"), ("an-2", "delivered")]
    assert [r.json()["anomaly_id"] for r in hook.requests] == ["an-2"]
    assert [o.status for o in again.outcomes] == ["skipped"]  # a new process: still once
    with ws.warehouse() as wh:
        assert "alert_deliveries_moved" in tables(wh.con)
        assert "alert_deliveries" not in tables(wh.con)
    listed = CliRunner().invoke(
        app, ["--workspace", str(ws.root), "channels", "deliveries", "--format", "json"]
    )
    assert listed.exit_code == 0, listed.output
    statuses = {(r["anomaly_id"], r["status"]) for r in json.loads(listed.output)}
    assert statuses == {("an-1", "delivered"), ("an-2", "delivered")}
    # filed under the workspace's name (it survives moving the folder); the move is audited
    mine = rows_of(ws.state(), "alert_deliveries")
    assert {r["workspace"] for r in mine} == {"acme"} == {ws.config.name}
    (moved,) = ws.state().audit_entries(action="state.move")
    assert moved.target == "acme" and moved.detail is not None
    assert moved.detail["alert_outbox"] == [2, 1] and moved.detail["recommendations"] is None


def test_detection_reads_who_was_alerted_from_the_moved_outbox(
    old_workspace: Callable[[str], Workspace],
) -> None:
    with HookServer() as hook:
        ws = old_workspace(hook.url)
        with ws.warehouse() as wh:
            assert ws.alert_outbox(wh.con).delivered(["an-1", "an-2"]) == ["an-1"]
    assert hook.requests == []


# -- recommendations and adoptions ---------------------------------------------------------
NOW = dt.datetime(2026, 10, 31, 6, tzinfo=dt.UTC)
# 28 integer digits and 10 decimals: exact on both engines (SQLite's NUMERIC would keep 15)
HUGE = Decimal("123456789012345678.1234567891")


def produced(
    rec: str,
    savings: str | Decimal,
    *,
    team: str | None = None,
    kind: str = "waste",
    resource: str | None = None,
) -> dict[str, Any]:
    return {
        "id": rec,
        "kind": kind,
        "rule": "unassociated-address",
        "resource_id": resource or f"res-{rec}",
        "team": team,
        "account": "111122223333",
        "monthly_savings": Decimal(savings),
        "monthly_cost": None,
        "details": {"evidence": f"idle {rec}"},
    }


def test_statuses_are_the_lifecycles() -> None:
    from costline.optimize.tickets import STATUSES
    from costline.storage.state.models import RECOMMENDATION_STATUSES

    assert RECOMMENDATION_STATUSES == STATUSES


def test_upsert_keeps_the_lifecycle_and_money_exact(make_store: Callable[..., StateStore]) -> None:
    recs = make_store().recommendations("acme")
    first = recs.upsert([produced("rec-a", "304.375", team="web"), produced("rec-b", HUGE)], NOW)
    assert [(r.id, r.status, r.monthly_savings) for r in first] == [
        ("rec-b", "open", HUGE),  # largest savings first, every digit kept
        ("rec-a", "open", Decimal("304.375")),
    ]
    assert first[0].first_seen == NOW and first[0].details == {"evidence": "idle rec-b"}
    recs.mark_ticketed("rec-a", "PAY-1", Decimal("304.375"), NOW)

    # the next night: a new estimate, no team known now (the old one stays)
    later = NOW + dt.timedelta(days=1)
    again = {r.id: r for r in recs.upsert([produced("rec-a", "344.96")], later)}
    a = again["rec-a"]
    assert (a.status, a.ticket_key, a.ticket_savings, a.team) == (
        "ticketed",
        "PAY-1",
        Decimal("304.375"),
        "web",
    )
    assert (a.monthly_savings, a.first_seen, a.last_seen) == (Decimal("344.96"), NOW, later)
    assert again["rec-b"].last_seen == NOW  # not recommended this night: untouched

    # expired, then recommended again: a new life, its old ticket forgotten
    recs.mark_expired("rec-a", "no longer recommended", later)
    assert recs.get("rec-a").status == "expired"
    reborn = {r.id: r for r in recs.upsert([produced("rec-a", "10")], later)}["rec-a"]
    assert (reborn.status, reborn.ticket_key, reborn.ticket_savings, reborn.reason) == (
        "open",
        None,
        None,
        None,
    )
    assert reborn.first_seen == later

    # a dry run shows the result and records nothing
    preview = recs.preview_upsert([produced("rec-c", "5")], later)
    assert [r.id for r in preview] == ["rec-b", "rec-a", "rec-c"]
    assert [r.id for r in recs.listing()] == ["rec-b", "rec-a"]

    # dismissed stays dismissed when recommended again
    recs.dismiss("rec-b", "  kept for DR ", later)
    kept = {r.id: r for r in recs.upsert([produced("rec-b", "1")], later)}["rec-b"]
    assert (kept.status, kept.reason) == ("dismissed", "kept for DR")
    assert [r.id for r in recs.listing("dismissed")] == ["rec-b"]
    assert [r.id for r in recs.listing("open", "ticketed")] == ["rec-a"]


def test_bad_ids_statuses_and_reasons_are_named(make_store: Callable[..., StateStore]) -> None:
    from costline.core.errors import ConfigError, NotFoundError

    recs = make_store().recommendations("acme")
    recs.upsert([produced("rec-a", "1")], NOW)
    with pytest.raises(NotFoundError) as info:
        recs.dismiss("rec-nope", "because", NOW)
    assert "no recommendation 'rec-nope'" in str(info.value)
    assert "costline tickets list" in str(info.value)
    with pytest.raises(ConfigError, match="needs a reason"):
        recs.dismiss("rec-a", "   ", NOW)
    with pytest.raises(ConfigError) as bad:
        recs.listing("ticketd")
    assert "unknown status 'ticketd'" in str(bad.value) and "did you mean 'ticketed'" in str(
        bad.value
    )
    with pytest.raises(sa.exc.StatementError, match="never float"):
        recs.upsert([produced("rec-f", "1") | {"monthly_savings": 1.5}], NOW)
    assert recs.get("rec-a").status == "open"


def test_a_page_is_scoped_by_team_in_the_query(make_store: Callable[..., StateStore]) -> None:
    recs = make_store().recommendations("acme")
    recs.upsert(
        [
            produced("rec-1", "50", team="web"),
            produced("rec-2", "120", team="web", kind="rightsizing"),
            produced("rec-3", "80", team="api"),
            produced("rec-4", "999"),  # no team: admins and finance only
            produced("rec-5", "9.5", team="web"),  # 9.5 < 50 although "9.5" > "50" as text
        ],
        NOW,
    )
    everyone, total = recs.page(teams=None, limit=10)
    assert [r.id for r in everyone] == ["rec-4", "rec-2", "rec-3", "rec-1", "rec-5"] and total == 5
    web, total = recs.page(teams={"web"}, kind="waste", limit=1, offset=1)
    assert [r.id for r in web] == ["rec-5"] and total == 2
    assert recs.page(teams=set(), limit=10) == ([], 0)  # a scope without teams sees nothing
    assert recs.page(teams={"web"}, status="dismissed", limit=10) == ([], 0)


def test_workspaces_keep_their_own_recommendations(make_store: Callable[..., StateStore]) -> None:
    store = make_store()
    a, b = store.recommendations("acme"), store.recommendations("globex")
    a.upsert([produced("rec-1", "5")], NOW)
    b.upsert([produced("rec-1", "7")], NOW)
    b.dismiss("rec-1", "not ours", NOW)
    assert [(r.status, r.monthly_savings) for r in a.listing()] == [("open", Decimal(5))]
    assert [(r.status, r.monthly_savings) for r in b.listing()] == [("dismissed", Decimal(7))]


def test_adoptions_are_recorded_and_measured_again(make_store: Callable[..., StateStore]) -> None:
    recs = make_store().recommendations("acme")
    recs.upsert([produced("rec-1", "304.38"), produced("rec-2", "30")], NOW)
    day = dt.date(2026, 11, 1)
    adoption = {
        "rec_id": "rec-1",
        "action_date": day,
        "resource_id": "res-rec-1",
        "kind": "waste",
        "rule": "gp2-to-gp3",
        "team": None,
        "account": "111122223333",
        "action": "volume-type-changed",
        "from_state": "gp2",
        "to_state": "gp3",
        "evidence": "billed as gp3 since 2026-11-01",
        "estimated_monthly": Decimal("304.38"),
        "baseline_daily": Decimal(650) / 14,  # 46.428571428571..., kept to 10 places
        "after_daily": None,
        "after_days": 0,
        "realized_monthly": None,
        "ticket_key": "PAY-2",
    }
    recs.record_adoptions([adoption], NOW)
    (got,) = recs.adoptions()
    assert (got.action_date, got.baseline_daily, got.after_days) == (
        day,
        Decimal("46.4285714286"),
        0,
    )
    actioned = recs.get("rec-1")
    assert (actioned.status, actioned.reason, actioned.realized_savings) == (
        "actioned",
        "volume-type-changed: billed as gp3 since 2026-11-01",
        None,
    )
    # two more days billed: measured again, and the realized savings follow
    realized = ((Decimal(650) / 14 - 40) * Decimal("30.4375")).quantize(Decimal("0.01"))
    later = NOW + dt.timedelta(days=3)
    assert [a.rec_id for a in recs.adoptions(measured_days_below=30)] == ["rec-1"]
    measure = {"rec_id": "rec-1", "action_date": day, "baseline_daily": Decimal(650) / 14}
    measure |= {"after_daily": Decimal(40), "after_days": 2, "realized_monthly": realized}
    assert recs.update_measures([measure], later) == 1
    (got,) = recs.adoptions()
    assert (got.after_days, got.realized_monthly, got.measured_at) == (2, realized, later)
    assert got.detected_at == NOW
    assert recs.get("rec-1").realized_savings == realized == Decimal("195.67")
    assert recs.adoptions(measured_days_below=2) == []
    assert recs.get("rec-2").realized_savings is None  # only actioned ones get it


# -- moving an older warehouse's recommendations -------------------------------------------
OLD_RECOMMENDATIONS_DDL = """
CREATE TABLE recommendations (
  id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, rule VARCHAR NOT NULL,
  resource_id VARCHAR NOT NULL, team VARCHAR, account VARCHAR,
  monthly_savings DECIMAL(38, 10) NOT NULL, monthly_cost DECIMAL(38, 10), details JSON,
  first_seen TIMESTAMP NOT NULL, last_seen TIMESTAMP NOT NULL, status VARCHAR NOT NULL,
  ticket_key VARCHAR, ticket_savings DECIMAL(38, 10), reason VARCHAR,
  realized_savings DECIMAL(38, 10), updated_at TIMESTAMP NOT NULL);
CREATE TABLE adoptions (
  rec_id VARCHAR NOT NULL, action_date DATE NOT NULL, resource_id VARCHAR NOT NULL,
  kind VARCHAR NOT NULL, rule VARCHAR NOT NULL, team VARCHAR, account VARCHAR,
  action VARCHAR NOT NULL, from_state VARCHAR, to_state VARCHAR, evidence VARCHAR,
  estimated_monthly DECIMAL(38, 10), baseline_daily DECIMAL(38, 10),
  after_daily DECIMAL(38, 10), after_days INTEGER NOT NULL,
  realized_monthly DECIMAL(38, 10), ticket_key VARCHAR,
  detected_at TIMESTAMP NOT NULL, measured_at TIMESTAMP NOT NULL,
  PRIMARY KEY (rec_id, action_date));
"""
OCT_30 = dt.datetime(2026, 10, 30, 6)  # naive UTC, as 0.1 stored it


def old_recommendations(con: Any) -> dict[str, str]:
    """0.1's tables: eip-big dismissed, vol-gp2 actioned (gp3 from Nov 1) with its adoption.
    Returns resource → recommendation id (the ids a sync computes)."""
    from tests.integration.test_tickets import rec_id

    ids = {
        "eip-big": rec_id("unassociated-address", "eip-big"),
        "vol-gp2": rec_id("gp2-to-gp3", "vol-gp2"),
    }
    con.execute(OLD_RECOMMENDATIONS_DDL)
    rec_sql = "INSERT INTO recommendations VALUES (" + ", ".join("?" * 17) + ")"
    con.execute(
        rec_sql,
        [ids["eip-big"], "waste", "unassociated-address", "eip-big", None, "111122223333"]
        + [Decimal("304.375"), Decimal("304.375"), json.dumps({"evidence": "idle"})]
        + [OCT_30, OCT_30, "dismissed", None, None, "kept for DR", None, OCT_30],
    )
    con.execute(
        rec_sql,
        [ids["vol-gp2"], "waste", "gp2-to-gp3", "vol-gp2", None, "111122223333"]
        + [Decimal("304.375"), Decimal("1521.875"), json.dumps({"evidence": "gp2"})]
        + [OCT_30, OCT_30, "actioned", "PAY-2", Decimal("304.375")]
        + ["volume-type-changed: billed as gp3", Decimal("253.35"), OCT_30],
    )
    con.execute(
        "INSERT INTO adoptions VALUES (" + ", ".join("?" * 19) + ")",
        [ids["vol-gp2"], dt.date(2026, 11, 1), "vol-gp2", "waste", "gp2-to-gp3", None]
        + ["111122223333", "volume-type-changed", "gp2", "gp3", "billed as gp3"]
        + [Decimal("304.375"), Decimal("46.4285714286"), Decimal(40), 2, Decimal("253.35")]
        + ["PAY-2", OCT_30, OCT_30],
    )
    return ids


def test_recommendations_move_once_and_keep_their_state(
    state_url: URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.test_tickets import OCTOBER, USAGE, bill, days

    monkeypatch.setenv("COSTLINE_STATE_URL", state_url.render_as_string(hide_password=False))
    ws = Workspace.init(tmp_path / "acme")
    oct_bill = bill(tmp_path / "oct.csv", (days(dt.date(2026, 10, 1), 30), OCTOBER, USAGE))
    assert not ws.ingest([oct_bill]).failed
    with ws.warehouse() as wh:
        ids = old_recommendations(wh.con)
    ws = Workspace.open(ws.root)  # the upgraded costline
    try:
        listed = {r["resource_id"]: r for r in ws.tickets().records()}
        assert (listed["eip-big"]["status"], listed["eip-big"]["reason"]) == (
            "dismissed",
            "kept for DR",
        )
        assert listed["vol-gp2"]["realized_savings"] == Decimal("253.35")
        assert listed["eip-big"]["last_seen"] == OCT_30.replace(tzinfo=dt.UTC)
        (moved,) = ws.recommendation_store().adoptions()
        assert (moved.rec_id, moved.baseline_daily) == (ids["vol-gp2"], Decimal("46.4285714286"))
        with ws.warehouse() as wh:
            assert {"recommendations_moved", "adoptions_moved"} <= tables(wh.con)
            assert not {"recommendations", "adoptions"} & tables(wh.con)

        # the nightly sync over October: eip-big is idle again but stays dismissed; vol-gp2
        # is recommended again (gp2 all October), so it starts a new life as open
        ws.tickets_sync(now=NOW)
        after = {r["resource_id"]: r["status"] for r in ws.tickets().records()}
        assert after == {
            "eip-big": "dismissed",
            "vol-gp2": "open",
            "eip-gone": "open",
            "eip-small": "open",
        }
        # a repeat of the move (a crash before the rename) adds nothing
        with ws.warehouse() as wh:
            for name in ("recommendations", "adoptions"):
                wh.con.execute(f"ALTER TABLE {name}_moved RENAME TO {name}")
            assert legacy.move_recommendations(wh.con, ws.recommendation_store()) == (0, 0)
        assert ws.tickets(status="dismissed").rows[0][0] == ids["eip-big"]
    finally:
        ws.close()


# -- end to end: the API changes what `costline tickets` shows ------------------------------
def test_a_dismissal_through_the_api_is_what_costline_tickets_shows(
    state_url: URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from costline.server import build
    from tests.integration.test_tickets import OCTOBER, USAGE, bill, days, rec_id

    monkeypatch.setenv("COSTLINE_STATE_URL", state_url.render_as_string(hide_password=False))
    ws = Workspace.init(tmp_path / "acme")
    oct_bill = bill(tmp_path / "oct.csv", (days(dt.date(2026, 10, 1), 30), OCTOBER, USAGE))
    assert not ws.ingest([oct_bill]).failed
    ws.tickets_sync(now=NOW)  # no ticket channel: recorded, all open
    big = rec_id("unassociated-address", "eip-big")
    with build(ws, secure_cookies=False) as svc:
        _, token = svc.store.add_user("root", "admin", [])
        auth = {"Authorization": f"Bearer {token}"}
        with TestClient(svc.app) as client:
            done = client.post(
                f"/api/v1/recommendations/{big}/dismiss",
                json={"reason": "kept for DR"},
                headers=auth,
            )
            assert done.status_code == 200, done.text
            shown = client.get(
                "/api/v1/recommendations", params={"status": "dismissed"}, headers=auth
            )
        # while the server still owns the warehouse, the CLI reads the state store
        listed = CliRunner().invoke(
            app,
            ["-w", str(ws.root), "tickets", "list", "--status", "dismissed", "--format", "json"],
        )
    assert [r["resource_id"] for r in shown.json()["rows"]] == ["eip-big"]
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["id"], r["status"], r["reason"]) for r in rows] == [
        (big, "dismissed", "kept for DR")
    ]
    with open_state(state_url) as store:
        got = store.recommendations("acme").get(big)
        assert (got.status, got.reason) == ("dismissed", "kept for DR")
        # 10.00 a day × 30.4375 = 304.375, the waste estimate to the cent
        assert got.monthly_savings == Decimal("304.38")
        (entry,) = store.audit_entries(action="recommendation.dismiss")
        assert (entry.user, entry.target) == ("root", big)

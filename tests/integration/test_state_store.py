"""The service's state store (issue #6) on SQLite and on the real PostgreSQL: users, API tokens,
password login with rate limiting, UI sessions, job runs, the audit log, the migrations, and
the ``costline users`` commands. Expected hashes are computed here with hashlib, not read back
from the store."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from costline.cli.main import app
from costline.config import load_config
from costline.core.errors import ConfigError, StorageError
from costline.storage.state import (
    DuplicateUserError,
    StateStore,
    UnknownRunError,
    UnknownTokenError,
    UnknownUserError,
    open_state,
    resolve_url,
    schema_diff,
)
from costline.storage.state.engine import VERSION_TABLE
from costline.workspace import Workspace
from tests.allocation_kit import owners_doc
from tests.state_db import BACKENDS, state_database

T0 = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)
TOKEN = re.compile(r"^cl_([a-z0-9]{8})_[A-Za-z0-9_-]{43}$")
PASSWORD = "correct horse battery"


class Clock:
    """A settable clock: tests move time instead of sleeping."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(params=BACKENDS)
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[URL]:
    with state_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def make_store(state_url: URL) -> Iterator[Callable[..., StateStore]]:
    """Builder: a store on this test's database (clock settable); all closed at the end."""
    opened: list[StateStore] = []

    def make(**options: Any) -> StateStore:
        store = open_state(state_url, **options)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(make_store: Callable[..., StateStore], clock: Clock) -> StateStore:
    return make_store(clock=clock, workspace="ws-a")


def table(store: StateStore, name: str) -> list[dict[str, Any]]:
    with store.engine.connect() as con:
        return [dict(r._mapping) for r in con.execute(sa.text(f"SELECT * FROM {name}"))]


# -- migrations ----------------------------------------------------------------------------
def test_migrations_create_exactly_the_models(make_store: Callable[..., StateStore]) -> None:
    store = make_store()
    assert schema_diff(store.engine) == []
    with store.engine.connect() as con:
        head = con.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        tables = set(sa.inspect(con).get_table_names())
    assert head == ["0004"]
    assert {"users", "user_teams", "api_tokens", "sessions", "login_attempts"} <= tables
    assert {"job_runs", "audit_log"} <= tables
    again = make_store()  # opening a migrated store again changes nothing
    assert schema_diff(again.engine) == []
    # the comparison does see a difference: drop an index the models declare
    with store.engine.begin() as con:
        con.execute(sa.text("DROP INDEX ix_audit_log_at"))
    diff = schema_diff(store.engine)
    assert [d[0] for d in diff] == ["add_index"] and diff[0][1].name == "ix_audit_log_at"


def test_timestamps_come_back_as_aware_utc(store: StateStore) -> None:
    user, _ = store.add_user("tz-check", "admin", [])
    assert user.created_at == T0 and user.created_at.utcoffset() == dt.timedelta(0)


# -- users ---------------------------------------------------------------------------------
def test_add_list_get_and_disable_users(store: StateStore, clock: Clock) -> None:
    bob, bob_token = store.add_user(
        "bob", "team", ["search", "payments", "search"], display_name="Bob B"
    )
    alice, _ = store.add_user("alice", "finance", [])
    assert bob.teams == ("payments", "search") and bob.display_name == "Bob B"
    assert not bob.sees_all_teams and alice.sees_all_teams
    assert [u.name for u in store.list_users()] == ["alice", "bob"]
    assert store.get_user("bob") == bob and store.find_user("nobody") is None

    clock.advance(hours=1)
    disabled = store.disable_user("bob")
    assert disabled.disabled_at == T0 + dt.timedelta(hours=1) and not disabled.active
    assert store.disable_user("bob").disabled_at == disabled.disabled_at  # idempotent
    assert store.authenticate_token(bob_token) is None
    assert [u.active for u in store.list_users()] == [True, False]


def test_bad_users_are_refused_with_the_fix(store: StateStore) -> None:
    store.add_user("alice", "finance", [])
    with pytest.raises(DuplicateUserError, match="exists already") as dup:
        store.add_user("alice", "admin", [])
    assert "costline users token alice" in str(dup.value)
    for name in ("Alice", "a", "-bob", "x" * 64, "bob smith"):
        with pytest.raises(ConfigError, match="is not allowed"):
            store.add_user(name, "admin", [])
    with pytest.raises(ConfigError, match="unknown role 'owner'"):
        store.add_user("carol", "owner", [])
    with pytest.raises(ConfigError, match="needs at least one team"):
        store.add_user("carol", "team", [])
    with pytest.raises(ConfigError, match="only for role team"):
        store.add_user("carol", "finance", ["payments"])
    with pytest.raises(ConfigError, match="not a valid team id"):
        store.add_user("carol", "team", ["pay ments"])
    with pytest.raises(UnknownUserError, match="no user 'alcie'") as unknown:
        store.disable_user("alcie")
    assert "did you mean 'alice'" in str(unknown.value)
    assert [u.name for u in store.list_users()] == ["alice"]  # nothing half-made


# -- API tokens ----------------------------------------------------------------------------
def test_token_is_shown_once_and_only_its_hash_is_stored(store: StateStore) -> None:
    user, token = store.add_user("alice", "finance", [])
    match = TOKEN.match(token)
    assert match, token
    rows = table(store, "api_tokens")
    assert len(rows) == 1
    row = rows[0]
    assert row["token_hash"] == sha256(token) and row["prefix"] == match.group(1)
    assert row["user_id"] == user.id and row["name"] == "default"
    secret = token.split("_", 2)[2]
    for name in ("users", "api_tokens", "audit_log"):
        dumped = json.dumps(table(store, name), default=str)
        assert token not in dumped and secret not in dumped
    listed = store.list_tokens("alice")
    assert [(t.prefix, t.user) for t in listed] == [(match.group(1), "alice")]
    assert "token_hash" not in repr(listed) and sha256(token) not in repr(listed)


def test_authenticate_ok_wrong_revoked_expired_disabled(store: StateStore, clock: Clock) -> None:
    alice, token = store.add_user("alice", "finance", [])
    assert store.authenticate_token(token) == alice
    [used] = store.list_tokens("alice")
    assert used.last_used_at == T0

    prefix = TOKEN.match(token).group(1)  # type: ignore[union-attr]
    wrong = f"cl_{prefix}_{'A' * 43}"
    for bad in (wrong, token[:-1], token + "A", "", "Bearer " + token, f"cl_{prefix}", "x" * 60):
        assert store.authenticate_token(bad) is None, bad

    ci = store.create_token("alice", "ci", expires_at=T0 + dt.timedelta(days=1))
    assert store.authenticate_token(ci) == alice
    clock.advance(days=1)
    assert store.authenticate_token(ci) is None  # expired at its expires_at
    assert store.authenticate_token(token) == alice

    revoked = store.revoke_token(f"cl_{prefix}")
    assert revoked.revoked_at == clock.now and revoked.status(clock.now) == "revoked"
    assert store.authenticate_token(token) is None
    other = store.create_token(alice, "other")
    [row] = [t for t in store.list_tokens() if t.name == "other"]
    store.revoke_token(str(row.id))  # by id, too
    assert store.authenticate_token(other) is None
    with pytest.raises(UnknownTokenError, match="no API token"):
        store.revoke_token("zzzzzzzz")

    bob, bob_token = store.add_user("bob", "team", ["payments"])
    assert store.authenticate_token(bob_token) == bob
    store.disable_user("bob")
    assert store.authenticate_token(bob_token) is None
    actions = [e.action for e in store.audit_entries(action="token.revoke")]
    assert actions == ["token.revoke", "token.revoke"]


def test_last_used_is_written_at_most_once_a_minute(store: StateStore, clock: Clock) -> None:
    _, token = store.add_user("alice", "finance", [])
    store.authenticate_token(token)
    clock.advance(seconds=30)
    store.authenticate_token(token)
    assert store.list_tokens()[0].last_used_at == T0
    clock.advance(seconds=31)
    store.authenticate_token(token)
    assert store.list_tokens()[0].last_used_at == T0 + dt.timedelta(seconds=61)


# -- passwords and rate limiting -----------------------------------------------------------
def test_password_login_and_rate_limit(store: StateStore, clock: Clock) -> None:
    store.add_user("alice", "finance", [])
    assert store.verify_password("alice", PASSWORD, "10.0.0.1") is None  # no password yet
    store.set_password("alice", PASSWORD)
    stored = table(store, "users")[0]["password_hash"]
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert store.get_user("alice").has_password

    ok = store.verify_password("alice", PASSWORD, "10.0.0.1")
    assert ok is not None and ok.name == "alice"
    for _ in range(4):
        assert store.verify_password("alice", "wrong password", "10.0.0.1") is None
    assert not store.login_blocked("alice", "10.0.0.1")
    assert store.verify_password("alice", "wrong password", "10.0.0.1") is None  # 5th
    assert store.login_blocked("alice", "10.0.0.1")
    assert store.verify_password("alice", PASSWORD, "10.0.0.1") is None  # right, but blocked
    assert not store.login_blocked("alice", "10.0.0.2")  # per name + address
    assert store.verify_password("alice", PASSWORD, "10.0.0.2") is not None
    assert not store.login_blocked("bob", "10.0.0.1")

    clock.advance(minutes=14)
    assert store.login_blocked("alice", "10.0.0.1")
    clock.advance(minutes=2)  # the blocked attempt at T0 counts too: wait it out
    assert not store.login_blocked("alice", "10.0.0.1")
    assert store.verify_password("alice", PASSWORD, "10.0.0.1") is not None

    attempts = table(store, "login_attempts")
    assert len(attempts) == 1 + 1 + 5 + 1 + 1 + 1
    assert sum(a["ok"] for a in attempts) == 3
    actions = [e.action for e in reversed(store.audit_entries(user=None)) if "login" in e.action]
    assert actions.count("login.failed") == 6 and actions.count("login.blocked") == 1
    assert len(store.audit_entries(action="login.ok")) == 3


def test_passwords_of_disabled_and_unknown_users_fail(store: StateStore) -> None:
    store.add_user("alice", "finance", [], password=PASSWORD)
    assert store.verify_password("nobody", PASSWORD, "10.0.0.1") is None
    store.disable_user("alice")
    assert store.verify_password("alice", PASSWORD, "10.0.0.1") is None
    with pytest.raises(ConfigError, match="too short"):
        store.set_password("alice", "short")
    with pytest.raises(UnknownUserError):
        store.set_password("nobody", PASSWORD)


# -- UI sessions ---------------------------------------------------------------------------
def test_sessions(store: StateStore, clock: Clock) -> None:
    alice, _ = store.add_user("alice", "finance", [])
    sid, csrf = store.create_session("alice")
    assert store.session_user(sid) == (alice, csrf)
    [row] = table(store, "sessions")
    assert row["id_hash"] == sha256(sid) and sid not in json.dumps(row, default=str)
    assert row["expires_at"] is not None
    assert store.session_user(sid + "x") is None
    store.end_session(sid)
    assert store.session_user(sid) is None and table(store, "sessions") == []

    idle, _ = store.create_session(alice)
    clock.advance(hours=2, seconds=1)
    assert store.session_user(idle) is None  # idle too long

    busy, _ = store.create_session(alice)
    for _ in range(11):
        clock.advance(hours=1)
        assert store.session_user(busy) is not None
    clock.advance(hours=1)
    assert store.session_user(busy) is None  # 12 h lifetime, however busy

    a, _ = store.create_session(alice)
    b, _ = store.create_session(alice)
    store.set_password("alice", PASSWORD)
    assert store.session_user(a) is None and store.session_user(b) is None
    c, _ = store.create_session(alice)
    store.disable_user("alice")
    assert store.session_user(c) is None


# -- job runs ------------------------------------------------------------------------------
def test_job_runs(store: StateStore, make_store: Callable[..., StateStore], clock: Clock) -> None:
    first = store.start_run("ingest", "schedule", 1)
    assert [(r.id, r.status, r.finished_at) for r in store.runs()] == [(first, "running", None)]
    clock.advance(seconds=42.5)
    done = store.finish_run(first, "succeeded", detail={"files": 3, "periods": ["2026-08"]})
    assert done.duration_s == 42.5 and done.finished_at == T0 + dt.timedelta(seconds=42.5)
    assert done.detail == {"files": 3, "periods": ["2026-08"]}

    second = store.start_run("allocate", "manual")
    retry_at = clock.now + dt.timedelta(minutes=15)
    failed = store.finish_run(second, "failed", error="boom", next_retry_at=retry_at)
    assert (failed.status, failed.error, failed.next_retry_at, failed.attempt) == (
        "failed",
        "boom",
        retry_at,
        1,
    )
    clock.advance(minutes=15)
    third = store.start_run("allocate", "retry", 2)

    assert [r.id for r in store.runs()] == [third, second, first]  # newest first
    assert [r.id for r in store.runs(job="allocate")] == [third, second]
    assert [r.id for r in store.runs(limit=1)] == [third]
    assert store.runs()[0].trigger == "retry" and store.runs()[0].workspace == "ws-a"
    other = make_store(clock=clock, workspace="ws-b")
    assert other.runs() == []  # runs are per workspace

    with pytest.raises(ConfigError, match="unknown trigger"):
        store.start_run("ingest", "cron")
    with pytest.raises(ConfigError, match="succeeded or failed"):
        store.finish_run(third, "running")
    with pytest.raises(UnknownRunError):
        store.finish_run(999_999, "failed")


# -- audit log -----------------------------------------------------------------------------
def test_audit_entries(store: StateStore, clock: Clock) -> None:
    store.audit("alice", "anomaly.ack", "anom-123", {"reason": "known"}, remote="10.0.0.9")
    clock.advance(minutes=1)
    store.audit(None, "recommendation.dismiss", "rec-9")
    clock.advance(minutes=1)
    store.add_user("carol", "admin", [], actor="alice", remote="10.0.0.9")

    entries = store.audit_entries()
    assert [e.action for e in entries] == [
        "token.create",
        "user.add",
        "recommendation.dismiss",
        "anomaly.ack",
    ]
    ack = entries[-1]
    assert (ack.at, ack.user, ack.target, ack.detail, ack.remote) == (
        T0,
        "alice",
        "anom-123",
        {"reason": "known"},
        "10.0.0.9",
    )
    assert entries[1].detail == {"role": "admin", "teams": []} and entries[1].user == "alice"
    assert entries[2].user is None
    assert [e.action for e in store.audit_entries(user="alice", limit=2)] == [
        "token.create",
        "user.add",
    ]
    with pytest.raises(ConfigError, match="dotted lowercase"):
        store.audit("alice", "Anomaly Ack", "x")


# -- secrets stay out of logs --------------------------------------------------------------
def test_no_secret_reaches_the_logs(store: StateStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _, token = store.add_user("alice", "finance", [], password=PASSWORD)
    other = store.create_token("alice", "ci")
    store.authenticate_token(token)
    store.authenticate_token(token[:-2] + "xx")
    sid, csrf = store.create_session("alice")
    store.session_user(sid)
    for _ in range(6):
        store.verify_password("alice", "a wrong guess 123", "10.0.0.1")
    store.verify_password("alice", PASSWORD, "10.0.0.2")
    store.set_password("alice", PASSWORD + "!")
    store.revoke_token(other[:11])
    with pytest.raises(DuplicateUserError):
        store.add_user("alice", "finance", [], password=PASSWORD)

    hashes = [r["password_hash"] for r in table(store, "users")]
    secrets = [token, other, sid, csrf, PASSWORD, "a wrong guess 123", sha256(token), *hashes]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    assert caplog.records, "expected some log records at DEBUG"
    leaked = [s[:12] for s in secrets if s in logged]
    assert not leaked, f"secrets in logs: {leaked}"


def test_threads_share_one_store(store: StateStore) -> None:
    _, token = store.add_user("alice", "finance", [])
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                assert store.authenticate_token(token) is not None
                run = store.start_run(f"job-{n}", "manual")
                store.finish_run(run, "succeeded", detail={"i": i})
                store.audit(None, "job.done", f"job-{n}")
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.runs(limit=1000)) == 60
    assert len(store.audit_entries(limit=1000, action="job.done")) == 60


# -- URLs and configuration ----------------------------------------------------------------
def test_state_url_resolution() -> None:
    env = {"COSTLINE_STATE_URL": "postgres://app@db:5433/costline"}
    url = resolve_url("sqlite:///x.db", env=env)
    assert (url.drivername, url.host, url.port, url.password) == (
        "postgresql+psycopg",
        "db",
        5433,
        None,
    )
    with_pw = resolve_url(
        None, default="postgresql://app@db/c", env={"COSTLINE_STATE_PASSWORD": "pw"}
    )
    assert with_pw.password == "pw" and "pw" not in with_pw.render_as_string(hide_password=True)
    assert resolve_url("sqlite:///a.db", env={}).database == "a.db"
    with pytest.raises(ConfigError, match="does not support 'mysql'") as err:
        resolve_url("mysql://u:hunter2@h/db", env={})
    assert "hunter2" not in str(err.value)
    with pytest.raises(ConfigError, match="not a database URL"):
        resolve_url("not a url", env={})
    with pytest.raises(ConfigError, match="no state store URL"):
        resolve_url(None, env={})


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot open the state store") as err:
        open_state("postgresql://u:hunter2@127.0.0.1:1/nothing")
    assert "hunter2" not in str(err.value) and "***" in str(err.value)
    with pytest.raises(StorageError, match="cannot open the state store"):
        open_state(f"sqlite:///{tmp_path / 'missing-dir' / 'state.db'}")


def test_config_rejects_a_password_in_state_url(tmp_path: Path) -> None:
    cfg = tmp_path / "costline.yaml"
    cfg.write_text(
        yaml.safe_dump({"version": 1, "service": {"state_url": "postgresql://u:hunter2@h/db"}})
    )
    with pytest.raises(ConfigError, match="COSTLINE_STATE_PASSWORD") as err:
        load_config(cfg)
    assert "hunter2" not in str(err.value)
    cfg.write_text(yaml.safe_dump({"version": 1, "service": {"state_url": "postgresql://u@h/db"}}))
    assert load_config(cfg).service.state_url == "postgresql://u@h/db"


def test_workspace_state_defaults_to_state_db(
    make_workspace: Callable[..., Workspace], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COSTLINE_STATE_URL", raising=False)
    ws = make_workspace()
    store = ws.state()
    try:
        assert store is ws.state()  # kept for the object
        assert Path(store.engine.url.database or "") == ws.root / "state.db"
        assert (ws.root / "state.db").is_file()
    finally:
        store.close()
    text = (ws.root / "costline.yaml").read_text()
    (ws.root / "costline.yaml").write_text(text + "\nservice:\n  state_url: sqlite:///db/s.db\n")
    (ws.root / "db").mkdir()
    relative = Workspace.open(ws.root).state()
    try:
        assert Path(relative.engine.url.database or "") == ws.root / "db" / "s.db"
    finally:
        relative.close()


# -- CLI -----------------------------------------------------------------------------------
@pytest.fixture
def cli_ws(
    make_workspace: Callable[..., Workspace], state_url: URL, monkeypatch: pytest.MonkeyPatch
) -> Workspace:
    """A workspace with an owners.yaml (teams payments, search) whose state store is this
    test's database, chosen through COSTLINE_STATE_URL."""
    monkeypatch.setenv("COSTLINE_STATE_URL", state_url.render_as_string(hide_password=False))
    ws = make_workspace()
    teams = {"payments": ("cc-pay", "Eng", "Acme"), "search": ("cc-search", "Eng", "Acme")}
    (ws.root / "owners.yaml").write_text(yaml.safe_dump(owners_doc(teams)))
    assert sorted(ws.owners().teams()) == ["payments", "search"]
    return ws


def users(ws: Workspace, *args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(app, ["-w", str(ws.root), "users", *args], input=input)


def test_cli_users_add_token_list_revoke_disable(cli_ws: Workspace) -> None:
    added = users(cli_ws, "add", "bob", "--role", "team", "--team", "payments")
    assert added.exit_code == 0, added.output
    token = added.stdout.strip()
    assert TOKEN.match(token) and "shown once" in added.stderr
    store = Workspace.open(cli_ws.root).state()
    try:
        user = store.authenticate_token(token)
        assert user is not None and (user.name, user.role, user.teams) == (
            "bob",
            "team",
            ("payments",),
        )
    finally:
        store.close()

    made = users(cli_ws, "token", "bob", "--name", "ci", "--expires-days", "7")
    assert made.exit_code == 0, made.output
    ci_token = made.stdout.strip()
    assert TOKEN.match(ci_token) and ci_token != token and "shown once" in made.stderr

    listed = users(cli_ws, "list", "-f", "json")
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.stdout)
    prefixes = {f"cl_{TOKEN.match(t).group(1)}" for t in (token, ci_token)}  # type: ignore[union-attr]
    assert row["name"] == "bob" and row["teams"] == "payments" and row["status"] == "active"
    assert set(row["tokens"].split(", ")) == prefixes
    per_token = json.loads(users(cli_ws, "list", "--tokens", "-f", "json").stdout)
    assert {t["prefix"] for t in per_token} == prefixes
    [ci_row] = [t for t in per_token if t["name"] == "ci"]
    expires = dt.datetime.fromisoformat(ci_row["expires_at"].replace("Z", "+00:00"))
    assert (
        dt.timedelta(days=6, hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=7)
    )
    everything = listed.stdout + users(cli_ws, "list", "--tokens", "-f", "csv").stdout
    for secret in (token, ci_token, sha256(token), sha256(ci_token)):
        assert secret not in everything

    ci_prefix = f"cl_{TOKEN.match(ci_token).group(1)}"  # type: ignore[union-attr]
    revoked = users(cli_ws, "revoke", ci_prefix)
    assert revoked.exit_code == 0 and f"revoked {ci_prefix}" in revoked.stderr
    disabled = users(cli_ws, "disable", "bob")
    assert disabled.exit_code == 0, disabled.output
    store = Workspace.open(cli_ws.root).state()
    try:
        assert (
            store.authenticate_token(token) is None and store.authenticate_token(ci_token) is None
        )
        assert [t.status(dt.datetime.now(dt.UTC)) for t in store.list_tokens("bob")] == [
            "active",
            "revoked",
        ]
    finally:
        store.close()


def test_cli_users_password_prompts_twice(cli_ws: Workspace) -> None:
    assert users(cli_ws, "add", "alice", "--role", "finance").exit_code == 0
    done = users(cli_ws, "password", "alice", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert done.exit_code == 0, done.output
    assert PASSWORD not in done.output  # hidden input is not echoed
    retried = users(
        cli_ws, "password", "alice", input=f"one password\nanother one\n{PASSWORD}x\n{PASSWORD}x\n"
    )
    assert retried.exit_code == 0 and "do not match" in retried.output
    store = Workspace.open(cli_ws.root).state()
    try:
        assert store.verify_password("alice", PASSWORD + "x", "127.0.0.1") is not None
        assert store.verify_password("alice", PASSWORD, "127.0.0.1") is None
    finally:
        store.close()


def test_cli_users_bad_input(cli_ws: Workspace) -> None:
    unknown_team = users(cli_ws, "add", "bob", "--role", "team", "--team", "paymnets")
    assert isinstance(unknown_team.exception, ConfigError)
    assert "no team 'paymnets'" in str(unknown_team.exception)
    assert "did you mean 'payments'" in str(unknown_team.exception)
    bad_role = users(cli_ws, "add", "bob", "--role", "boss")
    assert isinstance(bad_role.exception, ConfigError) and "unknown role" in str(bad_role.exception)
    assert users(cli_ws, "add", "bob", "--role", "admin").exit_code == 0
    again = users(cli_ws, "add", "bob", "--role", "admin")
    assert isinstance(again.exception, DuplicateUserError)
    missing = users(cli_ws, "password", "bbo", input="x\n")
    assert isinstance(missing.exception, UnknownUserError) and "did you mean 'bob'" in str(
        missing.exception
    )
    revoke = users(cli_ws, "revoke", "cl_00000000")
    assert isinstance(revoke.exception, UnknownTokenError)
    short = users(cli_ws, "password", "bob", input="short\nshort\n")
    assert isinstance(short.exception, ConfigError) and "too short" in str(short.exception)
    listed = json.loads(users(cli_ws, "list", "-f", "json").stdout)
    assert [u["name"] for u in listed] == ["bob"]

"""The state store: users, API tokens, UI sessions, login attempts, job runs, the audit log
and each workspace's workflow state (the alert outbox, recommendations and their adoption), in
SQLite (default) or PostgreSQL through SQLAlchemy 2.

Every method opens its own short transaction, so one :class:`StateStore` may be shared by the
threads of a web server. Results are frozen dataclasses (:mod:`.records`), never ORM objects.
Secrets (tokens, session ids, passwords) are returned once where they are made and otherwise
exist only as hashes; no method logs them or puts them in an exception message.

The store writes its own audit entries for what it changes about people (``user.add``,
``user.disable``, ``user.password``, ``token.create``, ``token.revoke``, ``login.ok``,
``login.failed``, ``login.blocked``); callers audit the rest with :meth:`StateStore.audit`.

Example:
    >>> store = open_state("sqlite://")
    >>> alice, token = store.add_user("alice", "finance", [])
    >>> store.authenticate_token(token).name
    'alice'
    >>> store.authenticate_token(token + "x") is None
    True
    >>> store.close()
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, Select, delete, func, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from costline.core.errors import ConfigError
from costline.storage.state import credentials
from costline.storage.state.convert import audit_record, run_record, token_record, user_record
from costline.storage.state.engine import (
    ENV_PASSWORD,
    create_state_engine,
    resolve_url,
    upgrade,
)
from costline.storage.state.ingest_history import IngestHistory
from costline.storage.state.models import (
    ApiTokenRow,
    AuditRow,
    JobRunRow,
    LoginAttemptRow,
    SessionRow,
    UserRow,
    UserTeamRow,
)
from costline.storage.state.outbox import AlertOutbox
from costline.storage.state.recommendations import RecommendationStore
from costline.storage.state.records import (
    ApiToken,
    AuditEntry,
    DuplicateUserError,
    JobRun,
    UnknownRunError,
    UnknownTokenError,
    UnknownUserError,
    User,
)
from costline.storage.state.validation import (
    check_action,
    check_final_status,
    check_name,
    check_password,
    check_role,
    check_teams,
    check_trigger,
    suggest_user,
)

log = logging.getLogger(__name__)

# NOTE: a write per request would serialize every API call on SQLite; a minute is precise
# enough for "last used".
TOUCH_EVERY = dt.timedelta(minutes=1)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def open_state(url: str | URL, *, workspace: str = "default", **options: Any) -> StateStore:
    """Open (and migrate to the newest schema) the state store at ``url``.

    Args:
        url: ``sqlite:///path/state.db``, ``sqlite://`` (memory) or
            ``postgresql://user@host:port/db`` (``COSTLINE_STATE_PASSWORD`` supplies a missing
            password). ``COSTLINE_STATE_URL`` is *not* read here: the caller decides the URL
            (:meth:`costline.workspace.Workspace.state` applies it).
        workspace: the label job runs are recorded under.
        options: passed to :class:`StateStore` (clock, session lifetimes, rate limit).

    Raises:
        ConfigError: an unsupported or malformed URL.
        StorageError: the database cannot be reached or migrated.
    """
    password = {ENV_PASSWORD: os.environ[ENV_PASSWORD]} if os.environ.get(ENV_PASSWORD) else {}
    engine = create_state_engine(resolve_url(url, env=password))
    try:
        upgrade(engine)
    except Exception:
        engine.dispose()
        raise
    return StateStore(engine, workspace=workspace, **options)


class StateStore:
    """Users, tokens, sessions, login attempts, job runs, the audit log, and workflow state
    per workspace (:meth:`alert_outbox`, :meth:`recommendations`, :meth:`ingest_history`)."""

    def __init__(
        self,
        engine: Engine,
        *,
        workspace: str = "default",
        clock: Callable[[], dt.datetime] = _utcnow,
        session_ttl: dt.timedelta = dt.timedelta(hours=12),
        session_idle: dt.timedelta = dt.timedelta(hours=2),
        max_failures: int = 5,
        failure_window: dt.timedelta = dt.timedelta(minutes=15),
    ) -> None:
        self.engine = engine
        self.workspace = workspace
        self.clock = clock
        self.session_ttl = session_ttl
        self.session_idle = session_idle
        self.max_failures = max_failures
        self.failure_window = failure_window
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The database URL with its password masked."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def _now(self) -> dt.datetime:
        return self.clock().astimezone(dt.UTC)

    # -- users ------------------------------------------------------------------------------
    def add_user(
        self,
        name: str,
        role: str,
        teams: Sequence[str] = (),
        *,
        display_name: str | None = None,
        password: str | None = None,
        actor: str | None = None,
        remote: str | None = None,
    ) -> tuple[User, str]:
        """Create a user and its first API token; returns the user and the token (shown once).

        Raises:
            ConfigError: a bad name, role, team id or password.
            DuplicateUserError: the name is taken.
        """
        check_name(name)
        checked_role = check_role(role)
        team_ids = check_teams(checked_role, teams)
        if password is not None:
            check_password(password)
        hashed = credentials.hash_password(password) if password is not None else None
        now = self._now()
        try:
            with self._tx() as s:
                row = UserRow(
                    name=name,
                    role=checked_role,
                    display_name=display_name,
                    password_hash=hashed,
                    created_at=now,
                    disabled_at=None,
                    teams=[UserTeamRow(team=t) for t in team_ids],
                )
                s.add(row)
                s.flush()
                self._audit(s, actor, "user.add", name, {"role": role, "teams": team_ids}, remote)
        except IntegrityError:
            raise DuplicateUserError(
                f"a user named {name!r} exists already",
                hint=f"pick another name, or make a new token: costline users token {name}",
            ) from None
        token = self.create_token(name, "default", actor=actor, remote=remote)
        return self.get_user(name), token

    def list_users(self) -> list[User]:
        """Every user (disabled ones too), by name."""
        with self._tx() as s:
            rows = s.scalars(select(UserRow).options(selectinload(UserRow.teams)).order_by("name"))
            return [user_record(r) for r in rows]

    def get_user(self, name: str) -> User:
        """The user called ``name``.

        Raises:
            UnknownUserError: there is none (the hint lists close names).
        """
        with self._tx() as s:
            return user_record(self._user_row(s, name))

    def find_user(self, name: str) -> User | None:
        """The user called ``name``, or None."""
        with self._tx() as s:
            row = s.scalar(self._user_query(name))
            return user_record(row) if row is not None else None

    def disable_user(
        self, name: str, *, actor: str | None = None, remote: str | None = None
    ) -> User:
        """Disable a user: its tokens stop working and its UI sessions end. Idempotent."""
        with self._tx() as s:
            row = self._user_row(s, name)
            if row.disabled_at is None:
                row.disabled_at = self._now()
                s.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
                self._audit(s, actor, "user.disable", name, None, remote)
            return user_record(row)

    def set_password(
        self, name: str, password: str, *, actor: str | None = None, remote: str | None = None
    ) -> None:
        """Set (or replace) the UI login password of ``name``; ends its sessions."""
        check_password(password)
        hashed = credentials.hash_password(password)
        with self._tx() as s:
            row = self._user_row(s, name)
            row.password_hash = hashed
            s.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
            self._audit(s, actor, "user.password", name, None, remote)

    # -- API tokens -------------------------------------------------------------------------
    def create_token(
        self,
        user: str | User,
        name: str,
        *,
        expires_at: dt.datetime | None = None,
        actor: str | None = None,
        remote: str | None = None,
    ) -> str:
        """A new API token for ``user``; the return value is the only time it is visible."""
        user_name = user.name if isinstance(user, User) else user
        if not name or len(name) > 100:
            raise ConfigError("a token name needs 1 to 100 characters", key="token name")
        if expires_at is not None and expires_at.tzinfo is None:
            raise ConfigError("expires_at must be timezone-aware (UTC)", key="expires_at")
        for _ in range(5):  # NOTE: a prefix clash (36**8 space) is rare; draw again
            token = credentials.new_token()
            try:
                with self._tx() as s:
                    row = self._user_row(s, user_name)
                    s.add(
                        ApiTokenRow(
                            user_id=row.id,
                            name=name,
                            prefix=token.prefix,
                            token_hash=token.hash,
                            created_at=self._now(),
                            expires_at=expires_at,
                        )
                    )
                    detail = {"prefix": token.prefix, "name": name}
                    self._audit(s, actor, "token.create", user_name, detail, remote)
            except IntegrityError:
                continue
            return token.value
        raise RuntimeError("could not draw a unique token prefix")  # pragma: no cover

    def list_tokens(self, user: str | None = None) -> list[ApiToken]:
        """Tokens (of one user, or all), oldest first: prefixes and times, never secrets."""
        query = select(ApiTokenRow, UserRow.name).join(UserRow, UserRow.id == ApiTokenRow.user_id)
        if user is not None:
            query = query.where(UserRow.name == user)
        with self._tx() as s:
            if user is not None:
                self._user_row(s, user)
            rows = s.execute(query.order_by(ApiTokenRow.created_at, ApiTokenRow.id)).all()
            return [token_record(t, owner) for t, owner in rows]

    def revoke_token(
        self, prefix_or_id: str | int, *, actor: str | None = None, remote: str | None = None
    ) -> ApiToken:
        """Revoke a token named by its prefix (``ab12cd34`` or ``cl_ab12cd34``) or its id.

        Raises:
            UnknownTokenError: no such token.
        """
        with self._tx() as s:
            row = s.scalar(_token_query(prefix_or_id))
            if row is None:
                raise UnknownTokenError(
                    f"no API token {str(prefix_or_id)[:20]!r}",
                    hint="name it by the prefix `costline users list` shows",
                )
            if row.revoked_at is None:
                row.revoked_at = self._now()
            owner = s.get_one(UserRow, row.user_id).name
            self._audit(s, actor, "token.revoke", owner, {"prefix": row.prefix}, remote)
            return token_record(row, owner)

    def authenticate_token(self, token: str) -> User | None:
        """The active user holding ``token``, or None when it is malformed, unknown, wrong,
        revoked, expired, or its user is disabled. Records the use (``last_used_at``)."""
        prefix = credentials.split_token(token)
        if prefix is None:
            return None
        digest = credentials.sha256_hex(token)
        now = self._now()
        with self._tx() as s:
            row = s.scalar(select(ApiTokenRow).where(ApiTokenRow.prefix == prefix))
            if row is None or not credentials.same_hash(row.token_hash, digest):
                return None
            if row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
                return None
            user = s.get_one(UserRow, row.user_id, options=[selectinload(UserRow.teams)])
            if user.disabled_at is not None:
                return None
            if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
                row.last_used_at = now
            return user_record(user)

    # -- passwords and rate limiting --------------------------------------------------------
    def login_blocked(self, name: str, remote: str) -> bool:
        """Whether ``name`` from ``remote`` has had ``max_failures`` failed logins in the last
        ``failure_window`` (since its last success)."""
        name, remote = name[:200], remote[:100]  # as recorded
        with self._tx() as s:
            return self._failures(s, name, remote) >= self.max_failures

    def verify_password(self, name: str, password: str, remote: str) -> User | None:
        """The user if ``password`` is right, the user active and not rate-limited; else None.

        Every call is recorded as a login attempt and in the audit log. While blocked the
        password is not even checked, so guessing on gains nothing.
        """
        name, remote = name[:200], remote[:100]  # the column sizes
        now = self._now()
        with self._tx() as s:
            blocked = self._failures(s, name, remote) >= self.max_failures
            row = None if blocked else s.scalar(self._user_query(name))
        ok = False
        if not blocked:
            stored = row.password_hash if row is not None else None
            ok = credentials.check_password(password, stored)
            ok = ok and row is not None and row.disabled_at is None
        action = "login.ok" if ok else "login.blocked" if blocked else "login.failed"
        with self._tx() as s:
            s.add(LoginAttemptRow(name=name, remote=remote, at=now, ok=ok))
            s.execute(
                delete(LoginAttemptRow).where(LoginAttemptRow.at < now - dt.timedelta(days=1))
            )
            self._audit(s, name if ok else None, action, name, None, remote)
        if blocked:
            log.warning("login for %r from %s blocked after repeated failures", name, remote)
        return user_record(row) if ok and row is not None else None

    def _failures(self, s: Session, name: str, remote: str) -> int:
        """Failed attempts of ``name`` from ``remote`` within the window, after the last
        success (ids order attempts made within the same clock tick)."""
        recent = (
            (LoginAttemptRow.name == name)
            & (LoginAttemptRow.remote == remote)
            & (LoginAttemptRow.at > self._now() - self.failure_window)
        )
        last_ok = s.scalar(select(func.max(LoginAttemptRow.id)).where(recent, LoginAttemptRow.ok))
        query = select(func.count()).where(recent, ~LoginAttemptRow.ok)
        if last_ok is not None:
            query = query.where(LoginAttemptRow.id > last_ok)
        return int(s.scalar(query) or 0)

    # -- UI sessions ------------------------------------------------------------------------
    def create_session(self, user: str | User) -> tuple[str, str]:
        """A new UI session: ``(session_id, csrf_token)``; the cookie holds the id."""
        user_name = user.name if isinstance(user, User) else user
        session_id, csrf = credentials.new_session_id(), credentials.new_csrf_token()
        now = self._now()
        with self._tx() as s:
            row = self._user_row(s, user_name)
            s.execute(delete(SessionRow).where(SessionRow.expires_at <= now))
            s.add(
                SessionRow(
                    id_hash=credentials.sha256_hex(session_id),
                    user_id=row.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + self.session_ttl,
                    last_seen_at=now,
                )
            )
        return session_id, csrf

    def session_user(self, session_id: str) -> tuple[User, str] | None:
        """``(user, csrf_token)`` of a live session, or None: unknown, past its lifetime, idle
        longer than ``session_idle``, or its user is disabled."""
        now = self._now()
        with self._tx() as s:
            row = s.get(SessionRow, credentials.sha256_hex(session_id))
            if row is None:
                return None
            if row.expires_at <= now or now - row.last_seen_at > self.session_idle:
                s.delete(row)
                return None
            user = s.get_one(UserRow, row.user_id, options=[selectinload(UserRow.teams)])
            if user.disabled_at is not None:
                return None
            if now - row.last_seen_at >= TOUCH_EVERY:
                row.last_seen_at = now
            return user_record(user), row.csrf_token

    def end_session(self, session_id: str) -> None:
        """Log out: forget the session (unknown ids are ignored)."""
        with self._tx() as s:
            s.execute(
                delete(SessionRow).where(SessionRow.id_hash == credentials.sha256_hex(session_id))
            )

    # -- job runs ---------------------------------------------------------------------------
    def start_run(self, job: str, trigger: str = "manual", attempt: int = 1) -> int:
        """Record that ``job`` started in this store's workspace; returns the run id."""
        check_trigger(trigger)
        with self._tx() as s:
            row = JobRunRow(
                job=job,
                workspace=self.workspace,
                trigger=trigger,
                status="running",
                started_at=self._now(),
                attempt=attempt,
            )
            s.add(row)
            s.flush()
            return row.id

    def finish_run(
        self,
        run_id: int,
        status: str,
        error: str | None = None,
        detail: dict[str, Any] | None = None,
        *,
        next_retry_at: dt.datetime | None = None,
    ) -> JobRun:
        """Record how run ``run_id`` ended (``succeeded`` or ``failed``) and its duration."""
        check_final_status(status)
        now = self._now()
        with self._tx() as s:
            row = s.get(JobRunRow, run_id)
            if row is None:
                raise UnknownRunError(f"no job run {run_id}")
            row.status = status
            row.finished_at = now
            row.duration_s = (now - row.started_at).total_seconds()
            row.error = error
            row.detail = detail
            row.next_retry_at = next_retry_at
            return run_record(row)

    def runs(self, job: str | None = None, limit: int = 100) -> list[JobRun]:
        """The newest runs of this workspace (of one job, or all), newest first."""
        query = select(JobRunRow).where(JobRunRow.workspace == self.workspace)
        if job is not None:
            query = query.where(JobRunRow.job == job)
        query = query.order_by(JobRunRow.started_at.desc(), JobRunRow.id.desc()).limit(limit)
        with self._tx() as s:
            return [run_record(r) for r in s.scalars(query)]

    # -- workflow state ---------------------------------------------------------------------
    def alert_outbox(self, workspace: str | None = None) -> AlertOutbox:
        """The alert delivery state of ``workspace`` (default: :attr:`workspace`), see
        :mod:`costline.storage.state.outbox`."""
        return AlertOutbox(self._sessions, workspace or self.workspace, self.clock)

    def recommendations(self, workspace: str | None = None) -> RecommendationStore:
        """The recommendations and adoption records of ``workspace`` (default:
        :attr:`workspace`), see :mod:`costline.storage.state.recommendations`."""
        return RecommendationStore(self._sessions, workspace or self.workspace, self.clock)

    def ingest_history(self, workspace: str | None = None) -> IngestHistory:
        """What the ingest runs of ``workspace`` (default: :attr:`workspace`) did with each
        file, see :mod:`costline.storage.state.ingest_history`."""
        return IngestHistory(self._sessions, workspace or self.workspace, self.clock)

    # -- audit log --------------------------------------------------------------------------
    def audit(
        self,
        user: str | None,
        action: str,
        target: str | None,
        detail: dict[str, Any] | None = None,
        remote: str | None = None,
    ) -> None:
        """Record that ``user`` (None: the system) did ``action`` (e.g. ``anomaly.ack``) to
        ``target``. Never put secrets in ``detail``."""
        check_action(action)
        with self._tx() as s:
            self._audit(s, user, action, target, detail, remote)

    def audit_entries(
        self,
        limit: int = 100,
        *,
        action: str | None = None,
        user: str | None = None,
        target: str | None = None,
    ) -> list[AuditEntry]:
        """The newest audit entries, newest first (optionally of one action, user or
        target)."""
        query = select(AuditRow)
        if action is not None:
            query = query.where(AuditRow.action == action)
        if user is not None:
            query = query.where(AuditRow.user_name == user)
        if target is not None:
            query = query.where(AuditRow.target == target)
        query = query.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        with self._tx() as s:
            return [audit_record(r) for r in s.scalars(query)]

    def _audit(
        self,
        s: Session,
        user: str | None,
        action: str,
        target: str | None,
        detail: dict[str, Any] | None,
        remote: str | None,
    ) -> None:
        s.add(
            AuditRow(
                at=self._now(),
                user_name=user,
                action=action,
                target=target,
                detail=detail,
                remote=remote,
            )
        )

    # -- lookups ----------------------------------------------------------------------------
    @staticmethod
    def _user_query(name: str) -> Select[UserRow]:
        return select(UserRow).options(selectinload(UserRow.teams)).where(UserRow.name == name)

    def _user_row(self, s: Session, name: str) -> UserRow:
        row = s.scalar(self._user_query(name))
        if row is None:
            known = list(s.scalars(select(UserRow.name)))
            raise UnknownUserError(f"no user {name!r}", hint=suggest_user(name, known))
        return row


def _token_query(prefix_or_id: str | int) -> Select[ApiTokenRow]:
    if isinstance(prefix_or_id, int) or str(prefix_or_id).isdigit() and len(str(prefix_or_id)) < 8:
        return select(ApiTokenRow).where(ApiTokenRow.id == int(prefix_or_id))
    text = str(prefix_or_id)
    text = text.removeprefix(credentials.TOKEN_MARK)[: credentials.PREFIX_LEN]
    return select(ApiTokenRow).where(ApiTokenRow.prefix == text)

"""The state store's tables as SQLAlchemy 2 typed declarative models.

The models are the single description of the schema: the Alembic migrations under
``migrations/versions`` must produce exactly these tables (a test compares them on SQLite and
PostgreSQL). Change a model, then add a migration.

Timestamps are stored in UTC. :class:`UTCDateTime` is ``TIMESTAMP WITH TIME ZONE`` on
PostgreSQL and naive UTC text on SQLite (which has no time zone type); Python always sees
timezone-aware UTC datetimes and must pass aware ones.

Constraint names follow :data:`NAMING` so that migrations can refer to them on both engines.

Example:
    >>> sorted(Base.metadata.tables)[:3]
    ['api_tokens', 'audit_log', 'job_runs']
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
ROLES = ("admin", "finance", "team")
TRIGGERS = ("schedule", "manual", "retry")
RUN_STATUSES = ("running", "succeeded", "failed")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A UTC instant: aware datetimes in, aware UTC datetimes out, on every engine."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("state store timestamps must be timezone-aware (UTC)")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON}


class UserRow(Base):
    """A person or program that may use the API or the UI."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(200))
    # NOTE: "scrypt$n$r$p$salt$hash" (base64); NULL: no UI login, API tokens only.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]
    disabled_at: Mapped[dt.datetime | None]

    teams: Mapped[list[UserTeamRow]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserTeamRow.team"
    )


class UserTeamRow(Base):
    """A team whose cost centers a ``team`` member sees (one row per user and team)."""

    __tablename__ = "user_teams"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    team: Mapped[str] = mapped_column(String(100), primary_key=True)

    user: Mapped[UserRow] = relationship(back_populates="teams")


class ApiTokenRow(Base):
    """An API token: only its sha256 is stored; ``prefix`` identifies it in listings."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(8), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class SessionRow(Base):
    """A UI login session; ``id_hash`` is the sha256 of the cookie's random session id."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    last_seen_at: Mapped[dt.datetime]


class LoginAttemptRow(Base):
    """One password login attempt, for rate limiting per name and remote address."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_name_remote_at", "name", "remote", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    remote: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(index=True)
    ok: Mapped[bool]


class JobRunRow(Base):
    """One run of a scheduled or manual job (ingest, allocate, detect, ...)."""

    __tablename__ = "job_runs"
    __table_args__ = (
        CheckConstraint(_one_of("trigger", TRIGGERS), name="trigger"),
        CheckConstraint(_one_of("status", RUN_STATUSES), name="status"),
        Index("ix_job_runs_workspace_job_started_at", "workspace", "job", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(100))
    workspace: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    duration_s: Mapped[float | None] = mapped_column(Float)
    attempt: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None]
    next_retry_at: Mapped[dt.datetime | None]


class AuditRow(Base):
    """Who changed what, when: one row per action (``user_name`` NULL for the system)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    # NOTE: not "user": a reserved word on PostgreSQL.
    user_name: Mapped[str | None] = mapped_column(String(63))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(500))
    detail: Mapped[dict[str, Any] | None]
    remote: Mapped[str | None] = mapped_column(String(100))

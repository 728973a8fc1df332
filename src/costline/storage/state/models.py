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
    ['adoptions', 'alert_deliveries', 'alert_delivery_attempts']
"""

from __future__ import annotations

import datetime as dt
from decimal import Context, Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeEngine

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
DELIVERY_STATUSES = ("sending", "delivered", "failed", "superseded", "unreadable")
# NOTE: the same as costline.optimize.tickets.STATUSES (storage does not import optimize; a
# test keeps the two equal).
RECOMMENDATION_STATUSES = ("open", "ticketed", "actioned", "dismissed", "expired")
# NOTE: the same as costline.ingest.pipeline.Status (storage does not import ingest; a test
# keeps the two equal).
INGEST_FILE_STATUSES = (
    "loaded",
    "unchanged",
    "duplicate",
    "skipped",
    "manifest",
    "quarantined",
    "missing",
)


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


MONEY_SCALE = Decimal("1e-10")
MONEY_CONTEXT = Context(prec=38)


class Money(TypeDecorator[Decimal]):
    """An amount of money as an exact decimal with 10 places, like the warehouse's
    ``DECIMAL(38, 10)``: ``NUMERIC(38, 10)`` on PostgreSQL; the decimal's text on SQLite, whose
    NUMERIC would keep only 15 significant digits (it stores a float). Floats are refused.

    Example:
        >>> from sqlalchemy.dialects import sqlite
        >>> Money().process_bind_param(Decimal("304.375"), sqlite.dialect())
        '304.3750000000'
    """

    impl = Numeric(38, 10, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(60))
        return dialect.type_descriptor(Numeric(38, 10, asdecimal=True))

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money is Decimal in costline, never float")
        exact = Decimal(value).quantize(MONEY_SCALE, context=MONEY_CONTEXT)
        return format(exact, "f") if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        dt.datetime: UTCDateTime,
        dt.date: Date,
        dict[str, Any]: JSON,
        Decimal: Money,
    }


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


class AlertDeliveryRow(Base):
    """Delivery state of one alert revision on one channel (the alert outbox, see
    :mod:`costline.notify.deliver`); ``payload`` is the alert as JSON, so a later run can
    send it again."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        CheckConstraint(_one_of("status", DELIVERY_STATUSES), name="status"),
        Index("ix_alert_deliveries_workspace_status", "workspace", "status"),
    )

    workspace: Mapped[str] = mapped_column(String(200), primary_key=True)
    anomaly_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class AlertDeliveryAttemptRow(Base):
    """One attempt to deliver an alert revision to a channel: when, and what came of it."""

    __tablename__ = "alert_delivery_attempts"

    workspace: Mapped[str] = mapped_column(String(200), primary_key=True)
    anomaly_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(200), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempted_at: Mapped[dt.datetime]
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)


class RecommendationRow(Base):
    """One resource + recommendation of a workspace (``costline tickets``): the latest
    estimate, since when it is recommended, and where its ticket stands (lifecycle in
    :mod:`costline.optimize.tickets`). ``id`` is a stable hash of kind, rule and resource."""

    __tablename__ = "recommendations"
    __table_args__ = (
        CheckConstraint(_one_of("status", RECOMMENDATION_STATUSES), name="status"),
        Index("ix_recommendations_workspace_status", "workspace", "status"),
        Index("ix_recommendations_workspace_team", "workspace", "team"),
    )

    workspace: Mapped[str] = mapped_column(String(200), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(100))
    resource_id: Mapped[str] = mapped_column(Text)
    team: Mapped[str | None] = mapped_column(String(100))
    account: Mapped[str | None] = mapped_column(Text)
    monthly_savings: Mapped[Decimal]
    monthly_cost: Mapped[Decimal | None]
    details: Mapped[dict[str, Any] | None]
    first_seen: Mapped[dt.datetime]
    last_seen: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16))
    ticket_key: Mapped[str | None] = mapped_column(String(200))
    ticket_savings: Mapped[Decimal | None]
    reason: Mapped[str | None] = mapped_column(Text)
    realized_savings: Mapped[Decimal | None]
    updated_at: Mapped[dt.datetime]


class AdoptionRow(Base):
    """A recommendation the bill shows was acted on (:mod:`costline.optimize.adoption`): what
    changed on which day, and the savings measured from the bill since."""

    __tablename__ = "adoptions"

    workspace: Mapped[str] = mapped_column(String(200), primary_key=True)
    rec_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    action_date: Mapped[dt.date] = mapped_column(primary_key=True)
    resource_id: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(100))
    team: Mapped[str | None] = mapped_column(String(100))
    account: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(200))
    to_state: Mapped[str | None] = mapped_column(String(200))
    evidence: Mapped[str | None] = mapped_column(Text)
    estimated_monthly: Mapped[Decimal | None]
    baseline_daily: Mapped[Decimal | None]
    after_daily: Mapped[Decimal | None]
    after_days: Mapped[int] = mapped_column(Integer)
    realized_monthly: Mapped[Decimal | None]
    ticket_key: Mapped[str | None] = mapped_column(String(200))
    detected_at: Mapped[dt.datetime]
    measured_at: Mapped[dt.datetime]


class IngestFileRow(Base):
    """What one ingest run (one ``Workspace.ingest`` call) did with one input file: its
    status, kind and rows, the message (for a quarantined file the error, its fix and where
    the quarantined copy went) and the ingestion that loaded it (NULL unless loaded). The
    file's path only, never its contents. The ingest manifest itself stays in the warehouse,
    committed with the data it describes (see :mod:`costline.storage.state.ingest_history`)."""

    __tablename__ = "ingest_files"
    __table_args__ = (
        CheckConstraint(_one_of("status", INGEST_FILE_STATUSES), name="status"),
        Index("ix_ingest_files_workspace_at", "workspace", "at"),
        Index("ix_ingest_files_workspace_status_at", "workspace", "status", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[str] = mapped_column(String(64))
    file: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(100))
    rows: Mapped[int] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(Text)
    ingestion_id: Mapped[str | None] = mapped_column(String(64))
    seconds: Mapped[float] = mapped_column(Float)
    at: Mapped[dt.datetime]

"""What the state store returns: plain frozen dataclasses (no ORM object leaves a session),
and the errors it raises for names that do not exist or already do.

Example:
    >>> import datetime as dt
    >>> t0 = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    >>> u = User(1, "alice", "team", ("payments",), None, t0, None, has_password=False)
    >>> u.active, u.sees_all_teams
    (True, False)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from costline.core.errors import ConflictError, NotFoundError

Role = Literal["admin", "finance", "team"]
Trigger = Literal["schedule", "manual", "retry"]
RunStatus = Literal["running", "succeeded", "failed"]


@dataclass(frozen=True)
class User:
    """A user; ``teams`` are the team ids a ``team`` member sees (empty for other roles)."""

    id: int
    name: str
    role: Role
    teams: tuple[str, ...]
    display_name: str | None
    created_at: dt.datetime
    disabled_at: dt.datetime | None
    has_password: bool = False

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def sees_all_teams(self) -> bool:
        """Admins and finance see every cost center; team members only their teams'."""
        return self.role in ("admin", "finance")


@dataclass(frozen=True)
class ApiToken:
    """An API token as listings show it: never its value or hash, only the prefix."""

    id: int
    user: str
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def status(self, now: dt.datetime) -> Literal["active", "revoked", "expired"]:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class JobRun:
    """One run of a job; ``duration_s`` and ``finished_at`` are None while it runs."""

    id: int
    job: str
    workspace: str
    trigger: Trigger
    status: RunStatus
    started_at: dt.datetime
    finished_at: dt.datetime | None
    duration_s: float | None
    attempt: int
    error: str | None
    detail: dict[str, Any] | None
    next_retry_at: dt.datetime | None


@dataclass(frozen=True)
class AuditEntry:
    """Who (``user``; None for the system) did what (``action``) to what (``target``), when."""

    id: int
    at: dt.datetime
    user: str | None
    action: str
    target: str | None
    detail: dict[str, Any] | None
    remote: str | None


@dataclass(frozen=True)
class Recommendation:
    """One stored recommendation (``costline tickets list``); money is Decimal, times are
    aware UTC, ``details`` what the optimizer said (types, evidence, currency, ...)."""

    id: str
    kind: str
    rule: str
    resource_id: str
    team: str | None
    account: str | None
    monthly_savings: Decimal
    monthly_cost: Decimal | None
    details: dict[str, Any]
    first_seen: dt.datetime
    last_seen: dt.datetime
    status: str
    ticket_key: str | None
    ticket_savings: Decimal | None
    reason: str | None
    realized_savings: Decimal | None
    updated_at: dt.datetime


@dataclass(frozen=True)
class AdoptionRecord:
    """One recorded adoption: the action the bill showed for ``rec_id`` on ``action_date``
    and the savings measured since (``after_days`` days after the action)."""

    rec_id: str
    action_date: dt.date
    resource_id: str
    kind: str
    rule: str
    team: str | None
    account: str | None
    action: str
    from_state: str | None
    to_state: str | None
    evidence: str | None
    estimated_monthly: Decimal | None
    baseline_daily: Decimal | None
    after_daily: Decimal | None
    after_days: int
    realized_monthly: Decimal | None
    ticket_key: str | None
    detected_at: dt.datetime
    measured_at: dt.datetime


@dataclass(frozen=True)
class IngestFile:
    """What one ingest run (``run_id``) did with one input file, recorded at ``at`` (UTC):
    ``status`` as :class:`costline.ingest.pipeline.FileOutcome` has it (``loaded``,
    ``unchanged``, ``quarantined``, ``missing``, ...), ``message`` (for a quarantined file the
    error, its fix and where the copy went), ``ingestion_id`` only when it was loaded."""

    id: int
    run_id: str
    file: str
    status: str
    kind: str | None
    rows: int
    message: str
    ingestion_id: str | None
    seconds: float
    at: dt.datetime


class UnknownUserError(NotFoundError):
    """No user by that name."""


class DuplicateUserError(ConflictError):
    """A user by that name exists already."""


class UnknownTokenError(NotFoundError):
    """No API token with that prefix or id."""


class UnknownRunError(NotFoundError):
    """No job run with that id."""


class UnknownRecommendationError(NotFoundError):
    """No recommendation with that id in this workspace."""

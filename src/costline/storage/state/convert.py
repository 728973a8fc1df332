"""ORM rows to the frozen records the store returns (no ORM object leaves a session)."""

from __future__ import annotations

from typing import Any, cast

from costline.storage.state.models import ApiTokenRow, AuditRow, JobRunRow, UserRow
from costline.storage.state.records import ApiToken, AuditEntry, JobRun, Role, User


def user_record(row: UserRow) -> User:
    return User(
        id=row.id,
        name=row.name,
        role=cast(Role, row.role),
        teams=tuple(t.team for t in row.teams),
        display_name=row.display_name,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
        has_password=row.password_hash is not None,
    )


def token_record(row: ApiTokenRow, owner: str) -> ApiToken:
    return ApiToken(
        id=row.id,
        user=owner,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def run_record(row: JobRunRow) -> JobRun:
    return JobRun(
        id=row.id,
        job=row.job,
        workspace=row.workspace,
        trigger=cast(Any, row.trigger),
        status=cast(Any, row.status),
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_s=row.duration_s,
        attempt=row.attempt,
        error=row.error,
        detail=row.detail,
        next_retry_at=row.next_retry_at,
    )


def audit_record(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        user=row.user_name,
        action=row.action,
        target=row.target,
        detail=row.detail,
        remote=row.remote,
    )

"""User, token and audit administration over the API (admin only), the same operations as
``costline users ...``: an identity team or an internal tool manages access without a shell on
the server.

Every change is in the audit log with the admin's name and address; a new token is in the
answer once and never again (only its prefix is listed). Errors use the one error shape: an
unknown user or token is 404, a taken name 409, a bad role, team or password 400.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from costline.api.auth import Principal, check_csrf, principal, require_role
from costline.api.downloads import Format, jsonable, table_response
from costline.api.errors import ApiError

router = APIRouter(tags=["access"])
Who = Annotated[Principal, Depends(principal)]
Fmt = Annotated[Format, Query(alias="format", description="json, csv or xlsx")]
USER_COLUMNS = ("name", "role", "teams", "display_name", "created_at", "disabled_at", "password")
TOKEN_COLUMNS = (
    "id",
    "user",
    "name",
    "prefix",
    "status",
    "created_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
)
AUDIT_COLUMNS = ("id", "at", "user", "action", "target", "detail", "remote")


class NewUser(BaseModel):
    """A user to create: ``teams`` only for the role ``team``; ``password`` for the web UI."""

    name: str = Field(min_length=1, max_length=100)
    role: str
    teams: list[str] = Field(default_factory=list, max_length=100)
    display_name: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, max_length=1000)


class NewToken(BaseModel):
    name: str = Field(default="api", min_length=1, max_length=100)


def _admin(request: Request, who: Principal) -> tuple[Any, dict[str, Any]]:
    """The state store and the audit fields, after the role and CSRF checks."""
    require_role(who, "admin")
    check_csrf(request, who)
    remote = request.client.host if request.client else None
    return request.app.state.store, {"actor": who.name, "remote": remote}


def _user(u: Any) -> dict[str, Any]:
    return {
        "name": u.name,
        "role": u.role,
        "teams": list(u.teams),
        "display_name": u.display_name,
        "created_at": jsonable(u.created_at),
        "disabled_at": jsonable(u.disabled_at),
        "password": u.has_password,
    }


def _token(t: Any) -> tuple[Any, ...]:
    status = t.status(dt.datetime.now(dt.UTC).replace(tzinfo=t.created_at.tzinfo))
    return (
        t.id,
        t.user,
        t.name,
        t.prefix,
        status,
        t.created_at,
        t.last_used_at,
        t.expires_at,
        t.revoked_at,
    )


@router.get("/users")
def list_users(request: Request, who: Who, fmt: Fmt = Format.json) -> Response:
    """Every user (disabled ones too), by name."""
    require_role(who, "admin")
    users = [_user(u) for u in request.app.state.store.list_users()]
    rows = [tuple(u[c] if c != "teams" else ",".join(u[c]) for c in USER_COLUMNS) for u in users]
    return table_response(USER_COLUMNS, rows, fmt, name="users", meta={"total": len(rows)})


@router.post("/users", status_code=201)
def add_user(request: Request, who: Who, body: Annotated[NewUser, Body()]) -> dict[str, Any]:
    """Create a user and its first API token (in this answer only); 409 if the name is taken."""
    store, audit = _admin(request, who)
    user, token = store.add_user(
        body.name,
        body.role,
        body.teams,
        display_name=body.display_name,
        password=body.password,
        **audit,
    )
    return {"user": _user(user), "token": token}


@router.get("/users/{name}")
def get_user(request: Request, who: Who, name: str) -> dict[str, Any]:
    """One user (404 if unknown)."""
    require_role(who, "admin")
    return _user(request.app.state.store.get_user(name))


@router.post("/users/{name}/disable")
def disable_user(request: Request, who: Who, name: str) -> dict[str, Any]:
    """Disable a user: its tokens stop working at once and its sessions end."""
    store, audit = _admin(request, who)
    if name == who.name:
        raise ApiError(400, "an admin may not disable themself", hint="ask another admin")
    user = store.disable_user(name, **audit)
    request.app.state.tokens.clear()  # no token of theirs is taken on trust any longer
    return _user(user)


@router.get("/users/{name}/tokens")
def list_tokens(request: Request, who: Who, name: str, fmt: Fmt = Format.json) -> Response:
    """A user's tokens: prefixes, names, times and status; never a secret."""
    require_role(who, "admin")
    rows = [_token(t) for t in request.app.state.store.list_tokens(name)]
    return table_response(
        TOKEN_COLUMNS, rows, fmt, name=f"tokens-{name}", meta={"total": len(rows)}
    )


@router.post("/users/{name}/tokens", status_code=201)
def create_token(
    request: Request, who: Who, name: str, body: Annotated[NewToken | None, Body()] = None
) -> dict[str, Any]:
    """A new API token for the user (in this answer only)."""
    store, audit = _admin(request, who)
    token = store.create_token(name, (body or NewToken()).name, **audit)
    return {"user": name, "token": token, "prefix": token.split("_")[1]}


@router.post("/tokens/{prefix}/revoke")
def revoke_token(request: Request, who: Who, prefix: str) -> dict[str, Any]:
    """Revoke a token by its prefix (as listed); it stops working at once."""
    store, audit = _admin(request, who)
    token = store.revoke_token(prefix, **audit)
    request.app.state.tokens.clear()
    return dict(zip(TOKEN_COLUMNS, jsonable(list(_token(token))), strict=True))


@router.get("/audit")
def audit(
    request: Request,
    who: Who,
    action: str | None = None,
    user: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    fmt: Fmt = Format.json,
) -> Response:
    """Who changed what, when: the newest entries first (admin)."""
    require_role(who, "admin")
    entries = request.app.state.store.audit_entries(limit, action=action, user=user)
    rows = [tuple(getattr(e, c) for c in AUDIT_COLUMNS) for e in entries]
    return table_response(AUDIT_COLUMNS, rows, fmt, name="audit", meta={"total": len(rows)})


__all__ = ["router"]

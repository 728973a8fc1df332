"""Who is calling: an API token (``Authorization: Bearer cl_...``) or a UI session cookie.

Roles (issue #6): ``admin`` (everything, users included), ``finance`` (every cost center, read
and act), ``team`` (only the teams listed for the user, enforced in every query through
:class:`costline.reports.queries.Scope`). A request with neither credential is 401; a role that
may not do a thing is 403. Forms posted with a session cookie carry its CSRF token (header
``X-CSRF-Token`` or form field ``csrf_token``); token-authenticated calls need none (no
ambient credential a browser could send by itself).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from costline.api.errors import ApiError

SESSION_COOKIE = "costline_session"
ROLES = ("admin", "finance", "team")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    name: str
    role: str
    teams: frozenset[str]
    via: str  # token | session
    csrf: str | None = None

    @property
    def sees_all(self) -> bool:
        return self.role in ("admin", "finance")

    def may_see_team(self, team: str | None) -> bool:
        return self.sees_all or (team is not None and team in self.teams)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def cached_principal(request: Request) -> Principal | None:
    """The caller when their token was checked lately (no state store access: fit for the
    event loop), else None (then :func:`authenticate`, in a worker thread)."""
    token = _bearer(request)
    tokens = getattr(request.app.state, "tokens", None)
    if token is None or tokens is None:
        return None
    user = tokens.get(hashlib.sha256(token.encode()).hexdigest())
    return None if user is None else _principal(user, "token")


def authenticate(request: Request) -> Principal | None:
    """The caller, or None when no credential is valid (never says which part was wrong).
    A valid token is remembered for a few seconds (:class:`costline.api.cache.TokenCache`)."""
    store = request.app.state.store
    token = _bearer(request)
    if token is not None:
        tokens = getattr(request.app.state, "tokens", None)
        digest = hashlib.sha256(token.encode()).hexdigest()
        user = tokens.get(digest) if tokens is not None else None
        if user is None:
            user = store.authenticate_token(token)
            if user is not None and tokens is not None:
                tokens.put(digest, user)
        return None if user is None else _principal(user, "token")
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        found = store.session_user(session)
        if found is not None:
            user, csrf = found
            return _principal(user, "session", csrf)
    return None


def _principal(user: Any, via: str, csrf: str | None = None) -> Principal:
    return Principal(user.name, user.role, frozenset(user.teams), via, csrf)


def principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, or 401 in the one error shape."""
    found = getattr(request.state, "principal", None) or authenticate(request)
    if found is None:
        raise ApiError(
            401,
            "authentication required",
            hint="send `Authorization: Bearer <token>` (costline users token NAME) or log in",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.principal = found
    return found


def check_csrf(request: Request, who: Principal, form_token: str | None = None) -> None:
    """A session-authenticated state change must echo the session's CSRF token."""
    if request.method not in UNSAFE or who.via != "session":
        return
    sent = request.headers.get("x-csrf-token") or form_token or ""
    if not who.csrf or not hmac.compare_digest(sent.encode(), who.csrf.encode()):
        raise ApiError(403, "missing or wrong CSRF token", hint="reload the page and try again")


def require_role(who: Principal, *roles: str) -> None:
    if who.role not in roles:
        raise ApiError(
            403,
            f"the role {who.role!r} may not do this",
            hint=f"ask an admin; this needs the role {' or '.join(roles)}",
        )


def require_team(who: Principal, team: str | None) -> None:
    """403 unless the caller may see ``team``'s costs."""
    if not who.may_see_team(team):
        raise ApiError(403, f"you may not see team {team!r}", hint="ask an admin for access")

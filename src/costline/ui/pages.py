"""The web UI of ``costline serve``: server-rendered pages over the query layer.

:func:`mount` adds the pages at ``/``, the assets at ``/static`` and, for every page, an HTML
error page with the status the API would answer (the API under ``/api`` keeps its one JSON
error shape). Pages read through :mod:`costline.reports.queries` with the caller's
:class:`~costline.reports.queries.Scope`, so a team member's page holds only their teams' rows;
a page about another team answers 403.

Security: a page without a session redirects (303) to ``/login``; the login form carries a
double-submit CSRF token (cookie + field), is rate limited by the state store (429 after
``max_failures`` failed logins) and sets the ``costline_session`` cookie HttpOnly,
SameSite=Lax, Secure unless the app serves plain HTTP (``secure_cookies=False``). Every form
that changes something posts the session's CSRF token. Every page is sent with
``Content-Security-Policy`` (scripts and styles from this server only: chart data travels in
JSON islands), ``X-Frame-Options: DENY`` and ``Cache-Control: no-store``.

Downloads are links to the API's list endpoints with ``format=csv|xlsx``: the session cookie
authenticates them, and the API applies the same access rules.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from costline.api.auth import SESSION_COOKIE, Principal, authenticate, check_csrf, require_team
from costline.api.errors import ApiError, status_of
from costline.core.errors import ConfigError, CostlineError, NotFoundError
from costline.notify.tickets import what_to_do
from costline.ui import present
from costline.ui.present import Names

log = logging.getLogger("costline.ui")

UI = Path(str(files("costline.ui")))
LOGIN_CSRF_COOKIE = "costline_login_csrf"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Paths whose errors keep the API's JSON shape (and whose pages are not ours).
NOT_PAGES = ("/api/", "/docs", "/health", "/metrics", "/static/")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$")
TEAM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")
ANOMALY_ACTIONS = {"ack": "acknowledged", "dismiss": "dismissed", "expected": "marked expected"}
ANOMALY_FILTERS = ("open", "acked", "dismissed", "expected", "resolved", "all")
RECOMMENDATION_FILTERS = ("open", "ticketed", "actioned", "dismissed", "expired", "all")
LIST_LIMIT = 200

router = APIRouter(include_in_schema=False)


class LoginRequired(Exception):
    """No valid session: the page redirects to the login form, then back to ``next_path``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


# -- mounting -----------------------------------------------------------------------------------
def mount(app: FastAPI) -> None:
    """Add the UI to the API's app: pages, ``/static``, HTML errors, security headers."""
    app.state.ui_templates = Environment(
        loader=FileSystemLoader(str(UI / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env = app.state.ui_templates
    env.filters["money"] = present.money
    env.filters["percent"] = present.percent
    env.filters["provider"] = present.provider_name
    env.filters["month_label"] = present.month_label
    env.filters["series"] = present.series_text
    env.filters["cause"] = present.cause_text
    env.filters["resource"] = present.resource_name
    env.globals["anomaly_status"] = present.ANOMALY_STATUS
    app.state.ui_names = {}
    app.mount("/static", StaticFiles(directory=str(UI / "static")), name="static")
    app.include_router(router)
    _install_error_pages(app)

    @app.middleware("http")
    async def _headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        path = request.url.path
        if not path.startswith("/docs"):  # Swagger UI needs its own scripts
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
        if _is_page(path):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _is_page(path: str) -> bool:
    return not any(path == p.rstrip("/") or path.startswith(p) for p in NOT_PAGES)


def _install_error_pages(app: FastAPI) -> None:
    """Errors of pages render the HTML error page; the API's stay JSON (its handlers)."""
    json_handlers = dict(app.exception_handlers)

    def delegate(kind: type[BaseException]) -> Any:
        found = json_handlers.get(kind)
        if found is None:  # pragma: no cover - errors.install registers every kind
            raise RuntimeError(f"the API has no handler for {kind.__name__}")
        return found

    api_error, costline_error = delegate(ApiError), delegate(CostlineError)
    http_error, validation_error = (
        delegate(StarletteHTTPException),
        delegate(RequestValidationError),
    )
    unexpected = delegate(Exception)

    async def on_login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse("/login?" + urlencode({"next": exc.next_path}), status_code=303)

    async def on_api_error(request: Request, exc: Exception) -> Response:
        if not _is_page(request.url.path):
            return await api_error(request, exc)  # type: ignore[no-any-return]
        assert isinstance(exc, ApiError)
        return error_page(request, exc.status, exc.message, exc.hint, exc.headers)

    async def on_costline_error(request: Request, exc: Exception) -> Response:
        if not _is_page(request.url.path):
            return await costline_error(request, exc)  # type: ignore[no-any-return]
        assert isinstance(exc, CostlineError)
        status = status_of(exc)
        if status >= 500:
            log.error("page %s failed: %s", request.url.path, exc.message)
        return error_page(request, status, exc.message, exc.hint)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        if not _is_page(request.url.path):
            return await http_error(request, exc)  # type: ignore[no-any-return]
        assert isinstance(exc, StarletteHTTPException)
        message = {404: "There is no such page.", 405: "This page cannot be used that way."}
        return error_page(
            request,
            exc.status_code,
            message.get(exc.status_code, str(exc.detail)),
            headers=dict(exc.headers or {}),
        )

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        if not _is_page(request.url.path):
            return await validation_error(request, exc)  # type: ignore[no-any-return]
        return error_page(request, 400, "The page was asked for with invalid parameters.")

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        if not _is_page(request.url.path):
            return await unexpected(request, exc)  # type: ignore[no-any-return]
        log.exception("page %s failed", request.url.path)
        return error_page(
            request, 500, "Something went wrong on the server.", "The server log has the details."
        )

    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(CostlineError, on_costline_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)


# -- rendering ----------------------------------------------------------------------------------
TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Access denied",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    429: "Too many attempts",
    500: "Server error",
    503: "Temporarily unavailable",
}


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    env: Environment = request.app.state.ui_templates
    who = getattr(request.state, "principal", None)
    page = env.get_template(template).render(
        {
            "who": who,
            "csrf": who.csrf if isinstance(who, Principal) else None,
            "path": request.url.path,
            "request_id": getattr(request.state, "request_id", None),
            **context,
        }
    )
    return HTMLResponse(page, status_code=status, headers=dict(headers or {}))


def error_page(
    request: Request,
    status: int,
    message: str,
    hint: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The HTML error page, with the status the API would answer."""
    if getattr(request.state, "principal", None) is None:
        try:
            found = authenticate(request)
        except Exception:  # the store is down: show the error without the menu
            found = None
        request.state.principal = found
    context = {"status": status, "title": TITLES.get(status, "Error"), "message": message}
    return render(request, "error.html", {**context, "hint": hint}, status=status, headers=headers)


# -- who is asking ------------------------------------------------------------------------------
def login_required(request: Request) -> Principal:
    """The signed-in caller, or :class:`LoginRequired` (303 to the login form)."""
    found = authenticate(request)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "/")  # a form: start over
    request.state.principal = found
    return found


def scope_of(who: Principal) -> Any:
    from costline.reports.queries import Scope

    return Scope(all=who.sees_all, teams=who.teams)


def names(request: Request) -> Names:
    """Display names from the workspace's owners.yaml, re-read when the file changes."""
    ws = request.app.state.ws
    path: Path = ws.owners_path
    try:
        stat = path.stat()
    except OSError:
        return Names.empty()
    cache: dict[str, Any] = request.app.state.ui_names
    key = (stat.st_mtime_ns, stat.st_size)
    if cache.get("key") != key:
        try:
            cache["names"] = Names.of_owners(ws.owners())
        except CostlineError as exc:  # a broken owners.yaml must not take the UI down
            log.warning("owners.yaml unreadable, showing ids: %s", exc.message)
            cache["names"] = Names.empty()
        cache["key"] = key
    found: Names = cache["names"]
    return found


def safe_next(value: str | None) -> str:
    """A local path to return to after login (never another site).

    Example:
        >>> safe_next("/teams/web?month=2026-09"), safe_next("//evil.example/"), safe_next(None)
        ('/teams/web?month=2026-09', '/', '/')
    """
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(c in value for c in "\r\n\\") or len(value) > 2000:
        return "/"
    return value


def remote_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _month_param(value: str | None, name: str = "month") -> str | None:
    if value in (None, ""):
        return None
    if not MONTH.match(value):
        raise ApiError(
            400, f"{name} {value[:20]!r} is not a month", hint="write YYYY-MM, e.g. 2026-09"
        )
    return value


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise ApiError(
            400, f"{name} {value[:40]!r} is not known", hint=f"use one of {', '.join(allowed)}"
        )
    return value


def api_link(path: str, **params: Any) -> str:
    """A link to an API endpoint (``filters`` become repeated ``filter=``)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        if key == "filters":
            pairs += [("filter", f) for f in value]
        else:
            pairs.append((key, str(value)))
    return f"/api/v1{path}?{urlencode(pairs)}" if pairs else f"/api/v1{path}"


def downloads(path: str, **params: Any) -> dict[str, str]:
    """The CSV and XLSX links of one API list."""
    return {fmt: api_link(path, **params, format=fmt) for fmt in ("csv", "xlsx")}


# -- login and logout ---------------------------------------------------------------------------
def _login_form(
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    name: str = "",
    next_path: str = "/",
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not re.fullmatch(r"[A-Za-z0-9_-]{32,100}", token):
        token = secrets.token_urlsafe(32)
    context = {"error": error, "name": name, "next": next_path, "login_csrf": token}
    response = render(request, "login.html", context, status=status, headers=headers)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=bool(request.app.state.secure_cookies),
    )
    return response


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    """The sign-in form (a signed-in caller goes straight on)."""
    target = safe_next(next)
    if authenticate(request) is not None:
        return RedirectResponse(target, status_code=303)
    return _login_form(request, next_path=target)


@router.post("/login")
def login(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password (rate limited) and start a session."""
    target = safe_next(next)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not csrf_token or not hmac.compare_digest(cookie, csrf_token):
        raise ApiError(
            403,
            "The sign-in form expired or did not come from this site.",
            hint="Open the sign-in page again and retry (cookies must be enabled).",
        )
    store = request.app.state.store
    remote = remote_of(request)
    name = name.strip()
    blocked = store.login_blocked(name, remote)
    user = store.verify_password(name, password, remote)
    if blocked:
        wait = int(store.failure_window.total_seconds())
        return _login_form(
            request,
            status=429,
            error=f"Too many failed sign-ins for this name. Try again in {wait // 60} minutes, "
            "or ask an admin to reset your password.",
            name=name,
            next_path=target,
            headers={"Retry-After": str(wait)},
        )
    if user is None:
        return _login_form(
            request, status=401, error="Wrong name or password.", name=name, next_path=target
        )
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        store.end_session(old)
    session_id, _ = store.create_session(user)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(store.session_ttl.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=bool(request.app.state.secure_cookies),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    """End the session (the form carries its CSRF token)."""
    who = authenticate(request)
    session = request.cookies.get(SESSION_COOKIE)
    if who is None or who.via != "session" or not session:
        return RedirectResponse("/login", status_code=303)
    request.state.principal = who
    check_csrf(request, who, csrf_token)
    store = request.app.state.store
    store.end_session(session)
    store.audit(who.name, "user.logout", who.name, remote=remote_of(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=bool(request.app.state.secure_cookies),
    )
    return response


# -- overview -----------------------------------------------------------------------------------
def _months(con: Any, scope: Any, request: Request) -> list[str]:
    """The months with cost the scope may see, newest first."""
    from costline.reports.queries import MAX_LIMIT, costs

    page = costs(
        con, scope=scope, granularity="month", limit=MAX_LIMIT, stale_ok=_maintained(request)
    )
    return sorted({str(r[0]) for r in page.rows}, reverse=True)


def _maintained(request: Request) -> bool:
    """The server refreshes the marts after every load (see Workspace.marts_maintained)."""
    return bool(request.app.state.ws.marts_maintained)


def _stale_note(as_of: dt.datetime | None) -> tuple[str, ...]:
    if as_of is None:
        return ()
    return (
        f"Figures as of {as_of:%Y-%m-%d %H:%M} UTC: newer data is loading and is being "
        "summarised; reload in a minute.",
    )


def _rows(page: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in page.records()] if page is not None else []


def _chart_rows(rows: list[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["currency"] == currency]


@router.get("/")
def overview(request: Request, month: str | None = None) -> Response:
    """Spend of one month: KPIs, daily trend with forecast, by provider, service and team."""
    from costline.reports import queries

    who = login_required(request)
    scope = scope_of(who)
    wanted = _month_param(month)
    with request.app.state.ws.warehouse(read_only=True) as wh:
        months = _months(wh.con, scope, request)
        if wanted is None and not months:
            return render(request, "overview.html", {"empty": True, "months": []})
        got = queries.overview(
            wh.con, scope=scope, month=wanted or months[0], stale_ok=_maintained(request)
        )
    shown = got.month
    first, end = present.month_bounds(shown)
    daily = _rows(got.daily)
    totals = present.by_currency(daily)
    currency = next(iter(totals), None)
    who_names = names(request)
    providers, services = _rows(got.by_provider), _rows(got.by_service)
    teams = _rows(got.by_team)
    for r in teams:
        r["name"] = who_names.team(r["team"])
        r["link"] = bool(r["team"]) and who_names.is_team(r["team"]) and who.may_see_team(r["team"])
    charts: dict[str, Any] = {}
    kpis: list[dict[str, Any]] = []
    if currency is not None:
        forecast = {f["currency"]: f for f in got.forecast}
        mom = {m["currency"]: m for m in got.month_over_month}
        spend = {dt.date.fromisoformat(r["day"]): r["cost"] for r in _chart_rows(daily, currency)}
        charts["trend"] = present.daily_trend(
            shown, currency, spend, forecast.get(currency), title=""
        )
        for key, rows, label, title in (
            ("by-provider", providers, "provider", "Spend by provider"),
            ("by-service", services, "service", "Top 10 services"),
            ("by-team", teams, "name", "Spend by team"),
        ):
            mine = _chart_rows(rows, currency)
            if mine:
                labels = [
                    present.provider_name(r[label]) if label == "provider" else str(r[label] or "—")
                    for r in mine
                ]
                charts[key] = present.bar_chart(
                    "", currency, labels, [r["cost"] for r in mine], series=title
                )
        for code in totals:
            f, m = forecast.get(code, {}), mom.get(code, {})
            kpis.append({"currency": code, "forecast": f, "mom": m})
    span = {"start": first.isoformat(), "end": end.isoformat()}
    context = {
        "empty": False,
        "month": shown,
        "months": months if shown in months else [shown, *months],
        "data_through": got.data_through,
        "notes": (*got.notes, *_stale_note(got.stale_as_of)),
        "currency": currency,
        "other_currencies": [c for c in totals if c != currency],
        "kpis": kpis,
        "charts": charts,
        "providers": providers,
        "services": services,
        "teams": teams,
        "has_teams": got.by_team is not None,
        "downloads": {
            "trend": downloads("/costs", group_by="day", **span),
            "provider": downloads("/costs", group_by="provider", **span),
            "service": downloads("/costs", group_by="service", **span),
            "team": downloads("/costs", group_by="team", **span),
        },
    }
    return render(request, "overview.html", context)


# -- teams --------------------------------------------------------------------------------------
@router.get("/teams")
def teams_index(request: Request) -> Response:
    """The teams the caller may see, with their cost centers."""
    who = login_required(request)
    known = names(request)
    ids = sorted(known.teams) if who.sees_all else sorted(who.teams)
    rows = [
        {
            "id": t,
            "name": known.team(t),
            "cost_center": known.team_cost_center.get(t),
            "cost_center_name": known.cost_center(known.team_cost_center.get(t)),
        }
        for t in ids
    ]
    return render(request, "teams.html", {"teams": rows})


@router.get("/teams/{team}")
def team_page(request: Request, team: str, month: str | None = None) -> Response:
    """One team: its chargeback by cost center, daily trend, anomalies and recommendations."""
    from costline.reports import queries

    who = login_required(request)
    require_team(who, team)  # before anything else: another team's page says nothing more
    known = names(request)
    if not TEAM.match(team):
        raise ApiError(404, f"there is no team {team[:60]!r}", hint="see the list of teams")
    scope = queries.Scope.of_teams([team])
    wanted = _month_param(month)
    chargeback: list[dict[str, Any]] = []
    notes: list[str] = []
    with request.app.state.ws.warehouse(read_only=True) as wh:
        months = _months(wh.con, scope, request)
        if not months and not known.is_team(team):
            raise ApiError(404, f"there is no team {team[:60]!r}", hint="see the list of teams")
        shown = wanted or (months[0] if months else None)
        first, end = present.month_bounds(shown) if shown else (None, None)
        trend = (
            _rows(
                queries.costs(
                    wh.con,
                    scope=scope,
                    group_by=["day"],
                    start=first,
                    end=end,
                    limit=queries.MAX_LIMIT,
                    stale_ok=_maintained(request),
                )
            )
            if shown
            else []
        )
        if shown:
            try:
                page = queries.chargeback(
                    wh.con, period=shown, scope=scope, limit=queries.MAX_LIMIT
                )
                chargeback = _rows(page)
            except ConfigError as exc:
                notes.append(exc.message)
        anomalies = _rows(queries.anomalies(wh.con, scope=scope, status="all", limit=50))
        fallback = _main_currency(wh.con)
    recommendations = _rows(
        queries.recommendations(
            request.app.state.ws.recommendation_store(),
            scope=scope,
            status="open",
            limit=LIST_LIMIT,
        )
    )
    _describe_recommendations(recommendations, known, fallback)
    for r in chargeback:
        r["cost_center_name"] = known.cost_center(r["cost_center"])
    totals = present.by_currency(chargeback, "total")
    trend_totals = present.by_currency(trend)
    currency = next(iter(trend_totals), None)
    charts: dict[str, Any] = {}
    if shown and currency:
        spend = {dt.date.fromisoformat(r["day"]): r["cost"] for r in _chart_rows(trend, currency)}
        charts["team-trend"] = present.daily_trend(shown, currency, spend, None, title="")
    span = {"start": first.isoformat(), "end": end.isoformat()} if first and end else {}
    context = {
        "team": team,
        "team_name": known.team(team),
        "cost_center": known.team_cost_center.get(team),
        "cost_center_name": known.cost_center(known.team_cost_center.get(team)),
        "month": shown,
        "months": months,
        "notes": notes,
        "chargeback": chargeback,
        "totals": totals,
        "trend_totals": trend_totals,
        "charts": charts,
        "anomalies": anomalies,
        "recommendations": recommendations,
        "savings": present.by_currency(recommendations, "monthly_savings"),
        "downloads": {
            "trend": downloads("/costs", group_by="day", filters=[f"team={team}"], **span),
            "chargeback": downloads("/chargeback", period=shown, team=team),
            "anomalies": downloads("/anomalies", status="all", team=team),
            "recommendations": downloads("/recommendations", status="open", team=team),
        },
    }
    return render(request, "team.html", context)


# -- anomalies ----------------------------------------------------------------------------------
@router.get("/anomalies")
def anomalies_page(request: Request, status: str = "open", changed: str | None = None) -> Response:
    """Anomalies of the caller's scope, with Acknowledge and Dismiss."""
    from costline.reports import queries

    who = login_required(request)
    _choice(status, ANOMALY_FILTERS, "status")
    with request.app.state.ws.warehouse(read_only=True) as wh:
        page = queries.anomalies(wh.con, scope=scope_of(who), status=status, limit=LIST_LIMIT)
    rows = _rows(page)
    known = names(request)
    for r in rows:
        r["team_name"] = known.team(r["team"])
        r["team_link"] = bool(r["team"]) and known.is_team(r["team"])
    flash = None
    if changed and ID.match(changed.partition(":")[2]):
        action, _, anomaly_id = changed.partition(":")
        if action in ANOMALY_ACTIONS:
            flash = f"Anomaly {anomaly_id} is now {ANOMALY_ACTIONS[action]}."
    context = {
        "rows": rows,
        "status": status,
        "filters": ANOMALY_FILTERS,
        "total": page.total,
        "notes": page.notes,
        "flash": flash,
        "downloads": downloads("/anomalies", status=status),
    }
    return render(request, "anomalies.html", context)


def _anomaly_team(request: Request, anomaly_id: str) -> str | None:
    from costline.reports.marts import table_exists

    with request.app.state.ws.warehouse(read_only=True) as wh:
        row = (
            wh.con.execute("SELECT team FROM anomalies WHERE id = ?", [anomaly_id]).fetchone()
            if table_exists(wh.con, "anomalies")
            else None
        )
    if row is None:
        raise ApiError(
            404, f"there is no anomaly {anomaly_id[:80]!r}", hint="see the anomalies list"
        )
    team: str | None = row[0]
    return team


@router.post("/anomalies/{anomaly_id}/{action}")
def anomaly_action(
    request: Request,
    anomaly_id: str,
    action: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=20)] = "open",
) -> Response:
    """Acknowledge, dismiss or mark expected (as ``POST /api/v1/anomalies/{id}/{action}``)."""
    who = login_required(request)
    check_csrf(request, who, csrf_token)
    if action not in ANOMALY_ACTIONS:
        raise ApiError(404, f"no action {action[:20]!r}", hint="use ack, dismiss or expected")
    if not ID.match(anomaly_id):
        raise ApiError(400, "that is not an anomaly id", hint="use the anomalies list")
    require_team(who, _anomaly_team(request, anomaly_id))
    text = reason.strip() or None
    request.app.state.ws.anomaly_feedback(anomaly_id, action, text)
    request.app.state.store.audit(
        who.name,
        f"anomaly.{action}",
        anomaly_id,
        detail={"reason": text},
        remote=remote_of(request),
    )
    status = back if back in ANOMALY_FILTERS else "open"
    query = urlencode({"status": status, "changed": f"{action}:{anomaly_id}"})
    return RedirectResponse(f"/anomalies?{query}", status_code=303)


# -- recommendations ----------------------------------------------------------------------------
@router.get("/recommendations")
def recommendations_page(
    request: Request,
    status: str = "open",
    changed: str | None = None,
    reopened: bool = False,
) -> Response:
    """Rightsizing and waste recommendations of the caller's scope, with Dismiss."""
    from costline.reports import queries

    who = login_required(request)
    _choice(status, RECOMMENDATION_FILTERS, "status")
    ws = request.app.state.ws
    page = queries.recommendations(
        ws.recommendation_store(),
        scope=scope_of(who),
        status=None if status == "all" else status,
        limit=LIST_LIMIT,
    )
    with ws.warehouse(read_only=True) as wh:
        fallback = _main_currency(wh.con)
    rows = _rows(page)
    known = names(request)
    _describe_recommendations(rows, known, fallback)
    flash = None
    if changed and ID.match(changed):
        flash = f"Recommendation {changed} is {'open again' if reopened else 'dismissed'}."
    context = {
        "rows": rows,
        "status": status,
        "filters": RECOMMENDATION_FILTERS,
        "total": page.total,
        "notes": page.notes,
        "flash": flash,
        "savings": present.by_currency(rows, "monthly_savings"),
        "downloads": downloads("/recommendations", status=None if status == "all" else status),
    }
    return render(request, "recommendations.html", context)


def _recommendation_team(ws: Any, rec_id: str) -> str | None:
    """The team of one recommendation (one row from the state store), or 404."""
    try:
        team: str | None = ws.recommendation_store().get(rec_id).team
    except NotFoundError:
        raise ApiError(
            404, f"there is no recommendation {rec_id[:80]!r}", hint="see the list"
        ) from None
    return team


@router.post("/recommendations/{rec_id}/reopen")
def reopen_recommendation(
    request: Request, rec_id: str, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Undo a dismissal (as ``POST /api/v1/recommendations/{id}/reopen``)."""
    who = login_required(request)
    check_csrf(request, who, csrf_token)
    if not ID.match(rec_id):
        raise ApiError(400, "that is not a recommendation id", hint="use the recommendations list")
    ws = request.app.state.ws
    require_team(who, _recommendation_team(ws, rec_id))
    ws.reopen_recommendation(rec_id)
    request.app.state.store.audit(
        who.name, "recommendation.reopen", rec_id, remote=remote_of(request)
    )
    query = urlencode({"changed": rec_id, "reopened": 1})
    return RedirectResponse(f"/recommendations?{query}", status_code=303)


@router.post("/recommendations/{rec_id}/dismiss")
def dismiss_recommendation(
    request: Request,
    rec_id: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Dismiss for good, with the reason (as ``POST /api/v1/recommendations/{id}/dismiss``)."""
    who = login_required(request)
    check_csrf(request, who, csrf_token)
    if not ID.match(rec_id):
        raise ApiError(400, "that is not a recommendation id", hint="use the recommendations list")
    text = reason.strip()
    if not text:
        raise ApiError(
            400, "a dismissal needs a reason", hint="say why, e.g. 'batch host, sized for peaks'"
        )
    ws = request.app.state.ws
    require_team(who, _recommendation_team(ws, rec_id))
    ws.dismiss_recommendation(rec_id, text)
    request.app.state.store.audit(
        who.name,
        "recommendation.dismiss",
        rec_id,
        detail={"reason": text},
        remote=remote_of(request),
    )
    return RedirectResponse(f"/recommendations?{urlencode({'changed': rec_id})}", status_code=303)


def _main_currency(con: Any) -> str:
    """The bill's most used currency (waste findings carry none of their own)."""
    from costline.reports.marts import table_exists

    if not table_exists(con, "cost"):
        return "USD"
    row = con.execute(
        "SELECT BillingCurrency FROM cost GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchone()
    return str(row[0]) if row and row[0] else "USD"


def _describe_recommendations(rows: list[dict[str, Any]], known: Names, fallback: str) -> None:
    """Add the currency, team name and what to do (from the stored details) to each row."""
    for r in rows:
        try:
            details = json.loads(r.get("details") or "{}")
        except ValueError:
            details = {}
        if not isinstance(details, dict):
            details = {}
        r["currency"] = details.get("currency") or fallback
        r["team_name"] = known.team(r["team"])
        r["team_link"] = bool(r["team"]) and known.is_team(r["team"])
        if r["kind"] == "rightsizing" and details.get("recommended_type"):
            r["action"] = (
                f"Resize {details.get('current_type', '?')} to {details['recommended_type']}"
            )
        else:
            r["action"] = what_to_do(r["kind"], details) or str(details.get("evidence") or "")
        r["provider"] = present.provider_name(details.get("provider"))


# -- explain ------------------------------------------------------------------------------------
def _explain_steps(rows: list[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    """Explain lines summed per step: direct spend per rule, then each shared pool."""
    steps: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        if r["currency"] != currency:
            continue
        key = (r["component"], r["rule"] or "", r["team"] or "")
        step = steps.setdefault(
            key,
            {
                "component": r["component"],
                "rule": r["rule"],
                "team": r["team"],
                "providers": set(),
                "charges": 0,
                "amount": Decimal(0),
            },
        )
        step["providers"].add(r["provider"])
        step["charges"] += int(r["charges"] or 0)
        step["amount"] += r["amount"] or Decimal(0)
    order = {"direct": 0, "shared": 1}
    out = sorted(
        steps.values(), key=lambda s: (order.get(s["component"], 2), -s["amount"], s["rule"] or "")
    )
    for s in out:
        s["providers"] = ", ".join(present.provider_name(p) for p in sorted(s["providers"]))
    return out


def step_label(step: Mapping[str, Any]) -> str:
    """``Direct: account-owner`` or ``Shared: network pool``.

    Example:
        >>> step_label({"component": "shared", "rule": "pool:network"})
        'Shared: network pool'
    """
    rule = str(step.get("rule") or "")
    if step.get("component") == "shared" or rule.startswith("pool:"):
        return f"Shared: {rule.removeprefix('pool:')} pool"
    return f"Direct: {rule or 'no rule'}"


@router.get("/explain/{cost_center}")
def explain_page(request: Request, cost_center: str, period: str | None = None) -> Response:
    """Where a cost center's money came from: a waterfall of its direct and shared steps."""
    from costline.reports import queries

    who = login_required(request)
    known = names(request)
    owners = known.teams_of_cost_center(cost_center)
    if not who.sees_all and not set(owners) & who.teams:
        raise ApiError(
            403, f"you may not see cost center {cost_center[:60]!r}", hint="ask an admin for access"
        )
    if not ID.match(cost_center):
        raise ApiError(404, "there is no such cost center", hint="open it from a team page")
    wanted = _month_param(period, "period")
    with request.app.state.ws.warehouse(read_only=True) as wh:
        shown = wanted or next(iter(_months(wh.con, scope_of(who), request)), None)
        if shown is None:
            raise ApiError(404, "there is no cost data yet", hint="run `costline ingest` first")
        page = queries.explain_cost_center(
            wh.con,
            period=shown,
            cost_center=cost_center,
            scope=scope_of(who),
            limit=queries.MAX_LIMIT,
        )
    rows = _rows(page)
    totals = present.by_currency(rows, "amount")
    currency = next(iter(totals), None)
    steps = _explain_steps(rows, currency) if currency else []
    for s in steps:
        s["label"] = step_label(s)
        s["team_name"] = known.team(s["team"])
    charts: dict[str, Any] = {}
    if currency and steps:
        charts["waterfall"] = present.waterfall(
            "", currency, [(s["label"], s["amount"]) for s in steps]
        )
    context = {
        "cost_center": cost_center,
        "cost_center_name": known.cost_center(cost_center),
        "teams": [{"id": t, "name": known.team(t)} for t in owners if who.may_see_team(t)],
        "period": shown,
        "steps": steps,
        "totals": totals,
        "currency": currency,
        "lines": page.total,
        "charts": charts,
        "downloads": downloads(
            f"/explain/cost-centers/{quote(cost_center, safe='')}", period=shown
        ),
    }
    return render(request, "explain.html", context)


# -- data freshness and runs --------------------------------------------------------------------
@router.get("/data")
def data_page(request: Request) -> Response:
    """How current the data is; ingestions; what each ingest run did with each file (the
    newest 50, quarantined ones marked); scheduled job runs (admin and finance)."""
    from costline.reports import queries

    who = login_required(request)
    with request.app.state.ws.warehouse(read_only=True) as wh:
        fresh = queries.freshness(wh.con, stale_ok=_maintained(request))
        runs = queries.ingest_runs(wh.con, limit=50)
    files = queries.ingest_files(request.app.state.ws.ingest_history(), limit=50)
    jobs = request.app.state.store.runs(limit=50) if who.sees_all else None
    context = {
        "accounts": _rows(fresh.accounts),
        "newest_ingestion": fresh.newest_ingestion,
        "marts_refreshed_at": fresh.marts_refreshed_at,
        "marts_current": fresh.marts_current,
        "ingestions": _rows(runs),
        "ingestions_total": runs.total,
        "files": [{**r, "name": Path(r["file"]).name or r["file"]} for r in _rows(files)],
        "files_total": files.total,
        "jobs": jobs,
        "downloads": {
            "ingestions": downloads("/ingest/runs"),
            "files": downloads("/ingest/files"),
            "jobs": downloads("/jobs"),
        },
    }
    return render(request, "data.html", context)

"""``/api/v1``: costs, chargeback and explain, anomalies, recommendations, savings,
commitments, ingest runs and files, freshness, jobs — every one behind :func:`auth.principal`.

Access is checked here and in SQL: a ``team`` member's queries carry a
:class:`~costline.reports.queries.Scope` of their teams, and a single object (an anomaly, a
recommendation, a cost center) of another team answers 403. List endpoints take
``format=json|csv|xlsx`` (:mod:`costline.api.downloads`). Every parameter is validated; the
SQL behind them binds values and maps names through allow-lists (never string-built).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response

from costline.api.auth import Principal, check_csrf, principal, require_role, require_team
from costline.api.downloads import Format, jsonable, records, table_response
from costline.api.errors import ApiError
from costline.core.errors import NotFoundError

router = APIRouter()
Who = Annotated[Principal, Depends(principal)]
Fmt = Annotated[Format, Query(alias="format", description="json, csv or xlsx")]
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
ID = re.compile(r"^[A-Za-z0-9._:@/-]{1,200}$")


def _ws(request: Request) -> Any:
    return request.app.state.ws


def _scope(who: Principal, team: str | None = None) -> Any:
    """The caller's scope, or only ``team`` when asked for by name (403 if not theirs)."""
    from costline.reports.queries import Scope

    if team is not None:
        require_team(who, team)
        return Scope.of_teams([team])
    return Scope(all=who.sees_all, teams=who.teams)


Team = Annotated[str | None, Query(description="Only this team's rows (403 if not yours)")]


def _stale(as_of: Any) -> dict[str, Any]:
    """``stale_as_of`` when the marts answered with newer data awaiting their refresh."""
    return {"stale_as_of": jsonable(as_of)} if as_of is not None else {}


def _page(page: Any, fmt: Format, name: str, **meta: Any) -> Response:
    """A query layer Page as JSON (with total, paging, notes) or a file."""
    return table_response(
        page.columns,
        page.rows,
        fmt,
        name=name,
        meta={
            "total": page.total,
            "limit": page.limit,
            "offset": page.offset,
            "notes": list(page.notes),
            **({"totals": jsonable(page.totals)} if getattr(page, "totals", None) else {}),
            **_stale(getattr(page, "stale_as_of", None)),
            **meta,
        },
    )


Limit = Annotated[int, Query(ge=1, le=10_000, description="Rows per page")]
Offset = Annotated[int, Query(ge=0, description="Rows to skip")]


def _month(value: str | None, name: str = "month") -> str | None:
    if value is not None and not MONTH.match(value):
        raise ApiError(400, f"{name} {value!r} is not a month", hint="write YYYY-MM, e.g. 2026-10")
    return value


def _id(value: str, what: str) -> str:
    if not ID.match(value):
        raise ApiError(400, f"{what} {value!r} is not valid", hint=f"use the {what} as listed")
    return value


def _audit(request: Request, who: Principal, action: str, target: str, **detail: Any) -> None:
    client = request.client.host if request.client else None
    request.app.state.store.audit(who.name, action, target, detail=detail or None, remote=client)


# -- who am I ---------------------------------------------------------------------------------
@router.get("/me", tags=["access"])
def me(who: Who) -> dict[str, Any]:
    """The caller: name, role and teams."""
    return {"name": who.name, "role": who.role, "teams": sorted(who.teams), "via": who.via}


# -- costs --------------------------------------------------------------------------------------
@router.get("/costs", tags=["costs"])
def costs(
    request: Request,
    who: Who,
    group_by: Annotated[
        str, Query(description="Comma-separated dimensions, e.g. team,month or tag:env")
    ] = "provider",
    start: Annotated[dt.date | None, Query(description="First day (inclusive)")] = None,
    end: Annotated[dt.date | None, Query(description="Last day (exclusive)")] = None,
    granularity: Annotated[str, Query(description="day, month or total")] = "total",
    metric: Annotated[str, Query(description="effective, billed, list or contracted")] = (
        "effective"
    ),
    currency: Annotated[
        str | None,
        Query(description="Display currency: converted at the fx_rates rate of each charge day"),
    ] = None,
    filter_: Annotated[
        list[str] | None,
        Query(alias="filter", description="dimension=value (repeatable; same dimension: OR)"),
    ] = None,
    order: Annotated[str | None, Query(description="An output column; -column: descending")] = (
        None
    ),
    limit: Limit = 1000,
    offset: Offset = 0,
    fmt: Fmt = Format.json,
) -> Response:
    """Cost grouped by any dimensions (tags too), over a time range and granularity."""
    from costline.reports import queries

    filters: dict[str, list[str]] = {}
    for item in filter_ or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ApiError(400, f"filter {item!r} is not dimension=value", hint="e.g. provider=aws")
        filters.setdefault(key.strip(), []).append(value)
    for team in filters.get("team", []):  # naming a team that is not yours: 403, not empty
        require_team(who, team)
    with _ws(request).warehouse(read_only=True) as wh:
        page = queries.costs(
            wh.con,
            scope=_scope(who),
            group_by=[group_by],
            start=start,
            end=end,
            granularity=granularity,
            filters=filters,
            metric=metric,
            currency=currency,
            limit=limit,
            offset=offset,
            order=order,
            stale_ok=_ws(request).marts_maintained,
        )
    return _page(page, fmt, "costs", source=page.source)


@router.get("/overview", tags=["costs"])
def overview(request: Request, who: Who, month: str | None = None) -> dict[str, Any]:
    """The dashboard's numbers for one month: daily trend, by provider, service and team,
    month over month, and the forecast to month end."""
    from costline.reports import queries

    with _ws(request).warehouse(read_only=True) as wh:
        got = queries.overview(
            wh.con,
            scope=_scope(who),
            month=_month(month),
            stale_ok=_ws(request).marts_maintained,
        )

    def table(page: Any) -> dict[str, Any] | None:
        if page is None:
            return None
        return {"columns": page.columns, "rows": records(page.columns, page.rows)}

    return {
        "month": got.month,
        "data_through": jsonable(got.data_through),
        "daily": table(got.daily),
        "by_provider": table(got.by_provider),
        "by_service": table(got.by_service),
        "by_team": table(got.by_team),
        "month_over_month": jsonable(got.month_over_month),
        "forecast": jsonable(got.forecast),
        "notes": list(got.notes),
        **_stale(got.stale_as_of),
    }


@router.get("/chargeback", tags=["costs"])
def chargeback(
    request: Request,
    who: Who,
    period: str,
    metric: str = "effective",
    team: Team = None,
    limit: Limit = 1000,
    offset: Offset = 0,
    fmt: Fmt = Format.json,
) -> Response:
    """The month's chargeback per cost center (only the caller's teams for a team member)."""
    from costline.reports import queries

    with _ws(request).warehouse(read_only=True) as wh:
        page = queries.chargeback(
            wh.con,
            period=_month(period, "period") or "",
            scope=_scope(who, team),
            metric=metric,
            limit=limit,
            offset=offset,
        )
    return _page(page, fmt, f"chargeback-{period}")


@router.get("/explain/cost-centers/{cost_center}", tags=["costs"])
def explain_cost_center(
    request: Request,
    who: Who,
    cost_center: str,
    period: str,
    metric: str = "effective",
    limit: Limit = 1000,
    offset: Offset = 0,
    fmt: Fmt = Format.json,
) -> Response:
    """Where a cost center's money came from, step by step (the explain waterfall)."""
    from costline.reports import queries

    with _ws(request).warehouse(read_only=True) as wh:
        page = queries.explain_cost_center(
            wh.con,
            period=_month(period, "period") or "",
            cost_center=_id(cost_center, "cost center"),
            scope=_scope(who),
            metric=metric,
            limit=limit,
            offset=offset,
        )
    if not page.rows and not who.sees_all:
        raise ApiError(
            403, f"cost center {cost_center!r} is not one of your teams'", hint="ask an admin"
        )
    return _page(page, fmt, f"explain-{cost_center}")


# -- anomalies ----------------------------------------------------------------------------------
def _anomaly_team(request: Request, anomaly_id: str) -> str | None:
    with _ws(request).warehouse(read_only=True) as wh:
        row = wh.con.execute("SELECT team FROM anomalies WHERE id = ?", [anomaly_id]).fetchone()
    if row is None:
        raise ApiError(404, f"no anomaly {anomaly_id!r}", hint="see GET /api/v1/anomalies")
    return None if row[0] is None else str(row[0])


@router.get("/anomalies", tags=["anomalies"])
def anomalies(
    request: Request,
    who: Who,
    status: Annotated[str, Query(description="open, acknowledged, resolved, ... or all")] = "open",
    severity: str | None = None,
    team: Team = None,
    limit: Limit = 200,
    offset: Offset = 0,
    fmt: Fmt = Format.json,
) -> Response:
    """Anomalies, newest first; a team member sees their teams' only."""
    from costline.reports import queries

    with _ws(request).warehouse(read_only=True) as wh:
        page = queries.anomalies(
            wh.con,
            scope=_scope(who, team),
            status=status,
            severity=severity,
            limit=limit,
            offset=offset,
        )
    return _page(page, fmt, "anomalies")


@router.post("/anomalies/{anomaly_id}/{action}", tags=["anomalies"])
def anomaly_feedback(
    request: Request,
    who: Who,
    anomaly_id: str,
    action: str,
    reason: Annotated[str | None, Body(embed=True)] = None,
) -> dict[str, Any]:
    """``ack``, ``dismiss`` (a false alarm) or ``expected`` (a planned change)."""
    check_csrf(request, who)
    if action not in ("ack", "dismiss", "expected"):
        raise ApiError(404, f"no action {action!r}", hint="use ack, dismiss or expected")
    require_team(who, _anomaly_team(request, _id(anomaly_id, "anomaly id")))
    got = _ws(request).anomaly_feedback(anomaly_id, action, reason)
    _audit(request, who, f"anomaly.{action}", anomaly_id, reason=reason)
    return dict(jsonable(got))


# -- recommendations and savings ------------------------------------------------------------
@router.get("/recommendations", tags=["optimization"])
def recommendations(
    request: Request,
    who: Who,
    status: Annotated[str | None, Query(description="open, ticketed, actioned, ...")] = None,
    kind: Annotated[str | None, Query(description="rightsizing or waste")] = None,
    team: Team = None,
    limit: Limit = 200,
    offset: Offset = 0,
    fmt: Fmt = Format.json,
) -> Response:
    """Recorded recommendations (rightsizing, waste, Kubernetes requests, commitments),
    largest savings first."""
    from costline.reports import queries

    page = queries.recommendations(
        _ws(request).recommendation_store(),
        scope=_scope(who, team),
        status=status,
        kind=kind,
        limit=limit,
        offset=offset,
    )
    return _page(page, fmt, "recommendations")


def _recommendation_team(request: Request, rec_id: str) -> str | None:
    """The team of one recommendation (one row from the state store), or 404."""
    try:
        team: str | None = (
            _ws(request).recommendation_store().get(_id(rec_id, "recommendation id")).team
        )
    except NotFoundError:
        raise ApiError(
            404, f"no recommendation {rec_id!r}", hint="see /api/v1/recommendations"
        ) from None
    return team


@router.post("/recommendations/{rec_id}/dismiss", tags=["optimization"])
def dismiss_recommendation(
    request: Request,
    who: Who,
    rec_id: str,
    reason: Annotated[str, Body(embed=True, min_length=1, max_length=500)],
) -> dict[str, Any]:
    """Dismiss a recommendation for good (with the reason)."""
    check_csrf(request, who)
    require_team(who, _recommendation_team(request, rec_id))
    key = _ws(request).dismiss_recommendation(rec_id, reason)
    _audit(request, who, "recommendation.dismiss", rec_id, reason=reason)
    return {"id": rec_id, "status": "dismissed", "ticket": key or None}


@router.post("/recommendations/{rec_id}/reopen", tags=["optimization"])
def reopen_recommendation(request: Request, who: Who, rec_id: str) -> dict[str, Any]:
    """Undo a dismissal: open again (409 unless dismissed); the next sync may ticket it."""
    check_csrf(request, who)
    require_team(who, _recommendation_team(request, rec_id))
    _ws(request).reopen_recommendation(rec_id)
    _audit(request, who, "recommendation.reopen", rec_id)
    return {"id": rec_id, "status": "open"}


@router.get("/savings", tags=["optimization"])
def savings(
    request: Request, who: Who, month: str, detail: bool = False, fmt: Fmt = Format.json
) -> Response:
    """Adoption and realized savings of the month (per team; a team member: their teams)."""
    result = _ws(request).savings_report(_month(month) or "", detail=detail)
    team = result.columns.index("team")
    rows = [
        r for r in result.rows if (r[team] == "TOTAL" and who.sees_all) or who.may_see_team(r[team])
    ]
    return table_response(result.columns, rows, fmt, name=f"savings-{month}")


@router.get("/commitments", tags=["optimization"])
def commitments(
    request: Request, who: Who, period: str | None = None, fmt: Fmt = Format.json
) -> Response:
    """Commitments held: utilization, coverage, expiry (organization-wide: admin, finance)."""
    from costline.reports import queries

    require_role(who, "admin", "finance")
    with _ws(request).warehouse(read_only=True) as wh:
        page = queries.commitments(wh.con, scope=_scope(who), period=_month(period, "period"))
    return _page(page, fmt, "commitments")


# -- data and jobs ------------------------------------------------------------------------------
@router.get("/ingest/runs", tags=["data"])
def ingest_runs(
    request: Request, who: Who, limit: Limit = 200, offset: Offset = 0, fmt: Fmt = Format.json
) -> Response:
    """Every ingestion, newest first: when, what kind, rows, files."""
    from costline.reports import queries

    with _ws(request).warehouse(read_only=True) as wh:
        page = queries.ingest_runs(wh.con, limit=limit, offset=offset)
    return _page(page, fmt, "ingest-runs")


@router.get("/ingest/files", tags=["data"])
def ingest_files(
    request: Request,
    who: Who,
    status: Annotated[
        str | None,
        Query(description="loaded, unchanged, duplicate, skipped, manifest, quarantined, missing"),
    ] = None,
    limit: Limit = 200,
    offset: Offset = 0,
    fmt: Fmt = Format.json,
) -> Response:
    """What every ingest run did with each file, newest run first: status, kind, rows, and for
    a quarantined file the error, its fix and where the quarantined copy went."""
    from costline.reports import queries

    history = _ws(request).ingest_history()
    page = queries.ingest_files(history, status=status, limit=limit, offset=offset)
    return _page(page, fmt, "ingest-files")


@router.get("/freshness", tags=["data"])
def freshness(request: Request, who: Who) -> dict[str, Any]:
    """The newest charge and billing period per provider and billing account, when each was
    last loaded, the newest ingestion and whether the dashboard marts are current."""
    from costline.reports import queries

    with _ws(request).warehouse(read_only=True) as wh:
        got = queries.freshness(wh.con, stale_ok=_ws(request).marts_maintained)
    return {
        "sources": records(got.accounts.columns, got.accounts.rows),
        "newest_ingestion": jsonable(got.newest_ingestion),
        "marts_refreshed_at": jsonable(got.marts_refreshed_at),
        "marts_current": got.marts_current,
    }


@router.get("/jobs", tags=["service"])
def jobs(request: Request, who: Who, job: str | None = None, fmt: Fmt = Format.json) -> Response:
    """Scheduled and manual job runs, newest first (admin and finance)."""
    require_role(who, "admin", "finance")
    runs = request.app.state.store.runs(job=job, limit=200)
    cols = ["id", "job", "trigger", "status", "attempt", "started_at", "finished_at"]
    cols += ["duration_s", "error"]
    rows = [tuple(getattr(r, c) for c in cols) for r in runs]
    return table_response(cols, rows, fmt, name="jobs")


@router.post("/jobs/{job}/run", tags=["service"], status_code=202)
def run_job(request: Request, who: Who, job: str) -> dict[str, Any]:
    """Start a scheduled job now, in the background (admin); it waits for a running job to
    finish first. Follow it with ``GET /api/v1/jobs?job=...``."""
    from costline.config.models import SERVICE_JOBS

    check_csrf(request, who)
    require_role(who, "admin")
    if job not in SERVICE_JOBS:
        raise ApiError(404, f"no job {job!r}", hint=f"use one of: {', '.join(SERVICE_JOBS)}")
    scheduler = request.app.state.scheduler
    if scheduler is None:
        raise ApiError(503, "this server runs no scheduler", hint="start it with costline serve")
    scheduler.run_in_background(job)
    _audit(request, who, "job.run", job)
    return {"job": job, "status": "started"}

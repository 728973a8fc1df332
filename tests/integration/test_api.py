"""The REST API of `costline serve` on a real workspace, with the state store on SQLite and on
the real PostgreSQL: authentication, roles and team scope on every endpoint, the one error
shape, downloads, injection attempts, and no secret in the logs.

The bill: September 2024, days 1-10, AWS; per day web 10.00 (tag team=web), api 4.00 (team=api)
and data 1.00 (team=data); August has web 5.00 a day for days 1-10. Expected figures are
worked out from those numbers here.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from costline.optimize import tickets as rec_store
from costline.reports.marts import refresh_marts
from costline.server import build
from costline.workspace import Workspace
from tests.allocation_kit import charge, setup, team_tag_rules
from tests.state_db import BACKENDS, state_database

DAILY = {"web": "10.00", "api": "4.00", "data": "1.00"}
DAYS = range(1, 11)


@pytest.fixture(params=BACKENDS)
def api(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    with state_database(request.param, tmp_path) as url:
        monkeypatch.setenv("COSTLINE_STATE_URL", url.render_as_string(hide_password=False))
        ws = Workspace.init(tmp_path / "acme")
        rows = [
            charge(cost, tags={"team": team}, day=d, ResourceId=f"r-{team}")
            for d in DAYS
            for team, cost in DAILY.items()
        ]
        rows += [charge("5.00", tags={"team": "web"}, day=d, month="2024-08") for d in DAYS]
        setup(ws, rows, team_tag_rules())
        ws.allocate("2024-08")
        ws.allocate("2024-09")
        with build(ws, secure_cookies=False) as svc:
            store = svc.store
            _, admin = store.add_user("root", "admin", [])
            _, fin = store.add_user("fin", "finance", [])
            _, webby = store.add_user("webby", "team", ["web"])
            with TestClient(svc.app) as client:
                yield {
                    "ws": ws,
                    "app": svc.app,
                    "client": client,
                    "store": store,
                    "tokens": {"admin": admin, "finance": fin, "web": webby},
                    "backend": request.param,
                }


def get(api: dict[str, Any], who: str, path: str, **params: Any) -> Any:
    return api["client"].get(
        path, params=params, headers={"Authorization": f"Bearer {api['tokens'][who]}"}
    )


def post(api: dict[str, Any], who: str, path: str, body: dict[str, Any]) -> Any:
    return api["client"].post(
        path, json=body, headers={"Authorization": f"Bearer {api['tokens'][who]}"}
    )


def is_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    err: dict[str, Any] = body["error"]
    assert (err["status"], err["code"]) == (status, code)
    assert err["message"] and err["request_id"] == resp.headers["x-request-id"]
    return err


def test_every_api_endpoint_needs_a_token(api: dict[str, Any]) -> None:
    client = api["client"]
    from costline.api.routes import router

    routes = [("GET" if "GET" in r.methods else "POST", "/api/v1" + r.path) for r in router.routes]
    assert len(routes) >= 14
    for method, path in routes:
        filled = path.replace("{cost_center}", "CC-1").replace("{anomaly_id}", "a1")
        filled = filled.replace("{action}", "ack").replace("{rec_id}", "rec-1")
        resp = client.request(method, filled)
        err = is_error(resp, 401, "unauthorized")
        assert resp.headers["www-authenticate"] == "Bearer", (method, path)
        assert "Bearer" in err["hint"]
        wrong = client.request(method, filled, headers={"Authorization": "Bearer cl_nope_x"})
        is_error(wrong, 401, "unauthorized")


def test_costs_by_team_and_month_with_scope(api: dict[str, Any]) -> None:
    got = get(api, "admin", "/api/v1/costs", group_by="team,month", start="2024-08-01")
    assert got.status_code == 200, got.text
    body = got.json()
    cells = {(r["team"], r["month"]): Decimal(r["cost"]) for r in body["rows"]}
    expected = {(t, "2024-09"): Decimal(c) * len(DAYS) for t, c in DAILY.items()}
    expected[("web", "2024-08")] = Decimal("5.00") * len(DAYS)
    assert cells == expected
    assert body["total"] == len(expected)
    # the team member sees web only, whatever they group by or filter on
    mine = get(api, "web", "/api/v1/costs", group_by="team,month", start="2024-08-01").json()
    assert {r["team"] for r in mine["rows"]} == {"web"}
    by_tag = get(api, "web", "/api/v1/costs", group_by="tag:team").json()
    assert {r["tag:team"] for r in by_tag["rows"]} == {"web"}
    # naming another team is refused outright, not answered empty
    is_error(get(api, "web", "/api/v1/costs", group_by="team", filter="team=api"), 403, "forbidden")
    # filters and granularity
    daily = get(
        api, "finance", "/api/v1/costs", group_by="team", granularity="day", filter="team=api"
    ).json()
    assert [(r["day"], Decimal(r["cost"])) for r in daily["rows"]] == [
        (f"2024-09-{d:02d}", Decimal("4.00")) for d in DAYS
    ]
    page = get(api, "admin", "/api/v1/costs", group_by="team", limit=2, offset=0).json()
    assert len(page["rows"]) == 2 and page["total"] == 3


def test_downloads_equal_the_json(api: dict[str, Any]) -> None:
    params = {"group_by": "team", "start": "2024-09-01", "end": "2024-10-01"}
    as_json = get(api, "admin", "/api/v1/costs", **params).json()
    csv = get(api, "admin", "/api/v1/costs", format="csv", **params)
    assert csv.headers["content-type"].startswith("text/csv")
    assert 'filename="costs.csv"' in csv.headers["content-disposition"]
    lines = csv.text.strip().splitlines()
    assert lines[0].split(",") == as_json["columns"]
    assert {tuple(ln.split(",")) for ln in lines[1:]} == {
        tuple(str(r[c]) for c in as_json["columns"]) for r in as_json["rows"]
    }
    xlsx = get(api, "admin", "/api/v1/costs", format="xlsx", **params)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == as_json["columns"]
    assert sorted(Decimal(str(r[-1])) for r in cells[1:]) == sorted(
        Decimal(r["cost"]) for r in as_json["rows"]
    )


@pytest.mark.parametrize(
    "params",
    [
        {"group_by": "provider;DROP TABLE cost"},
        {"group_by": "tag:x'||(SELECT 1)||'"},
        {"group_by": "team) UNION SELECT * FROM cost --"},
        {"metric": "effective; DELETE FROM cost"},
        {"granularity": "day' OR '1'='1"},
        {"order": "cost; DROP TABLE cost"},
        {"start": "2024-09-01' OR 1=1 --"},
    ],
)
def test_injection_attempts_are_rejected(api: dict[str, Any], params: dict[str, str]) -> None:
    resp = get(api, "admin", "/api/v1/costs", **params)
    assert resp.status_code in (400, 422), resp.text
    assert resp.json()["error"]["code"] in ("bad_request", "validation")
    assert api["ws"].query("SELECT count(*) FROM cost").rows[0][0] == 40


def test_quotes_in_filter_values_are_bound_harmlessly(api: dict[str, Any]) -> None:
    for value in ("web' OR '1'='1", "x'); DROP TABLE cost; --", "%", "web\x00"):
        resp = get(api, "admin", "/api/v1/costs", group_by="team", filter=f"team={value}")
        assert resp.status_code in (200, 400), resp.text
        if resp.status_code == 200:
            assert resp.json()["rows"] == []
    assert api["ws"].query("SELECT count(*) FROM cost").rows[0][0] == 40


def test_roles_and_team_pages(api: dict[str, Any]) -> None:
    is_error(get(api, "web", "/api/v1/commitments"), 403, "forbidden")
    is_error(get(api, "web", "/api/v1/jobs"), 403, "forbidden")
    assert get(api, "finance", "/api/v1/jobs").status_code == 200
    # chargeback: the team member sees their cost center only
    everyone = get(api, "finance", "/api/v1/chargeback", period="2024-09").json()
    mine = get(api, "web", "/api/v1/chargeback", period="2024-09").json()
    assert mine["rows"] and len(mine["rows"]) < len(everyone["rows"])
    cc = everyone["columns"].index("cost_center") if "cost_center" in everyone["columns"] else 0
    assert {r[everyone["columns"][cc]] for r in mine["rows"]} == {"CC-1"}
    explained = get(api, "web", "/api/v1/explain/cost-centers/CC-1", period="2024-09")
    assert explained.status_code == 200 and explained.json()["rows"]
    is_error(
        get(api, "web", "/api/v1/explain/cost-centers/CC-2", period="2024-09"), 403, "forbidden"
    )
    me = get(api, "web", "/api/v1/me").json()
    assert me == {"name": "webby", "role": "team", "teams": ["web"], "via": "token"}


def _anomaly(ws: Workspace, anomaly_id: str, team: str) -> None:
    from costline.anomaly import store as anomaly_store

    with ws.warehouse() as wh:
        anomaly_store.ensure_tables(wh.con)
        wh.con.execute(
            "INSERT INTO anomalies (id, monitor, series_key, dims, currency, status, kind, "
            "severity, first_day, last_day, peak_day, expected, actual, impact, impact_pct, z, "
            "team, root_cause, days, revision, created_at, updated_at) VALUES (?, 'by-team', ?, "
            "'{\"team\": \"' || ? || '\"}', 'USD', 'open', 'spike', 'high', DATE '2024-09-09', "
            "DATE '2024-09-09', DATE '2024-09-09', 10, 30, 20, 2.0, 5.0, ?, "
            "'{\"dimensions\": {}}', '[]', 1, now(), now())",
            [anomaly_id, f"team={team}", team, team],
        )


def test_anomaly_ack_respects_the_team_and_is_audited(api: dict[str, Any]) -> None:
    ws = api["ws"]
    _anomaly(ws, "an-web", "web")
    _anomaly(ws, "an-api", "api")
    listed = get(api, "web", "/api/v1/anomalies", status="all").json()
    assert [r["id"] for r in listed["rows"]] == ["an-web"]
    is_error(post(api, "web", "/api/v1/anomalies/an-api/ack", {}), 403, "forbidden")
    is_error(post(api, "web", "/api/v1/anomalies/nope/ack", {}), 404, "not_found")
    is_error(post(api, "web", "/api/v1/anomalies/an-web/explode", {}), 404, "not_found")
    done = post(api, "web", "/api/v1/anomalies/an-web/ack", {"reason": "looking"})
    assert done.status_code == 200, done.text
    with ws.warehouse() as wh:
        feedback = wh.con.execute(
            "SELECT anomaly_id, kind, reason FROM anomaly_feedback ORDER BY 1"
        ).fetchall()
    assert feedback == [("an-web", "ack", "looking")]
    audit = api["store"].audit_entries(action="anomaly.ack")
    assert [(a.user, a.target) for a in audit] == [("webby", "an-web")]


def test_recommendation_dismiss(api: dict[str, Any]) -> None:
    ws = api["ws"]
    now = dt.datetime(2024, 9, 11)
    made = [
        rec_store.Produced("waste", "gp2-to-gp3", f"vol-{t}", "sub-1", Decimal(50), None, {}, t)
        for t in ("web", "api")
    ]
    ws.recommendation_store().upsert([rec_store.produced_row(p) for p in made], now)
    ids = {p.team: p.id for p in made}
    listed = get(api, "web", "/api/v1/recommendations").json()
    assert [r["resource_id"] for r in listed["rows"]] == ["vol-web"]
    is_error(
        post(api, "web", f"/api/v1/recommendations/{ids['api']}/dismiss", {"reason": "no"}),
        403,
        "forbidden",
    )
    is_error(
        post(api, "web", f"/api/v1/recommendations/{ids['web']}/dismiss", {}), 422, "validation"
    )
    ok = post(api, "web", f"/api/v1/recommendations/{ids['web']}/dismiss", {"reason": "DR copy"})
    assert ok.status_code == 200 and ok.json()["status"] == "dismissed"
    again = get(api, "admin", "/api/v1/recommendations", status="dismissed").json()
    assert [r["resource_id"] for r in again["rows"]] == ["vol-web"]
    # reopened by its team (another team may not); a second reopen is a conflict
    is_error(post(api, "web", f"/api/v1/recommendations/{ids['api']}/reopen", {}), 403, "forbidden")
    back = post(api, "web", f"/api/v1/recommendations/{ids['web']}/reopen", {})
    assert back.status_code == 200 and back.json() == {"id": ids["web"], "status": "open"}
    opened = get(api, "admin", "/api/v1/recommendations", status="open").json()
    assert sorted(r["resource_id"] for r in opened["rows"]) == ["vol-api", "vol-web"]
    err = is_error(
        post(api, "web", f"/api/v1/recommendations/{ids['web']}/reopen", {}), 409, "conflict"
    )
    assert "not dismissed" in err["message"]
    is_error(post(api, "admin", "/api/v1/recommendations/rec-nope/reopen", {}), 404, "not_found")
    (entry,) = api["store"].audit_entries(action="recommendation.reopen")
    assert (entry.user, entry.target) == ("webby", ids["web"])


def test_overview_freshness_ingest_runs_savings(api: dict[str, Any]) -> None:
    over = get(api, "admin", "/api/v1/overview", month="2024-09").json()
    assert over["month"] == "2024-09"
    total = sum(Decimal(r["cost"]) for r in over["daily"]["rows"])
    assert total == sum(Decimal(c) for c in DAILY.values()) * len(DAYS)
    fresh = get(api, "web", "/api/v1/freshness").json()
    assert fresh["sources"] and fresh["newest_ingestion"]
    runs = get(api, "web", "/api/v1/ingest/runs").json()
    assert runs["total"] >= 1
    saved = get(api, "finance", "/api/v1/savings", month="2024-09")
    assert saved.status_code == 200
    is_error(get(api, "finance", "/api/v1/savings", month="Sept"), 400, "bad_request")


def test_service_endpoints_and_error_shapes(api: dict[str, Any]) -> None:
    client = api["client"]
    assert client.get("/health").json()["status"] == "ok"
    get(api, "admin", "/api/v1/me")
    metrics = client.get("/metrics").text
    assert 'costline_http_requests_total{method="GET",route="/api/v1/me",status="200"}' in metrics
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/costs" in spec["paths"]
    is_error(get(api, "admin", "/api/v1/nothing-here"), 404, "not_found")
    is_error(get(api, "admin", "/api/v1/costs", limit=0), 422, "validation")
    is_error(get(api, "admin", "/api/v1/costs", group_by="colour"), 400, "bad_request")
    is_error(client.delete("/api/v1/me", headers={"Authorization": "x"}), 405, "method_not_allowed")


def test_no_token_or_secret_reaches_the_logs(
    api: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for who in ("admin", "web"):
        get(api, who, "/api/v1/costs", group_by="team", filter="team=secret-filter-value")
    api["client"].get("/api/v1/me", headers={"Authorization": "Bearer cl_wrong_tokenvalue"})
    # the server's records (the test client's own httpx log shows the URL it sent)
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "/api/v1/costs" in text  # the access log is there
    for token in api["tokens"].values():
        assert token not in text
        assert token.split("_", 2)[2] not in text  # the secret part
    assert "cl_wrong_tokenvalue" not in text and "secret-filter-value" not in text


def test_path_traversal_in_static_and_ids(api: dict[str, Any]) -> None:
    client = api["client"]
    for path in ("/static/../../pyproject.toml", "/static/%2e%2e/%2e%2e/pyproject.toml"):
        resp = client.get(path)
        assert resp.status_code == 404 and "[project]" not in resp.text
    resp = get(api, "admin", "/api/v1/explain/cost-centers/..%2F..%2Fetc", period="2024-09")
    assert resp.status_code in (400, 404)


def test_an_admin_runs_a_job_now_and_it_is_recorded(api: dict[str, Any]) -> None:
    import time

    is_error(post(api, "web", "/api/v1/jobs/marts/run", {}), 403, "forbidden")
    is_error(post(api, "admin", "/api/v1/jobs/everything/run", {}), 404, "not_found")
    started = post(api, "admin", "/api/v1/jobs/marts/run", {})
    assert started.status_code == 202 and started.json() == {"job": "marts", "status": "started"}
    deadline = time.monotonic() + 30
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        runs = get(api, "admin", "/api/v1/jobs", job="marts").json()["rows"]
        if runs and runs[0]["status"] != "running":
            break
        time.sleep(0.1)
    assert runs and runs[0]["status"] == "succeeded" and runs[0]["trigger"] == "manual"
    # the mart now answers the dashboard's cost queries
    got = get(api, "admin", "/api/v1/costs", group_by="team,month").json()
    assert got["source"] == "mart_daily"
    assert [(a.user, a.target) for a in api["store"].audit_entries(action="job.run")] == [
        ("root", "marts")
    ]


def test_answers_are_cached_per_scope_until_the_data_changes(api: dict[str, Any]) -> None:
    cache = api["app"].state.cache
    params = {"group_by": "team", "start": "2024-09-01"}
    first = get(api, "admin", "/api/v1/costs", **params).json()
    hits = cache.hits
    again = get(api, "finance", "/api/v1/costs", **params).json()  # finance: the same scope
    assert again == first and cache.hits == hits + 1
    # a team member's answer is its own entry: never the admin's rows
    mine = get(api, "web", "/api/v1/costs", **params).json()
    assert {r["team"] for r in mine["rows"]} == {"web"} and cache.hits == hits + 1
    # the data changes (a job ran through the server): the next answer is computed again
    with api["ws"].warehouse() as wh:  # (bypassing a load: the marts rebuilt whole by hand)
        wh.con.execute("UPDATE cost SET EffectiveCost = EffectiveCost * 2")
        refresh_marts(wh.con, full=True)
    assert get(api, "admin", "/api/v1/costs", **params).json() == first  # still cached
    api["app"].state.scheduler.run("marts")  # any job run empties the cache
    doubled = get(api, "admin", "/api/v1/costs", **params).json()
    assert {r["team"]: Decimal(r["cost"]) for r in doubled["rows"]} == {
        r["team"]: 2 * Decimal(r["cost"]) for r in first["rows"]
    }
    # so does an action that succeeded
    version = cache.version
    post(api, "admin", "/api/v1/jobs/marts/run", {})
    assert cache.version > version

"""The web UI's pages in-process (FastAPI's TestClient): sign-in, redirects, access (403 pages),
CSRF, rate limiting, security headers and cookie flags, escaping, money formatting.

The workspace is small: four teams' tagged charges in 2024-09, allocated by the team tag. The
browser tests (tests/integration/test_ui.py) drive the same pages in Chromium on the demo.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from costline.api.app import create_app
from costline.ui.pages import CSP, LOGIN_CSRF_COOKIE
from costline.workspace import Workspace
from tests.allocation_kit import charge, setup, team_tag_rules

PASSWORD = "correct horse battery staple"
EVIL_NAME = "<script>alert(1)</script> & Co"
# team: (cost center, display name); the web team's name tries to inject markup.
TEAMS = {
    "web": ("CC-1", EVIL_NAME),
    "api": ("CC-2", "API Platform"),
    "data": ("CC-3", "Data"),
}
CHARGES = [
    ("web", "AWS", "120.50"),
    ("web", "AWS", "10.25"),
    ("api", "AWS", "300.00"),
    ("api", "Microsoft", "45.10"),
    ("data", "Microsoft", "1000.01"),
]
# The bill's ProviderName → how the pages name the provider (costline keys it aws, azure).
PROVIDER_NAMES = {"AWS": "AWS", "Microsoft": "Azure"}
USERS = {
    "ada": ("admin", []),
    "fin": ("finance", []),
    "wes": ("team", ["web"]),
    "locked": ("team", ["web"]),
}


def owners() -> dict[str, Any]:
    return {
        "version": 1,
        "cost_centers": [
            {"id": cc, "name": f"{name} budget"} for cc, name in (v for v in TEAMS.values())
        ],
        "business_units": [
            {
                "name": "Acme",
                "departments": [
                    {
                        "name": "Engineering",
                        "teams": [
                            {"id": t, "name": name, "cost_center": cc}
                            for t, (cc, name) in TEAMS.items()
                        ],
                    }
                ],
            }
        ],
    }


@dataclass
class Site:
    ws: Workspace
    store: Any
    client: TestClient
    secure: TestClient


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    ws = Workspace.init(tmp_path_factory.mktemp("ui") / "ws")
    rows = [
        charge(cost, tags={"team": team}, provider=provider, day=3 + i)
        for i, (team, provider, cost) in enumerate(CHARGES)
    ]
    setup(ws, rows, team_tag_rules(), owners=owners())
    ws = Workspace.open(ws.root)
    ws.allocate("2024-09")
    with ws.serving():
        store = ws.state()
        for name, (role, teams) in USERS.items():
            store.add_user(name, role, teams)
            store.set_password(name, PASSWORD)
        app = create_app(ws, store, secure_cookies=False)
        secure_app = create_app(ws, store, secure_cookies=True)
        with (
            TestClient(app, follow_redirects=False) as client,
            TestClient(secure_app, base_url="https://testserver", follow_redirects=False) as secure,
        ):
            yield Site(ws, store, client, secure)


def fresh(client: TestClient) -> TestClient:
    client.cookies.clear()
    return client


def login_token(client: TestClient, next_path: str = "/") -> str:
    page = client.get("/login", params={"next": next_path})
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def sign_in(
    client: TestClient, name: str, password: str = PASSWORD, next_path: str = "/"
) -> Response:
    token = login_token(client, next_path)
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token, "next": next_path},
    )


def session_csrf(client: TestClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/data").text)
    assert found
    return found.group(1)


def set_cookie(response: Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no Set-Cookie {name} in {response.headers.get_list('set-cookie')}")


def flags(cookie: str) -> set[str]:
    return {p.strip().split("=")[0].lower() for p in cookie.split(";")[1:]} | {
        p.strip().lower() for p in cookie.split(";")[1:] if p.strip().lower().startswith("samesite")
    }


def island(html: str, element_id: str) -> dict[str, Any]:
    found = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S
    )
    assert found, f"no data island {element_id}"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def money(amount: Decimal) -> str:
    return f"${amount:,.2f}"


# -- redirects and sign-in ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/?month=2024-09",
        "/teams",
        "/teams/web",
        "/anomalies?status=all",
        "/recommendations",
        "/explain/CC-1?period=2024-09",
        "/data",
    ],
)
def test_a_page_without_a_session_redirects_to_the_login_and_back(site: Site, path: str) -> None:
    got = fresh(site.client).get(path)
    assert got.status_code == 303
    target = urlsplit(got.headers["location"])
    assert target.path == "/login"
    assert parse_qs(target.query) == {"next": [path]}


def test_a_form_posted_without_a_session_goes_to_the_login_then_home(site: Site) -> None:
    got = fresh(site.client).post("/anomalies/an-1/ack", data={"csrf_token": "x"})
    assert got.status_code == 303
    assert got.headers["location"] == "/login?next=%2F"


def test_sign_in_sets_a_session_cookie_and_returns_to_the_page(site: Site) -> None:
    client = fresh(site.client)
    form = client.get("/login", params={"next": "/teams/api"})
    login_cookie = set_cookie(form, LOGIN_CSRF_COOKIE)
    assert {"httponly", "path", "samesite=strict"} <= flags(login_cookie)
    assert "secure" not in flags(login_cookie)

    got = sign_in(client, "fin", next_path="/teams/api")
    assert got.status_code == 303
    assert got.headers["location"] == "/teams/api"
    cookie = set_cookie(got, "costline_session")
    assert {"httponly", "samesite=lax", "max-age", "path"} <= flags(cookie)
    assert "secure" not in flags(cookie)  # this app serves plain HTTP (secure_cookies=False)
    page = client.get("/teams/api")
    assert page.status_code == 200
    assert "API Platform" in page.text
    # a signed-in visit to the form goes straight on
    assert client.get("/login", params={"next": "/data"}).headers["location"] == "/data"


def test_cookies_are_secure_when_the_app_serves_https(site: Site) -> None:
    client = fresh(site.secure)
    assert "secure" in flags(set_cookie(client.get("/login"), LOGIN_CSRF_COOKIE))
    got = sign_in(client, "fin")
    assert got.status_code == 303
    assert {"secure", "httponly", "samesite=lax"} <= flags(set_cookie(got, "costline_session"))


def test_sign_in_needs_the_forms_csrf_token(site: Site) -> None:
    client = fresh(site.client)
    data = {"name": "fin", "password": PASSWORD, "next": "/"}
    # no login cookie and no field: a cross-site post
    missing = client.post("/login", data={**data, "csrf_token": ""})
    token = login_token(client)
    wrong = client.post("/login", data={**data, "csrf_token": token[::-1]})
    for got in (missing, wrong):
        assert got.status_code == 403
        assert got.headers["content-type"].startswith("text/html")
        assert "did not come from this site" in got.text
        assert "costline_session=" not in got.headers.get("set-cookie", "")
    assert client.get("/").status_code == 303  # still signed out


@pytest.mark.parametrize(
    "next_path", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"]
)
def test_sign_in_never_redirects_to_another_site(site: Site, next_path: str) -> None:
    got = sign_in(fresh(site.client), "fin", next_path=next_path)
    assert got.status_code == 303
    assert got.headers["location"] == "/"


def test_wrong_password_then_rate_limited_with_429(site: Site) -> None:
    client = fresh(site.client)
    limit = site.store.max_failures
    for _ in range(limit):
        got = sign_in(client, "locked", password="not the password")
        assert got.status_code == 401
        assert "Wrong name or password." in got.text
        assert "costline_session=" not in got.headers.get("set-cookie", "")
    # over the limit even the right password is refused, without being checked
    blocked = sign_in(client, "locked")
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text
    assert blocked.headers["retry-after"] == str(int(site.store.failure_window.total_seconds()))
    assert "costline_session=" not in blocked.headers.get("set-cookie", "")
    mine = [e.action for e in site.store.audit_entries(50) if e.target == "locked"]
    assert mine[0] == "login.blocked" and mine[1:6] == ["login.failed"] * 5


def test_sign_out_needs_csrf_and_ends_the_session(site: Site) -> None:
    client = fresh(site.client)
    assert sign_in(client, "ada").status_code == 303
    old = client.cookies["costline_session"]
    refused = client.post("/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    assert client.get("/data").status_code == 200  # still signed in

    out = client.post("/logout", data={"csrf_token": session_csrf(client)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert 'costline_session=""' in set_cookie(out, "costline_session")
    client.cookies.set("costline_session", old)  # the old cookie is dead on the server too
    assert client.get("/data").status_code == 303
    assert site.store.audit_entries(1, action="user.logout")[0].user == "ada"


# -- access ---------------------------------------------------------------------------------------
def test_a_team_member_gets_a_403_page_for_another_team(site: Site) -> None:
    client = fresh(site.client)
    sign_in(client, "wes")
    for path in ("/teams/api", "/teams/data?month=2024-09", "/explain/CC-2?period=2024-09"):
        got = client.get(path)
        assert got.status_code == 403, path
        assert got.headers["content-type"].startswith("text/html")
        assert "403 · Access denied" in got.text
        assert "API Platform" not in got.text
    own = client.get("/teams/web")
    assert own.status_code == 200
    web = sum((Decimal(c) for t, _, c in CHARGES if t == "web"), Decimal(0))
    assert money(web) in own.text
    # and the API refuses that team's download links too
    for link in re.findall(r'href="(/api/v1/[^"]+format=csv)"', own.text):
        other = link.replace("team%3Dweb", "team%3Dapi").replace("team=web", "team=api")
        assert other != link
        assert client.get(other.replace("&amp;", "&")).status_code == 403, other


def test_a_team_members_overview_holds_only_their_team(site: Site) -> None:
    client = fresh(site.client)
    sign_in(client, "wes")
    page = client.get("/?month=2024-09")
    assert page.status_code == 200
    by_team = island(page.text, "by-team-data")
    assert by_team["labels"] == [EVIL_NAME]
    web = sum((Decimal(c) for t, _, c in CHARGES if t == "web"), Decimal(0))
    assert [Decimal(v) for v in by_team["datasets"][0]["data"]] == [web]
    assert "API Platform" not in page.text and "Data budget" not in page.text


def test_overview_formats_money_with_the_currency_and_names_providers(site: Site) -> None:
    client = fresh(site.client)
    sign_in(client, "fin")
    page = client.get("/?month=2024-09")
    totals: dict[str, Decimal] = {}
    for _, provider, cost in CHARGES:
        totals[provider] = totals.get(provider, Decimal(0)) + Decimal(cost)
    table = page.text.split('id="table-provider"')[1].split("</table>")[0]
    shown = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">([^<]+)</td></tr>", table)
    largest_first = sorted(totals.items(), key=lambda kv: -kv[1])
    assert shown == [(PROVIDER_NAMES[p], money(total)) for p, total in largest_first]
    mtd = page.text.split('id="kpi-mtd-USD"')[1].split("</div>")[0]
    assert money(sum(totals.values(), Decimal(0))) in mtd


def test_markup_in_names_is_escaped(site: Site) -> None:
    client = fresh(site.client)
    sign_in(client, "fin")
    page = client.get("/teams")
    assert EVIL_NAME not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page.text
    overview = client.get("/?month=2024-09").text
    assert "<script>alert" not in overview
    assert EVIL_NAME in island(overview, "by-team-data")["labels"]  # JSON-escaped, intact


# -- forms and errors -----------------------------------------------------------------------------
def test_actions_need_the_sessions_csrf_token(site: Site) -> None:
    client = fresh(site.client)
    sign_in(client, "fin")
    for path, data in (
        ("/anomalies/an-1/ack", {}),
        ("/anomalies/an-1/dismiss", {"csrf_token": "forged", "reason": "x"}),
        ("/recommendations/rec-1/dismiss", {"reason": "sized for peaks"}),
    ):
        got = client.post(path, data=data)
        assert got.status_code == 403, path
        assert got.headers["content-type"].startswith("text/html")
        assert "missing or wrong CSRF token" in got.text
    token = session_csrf(client)
    unknown = client.post("/anomalies/an-1/ack", data={"csrf_token": token})
    assert unknown.status_code == 404
    assert "there is no anomaly &#39;an-1&#39;" in unknown.text


def test_security_headers_on_pages_assets_and_the_api(site: Site) -> None:
    client = fresh(site.client)
    login = client.get("/login")
    sign_in(client, "fin")
    for got in (login, client.get("/"), client.get("/static/charts.js"), client.get("/api/v1/me")):
        assert got.status_code == 200, got.url
        assert got.headers["content-security-policy"] == CSP
        assert got.headers["x-frame-options"] == "DENY"
        assert got.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self';" in CSP and "style-src 'self';" in CSP
    assert "'unsafe-inline'" not in CSP
    for got in (login, client.get("/")):
        assert got.headers["cache-control"] == "no-store"
        assert "<script>" not in got.text  # no inline script: data travels in JSON islands
    assert client.get("/static/charts.js").headers["content-type"].startswith("text/javascript")
    assert "content-security-policy" not in client.get("/docs").headers  # Swagger's own scripts


def test_errors_of_pages_are_html_and_of_the_api_json(site: Site) -> None:
    client = fresh(site.client)
    sign_in(client, "fin")
    bad = client.get("/?month=2024-13")
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/html")
    assert "is not a month" in bad.text and "YYYY-MM" in bad.text
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "There is no such page." in missing.text
    assert client.get("/teams/nobody").status_code == 404
    assert client.get("/anomalies?status=sideways").status_code == 400
    api = fresh(client).get("/api/v1/costs")
    assert api.status_code == 401
    assert api.json()["error"]["code"] == "unauthorized"


def test_pages_render_for_every_role(site: Site) -> None:
    for name in ("ada", "fin", "wes"):
        client = fresh(site.client)
        sign_in(client, name)
        for path in ("/", "/teams", "/anomalies", "/recommendations", "/data"):
            got = client.get(path)
            assert got.status_code == 200, (name, path, got.text[:300])
        jobs = client.get("/data").text
        assert ('id="table-jobs"' in jobs) == (name != "wes")  # job runs: admin and finance
    explain = client.get("/explain/CC-1?period=2024-09")
    assert explain.status_code == 200
    spec = island(explain.text, "waterfall-data")
    web = sum((Decimal(c) for t, _, c in CHARGES if t == "web"), Decimal(0))
    assert spec["labels"][-1] == "Total"
    assert Decimal(spec["datasets"][0]["data"][-1]) == web


def test_static_assets_are_served_and_confined(site: Site) -> None:
    client = fresh(site.client)
    chart = client.get("/static/vendor/chart.umd.min.js")
    assert chart.status_code == 200 and "Chart.js v4" in chart.text[:300]
    for probe in ("/static/../pages.py", "/static/%2e%2e/pages.py", "/static/..%2fpages.py"):
        assert client.get(probe).status_code == 404, probe


def test_ui_templates_are_in_the_package() -> None:
    from importlib.resources import files

    names = {p.name for p in Path(str(files("costline.ui") / "templates")).iterdir()}
    assert {"base.html", "login.html", "overview.html", "team.html", "error.html"} <= names


def test_a_team_dismisses_and_reopens_its_recommendation_in_the_ui(site: Site) -> None:
    import datetime as dt

    from costline.optimize import tickets as rec_store

    made = [
        rec_store.Produced("waste", "gp2-to-gp3", f"vol-ui-{t}", "sub-1", Decimal(50), None, {}, t)
        for t in ("web", "api")
    ]
    site.ws.recommendation_store().upsert(
        [rec_store.produced_row(p) for p in made], dt.datetime(2024, 9, 11, tzinfo=dt.UTC)
    )
    mine, theirs = (p.id for p in made)
    client = fresh(site.client)
    sign_in(client, "wes")
    token = session_csrf(client)
    done = client.post(
        f"/recommendations/{mine}/dismiss", data={"csrf_token": token, "reason": "DR copy"}
    )
    assert done.status_code == 303
    dismissed = client.get("/recommendations", params={"status": "dismissed"}).text
    assert f'action="/recommendations/{mine}/reopen"' in dismissed and "DR copy" in dismissed
    # another team's recommendation: refused, whatever the form says
    assert (
        client.post(f"/recommendations/{theirs}/reopen", data={"csrf_token": token}).status_code
        == 403
    )
    forged = client.post(f"/recommendations/{mine}/reopen", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    back = client.post(f"/recommendations/{mine}/reopen", data={"csrf_token": token})
    assert back.status_code == 303
    shown = client.get(back.headers["location"]).text
    assert f"Recommendation {mine} is open again." in shown
    assert site.ws.recommendation_store().get(mine).status == "open"
    (entry, *_) = site.store.audit_entries(action="recommendation.reopen")
    assert (entry.user, entry.target) == ("wes", mine)


def test_a_kubernetes_recommendation_says_what_to_do_in_the_ui(site: Site) -> None:
    import datetime as dt

    from costline.optimize import tickets as rec_store

    details = {
        "cluster": "prod",
        "namespace": "shop",
        "workload": "checkout",
        "container": "app",
        "cpu_request": 2.0,
        "cpu_recommended": 0.5,
        "memory_request_gib": 4.0,
        "memory_recommended_gib": 1.5,
        "pods": 3.0,
    }
    made = rec_store.Produced(
        "k8s-requests",
        "requests",
        "prod/shop/checkout/app",
        None,
        Decimal(75),
        None,
        details,
        "web",
    )
    site.ws.recommendation_store().upsert(
        [rec_store.produced_row(made)], dt.datetime(2024, 9, 11, tzinfo=dt.UTC)
    )
    client = fresh(site.client)
    sign_in(client, "wes")
    page = html.unescape(client.get("/recommendations").text)
    assert "Set the requests of container app of workload checkout" in page
    assert "CPU 2 → 0.5 cores" in page and "memory 4 → 1.5 GiB" in page

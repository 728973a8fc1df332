"""The web UI in headless Chromium against a real uvicorn on 127.0.0.1 serving the demo company.

The demo is small (400 rows a provider and month, seed 11), ingested, allocated and scanned for
anomalies; Google Cloud's September export has arrived only through Sep 19 (the day of the
injected BigQuery spike), so that anomaly is still open, as in a daily run the morning after.
Expected values come from the API (``/api/v1/...`` with an admin's token) and owners.yaml,
turned into what the page should show by this module's own code, never from the page.

The screenshots in docs/screenshots/ are taken here (docs/how-to/web-ui.md shows them).
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
import uvicorn
import yaml
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from costline import server
from costline.demo import generate
from costline.demo.telemetry import SAMPLES_FILE
from costline.service_demo import install_allocation_inputs, load_allocation_inputs
from costline.workspace import Workspace
from tests.browser import (
    console_errors,
    painted_pixels,
    screenshot,
    wait_for,
    wait_for_download,
)

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

ROWS, SEED = 400, 11
MONTH = "2026-09"
LAGGING_PROVIDER_DAY = "2026-09-20"  # GCP's export holds the days before this one
TEAM, OTHER_TEAM = "customer-analytics", "ml-research"
PASSWORD = "correct horse battery staple"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# How the pages name providers (the test's own table, not the UI's).
PROVIDERS = {"aws": "AWS", "azure": "Azure", "gcp": "Google Cloud"}


@dataclass
class Site:
    base: str
    svc: Any
    truth: dict[str, Any]
    owners: dict[str, Any]
    admin: httpx.Client

    def team_name(self, team: str) -> str:
        for bu in self.owners["business_units"]:
            for dept in bu["departments"]:
                for t in dept["teams"]:
                    if t["id"] == team:
                        return str(t.get("name") or team)
        return "Unallocated" if team.startswith("unallocated") else team

    def cost_center_of(self, team: str) -> str:
        for bu in self.owners["business_units"]:
            for dept in bu["departments"]:
                for t in dept["teams"]:
                    if t["id"] == team:
                        return str(t["cost_center"])
        raise AssertionError(f"no team {team} in owners.yaml")

    def api(self, path: str, **params: Any) -> Any:
        got = self.admin.get(path, params=params)
        assert got.status_code == 200, got.text
        return got.json()


def lagging_export(billing: Path) -> None:
    """Keep only the days of GCP's September export before LAGGING_PROVIDER_DAY."""
    (path,) = billing.glob(f"gcp/*-{MONTH}.ndjson")
    lines = path.read_text().splitlines()
    kept = [ln for ln in lines if json.loads(ln)["usage_start_time"] < LAGGING_PROVIDER_DAY]
    assert 0 < len(kept) < len(lines)
    path.write_text("\n".join(kept) + "\n")


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, dict[str, Any]]:
    root = tmp_path_factory.mktemp("ui-demo")
    out = root / "demo-data"
    truth = generate(out, rows=ROWS, seed=SEED)
    lagging_export(out / "billing")
    ws = Workspace.init(root / "acme")
    report = ws.ingest([out / "billing"])
    assert not report.failed, [(o.file, o.message) for o in report.failed]
    assert install_allocation_inputs(ws, out) is None
    load_allocation_inputs(ws, out, truth)
    for month in truth["generator"]["months"]:
        ws.allocate(month)
    first = ws.query("SELECT min(CAST(ChargePeriodStart AS DATE)) FROM cost").rows[0][0]
    ws.detect_anomalies(since=(first + dt.timedelta(days=14)).isoformat())
    ws.load_telemetry(out / SAMPLES_FILE)
    ws.tickets_sync()  # no ticket channel: recommendations are recorded, stay open
    return ws, truth


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def site(demo_ws: tuple[Workspace, dict[str, Any]]) -> Iterator[Site]:
    ws, truth = demo_ws
    with server.build(ws, secure_cookies=False) as svc:
        store = svc.store
        tokens = {}
        for name, role, teams in (
            ("ada", "admin", []),
            ("fin", "finance", []),
            ("cara", "team", [TEAM]),
            ("mallory", "team", [TEAM]),
        ):
            _, tokens[name] = store.add_user(name, role, teams)
            store.set_password(name, PASSWORD)
        sock = free_socket()
        port = sock.getsockname()[1]
        uv = uvicorn.Server(
            uvicorn.Config(svc.app, log_level="warning", access_log=False, lifespan="off")
        )
        thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not uv.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            assert thread.is_alive(), "uvicorn stopped"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        owners = yaml.safe_load(ws.owners_path.read_text())
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {tokens['ada']}"}, timeout=30
        ) as admin:
            yield Site(base, svc, truth, owners, admin)
        uv.should_exit = True
        thread.join(timeout=10)
        sock.close()


# -- helpers --------------------------------------------------------------------------------------
def sign_in(browser: WebDriver, site: Site, name: str, password: str = PASSWORD) -> None:
    browser.get(site.base + "/login")
    browser.delete_all_cookies()
    browser.get(site.base + "/login")
    browser.find_element(By.ID, "name").send_keys(name)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()
    wait_for(
        browser,
        "!location.pathname.startsWith('/login') || !!document.getElementById('login-error')",
    )


def session_client(browser: WebDriver, site: Site) -> httpx.Client:
    """An HTTP client holding the browser's cookies (to read status codes selenium hides)."""
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    return httpx.Client(base_url=site.base, cookies=cookies, follow_redirects=False, timeout=30)


def money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN):,.2f}"


def numbers(values: list[Decimal]) -> list[float]:
    return [float(v) for v in values]


def costs(site: Site, group_by: str, **params: Any) -> list[tuple[str, Decimal]]:
    """(label, cost) of /api/v1/costs for the month, largest first (the API's own order aside)."""
    got = site.api(
        "/api/v1/costs",
        group_by=group_by,
        start=f"{MONTH}-01",
        end="2026-10-01",
        limit=10000,
        **params,
    )
    assert {r["currency"] for r in got["rows"]} == {"USD"}
    rows = [(str(r[group_by]), Decimal(r["cost"])) for r in got["rows"]]
    return rows if group_by == "day" else sorted(rows, key=lambda r: (-r[1], r[0]))


def chart(browser: WebDriver, chart_id: str) -> dict[str, Any]:
    found = wait_for(browser, f"window.costlineCharts && window.costlineCharts[{chart_id!r}]")
    assert isinstance(found, dict)
    assert "error" not in found, found
    return found


def open_anomaly(site: Site) -> dict[str, Any]:
    """The open anomaly of TEAM: the injected BigQuery spike of GCP's last exported day."""
    rows = site.api("/api/v1/anomalies", status="open")["rows"]
    mine = [r for r in rows if r["team"] == TEAM]
    (injected,) = [a for a in site.truth["anomalies"] if a["team"] == TEAM]
    assert mine, f"no open anomaly of {TEAM}: {rows}"
    assert all(r["first_day"] in injected["days"] for r in mine), (mine, injected)
    found: dict[str, Any] = mine[0]
    return found


# -- tests ----------------------------------------------------------------------------------------
def test_sign_in_then_the_overview_charts_show_the_apis_numbers(
    browser: WebDriver, site: Site
) -> None:
    console_errors(browser)
    browser.get(site.base + "/")
    assert browser.current_url == f"{site.base}/login?next=%2F"
    sign_in(browser, site, "fin")
    assert browser.current_url == site.base + "/"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Spend in September 2026"

    daily = dict(costs(site, "day"))
    first = dt.date.fromisoformat(f"{MONTH}-01")
    days = [first + dt.timedelta(days=i) for i in range(calendar.monthrange(2026, 9)[1])]
    trend = chart(browser, "trend")
    assert trend["type"] == "line" and trend["currency"] == "USD"
    assert trend["labels"] == [f"{calendar.month_abbr[d.month]} {d.day}" for d in days]
    assert trend["datasets"][0]["label"] == "Actual"
    expected = [daily.get(d.isoformat()) for d in days]
    assert trend["datasets"][0]["data"] == [None if v is None else float(v) for v in expected]

    providers = costs(site, "provider")
    by_provider = chart(browser, "by-provider")
    assert by_provider["labels"] == [PROVIDERS[p] for p, _ in providers]
    assert by_provider["datasets"][0]["data"] == numbers([c for _, c in providers])

    services = costs(site, "service")[:10]
    by_service = chart(browser, "by-service")
    assert by_service["labels"] == [s for s, _ in services]
    assert by_service["datasets"][0]["data"] == numbers([c for _, c in services])

    teams = costs(site, "team")[:10]
    by_team = chart(browser, "by-team")
    assert by_team["labels"] == [site.team_name(t) for t, _ in teams]
    assert by_team["datasets"][0]["data"] == numbers([c for _, c in teams])

    month_to_date = sum(daily.values(), Decimal(0))
    tile = browser.find_element(By.CSS_SELECTOR, "#kpi-mtd-USD .kpi").text
    assert tile == money(month_to_date)
    assert painted_pixels(browser, "#trend") > 2000
    assert console_errors(browser) == []  # no CSP violation, no script error
    screenshot(browser, SCREENSHOTS / "overview.png")


def test_a_downloaded_csv_and_xlsx_equal_the_apis_numbers(
    browser: WebDriver, site: Site, downloads: Path
) -> None:
    sign_in(browser, site, "fin")
    expected = dict(costs(site, "provider"))
    card = browser.find_element(By.ID, "table-provider").find_element(By.XPATH, "..")
    card.find_element(By.CSS_SELECTOR, "a[data-download=csv]").click()
    saved = wait_for_download(downloads, name="costs.csv")
    with saved.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["provider"]: Decimal(r["cost"]) for r in rows} == expected
    assert {r["currency"] for r in rows} == {"USD"}

    card.find_element(By.CSS_SELECTOR, "a[data-download=xlsx]").click()
    book = openpyxl.load_workbook(
        io.BytesIO(wait_for_download(downloads, name="costs.xlsx").read_bytes())
    )
    sheet = book.worksheets[0]
    header = [c.value for c in next(sheet.iter_rows(min_row=1, max_row=1))]
    got = {
        row[header.index("provider")]: Decimal(str(row[header.index("cost")]))
        for row in sheet.iter_rows(min_row=2, values_only=True)
        if row[header.index("provider")]
    }
    assert got.keys() == expected.keys()
    for provider, cost in expected.items():  # a spreadsheet number holds about 15 digits
        assert abs(got[provider] - cost) < Decimal("0.000001"), provider


def test_a_team_member_sees_their_team_and_is_refused_another(
    browser: WebDriver, site: Site
) -> None:
    sign_in(browser, site, "cara")
    browser.get(f"{site.base}/teams/{TEAM}?month={MONTH}")
    assert browser.find_element(By.ID, "team-name").text == site.team_name(TEAM)
    spend = dict(costs(site, "day", filter=f"team={TEAM}"))
    trend = chart(browser, "team-trend")
    first = dt.date.fromisoformat(f"{MONTH}-01")
    days = [(first + dt.timedelta(days=i)).isoformat() for i in range(30)]
    assert trend["datasets"][0]["data"] == [
        None if d not in spend else float(spend[d]) for d in days
    ]
    cost_center = site.cost_center_of(TEAM)
    chargeback = site.api("/api/v1/chargeback", period=MONTH)["rows"]
    (line,) = [r for r in chargeback if r["team"] == TEAM]
    table = browser.find_element(By.ID, "table-chargeback").text
    assert cost_center in table and money(Decimal(line["total"])) in table
    screenshot(browser, SCREENSHOTS / "team.png")

    # another team's page: the 403 page (and the status, read with the browser's cookie)
    browser.get(f"{site.base}/teams/{OTHER_TEAM}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "403 · Access denied"
    assert site.team_name(OTHER_TEAM) not in browser.page_source
    with session_client(browser, site) as cara:
        assert cara.get(f"/teams/{OTHER_TEAM}").status_code == 403
        # that team's download links, as its page gives them to someone who may see it
        page = site.admin.get(f"/teams/{OTHER_TEAM}", params={"month": MONTH})
        assert page.status_code == 200
        links = [a for a in _links(page.text) if "format=csv" in a]
        assert len(links) == 4, links
        for link in links:
            assert cara.get(link).status_code == 403, link
            assert site.admin.get(link).status_code == 200, link
    browser.get(site.base + links[0])
    body = json.loads(browser.find_element(By.TAG_NAME, "body").text)
    assert body["error"]["status"] == 403 and body["error"]["code"] == "forbidden"


def _links(html: str) -> list[str]:
    import re

    return [h.replace("&amp;", "&") for h in re.findall(r'href="(/api/v1/[^"]+)"', html)]


def test_acknowledging_an_anomaly_in_the_ui_changes_it_in_the_api(
    browser: WebDriver, site: Site
) -> None:
    target = open_anomaly(site)
    sign_in(browser, site, "fin")
    browser.get(site.base + "/anomalies")
    row = browser.find_element(By.ID, f"anomaly-{target['id']}")
    assert "Open" in row.text and money(Decimal(target["impact"])) in row.text
    screenshot(browser, SCREENSHOTS / "anomalies.png")

    row.find_element(By.CSS_SELECTOR, "button.ack").click()
    wait_for(browser, "document.getElementById('flash')")
    flash = browser.find_element(By.ID, "flash").text
    assert flash == f"Anomaly {target['id']} is now acknowledged."
    status = {r["id"]: r["status"] for r in site.api("/api/v1/anomalies", status="all")["rows"]}
    assert status[target["id"]] == "acked"
    entry = site.svc.store.audit_entries(1, action="anomaly.ack")[0]
    assert (entry.user, entry.target) == ("fin", target["id"])

    # the same form without its CSRF token: refused, nothing changes
    browser.get(site.base + "/anomalies?status=acked")
    row = browser.find_element(By.ID, f"anomaly-{target['id']}")
    form = row.find_element(By.CSS_SELECTOR, "form.dismiss-form")
    browser.execute_script("arguments[0].querySelector('input[name=csrf_token]').remove()", form)
    form.find_element(By.CSS_SELECTOR, "button.dismiss").click()
    wait_for(browser, "document.getElementById('error')")
    assert browser.find_element(By.TAG_NAME, "h1").text == "403 · Access denied"
    assert "CSRF" in browser.find_element(By.ID, "error-message").text
    status = {r["id"]: r["status"] for r in site.api("/api/v1/anomalies", status="all")["rows"]}
    assert status[target["id"]] == "acked"


def test_the_explain_waterfall_adds_up_the_apis_lines(browser: WebDriver, site: Site) -> None:
    cost_center = site.cost_center_of(TEAM)
    lines = site.api(f"/api/v1/explain/cost-centers/{cost_center}", period=MONTH, limit=10000)[
        "rows"
    ]
    steps: dict[tuple[str, str], Decimal] = {}
    for r in lines:
        key = (r["component"], r["rule"])
        steps[key] = steps.get(key, Decimal(0)) + Decimal(r["amount"])
    order = sorted(steps, key=lambda k: (k[0] != "direct", -steps[k], k[1]))
    labels = [
        f"Shared: {rule.removeprefix('pool:')} pool" if part == "shared" else f"Direct: {rule}"
        for part, rule in order
    ]
    total = sum(steps.values(), Decimal(0))

    sign_in(browser, site, "fin")
    console_errors(browser)  # drop earlier pages' messages (the 403s of the test before)
    browser.get(f"{site.base}/explain/{cost_center}?period={MONTH}")
    water = chart(browser, "waterfall")
    assert water["labels"] == [*labels, "Total"]
    assert water["datasets"][0]["data"] == numbers([steps[k] for k in order] + [total])
    # each step floats from the running sum; the total stands on zero
    ranges = water["ranges"]
    assert ranges[0][0] == 0 and ranges[-1] == [0, float(total)]
    assert all(a[1] == b[0] for a, b in zip(ranges[:-2], ranges[1:-1], strict=True))
    assert money(total) in browser.find_element(By.ID, "table-explain").text
    assert console_errors(browser) == []
    screenshot(browser, SCREENSHOTS / "explain.png")


def test_sign_in_is_rate_limited_and_sign_out_ends_the_session(
    browser: WebDriver, site: Site
) -> None:
    for _ in range(site.svc.store.max_failures):
        sign_in(browser, site, "mallory", password="guess")
        assert browser.find_element(By.ID, "login-error").text == "Wrong name or password."
    sign_in(browser, site, "mallory")  # the right password, too late
    assert "Too many failed sign-ins" in browser.find_element(By.ID, "login-error").text
    with httpx.Client(base_url=site.base, timeout=30) as anon:
        form = anon.get("/login")
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        again = anon.post(
            "/login",
            data={"name": "mallory", "password": PASSWORD, "csrf_token": token, "next": "/"},
        )
        assert again.status_code == 429
        assert int(again.headers["retry-after"]) > 0

    sign_in(browser, site, "fin")
    old = browser.get_cookie("costline_session")
    assert old is not None and old["httpOnly"] and old["sameSite"] == "Lax"
    browser.find_element(By.ID, "logout").click()
    wait_for(browser, "location.pathname === '/login'")
    assert browser.get_cookie("costline_session") is None
    browser.get(site.base + "/anomalies")
    assert browser.current_url.startswith(site.base + "/login?next=")
    with httpx.Client(base_url=site.base, cookies={"costline_session": old["value"]}) as stale:
        assert stale.get("/anomalies").status_code == 303

"""Smoke test of the browser harness and the bundled chart assets: a static page served by a
stdlib http.server on 127.0.0.1 (with ``script-src 'self'``), loaded in headless Chromium.

Expected values come from the data islands written here, parsed with Decimal and formatted in
Python, not from the page."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.browser import (
    PNG_SIGNATURE,
    BlackholeProxy,
    console_errors,
    painted_pixels,
    screenshot,
    wait_for,
    wait_for_download,
)

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

STATIC = Path(str(files("costline.ui") / "static"))
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"

TREND: dict[str, Any] = {
    "type": "line",
    "currency": "USD",
    "title": "Monthly spend",
    "labels": ["2026-06", "2026-07", "2026-08", "2026-09"],
    "datasets": [
        {"label": "Actual", "data": ["1234.50", "1310.25", "987.10", None]},
        {"label": "Forecast", "data": [None, None, "987.10", "1502.75"], "dashed": True},
    ],
}
BREAKDOWN: dict[str, Any] = {
    "type": "bar",
    "currency": "EUR",
    "horizontal": True,
    "labels": ["Payments", "Search", "Data platform"],
    "datasets": [{"label": "Spend", "data": ["18250.00", 9400.5, "12.34"]}],
}
CSV = "team,month,cost\r\nPayments,2026-08,18250.00\r\nSearch,2026-08,9400.50\r\n"


def island(element_id: str, spec: object) -> str:
    return f'<script type="application/json" id="{element_id}">{json.dumps(spec)}</script>'


def page(body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>costline smoke</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/costline.css">
<script src="/static/vendor/chart.umd.min.js" defer></script>
<script src="/static/charts.js" defer></script>
</head><body><main>{body}</main></body></html>"""


PAGES = {
    "/": page(
        '<h1>Overview</h1><div class="grid">'
        '<section class="card"><div class="chart"><canvas id="trend" data-chart="trend-data"'
        ' role="img" aria-label="Monthly spend"></canvas></div></section>'
        '<section class="card"><div class="chart"><canvas id="by-team"'
        ' data-chart="by-team-data" role="img" aria-label="Spend by team"></canvas></div>'
        '<p class="table-actions"><a class="button" id="csv" href="/spend.csv">CSV</a></p>'
        "</section></div>" + island("trend-data", TREND) + island("by-team-data", BREAKDOWN)
    ),
    "/broken": page(
        '<div class="chart"><canvas id="pie" data-chart="pie-data"></canvas></div>'
        '<div class="chart"><canvas id="comma" data-chart="comma-data"></canvas></div>'
        '<div class="chart"><canvas id="short" data-chart="short-data"></canvas></div>'
        '<div class="chart"><canvas id="orphan" data-chart="nowhere"></canvas></div>'
        '<div class="chart"><canvas id="nocurrency" data-chart="nocurrency-data"></canvas></div>'
        + island("pie-data", {**BREAKDOWN, "type": "pie"})
        + island(
            "comma-data", {**TREND, "datasets": [{"label": "x", "data": ["1", "12,50", "3", "4"]}]}
        )
        + island("short-data", {**TREND, "datasets": [{"label": "x", "data": ["1"]}]})
        + island("nocurrency-data", {**TREND, "currency": "dollars"})
    ),
}


class Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in PAGES:
            self.reply(PAGES[path].encode(), "text/html; charset=utf-8")
        elif path == "/spend.csv":
            self.reply(
                CSV.encode(),
                "text/csv; charset=utf-8",
                {"Content-Disposition": 'attachment; filename="spend.csv"'},
            )
        elif path.startswith("/static/"):
            target = (STATIC / path.removeprefix("/static/")).resolve()
            if not target.is_file() or not target.is_relative_to(STATIC.resolve()):
                self.send_error(404)
                return
            kind = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}.get(
                target.suffix, "text/plain"
            )
            self.reply(target.read_bytes(), f"{kind}; charset=utf-8")
        else:
            self.send_error(404)

    def reply(self, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def numbers(values: list[object]) -> list[float | None]:
    return [None if v is None else float(Decimal(str(v))) for v in values]


def money(value: object, symbol: str) -> str | None:
    return None if value is None else f"{symbol}{Decimal(str(value)):,.2f}"


def test_charts_render_the_data_islands(
    browser: WebDriver, site: str, tmp_path: Path, downloads: Path
) -> None:
    console_errors(browser)  # drop messages from earlier tests
    browser.get(site + "/")
    charts = wait_for(
        browser,
        "window.costlineCharts && window.costlineCharts.trend && window.costlineCharts['by-team']",
    )
    assert isinstance(charts, dict)

    trend = browser.execute_script("return window.costlineCharts.trend")
    assert trend["type"] == "line"
    assert trend["currency"] == "USD"
    assert trend["labels"] == TREND["labels"]
    assert [ds["label"] for ds in trend["datasets"]] == ["Actual", "Forecast"]
    assert [ds["data"] for ds in trend["datasets"]] == [
        numbers(ds["data"]) for ds in TREND["datasets"]
    ]
    assert trend["formatted"] == [[money(v, "$") for v in ds["data"]] for ds in TREND["datasets"]]
    assert trend["formatted"][0][:2] == ["$1,234.50", "$1,310.25"]
    # Axis ticks are whole dollars below 10,000: "$0", "$1,200".
    assert trend["ticks"], trend
    assert all(re.fullmatch(r"\$\d{1,3}(,\d{3})*", t) for t in trend["ticks"]), trend["ticks"]

    by_team = browser.execute_script("return window.costlineCharts['by-team']")
    assert by_team["type"] == "bar"
    assert by_team["indexAxis"] == "y"
    assert by_team["labels"] == BREAKDOWN["labels"]
    assert by_team["datasets"] == [
        {"label": "Spend", "data": numbers(BREAKDOWN["datasets"][0]["data"])}
    ]
    assert by_team["formatted"] == [["€18,250.00", "€9,400.50", "€12.34"]]
    # The axis passes 10,000, so every tick is compact ("€0", "€4K", "€12.5K").
    assert len(by_team["ticks"]) > 2, by_team
    assert all(re.fullmatch(r"€\d+(\.\d)?K?", t) for t in by_team["ticks"]), by_team["ticks"]
    assert by_team["ticks"][0] == "€0" and by_team["ticks"][-1].endswith("K")

    # Pixels: both canvases are drawn on, and each data point of the line is painted in the
    # first series colour of costline.css exactly where the chart placed it.
    for canvas in ("#trend", "#by-team"):
        assert painted_pixels(browser, canvas) > 2000, canvas
    colours = browser.execute_script(
        """
        const canvas = document.getElementById("trend");
        const chart = Chart.getChart(canvas);
        const ctx = canvas.getContext("2d");
        return chart.getDatasetMeta(0).data.slice(0, 3).map((p) =>
          Array.from(ctx.getImageData(Math.round(p.x), Math.round(p.y), 1, 1).data));
        """
    )
    assert colours == [[0x2F, 0x5D, 0x8A, 255]] * 3

    assert console_errors(browser) == []  # includes CSP violations: no inline script needed

    shot = screenshot(browser, tmp_path / "overview.png")
    assert shot.read_bytes().startswith(PNG_SIGNATURE)
    assert shot.stat().st_size > 10_000

    browser.find_element(By.ID, "csv").click()
    saved = wait_for_download(downloads)
    assert saved.name == "spend.csv"
    assert saved.read_bytes() == CSV.encode()


def test_bad_data_islands_show_an_error_naming_the_problem(browser: WebDriver, site: str) -> None:
    browser.get(site + "/broken")
    wait_for(browser, "window.costlineCharts && window.costlineCharts.nocurrency")
    errors = {
        key: browser.execute_script(f"return window.costlineCharts[{key!r}].error")
        for key in ("pie", "comma", "short", "orphan", "nocurrency")
    }
    assert errors == {
        "pie": 'type is "pie": expected one of line, bar',
        "comma": 'datasets[0].data[1] is "12,50": expected a number, a decimal string or null',
        "short": "datasets[0] has 1 values for 4 labels",
        "orphan": 'no <script type="application/json" id="nowhere"> data island',
        "nocurrency": 'currency is "dollars": expected an ISO 4217 code such as USD',
    }
    shown = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".chart-error")]
    assert shown == [f"Chart unavailable: {errors[k]}" for k in errors]
    assert browser.find_elements(By.CSS_SELECTOR, "canvas") == []
    assert len(console_errors(browser)) == len(errors)


def test_no_network_beyond_loopback(
    browser: WebDriver, site: str, blackhole_proxy: BlackholeProxy
) -> None:
    # The request goes to the harness's blackhole proxy (no DNS lookup, nothing leaves).
    browser.get("http://costline-offline-check.invalid/chart.js")
    assert blackhole_proxy.seen("costline-offline-check.invalid")
    assert "blocked by the test harness" in browser.page_source
    browser.get(site + "/")  # loopback still works
    wait_for(browser, "window.costlineCharts && window.costlineCharts.trend")

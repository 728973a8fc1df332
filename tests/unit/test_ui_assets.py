"""The web UI's static assets: vendored files match SOURCES.md, and nothing loads from a CDN.

Read through importlib.resources, as the server will (so a file the package does not carry is
missed here too)."""

from __future__ import annotations

import hashlib
import re
from importlib.resources import files
from pathlib import Path

STATIC = Path(str(files("costline.ui") / "static"))
VENDOR = STATIC / "vendor"


def sources_table() -> dict[str, tuple[str, str]]:
    """file -> (version, sha256) from the table in vendor/SOURCES.md."""
    rows: dict[str, tuple[str, str]] = {}
    for line in (VENDOR / "SOURCES.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and re.fullmatch(r"`[^`]+`", cells[0]):
            rows[cells[0].strip("`")] = (cells[2], cells[5].strip("`"))
    return rows


def test_vendored_files_match_their_recorded_sha256() -> None:
    table = sources_table()
    assert set(table) == {"chart.umd.min.js", "LICENSE.chart.js.md"}
    vendored = {p.name for p in VENDOR.iterdir()} - {"SOURCES.md"}
    assert vendored == set(table), "every vendored file needs a row in SOURCES.md"
    for name, (_, sha256) in table.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == sha256, name


def test_chart_js_is_the_recorded_version_under_mit() -> None:
    version, _ = sources_table()["chart.umd.min.js"]
    header = (VENDOR / "chart.umd.min.js").read_text(encoding="utf-8")[:300]
    assert f"Chart.js v{version}\n" in header
    assert version.startswith("4.")
    assert "Released under the MIT License" in header
    assert (VENDOR / "LICENSE.chart.js.md").read_text().startswith("The MIT License (MIT)")


def test_own_assets_load_nothing_from_elsewhere() -> None:
    """Offline: no URL to another host in our CSS or JavaScript (comments included)."""
    for name in ("charts.js", "costline.css", "favicon.svg"):
        text = (STATIC / name).read_text()
        urls = re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, flags=re.IGNORECASE)
        urls = [u for u in urls if u != "http://www.w3.org"]  # the SVG namespace, not a load
        assert urls == [], f"{name} refers to {urls}"
        assert "@import" not in text, name

"""Headless Chromium for browser tests: a session-scoped selenium driver and helpers.

Use it from a test module with ``pytest_plugins = ["tests.browser"]`` and mark the tests
``browser``, ``slow`` and ``xdist_group("browser")`` (``make test`` runs ``--dist loadgroup``:
one worker, one Chromium)::

    pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


    def test_page(browser: WebDriver, downloads: Path, tmp_path: Path) -> None:
        browser.get(f"http://127.0.0.1:{port}/")
        wait_for(browser, "window.costlineCharts && window.costlineCharts['trend']")
        screenshot(browser, tmp_path / "page.png")

Chromium is Debian's ``chromium`` + ``chromium-driver`` at fixed paths, installed by
``make browser-deps`` (``make test`` runs it). When they are missing the tests FAIL with that fix:
a CI that cannot run them must not pass quietly.

Network: only loopback. Every request to another host goes to :class:`BlackholeProxy`, an
in-process proxy on 127.0.0.1 that records it and answers 403, so nothing leaves the machine
(Chromium bypasses proxies for loopback addresses on its own); host names other than 127.0.0.1
and localhost do not resolve either.

PYTEST_DONT_REWRITE: test modules import the helpers before ``pytest_plugins`` registers this
module, too late for pytest to rewrite its asserts (which carry their own messages).
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FIX = (
    "run `make browser-deps` (installs Debian's chromium and chromium-driver with apt-get; "
    "needs root)"
)
WINDOW = (1400, 1000)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class BlackholeProxy:
    """An HTTP proxy on 127.0.0.1 that forwards nothing: it records each request line
    (``GET http://host/path HTTP/1.1`` or ``CONNECT host:443 HTTP/1.1``) and answers 403."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="blackhole-proxy", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    head = conn.recv(8192).split(b"\r\n", 1)[0].decode("latin-1")
                    with self._lock:
                        self.requests.append(head)
                    body = b"blocked by the test harness: no network beyond loopback\n"
                    conn.sendall(
                        b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
                        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
                    )
                except OSError:
                    continue

    def seen(self, fragment: str) -> bool:
        with self._lock:
            return any(fragment in line for line in self.requests)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


def chromium_options(download_dir: Path, proxy_port: int) -> webdriver.ChromeOptions:
    """Options for a headless, loopback-only Chromium that saves downloads to download_dir."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
        "--lang=en-US",
        # No network beyond loopback: names do not resolve, and whatever still goes out
        # (an IP literal) reaches the blackhole proxy; loopback bypasses proxies implicitly.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
        f"--proxy-server=http://127.0.0.1:{proxy_port}",
        # Quiet: no background calls home.
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-sync",
        "--disable-extensions",
        "--no-pings",
        "--mute-audio",
        "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(download_dir),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
            "safebrowsing.enabled": False,
            "intl.accept_languages": "en-US,en",
        },
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


@pytest.fixture(scope="session")
def blackhole_proxy() -> Iterator[BlackholeProxy]:
    proxy = BlackholeProxy()
    yield proxy
    proxy.close()


@pytest.fixture(scope="session")
def browser_download_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser-downloads")


@pytest.fixture(scope="session")
def browser(
    browser_download_dir: Path,
    blackhole_proxy: BlackholeProxy,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WebDriver]:
    """Headless Chromium driven by selenium, shared by the session (fails, never skips, when
    Chromium is not installed). Tests that log in should start with ``delete_all_cookies()``."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        pytest.fail(f"browser tests need {' and '.join(missing)}: {FIX}", pytrace=False)
    log = tmp_path_factory.mktemp("chromedriver") / "chromedriver.log"
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(log))
    try:
        driver = webdriver.Chrome(
            service=service, options=chromium_options(browser_download_dir, blackhole_proxy.port)
        )
    except WebDriverException as exc:
        detail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
        pytest.fail(
            f"headless Chromium did not start: {exc.msg}\nchromedriver log tail:\n{detail}\n"
            f"If Chromium is broken or half-installed, {FIX}.",
            pytrace=False,
        )
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def downloads(browser: WebDriver, browser_download_dir: Path) -> Path:
    """The browser's download folder, emptied for this test."""
    for entry in browser_download_dir.iterdir():
        entry.unlink()
    return browser_download_dir


def wait_for(driver: WebDriver, js_condition: str, timeout: float = 10.0) -> Any:
    """Poll the JavaScript expression js_condition until it is truthy; return its value.

    An expression that throws counts as false. On timeout the assertion names the condition
    and the page's console errors."""
    script = f"try {{ return ({js_condition}); }} catch (e) {{ return null; }}"
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05).until(
            lambda d: d.execute_script(script)
        )
    except TimeoutException as exc:
        errors = console_errors(driver)
        raise AssertionError(
            f"timed out after {timeout}s waiting for `{js_condition}` on {driver.current_url}; "
            f"console errors: {errors or 'none'}"
        ) from exc


def console_errors(driver: WebDriver) -> list[str]:
    """Console messages of level SEVERE (JavaScript errors, failed loads) since the last call."""
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [e["message"] for e in entries if e.get("level") == "SEVERE"]


def screenshot(driver: WebDriver, path: Path, *, full_page: bool = True) -> Path:
    """Save a PNG of the page (the whole page, or only the window) to path and return path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if full_page:
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        data = base64.b64decode(shot["data"])
    else:
        data = driver.get_screenshot_as_png()
    assert data.startswith(PNG_SIGNATURE), f"screenshot of {driver.current_url} is not a PNG"
    path.write_bytes(data)
    return path


def painted_pixels(driver: WebDriver, canvas_selector: str) -> int:
    """How many pixels of the canvas are not fully transparent (0 for a blank canvas)."""
    count = driver.execute_script(
        """
        const canvas = document.querySelector(arguments[0]);
        if (!canvas) return -1;
        const ctx = canvas.getContext("2d");
        const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
        return painted;
        """,
        canvas_selector,
    )
    assert count != -1, f"no canvas matches {canvas_selector!r} on {driver.current_url}"
    return int(count)


def wait_for_download(directory: Path, timeout: float = 15.0, *, name: str | None = None) -> Path:
    """Wait until a download in directory has finished (no partial ``.crdownload`` file left,
    size stable) and return it: the file called name, or the only file there."""
    deadline = time.monotonic() + timeout
    last: tuple[str, int] | None = None
    while time.monotonic() < deadline:
        entries = sorted(directory.iterdir())
        partial = [e for e in entries if e.suffix == ".crdownload" or e.name.startswith(".")]
        done = [e for e in entries if e not in partial and (name is None or e.name == name)]
        if not partial and len(done) == 1:
            current = (done[0].name, done[0].stat().st_size)
            if current == last:
                return done[0]
            last = current
        elif len(done) > 1 and name is None:
            raise AssertionError(
                f"several downloads in {directory}: {[e.name for e in done]}; pass name="
            )
        time.sleep(0.1)
    raise AssertionError(
        f"no finished download{f' named {name!r}' if name else ''} in {directory} after "
        f"{timeout}s; it holds {[e.name for e in sorted(directory.iterdir())] or 'nothing'}"
    )

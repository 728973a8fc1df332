"""One GET with retries, shared by the HTTP pullers (Azure Monitor, Prometheus).

429 and 5xx answers, timeouts and refused connections are retried with a doubling backoff
(at least the server's ``Retry-After``, capped); any other answer is returned to the caller,
which knows what a 401 or a 404 means for its API.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from costline.core.time import retry_after_seconds
from costline.sources.telemetry.errors import PullUnavailableError

RETRIES = 2  # attempts after the first
BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0


def get(
    client: httpx.Client,
    url: str,
    *,
    source: str,
    what: str,
    params: Any = None,
    headers: Mapping[str, str] | None = None,
    retries: int = RETRIES,
    backoff: float = BACKOFF_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """GET ``url``; the last answer that is neither 429 nor 5xx.

    Raises:
        PullUnavailableError: still 429/5xx or unreachable after ``retries`` more attempts;
            names ``what`` was asked for and the last status or network error.
    """
    attempt = 0
    while True:
        retry_after: float | None = None
        try:
            response = client.get(url, params=params, headers=headers)
        except httpx.TransportError as exc:
            problem = f"cannot reach {url}: {type(exc).__name__}: {exc}"
        else:
            if response.status_code != 429 and response.status_code < 500:
                return response
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
            problem = f"HTTP {response.status_code} for {what}: {_snippet(response)}"
        if attempt >= retries:
            raise PullUnavailableError(
                source,
                f"{problem} (after {attempt + 1} attempts)",
                hint="the API is unreachable, rate limited or failing: check the URL and "
                "network, then pull again later (already stored samples are kept)",
            )
        attempt += 1
        delay = min(MAX_BACKOFF_SECONDS, backoff * 2.0 ** (attempt - 1))
        sleep(min(MAX_BACKOFF_SECONDS, max(delay, retry_after or 0.0)))


def _snippet(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return text if len(text) <= 300 else text[:297] + "..."

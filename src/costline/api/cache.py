"""Answers of read endpoints, kept until the data changes (dashboard speed under load).

While ``costline serve`` runs it owns the warehouse, so every change of the data goes through
this process: a job run, or a state change through the API. Each of those bumps
:attr:`ResponseCache.version` (and empties the cache); an answer is kept per method, path,
query string and the caller's *scope* (role and teams — two members of one team share it, a
member of another team never sees it), for at most ``ttl`` seconds. Only complete 200 answers of
GET requests under ``/api/v1`` are kept, except the ones about the caller, about jobs that
change as they run, and about recommendations, savings and the ingest file history (the state
store, which a CLI command may change while the server runs).

Tokens are checked against the state store at most every ``TOKEN_TTL`` seconds per token
(:class:`TokenCache`); a revoked token or a disabled user stops working within that time.

Example:
    >>> c = ResponseCache(max_entries=2, ttl=60)
    >>> c.put(("GET", "/a"), (200, b"x", "text/plain", {}), now=0)
    >>> c.get(("GET", "/a"), now=30)[1], c.get(("GET", "/a"), now=61)
    (b'x', None)
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

# the caller, jobs that change as they run, and what other processes may change in the state
# store while the server runs (`costline tickets dismiss`, `tickets sync` from cron; the ingest
# file history, written by whichever process ingests)
NOT_CACHED = (
    "/api/v1/me",
    "/api/v1/jobs",
    "/api/v1/recommendations",
    "/api/v1/savings",
    "/api/v1/ingest/files",
)
TOKEN_TTL = 30.0

Entry = tuple[int, bytes, str, dict[str, str]]  # status, body, media type, headers


class ResponseCache:
    """A bounded LRU of answers, emptied whenever :meth:`bump` says the data changed."""

    def __init__(self, *, max_entries: int = 1024, ttl: float = 300.0) -> None:
        self.max_entries, self.ttl = max_entries, ttl
        self.version = 0
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[float, Entry]] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key: Hashable, *, now: float | None = None) -> Entry | None:
        at = time.monotonic() if now is None else now
        with self._lock:
            found = self._items.get(key)
            if found is None or at - found[0] > self.ttl:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: Hashable, entry: Entry, *, now: float | None = None) -> None:
        at = time.monotonic() if now is None else now
        with self._lock:
            self._items[key] = (at, entry)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def bump(self) -> None:
        """The data changed: forget every answer."""
        with self._lock:
            self.version += 1
            self._items.clear()


class TokenCache:
    """token digest → (user, when checked), so a busy dashboard does not ask the state store
    on every request."""

    def __init__(self, ttl: float = TOKEN_TTL) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, Any]] = {}

    def get(self, digest: str) -> Any | None:
        with self._lock:
            found = self._items.get(digest)
        if found is None or time.monotonic() - found[0] > self.ttl:
            return None
        return found[1]

    def put(self, digest: str, user: Any) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[digest] = (time.monotonic(), user)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

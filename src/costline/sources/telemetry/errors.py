"""Errors of the telemetry pullers. Callers read the class, never the message::

CostlineError
└── PullError                 a monitoring API did not give the samples (source, detail)
    ├── PullUnavailableError  429, 5xx, timeout, connection refused (after retries)
    └── PullRejectedError     credentials, permissions, unknown resource, bad query
"""

from __future__ import annotations

from costline.core.errors import CostlineError, TerminalError, TransientError


class PullError(CostlineError):
    """A monitoring API did not return the samples asked for."""

    def __init__(self, source: str, detail: str, *, hint: str | None = None) -> None:
        super().__init__(f"{source}: {detail}", hint=hint)
        self.source = source
        self.detail = detail


class PullUnavailableError(PullError, TransientError):
    """The API was unreachable, rate limited or failing; a later pull may succeed."""


class PullRejectedError(PullError, TerminalError):
    """The API refused the request (credentials, permissions, unknown resource, bad query)."""

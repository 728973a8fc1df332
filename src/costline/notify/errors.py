"""Errors of alert delivery. The retry loop reads ``retryable``, never the message::

CostlineError
└── DeliveryError                 a channel did not take the alert (channel id, detail)
    ├── RetryableDeliveryError    5xx, 429, timeout, connection refused: try again later
    ├── RejectedDeliveryError     4xx other than 429, SMTP 5xx: retrying will not help
    └── ChannelMisconfiguredError missing env var, bad URL, no recipient: fix the config
"""

from __future__ import annotations

from costline.core.errors import CostlineError, TerminalError, TransientError


class DeliveryError(CostlineError):
    """A channel did not take an alert. ``detail`` is what failed, for the attempt log."""

    retryable = False

    def __init__(
        self,
        channel: str,
        detail: str,
        *,
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"channel {channel!r}: {detail}", hint=hint)
        self.channel = channel
        self.detail = detail
        self.retry_after = retry_after


class RetryableDeliveryError(DeliveryError, TransientError):
    """The channel may take the alert later (server error, rate limit, timeout, refused)."""

    retryable = True


class RejectedDeliveryError(DeliveryError, TerminalError):
    """The channel refused the alert itself (bad request, auth, unknown project)."""


class ChannelMisconfiguredError(DeliveryError, TerminalError):
    """The channel's configuration cannot work: the hint names the key or variable to set."""

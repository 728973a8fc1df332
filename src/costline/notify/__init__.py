"""Alert delivery: Slack, email (SMTP), Jira and generic JSON webhooks, with retries and an outbox.

* :mod:`costline.notify.message`: the :class:`Alert` and its rendering per channel (pure);
* :mod:`costline.notify.channels`: one attempt on one channel (httpx, smtplib);
* :mod:`costline.notify.deliver`: routing, retries with backoff, the outbox protocol;
* :mod:`costline.notify.errors`: :class:`DeliveryError` and its retryable/terminal kinds.

The delivery state itself lives in the state store (:mod:`costline.storage.state.outbox`);
the workspace façade wires the two. See docs/how-to/alert-channels.md.
"""

from __future__ import annotations

from costline.notify.channels import send
from costline.notify.deliver import (
    DeliveryReport,
    Destination,
    Outbox,
    Outcome,
    backoff_delay,
    deliver,
    router,
)
from costline.notify.errors import (
    ChannelMisconfiguredError,
    DeliveryError,
    RejectedDeliveryError,
    RetryableDeliveryError,
)
from costline.notify.message import Alert, Cause, ResourceDelta, alert_link

__all__ = [
    "Alert",
    "Cause",
    "ChannelMisconfiguredError",
    "DeliveryError",
    "DeliveryReport",
    "Destination",
    "Outbox",
    "Outcome",
    "RejectedDeliveryError",
    "ResourceDelta",
    "RetryableDeliveryError",
    "alert_link",
    "backoff_delay",
    "deliver",
    "router",
    "send",
]

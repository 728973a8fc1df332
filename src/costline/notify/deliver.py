"""Deliver alerts to their channels with retries, backoff and an outbox that survives restarts.

Each alert revision goes to each of its channels at most once. For every (anomaly, revision,
channel) the outbox holds a status:

* ``sending``: written *before* the first network call of a run;
* ``delivered``: written right after the channel took it; a later run skips it;
* ``failed``: every attempt of the run failed (or the channel refused it for good); the next
  run tries again, so no alert is lost while a channel is down or misconfigured;
* ``superseded``: a newer revision of the same anomaly exists; only that one is sent.

Every attempt is recorded (time, channel, outcome, error text). Within one run a retryable
failure (5xx, 429, timeout, refused connection) is retried with exponential backoff and jitter,
capped at ``max_backoff_seconds`` and at least the server's ``Retry-After``; a refusal (4xx,
SMTP 5xx, missing secret) is not retried in that run.

Restart safety: a run that dies leaves ``sending`` rows; the next run sends them again from the
payload stored in the outbox. Webhook (``Idempotency-Key``) and Jira (label search and revision
marker) cannot duplicate. Slack and email have no idempotency key: a crash exactly between the
channel accepting a message and ``delivered`` being written repeats that one message.

Example:
    >>> from costline.config.models import RetryConfig
    >>> [round(backoff_delay(RetryConfig(), n, rng=lambda: 1.0), 1) for n in (1, 2, 7, 8)]
    [1.0, 2.0, 60.0, 60.0]
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from costline.config.allocation import Contacts
from costline.config.models import DEFAULT_ROUTE, AlertsConfig, ChannelConfig, RetryConfig
from costline.notify import channels as channel_io
from costline.notify import message
from costline.notify.errors import DeliveryError
from costline.notify.message import Alert

Status = Literal["sending", "delivered", "failed", "superseded", "unreadable"]


class Outbox(Protocol):
    """Where delivery state lives (:class:`costline.storage.state.outbox.AlertOutbox`, in the
    state store)."""

    def record_attempt(
        self,
        anomaly_id: str,
        revision: int,
        channel: str,
        *,
        at: datetime,
        outcome: str,
        detail: str | None,
    ) -> int:
        """Log one attempt; returns its number (1 for the first attempt ever)."""

    def mark(
        self,
        anomaly_id: str,
        revision: int,
        channel: str,
        status: str,
        *,
        payload: str | None = None,
        error: str | None = None,
    ) -> None:
        """Set the status (``payload``, the alert as JSON, is kept once given)."""

    def status_of(self, anomaly_id: str, revision: int, channel: str) -> str | None:
        """The status, or None when this revision never went to this channel."""

    def pending(self) -> Sequence[tuple[str, int, str, str]]:
        """``(anomaly_id, revision, channel, payload)`` of every ``sending`` or ``failed`` row."""


@dataclass(frozen=True)
class Destination:
    """A channel resolved for one alert's team (its contacts fill in recipients/projects)."""

    channel: ChannelConfig
    contacts: Contacts | None = None

    @property
    def id(self) -> str:
        return self.channel.id


@dataclass(frozen=True)
class Outcome:
    """What one run did for one alert revision and channel."""

    anomaly_id: str
    revision: int
    channel: str
    status: Literal["delivered", "skipped", "failed", "superseded"]
    attempts: int
    detail: str


@dataclass
class DeliveryReport:
    outcomes: list[Outcome] = field(default_factory=list)
    unrouted: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def delivered(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "delivered"]


Sender = Callable[..., str]


def router(
    config: AlertsConfig, contacts: Mapping[str, Contacts]
) -> Callable[[Alert], list[Destination]]:
    """``alerts.routes``: the team's channels, else ``default``'s, with the team's contacts.

    Example:
        >>> cfg = AlertsConfig.model_validate({"channels": [{"id": "ops", "type": "slack",
        ...     "url": "https://hooks.example.com/x"}], "routes": {"default": ["ops"]}})
        >>> from decimal import Decimal
        >>> alert = Alert("a", "k", 1, "open", "low", "t", "s", "payments", "2024-05-01", "USD",
        ...     Decimal(1), Decimal(2), Decimal(1), 100.0)
        >>> [d.id for d in router(cfg, {})(alert)]
        ['ops']
    """

    def channels_for(alert: Alert) -> list[Destination]:
        ids = config.routes.get(alert.team or "", config.routes.get(DEFAULT_ROUTE, []))
        team = contacts.get(alert.team or "")
        found = (config.channel(i) for i in ids)
        return [Destination(c, team) for c in found if c is not None]

    return channels_for


def backoff_delay(
    retry: RetryConfig,
    attempt: int,
    *,
    retry_after: float | None = None,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed ``attempt`` (1-based): doubling, half of it jittered, capped.

    The wait is at least the server's ``Retry-After`` but never above ``max_backoff_seconds``.
    """
    base = min(retry.max_backoff_seconds, retry.backoff_seconds * 2.0 ** (attempt - 1))
    delay = base / 2 + base / 2 * rng()
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, retry.max_backoff_seconds)


def deliver(
    alerts: Iterable[Alert],
    channels_for: Callable[[Alert], Sequence[Destination]],
    outbox: Outbox,
    *,
    retry: RetryConfig,
    sleep: Callable[[float], None] = time.sleep,
    send: Sender = channel_io.send,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DeliveryReport:
    """Send every alert (and every revision left ``sending``/``failed`` by earlier runs).

    Args:
        alerts: New alert revisions.
        channels_for: Routing: the destinations of one alert (see :func:`router`).
        outbox: Delivery state; consulted first, so a delivered revision is never resent.
        retry: Attempts, backoff and timeout (``alerts.retry``).
        sleep: How to wait between attempts (tests pass ``lambda s: None``).
        send: One attempt on one channel (default :func:`costline.notify.channels.send`).
        environ: Where channel secrets are read (default ``os.environ``).
        clock: The time recorded with each attempt.

    Returns:
        One outcome per alert revision and channel, plus alerts no route covers.
    """
    report = DeliveryReport()
    todo = {(a.anomaly_id, a.revision): a for a in alerts}
    for anomaly_id, revision, channel, payload in outbox.pending():
        if (anomaly_id, revision) in todo:
            continue
        try:
            todo[(anomaly_id, revision)] = message.alert_from_payload(json.loads(payload))
        except (ValueError, KeyError, TypeError) as exc:
            outbox.mark(anomaly_id, revision, channel, "unreadable", error=str(exc))
            report.outcomes.append(
                Outcome(
                    anomaly_id, revision, channel, "failed", 0, f"stored alert unreadable: {exc}"
                )
            )
    latest: dict[str, int] = {}
    for anomaly_id, revision in todo:
        latest[anomaly_id] = max(revision, latest.get(anomaly_id, revision))
    for (anomaly_id, revision), alert in sorted(todo.items()):
        destinations = channels_for(alert)
        if not destinations:
            report.unrouted.append(alert.delivery_id)
        for dest in destinations:
            status = outbox.status_of(anomaly_id, revision, dest.id)
            if status == "delivered":
                report.outcomes.append(
                    Outcome(anomaly_id, revision, dest.id, "skipped", 0, "already delivered")
                )
            elif revision < latest[anomaly_id]:
                if status is not None:
                    outbox.mark(anomaly_id, revision, dest.id, "superseded")
                note = f"revision {latest[anomaly_id]} replaces it"
                report.outcomes.append(
                    Outcome(anomaly_id, revision, dest.id, "superseded", 0, note)
                )
            else:
                report.outcomes.append(
                    _deliver_one(
                        alert,
                        dest,
                        outbox,
                        retry=retry,
                        sleep=sleep,
                        send=send,
                        environ=environ,
                        clock=clock,
                    )
                )
    return report


def _deliver_one(
    alert: Alert,
    dest: Destination,
    outbox: Outbox,
    *,
    retry: RetryConfig,
    sleep: Callable[[float], None],
    send: Sender,
    environ: Mapping[str, str] | None,
    clock: Callable[[], datetime],
) -> Outcome:
    ids = (alert.anomaly_id, alert.revision, dest.id)
    outbox.mark(*ids, "sending", payload=message.to_json(alert))
    error = "no attempt made"
    for attempt in range(1, retry.attempts + 1):
        at = clock()
        try:
            note = send(
                dest.channel,
                alert,
                contacts=dest.contacts,
                timeout=retry.timeout_seconds,
                environ=environ,
            )
        except DeliveryError as exc:
            error = str(exc)
            outbox.record_attempt(*ids, at=at, outcome="error", detail=error)
            if not exc.retryable:
                break
            if attempt < retry.attempts:
                sleep(backoff_delay(retry, attempt, retry_after=exc.retry_after))
            continue
        except Exception as exc:  # NOTE: a bug in one channel must not stop the others.
            error = f"channel {dest.id!r}: unexpected {type(exc).__name__}: {exc}"
            outbox.record_attempt(*ids, at=at, outcome="error", detail=error)
            break
        outbox.record_attempt(*ids, at=at, outcome="delivered", detail=note)
        outbox.mark(*ids, "delivered")
        return Outcome(*ids, "delivered", attempt, note)
    outbox.mark(*ids, "failed", error=error)
    return Outcome(*ids, "failed", attempt, error)

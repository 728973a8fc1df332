"""Send one alert to one channel: Slack, generic webhook, Jira (httpx) or email (smtplib).

:func:`send` makes one attempt and either returns a short note of what happened (``HTTP 200``,
``created PAY-12``) or raises a :class:`~costline.notify.errors.DeliveryError` that says what
failed and whether a retry can help. Retries, backoff and the outbox live in
:mod:`costline.notify.deliver`. :func:`send_email` sends any prepared email through an email
channel (alerts and the savings digest, :mod:`costline.notify.digest`).

Secrets come from environment variables named in the channel (``url_env``, ``token_env``, ...)
and are read at send time, so ``costline.yaml`` never has to hold them. Messages name the
server's host, never a full URL: a Slack webhook URL is itself a secret.

Idempotency per type:

* webhook: every request carries ``Idempotency-Key: <anomaly_id>-<revision>``;
* Jira: the series' issue is found by its label ``costline-<key>`` and updated, never created
  twice; the description ends with a revision marker, so a repeated update adds no comment;
* Slack and email have no idempotency key: the outbox makes a repeat unlikely, not impossible.

Example:
    >>> jira_label("team=payments|service=EC2")
    'costline-team_payments_service_ec2-d0262c5b'
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import httpx

from costline.config.allocation import Contacts
from costline.config.models import (
    ChannelConfig,
    EmailChannel,
    JiraChannel,
    SlackChannel,
    WebhookChannel,
)
from costline.core.time import retry_after_seconds
from costline.notify import message
from costline.notify.errors import (
    ChannelMisconfiguredError,
    DeliveryError,
    RejectedDeliveryError,
    RetryableDeliveryError,
)
from costline.notify.message import Alert

BODY_CHARS = 200
USER_AGENT = "costline-notify"


def send(
    channel: ChannelConfig,
    alert: Alert,
    *,
    contacts: Contacts | None = None,
    timeout: float = 10.0,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Deliver ``alert`` through ``channel`` once.

    Args:
        channel: The channel from ``alerts.channels``.
        alert: What to send.
        contacts: The owning team's contacts (email ``to`` and Jira project fallbacks).
        timeout: Seconds for each network operation.
        environ: Where secrets are read (default: ``os.environ``).

    Returns:
        A short note of what the channel answered.

    Raises:
        DeliveryError: ``retryable`` says whether trying again can help.
    """
    env = os.environ if environ is None else environ
    senders: dict[str, Callable[..., str]] = {
        "slack": _send_slack,
        "webhook": _send_webhook,
        "email": _send_email,
        "jira": _send_jira,
    }
    return senders[channel.type](channel, alert, contacts=contacts, timeout=timeout, env=env)


# -- secrets and URLs -----------------------------------------------------------------------
def _env(channel: str, var: str, env: Mapping[str, str], what: str) -> str:
    value = env.get(var, "")
    if not value.strip():
        raise ChannelMisconfiguredError(
            channel,
            f"environment variable {var} ({what}) is not set",
            hint=f"export {var}=... in the environment costline runs in",
        )
    return value.strip()


def _url(channel: SlackChannel | WebhookChannel, env: Mapping[str, str]) -> str:
    if channel.url is not None:
        return channel.url
    assert channel.url_env is not None  # validated: exactly one of url, url_env
    url = _env(channel.id, channel.url_env, env, "the webhook URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChannelMisconfiguredError(
            channel.id,
            f"environment variable {channel.url_env} does not hold an http(s) URL with a host",
            hint=f"set {channel.url_env} to the full URL, e.g. https://hooks.example.com/...",
        )
    return url


def where(url: str) -> str:
    """``host:port`` of a URL: what messages show instead of a URL that may be a secret."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a malformed port: httpx will say so
        return str(parts.hostname)
    return f"{parts.hostname}:{port}"


def describe_target(channel: ChannelConfig) -> str:
    """Where a channel sends, without secrets: a host, ``$VAR`` for a URL in the environment.

    Example:
        >>> from costline.config.models import SlackChannel
        >>> describe_target(SlackChannel(id="s", type="slack", url_env="SLACK_URL"))
        'URL in $SLACK_URL'
    """
    if isinstance(channel, SlackChannel | WebhookChannel):
        return f"URL in ${channel.url_env}" if channel.url_env else where(channel.url or "")
    if isinstance(channel, EmailChannel):
        to = ", ".join(channel.to) or "the team's contacts.email"
        return f"SMTP {channel.host}:{channel.port} to {to}"
    project = channel.project or "the team's contacts.jira"
    return f"{where(channel.url)} project {project}"


# -- HTTP -----------------------------------------------------------------------------------
def _request(
    channel: str,
    method: str,
    url: str,
    *,
    timeout: float,
    json: Any = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
) -> httpx.Response:
    """One HTTP call; any failure becomes a DeliveryError naming host, status and body."""
    target = f"{method} {where(url)}"
    try:
        with httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT}) as client:
            response = client.request(
                method, url, json=json, params=params, headers=headers, auth=auth
            )
    except httpx.TimeoutException as exc:
        raise RetryableDeliveryError(
            channel, f"{target} timed out after {timeout:g}s ({type(exc).__name__})"
        ) from exc
    except httpx.ConnectError as exc:
        raise RetryableDeliveryError(channel, f"{target}: cannot connect: {exc}") from exc
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise ChannelMisconfiguredError(
            channel, f"{target}: the URL is not usable: {exc}", hint="check the channel's URL"
        ) from exc
    except httpx.TransportError as exc:
        raise RetryableDeliveryError(channel, f"{target}: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 400:
        raise _status_error(channel, target, response)
    return response


def _status_error(channel: str, target: str, response: httpx.Response) -> DeliveryError:
    status = response.status_code
    body = " ".join(response.text.split())[:BODY_CHARS]
    detail = f"{target} answered HTTP {status}: {body or '(empty body)'}"
    if status == 429 or status >= 500:
        return RetryableDeliveryError(
            channel, detail, retry_after=retry_after_seconds(response.headers.get("Retry-After"))
        )
    hints = {
        401: "check the credentials (the *_env variables) of this channel",
        403: "check the credentials and their permissions for this channel",
        404: "check the channel's URL (and the Jira project key)",
        410: "the endpoint is gone (archived channel or revoked webhook): create a new one",
    }
    return RejectedDeliveryError(channel, detail, hint=hints.get(status))


def _send_slack(
    channel: SlackChannel, alert: Alert, *, timeout: float, env: Mapping[str, str], **_: Any
) -> str:
    url = _url(channel, env)
    response = _request(channel.id, "POST", url, timeout=timeout, json=message.slack_payload(alert))
    return f"HTTP {response.status_code} from {where(url)}"


def _send_webhook(
    channel: WebhookChannel, alert: Alert, *, timeout: float, env: Mapping[str, str], **_: Any
) -> str:
    url = _url(channel, env)
    headers = dict(channel.headers)
    for name, var in channel.headers_env.items():
        headers[name] = _env(channel.id, var, env, f"the {name} header")
    headers["Idempotency-Key"] = alert.delivery_id
    payload = message.webhook_payload(alert)
    response = _request(channel.id, "POST", url, timeout=timeout, json=payload, headers=headers)
    return f"HTTP {response.status_code} from {where(url)}"


# -- Jira -----------------------------------------------------------------------------------
def jira_label(key: str) -> str:
    """The label that finds a series' issue: a readable slug plus a hash (labels take no spaces).

    Example:
        >>> jira_label("Team Payments")
        'costline-team_payments-5e4ac7df'
    """
    slug = re.sub(r"[^a-z0-9.-]+", "_", key.lower()).strip("_")[:80]
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"costline-{slug}-{digest}"


def _send_jira(
    channel: JiraChannel,
    alert: Alert,
    *,
    contacts: Contacts | None,
    timeout: float,
    env: Mapping[str, str],
) -> str:
    project = channel.project or (contacts.jira if contacts else None)
    if not project:
        raise ChannelMisconfiguredError(
            channel.id,
            f"no Jira project for team {alert.team or '(none)'}",
            hint="set `project:` on the channel, or contacts.jira for the team in owners.yaml",
        )
    token = _env(channel.id, channel.token_env, env, "the Jira API token")
    auth: httpx.Auth | tuple[str, str]
    if channel.user_env:
        auth = (_env(channel.id, channel.user_env, env, "the Jira user"), token)
    else:
        auth = _Bearer(token)
    base = channel.url.rstrip("/")
    label = jira_label(alert.key)

    def call(method: str, path: str, **kw: Any) -> httpx.Response:
        return _request(channel.id, method, base + path, timeout=timeout, auth=auth, **kw)

    jql = f'labels = "{label}" AND statusCategory != Done ORDER BY created DESC'
    found = call(
        "GET",
        "/rest/api/2/search",
        params={"jql": jql, "fields": "description", "maxResults": "1"},
    ).json()
    fields = message.jira_fields(alert)
    issues = found.get("issues") or []
    if not issues:
        body = {
            "fields": {
                "project": {"key": project},
                "issuetype": {"name": channel.issue_type},
                "labels": ["costline", label],
                **fields,
            }
        }
        created = call("POST", "/rest/api/2/issue", json=body).json()
        return f"created {created.get('key')}"
    issue = issues[0]["key"]
    description = (issues[0].get("fields") or {}).get("description") or ""
    if message.revision_marker(alert) in description:
        return f"{issue} already shows revision {alert.revision}"
    call("PUT", f"/rest/api/2/issue/{issue}", json={"fields": fields})
    call("POST", f"/rest/api/2/issue/{issue}/comment", json={"body": message.jira_comment(alert)})
    return f"updated {issue}"


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = self._header
        yield request


# -- email ----------------------------------------------------------------------------------
def _send_email(
    channel: EmailChannel,
    alert: Alert,
    *,
    contacts: Contacts | None,
    timeout: float,
    env: Mapping[str, str],
) -> str:
    recipients = list(channel.to) or ([contacts.email] if contacts and contacts.email else [])
    if not recipients:
        raise ChannelMisconfiguredError(
            channel.id,
            f"no recipient for team {alert.team or '(none)'}",
            hint="set `to:` on the channel, or contacts.email for the team in owners.yaml",
        )
    msg = _email(channel, alert, recipients)
    return send_email(channel, msg, recipients, timeout=timeout, env=env)


def send_email(
    channel: EmailChannel,
    msg: EmailMessage,
    recipients: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str],
) -> str:
    """Send one prepared message to ``recipients`` through the channel's SMTP server (STARTTLS
    and login as configured, the login read from ``env``); returns what the server accepted.

    Raises:
        DeliveryError: the server, the login or every recipient failed (``retryable`` says
            whether trying again can help); a partial refusal is named in the returned note.
    """
    login = None
    if channel.username_env and channel.password_env:  # validated: both or neither
        password = _env(channel.id, channel.password_env, env, "the SMTP password")
        login = (_env(channel.id, channel.username_env, env, "the SMTP user"), password)
    target = f"SMTP {channel.host}:{channel.port}"
    try:
        with smtplib.SMTP(channel.host, channel.port, timeout=timeout) as smtp:
            if channel.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if login:
                smtp.login(*login)
            refused = smtp.send_message(msg, to_addrs=list(recipients))
    except (smtplib.SMTPException, OSError) as exc:
        raise _smtp_error(channel.id, target, exc, timeout) from exc
    if refused:
        some = "; ".join(f"{r}: {c} {m.decode(errors='replace')}" for r, (c, m) in refused.items())
        return f"{target} accepted {len(recipients) - len(refused)}, refused {some}"
    return f"{target} accepted {len(recipients)} recipient(s)"


def _email(channel: EmailChannel, alert: Alert, recipients: list[str]) -> EmailMessage:
    content = message.email_content(alert)
    msg = EmailMessage()
    msg["Subject"] = content.subject
    msg["From"] = channel.from_
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(usegmt=True)
    # NOTE: a stable Message-ID lets mail systems that dedupe by it drop a resend.
    msg["Message-ID"] = f"<{_safe_id(alert.delivery_id)}@costline>"
    msg["X-Costline-Anomaly"] = alert.anomaly_id
    msg.set_content(content.text)
    msg.add_alternative(content.html, subtype="html")
    return msg


def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]", "_", text)


def _smtp_error(channel: str, target: str, exc: BaseException, timeout: float) -> DeliveryError:
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return ChannelMisconfiguredError(
            channel,
            f"{target}: {exc}",
            hint="this server does not offer STARTTLS: set `starttls: false` (or use port 587)",
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return RejectedDeliveryError(
            channel,
            f"{target} refused the login: {exc.smtp_code} {_text(exc.smtp_error)}",
            hint="check username_env and password_env of this channel",
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{r}: {c} {_text(m)}" for r, (c, m) in exc.recipients.items())
        kind = (
            RetryableDeliveryError if all(400 <= c < 500 for c in codes) else RejectedDeliveryError
        )
        return kind(channel, f"{target} refused every recipient: {detail}")
    if isinstance(exc, smtplib.SMTPResponseException):
        kind = RetryableDeliveryError if 400 <= exc.smtp_code < 500 else RejectedDeliveryError
        return kind(channel, f"{target} answered {exc.smtp_code} {_text(exc.smtp_error)}")
    if isinstance(exc, socket.timeout | TimeoutError):
        return RetryableDeliveryError(channel, f"{target} timed out after {timeout:g}s")
    if isinstance(exc, ssl.SSLError):
        return RejectedDeliveryError(
            channel, f"{target}: TLS failed: {exc}", hint="check the server's certificate"
        )
    return RetryableDeliveryError(channel, f"{target}: {type(exc).__name__}: {exc}")


def _text(value: bytes | str) -> str:
    text = value.decode(errors="replace") if isinstance(value, bytes) else value
    return " ".join(text.split())[:BODY_CHARS]

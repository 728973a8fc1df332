"""Send the monthly savings digest: one email per audience (a team, or finance) through one
email channel (:func:`costline.notify.channels.send_email`).

Every email is tried: a failed one does not stop the others. When any failed, :func:`send_all`
raises the :class:`~costline.notify.errors.DeliveryError` type of the first failure, naming
each recipient that failed and why, and who did get theirs.

Example:
    >>> e = DigestEmail("team web", ("web@acme.example",), "subject", "text", "<p>html</p>")
    >>> e.describe()
    'web@acme.example (team web)'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from costline.config.models import EmailChannel
from costline.notify.channels import send_email
from costline.notify.errors import DeliveryError


@dataclass(frozen=True)
class DigestEmail:
    """One email of the digest: who it is for, the recipients and its content."""

    audience: str  # "team payments", "finance"
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str
    month: str = ""

    def describe(self) -> str:
        return f"{', '.join(self.recipients)} ({self.audience})"


def message(channel: EmailChannel, email: DigestEmail) -> EmailMessage:
    """The MIME message: a text part and an HTML alternative."""
    msg = EmailMessage()
    msg["Subject"] = email.subject
    msg["From"] = channel.from_
    msg["To"] = ", ".join(email.recipients)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid("savings-digest", domain="costline")
    if email.month:
        msg["X-Costline-Digest"] = email.month
    msg.set_content(email.text)
    msg.add_alternative(email.html, subtype="html")
    return msg


def send_all(
    channel: EmailChannel,
    emails: Sequence[DigestEmail],
    *,
    timeout: float,
    env: Mapping[str, str],
) -> list[tuple[DigestEmail, str]]:
    """Send every email; returns (email, what the server answered) for each.

    Raises:
        DeliveryError: one or more emails failed (the type of the first failure); the others
            were sent.
    """
    sent: list[tuple[DigestEmail, str]] = []
    failed: list[tuple[DigestEmail, DeliveryError]] = []
    for email in emails:
        try:
            note = send_email(
                channel, message(channel, email), email.recipients, timeout=timeout, env=env
            )
        except DeliveryError as exc:
            failed.append((email, exc))
            continue
        sent.append((email, note))
    if failed:
        first = failed[0][1]
        what = "; ".join(f"to {e.describe()}: {exc.detail}" for e, exc in failed)
        done = ", ".join(e.describe() for e, _ in sent) or "none"
        raise type(first)(
            channel.id,
            f"savings digest: {len(failed)} of {len(emails)} email(s) failed: {what}. Sent: {done}",
            hint=first.hint
            or "fix the cause, then resend: `--send --team TEAM` sends one team's email again, "
            "`--send` alone sends every email again (finance's too)",
            retry_after=first.retry_after,
        )
    return sent


__all__ = ["DigestEmail", "message", "send_all"]

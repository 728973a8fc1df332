"""An anomaly alert and its renderings for each channel: Slack, generic webhook, email, Jira.

An :class:`Alert` is one revision of one anomaly: the detector opens an anomaly on a series,
updates it (a new ``revision``) while it lasts, and resolves it. Every rendering says the same
things: expected vs actual, the impact in money and percent, the root cause, the resources that
moved most and a link. Amounts are rounded only here, for display: two decimals with the
currency; percentages with one decimal.

Text from cloud accounts (tag values, resource ids) is escaped for each target: Slack's
``<``, ``>`` and ``&`` and HTML in email, so a tag value cannot ping ``@channel`` or inject
markup.

Example:
    >>> from decimal import Decimal
    >>> alert = Alert(anomaly_id="a1", key="team=payments", revision=1, status="open",
    ...     severity="high", title="Payments spend jumped", series="team=payments",
    ...     team="payments", period="2024-05-03", currency="USD", expected=Decimal("1000"),
    ...     actual=Decimal("1450.5"), impact=Decimal("450.5"), impact_pct=45.05)
    >>> summary_line(alert)
    'expected 1,000.00 USD, actual 1,450.50 USD: +450.50 USD (+45.1%)'
    >>> webhook_payload(alert)["impact"]
    '450.5'
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, NamedTuple, get_args

from costline.core.money import quantize

Status = Literal["open", "updated", "resolved"]
Severity = Literal["low", "medium", "high", "critical"]
SEVERITY_EMOJI = {"low": ":large_blue_circle:", "medium": ":large_yellow_circle:"}
SEVERITY_EMOJI |= {"high": ":large_orange_circle:", "critical": ":red_circle:"}
PAYLOAD_VERSION = 1


class Cause(NamedTuple):
    """One root-cause contributor: ``service = AmazonEC2`` moved by ``delta``, ``share`` of it."""

    dimension: str
    value: str
    delta: Decimal
    share: float


class ResourceDelta(NamedTuple):
    """A resource whose cost moved, and by how much."""

    resource_id: str
    delta: Decimal


@dataclass(frozen=True)
class Alert:
    """One revision of one anomaly, ready to send.

    ``key`` is the dedupe key of the series (one open anomaly per key); ``revision`` grows each
    time the open anomaly is updated. ``impact = actual - expected``; ``impact_pct`` is None when
    nothing was expected.
    """

    anomaly_id: str
    key: str
    revision: int
    status: Status
    severity: Severity
    title: str
    series: str
    team: str | None
    period: str
    currency: str
    expected: Decimal
    actual: Decimal
    impact: Decimal
    impact_pct: float | None
    root_cause: tuple[Cause, ...] = field(default=())
    top_resources: tuple[ResourceDelta, ...] = field(default=())
    link: str | None = None

    @property
    def delivery_id(self) -> str:
        """``<anomaly_id>-<revision>``: the idempotency key of this revision."""
        return f"{self.anomaly_id}-{self.revision}"


def alert_link(base: str | None, anomaly_id: str) -> str | None:
    """The alert's link under ``alerts.link``, or None without a base URL.

    Example:
        >>> alert_link("https://costline.example.com/", "a1")
        'https://costline.example.com/anomalies/a1'
    """
    return f"{base.rstrip('/')}/anomalies/{anomaly_id}" if base else None


def test_alert(channel_id: str, *, team: str | None = None, link: str | None = None) -> Alert:
    """A made-up alert that ``costline channels test`` sends (its amounts are examples).

    All test alerts share one series key, so a Jira channel updates one test issue.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    anomaly_id = f"test-{channel_id}-{stamp}"
    return Alert(
        anomaly_id=anomaly_id,
        key=f"costline-channel-test-{channel_id}",
        revision=1,
        status="open",
        severity="low",
        title=f"costline test alert for channel {channel_id}",
        series="test series (no real spend changed)",
        team=team,
        period=datetime.now(UTC).date().isoformat(),
        currency="USD",
        expected=Decimal("1000.00"),
        actual=Decimal("1250.00"),
        impact=Decimal("250.00"),
        impact_pct=25.0,
        root_cause=(Cause("service", "example-service", Decimal("250.00"), 1.0),),
        top_resources=(ResourceDelta("example-resource", Decimal("250.00")),),
        link=alert_link(link, anomaly_id),
    )


# -- formatting -----------------------------------------------------------------------------
def money(amount: Decimal, currency: str, *, signed: bool = False) -> str:
    """``1,234.50 USD``; with ``signed``, a ``+`` on gains.

    Example:
        >>> money(Decimal("-3.005"), "EUR", signed=True)
        '-3.00 EUR'
    """
    rounded = quantize(amount, 2) + 0  # NOTE: + 0 turns -0.00 into 0.00
    text = f"{rounded:,.2f} {currency}"
    return f"+{text}" if signed and rounded > 0 else text


def percent(value: float | None, *, signed: bool = True) -> str:
    """``+45.1%`` (one decimal, half up), or ``n/a`` when there is no percentage."""
    if value is None:
        return "n/a"
    rounded = Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{'+' if signed and rounded > 0 else ''}{rounded}%"


def summary_line(alert: Alert) -> str:
    """Expected vs actual and the impact, in one line."""
    return (
        f"expected {money(alert.expected, alert.currency)}, "
        f"actual {money(alert.actual, alert.currency)}: "
        f"{money(alert.impact, alert.currency, signed=True)} ({percent(alert.impact_pct)})"
    )


def headline(alert: Alert) -> str:
    """``[HIGH] title`` with the status when it is not a new anomaly."""
    status = {"open": "", "updated": " (updated)", "resolved": " (resolved)"}[alert.status]
    return f"[{alert.severity.upper()}] {alert.title}{status}"


def cause_lines(alert: Alert) -> list[str]:
    """``service = AmazonEC2: +400.00 USD (88.9% of the change)`` per contributor."""
    return [
        f"{c.dimension} = {c.value}: {money(c.delta, alert.currency, signed=True)} "
        f"({percent(c.share * 100, signed=False)} of the change)"
        for c in alert.root_cause
    ]


def resource_lines(alert: Alert) -> list[str]:
    return [
        f"{r.resource_id}: {money(r.delta, alert.currency, signed=True)}"
        for r in alert.top_resources
    ]


def plain_text(alert: Alert) -> str:
    """The whole alert as plain text (email body, Jira description, Slack fallback)."""
    lines = [headline(alert), "", f"Series: {alert.series}"]
    lines += [f"Team: {alert.team or 'unowned'}", f"Period: {alert.period}"]
    lines += [f"Severity: {alert.severity}", f"Status: {alert.status}", ""]
    lines.append(summary_line(alert)[0].upper() + summary_line(alert)[1:])
    if alert.root_cause:
        lines += ["", "Root cause:", *(f"  - {line}" for line in cause_lines(alert))]
    if alert.top_resources:
        lines += ["", "Top resources:", *(f"  - {line}" for line in resource_lines(alert))]
    if alert.link:
        lines += ["", f"Details: {alert.link}"]
    lines += ["", f"costline anomaly {alert.anomaly_id}, revision {alert.revision}"]
    return "\n".join(lines)


# -- Slack ----------------------------------------------------------------------------------
def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: Alert) -> dict[str, Any]:
    """A Slack incoming-webhook body: ``text`` (fallback, notifications) plus Block Kit blocks."""
    esc = _slack_escape
    emoji = SEVERITY_EMOJI[alert.severity]
    fields = [
        f"*Series*\n{esc(alert.series)}",
        f"*Team*\n{esc(alert.team or 'unowned')}",
        f"*Period*\n{esc(alert.period)}",
        f"*Severity*\n{alert.severity}",
        f"*Expected*\n{money(alert.expected, alert.currency)}",
        f"*Actual*\n{money(alert.actual, alert.currency)}",
        f"*Impact*\n{money(alert.impact, alert.currency, signed=True)}",
        f"*Change*\n{percent(alert.impact_pct)}",
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline(alert)[:150]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields[:10]]},
    ]
    if alert.root_cause:
        text = "*Root cause*\n" + "\n".join(f"• {esc(line)}" for line in cause_lines(alert))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    if alert.top_resources:
        text = "*Top resources*\n" + "\n".join(f"• {esc(line)}" for line in resource_lines(alert))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    context = f"costline anomaly `{esc(alert.anomaly_id)}` revision {alert.revision}"
    if alert.link:
        context = f"<{alert.link}|Open in costline> · {context}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    fallback = f"{emoji} {esc(headline(alert))}: {esc(summary_line(alert))}"
    return {"text": fallback, "blocks": blocks}


# -- generic webhook (also the outbox's stored form) ----------------------------------------
def webhook_payload(alert: Alert) -> dict[str, Any]:
    """Every field of the alert as JSON-ready data; amounts as exact decimal strings."""
    data = asdict(alert)
    for name in ("expected", "actual", "impact"):
        data[name] = str(data[name])
    data["root_cause"] = [
        {"dimension": c.dimension, "value": c.value, "delta": str(c.delta), "share": c.share}
        for c in alert.root_cause
    ]
    data["top_resources"] = [
        {"resource_id": r.resource_id, "delta": str(r.delta)} for r in alert.top_resources
    ]
    data["summary"] = summary_line(alert)
    data["version"] = PAYLOAD_VERSION
    return data


def alert_from_payload(data: dict[str, Any]) -> Alert:
    """Rebuild an :class:`Alert` from :func:`webhook_payload` output (the outbox keeps that).

    Raises:
        ValueError: a field is missing or has a value outside its closed set.
    """
    if data.get("status") not in get_args(Status) or data.get("severity") not in get_args(Severity):
        raise ValueError(f"not an alert payload: status/severity {data.get('status')!r}")
    return Alert(
        anomaly_id=str(data["anomaly_id"]),
        key=str(data["key"]),
        revision=int(data["revision"]),
        status=data["status"],
        severity=data["severity"],
        title=str(data["title"]),
        series=str(data["series"]),
        team=data.get("team"),
        period=str(data["period"]),
        currency=str(data["currency"]),
        expected=Decimal(data["expected"]),
        actual=Decimal(data["actual"]),
        impact=Decimal(data["impact"]),
        impact_pct=data.get("impact_pct"),
        root_cause=tuple(
            Cause(c["dimension"], c["value"], Decimal(c["delta"]), float(c["share"]))
            for c in data.get("root_cause", [])
        ),
        top_resources=tuple(
            ResourceDelta(r["resource_id"], Decimal(r["delta"]))
            for r in data.get("top_resources", [])
        ),
        link=data.get("link"),
    )


def to_json(alert: Alert) -> str:
    """The webhook payload as compact JSON text."""
    return json.dumps(webhook_payload(alert), separators=(",", ":"), sort_keys=True)


# -- email ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str


def email_content(alert: Alert) -> EmailContent:
    """Subject, plain-text body and an HTML body (every value escaped)."""
    esc = html.escape
    subject = (
        f"[costline {alert.severity.upper()}] {alert.title}: "
        f"{money(alert.impact, alert.currency, signed=True)} ({percent(alert.impact_pct)})"
    )
    if alert.status != "open":
        subject += f" ({alert.status})"
    rows = [
        ("Series", alert.series),
        ("Team", alert.team or "unowned"),
        ("Period", alert.period),
        ("Expected", money(alert.expected, alert.currency)),
        ("Actual", money(alert.actual, alert.currency)),
        ("Impact", f"{money(alert.impact, alert.currency, signed=True)}"),
        ("Change", percent(alert.impact_pct)),
    ]
    parts = [f"<h2>{esc(headline(alert))}</h2>", "<table>"]
    parts += [f"<tr><th align='left'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows]
    parts.append("</table>")
    if alert.root_cause:
        parts += ["<h3>Root cause</h3><ul>", *(f"<li>{esc(x)}</li>" for x in cause_lines(alert))]
        parts.append("</ul>")
    if alert.top_resources:
        parts += ["<h3>Top resources</h3><ul>"]
        parts += [f"<li>{esc(x)}</li>" for x in resource_lines(alert)]
        parts.append("</ul>")
    if alert.link:
        parts.append(f'<p><a href="{esc(alert.link)}">Open in costline</a></p>')
    parts.append(
        f"<p><small>costline anomaly {esc(alert.anomaly_id)}, revision {alert.revision}</small></p>"
    )
    return EmailContent(subject=subject, text=plain_text(alert), html="\n".join(parts))


# -- Jira -----------------------------------------------------------------------------------
def revision_marker(alert: Alert) -> str:
    """The line a Jira description carries to say which revision it shows."""
    return f"costline-revision: {alert.delivery_id}"


def jira_fields(alert: Alert) -> dict[str, str]:
    """``summary`` and ``description`` of the issue (the description ends with the marker)."""
    summary = f"{headline(alert)}: {money(alert.impact, alert.currency, signed=True)}"
    description = f"{plain_text(alert)}\n\n{revision_marker(alert)}"
    return {"summary": summary[:250], "description": description}


def jira_comment(alert: Alert) -> str:
    """The comment added when an existing issue is updated with a new revision."""
    return f"{headline(alert)}\n{summary_line(alert)}\n\n{revision_marker(alert)}"

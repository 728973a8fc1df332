"""Open, update and close the ticket of one recommendation: Jira (REST API v2) or a generic
webhook. One call per action; errors are :class:`~costline.notify.errors.DeliveryError`
naming host, status and body (``costline.notify.channels._request``).

Idempotency: a Jira issue carries the label ``jira_label("recommendation <id>")``; before
creating one, the open issue with that label is looked up and reused, so a sync interrupted
between Jira's answer and the database write does not create a second issue. A webhook
request carries ``Idempotency-Key: <id>-<event>-<estimate>``.

Example:
    >>> summary_line("waste", "gp2-to-gp3", "vol-1", Decimal("304.375"))
    'costline: save 304.38 a month (waste gp2-to-gp3) on vol-1'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

import httpx

from costline.config.models import JiraChannel, WebhookChannel
from costline.notify.channels import _Bearer, _env, _request, _url, jira_label

RESOLVED_LABEL = "costline-resolved"
DONE_NAMES = ("done", "close", "closed", "close issue", "resolve", "resolved", "resolve issue")


class Stored(Protocol):
    """A recommendation as stored (``costline.optimize.tickets.Stored`` fits; notify does not
    import optimize: siblings meet through the façade)."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def rule(self) -> str: ...
    @property
    def resource_id(self) -> str: ...
    @property
    def team(self) -> str | None: ...
    @property
    def account(self) -> str | None: ...
    @property
    def monthly_savings(self) -> Decimal: ...
    @property
    def monthly_cost(self) -> Decimal | None: ...
    @property
    def details(self) -> dict[str, Any]: ...
    @property
    def ticket_key(self) -> str | None: ...
    @property
    def ticket_savings(self) -> Decimal | None: ...


class Action(Protocol):
    """What to do (``open``, ``update``, ``close``) and the status after."""

    @property
    def verb(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def note(self) -> str: ...
    @property
    def rec(self) -> Stored: ...


def label(rec_id: str) -> str:
    """The Jira label that finds a recommendation's issue."""
    return jira_label(f"recommendation {rec_id}")


def summary_line(kind: str, rule: str, resource_id: str, savings: Decimal) -> str:
    return f"costline: save {savings:,.2f} a month ({kind} {rule}) on {resource_id}"


def _num(value: Any, places: int = 4) -> str:
    """A stored number, without trailing zeros (``0.2500`` → ``0.25``)."""
    try:
        return f"{round(float(value), places):g}"
    except (TypeError, ValueError):
        return "?"


def _pct(value: Any) -> str:
    try:
        return f"{float(value) * 100:.1f} %"
    except (TypeError, ValueError):
        return "?"


OFFERINGS = {
    "convertible": "a Compute Savings Plan or convertible Reserved Instances",
    "standard": "standard Reserved Instances",
}


def what_to_do(kind: str, details: Mapping[str, Any]) -> str | None:
    """The change a Kubernetes request or commitment recommendation (``kind``, its stored
    ``details``) asks for, in words (None for the other kinds: their rule and details say it).
    Tickets, webhook events and the web UI show it.

    Example:
        >>> what_to_do("k8s-requests", {"cluster": "prod", "namespace": "shop",
        ...     "workload": "api", "container": "app", "cpu_request": 1.0,
        ...     "cpu_recommended": 0.2, "memory_request_gib": 2.0,
        ...     "memory_recommended_gib": 1.15, "pods": 10.0})  # doctest: +NORMALIZE_WHITESPACE
        'Set the requests of container app of workload api (namespace shop, cluster prod):
        CPU 1 → 0.2 cores (95th percentile of its usage), memory 2 → 1.15 GiB (its peak + 15 %),
        in the pod template of its 10 pods.'
    """
    d = details
    if kind == "k8s-requests":
        container = f"container {d['container']} of " if d.get("container") else ""
        return (
            f"Set the requests of {container}workload {d.get('workload')} (namespace "
            f"{d.get('namespace')}, cluster {d.get('cluster')}): "
            f"CPU {_num(d.get('cpu_request'))} → {_num(d.get('cpu_recommended'))} cores (95th "
            f"percentile of its usage), memory {_num(d.get('memory_request_gib'))} → "
            f"{_num(d.get('memory_recommended_gib'))} GiB (its peak + 15 %), in the pod template "
            f"of its {_num(d.get('pods'), 1)} pods."
        )
    if kind == "commitment":
        scope = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in d.get("scope") or [])
        offering = OFFERINGS.get(str(d.get("offering")), str(d.get("offering")))
        return (
            f"Buy a {d.get('term')} {d.get('payment')} commitment ({offering}) of "
            f"{_num(d.get('commitment_per_hour'))} {d.get('currency')} an hour for {scope}: it "
            f"covers {_num(d.get('covers_on_demand_per_hour'))} of on-demand usage an hour "
            f"(discount {_pct(d.get('discount'))} assumed), expected utilization "
            f"{_pct(d.get('expected_utilization'))}, break-even at "
            f"{_pct(d.get('break_even_utilization'))}. Check it with `costline commitments "
            "plan` (other terms: --term, --payment, --discount) before you buy."
        )
    return None


def description(rec: Stored) -> str:
    """The issue body: what to do, how much it saves, how to dismiss it."""
    lines = [
        f"costline recommends *{rec.kind} / {rec.rule}* for resource {{{{{rec.resource_id}}}}}.",
    ]
    todo = what_to_do(rec.kind, rec.details)
    if todo:
        lines += ["", todo]
    lines += [
        "",
        f"* estimated savings: {rec.monthly_savings:,.2f} a month",
    ]
    if rec.monthly_cost is not None:
        lines.append(f"* current cost: {rec.monthly_cost:,.2f} a month")
    lines += [f"* account: {rec.account or '-'}", f"* team: {rec.team or '-'}"]
    lines += [f"* {k}: {v}" for k, v in sorted(rec.details.items()) if v not in (None, "")]
    lines += [
        "",
        f"Recommendation id: {rec.id}. Not doing it? Run "
        f"`costline tickets dismiss {rec.id} --reason '...'`; costline closes this issue "
        "when the recommendation goes away.",
    ]
    return "\n".join(lines)


def send(
    channel: JiraChannel | WebhookChannel,
    action: Action,
    *,
    project: str | None,
    timeout: float = 10.0,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Carry out one action (``open``, ``update``, ``close``) on the channel.

    Returns:
        The ticket key (``PAY-12``; for a webhook the ``key`` of its JSON answer, or
        ``webhook:<id>``).

    Raises:
        DeliveryError: the channel failed; nothing was recorded, the next sync retries.
    """
    env = os.environ if environ is None else environ
    if isinstance(channel, JiraChannel):
        return _Jira(channel, timeout, env).run(action, project)
    return _webhook(channel, action, timeout, env)


class _Jira:
    def __init__(self, channel: JiraChannel, timeout: float, env: Mapping[str, str]) -> None:
        token = _env(channel.id, channel.token_env, env, "the Jira API token")
        self.auth: httpx.Auth | tuple[str, str]
        if channel.user_env:
            self.auth = (_env(channel.id, channel.user_env, env, "the Jira user"), token)
        else:
            self.auth = _Bearer(token)
        self.channel, self.timeout = channel, timeout
        self.base = channel.url.rstrip("/")

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return _request(
            self.channel.id, method, self.base + path, timeout=self.timeout, auth=self.auth, **kw
        )

    def run(self, action: Action, project: str | None) -> str:
        rec = action.rec
        if action.verb == "open":
            return self.open(rec, project)
        key = rec.ticket_key
        assert key is not None  # plan(): update and close only for ticketed rows
        if action.verb == "update":
            old = rec.ticket_savings
            was = f"{old:,.2f}" if old is not None else "unknown"
            body = (
                f"costline: the estimate changed from {was} to {rec.monthly_savings:,.2f} a month."
            )
            self.call("PUT", f"/rest/api/2/issue/{key}", json={"fields": self.fields(rec)})
            self.call("POST", f"/rest/api/2/issue/{key}/comment", json={"body": body})
            return key
        self.close(key, action)
        return key

    def fields(self, rec: Stored) -> dict[str, Any]:
        summary = summary_line(rec.kind, rec.rule, rec.resource_id, rec.monthly_savings)
        return {"summary": summary, "description": description(rec)}

    def open(self, rec: Stored, project: str | None) -> str:
        if not project:
            from costline.notify.errors import ChannelMisconfiguredError

            raise ChannelMisconfiguredError(
                self.channel.id,
                f"no Jira project for recommendation {rec.id} (team {rec.team or 'unknown'})",
                hint="set contacts.jira for the team in owners.yaml, or `project:` on the channel",
            )
        tag = label(rec.id)
        jql = f'labels = "{tag}" AND statusCategory != Done ORDER BY created DESC'
        found = self.call(
            "GET", "/rest/api/2/search", params={"jql": jql, "fields": "labels", "maxResults": "1"}
        ).json()
        issues = found.get("issues") or []
        if issues:  # created by a sync that died before recording it
            return str(issues[0]["key"])
        body = {
            "fields": {
                "project": {"key": project},
                "issuetype": {"name": self.channel.issue_type},
                "labels": ["costline", "costline-recommendation", tag],
                **self.fields(rec),
            }
        }
        created = self.call("POST", "/rest/api/2/issue", json=body).json()
        return str(created["key"])

    def close(self, key: str, action: Action) -> None:
        why = f"recorded as {action.status}" + (f": {action.note}" if action.note else "")
        self.call("POST", f"/rest/api/2/issue/{key}/comment", json={"body": f"costline: {why}."})
        transition = self.done_transition(key)
        if transition is not None:
            self.call(
                "POST",
                f"/rest/api/2/issue/{key}/transitions",
                json={"transition": {"id": transition}},
            )
            return
        tags = ["costline", "costline-recommendation", label(action.rec.id), RESOLVED_LABEL]
        self.call("PUT", f"/rest/api/2/issue/{key}", json={"fields": {"labels": tags}})

    def done_transition(self, key: str) -> str | None:
        """The id of a Done/Close/Resolve transition, or None (the workflow has none)."""
        from costline.notify.errors import RejectedDeliveryError

        try:
            got = self.call("GET", f"/rest/api/2/issue/{key}/transitions").json()
        except RejectedDeliveryError:  # 404: a server without the transitions API
            return None
        for t in got.get("transitions") or []:
            name = str(t.get("name", "")).lower()
            category = ((t.get("to") or {}).get("statusCategory") or {}).get("key")
            if name in DONE_NAMES or category == "done":
                return str(t["id"])
        return None


def _webhook(
    channel: WebhookChannel, action: Action, timeout: float, env: Mapping[str, str]
) -> str:
    rec = action.rec
    event = {"open": "opened", "update": "updated", "close": "closed"}[action.verb]
    headers = dict(channel.headers)
    for name, var in channel.headers_env.items():
        headers[name] = _env(channel.id, var, env, f"the {name} header")
    headers["Idempotency-Key"] = f"{rec.id}-{event}-{rec.monthly_savings:.2f}"
    payload = {
        "event": event,
        "status": action.status,
        "note": action.note,
        "ticket_key": rec.ticket_key,
        "recommendation": {
            "id": rec.id,
            "kind": rec.kind,
            "rule": rec.rule,
            "resource_id": rec.resource_id,
            "team": rec.team,
            "account": rec.account,
            "monthly_savings": f"{rec.monthly_savings:.2f}",
            "previous_monthly_savings": (
                f"{rec.ticket_savings:.2f}" if rec.ticket_savings is not None else None
            ),
            "details": rec.details,
        },
        "summary": summary_line(rec.kind, rec.rule, rec.resource_id, rec.monthly_savings),
        "what_to_do": what_to_do(rec.kind, rec.details),
    }
    url = _url(channel, env)
    response = _request(channel.id, "POST", url, timeout=timeout, json=payload, headers=headers)
    if rec.ticket_key:
        return rec.ticket_key
    try:
        key = response.json().get("key")
    except ValueError:
        key = None
    return str(key) if key else f"webhook:{rec.id}"

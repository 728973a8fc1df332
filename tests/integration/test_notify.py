"""Alert delivery against real servers on 127.0.0.1: HTTP (Slack-format and generic webhooks),
a Jira-compatible REST fake and a real SMTP server (aiosmtpd).

Covers: message content per channel, retries (HTTP 500, 429, timeout, refused connection),
refusals (400), the outbox across restarts (no duplicate, no loss), superseded revisions,
misconfigured channels and ``costline channels test``. The outbox is the state store's, on
SQLite and on the real PostgreSQL (tests/state_db.py).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from costline.cli.main import app
from costline.config import load_config
from costline.config.allocation import Contacts
from costline.config.models import AlertsConfig
from costline.core.errors import ConfigError
from costline.notify import Alert, Cause, ResourceDelta, deliver, router, send
from costline.notify.channels import jira_label
from costline.notify.errors import ChannelMisconfiguredError, RejectedDeliveryError
from costline.storage.state import AlertOutbox, open_state
from costline.workspace import Workspace
from tests.allocation_kit import owners_doc
from tests.notify_servers import HookServer, JiraServer, Reply, SmtpServer, free_port
from tests.state_db import BACKENDS, state_database

NO_SLEEP = {"sleep": lambda s: None}
EXPECTED, ACTUAL = Decimal("1200.00"), Decimal("1500.30")


def make_alert(**changes: Any) -> Alert:
    alert = Alert(
        anomaly_id="an-1",
        key="team=web|ServiceName=AmazonEC2",
        revision=1,
        status="open",
        severity="high",
        title="web: EC2 spend spiked",
        series="team=web, ServiceName=AmazonEC2",
        team="web",
        period="2024-09-03",
        currency="USD",
        expected=EXPECTED,
        actual=ACTUAL,
        impact=ACTUAL - EXPECTED,  # 300.30
        impact_pct=float((ACTUAL - EXPECTED) / EXPECTED * 100),  # 25.025 %
        root_cause=(Cause("ServiceName", "AmazonEC2", Decimal("280.30"), 280.30 / 300.30),),
        top_resources=(ResourceDelta("i-0123", Decimal("250.00")),),
        link="https://costline.example.com/anomalies/an-1",
    )
    return replace(alert, **changes)


def alerts_config(channels: list[dict[str, Any]], **retry: Any) -> AlertsConfig:
    ids = [c["id"] for c in channels]
    return AlertsConfig.model_validate(
        {"channels": channels, "routes": {"default": ids}, "retry": {"attempts": 5, **retry}}
    )


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[URL]:
    """The state store's database (SQLite file or a private PostgreSQL schema)."""
    with state_database(request.param, tmp_path) as url:
        yield url


@contextmanager
def process(db: URL) -> Iterator[AlertOutbox]:
    """The outbox as one process sees it: the store opened, then closed (a restart reopens)."""
    store = open_state(db)
    try:
        yield store.alert_outbox()
    finally:
        store.close()


@pytest.fixture
def outbox(db: URL) -> Iterator[AlertOutbox]:
    with process(db) as box:
        yield box


def run(alerts: list[Alert], cfg: AlertsConfig, box: AlertOutbox, **kw: Any) -> Any:
    contacts = kw.pop("contacts", {})
    return deliver(alerts, router(cfg, contacts), box, retry=cfg.retry, **{**NO_SLEEP, **kw})


def attempts(box: AlertOutbox, channel: str, alert_id: str = "an-1", rev: int = 1) -> list[Any]:
    return box.attempts(alert_id, rev, channel).records()


# -- content per channel --------------------------------------------------------------------
def test_slack_and_webhook_receive_the_alert(outbox: AlertOutbox) -> None:
    with HookServer() as slack, HookServer() as hook:
        cfg = alerts_config(
            [
                {"id": "slack-web", "type": "slack", "url_env": "SLACK_WEB_URL"},
                {
                    "id": "hook",
                    "type": "webhook",
                    "url": f"{hook.url}/alerts",
                    "headers": {"X-Source": "costline"},
                    "headers_env": {"Authorization": "HOOK_AUTH"},
                },
            ]
        )
        env = {"SLACK_WEB_URL": f"{slack.url}/services/T0/B0/secret", "HOOK_AUTH": "Bearer s3"}
        report = run([make_alert()], cfg, outbox, environ=env)

    assert [(o.channel, o.status, o.attempts) for o in report.outcomes] == [
        ("slack-web", "delivered", 1),
        ("hook", "delivered", 1),
    ]
    (s,) = slack.requests
    assert s.path == "/services/T0/B0/secret" and s.headers["content-type"] == "application/json"
    body = s.json()
    # 300.30 / 1200.00 = 25.025 % -> one decimal: +25.0 %; 280.30 / 300.30 = 93.34 % -> 93.3 %
    assert "+300.30 USD (+25.0%)" in body["text"]
    fields = [f["text"] for f in body["blocks"][1]["fields"]]
    assert "*Expected*\n1,200.00 USD" in fields and "*Actual*\n1,500.30 USD" in fields
    assert "AmazonEC2: +280.30 USD (93.3% of the change)" in body["blocks"][2]["text"]["text"]
    assert "https://costline.example.com/anomalies/an-1" in json.dumps(body)

    (h,) = hook.requests
    assert h.path == "/alerts"
    assert h.headers["idempotency-key"] == "an-1-1"
    assert h.headers["authorization"] == "Bearer s3" and h.headers["x-source"] == "costline"
    data = h.json()
    assert (data["expected"], data["actual"], data["impact"]) == ("1200.00", "1500.30", "300.30")
    assert data["root_cause"][0]["delta"] == "280.30" and data["link"].endswith("/an-1")
    assert outbox.status_of("an-1", 1, "hook") == "delivered"


def test_email_goes_to_the_team_contact_through_a_real_smtp_server(outbox: AlertOutbox) -> None:
    with SmtpServer() as smtp:
        cfg = alerts_config(
            [
                {
                    "id": "mail",
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "starttls": False,
                    "from": "costline@acme.example",
                }
            ]
        )
        contacts = {"web": Contacts(email="web-team@acme.example")}
        report = run([make_alert()], cfg, outbox, contacts=contacts)

    assert report.delivered and not report.failed
    (msg,) = smtp.messages
    assert smtp.envelopes == [("costline@acme.example", ["web-team@acme.example"])]
    assert msg["Subject"] == "[costline HIGH] web: EC2 spend spiked: +300.30 USD (+25.0%)"
    assert msg["Message-ID"] == "<an-1-1@costline>"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Expected 1,200.00 USD, actual 1,500.30 USD: +300.30 USD (+25.0%)" in text
    assert "ServiceName = AmazonEC2: +280.30 USD (93.3% of the change)" in text
    assert "Details: https://costline.example.com/anomalies/an-1" in text
    assert "<td>1,500.30 USD</td>" in html and "i-0123: +250.00 USD" in html


def test_email_logs_in_with_the_secrets_from_the_environment() -> None:
    with SmtpServer(login=("bot", "s3cret")) as smtp:
        channel = alerts_config(
            [
                {
                    "id": "mail",
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "starttls": False,
                    "username_env": "SMTP_USER",
                    "password_env": "SMTP_PASSWORD",
                    "from": "costline@acme.example",
                    "to": ["finops@acme.example"],
                }
            ]
        ).channels[0]
        env = {"SMTP_USER": "bot", "SMTP_PASSWORD": "s3cret"}
        assert "accepted 1 recipient" in send(channel, make_alert(), environ=env)
        with pytest.raises(RejectedDeliveryError) as info:
            send(channel, make_alert(), environ={**env, "SMTP_PASSWORD": "wrong"})
    assert len(smtp.messages) == 1
    assert "refused the login: 535" in str(info.value) and "password_env" in str(info.value)
    assert "wrong" not in str(info.value)


def test_jira_creates_one_issue_per_series_and_updates_it(outbox: AlertOutbox) -> None:
    auth = "Basic " + base64.b64encode(b"bot@acme.example:tok").decode()
    with JiraServer(auth=auth) as jira:
        cfg = alerts_config(
            [
                {
                    "id": "jira",
                    "type": "jira",
                    "url": jira.url,
                    "user_env": "JIRA_USER",
                    "token_env": "JIRA_TOKEN",
                }
            ]
        )
        env = {"JIRA_USER": "bot@acme.example", "JIRA_TOKEN": "tok"}
        contacts = {"web": Contacts(jira="PAY")}
        first = run([make_alert()], cfg, outbox, environ=env, contacts=contacts)
        # revision 2: actual 1,800.30 -> impact 600.30 = 50.025 % of 1,200.00
        update = make_alert(
            revision=2,
            status="updated",
            actual=Decimal("1800.30"),
            impact=Decimal("600.30"),
            impact_pct=50.025,
        )
        second = run([update], cfg, outbox, environ=env, contacts=contacts)
        # the same revision again with the outbox lost: the marker stops a second comment
        with process(URL.create("sqlite")) as fresh:  # an empty in-memory store
            third = run([update], cfg, fresh, environ=env, contacts=contacts)

    assert first.outcomes[0].detail == "created PAY-1"
    assert second.outcomes[0].detail == "updated PAY-1"
    assert third.outcomes[0].detail == "PAY-1 already shows revision 2"
    assert list(jira.issues) == ["PAY-1"]
    issue = jira.issues["PAY-1"]
    assert issue["labels"] == ["costline", jira_label("team=web|ServiceName=AmazonEC2")]
    assert issue["issuetype"] == {"name": "Task"} and issue["project"] == {"key": "PAY"}
    assert "actual 1,800.30 USD: +600.30 USD (+50.0%)" in issue["description"]
    assert issue["description"].endswith("costline-revision: an-1-2")
    assert len(jira.comments["PAY-1"]) == 1 and "an-1-2" in jira.comments["PAY-1"][0]


# -- failures and retries -------------------------------------------------------------------
def test_http_500_twice_then_200_is_delivered_on_attempt_3(outbox: AlertOutbox) -> None:
    sleeps: list[float] = []
    with HookServer([Reply(500, "upstream exploded"), Reply(503, "busy")]) as hook:
        cfg = alerts_config([{"id": "hook", "type": "webhook", "url": hook.url}])
        report = run([make_alert()], cfg, outbox, sleep=sleeps.append)

    assert [(o.status, o.attempts) for o in report.outcomes] == [("delivered", 3)]
    log = attempts(outbox, "hook")
    assert [a["outcome"] for a in log] == ["error", "error", "delivered"]
    assert [a["attempt"] for a in log] == [1, 2, 3]
    assert "HTTP 500: upstream exploded" in log[0]["detail"]
    assert f"127.0.0.1:{hook.port}" in log[0]["detail"]
    assert "HTTP 503: busy" in log[1]["detail"]
    # the same Idempotency-Key on every attempt
    assert {r.headers["idempotency-key"] for r in hook.requests} == {"an-1-1"}
    # backoff 1 s doubling, half jittered: [0.5, 1] then [1, 2]
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1 and 1 <= sleeps[1] <= 2


def test_429_waits_at_least_retry_after(outbox: AlertOutbox) -> None:
    sleeps: list[float] = []
    with HookServer([Reply(429, "slow down", headers={"Retry-After": "7"})]) as hook:
        cfg = alerts_config([{"id": "hook", "type": "webhook", "url": hook.url}])
        report = run([make_alert()], cfg, outbox, sleep=sleeps.append)
    assert report.outcomes[0].attempts == 2 and sleeps == [7.0]


def test_timeout_is_retried(outbox: AlertOutbox) -> None:
    with HookServer([Reply(200, "late", delay=1.5)]) as hook:
        cfg = alerts_config(
            [{"id": "hook", "type": "webhook", "url": hook.url}], timeout_seconds=0.3
        )
        report = run([make_alert()], cfg, outbox)
    assert [(o.status, o.attempts) for o in report.outcomes] == [("delivered", 2)]
    first = attempts(outbox, "hook")[0]
    assert first["outcome"] == "error" and "timed out after 0.3s" in first["detail"]


def test_refused_connection_fails_then_a_later_run_delivers(db: URL) -> None:
    port = free_port()  # nothing listens here yet
    cfg = alerts_config(
        [{"id": "slack", "type": "slack", "url": f"http://127.0.0.1:{port}/hook"}], attempts=3
    )
    with process(db) as box:
        report = run([make_alert()], cfg, box)
    assert [(o.status, o.attempts) for o in report.outcomes] == [("failed", 3)]

    with HookServer(port=port) as slack, process(db) as box:  # back; a new process runs
        assert box.status_of("an-1", 1, "slack") == "failed"
        later = run([], cfg, box)  # no new alerts: the failed one comes from the outbox
        log = attempts(box, "slack")
    assert [(o.anomaly_id, o.status) for o in later.outcomes] == [("an-1", "delivered")]
    assert [a["outcome"] for a in log] == ["error", "error", "error", "delivered"]
    assert all("cannot connect" in a["detail"] for a in log[:3])
    assert "+300.30 USD" in slack.requests[0].json()["text"]


def test_400_is_not_retried_and_the_body_is_recorded(outbox: AlertOutbox) -> None:
    sleeps: list[float] = []
    with HookServer([Reply(400, "invalid_payload: blocks[1] too long")]) as slack:
        cfg = alerts_config([{"id": "slack", "type": "slack", "url": slack.url}])
        report = run([make_alert()], cfg, outbox, sleep=sleeps.append)
        assert len(slack.requests) == 1 and sleeps == []
        retried = run([], cfg, outbox)  # the next run tries again: the alert is not lost
    (outcome,) = report.outcomes
    assert (outcome.status, outcome.attempts) == ("failed", 1)
    assert "HTTP 400: invalid_payload: blocks[1] too long" in outcome.detail
    assert attempts(outbox, "slack")[0]["detail"] == outcome.detail
    assert [o.status for o in retried.outcomes] == ["delivered"]


def test_a_newer_revision_supersedes_an_undelivered_one(outbox: AlertOutbox) -> None:
    with HookServer([Reply(400, "nope")]) as hook:
        cfg = alerts_config([{"id": "hook", "type": "webhook", "url": hook.url}])
        run([make_alert()], cfg, outbox)
        report = run([make_alert(revision=2, status="updated")], cfg, outbox)
    assert [(o.revision, o.status) for o in report.outcomes] == [
        (1, "superseded"),
        (2, "delivered"),
    ]
    assert [r.headers["idempotency-key"] for r in hook.requests] == ["an-1-1", "an-1-2"]
    assert outbox.status_of("an-1", 1, "hook") == "superseded"


def test_a_delivered_revision_is_not_sent_again(outbox: AlertOutbox) -> None:
    with HookServer() as hook:
        cfg = alerts_config([{"id": "hook", "type": "webhook", "url": hook.url}])
        run([make_alert()], cfg, outbox)
        again = run([make_alert()], cfg, outbox)
    assert len(hook.requests) == 1 and [o.status for o in again.outcomes] == ["skipped"]


# -- restarts -------------------------------------------------------------------------------
class Crash(BaseException):
    """The process dies (not an Exception: nothing in deliver may swallow it)."""


def crash_after_send(*args: Any, **kw: Any) -> str:
    send(*args, **kw)
    raise Crash


def crash_before_send(*args: Any, **kw: Any) -> str:
    raise Crash


def test_restart_after_the_webhook_took_it_resends_with_the_same_key(db: URL) -> None:
    with HookServer() as hook:
        cfg = alerts_config([{"id": "hook", "type": "webhook", "url": hook.url}])
        with process(db) as box, pytest.raises(Crash):
            run([make_alert()], cfg, box, send=crash_after_send)
        with process(db) as box:  # the restarted process
            assert box.status_of("an-1", 1, "hook") == "sending"
            report = run([], cfg, box)
            final = box.status_of("an-1", 1, "hook")
    assert [o.status for o in report.outcomes] == ["delivered"] and final == "delivered"
    keys = [r.headers["idempotency-key"] for r in hook.requests]
    assert keys == ["an-1-1", "an-1-1"]  # the receiver can drop the repeat
    assert hook.requests[0].body == hook.requests[1].body


def test_restart_before_the_network_call_loses_nothing(db: URL) -> None:
    with HookServer() as hook:
        cfg = alerts_config([{"id": "hook", "type": "webhook", "url": hook.url}])
        with process(db) as box, pytest.raises(Crash):
            run([make_alert()], cfg, box, send=crash_before_send)
        assert hook.requests == []
        with process(db) as box:
            run([], cfg, box)
    assert len(hook.requests) == 1 and hook.requests[0].json()["anomaly_id"] == "an-1"


def test_restart_in_the_middle_of_a_jira_delivery_makes_no_second_issue(db: URL) -> None:
    with JiraServer(auth="Bearer tok") as jira:
        cfg = alerts_config(
            [
                {
                    "id": "jira",
                    "type": "jira",
                    "url": jira.url,
                    "token_env": "JIRA_TOKEN",
                    "project": "PAY",
                }
            ]
        )
        env = {"JIRA_TOKEN": "tok"}
        with process(db) as box, pytest.raises(Crash):
            run([make_alert()], cfg, box, send=crash_after_send, environ=env)
        with process(db) as box:
            report = run([], cfg, box, environ=env)
    assert report.outcomes[0].detail == "PAY-1 already shows revision 1"
    assert list(jira.issues) == ["PAY-1"] and jira.comments["PAY-1"] == []


# -- misconfiguration -----------------------------------------------------------------------
def test_a_missing_secret_is_recorded_with_the_fix_and_not_retried(outbox: AlertOutbox) -> None:
    cfg = alerts_config([{"id": "slack-web", "type": "slack", "url_env": "SLACK_WEB_URL"}])
    sleeps: list[float] = []
    report = run([make_alert()], cfg, outbox, environ={}, sleep=sleeps.append)
    (outcome,) = report.outcomes
    assert (outcome.status, outcome.attempts, sleeps) == ("failed", 1, [])
    assert "channel 'slack-web'" in outcome.detail
    assert "environment variable SLACK_WEB_URL" in outcome.detail
    assert "fix: export SLACK_WEB_URL=" in outcome.detail


def test_a_url_in_the_environment_that_is_not_a_url_is_named() -> None:
    cfg = alerts_config([{"id": "hook", "type": "webhook", "url_env": "HOOK_URL"}])
    with pytest.raises(ChannelMisconfiguredError) as info:
        send(cfg.channels[0], make_alert(), environ={"HOOK_URL": "hooks.example.com/x"})
    assert "HOOK_URL does not hold an http(s) URL" in str(info.value)
    assert "hooks.example.com/x" not in str(info.value)  # the value may be a secret


def test_email_without_recipient_names_both_fixes() -> None:
    cfg = alerts_config([{"id": "mail", "type": "email", "host": "h", "from": "c@a.example"}])
    with pytest.raises(ChannelMisconfiguredError) as info:
        send(cfg.channels[0], make_alert(), contacts=Contacts())
    assert "no recipient for team web" in str(info.value)
    assert "`to:`" in str(info.value) and "contacts.email" in str(info.value)


def test_smtp_without_starttls_says_to_turn_it_off() -> None:
    with SmtpServer() as smtp:
        channel = alerts_config(
            [
                {
                    "id": "mail",
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "from": "c@a.example",
                    "to": ["x@a.example"],
                }
            ]
        ).channels[0]
        with pytest.raises(ChannelMisconfiguredError) as info:
            send(channel, make_alert())
    assert "starttls: false" in str(info.value) and smtp.messages == []


@pytest.mark.parametrize(
    ("channel", "line", "key", "text"),
    [
        (
            "{id: s, type: slack, url: 'hooks.slack.com/x'}",
            4,
            "alerts.channels.0.slack.url",
            "http(s)",
        ),
        ("{id: s, type: slack}", 4, "alerts.channels.0.slack", "set exactly one of url or url_env"),
        ("{id: s, type: slak, url: 'https://h/x'}", 4, "alerts.channels.0", "'slack'"),
    ],
)
def test_a_bad_channel_in_costline_yaml_names_file_line_and_fix(
    tmp_path: Path, channel: str, line: int, key: str, text: str
) -> None:
    path = tmp_path / "costline.yaml"
    path.write_text(f"name: acme\nalerts:\n  channels:\n    - {channel}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert (info.value.path, info.value.line, info.value.key) == (path, line, key)
    assert text in str(info.value)


def test_a_route_to_an_unknown_channel_suggests_the_closest(tmp_path: Path) -> None:
    path = tmp_path / "costline.yaml"
    path.write_text(
        "alerts:\n  channels:\n    - id: slack-web\n      type: slack\n"
        "      url_env: SLACK_URL\n  routes:\n    web: [slak-web]\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.line == 6 and info.value.key == "alerts.routes"
    assert "unknown channel 'slak-web'; did you mean 'slack-web'?" in str(info.value)


def test_a_typo_inside_a_channel_suggests_the_channel_key(tmp_path: Path) -> None:
    path = tmp_path / "costline.yaml"
    path.write_text(
        "alerts:\n  channels:\n    - id: m\n      type: email\n      host: h\n"
        "      from: c@a.example\n      prot: 25\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.line == 7 and "did you mean 'port'?" in str(info.value)


# -- CLI ------------------------------------------------------------------------------------
runner = CliRunner()


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace.init(tmp_path / "acme")
    (workspace.root / "owners.yaml").write_text(yaml.safe_dump(owners_doc()))
    return workspace


def _configure(ws: Workspace, channels: list[dict[str, Any]]) -> None:
    path = ws.root / "costline.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["alerts"] = {"channels": channels, "routes": {"web": [c["id"] for c in channels]}}
    path.write_text(yaml.safe_dump(doc))


def _cli(ws: Workspace, *args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, ["--workspace", str(ws.root), *args], env=env)


def test_channels_test_sends_a_test_alert(ws: Workspace) -> None:
    with HookServer() as slack:
        _configure(ws, [{"id": "slack-web", "type": "slack", "url_env": "SLACK_WEB_URL"}])
        done = _cli(ws, "channels", "test", "slack-web", env={"SLACK_WEB_URL": slack.url})
    assert done.exit_code == 0, done.output
    assert "channel slack-web: test alert delivered (HTTP 200" in done.output
    assert "test alert for channel slack-web" in slack.requests[0].json()["text"]


def test_channels_test_reports_the_exact_failure(ws: Workspace) -> None:
    with HookServer([Reply(500, "internal kaboom")]) as hook:
        _configure(ws, [{"id": "hook", "type": "webhook", "url": f"{hook.url}/x"}])
        done = _cli(ws, "channels", "test", "hook")
    assert done.exit_code == 1
    out = " ".join(done.output.split())
    assert f"channel 'hook': POST 127.0.0.1:{hook.port} answered HTTP 500: internal kaboom" in out


def test_channels_test_email_uses_the_team_contact(ws: Workspace) -> None:
    with SmtpServer() as smtp:
        _configure(
            ws,
            [
                {
                    "id": "mail",
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "starttls": False,
                    "from": "costline@acme.example",
                }
            ],
        )
        done = _cli(ws, "channels", "test", "mail", "--team", "web")
    assert done.exit_code == 0, done.output
    assert smtp.envelopes[0][1] == ["web@acme.example"]  # contacts.email from owners.yaml


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["slak-web"], {}, "no channel 'slak-web'"),
        (["slack-web"], {}, "environment variable SLACK_WEB_URL"),
        (["slack-web", "--team", "nobody"], {"SLACK_WEB_URL": "https://h/x"}, "no team 'nobody'"),
    ],
)
def test_channels_test_misconfigured(ws: Workspace, args, env, expected) -> None:
    _configure(ws, [{"id": "slack-web", "type": "slack", "url_env": "SLACK_WEB_URL"}])
    done = _cli(ws, "channels", "test", *args, env=env)
    out = " ".join(done.output.split())
    assert done.exit_code == 1 and expected in out
    assert "fix:" in out or "did you mean 'slack-web'" in out


def test_channels_list_shows_targets_without_secrets(ws: Workspace) -> None:
    _configure(
        ws,
        [
            {"id": "slack-web", "type": "slack", "url_env": "SLACK_WEB_URL"},
            {"id": "hook", "type": "webhook", "url": "https://hooks.example.com/T/secret"},
        ],
    )
    done = _cli(ws, "channels", "list", "--format", "json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == [
        {
            "channel": "slack-web",
            "type": "slack",
            "target": "URL in $SLACK_WEB_URL",
            "routes": "web",
        },
        {"channel": "hook", "type": "webhook", "target": "hooks.example.com:443", "routes": "web"},
    ]


def test_workspace_delivers_and_lists_deliveries(ws: Workspace) -> None:
    with HookServer([Reply(502, "bad gateway")]) as hook:
        _configure(ws, [{"id": "hook", "type": "webhook", "url": hook.url}])
        ws = Workspace.open(ws.root)
        report = ws.deliver_alerts([make_alert()], sleep=lambda s: None)
    assert [(o.status, o.attempts) for o in report.outcomes] == [("delivered", 2)]
    done = _cli(ws, "channels", "deliveries", "--format", "json")
    rows = json.loads(done.output)
    assert [(r["anomaly_id"], r["channel"], r["status"], r["attempts"]) for r in rows] == [
        ("an-1", "hook", "delivered", 2)
    ]

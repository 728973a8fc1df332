"""Alert rendering, routing and backoff: pure code, no network."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest

from costline.config.allocation import Contacts
from costline.config.models import AlertsConfig, RetryConfig
from costline.notify import Alert, Cause, ResourceDelta, backoff_delay, router
from costline.notify.channels import jira_label
from costline.notify.message import (
    alert_from_payload,
    email_content,
    jira_fields,
    money,
    percent,
    plain_text,
    slack_payload,
    to_json,
    webhook_payload,
)

EXPECTED = Decimal("1000.00")
ACTUAL = Decimal("1450.50")


def make_alert(**changes: object) -> Alert:
    alert = Alert(
        anomaly_id="an-7",
        key="team=payments|service=AmazonEC2",
        revision=2,
        status="updated",
        severity="high",
        title="Payments EC2 spend jumped",
        series="team=payments, service=AmazonEC2",
        team="payments",
        period="2024-05-03",
        currency="USD",
        expected=EXPECTED,
        actual=ACTUAL,
        impact=ACTUAL - EXPECTED,
        # 450.50 / 1000.00 * 100 = 45.05 %
        impact_pct=float((ACTUAL - EXPECTED) / EXPECTED * 100),
        root_cause=(
            Cause("ServiceName", "AmazonEC2", Decimal("400.40"), 400.40 / 450.50),
            Cause("RegionId", "eu-west-1", Decimal("50.10"), 50.10 / 450.50),
        ),
        top_resources=(ResourceDelta("i-0abc", Decimal("300")),),
        link="https://costline.example.com/anomalies/an-7",
    )
    return replace(alert, **changes)  # type: ignore[arg-type]


# -- formatting -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "signed", "text"),
    [
        (Decimal("1234.5"), False, "1,234.50 USD"),
        (Decimal("1234.565"), False, "1,234.56 USD"),  # half-even at the cent
        (Decimal("0.004"), True, "0.00 USD"),
        (Decimal("-0.004"), True, "0.00 USD"),  # no "-0.00"
        (Decimal("450.5"), True, "+450.50 USD"),
        (Decimal("-12"), True, "-12.00 USD"),
    ],
)
def test_money_has_two_decimals_and_the_currency(amount, signed, text) -> None:
    assert money(amount, "USD", signed=signed) == text


def test_percent_has_one_decimal() -> None:
    assert percent(45.05) == "+45.1%"
    assert percent(-12.34) == "-12.3%"
    assert percent(0.0) == "0.0%"
    assert percent(None) == "n/a"


# -- renderers ------------------------------------------------------------------------------
def test_plain_text_says_expected_actual_impact_cause_and_link() -> None:
    text = plain_text(make_alert())
    assert "Expected 1,000.00 USD, actual 1,450.50 USD: +450.50 USD (+45.1%)" in text
    # 400.40 / 450.50 = 0.88879... -> 88.9 %
    assert "ServiceName = AmazonEC2: +400.40 USD (88.9% of the change)" in text
    assert "RegionId = eu-west-1: +50.10 USD (11.1% of the change)" in text
    assert "i-0abc: +300.00 USD" in text
    assert "Details: https://costline.example.com/anomalies/an-7" in text
    assert "[HIGH] Payments EC2 spend jumped (updated)" in text


def test_slack_payload_has_fallback_text_and_blocks() -> None:
    payload = slack_payload(make_alert())
    assert "+450.50 USD (+45.1%)" in payload["text"]
    blocks = payload["blocks"]
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == "[HIGH] Payments EC2 spend jumped (updated)"
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert "*Expected*\n1,000.00 USD" in fields and "*Actual*\n1,450.50 USD" in fields
    assert "*Impact*\n+450.50 USD" in fields and "*Change*\n+45.1%" in fields
    assert len(fields) <= 10  # Slack's limit for section fields
    cause = blocks[2]["text"]["text"]
    assert cause.startswith("*Root cause*") and "AmazonEC2: +400.40 USD" in cause
    context = blocks[-1]["elements"][0]["text"]
    assert "<https://costline.example.com/anomalies/an-7|Open in costline>" in context


def test_slack_escapes_text_from_cloud_accounts() -> None:
    alert = make_alert(root_cause=(Cause("tag:team", "<!channel> & co", Decimal(1), 1.0),))
    body = json.dumps(slack_payload(alert))
    assert "<!channel>" not in body and "&lt;!channel&gt; &amp; co" in body


def test_webhook_payload_is_exact_and_round_trips() -> None:
    alert = make_alert()
    payload = webhook_payload(alert)
    assert payload["expected"] == "1000.00" and payload["actual"] == "1450.50"
    assert payload["impact"] == "450.50"
    assert payload["root_cause"][0] == {
        "dimension": "ServiceName",
        "value": "AmazonEC2",
        "delta": "400.40",
        "share": 400.40 / 450.50,
    }
    assert payload["top_resources"] == [{"resource_id": "i-0abc", "delta": "300"}]
    assert alert_from_payload(json.loads(to_json(alert))) == alert


def test_a_damaged_payload_is_refused() -> None:
    data = webhook_payload(make_alert())
    data["status"] = "exploded"
    with pytest.raises(ValueError, match="not an alert payload"):
        alert_from_payload(data)


def test_email_has_subject_text_and_escaped_html() -> None:
    alert = make_alert(series="team=<script>alert(1)</script>")
    content = email_content(alert)
    assert content.subject == (
        "[costline HIGH] Payments EC2 spend jumped: +450.50 USD (+45.1%) (updated)"
    )
    assert "Expected 1,000.00 USD" in content.text
    assert "<script>" not in content.html and "&lt;script&gt;" in content.html
    assert "<td>1,450.50 USD</td>" in content.html
    assert '<a href="https://costline.example.com/anomalies/an-7">' in content.html


def test_jira_fields_end_with_the_revision_marker() -> None:
    fields = jira_fields(make_alert())
    assert fields["summary"] == "[HIGH] Payments EC2 spend jumped (updated): +450.50 USD"
    assert fields["description"].endswith("costline-revision: an-7-2")
    assert "Expected 1,000.00 USD" in fields["description"]


def test_jira_label_is_a_single_word_and_differs_per_key() -> None:
    a, b = jira_label("team=a b"), jira_label("team=a_b")
    assert " " not in a and a.startswith("costline-team_a_b-") and a != b


# -- routing and backoff --------------------------------------------------------------------
def _alerts_config() -> AlertsConfig:
    return AlertsConfig.model_validate(
        {
            "channels": [
                {"id": "pay-slack", "type": "slack", "url": "https://hooks.example.com/a"},
                {"id": "ops-mail", "type": "email", "host": "smtp", "from": "c@example.com"},
            ],
            "routes": {"payments": ["pay-slack", "ops-mail"], "default": ["ops-mail"]},
        }
    )


def test_router_uses_the_team_route_then_default() -> None:
    contacts = {"payments": Contacts(email="pay@example.com")}
    channels_for = router(_alerts_config(), contacts)
    routed = channels_for(make_alert())
    assert [d.id for d in routed] == ["pay-slack", "ops-mail"]
    assert routed[1].contacts == Contacts(email="pay@example.com")
    assert [d.id for d in channels_for(make_alert(team="search"))] == ["ops-mail"]
    assert [d.id for d in channels_for(make_alert(team=None))] == ["ops-mail"]


def test_backoff_doubles_jitters_and_caps() -> None:
    retry = RetryConfig(backoff_seconds=1, max_backoff_seconds=5)
    # base = min(5, 1 * 2**(n-1)); delay = base/2 + base/2 * rng
    assert [backoff_delay(retry, n, rng=lambda: 1.0) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
    assert [backoff_delay(retry, n, rng=lambda: 0.0) for n in (1, 2, 3, 4)] == [0.5, 1, 2, 2.5]
    assert backoff_delay(retry, 1, retry_after=3, rng=lambda: 0.0) == 3
    assert backoff_delay(retry, 1, retry_after=30, rng=lambda: 0.0) == 5

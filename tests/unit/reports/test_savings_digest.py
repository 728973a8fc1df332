"""The savings digest renderer (pure): formatting, one team's part, the waiting lists, escaping."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from costline.reports.savings_digest import (
    TOTAL,
    build,
    for_team,
    headline,
    money,
    percent,
    render_html,
    render_text,
    subject,
)


def team_row(team: str, live: int, actioned: int, realized: str, **more: Any) -> dict[str, Any]:
    return {
        "team": team,
        "recommended": live,
        "estimated_monthly": Decimal("1000.00") * live,
        "actioned": actioned,
        "dismissed": 0,
        "adopted_pct": (Decimal(actioned) / live * 100).quantize(Decimal("0.1")),
        "actioned_estimated_monthly": Decimal("1000.00") * actioned,
        "realized_monthly": Decimal(realized),
        "realization_pct": None,
        "realized_in_month": Decimal("0.00"),
        **more,
    }


def waiting_row(team: str, resource: str, est: str, *, n: int, total: str) -> dict[str, Any]:
    return {
        "team": team,
        "id": f"rec-{resource}",
        "resource_id": resource,
        "kind": "waste",
        "rule": "unassociated-address",
        "status": "open",
        "ticket_key": None,
        "first_seen": dt.datetime(2026, 10, 2, 6),
        "estimated_monthly": Decimal(est),
        "team_waiting": n,
        "team_waiting_monthly": Decimal(total),
    }


def digest() -> Any:
    web = team_row("web", 12, 3, "1234.5")
    ops = team_row("<ops&co>", 2, 0, "0")
    total = team_row(TOTAL, 14, 3, "1234.5")
    waiting = [
        waiting_row("web", f"eip-{i}", f"{100 - i}.00", n=25, total="4321.00") for i in range(10)
    ]
    waiting.append(waiting_row("<ops&co>", "eip-x", "7.5", n=1, total="7.5"))
    return build("2026-10", "acme", [web, ops, total], [], waiting, currency="EUR")


def test_money_and_percentages_are_formatted_for_a_finance_reader() -> None:
    assert money(Decimal("1234567.5")) == "1,234,567.50"
    assert money(Decimal("-3")) == "-3.00"  # the resource got dearer after the action
    assert money(None) == "not measured yet"
    assert percent(Decimal("33.3")) == "33.3%"
    assert percent(Decimal("100")) == "100.0%"
    assert percent(None) == "n/a"


def test_the_whole_digest_and_one_teams_part() -> None:
    d = digest()
    assert subject(d) == (
        "costline savings digest 2026-10: 3 of 14 actioned, 1,234.50 EUR/month realized"
    )
    web = for_team(d, "web")
    assert subject(web) == (
        "costline savings digest 2026-10 (web): 3 of 12 actioned, 1,234.50 EUR/month realized"
    )
    figures = dict(headline(web))
    assert figures["Actioned (adopted)"] == "3 of 12 (25.0%)"
    assert figures["Still waiting (open or ticketed)"] == "25, worth 4,321.00 EUR a month"
    assert figures["Realized savings of the actioned ones (from the bill)"] == (
        "1,234.50 EUR a month"  # no realization % without one: no "n/a of their estimate"
    )
    assert dict(headline(d))["Still waiting (open or ticketed)"] == (
        "26, worth 4,328.50 EUR a month"
    )
    page = render_html(web)
    assert "ops" not in page and "eip-x" not in page
    assert "web: 25 waiting, worth 4,321.00 EUR a month (the 10 largest)" in page


def test_a_team_without_recommendations_gets_zeros_not_an_error() -> None:
    nobody = for_team(digest(), "billing")
    assert subject(nobody) == (
        "costline savings digest 2026-10 (billing): 0 of 0 actioned, 0.00 EUR/month realized"
    )
    text = render_text(nobody)
    assert "None in this month." in text and "Nothing waiting." in text
    assert "0 of 0 (n/a)" in text


def test_every_value_is_escaped_in_html_and_left_alone_in_text() -> None:
    d = digest()
    page = render_html(d)
    assert "&lt;ops&amp;co&gt;" in page and "<ops" not in page
    assert "<script" not in page
    text = render_text(d)
    assert "<ops&co>" in text and "&lt;" not in text
    assert text.index("eip-0") < text.index("eip-9")  # largest first, as given

"""The monthly savings digest (`costline savings digest`): the HTML page and the emails, through a
real workspace and the loopback SMTP server (tests/notify_servers.py ``SmtpServer``, aiosmtpd).

The bill is the one of tests/integration/test_tickets.py (waste findings from FOCUS rows) plus a
public IP whose resource id is hostile HTML. Teams come from a published allocation of October
(rules on ResourceId): ``payments`` (eip-big, vol-gp2 and the hostile one; contacts.email set)
and ``search`` (eip-gone, eip-small; no contacts.email).

November, worked out by hand (as in the savings report test): eip-gone was resolved on Oct 31,
so the month's live recommendations are payments' three and search's eip-small. vol-gp2 became
gp3 on Nov 1: its 14 days before cost 13 × 50 (the October file ends on Oct 30), Nov 2–3 cost
40 each, so it realizes (650/14 − 40) × 30.4375 a month and saved 2 × (650/14 − 40) in November.
Estimates are cost per billed day × 30.4375 (gp2: 20 % of it).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from costline.cli.main import app
from costline.config import load_config
from costline.core.errors import ConfigError
from costline.notify.errors import RejectedDeliveryError, RetryableDeliveryError
from costline.workspace import Workspace
from tests.integration.test_tickets import OCTOBER, USAGE, bill, days
from tests.notify_servers import SmtpServer, free_port

HOSTILE = "<script>alert('x')</script>&co"
ADDRESS = "USE1-PublicIPv4:IdleAddress"
PAYMENTS = ("eip-big", "vol-gp2", HOSTILE)
FINANCE = "finance@acme.example"
MONTH = Decimal("30.4375")
CENT = Decimal("0.01")
BASELINE = Decimal(13 * 50) / 14  # vol-gp2's cost per day before Nov 1
REALIZED = ((BASELINE - 40) * MONTH).quantize(CENT)
SAVED_IN_NOVEMBER = (2 * (BASELINE - 40)).quantize(CENT)
EST = {
    "eip-big": Decimal("304.38"),  # 10 × 30.4375
    "vol-gp2": Decimal("304.38"),  # 0.2 × 50 × 30.4375
    HOSTILE: Decimal("91.31"),  # 3 × 30.4375
    "eip-small": Decimal("30.44"),  # 1 × 30.4375
}
runner = CliRunner()


def owners() -> dict[str, Any]:
    teams = [
        {"id": "payments", "cost_center": "CC-1", "contacts": {"email": "payments@acme.example"}},
        {"id": "search", "cost_center": "CC-2"},
    ]
    depts = [{"name": "Digital", "teams": teams}]
    return {"version": 1, "business_units": [{"name": "Retail", "departments": depts}]}


def rules() -> dict[str, Any]:
    by_resource = [
        {"id": "payments", "when": {"column": "ResourceId", "in": list(PAYMENTS)}},
        {"id": "search", "when": {"column": "ResourceId", "in": ["eip-gone", "eip-small"]}},
    ]
    return {
        "version": 1,
        "virtual_tags": [
            {"key": "team", "rules": [{**r, "value": r["id"]} for r in by_resource]},
        ],
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace after the October and November syncs (built once, copied per test)."""
    tmp = tmp_path_factory.mktemp("digest")
    ws = Workspace.init(tmp / "ws")
    ws.owners_path.write_text(yaml.safe_dump(owners()))
    (ws.rules_path / "teams.yaml").write_text(yaml.safe_dump(rules()))
    usage = {**USAGE, HOSTILE: ADDRESS}
    october = {**OCTOBER, HOSTILE: "3.00"}
    report = ws.ingest([bill(tmp / "oct.csv", (days(dt.date(2026, 10, 1), 30), october, usage))])
    assert not report.failed
    ws.allocate("2026-10")
    ws.tickets_sync(now=dt.datetime(2026, 10, 31, 6, tzinfo=dt.UTC))
    nov_usage = {**usage, "vol-gp2": "USE1-EBS:VolumeUsage.gp3"}
    nov = {"eip-big": "10.00", "eip-small": "1.00", "vol-gp2": "40.00", HOSTILE: "3.00"}
    ws.ingest([bill(tmp / "nov.csv", (days(dt.date(2026, 11, 1), 3), nov, nov_usage))])
    ws.tickets_sync(now=dt.datetime(2026, 11, 4, 6, tzinfo=dt.UTC))
    return ws.root


@pytest.fixture
def ws(built: Path, tmp_path: Path) -> Workspace:
    return Workspace.open(Path(shutil.copytree(built, tmp_path / "ws")))


def configure(
    ws: Workspace, port: int, *, to: list[str] | None = None, digest: bool = True
) -> Workspace:
    path = ws.root / "costline.yaml"
    doc = yaml.safe_load(path.read_text())
    mail = {"id": "mail", "type": "email", "host": "127.0.0.1", "port": port}
    mail |= {
        "starttls": False,
        "from": "costline@acme.example",
        "to": [FINANCE] if to is None else to,
    }
    doc["alerts"] = {"channels": [mail], "retry": {"timeout_seconds": 5}}
    if digest:
        doc["savings"] = {"digest_channel": "mail"}
    path.write_text(yaml.safe_dump(doc))
    return Workspace.open(ws.root)


def digest_cli(ws: Workspace, *args: str) -> Any:
    return runner.invoke(
        app, ["-w", str(ws.root), "savings", "digest", "--month", "2026-11", *args]
    )


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    page = msg.get_body(("html",))
    assert text is not None and page is not None
    return text.get_content(), page.get_content()


def report(ws: Workspace, team: str | None = None) -> dict[str, dict[str, Any]]:
    return {r["team"]: r for r in ws.savings_report("2026-11", team=team).records()}


def test_the_report_behind_the_digest_matches_the_hand_computed_month(ws: Workspace) -> None:
    rows = report(ws)
    assert list(rows) == ["payments", "search", "TOTAL"]
    pay, total = rows["payments"], rows["TOTAL"]
    assert (pay["recommended"], pay["actioned"], pay["adopted_pct"]) == (3, 1, Decimal("33.3"))
    assert pay["estimated_monthly"] == EST["eip-big"] + EST["vol-gp2"] + EST[HOSTILE]
    assert pay["realized_monthly"] == REALIZED
    assert pay["realized_in_month"] == SAVED_IN_NOVEMBER
    assert (rows["search"]["recommended"], rows["search"]["actioned"]) == (1, 0)
    assert (total["recommended"], total["actioned"]) == (4, 1)
    assert total["estimated_monthly"] == sum(EST.values())


def test_send_mails_each_team_with_an_email_its_part_and_finance_everything(
    ws: Workspace, tmp_path: Path
) -> None:
    rows = report(ws)
    with SmtpServer() as smtp:
        configure(ws, smtp.port)
        done = digest_cli(ws, "--send", "--out", str(tmp_path / "nov.html"))
    assert done.exit_code == 0, done.output
    # search has no contacts.email: only payments and finance get one
    assert sorted(smtp.envelopes) == [
        ("costline@acme.example", [FINANCE]),
        ("costline@acme.example", ["payments@acme.example"]),
    ]
    by_to = {m["To"]: m for m in smtp.messages}
    # NOTE: Python folds a long subject right after "Subject:" and its parser keeps the fold's
    # space; mail clients drop it, so compare without it
    subjects = {to: str(m["Subject"]).strip() for to, m in by_to.items()}
    pay, total = rows["payments"], rows["TOTAL"]
    team_mail, finance_mail = by_to["payments@acme.example"], by_to[FINANCE]
    assert subjects["payments@acme.example"] == (
        f"costline savings digest 2026-11 (payments): {pay['actioned']} of {pay['recommended']} "
        f"actioned, {pay['realized_monthly']:,.2f} USD/month realized"
    )
    assert subjects[FINANCE] == (
        f"costline savings digest 2026-11: {total['actioned']} of {total['recommended']} "
        f"actioned, {total['realized_monthly']:,.2f} USD/month realized"
    )
    assert team_mail["X-Costline-Digest"] == "2026-11"

    text, page = parts(team_mail)
    for body in (text, page):
        assert f"{SAVED_IN_NOVEMBER:,.2f}" in body and f"{REALIZED:,.2f}" in body
        assert f"{pay['estimated_monthly']:,.2f}" in body
        assert "vol-gp2" in body and "eip-big" in body
        # nothing of search's: its waiting eip-small, its estimate, its name
        assert "eip-small" not in body and "search" not in body
        assert f"{EST['eip-small']:,.2f}" not in body
    assert "TOTAL" not in page  # a team's digest has its own row only
    assert "&lt;script&gt;" in page and "<script" not in page.lower()

    text, page = parts(finance_mail)
    for body in (text, page):
        assert "payments" in body and "search" in body and "eip-small" in body
        assert f"{total['estimated_monthly']:,.2f}" in body
    assert "team payments" in done.output and "finance" in done.output


def headline(page: str) -> dict[str, str]:
    pairs = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page)
    return dict(pairs)


def test_the_page_shows_the_total_row_and_escapes_every_value(
    ws: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "digest.html"
    done = digest_cli(ws, "--out", str(out))
    assert done.exit_code == 0, done.output
    page = out.read_text()
    total = report(ws)["TOTAL"]
    figures = headline(page)
    assert figures["Recommendations live in the month"] == str(total["recommended"])
    assert (
        figures["Actioned (adopted)"]
        == "1 of 4 (25.0%)"
        == (f"{total['actioned']} of {total['recommended']} ({total['adopted_pct']}%)")
    )
    assert figures["Estimated savings of all live recommendations"] == (
        f"{total['estimated_monthly']:,.2f} USD a month"
    )
    assert figures["Estimated savings of the actioned ones"] == (
        f"{EST['vol-gp2']:,.2f} USD a month"
    )
    pct = (REALIZED / EST["vol-gp2"] * 100).quantize(Decimal("0.1"))
    assert figures["Realized savings of the actioned ones (from the bill)"] == (
        f"{REALIZED:,.2f} USD a month ({pct}% of their estimate)"
    )
    assert figures["Money saved in November 2026 (from the bill)"] == (
        f"{SAVED_IN_NOVEMBER:,.2f} USD"
    )
    waiting = EST["eip-big"] + EST[HOSTILE] + EST["eip-small"]
    assert figures["Still waiting (open or ticketed)"] == f"3, worth {waiting:,.2f} USD a month"
    assert '<tr class="total"><td>TOTAL</td>' in page
    # the hostile resource id is shown, never run; the page allows no script at all
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;co" in page
    assert "<script" not in page.lower()
    assert 'content="default-src &#x27;none&#x27;; style-src &#x27;unsafe-inline&#x27;"' in page
    # payments' waiting list: largest first
    pay = page.index("<h3>payments: 2 waiting")
    assert page.index("eip-big", pay) < page.index("&lt;script&gt;", pay)


def test_waiting_lists_the_largest_per_team_with_the_teams_full_count(ws: Workspace) -> None:
    from costline.optimize import digest

    stored = ws.recommendation_store().listing()  # from the state store
    top = digest.waiting(stored, "2026-11", per_team=1)
    october = digest.waiting(stored, "2026-10", team="payments")
    cols = digest.WAITING_COLUMNS
    got = [dict(zip(cols, r, strict=True)) for r in top]
    assert [(r["team"], r["resource_id"], r["estimated_monthly"]) for r in got] == [
        ("payments", "eip-big", EST["eip-big"]),
        ("search", "eip-small", EST["eip-small"]),
    ]
    assert (got[0]["team_waiting"], got[0]["team_waiting_monthly"]) == (
        2,
        EST["eip-big"] + EST[HOSTILE],
    )
    # first seen on Oct 31: waiting in October too; vol-gp2 was actioned since
    assert [r[cols.index("resource_id")] for r in october] == ["eip-big", HOSTILE]


def test_default_file_and_one_team(ws: Workspace) -> None:
    done = digest_cli(ws, "--team", "search")
    assert done.exit_code == 0, done.output
    page = (ws.root / "reports" / "savings-digest-2026-11-search.html").read_text()
    assert "Savings digest November 2026 — search" in page
    assert "eip-small" in page and "eip-big" not in page and "vol-gp2" not in page


def test_one_failed_recipient_is_named_and_the_other_email_still_goes(ws: Workspace) -> None:
    class Refusing(SmtpServer):
        async def handle_RCPT(
            self, server: Any, session: Any, envelope: Any, address: str, options: Any
        ) -> str:
            if address.startswith("payments@"):
                return "550 5.1.1 mailbox unavailable"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    with Refusing() as smtp:
        configure(ws, smtp.port)
        done = digest_cli(ws, "--send")
    assert isinstance(done.exception, RejectedDeliveryError)
    message = " ".join(str(done.exception).split())
    assert "1 of 2 email(s) failed" in message
    assert "to payments@acme.example (team payments)" in message and "550" in message
    assert f"Sent: {FINANCE} (finance)" in message
    assert smtp.envelopes == [("costline@acme.example", [FINANCE])]


def test_an_unreachable_server_fails_every_email_by_name(ws: Workspace) -> None:
    ws = configure(ws, free_port())
    with pytest.raises(RetryableDeliveryError) as info:
        ws.send_savings_digest(ws.savings_digest("2026-11"))
    message = str(info.value)
    assert "2 of 2 email(s) failed" in message and "Sent: none" in message
    assert "to payments@acme.example (team payments)" in message
    assert f"to {FINANCE} (finance)" in message and "ConnectionRefusedError" in message


def test_without_a_digest_channel_send_names_the_key(ws: Workspace) -> None:
    configure(ws, free_port(), digest=False)
    done = digest_cli(ws, "--send")
    assert isinstance(done.exception, ConfigError)
    assert "savings.digest_channel" in str(done.exception)
    assert "digest_channel: <id>" in (done.exception.hint or "")


def test_the_digest_channel_must_name_an_email_channel(ws: Workspace) -> None:
    path = ws.root / "costline.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["alerts"] = {"channels": [{"id": "hook", "type": "webhook", "url": "https://h.example/x"}]}
    doc["savings"] = {"digest_channel": "hook"}
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "savings.digest_channel 'hook' is not an email channel" in str(info.value)


def test_a_team_without_email_and_a_channel_without_to_have_nobody_to_send_to(
    ws: Workspace,
) -> None:
    ws = configure(ws, free_port(), to=[])
    with pytest.raises(ConfigError, match="team search has no contacts.email"):
        ws.send_savings_digest(ws.savings_digest("2026-11", team="search"))


def test_a_bad_month_says_how_to_write_it(ws: Workspace) -> None:
    done = runner.invoke(app, ["-w", str(ws.root), "savings", "digest", "--month", "11/2026"])
    assert isinstance(done.exception, ConfigError)
    assert "'11/2026' is not a month" in str(done.exception)
    assert "YYYY-MM" in (done.exception.hint or "")

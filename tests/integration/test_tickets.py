"""The ticket loop (`costline tickets sync`) through a real workspace against the loopback Jira
fake (tests/notify_servers.py ``JiraServer``).

Bills are waste findings from FOCUS rows (no inventory, no telemetry): public IPs charged as
``IdleAddress`` save all of their cost, gp2 volumes save 20 %. Monthly figures are the cost per
billed day × 30.4375 over the 30 days up to the last bill day, worked out by hand here:

* eip-big   10.00 a day → 304.375 → 304.38
* vol-gp2   50.00 a day → saving 0.2 × 50 × 30.4375 = 304.375 → 304.38 (cost 1521.88)
* eip-gone   8.00 a day → 243.50
* eip-small  1.00 a day → 30.44 (below the default 200 threshold)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from costline.cli.main import app
from costline.config import load_config
from costline.core.errors import ConfigError, CostlineError, WorkspaceError
from costline.notify.channels import jira_label
from costline.workspace import Workspace
from tests.allocation_kit import owners_doc, team_tag_rules, write_rules
from tests.focus_files import RESOURCE_COLUMNS, daily_resource_row, write_focus_csv
from tests.notify_servers import (
    JIRA_ENV,
    HookServer,
    JiraServer,
    Reply,
    jira_ticket_workspace,
    workspace_with,
)

COLS = RESOURCE_COLUMNS
ENV = JIRA_ENV
AUTH = "Bearer tok"
USAGE = {
    "eip-big": "USE1-PublicIPv4:IdleAddress",
    "eip-gone": "USE1-PublicIPv4:IdleAddress",
    "eip-small": "USE1-PublicIPv4:IdleAddress",
    "vol-gp2": "USE1-EBS:VolumeUsage.gp2",
}
OCTOBER = {"eip-big": "10.00", "vol-gp2": "50.00", "eip-gone": "8.00", "eip-small": "1.00"}


def rec_id(rule: str, resource: str) -> str:
    return "rec-" + hashlib.sha256(f"waste\x1f{rule}\x1f{resource}".encode()).hexdigest()[:12]


RULE = {
    "eip-big": "unassociated-address",
    "eip-gone": "unassociated-address",
    "eip-small": "unassociated-address",
    "vol-gp2": "gp2-to-gp3",
}


Segment = tuple[list[dt.date], dict[str, str], dict[str, str]]


def bill(path: Path, *segments: Segment) -> Path:
    """A FOCUS file; each segment is (days, resource → daily cost, resource → usage type).
    A file replaces the billing periods (months) it holds, as a restated export does."""
    rows = []
    for day, costs, usage in ((d, c, u) for ds, c, u in segments for d in ds):
        for rid, cost in costs.items():
            rows.append(daily_resource_row(day, rid, cost, usage[rid]))
    return write_focus_csv(path, rows, COLS)


def days(first: dt.date, n: int) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range(n)]


def workspace(tmp_path: Path, jira_url: str, *, transitions_note: str = "") -> Workspace:
    ws = jira_ticket_workspace(tmp_path / "ws", jira_url)
    report = ws.ingest(
        [bill(tmp_path / "oct.csv", (days(dt.date(2026, 10, 1), 30), OCTOBER, USAGE))]
    )
    assert not report.failed
    return ws


def statuses(ws: Workspace) -> dict[str, tuple[str, str | None]]:
    got = ws.tickets()
    c = got.columns
    return {
        r[c.index("resource_id")]: (r[c.index("status")], r[c.index("ticket_key")])
        for r in got.rows
    }


def by_resource(jira: JiraServer) -> dict[str, str]:
    """resource → issue key, from the summary of each issue."""
    return {f["summary"].rsplit(" on ", 1)[1]: key for key, f in jira.issues.items()}


def test_the_full_loop_opens_keeps_updates_and_closes(tmp_path: Path) -> None:
    with JiraServer(auth=AUTH) as jira:
        ws = workspace(tmp_path, jira.url)
        first = ws.tickets_sync(environ=ENV)
        assert sorted(r[0] for r in first.rows) == ["open", "open", "open"]
        assert len(jira.issues) == 3
        keys = by_resource(jira)
        assert set(keys) == {"eip-big", "vol-gp2", "eip-gone"}
        big = jira.issues[keys["eip-big"]]
        rid = rec_id("unassociated-address", "eip-big")
        assert big["project"] == {"key": "PAY"}
        assert big["issuetype"] == {"name": "Task"}
        assert big["labels"] == [
            "costline",
            "costline-recommendation",
            jira_label(f"recommendation {rid}"),
        ]
        assert big["summary"] == (
            "costline: save 304.38 a month (waste unassociated-address) on eip-big"
        )
        assert "estimated savings: 304.38 a month" in big["description"]
        assert "current cost: 304.38 a month" in big["description"]
        assert f"costline tickets dismiss {rid}" in big["description"]
        gp2 = jira.issues[keys["vol-gp2"]]
        assert "estimated savings: 304.38 a month" in gp2["description"]
        assert "current cost: 1,521.88 a month" in gp2["description"]
        assert statuses(ws) == {
            "eip-big": ("ticketed", keys["eip-big"]),
            "vol-gp2": ("ticketed", keys["vol-gp2"]),
            "eip-gone": ("ticketed", keys["eip-gone"]),
            "eip-small": ("open", None),
        }

        # the next night, nothing changed: no new issue, no comment
        created = sum(1 for r in jira.requests if r.method == "POST" and r.path.endswith("/issue"))
        assert ws.tickets_sync(environ=ENV).rows == []
        assert len(jira.issues) == 3
        assert all(c == [] for c in jira.comments.values())
        assert created == 3

        # October restated with Oct 31, where eip-big costs 50: the window Oct 2–31 gives
        # (29 × 10 + 50) / 30 × 30.4375 = 344.96 (+13.3 %): update; the others are unchanged
        ws.ingest(
            [
                bill(
                    tmp_path / "oct-full.csv",
                    (days(dt.date(2026, 10, 1), 30), OCTOBER, USAGE),
                    ([dt.date(2026, 10, 31)], {"eip-big": "50.00", "eip-gone": "8.00"}, USAGE),
                )
            ]
        )
        third = ws.tickets_sync(environ=ENV)
        assert [(r[0], r[2], r[4]) for r in third.rows] == [
            ("update", "eip-big", Decimal("344.96"))
        ]
        assert jira.comments[keys["eip-big"]] == [
            "costline: the estimate changed from 304.38 to 344.96 a month."
        ]
        assert jira.issues[keys["eip-big"]]["summary"].startswith("costline: save 344.96 a month")
        assert len(jira.issues) == 3

        # Nov 1–2: vol-gp2 billed as gp3 from Nov 1 (actioned), eip-big's address now in use
        # (no longer recommended while still billed: expired), eip-gone not billed since
        # Oct 31 (2 days: it might come back, so it waits)
        usage = {
            **USAGE,
            "vol-gp2": "USE1-EBS:VolumeUsage.gp3",
            "eip-big": "USE1-PublicIPv4:InUseAddress",
        }
        nov = {"eip-big": "10.00", "eip-small": "1.00", "vol-gp2": "40.00"}
        ws.ingest([bill(tmp_path / "nov.csv", (days(dt.date(2026, 11, 1), 2), nov, usage))])
        fourth = ws.tickets_sync(environ=ENV)
        assert sorted((r[0], r[2], r[6]) for r in fourth.rows) == [
            ("close", "eip-big", "expired"),
            ("close", "vol-gp2", "actioned"),
        ]
        for rid_ in ("eip-big", "vol-gp2"):
            assert jira.status[keys[rid_]] == "Done"
            assert len(jira.comments[keys[rid_]]) == 1 + (rid_ == "eip-big")
        assert "recorded as actioned: volume-type-changed" in jira.comments[keys["vol-gp2"]][0]
        assert "expired" in jira.comments[keys["eip-big"]][-1]
        # realized: the 14 days before Nov 1 cost 13 × 50 (the restated Oct 31 has no vol-gp2
        # row: a zero day), Nov 2 costs 40 (Nov 1 is the transition day, on neither side)
        month = Decimal("30.4375")
        gp2_realized = ((Decimal(13 * 50) / 14 - 40) * month).quantize(Decimal("0.01"))
        assert realized_of(ws)["vol-gp2"] == gp2_realized
        assert statuses(ws)["eip-gone"] == ("ticketed", keys["eip-gone"])

        # Nov 3 billed too: eip-gone missing for 3 days (Nov 1–3) is gone: actioned, realizing
        # its 8 a day of the 14 days before Nov 1; vol-gp2 is measured again (40 on Nov 2–3)
        ws.ingest([bill(tmp_path / "nov.csv", (days(dt.date(2026, 11, 1), 3), nov, usage))])
        fifth = ws.tickets_sync(environ=ENV)
        assert [(r[0], r[2], r[6]) for r in fifth.rows] == [("close", "eip-gone", "actioned")]
        assert "resource-gone: no charge since 2026-11-01" in jira.comments[keys["eip-gone"]][0]
        assert jira.status[keys["eip-gone"]] == "Done"
        realized = realized_of(ws)
        assert realized["eip-gone"] == (8 * month).quantize(Decimal("0.01"))
        assert realized["vol-gp2"] == gp2_realized  # Nov 2–3 cost 40 each: the same
        assert ws.tickets_sync(environ=ENV).rows == []  # closed stays closed


def realized_of(ws: Workspace) -> dict[str, Decimal | None]:
    listed = ws.tickets()
    c = listed.columns
    return {r[c.index("resource_id")]: r[c.index("realized_savings")] for r in listed.rows}


def test_without_a_transition_the_issue_gets_a_resolved_label(tmp_path: Path) -> None:
    with JiraServer(auth=AUTH, transitions=False) as jira:
        ws = workspace(tmp_path, jira.url)
        ws.tickets_sync(environ=ENV)
        keys = by_resource(jira)
        ws.ingest(
            [
                bill(
                    tmp_path / "nov.csv",
                    (
                        days(dt.date(2026, 11, 1), 3),
                        {"eip-big": "10.00", "vol-gp2": "50.00", "eip-small": "1.00"},
                        USAGE,
                    ),  # eip-gone: no charge Nov 1-3, gone
                )
            ]
        )
        got = ws.tickets_sync(environ=ENV)
        assert [(r[0], r[2], r[6]) for r in got.rows] == [("close", "eip-gone", "actioned")]
        assert "costline-resolved" in jira.issues[keys["eip-gone"]]["labels"]
        assert len(jira.comments[keys["eip-gone"]]) == 1
        assert "costline-resolved" not in jira.issues[keys["eip-big"]]["labels"]


def test_the_threshold_filters_and_the_cli_option_overrides_it(tmp_path: Path) -> None:
    with JiraServer(auth=AUTH) as jira:
        ws = workspace(tmp_path, jira.url)
        assert ws.tickets_sync(threshold=300, environ=ENV, dry_run=True).rows
        assert jira.requests == []  # a dry run sends nothing
        assert ws.tickets().rows == []  # ... and records nothing
        got = ws.tickets_sync(threshold=300, environ=ENV)  # 304.38 ≥ 300 > 243.50
        assert sorted(r[2] for r in got.rows) == ["eip-big", "vol-gp2"]
        got = ws.tickets_sync(threshold=30, environ=ENV)  # 243.50 and 30.44 now qualify
        assert sorted(r[2] for r in got.rows) == ["eip-gone", "eip-small"]
        assert len(jira.issues) == 4


def test_jira_500_is_a_clear_error_and_the_next_sync_retries(tmp_path: Path) -> None:
    with JiraServer(auth=AUTH, fail_next=[Reply(500, "jira is down")]) as jira:
        ws = workspace(tmp_path, jira.url)
        with pytest.raises(WorkspaceError) as err:
            ws.tickets_sync(environ=ENV)
        text = str(err.value)
        assert "HTTP 500" in text and "jira is down" in text
        assert "0 earlier action(s)" in text and "costline tickets sync" in text
        assert jira.issues == {}
        assert {s for s, _ in statuses(ws).values()} == {"open"}
        got = ws.tickets_sync(environ=ENV)
        assert len(got.rows) == 3 and len(jira.issues) == 3


def test_dismissed_recommendations_are_never_ticketed(tmp_path: Path) -> None:
    with JiraServer(auth=AUTH) as jira:
        ws = workspace(tmp_path, jira.url)
        ws.tickets_sync(threshold=100_000, environ=ENV)  # records, tickets nothing
        rid = rec_id("unassociated-address", "eip-big")
        runner = CliRunner()
        done = runner.invoke(
            app, ["-w", str(ws.root), "tickets", "dismiss", rid, "--reason", "kept for DR"]
        )
        assert done.exit_code == 0, done.output
        got = ws.tickets_sync(environ=ENV)
        assert sorted(r[2] for r in got.rows) == ["eip-gone", "vol-gp2"]
        assert "eip-big" not in by_resource(jira)
        listed = runner.invoke(
            app, ["-w", str(ws.root), "tickets", "list", "--status", "dismissed", "-f", "json"]
        )
        assert listed.exit_code == 0 and "kept for DR" in listed.output and rid in listed.output
        assert ws.tickets_sync(environ=ENV).rows == []
        # changed our mind: reopened, the next sync tickets it like any open recommendation
        done = runner.invoke(app, ["-w", str(ws.root), "tickets", "reopen", rid])
        assert done.exit_code == 0, done.output
        assert statuses(ws)["eip-big"] == ("open", None)
        again = ws.tickets_sync(environ=ENV)
        assert [(r[2], r[6]) for r in again.rows] == [("eip-big", "ticketed")]
        assert "eip-big" in by_resource(jira)
        # only a dismissed one reopens, and the CLI says why
        refused = runner.invoke(app, ["-w", str(ws.root), "tickets", "reopen", rid])
        assert refused.exit_code == 1 and "is ticketed, not dismissed" in str(refused.exception)


def test_without_a_ticket_channel_the_store_and_adoption_still_work(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    ws.ingest([bill(tmp_path / "oct.csv", (days(dt.date(2026, 10, 1), 30), OCTOBER, USAGE))])
    assert ws.tickets_sync().rows == []  # recorded, nothing to send
    assert statuses(ws) == dict.fromkeys(OCTOBER, ("open", None))
    # Nov 1–3 without eip-gone: gone for 3 days, actioned (no ticket to close: retired)
    nov = {r: c for r, c in OCTOBER.items() if r != "eip-gone"}
    ws.ingest([bill(tmp_path / "nov.csv", (days(dt.date(2026, 11, 1), 3), nov, USAGE))])
    got = ws.tickets_sync()
    assert [(r[0], r[2], r[6]) for r in got.rows] == [("retire", "eip-gone", "actioned")]
    month = Decimal("30.4375")
    assert realized_of(ws)["eip-gone"] == (8 * month).quantize(Decimal("0.01"))


def test_bad_input_is_named_with_the_fix(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    ws.ingest([bill(tmp_path / "oct.csv", (days(dt.date(2026, 10, 1), 30), OCTOBER, USAGE))])
    with pytest.raises(ConfigError, match="no recommendation 'rec-nope'"):
        ws.dismiss_recommendation("rec-nope", "because")
    with pytest.raises(ConfigError, match="needs a reason"):
        ws.dismiss_recommendation("rec-nope", "  ")
    with pytest.raises(ConfigError, match="unknown status"):
        ws.tickets(status="closed")
    cfg = tmp_path / "bad" / "costline.yaml"
    cfg.parent.mkdir()
    cfg.write_text(
        "alerts:\n  channels:\n    - {id: chat, type: slack, url: 'https://h.example/x'}\n"
        "tickets:\n  channel: chat\n"
    )
    with pytest.raises(CostlineError, match="tickets.channel 'chat' is not a jira or webhook"):
        load_config(cfg)


def test_the_savings_report_counts_adoption_and_realized_savings_per_month(
    tmp_path: Path,
) -> None:
    ws = Workspace.init(tmp_path / "ws")
    ws.ingest([bill(tmp_path / "oct.csv", (days(dt.date(2026, 10, 1), 30), OCTOBER, USAGE))])
    ws.tickets_sync(now=dt.datetime(2026, 10, 31, 6, tzinfo=dt.UTC))
    # Nov 1–3: eip-gone not billed since Oct 31 (gone, actioned Oct 31), vol-gp2 now gp3
    # (actioned Nov 1), eip-big and eip-small unchanged
    usage = {**USAGE, "vol-gp2": "USE1-EBS:VolumeUsage.gp3"}
    nov = {"eip-big": "10.00", "eip-small": "1.00", "vol-gp2": "40.00"}
    ws.ingest([bill(tmp_path / "nov.csv", (days(dt.date(2026, 11, 1), 3), nov, usage))])
    ws.tickets_sync(now=dt.datetime(2026, 11, 4, 6, tzinfo=dt.UTC))
    month = Decimal("30.4375")
    cent = Decimal("0.01")
    est = {"eip-big": Decimal("304.38"), "vol-gp2": Decimal("304.38")}
    est |= {"eip-gone": Decimal("243.50"), "eip-small": Decimal("30.44")}

    october = ws.savings_report("2026-10").records()
    total = october[-1]
    assert total["team"] == "TOTAL" and total["recommended"] == 4
    assert total["estimated_monthly"] == sum(est.values())
    assert (total["actioned"], total["adopted_pct"]) == (1, Decimal("25.0"))
    assert total["actioned_estimated_monthly"] == est["eip-gone"]
    assert total["realized_monthly"] == (8 * month).quantize(cent)
    assert total["realized_in_month"] == 0  # gone on Oct 31: no October day after it

    # November: eip-gone was resolved in October; vol-gp2's 14 days before Nov 1 cost 13 × 50
    # (the October file ends Oct 30), Nov 2–3 cost 40 each (Nov 1 is the transition day)
    baseline = Decimal(13 * 50) / 14
    november = ws.savings_report("2026-11").records()
    total = november[-1]
    assert total["recommended"] == 3 and total["actioned"] == 1
    assert total["realized_monthly"] == ((baseline - 40) * month).quantize(cent)
    assert total["realization_pct"] == (total["realized_monthly"] / est["vol-gp2"] * 100).quantize(
        Decimal("0.1")
    )
    assert total["realized_in_month"] == (2 * (baseline - 40)).quantize(cent)
    assert [r["team"] for r in november] == ["(no team)", "TOTAL"]
    detail = ws.savings_report("2026-11", detail=True).records()
    assert [(r["resource_id"], r["action"], r["to_state"]) for r in detail] == [
        ("vol-gp2", "volume-type-changed", "gp3")
    ]
    assert detail[0]["action_date"] == dt.date(2026, 11, 1) and detail[0]["days_measured"] == 2

    out = CliRunner().invoke(
        app, ["-w", str(ws.root), "savings", "report", "--month", "2026-11", "-f", "csv"]
    )
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[0].startswith("team,recommended,estimated_monthly,actioned")
    book = CliRunner().invoke(
        app, ["-w", str(ws.root), "savings", "report", "--month", "2026-11", "-f", "xlsx"]
    )
    assert book.exit_code == 0, book.output
    sheet = openpyxl.load_workbook(io.BytesIO(book.stdout_bytes)).active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == list(november[0])  # the header: the report's columns
    assert [Decimal(str(v)) if isinstance(v, float | int) else v for v in cells[-1][:4]] == [
        "TOTAL",
        3,
        total["estimated_monthly"],
        1,
    ]
    bad = CliRunner().invoke(app, ["-w", str(ws.root), "savings", "report", "--month", "Nov"])
    assert isinstance(bad.exception, ConfigError) and "YYYY-MM" in (bad.exception.hint or "")


def test_tickets_go_to_the_owning_teams_jira_project(tmp_path: Path) -> None:
    """The team of a resource comes from the published allocation (its `team` tag here);
    a team with contacts.jira gets the issue in its project, others the channel's."""
    owners = owners_doc()
    for bu in owners["business_units"]:
        for dept in bu["departments"]:
            for team in dept["teams"]:
                if team["id"] == "web":
                    team["contacts"]["jira"] = "WEB"
    with JiraServer(auth=AUTH, projects=("PAY", "WEB")) as jira:
        ws = workspace(tmp_path, jira.url)  # OCTOBER, no tags: no team
        rows = []  # the file replaces October: OCTOBER's resources again, untagged
        for day in days(dt.date(2026, 10, 1), 30):
            for rid, team in (("eip-web", "web"), ("eip-api", "api"), ("eip-big", "")):
                row = daily_resource_row(day, rid, "10.00", "USE1-PublicIPv4:IdleAddress")
                row["Tags"] = json.dumps({"team": team} if team else {})
                rows.append(row)
        report = ws.ingest([write_focus_csv(tmp_path / "tagged.csv", rows, COLS)])
        assert not report.failed
        ws.owners_path.write_text(yaml.safe_dump(owners, sort_keys=False))
        write_rules(ws, team_tag_rules())
        ws.allocate("2026-10")
        ws.tickets_sync(environ=ENV)
        keys = by_resource(jira)
        project = {rid: jira.issues[key]["project"]["key"] for rid, key in keys.items()}
        assert project["eip-web"] == "WEB"  # the team's own project
        assert project["eip-api"] == "PAY"  # team api has no contacts.jira: the channel's
        assert project["eip-big"] == "PAY"  # no team at all
        listed = ws.tickets()
        c = listed.columns
        teams = {r[c.index("resource_id")]: r[c.index("team")] for r in listed.rows}
        assert (teams["eip-web"], teams["eip-api"], teams["eip-big"]) == (
            "web",
            "api",
            "unallocated",
        )


def test_the_webhook_channel_gets_one_event_per_action(tmp_path: Path) -> None:
    with HookServer(script=[Reply(body='{"key": "OPS-7"}')]) as hook:
        ws = workspace_with(
            tmp_path / "ws",
            f"""alerts:
  channels:
    - id: tracker
      type: webhook
      url: {hook.url}/hooks/tickets
      headers_env: {{Authorization: HOOK_AUTH}}
tickets:
  channel: tracker
  threshold: 300
""",
        )
        ws.ingest([bill(tmp_path / "oct.csv", (days(dt.date(2026, 10, 1), 30), OCTOBER, USAGE))])
        env = {"HOOK_AUTH": "Bearer hook-secret"}
        first = ws.tickets_sync(environ=env)
        # eip-big and vol-gp2 (304.38 ≥ 300), equal savings: in id order; the first answer
        # carries a key, the second not
        ids = {"eip-big": rec_id("unassociated-address", "eip-big")}
        ids["vol-gp2"] = rec_id("gp2-to-gp3", "vol-gp2")
        order = sorted(ids, key=ids.__getitem__)
        assert [(r[0], r[2]) for r in first.rows] == [("open", rid) for rid in order]
        sent = [r.json() for r in hook.requests]
        assert [(e["event"], e["recommendation"]["resource_id"]) for e in sent] == [
            ("opened", rid) for rid in order
        ]
        assert all(e["recommendation"]["monthly_savings"] == "304.38" for e in sent)
        assert all(e["status"] == "ticketed" and e["ticket_key"] is None for e in sent)
        assert all(r.headers["authorization"] == "Bearer hook-secret" for r in hook.requests)
        assert hook.requests[0].headers["idempotency-key"] == f"{ids[order[0]]}-opened-304.38"
        assert statuses(ws)[order[0]] == ("ticketed", "OPS-7")
        assert statuses(ws)[order[1]] == ("ticketed", f"webhook:{ids[order[1]]}")
        assert ws.tickets_sync(environ=env).rows == []  # the next night: nothing sent
        assert len(hook.requests) == 2
        # Nov 1-3: eip-big gone (3 days without a charge): a "closed" event, actioned
        nov = {r: c for r, c in OCTOBER.items() if r != "eip-big"}
        ws.ingest([bill(tmp_path / "nov.csv", (days(dt.date(2026, 11, 1), 3), nov, USAGE))])
        ws.tickets_sync(environ=env)
        closed = hook.requests[-1].json()
        assert (closed["event"], closed["status"], closed["recommendation"]["id"]) == (
            "closed",
            "actioned",
            ids["eip-big"],
        )
        assert closed["ticket_key"] == statuses(ws)["eip-big"][1]
        assert closed["note"].startswith("resource-gone: no charge since 2026-10-31")
        assert "secret" not in caplog_text(ws)


def caplog_text(ws: Workspace) -> str:
    """Everything the sync recorded in the store, as text (no secret may end up there)."""
    return json.dumps([list(map(str, r)) for r in ws.tickets().rows])

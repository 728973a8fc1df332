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
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costline.cli.main import app
from costline.config import load_config
from costline.core.errors import ConfigError, CostlineError, WorkspaceError
from costline.notify.channels import jira_label
from costline.workspace import Workspace
from tests.focus_files import RESOURCE_COLUMNS, daily_resource_row, write_focus_csv
from tests.notify_servers import JiraServer, Reply

COLS = RESOURCE_COLUMNS
ENV = {"JIRA_TOKEN": "tok"}
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
    ws = Workspace.init(tmp_path / "ws")
    cfg = ws.root / "costline.yaml"
    cfg.write_text(
        cfg.read_text()
        + f"""
alerts:
  channels:
    - id: jira
      type: jira
      url: {jira_url}
      token_env: JIRA_TOKEN
      project: PAY
tickets:
  channel: jira
"""
    )
    ws = Workspace.open(ws.root)
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

        # Nov 1–2: vol-gp2 billed as gp3 (still there: expired), eip-gone not billed (actioned)
        usage = {**USAGE, "vol-gp2": "USE1-EBS:VolumeUsage.gp3"}
        ws.ingest(
            [
                bill(
                    tmp_path / "nov.csv",
                    (
                        days(dt.date(2026, 11, 1), 2),
                        {"eip-big": "10.00", "eip-small": "1.00", "vol-gp2": "40.00"},
                        usage,
                    ),
                )
            ]
        )
        fourth = ws.tickets_sync(environ=ENV)
        assert sorted((r[0], r[2], r[6]) for r in fourth.rows) == [
            ("close", "eip-gone", "actioned"),
            ("close", "vol-gp2", "expired"),
        ]
        for rid_ in ("eip-gone", "vol-gp2"):
            assert jira.status[keys[rid_]] == "Done"
            assert len(jira.comments[keys[rid_]]) == 1
        assert "actioned" in jira.comments[keys["eip-gone"]][0]
        assert "expired" in jira.comments[keys["vol-gp2"]][0]
        listed = ws.tickets()
        c = listed.columns
        realized = {r[c.index("resource_id")]: r[c.index("realized_savings")] for r in listed.rows}
        assert realized["eip-gone"] == Decimal("243.50")  # 8 × 30.4375, its last month
        assert realized["vol-gp2"] is None
        assert statuses(ws)["eip-big"] == ("ticketed", keys["eip-big"])
        assert ws.tickets_sync(environ=ENV).rows == []  # closed stays closed


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
                    ),
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


def test_bad_input_is_named_with_the_fix(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    ws.ingest([bill(tmp_path / "oct.csv", (days(dt.date(2026, 10, 1), 30), OCTOBER, USAGE))])
    with pytest.raises(WorkspaceError, match="tickets.channel") as err:
        ws.tickets_sync(environ=ENV)
    assert err.value.hint and "docs/how-to/tickets.md" in err.value.hint
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

"""The ticket loop (`costline tickets sync`) for Kubernetes request and commitment purchase
recommendations, through a real workspace against the loopback Jira fake
(tests/notify_servers.py ``JiraServer``), night by night with the clock of a nightly job.

The data, and every figure below worked out by hand:

* Cluster ``prod``: one node ``i-node1`` (16 vCPU, 112 GiB) billed 61.44 a day = 2.56 an hour.
  Its weighted capacity is 9 × 16 + 112 = 256 units, so memory costs 2.56 / 256 = 0.01 per
  GiB-hour and a vCPU 9 × 0.01 = 0.09 per hour (AWS's 9:1 split, docs/concepts).
* Workload ``api`` (container ``app``, namespace ``shop``, label team=web): 10 pods all day,
  each requesting 1 vCPU and 2 GiB and using 0.2 vCPU and 1 GiB. Recommended: CPU = p95 of
  0.2 = 0.2, memory = 1 × 1.15 = 1.15 GiB; monthly savings = (0.8 × 0.09 + 0.85 × 0.01) × 10
  pods × 730 h = 0.0805 × 7300 = 587.65; current cost (1 × 0.09 + 2 × 0.01) × 7300 = 803.00.
* Billing account 111: ``i-app`` uses 240.00 a day (10.00 an hour) of on-demand compute no
  commitment covers. With the nightly's default 1y no-upfront convertible discount
  d = 0.2608, the best commitment covers all of it: c* = 10 × (1 − 0.2608) = 7.392 an hour,
  saving 10 − 7.392 = 2.608 an hour, 2.608 × 730 = 1903.84 a month.

From Oct 17 the requests are 0.25 vCPU and 1.25 GiB (at most halfway from 1 to 0.2 and from
2 to 1.15: moved), and a Savings Plan ``sp-new`` covers ``i-app``: 180.00 effective for its
240.00 of on-demand usage, plus 6.00 a day unused.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from costline.workspace import Workspace
from tests.allocation_kit import owners_doc, team_tag_rules, write_rules
from tests.focus_files import RESOURCE_COLUMNS, daily_resource_row, write_focus_csv
from tests.notify_servers import (
    JIRA_ENV,
    HookServer,
    JiraServer,
    jira_ticket_workspace,
    workspace_with,
)

pytestmark = pytest.mark.xdist_group("allocation")
ENV = JIRA_ENV
AUTH = "Bearer tok"
COLS = (
    *RESOURCE_COLUMNS,
    "SkuId",
    "SkuPriceId",
    "PricingUnit",
    "PricingQuantity",
    "ListUnitPrice",
    "PricingCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountType",
    "CommitmentDiscountStatus",
)
FIRST = dt.date(2026, 10, 1)
CHANGE = dt.date(2026, 10, 17)  # new requests, and sp-new's first charge
MONTH = Decimal("30.4375")
CENT = Decimal("0.01")


def days(last: dt.date) -> list[dt.date]:
    return [FIRST + dt.timedelta(days=i) for i in range((last - FIRST).days + 1)]


def bill(path: Path, last: dt.date, *, unused: dict[dt.date, str] | None = None) -> Path:
    """October through ``last``: the node, and i-app on demand, then covered by sp-new."""
    rows = []
    for day in days(last):
        node = daily_resource_row(day, "i-node1", "61.44", "USE1-BoxUsage:m6i.4xlarge")
        node["Tags"] = "{}"
        rows.append(node)
        app = daily_resource_row(day, "i-app", "240.00", "USE1-BoxUsage:m6i.8xlarge")
        app |= {"PricingUnit": "Hours", "PricingQuantity": "24", "ListUnitPrice": "10"}
        app |= {"SkuId": "sku", "SkuPriceId": "sku", "PricingCategory": "Standard", "Tags": "{}"}
        if day >= CHANGE:
            sp = {"CommitmentDiscountId": "sp-new", "CommitmentDiscountType": "Savings Plan"}
            app |= sp | {"CommitmentDiscountStatus": "Used", "PricingCategory": "Committed"}
            app |= {"BilledCost": "0", "EffectiveCost": "180.00"}
            idle = daily_resource_row(day, "sp-new", (unused or {}).get(day, "6.00"), "SP:Fee")
            idle |= sp | {"CommitmentDiscountStatus": "Unused", "PricingUnit": "Hours"}
            idle |= {"ListCost": "0", "ContractedCost": "0", "Tags": "{}"}
            rows.append(idle)
        rows.append(app)
    return write_focus_csv(path, rows, COLS)


def samples(path: Path, last: dt.date) -> Path:
    lines = [
        "window_start,window_hours,cluster,node_resource_id,namespace,pod,container,"
        "cpu_request,cpu_usage,memory_request_gib,memory_usage_gib,workload,team"
    ]
    for day in days(last):
        cpu, mem = ("0.25", "1.25") if day >= CHANGE else ("1.0", "2.0")
        for pod in range(10):
            lines.append(
                f"{day},24,prod,i-node1,shop,api-5d9f8-{pod:05d},app,{cpu},0.2,{mem},1.0,api,web"
            )
    path.write_text("\n".join(lines) + "\n")
    return path


def load(ws: Workspace, tmp: Path, last: dt.date, **kw: Any) -> None:
    """What the night's ingest brought: October's bill through ``last`` (a newer export of
    the month replaces it) and the samples through ``last``."""
    assert not ws.ingest([bill(tmp / f"oct-{last}.csv", last, **kw)]).failed
    ws.load_kubernetes("samples", samples(tmp / f"pods-{last}.csv", last))


def night(day: dt.date) -> dt.datetime:
    """The nightly job's clock: 06:00 UTC, the day after the newest data."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(6), tzinfo=dt.UTC)


def workspace(tmp_path: Path, jira_url: str) -> Workspace:
    ws = jira_ticket_workspace(tmp_path / "ws", jira_url)
    owners = owners_doc()
    for bu in owners["business_units"]:
        for dept in bu["departments"]:
            for team in dept["teams"]:
                if team["id"] == "web":
                    team["contacts"]["jira"] = "WEB"
    ws.owners_path.write_text(yaml.safe_dump(owners, sort_keys=False))
    pool = {
        "id": "eks-prod",
        "select": {"column": "ResourceId", "equals": "i-node1"},
        "method": "kubernetes",
        "kubernetes": {"cluster": "prod"},
    }
    write_rules(ws, team_tag_rules(pools=[pool]))
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("node_resource_id,cluster,node,cpu_cores,memory_gib\ni-node1,prod,n1,16,112\n")
    ws.load_kubernetes("nodes", nodes)
    return ws


def listed(ws: Workspace) -> dict[str, dict[str, Any]]:
    return {r["kind"]: r for r in ws.tickets().records()}


def test_k8s_and_commitment_recommendations_go_round_the_ticket_loop(tmp_path: Path) -> None:
    with JiraServer(auth=AUTH, projects=("PAY", "WEB")) as jira:
        ws = workspace(tmp_path, jira.url)

        # night 1 (Oct 15): data through Oct 14, the allocation gives namespace shop to web
        load(ws, tmp_path, dt.date(2026, 10, 14))
        ws.allocate("2026-10")
        first = ws.tickets_sync(environ=ENV, now=night(dt.date(2026, 10, 14)))
        opened = {r[2]: (r[0], r[3], r[4]) for r in first.rows}
        scope = next(rid for rid in opened if rid.endswith("/111/USD"))
        assert opened == {
            "prod/shop/api/app": ("open", "requests", Decimal("587.65")),
            scope: ("open", "purchase", Decimal("1903.84")),
        }
        recs = listed(ws)
        assert recs["k8s-requests"]["team"] == "web"  # the namespace's team in the allocation
        assert recs["commitment"]["team"] is None
        issues = {f["summary"].rsplit(" on ", 1)[1]: (k, f) for k, f in jira.issues.items()}
        k8s_key, k8s_issue = issues["prod/shop/api/app"]
        buy_key, buy_issue = issues[scope]
        assert k8s_issue["project"] == {"key": "WEB"}  # team web's contacts.jira
        assert buy_issue["project"] == {"key": "PAY"}  # no team: the channel's project
        assert k8s_issue["summary"] == (
            "costline: save 587.65 a month (k8s-requests requests) on prod/shop/api/app"
        )
        assert (
            "Set the requests of container app of workload api (namespace shop, cluster "
            "prod): CPU 1 → 0.2 cores (95th percentile of its usage), memory 2 → 1.15 GiB"
        ) in k8s_issue["description"]
        assert "current cost: 803.00 a month" in k8s_issue["description"]
        assert (
            "Buy a 1y no-upfront commitment (a Compute Savings Plan or convertible Reserved "
            "Instances) of 7.392 USD an hour for provider"
        ) in buy_issue["description"]
        assert (
            "billing account 111: it covers 10 of on-demand usage an hour"
            in (buy_issue["description"])
        )
        assert "(discount 26.1 % assumed)" in buy_issue["description"]
        assert "break-even at 73.9 %" in buy_issue["description"]

        # night 2 (Oct 16): one more day, nothing changed: no new issue, no comment
        load(ws, tmp_path, dt.date(2026, 10, 15))
        assert ws.tickets_sync(environ=ENV, now=night(dt.date(2026, 10, 15))).rows == []
        assert len(jira.issues) == 2 and all(c == [] for c in jira.comments.values())

        # night 3 (Oct 21): data through Oct 20 shows the new requests and sp-new from Oct 17
        load(ws, tmp_path, dt.date(2026, 10, 20))
        third = ws.tickets_sync(environ=ENV, now=night(dt.date(2026, 10, 20)))
        assert sorted((r[0], r[2], r[6]) for r in third.rows) == sorted(
            [("close", "prod/shop/api/app", "actioned"), ("close", scope, "actioned")]
        )
        assert jira.status == {k8s_key: "Done", buy_key: "Done"}
        assert len(jira.issues) == 2
        assert jira.comments[k8s_key] == [
            "costline: recorded as actioned: requests-lowered: requests cpu 1, memory 2 GiB → "
            "cpu 0.25, memory 1.25 GiB since 2026-10-17 (recommended cpu 0.2, memory 1.15 "
            "GiB); realized 547.88/month so far (estimated 587.65)."
        ]
        assert jira.comments[buy_key][0].startswith(
            "costline: recorded as actioned: commitment-purchased: Savings Plan sp-new first "
            "charged on 2026-10-17; realized 1,643.62/month so far"
        )
        # k8s: the request cost a day is 10 pods × 24 h × (cpu × 0.09 + GiB × 0.01): 26.40
        # on the 14 days before Oct 17, 8.40 on Oct 18-20 (Oct 17, the action day, on neither
        # side). Commitment: each day after Oct 17 saves 240 − 180 − 6 = 54.
        k8s_realized = ((Decimal("26.40") - Decimal("8.40")) * MONTH).quantize(CENT)
        buy_realized = (Decimal(54) * MONTH).quantize(CENT)
        assert (k8s_realized, buy_realized) == (Decimal("547.88"), Decimal("1643.62"))
        recs = listed(ws)
        assert recs["k8s-requests"]["status"] == recs["commitment"]["status"] == "actioned"
        assert recs["k8s-requests"]["realized_savings"] == k8s_realized
        assert recs["commitment"]["realized_savings"] == buy_realized
        detail = {r["kind"]: r for r in ws.savings_report("2026-10", detail=True).records()}
        assert detail["k8s-requests"]["action_date"] == CHANGE
        assert detail["k8s-requests"]["from_state"] == "cpu 1, memory 2 GiB"
        assert detail["commitment"]["to_state"] == "sp-new"
        assert detail["commitment"]["team"] == "(no team)"
        # saved inside October: Oct 18-20, 3 × (26.40 − 8.40) and 3 × 54
        assert detail["k8s-requests"]["realized_in_month"] == Decimal("54.00")
        assert detail["commitment"]["realized_in_month"] == Decimal("162.00")
        teams = {r["team"]: r for r in ws.savings_report("2026-10").records()}
        assert teams["web"]["realized_monthly"] == k8s_realized
        assert teams["(no team)"]["realized_monthly"] == buy_realized
        assert teams["TOTAL"]["realized_in_month"] == Decimal("216.00")

        # night 4 (Oct 22): Oct 21 billed with 12.00 of sp-new unused: measured again, the
        # after side is (3 × 186 + 192) / 4 = 187.50 a day. Both are recommended again, as new
        # lives: the container's 14-day average requests (9 days at 1 vCPU / 2 GiB, 5 at
        # 0.25 / 1.25) are still above the recommendation: a new ticket. The uncovered usage
        # of Oct 1-16 (384 of the 504 hours since Oct 1) asks for another commitment saving
        # (3840 − 504 × 7.392) / 504 × 730 = 165.744 a month, under the 200 threshold: open.
        load(ws, tmp_path, dt.date(2026, 10, 21), unused={dt.date(2026, 10, 21): "12.00"})
        fourth = ws.tickets_sync(environ=ENV, now=night(dt.date(2026, 10, 21)))
        assert [(r[0], r[2], r[6]) for r in fourth.rows] == [
            ("open", "prod/shop/api/app", "ticketed")
        ]
        again = listed(ws)
        assert (again["commitment"]["status"], again["commitment"]["monthly_savings"]) == (
            "open",
            Decimal("165.74"),
        )
        realized = {r["kind"]: r for r in ws.savings_report("2026-10", detail=True).records()}
        assert realized["commitment"]["realized_monthly"] == (
            (Decimal(240) - Decimal("187.50")) * MONTH
        ).quantize(CENT)
        assert realized["commitment"]["days_measured"] == 4
        assert realized["k8s-requests"]["realized_monthly"] == k8s_realized  # 8.40 on Oct 21 too
        # night 5: the same data; the change of Oct 17 is not taken for the new lives' adoption
        assert ws.tickets_sync(environ=ENV, now=night(dt.date(2026, 10, 22))).rows == []
        assert {k: r["status"] for k, r in listed(ws).items()} == {
            "k8s-requests": "ticketed",
            "commitment": "open",
        }
        assert len(ws.savings_report("2026-10", detail=True).rows) == 2  # one adoption each


def test_the_webhook_event_says_what_to_do(tmp_path: Path) -> None:
    """Without an allocation the container has no team; the webhook's JSON carries the same
    sentence as the Jira description, and the details a tracker needs."""
    with HookServer() as hook:
        ws = workspace_with(
            tmp_path / "ws",
            f"""alerts:
  channels:
    - {{id: tracker, type: webhook, url: "{hook.url}/hooks/tickets"}}
tickets:
  channel: tracker
""",
        )
        nodes = tmp_path / "nodes.csv"
        nodes.write_text(
            "node_resource_id,cluster,node,cpu_cores,memory_gib\ni-node1,prod,n1,16,112\n"
        )
        ws.load_kubernetes("nodes", nodes)
        load(ws, tmp_path, dt.date(2026, 10, 14))
        ws.tickets_sync(now=night(dt.date(2026, 10, 14)))
        sent = {e["recommendation"]["kind"]: e for e in (r.json() for r in hook.requests)}
        k8s, buy = sent["k8s-requests"], sent["commitment"]
        assert k8s["event"] == buy["event"] == "opened"
        assert k8s["recommendation"]["team"] is None
        assert k8s["what_to_do"].startswith(
            "Set the requests of container app of workload api (namespace shop, cluster prod)"
        )
        assert k8s["recommendation"]["details"]["cpu_price_per_core_hour"] == "0.090000"
        assert k8s["recommendation"]["details"]["memory_price_per_gib_hour"] == "0.010000"
        assert buy["what_to_do"].startswith("Buy a 1y no-upfront commitment")
        assert buy["recommendation"]["details"]["scope"] == [
            ["provider", "aws"],
            ["billing_account", "111"],
        ]
        assert buy["recommendation"]["details"]["discount"] == "0.2608"
        assert buy["recommendation"]["monthly_savings"] == "1903.84"


def test_no_k8s_samples_and_no_eligible_spend_produce_nothing(tmp_path: Path) -> None:
    """A workspace whose bill has no hourly compute and no Kubernetes samples: the sync
    records only what rightsizing and waste find (nothing here), without an error."""
    ws = Workspace.init(tmp_path / "ws")
    rows = [
        daily_resource_row(d, "bucket-1", "3.00", "USE1-TimedStorage-ByteHrs") for d in days(FIRST)
    ]
    assert not ws.ingest([write_focus_csv(tmp_path / "b.csv", rows, RESOURCE_COLUMNS)]).failed
    assert ws.tickets_sync(now=night(FIRST)).rows == []
    assert ws.tickets().rows == []
    with ws.warehouse() as wh:  # k8s tables present but empty: still nothing
        from costline.allocation.k8s_inputs import ensure_k8s_tables

        ensure_k8s_tables(wh.con)
    assert ws.tickets_sync(now=night(FIRST)).rows == []
    assert json.dumps(ws.tickets().rows) == "[]"


def test_the_nightly_commitment_option_comes_from_the_config(tmp_path: Path) -> None:
    """`tickets.commitment` sets what the nightly sizes: a 3-year all-upfront standard RI has
    d = 0.7208 (the rate table), so c* = 10 × (1 − 0.7208) = 2.792 an hour and the saving
    10 − 2.792 = 7.208 an hour, × 730 = 5261.84 a month; `enabled: false` recommends none."""
    ws = workspace_with(
        tmp_path / "ws",
        "tickets:\n  commitment: {term: 3y, payment: all-upfront, offering: standard}\n",
    )
    load(ws, tmp_path, dt.date(2026, 10, 14))
    ws.tickets_sync(now=night(dt.date(2026, 10, 14)))
    buy = listed(ws)["commitment"]
    assert buy["monthly_savings"] == Decimal("5261.84")
    details = ws.recommendation_store().get(buy["id"]).details
    assert (details["term"], details["payment"], details["offering"]) == (
        "3y",
        "all-upfront",
        "standard",
    )
    assert Decimal(str(details["discount"])) == Decimal("0.7208")
    assert details["lookback_days"] == 30

    off = workspace_with(tmp_path / "off", "tickets:\n  commitment: {enabled: false}\n")
    load(off, tmp_path, dt.date(2026, 10, 14))
    off.tickets_sync(now=night(dt.date(2026, 10, 14)))
    assert "commitment" not in listed(off)


def test_a_bad_commitment_option_names_the_key(tmp_path: Path) -> None:
    from costline.core.errors import ConfigError

    ws = Workspace.init(tmp_path / "ws")
    cfg = ws.root / "costline.yaml"
    cfg.write_text(cfg.read_text() + "\ntickets:\n  commitment: {term: 2y}\n")
    with pytest.raises(ConfigError) as err:
        Workspace.open(ws.root)
    assert "tickets.commitment.term" in str(err.value) + str(err.value.hint or "")

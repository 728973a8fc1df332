"""Allocation on a real workspace: each method against hand-computed amounts.

Every expected value below is worked out by hand in the comment next to it.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from costline.allocation import AllocationError
from costline.workspace import Workspace
from tests.allocation_kit import by_team, charge, parts, setup, team_tag_rules, write_rules

pytestmark = pytest.mark.xdist_group("allocation")
SEP = "2024-09"


# -- tags and virtual tags ------------------------------------------------------------------
def test_tag_keys_fold_and_values_alias(workspace: Workspace) -> None:
    rows = [
        charge("10", tags={"Team": "Web"}),  # key case + value case → web
        charge("20", tags={"team ": "svc-api"}),  # trailing space; value alias → api
        charge("30", tags={"TEAM": "data"}),
        charge("40", tags={"owner": "platform"}),  # key alias owner → team
        charge("5", tags={"team": "ghost"}),  # not in owners.yaml → unallocated
        charge("7"),  # untagged → unallocated
    ]
    rules = team_tag_rules(
        tags={"keys": [{"key": "team", "aliases": ["owner"], "values": {"svc-api": "api"}}]}
    )
    setup(workspace, rows, rules)
    report = workspace.allocate(SEP)
    assert by_team(workspace) == {
        "web": Decimal(10),
        "api": Decimal(20),
        "data": Decimal(30),
        "platform": Decimal(40),
        "unallocated": Decimal(12),  # 5 (ghost) + 7 (untagged)
    }
    assert report.unknown_teams[0]["value"] == "ghost"
    coverage = {r["rule"]: r["cost"] for r in report.coverage}
    # team-tag allocated 10+20+30+40 of 112; ghost is unknown-team; untagged → default
    assert coverage == {
        "team-tag": Decimal(100),
        "unknown-team": Decimal(5),
        "default:team": Decimal(7),
    }


def test_inherited_tags_fill_gaps_but_row_tags_win(workspace: Workspace) -> None:
    rows = [
        charge("10", SubAccountId="acct-a"),  # inherits team=web from acct-a
        charge("20", SubAccountId="acct-a", tags={"team": "api"}),  # own tag wins → api
        charge("30", SubAccountId="acct-b"),  # no inheritance for acct-b → unallocated
    ]
    rules = team_tag_rules(
        tags={"inherit": [{"column": "SubAccountId", "values": {"acct-a": {"team": "web"}}}]}
    )
    setup(workspace, rows, rules)
    workspace.allocate(SEP)
    assert by_team(workspace) == {
        "web": Decimal(10),
        "api": Decimal(20),
        "unallocated": Decimal(30),
    }


def test_virtual_tag_rules_first_match_wins_with_every_operator(workspace: Workspace) -> None:
    rows = [
        charge("1", ServiceName="Amazon S3", tags={"team": "web"}),  # rule s3 (before tag)
        charge("2", ServiceName="Amazon EC2", tags={"team": "web"}),  # team tag
        charge("4", ServiceName="Amazon EC2", ResourceId="i-data-1"),  # prefix
        charge("8", ServiceName="Amazon RDS", ResourceId="db-7"),  # regex
        charge("16", ServiceName="Amazon EC2", RegionId="eu-west-1"),  # in + not + all
        charge("32", ServiceName="Amazon EC2", RegionId="ap-south-1"),  # any: env missing
        charge("64", ServiceName="Amazon EC2", RegionId="us-east-1", tags={"env": "prod"}),
    ]
    rules = {
        "virtual_tags": [
            {
                "key": "team",
                "rules": [
                    {
                        "id": "s3",
                        "when": {"column": "ServiceName", "equals": "Amazon S3"},
                        "value": "data",
                    },
                    {
                        "id": "tag",
                        "when": {"tag": "team", "present": True},
                        "value_from": {"tag": "team"},
                    },
                    {
                        "id": "prefix",
                        "when": {"column": "ResourceId", "prefix": "i-data-"},
                        "value": "data",
                    },
                    {
                        "id": "regex",
                        "when": {"column": "ResourceId", "regex": "^db-[0-9]+$"},
                        "value": "platform",
                    },
                    {
                        "id": "eu",
                        "when": {
                            "all": [
                                {"column": "RegionId", "in": ["eu-west-1", "eu-central-1"]},
                                {"not": {"column": "ServiceName", "equals": "Amazon S3"}},
                            ]
                        },
                        "value": "api",
                    },
                    {
                        "id": "noenv",
                        "when": {
                            "any": [
                                {"tag": "env", "missing": True},
                                {"column": "ServiceName", "equals": "nothing"},
                            ]
                        },
                        "value": "web",
                    },
                ],
            }
        ]
    }
    setup(workspace, rows, rules)
    workspace.allocate(SEP)
    # data: 1 + 4; web: 2 + 32; platform: 8; api: 16; the last row (env=prod) matches nothing
    assert by_team(workspace) == {
        "data": Decimal(5),
        "web": Decimal(34),
        "platform": Decimal(8),
        "api": Decimal(16),
        "unallocated": Decimal(64),
    }
    rule_of = dict(workspace.query("SELECT EffectiveCost, x_RuleId FROM allocated_cost").rows)
    assert rule_of[Decimal(1)] == "s3" and rule_of[Decimal(4)] == "prefix"
    assert rule_of[Decimal(64)] == "default:team"


def test_tags_the_rules_read_but_no_row_carries_are_reported(workspace: Workspace) -> None:
    rows = [charge("3", tags={"team": "web"})]
    rules = team_tag_rules()
    rules["virtual_tags"][0]["rules"].append(
        {"id": "by-app", "when": {"tag": "aplication", "equals": "x"}, "value": "api"}
    )
    setup(workspace, rows, rules)
    report = workspace.allocate(SEP)
    assert report.missing_tags == ["aplication"]  # the typo; `team` is present


def test_second_virtual_tag_reads_the_first(workspace: Workspace) -> None:
    rows = [charge("3", tags={"app": "checkout"}), charge("5", tags={"app": "search"})]
    rules = {
        "virtual_tags": [
            {
                "key": "product",
                "rules": [
                    {
                        "id": "p-checkout",
                        "when": {"tag": "app", "equals": "checkout"},
                        "value": "shop",
                    },
                ],
                "default": "other",
            },
            {
                "key": "team",
                "rules": [
                    {
                        "id": "shop-web",
                        "when": {"vtag": "product", "equals": "shop"},
                        "value": "web",
                    },
                    {
                        "id": "other-data",
                        "when": {"vtag": "product", "equals": "other"},
                        "value": "data",
                    },
                ],
            },
        ]
    }
    setup(workspace, rows, rules)
    workspace.allocate(SEP)
    assert by_team(workspace) == {"web": Decimal(3), "data": Decimal(5)}
    vt = workspace.query(
        "SELECT x_VirtualTags['product'] FROM allocated_cost WHERE EffectiveCost = 5"
    ).rows
    assert vt == [("other",)]


# -- pools ----------------------------------------------------------------------------------
def _direct() -> list[dict[str, object]]:
    # Direct spend: web 10, api 30, data 60 (AWS); web 100 (Azure).
    return [
        charge("10", tags={"team": "web"}),
        charge("30", tags={"team": "api"}),
        charge("60", tags={"team": "data"}),
        charge("100", tags={"team": "web"}, provider="Microsoft"),
    ]


def test_proportional_pool_within_provider(workspace: Workspace) -> None:
    rows = [
        *_direct(),
        charge("20", ServiceName="AWS Support"),
        charge("8", ServiceName="AWS Support", provider="Microsoft"),
    ]
    pool = {
        "id": "support",
        "select": {"column": "ServiceName", "equals": "AWS Support"},
        "method": "proportional",
    }
    setup(workspace, rows, team_tag_rules(pools=[pool]))
    workspace.allocate(SEP)
    # AWS support 20 by AWS direct 10:30:60 → web 2, api 6, data 12;
    # Azure support 8 all to web (only team with Azure spend).
    assert by_team(workspace) == {
        "web": Decimal(10 + 2 + 100 + 8),
        "api": Decimal(30 + 6),
        "data": Decimal(60 + 12),
    }


def test_even_fixed_and_exclusions(workspace: Workspace) -> None:
    rows = [
        *_direct(),
        charge("9", ServiceName="Shared A"),
        charge("50", ServiceName="Shared B"),
    ]
    pools = [
        {
            "id": "a",
            "select": {"column": "ServiceName", "equals": "Shared A"},
            "method": "even",
            "exclude": ["data"],
        },
        {
            "id": "b",
            "select": {"column": "ServiceName", "equals": "Shared B"},
            "method": "fixed",
            "shares": {"web": 70, "platform": 30},
        },
    ]
    setup(workspace, rows, team_tag_rules(pools=pools))
    workspace.allocate(SEP)
    # a: 9 even over AWS teams with direct cost minus data → web 4.5, api 4.5
    # b: 50 → web 35, platform 15
    assert by_team(workspace) == {
        "web": Decimal("10") + Decimal("4.5") + Decimal("35") + Decimal("100"),
        "api": Decimal("30") + Decimal("4.5"),
        "data": Decimal("60"),
        "platform": Decimal("15"),
    }


def test_waterfall_pool_into_pool(workspace: Workspace) -> None:
    rows = [*_direct(), charge("40", ServiceName="Network"), charge("10", ServiceName="Support")]
    pools = [
        # network 40: half to support pool, half to platform
        {
            "id": "network",
            "select": {"column": "ServiceName", "equals": "Network"},
            "method": "fixed",
            "shares": {"pool:support": 50, "platform": 50},
        },
        # support (10 own + 20 from network) by direct cost of web/api only: 10:30
        {
            "id": "support",
            "select": {"column": "ServiceName", "equals": "Support"},
            "method": "proportional",
            "to": ["web", "api"],
        },
    ]
    setup(workspace, rows, team_tag_rules(pools=pools))
    workspace.allocate(SEP)
    # support 30 → web 7.5, api 22.5; network half → platform 20
    assert by_team(workspace) == {
        "web": Decimal("10") + Decimal("7.5") + Decimal("100"),
        "api": Decimal("30") + Decimal("22.5"),
        "data": Decimal("60"),
        "platform": Decimal("20"),
    }
    path = workspace.query(
        "SELECT DISTINCT x_AllocationPath FROM allocated_cost WHERE x_RuleId = 'pool:network' "
        "ORDER BY 1"
    ).rows
    assert path == [
        ("pool:network>platform",),
        ("pool:network>pool:support>api",),
        ("pool:network>pool:support>web",),
    ]


def test_metric_pool_and_missing_driver_goes_to_unallocated_pool(workspace: Workspace) -> None:
    rows = [*_direct(), charge("12", ServiceName="Gateway"), charge("5", ServiceName="Search")]
    pools = [
        {
            "id": "gateway",
            "select": {"column": "ServiceName", "equals": "Gateway"},
            "method": "metric",
            "driver": {"metric": "requests"},
        },
        {
            "id": "search",
            "select": {"column": "ServiceName", "equals": "Search"},
            "method": "metric",
            "driver": {"metric": "queries"},
        },
    ]
    setup(workspace, rows, team_tag_rules(pools=pools))
    metrics = workspace.root / "requests.csv"
    metrics.write_text(
        "date,team,value\n2024-09-01,web,100\n2024-09-15,web,100\n2024-09-02,api,400\n"
        "2024-10-01,api,999999\n"  # another month: ignored for September
    )
    assert workspace.load_metrics(metrics, metric="requests") == 4
    report = workspace.allocate(SEP)
    # gateway 12 by requests 200:400 → web 4, api 8; search has no data → unallocated:search
    assert by_team(workspace) == {
        "web": Decimal(10 + 4 + 100),
        "api": Decimal(30 + 8),
        "data": Decimal(60),
        "unallocated:search": Decimal(5),
    }
    assert report.unallocated_pools == [
        {"owner": "unallocated:search", "charges": 1, "cost": Decimal(5)}
    ]


def test_daily_granularity_uses_each_days_driver(workspace: Workspace) -> None:
    rows = [
        charge("10", tags={"team": "web"}, day=1),
        charge("10", tags={"team": "api"}, day=2),
        charge("6", ServiceName="Shared", day=1),
        charge("4", ServiceName="Shared", day=2),
    ]
    pool = {
        "id": "s",
        "select": {"column": "ServiceName", "equals": "Shared"},
        "method": "proportional",
        "granularity": "daily",
    }
    setup(workspace, rows, team_tag_rules(pools=[pool]))
    workspace.allocate(SEP)
    # day 1 shared 6 → web (only web spent on day 1); day 2 shared 4 → api
    assert by_team(workspace) == {"web": Decimal(16), "api": Decimal(14)}


def test_thirds_conserve_exactly_with_cumulative_rounding(workspace: Workspace) -> None:
    rows = [*_direct()[:3], charge("100", ServiceName="Shared")]
    pool = {"id": "s", "select": {"column": "ServiceName", "equals": "Shared"}, "method": "even"}
    setup(workspace, rows, team_tag_rules(pools=[pool]))
    workspace.allocate(SEP)
    split = parts(workspace, charge_id=_charge_id(workspace, "100"))
    amounts = [a for _, a in split]
    # 100 / 3 at 10 decimals: 33.3333333333, 33.3333333333 (telescoped), 33.3333333334
    assert sum(amounts) == Decimal(100)
    assert sorted(amounts) == [
        Decimal("33.3333333333"),
        Decimal("33.3333333333"),
        Decimal("33.3333333334"),
    ]


def _charge_id(ws: Workspace, cost: str) -> int:
    rows = ws.query(
        "SELECT x_ChargeId FROM cost WHERE EffectiveCost = CAST(? AS DECIMAL(38,10))",
        [cost],
    ).rows
    assert len(rows) == 1
    return int(rows[0][0])


# -- runs, determinism, explain, what-if ------------------------------------------------------
def test_rerun_replaces_and_is_deterministic(workspace: Workspace) -> None:
    rows = [*_direct(), charge("20", ServiceName="AWS Support")]
    pool = {
        "id": "support",
        "select": {"column": "ServiceName", "equals": "AWS Support"},
        "method": "proportional",
    }
    setup(workspace, rows, team_tag_rules(pools=[pool]))
    cols = "x_ChargeId, x_Team, EffectiveCost, BilledCost, x_AllocationPath, AllocatedMethodDetails"
    first = workspace.allocate(SEP)
    a = workspace.query(f"SELECT {cols} FROM allocated_cost ORDER BY ALL").rows
    second = workspace.allocate(SEP)
    b = workspace.query(f"SELECT {cols} FROM allocated_cost ORDER BY ALL").rows
    assert a == b
    assert first.run_id != second.run_id and first.rules_version == second.rules_version
    runs = workspace.query("SELECT DISTINCT x_AllocationRunId FROM allocated_cost").rows
    assert runs == [(second.run_id,)]
    assert len(workspace.allocation_runs().rows) == 2


def test_explain_charge_and_cost_center(workspace: Workspace) -> None:
    rows = [*_direct(), charge("20", ServiceName="AWS Support")]
    pool = {
        "id": "support",
        "select": {"column": "ServiceName", "equals": "AWS Support"},
        "method": "proportional",
    }
    setup(workspace, rows, team_tag_rules(pools=[pool]))
    workspace.allocate(SEP)
    cid = _charge_id(workspace, "20")
    got = workspace.explain_charge(cid).records()
    assert [(r["team"], r["amount"]) for r in got] == [
        ("api", Decimal(6)),
        ("data", Decimal(12)),
        ("web", Decimal(2)),
    ]
    assert all(r["rule"] == "pool:support" for r in got)
    waterfall = workspace.explain_cost_center("CC-1", SEP).records()
    # CC-1 is web: direct 10 (AWS) + 100 (Azure), shared 2 from support
    assert {(r["component"], r["provider"], r["amount"]) for r in waterfall} == {
        ("direct", "aws", Decimal(10)),
        ("direct", "azure", Decimal(100)),
        ("shared", "aws", Decimal(2)),
    }


def test_what_if_diff_publishes_nothing(workspace: Workspace) -> None:
    rows = [*_direct(), charge("20", ServiceName="AWS Support")]
    pool = {
        "id": "support",
        "select": {"column": "ServiceName", "equals": "AWS Support"},
        "method": "proportional",
    }
    setup(workspace, rows, team_tag_rules(pools=[pool]))
    workspace.allocate(SEP)
    before = workspace.query("SELECT * FROM allocated_cost ORDER BY ALL").rows
    draft = workspace.root / "draft"
    draft.mkdir()
    (draft / "r.yaml").write_text(
        (workspace.rules_path / "allocation.yaml").read_text().replace("proportional", "even")
    )
    diff = {r["cost_center"]: r for r in workspace.allocation_diff(SEP, draft).records()}
    # even: 20 over api, data, web (in that order) with running shares 1/3, 2/3, 1:
    # api round(20/3) = 6.6666666667; data round(40/3) - 6.6666666667 = 6.6666666666;
    # web 20 - 13.3333333333 = 6.6666666667. Published (proportional): api 6.
    assert diff["CC-2"]["published"] == Decimal(36)
    assert diff["CC-2"]["draft"] == Decimal(30) + Decimal("6.6666666667")
    assert diff["CC-3"]["draft"] == Decimal(60) + Decimal("6.6666666666")
    assert sum(r["change"] for r in diff.values()) == 0
    assert workspace.query("SELECT * FROM allocated_cost ORDER BY ALL").rows == before


def test_chargeback_and_showback(workspace: Workspace) -> None:
    rows = [*_direct(), charge("20", ServiceName="AWS Support")]
    pool = {
        "id": "support",
        "select": {"column": "ServiceName", "equals": "AWS Support"},
        "method": "proportional",
    }
    setup(workspace, rows, team_tag_rules(pools=[pool]))
    workspace.allocate(SEP)
    lines = workspace.chargeback(SEP).records()
    web = [r for r in lines if r["team"] == "web"]
    assert {(r["currency"], r["direct"], r["shared"], r["total"]) for r in web} == {
        ("USD", Decimal(110), Decimal(2), Decimal(112))
    }
    assert sum(r["total"] for r in lines) == Decimal(220)  # the whole bill
    trend = workspace.showback("web", months=3).records()
    assert [(r["month"], r["total"]) for r in trend] == [("2024-09", Decimal(112))]


# -- bad rules and bad data: clear errors, nothing written -----------------------------------
@pytest.mark.parametrize(
    ("rules", "message", "line"),
    [
        (
            "virtual_tags:\n  - key: team\n    rules:\n      - id: r1\n"
            "        when: {column: ServiceNme, equals: x}\n        value: web\n",
            "unknown column 'ServiceNme'",
            4,
        ),
        (
            "virtual_tags:\n  - key: team\n    rules:\n      - id: r1\n        value: wbe\n",
            "unknown team 'wbe'",
            4,
        ),
        (
            "pools:\n  - id: a\n    select: {column: ServiceName, equals: x}\n"
            "    method: fixed\n    shares: {web: 60, api: 30}\n",
            "fixed shares must sum to 100, they sum to 90",
            2,
        ),
        (
            "pools:\n  - id: a\n    select: {column: ServiceName, equals: x}\n"
            "    method: fixed\n    shares: {'pool:b': 100}\n"
            "  - id: b\n    select: {column: ServiceName, equals: y}\n"
            "    method: fixed\n    shares: {'pool:a': 100}\n",
            "cycle",
            2,
        ),
        (
            "virtual_tags:\n  - key: team\n    rules:\n      - id: r1\n"
            "        when: {column: ServiceName, equal: x}\n        value: web\n",
            "Extra inputs are not permitted",
            5,
        ),
        ("virtual_tags: [\n", "not valid YAML", 2),
    ],
)
def test_invalid_rules_fail_before_any_data_changes(
    workspace: Workspace, rules: str, message: str, line: int
) -> None:
    from costline.core.errors import ConfigError

    setup(workspace, _direct(), team_tag_rules())
    workspace.allocate(SEP)
    before = workspace.query("SELECT * FROM allocated_cost ORDER BY ALL").rows
    path = write_rules(workspace, rules)
    with pytest.raises(ConfigError) as err:
        workspace.allocate(SEP)
    text = str(err.value)
    assert message in text
    assert f"{path}:{line}" in text, text
    assert workspace.query("SELECT * FROM allocated_cost ORDER BY ALL").rows == before


def test_overlapping_pools_are_rejected_at_run_time(workspace: Workspace) -> None:
    from costline.core.errors import ConfigError

    rows = [*_direct(), charge("20", ServiceName="AWS Support")]
    pools = [
        {"id": "a", "select": {"column": "ServiceName", "prefix": "AWS"}, "method": "even"},
        {"id": "b", "select": {"column": "ServiceName", "equals": "AWS Support"}, "method": "even"},
    ]
    setup(workspace, rows, team_tag_rules(pools=pools))
    with pytest.raises(ConfigError, match="pools 'a' and 'b' both select the same rows"):
        workspace.allocate(SEP)
    # nothing was allocated: rows show as not yet allocated (no run, no team)
    assert workspace.query(
        "SELECT count(*), count(x_AllocationRunId), count(x_Team) FROM allocated_cost"
    ).rows == [(5, 0, 0)]


def test_unknown_cost_center_in_owners_names_line(workspace: Workspace) -> None:
    from costline.core.errors import ConfigError

    setup(workspace, _direct(), team_tag_rules())
    workspace.owners_path.write_text(
        "cost_centers:\n  - id: CC-1\nbusiness_units:\n  - name: R\n    departments:\n"
        "      - name: D\n        teams:\n          - id: web\n            cost_center: CC-9\n"
    )
    with pytest.raises(ConfigError, match="unknown cost center 'CC-9'") as err:
        workspace.allocate(SEP)
    assert f"{workspace.owners_path}:9" in str(err.value)


def test_period_without_cost_says_which_exist(workspace: Workspace) -> None:
    setup(workspace, _direct(), team_tag_rules())
    with pytest.raises(AllocationError, match="no cost rows") as err:
        workspace.allocate("2025-01")
    assert "2024-09" in str(err.value)


def test_bad_metrics_file_names_row_and_column(workspace: Workspace, tmp_path: Path) -> None:
    from costline.core.errors import BadInputError

    setup(workspace, _direct(), team_tag_rules())
    bad = tmp_path / "m.csv"
    with bad.open("w", newline="") as fh:
        csv.writer(fh).writerows(
            [["date", "team", "value"], ["2024-09-01", "web", "1"], ["2024-09-02", "api", "x1"]]
        )
    with pytest.raises(BadInputError) as err:
        workspace.load_metrics(bad, metric="m")
    assert "row 2" in str(err.value) and "'value'" in str(err.value)
    missing = tmp_path / "n.csv"
    missing.write_text("date,value\n2024-09-01,1\n")
    with pytest.raises(BadInputError, match="lacks column"):
        workspace.load_metrics(missing, metric="m")


def test_pools_without_virtual_tags_leave_the_rest_unallocated(workspace: Workspace) -> None:
    rows = [charge("10", tags={"team": "web"}), charge("6", ServiceName="Shared")]
    pool = {
        "id": "s",
        "select": {"column": "ServiceName", "equals": "Shared"},
        "method": "fixed",
        "shares": {"web": 50, "api": 50},
    }
    setup(workspace, rows, {"pools": [pool]})
    workspace.allocate(SEP)
    # no owner rules: the tagged row stays unallocated; the pool still splits 3 / 3
    assert by_team(workspace) == {"unallocated": Decimal(10), "web": Decimal(3), "api": Decimal(3)}

"""The demo's generated rule set on hand-made charges: each owner rule, in order.

The demo data exercises most rules but not every seed has, say, an untagged S3 bucket in a
department account; these rows do, and every expected owner is stated next to its row.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from costline.demo import org
from costline.demo import rules as demo_rules
from costline.workspace import Workspace
from tests.allocation_kit import by_team, charge, setup, write_rules

pytestmark = pytest.mark.xdist_group("allocation")

COMMERCE = org.aws_account("acme-commerce-prod").id  # shared by the Commerce teams
PAYMENTS_SUB = "/subscriptions/" + org.azure_sub("payments-prod").id


def test_demo_owner_rules_in_order(workspace: Workspace) -> None:
    rows = [
        # 4. naming conventions, for untagged resources in a department account
        charge("1", ResourceId="acme-checkout-api-3", SubAccountId=COMMERCE),
        charge("2", ResourceId=f"arn:aws:rds:us-east-1:{COMMERCE}:db:payments-web-db"),
        charge("4", ResourceId=f"arn:aws:lambda:us-east-1:{COMMERCE}:function:search-jobs-handler"),
        charge("512", ResourceId="acme-data-engineering-etl-2", SubAccountId=COMMERCE),
        charge("8", ResourceId="i-0abc123", SubAccountId=COMMERCE),  # nothing says whose
        # 1. the team tag: the teem typo, key and value case
        charge("16", tags={"teem": "catalog"}),
        charge("32", tags={"Team": "Checkout"}),
        # 2. the cost-center tag (AWS spelling cost_center): CC-1103 is catalog's
        charge("64", tags={"cost_center": "CC-1103", "env": "prod"}),
        # the team tag wins even when it names no team: unknown-team, not catalog via CC
        charge("128", tags={"team": "tbd", "cost-center": "CC-1103"}),
        # 3. the subscription's team
        charge("256", SubAccountId=PAYMENTS_SUB),
        # a tag beats the account: a payments subscription row tagged search is search's
        charge("1024", SubAccountId=PAYMENTS_SUB, tags={"team": "search"}),
    ]
    files = demo_rules.rule_files()
    setup(workspace, rows, files["10-tags.yaml"], owners=demo_rules.owners_doc())
    (workspace.rules_path / "allocation.yaml").unlink()
    for name, text in files.items():
        write_rules(workspace, text, name)
    report = workspace.allocate("2024-09")
    assert by_team(workspace) == {
        "checkout": Decimal(1 + 32),
        "payments": Decimal(2 + 256),
        "search": Decimal(4 + 1024),
        "data-engineering": Decimal(512),
        "catalog": Decimal(16 + 64),
        "unallocated": Decimal(8 + 128),
    }
    rule_of = dict(workspace.query("SELECT EffectiveCost, x_RuleId FROM allocated_cost").rows)
    assert {int(k): v for k, v in rule_of.items()} == {
        1: "name-checkout",
        2: "name-payments",
        4: "name-search",
        512: "name-data-engineering",
        8: "default:team",
        16: "team-tag",
        32: "team-tag",
        64: "cost-center-tag",
        128: "unknown-team",
        256: "account-owner",
        1024: "team-tag",
    }
    assert [u["value"] for u in report.unknown_teams] == ["tbd"]


def test_demo_files_carry_the_marker() -> None:
    texts = [demo_rules.owners_yaml(), *demo_rules.rule_files().values()]
    assert all(demo_rules.is_demo_file(t) for t in texts)
    assert not demo_rules.is_demo_file("version: 1\n" + demo_rules.MARKER)

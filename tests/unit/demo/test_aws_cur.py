"""CUR 2.0 rendering: line item types and the billed/effective cost each carries.

Expected values are worked out by hand from AWS's CUR documentation: a Savings Plan covered
line bills the on-demand cost and is cancelled by its SavingsPlanNegation; its effective cost
is usage × SP rate. A no-upfront RI's DiscountedUsage bills 0 (the RIFee carries the charge)
and its effective cost is the recurring fee for the hours used.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from costline.demo import aws, aws_cur
from costline.demo.model import Plan, Who, make
from costline.demo.org import aws_account


def _node(commitment: str, key: str = "n") -> Plan:
    who = Who(aws_account("acme-eks-shared"), "k8s-platform", "prod", "eks")
    stream = make(
        "aws",
        key,
        who,
        "ec2",
        "i-1",
        24.0,
        Decimal("0.768"),
        "us-east-1",
        attrs={"instance_type": "m6i.4xlarge"},
        commitment=commitment,
    )
    return Plan(streams=[stream], commitments=aws.commitments())


def test_savings_plan_covered_usage_and_negation() -> None:
    r = aws_cur.Renderer(_node("sp"), seed=1)
    r.usage(r.plan.streams[0], date(2026, 7, 1), Decimal(24))
    covered, negation = r.lines
    assert covered.values["line_item_line_item_type"] == "SavingsPlanCoveredUsage"
    assert covered.billed == Decimal("18.432") and covered.effective == Decimal("13.27104")
    assert negation.values["line_item_line_item_type"] == "SavingsPlanNegation"
    assert negation.billed == Decimal("-18.432") and negation.effective == 0
    assert r.sp_used[date(2026, 7, 1)] == Decimal("13.27104")


def test_reserved_instance_discounted_usage() -> None:
    plan = _node("ri1")
    plan.streams[0].attrs["instance_type"] = "m6i.2xlarge"
    r = aws_cur.Renderer(plan, seed=1)
    r.usage(plan.streams[0], date(2026, 7, 1), Decimal(24))
    (line,) = r.lines
    assert line.values["line_item_line_item_type"] == "DiscountedUsage"
    assert line.billed == 0
    assert line.effective == Decimal(24) * Decimal("0.384") * Decimal("0.62")


def test_partial_upfront_ri_only_covers_from_its_start() -> None:
    plan = _node("ri2")
    stream = plan.streams[0]
    assert not aws.reservation_active(stream, date(2026, 7, 31))
    assert aws.reservation_active(stream, date(2026, 8, 1))
    terms = aws_cur.RI_TERMS["ri2"]
    assert terms["upfront_hourly"] == terms["recurring"]
    assert terms["upfront_value"] == (terms["upfront_hourly"] * 8760).quantize(Decimal("0.01"))


def test_whole_plan_rows_balance_commitments() -> None:
    plan = aws.plan_core(3, scale=0.2)
    lines = aws_cur.render(plan, 3)
    by_type: dict[str, Decimal] = {}
    for ln in lines:
        t = ln.values["line_item_line_item_type"]
        by_type[t] = by_type.get(t, Decimal(0)) + ln.billed
    # The negations cancel exactly the on-demand cost of the covered usage.
    assert by_type["SavingsPlanCoveredUsage"] + by_type["SavingsPlanNegation"] == 0
    fees = [
        ln for ln in lines if ln.values["line_item_line_item_type"] == "SavingsPlanRecurringFee"
    ]
    assert len(fees) == 92
    assert all(
        ln.values["savings_plan_used_commitment"]
        <= ln.values["savings_plan_total_commitment_to_date"]
        for ln in fees
    )


def test_business_support_tiers() -> None:
    assert aws_cur.support_fee(Decimal(500)) == Decimal("100.00")  # the minimum
    assert aws_cur.support_fee(Decimal(10_000)) == Decimal("1000.00")
    assert aws_cur.support_fee(Decimal(100_000)) == Decimal("6900.00")  # 1000 + 4900 + 1000


def test_tag_keys_are_written_the_cur2_way() -> None:
    assert aws_cur.tag_key("team") == "user_team"
    assert aws_cur.tag_key("cost-center") == "user_cost_center"
    assert aws_cur.tag_key("Team") == "user_Team"
    assert aws_cur.tag_key("aws:eks:cluster-name") == "aws_eks_cluster_name"


def test_sp_commitment_covers_the_busiest_day() -> None:
    assert aws_cur.sp_commitment([Decimal(24), Decimal(48)]) == Decimal("2.060")

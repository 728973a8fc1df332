"""September's actioned recommendations: two oversized EC2 instances rightsized on 2026-09-08,
the costliest idle one terminated on 2026-09-15, and idle telemetry the waste rule calls idle.

Expected values come from the rendered CUR lines and the price table, not from the truth the
module writes: which instances are the costliest (their daily cost on 2026-07-01), the type a
resource is billed as each day, and the before/after averages summed here from the lines.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from costline.demo import actions, prices, tagging, telemetry, truth
from costline.demo.generate import plan_all, render_all
from costline.demo.model import Anomaly, Job, Line, Plan, Stream, Who, make
from costline.demo.org import aws_account
from costline.demo.periods import ALL_DAYS
from costline.optimize.waste import IDLE_CPU_PERCENT, IDLE_NETWORK_BYTES_PER_DAY

ROWS, SEED = 400, 11
RIGHTSIZE, TERMINATE = date(2026, 9, 8), date(2026, 9, 15)
Demo = tuple[dict[str, Plan], dict[str, list[Line]], int]


@pytest.fixture(scope="module", params=[(ROWS, SEED), (2000, 7)], ids=["400-11", "2000-7"])
def demo(request: pytest.FixtureRequest) -> Demo:
    rows, seed = request.param
    plans = plan_all(rows, seed)
    lines = render_all(plans, seed)
    tagging.assign(lines, seed=seed, is_allocatable=truth.is_allocatable)
    return plans, lines, seed


def _usage(lines: list[Line], rid: str) -> list[Line]:
    return [ln for ln in lines if ln.values.get("line_item_resource_id") == rid]


def _by_kind(plans: dict[str, Plan], kind: str) -> list[Any]:
    return [a for a in plans["aws"].actions if a.kind == kind]


def test_two_rightsized_and_one_terminated(demo: Demo) -> None:
    plans, _, _ = demo
    assert [(a.kind, a.day) for a in plans["aws"].actions] == [
        ("rightsized", RIGHTSIZE),
        ("rightsized", RIGHTSIZE),
        ("terminated", TERMINATE),
    ]
    assert not plans["azure"].actions and not plans["gcp"].actions


def _candidates(plan: Plan, profile: str) -> list[Stream]:
    """AWS EC2 instances the spec allows: always on, on demand, no GPU, job, spike or node."""
    in_jobs = {k for j in plan.jobs for k in j.stream_keys}
    spiky = {a.stream_key for a in plan.anomalies}
    out = []
    for s in plan.streams:
        if s.product != "ec2" or s.telemetry != profile or "successor_of" in s.attrs:
            continue
        it = prices.EC2[s.attrs["instance_type"]]
        if s.commitment or s.weekdays_only or it.gpus or s.key in in_jobs | spiky:
            continue
        if s.attrs.get("role") == "eks-node" or s.spikes:
            continue  # (AWS day schedules are GPU jobs: excluded above)
        out.append(s)
    return out


def _half(name: str) -> str:
    fam, size = name.split(".")
    smaller = {"4xlarge": "2xlarge", "2xlarge": "xlarge", "xlarge": "large", "large": "medium"}
    return f"{fam}.{smaller.get(size, size)}"


def _has_half(s: Stream) -> bool:
    """Half the size is in the price table, priced in the instance's region."""
    half = _half(s.attrs["instance_type"])
    return half in prices.EC2 and s.region in prices.EC2[half].price


def test_the_costliest_eligible_instances_are_picked(demo: Demo) -> None:
    plans, lines, _ = demo
    plan, first = plans["aws"], ALL_DAYS[0]
    daily: dict[str, Decimal] = defaultdict(Decimal)  # list cost on the first day, per resource
    for ln in lines["aws"]:
        if ln.day == first and ln.values["line_item_line_item_type"] == "Usage":
            daily[ln.values["line_item_resource_id"]] += ln.billed
    sized = [s for s in _candidates(plan, "oversized") if _has_half(s)]
    ranked = sorted(sized, key=lambda s: (-daily[s.resource_id], s.key))
    assert [a.stream.key for a in _by_kind(plans, "rightsized")] == [s.key for s in ranked[:2]]
    idle = sorted(_candidates(plan, "idle"), key=lambda s: (-daily[s.resource_id], s.key))
    assert [a.stream.key for a in _by_kind(plans, "terminated")] == [idle[0].key]


def test_rightsized_resource_changes_type_on_the_day(demo: Demo) -> None:
    plans, lines, _ = demo
    for a in _by_kind(plans, "rightsized"):
        old = a.stream.attrs["instance_type"]
        new = _half(old)
        rows = _usage(lines["aws"], a.stream.resource_id)
        by_day = {ln.day: ln for ln in rows if ln.day is not None}
        assert len(by_day) == len(rows) == len(ALL_DAYS)  # one line a day, no gap, no overlap
        for day, ln in by_day.items():
            v = ln.values
            want = old if day < RIGHTSIZE else new
            assert v["product_instance_type"] == want, day
            assert v["line_item_usage_type"] == f"BoxUsage:{want}"
            assert Decimal(v["line_item_unblended_rate"]) == prices.EC2[want].price[a.stream.region]
            assert v["line_item_line_item_type"] == "Usage"
            assert v["line_item_usage_account_id"] == a.stream.account.id
            assert v["product_region_code"] == a.stream.region
        tags = {str(truth.written_tags("aws", ln)) for ln in rows}
        assert len(tags) == 1  # the same tags (and tag decision) all along
        assert prices.EC2[new].vcpu * 2 == prices.EC2[old].vcpu


def test_terminated_resource_has_no_lines_from_the_day(demo: Demo) -> None:
    plans, lines, _ = demo
    (a,) = _by_kind(plans, "terminated")
    days = sorted(ln.day for ln in _usage(lines["aws"], a.stream.resource_id) if ln.day)
    assert days[-1] == TERMINATE - timedelta(days=1)
    assert days == [d for d in ALL_DAYS if d < TERMINATE]


def test_truth_before_and_after_equal_the_lines(demo: Demo) -> None:
    plans, lines, _ = demo
    got = actions.truth(plans, lines)
    assert [(t["action"], t["date"]) for t in got] == [
        ("rightsized", "2026-09-08"),
        ("rightsized", "2026-09-08"),
        ("terminated", "2026-09-15"),
    ]
    for t in got:
        day = date.fromisoformat(t["date"])
        cost: dict[date, Decimal] = defaultdict(Decimal)
        for ln in _usage(lines["aws"], t["resource_id"]):
            assert ln.day is not None
            cost[ln.day] += ln.effective
        before = [cost[day - timedelta(days=i)] for i in range(1, 15)]
        after = [cost[d] for d in ALL_DAYS if d >= day]
        assert len(after) == (30 - day.day + 1) == t["days_after"]
        total_before, total_after = sum(before, Decimal(0)), sum(after, Decimal(0))
        assert Decimal(t["effective_cost_before"]) == total_before
        assert Decimal(t["effective_cost_after"]) == total_after
        per_before = (total_before / 14).quantize(Decimal("1e-10"))
        per_after = (total_after / len(after)).quantize(Decimal("1e-10"))
        assert Decimal(t["effective_cost_per_day_before"]) == per_before
        assert Decimal(t["effective_cost_per_day_after"]) == per_after
        stream = next(
            s for s in plans["aws"].streams if s.resource_id == t["resource_id"] and s.days
        )
        old = stream.attrs["instance_type"]
        assert t["from_type"] == old and t["account_id"] == stream.account.id
        assert t["team"] == stream.team and t["provider"] == "aws"
        # always on, on demand: 24 hours a day at the price table's rates
        assert per_before == 24 * prices.EC2[old].price[stream.region]
        if t["action"] == "rightsized":
            assert t["to_type"] == _half(old)
            assert per_after == 24 * prices.EC2[_half(old)].price[stream.region]
        else:
            assert t["to_type"] == "" and per_after == 0


def test_successor_telemetry_has_the_same_load_on_the_smaller_type(demo: Demo) -> None:
    plans, _, seed = demo
    rows = telemetry.utilization(plans, seed)
    for a in _by_kind(plans, "rightsized"):
        mine = [r for r in rows if r["resource_id"] == a.stream.resource_id]
        before = [r for r in mine if r["date"] < RIGHTSIZE]
        after = [r for r in mine if r["date"] >= RIGHTSIZE]
        assert {r["instance_type"] for r in after} == {_half(a.stream.attrs["instance_type"])}
        assert len(after) == 23 and len(before) == len(ALL_DAYS) - 23

        def mean(rs: list[dict[str, Any]], col: str) -> float:
            return sum(float(r[col]) for r in rs) / len(rs)

        # half the machine, the same absolute load: about twice the % (daily noise ±20 %)
        for col in ("cpu_avg_pct", "mem_avg_pct"):
            assert 1.6 < mean(after, col) / mean(before, col) < 2.4, col
        assert all(float(r["cpu_p95_pct"]) <= 99 and float(r["mem_p95_pct"]) <= 99 for r in after)
    (gone,) = _by_kind(plans, "terminated")
    assert max(r["date"] for r in rows if r["resource_id"] == gone.stream.resource_id) == (
        TERMINATE - timedelta(days=1)
    )


@pytest.mark.parametrize(("rows", "seed"), [(100, 1), (ROWS, SEED), (600, 42)])
def test_idle_instances_are_idle_by_the_waste_rule(rows: int, seed: int) -> None:
    plans = plan_all(rows, seed)
    idle = {s.resource_id for p in plans.values() for s in p.streams if s.telemetry == "idle"}
    util = [r for r in telemetry.utilization(plans, seed) if r["resource_id"] in idle]
    assert idle and {r["resource_id"] for r in util} == idle
    assert max(r["cpu_p95_pct"] for r in util) <= IDLE_CPU_PERCENT
    assert max(r["mem_p95_pct"] for r in util) < 12
    network: dict[tuple[str, str], float] = defaultdict(float)
    for s in telemetry.samples(util):
        if s["metric"] == "cpu_percent":
            assert s["value"] <= IDLE_CPU_PERCENT, s
        elif s["metric"] == "network_in_bytes":
            network[(s["resource_id"], s["timestamp"][:10])] += s["value"]
    assert network and max(network.values()) <= IDLE_NETWORK_BYTES_PER_DAY


def test_same_seed_same_actions() -> None:
    one = [(a.kind, a.stream.resource_id) for a in plan_all(ROWS, SEED)["aws"].actions]
    two = [(a.kind, a.stream.resource_id) for a in plan_all(ROWS, SEED)["aws"].actions]
    other = [(a.kind, a.stream.resource_id) for a in plan_all(ROWS, 12)["aws"].actions]
    assert one == two and one != other


def _ec2(key: str, it: str, **kw: Any) -> Stream:
    who = Who(aws_account("acme-sandbox"), "checkout", "prod", "x")
    rate = prices.EC2[it].price[kw.get("region", "us-east-1")]
    kw = {"telemetry": "oversized", **kw}
    region = kw.pop("region", "us-east-1")
    attrs = {"instance_type": it, **kw.pop("attrs", {})}
    return make("aws", key, who, "ec2", f"i-{key}", 24.0, rate, region, attrs=attrs, **kw)


def test_excluded_kinds_are_never_actioned() -> None:
    excluded = [
        _ec2("sp", "m6i.2xlarge", commitment="sp"),
        _ec2("ri", "m6i.2xlarge", commitment="ri1"),
        _ec2("dev", "m6i.2xlarge", weekdays_only=True),
        _ec2("node", "m6i.4xlarge", attrs={"role": "eks-node"}),
        _ec2("gpu", "g5.2xlarge"),
        _ec2("job", "m6i.2xlarge"),
        _ec2("spike", "m6i.2xlarge"),
        _ec2("no-half", "m6i.large"),  # m6i.medium is not in the price table
        _ec2("no-half-eu", "c6i.xlarge", region="eu-west-1"),
        _ec2("idle-gpu", "g5.xlarge", telemetry="idle"),
    ]
    plan = Plan(streams=excluded)
    start, end = datetime(2026, 7, 1), datetime(2026, 10, 1)
    plan.jobs.append(
        Job("j", "aws", "1", "t", "batch", "m6i.2xlarge", "", 0, start, end, "", ("job",))
    )
    plan.anomalies.append(Anomaly("aws", "spike", "spike", (ALL_DAYS[3],), 5.0, ""))
    assert actions.apply(plan, seed=1) == [] and plan.actions == []
    assert all(s.days is None for s in excluded)  # nothing cut short


def test_fewer_candidates_fewer_actions() -> None:
    small = _ec2("small", "m6i.xlarge")
    big = _ec2("big", "c6i.4xlarge")
    plan = Plan(streams=[small, _ec2("sp", "m6i.2xlarge", commitment="sp"), big])
    done = actions.apply(plan, seed=1)
    assert [(a.kind, a.stream.key) for a in done] == [
        ("rightsized", "big"),
        ("rightsized", "small"),
    ]
    assert [s.key for s in plan.streams] == [
        "small",
        "small:rightsized",
        "sp",
        "big",
        "big:rightsized",
    ]
    successor = plan.streams[1]
    assert successor.resource_id == small.resource_id and successor.rate == Decimal("0.096")
    assert min(successor.days or {}) == RIGHTSIZE and max(
        small.days or {}
    ) == RIGHTSIZE - timedelta(1)
    assert tagging.group_of(successor) == tagging.group_of(small)

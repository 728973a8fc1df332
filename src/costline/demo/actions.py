"""What Acme does about its optimization recommendations in September.

Recommendations are recorded as of 2026-09-01 (rightsizing from the telemetry of
2026-08-18..08-31, waste from the bill); then Acme acts on a few of them, so a later run
can see from the bill that they were actioned and what they saved:

* **rightsized** on :data:`RIGHTSIZE_DAY` (2026-09-08): the :data:`RIGHTSIZED` costliest
  AWS EC2 instances with an ``oversized`` profile and a half-size type in the demo price table
  (:func:`costline.demo.telemetry.smaller`, priced in the instance's region). The original
  stream runs until the day before; a successor stream with the same resource id, account,
  region, team, tags and tag decision but the smaller type (billed at its on-demand price)
  runs from that day on. Its telemetry carries the same absolute load on the smaller type.
* **terminated** on :data:`TERMINATE_DAY` (2026-09-15): the costliest AWS EC2 instance with
  an ``idle`` profile. It runs until the day before; no bill lines or telemetry after.

Only instances whose change leaves everything else of the demo as it was are candidates
(:func:`eligible`): always-on (no weekday-only or day schedule), no commitment (Savings Plan
or Reserved Instance coverage would move the commitment's utilization and fees), no injected
anomaly or spikes, no GPU machine or GPU job, no Kubernetes node (``k8s/nodes.csv`` and the
pods would change). Cost ranks by list cost over the three months (quantity × rate, the
simulated quantities), ties by stream key, so the same seed always picks the same ones. When
the plan has fewer candidates (a small ``--rows``), fewer actions are taken.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from costline.demo import aws, prices
from costline.demo.model import Action, Line, Plan, Stream, q, simulate
from costline.demo.periods import ALL_DAYS
from costline.demo.tagging import group_of
from costline.demo.telemetry import smaller
from costline.demo.truth import money

RIGHTSIZE_DAY = date(2026, 9, 8)
TERMINATE_DAY = date(2026, 9, 15)
RIGHTSIZED = 2  # how many oversized instances are rightsized
TERMINATED = 1  # how many idle instances are terminated
BEFORE_DAYS = 14  # the truth's "before" average: the full days just before the action
SUCCESSOR = "successor_of"  # attrs key of a successor stream: the original stream's key


def eligible(plan: Plan, stream: Stream) -> bool:
    """An AWS EC2 instance the demo can act on without changing anything else it promises."""
    if stream.provider != "aws" or stream.product != "ec2":
        return False
    in_jobs = {k for j in plan.jobs for k in j.stream_keys}
    spiky = {a.stream_key for a in plan.anomalies}
    return (
        not stream.commitment
        and stream.days is None
        and not stream.weekdays_only
        and not stream.spikes
        and stream.key not in in_jobs | spiky
        and stream.attrs.get("role") != "eks-node"
        and not prices.EC2[stream.attrs["instance_type"]].gpus
        and SUCCESSOR not in stream.attrs
    )


def _list_cost(stream: Stream, seed: int) -> Decimal:
    return sum((qty * stream.rate for _, qty in simulate(stream, seed=seed)), Decimal(0))


def _costliest(plan: Plan, seed: int, profile: str, n: int) -> list[Stream]:
    picks = [
        s
        for s in plan.streams
        if s.telemetry == profile and eligible(plan, s) and (profile != "oversized" or _to(s))
    ]
    picks.sort(key=lambda s: (-_list_cost(s, seed), s.key))
    return picks[:n]


def _to(stream: Stream) -> str:
    """The half-size type when the price table has it in the stream's region, else ''."""
    new = smaller(stream)
    return new if new and stream.region in prices.EC2[new].price else ""


def _until(stream: Stream, day: date) -> dict[date, float]:
    """The stream's schedule on the days before ``day``."""
    return {d: stream.active(d) for d in ALL_DAYS if d < day and stream.active(d) > 0}


def _rightsize(stream: Stream, day: date) -> Stream:
    """Cut ``stream`` off before ``day`` and return its successor on the smaller type."""
    new = _to(stream)
    after = {d: stream.active(d) for d in ALL_DAYS if d >= day and stream.active(d) > 0}
    successor = replace(
        stream,
        key=f"{stream.key}:rightsized",
        rate=aws.ec2_rate(new, stream.region),
        attrs={
            **stream.attrs,
            "instance_type": new,
            "group": group_of(stream),  # one resource: one tagging decision
            SUCCESSOR: stream.key,
        },
        days=after,
        spikes=dict(stream.spikes),
        extra_tags=dict(stream.extra_tags),
    )
    stream.days = _until(stream, day)
    return successor


def apply(plan: Plan, seed: int) -> list[Action]:
    """Act on the AWS plan's recommendations (see the module docstring): changes the streams
    and records the actions in ``plan.actions``."""
    actions: list[Action] = []
    for stream in _costliest(plan, seed, "oversized", RIGHTSIZED):
        successor = _rightsize(stream, RIGHTSIZE_DAY)
        plan.streams.insert(plan.streams.index(stream) + 1, successor)
        actions.append(Action("rightsized", RIGHTSIZE_DAY, stream, successor))
    for stream in _costliest(plan, seed, "idle", TERMINATED):
        stream.days = _until(stream, TERMINATE_DAY)
        actions.append(Action("terminated", TERMINATE_DAY, stream, None))
    plan.actions += actions
    return actions


def truth(plans: dict[str, Plan], lines: dict[str, list[Line]]) -> list[dict[str, Any]]:
    """``ground_truth.json`` ``actions``: who changed what when, and the resource's effective
    cost per day before (the :data:`BEFORE_DAYS` days before the action) and after (the action
    day through the last demo day), summed from the generated lines of its resource id."""
    return [_truth(a, lines[name]) for name, plan in plans.items() for a in plan.actions]


def _truth(a: Action, lines: list[Line]) -> dict[str, Any]:
    daily: dict[date, Decimal] = {}
    for ln in lines:
        if ln.stream is not None and ln.day is not None:
            if ln.stream.resource_id == a.stream.resource_id:
                daily[ln.day] = daily.get(ln.day, Decimal(0)) + ln.effective
    first = a.day - timedelta(days=BEFORE_DAYS)
    before = sum((v for d, v in daily.items() if first <= d < a.day), Decimal(0))
    after = sum((v for d, v in daily.items() if d >= a.day), Decimal(0))
    days_after = (ALL_DAYS[-1] - a.day).days + 1
    return {
        "provider": a.stream.provider,
        "account_id": a.stream.account.id,
        "resource_id": a.stream.resource_id,
        "team": a.stream.team,
        "action": a.kind,
        "date": a.day.isoformat(),
        "from_type": a.stream.attrs["instance_type"],
        "to_type": a.successor.attrs["instance_type"] if a.successor else "",
        "days_before": BEFORE_DAYS,
        "effective_cost_before": money(before),
        "effective_cost_per_day_before": money(q(before / BEFORE_DAYS, 10)),
        "days_after": days_after,
        "effective_cost_after": money(after),
        "effective_cost_per_day_after": money(q(after / days_after, 10)),
    }

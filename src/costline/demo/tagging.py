"""Decide which team workloads are untagged or mis-tagged, so that 15–25 % of spend is.

Costs are simulated first; then team resources (a VM's vCPU and RAM SKUs count as one
resource) are picked in a seeded random order and given a bad tag mode while the share of
effective cost that is *not allocatable by tags* stays under a target drawn in
[18.5 %, 21.5 %]. Spend that is untagged by nature (support, unused commitments, data
transfer without a resource, the forgotten sandbox instance) counts towards the target first.

Bad tag modes: ``none`` (no tags), ``no-team`` (other tags but no ``team``), ``key-case``
(``Team``), ``key-typo`` (``teem``), ``value-case`` (``Checkout``), ``value-unknown`` (a team
name that is not in the org: retired, abbreviated or made up). GCP labels must be lowercase,
so GCP resources never get the two case modes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from decimal import Decimal

from costline.demo.model import TAG_MODES_BAD, UNKNOWN_TEAMS, Line, Stream

ALLOWED: dict[str, tuple[str, ...]] = {
    "aws": TAG_MODES_BAD,
    "azure": TAG_MODES_BAD,
    "gcp": ("none", "no-team", "key-typo", "value-unknown"),
}
TARGET = (0.185, 0.215)


def group_of(stream: Stream) -> str:
    """Streams of one resource share a tag decision."""
    return stream.attrs.get("group", stream.key)


def assign(
    lines: Mapping[str, list[Line]], *, seed: int, is_allocatable: Callable[[str, Line], bool]
) -> float:
    """Set ``tag_mode`` on chosen streams; returns the resulting non-allocatable share."""
    rng = random.Random(f"{seed}:tagging")
    total = Decimal(0)
    bad = Decimal(0)
    cost: dict[str, Decimal] = {}
    members: dict[str, list[Stream]] = {}
    for provider, provider_lines in lines.items():
        for line in provider_lines:
            total += line.effective
            stream = line.stream
            if stream is None or stream.tags_fixed or stream.team is None:
                bad += Decimal(0) if is_allocatable(provider, line) else line.effective
                continue
            gkey = f"{provider}|{group_of(stream)}"
            cost[gkey] = cost.get(gkey, Decimal(0)) + line.effective
            group = members.setdefault(gkey, [])
            if stream not in group:
                group.append(stream)
    target = Decimal(str(rng.uniform(*TARGET))) * total
    order = sorted(cost)
    rng.shuffle(order)
    for gkey in order:
        if bad + cost[gkey] > target:
            continue
        provider = gkey.split("|", 1)[0]
        mode = rng.choice(ALLOWED[provider])
        unknown = rng.choice(UNKNOWN_TEAMS)
        for stream in members[gkey]:
            stream.tag_mode = mode
            stream.attrs["bad_team"] = unknown
        bad += cost[gkey]
    return float(bad / total) if total else 0.0

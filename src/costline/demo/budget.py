"""Fill a provider's plan with team workloads until it reaches the requested row count.

Each team offers an endless iterator of workloads (its most important first); teams take
turns in a seeded order, so a small ``--rows`` still spreads spend over many teams and a
large one gives every team more resources.

Example:
    >>> import random
    >>> from costline.demo.model import Plan
    >>> fill(Plan(), {}, target=10, rows_of=lambda s: 1.0, rng=random.Random(1))
    0
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from costline.demo.model import Plan, Stream


def fill(
    plan: Plan,
    offers: dict[str, Iterator[Stream]],
    *,
    target: float,
    rows_of: Callable[[Stream], float],
    rng: random.Random,
) -> int:
    """Append team streams round-robin until the plan's rows per month reach ``target``.

    Returns:
        The number of streams added.
    """
    order = sorted(offers)
    rng.shuffle(order)
    used = sum(rows_of(s) for s in plan.streams)
    added = 0
    while used < target and order:
        for name in list(order):
            if used >= target:
                break
            stream = next(offers[name], None)
            if stream is None:
                order.remove(name)
                continue
            plan.streams.append(stream)
            used += rows_of(stream)
            added += 1
    return added

"""The provider-neutral model of the demo: usage streams, output lines and tag modes.

A :class:`Stream` is one billed thing over time — an instance, a volume, a bucket, a
support plan — with a base daily quantity, a schedule and a list rate. Simulating a
stream gives its quantity per day; a provider renderer turns each (stream, day) into one
or more raw export rows (:class:`Line`). Tags are attached only when rendering, so the
tagging stage can choose which streams are untagged or mis-tagged after costs are known.

Every random draw for a stream comes from its own ``random.Random(f"{seed}:{key}")``, so
adding a stream never changes another stream's numbers.

Example:
    >>> from costline.demo.org import AWS_PAYER
    >>> s = Stream("x", "aws", AWS_PAYER, "ec2", "i-1", "us-east-1", "checkout", "prod", "web",
    ...            qty=24.0, rate=Decimal("0.1"))
    >>> len(simulate(s, seed=1))
    92
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from costline.demo.org import TEAM_IDS, Account, team
from costline.demo.periods import ALL_DAYS, MONTHS, Month

TAG_MODES_BAD = ("none", "no-team", "key-case", "key-typo", "value-case", "value-unknown")
UNKNOWN_TEAMS = (
    "payments-legacy",
    "data-eng",
    "platform",
    "tbd",
    "unknown",
    "web-team",
    "ml",
    "checkout-v1",
    "growth",
)
assert not set(UNKNOWN_TEAMS) & TEAM_IDS


@dataclass
class Stream:
    """One billed thing over the demo months (see module docstring)."""

    key: str
    provider: str
    account: Account
    product: str
    resource_id: str
    region: str
    team: str | None
    env: str
    app: str
    qty: float
    rate: Decimal
    attrs: dict[str, str] = field(default_factory=dict)
    days: dict[date, float] | None = None
    weekdays_only: bool = False
    noise: float = 0.0
    growth: float = 0.0
    spikes: dict[date, float] = field(default_factory=dict)
    tag_mode: str = "ok"
    tags_fixed: bool = False
    extra_tags: dict[str, str] = field(default_factory=dict)
    commitment: str = ""
    telemetry: str = ""
    qty_places: int = 4

    def active(self, day: date) -> float:
        """The fraction of a full day's quantity used on ``day`` (0 when not running)."""
        if self.days is not None:
            return self.days.get(day, 0.0)
        if self.weekdays_only and day.weekday() >= 5:
            return 0.0
        return 1.0

    def expected_rows(self) -> float:
        """Rows per month this stream adds (before provider multipliers)."""
        return sum(1 for d in ALL_DAYS if self.active(d) > 0) / len(MONTHS)


@dataclass
class Job:
    """A GPU training or inference job (written to ``jobs/gpu_jobs.csv``)."""

    job_id: str
    provider: str
    account: str
    team: str
    kind: str
    machine: str
    gpu_model: str
    gpus: int
    start: datetime
    end: datetime
    resource_id: str
    stream_keys: tuple[str, ...] = ()

    def hours_on(self, day: date) -> float:
        """Hours of ``[start, end)`` that fall on ``day``."""
        lo, hi = day_bounds(day)
        overlap = (min(hi, self.end) - max(lo, self.start)).total_seconds() / 3600
        return max(0.0, overlap)

    def day_fractions(self) -> dict[date, float]:
        """Fraction of each day the job ran (the stream schedule)."""
        return {d: self.hours_on(d) / 24 for d in ALL_DAYS if self.hours_on(d) > 0}


@dataclass
class Anomaly:
    """An injected spend spike: ``factor`` × the normal quantity on ``days``."""

    provider: str
    stream_key: str
    kind: str
    days: tuple[date, ...]
    factor: float
    description: str


@dataclass(frozen=True)
class Action:
    """An optimization recommendation acted on: ``stream`` changed on ``day`` (the first day
    of the new state); see :mod:`costline.demo.actions`."""

    kind: str  # "rightsized" | "terminated"
    day: date
    stream: Stream  # the original, which now ends the day before ``day``
    successor: Stream | None  # the rightsized instance (None when terminated)


@dataclass
class Plan:
    """Everything one provider contributes before rendering."""

    streams: list[Stream] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    commitments: list[dict[str, Any]] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)

    def stream(self, key: str) -> Stream:
        return next(s for s in self.streams if s.key == key)


@dataclass(frozen=True)
class Who:
    """Where a stream is billed and who owns it: account, team, environment and application."""

    account: Account
    team: str | None
    env: str = "prod"
    app: str = ""


def make(
    provider: str,
    key: str,
    who: Who,
    product: str,
    resource: str,
    qty: float,
    rate: Decimal,
    region: str,
    **kw: Any,
) -> Stream:
    """A stream from an owner record (keeps the planners' calls short)."""
    return Stream(
        key,
        provider,
        who.account,
        product,
        resource,
        region,
        who.team,
        who.env,
        who.app,
        qty,
        rate,
        **kw,
    )


@dataclass
class Line:
    """One raw export row with the billed and effective cost its provider semantics give."""

    month: Month
    day: date | None
    stream: Stream | None
    values: dict[str, Any]
    billed: Decimal
    effective: Decimal


def q(value: Decimal | float | int, places: int) -> Decimal:
    """Round half-even to ``places`` decimals (money and quantities are written like this)."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def simulate(stream: Stream, *, seed: int) -> list[tuple[date, Decimal]]:
    """Quantity per active day: base × schedule × growth × noise × spikes.

    Quantities have ``qty_places`` decimals (4 by default) so that quantity × rate (rates have
    at most 6 decimals) is exact at the cost store's 10 decimals: FOCUS requires
    ``ListCost = ListUnitPrice × PricingQuantity`` exactly.
    """
    rng = random.Random(f"{seed}:{stream.key}")
    out: list[tuple[date, Decimal]] = []
    for i, day in enumerate(ALL_DAYS):
        frac = stream.active(day)
        noise = 1.0 + max(-0.6, min(0.6, rng.gauss(0.0, stream.noise))) if stream.noise else 1.0
        if frac <= 0:
            continue
        value = stream.qty * frac * (1.0 + stream.growth) ** (i / 30.0) * noise
        value *= stream.spikes.get(day, 1.0)
        qty = q(value, stream.qty_places)
        if qty > 0:
            out.append((day, qty))
    return out


def logical_tags(stream: Stream) -> dict[str, str]:
    """The stream's tags as its owners wrote them (keys before provider formatting)."""
    tags = dict(stream.extra_tags)
    if stream.team is None or stream.tag_mode == "none":
        return tags
    cc = team(stream.team).cost_center
    base = {"team": stream.team, "env": stream.env, "cost-center": cc, "app": stream.app}
    mode = stream.tag_mode
    if mode == "no-team":
        base.pop("team")
    elif mode == "key-case":
        base["Team"] = base.pop("team")
    elif mode == "key-typo":
        base["teem"] = base.pop("team")
    elif mode == "value-case":
        base["team"] = stream.team.title()
    elif mode == "value-unknown":
        base["team"] = stream.attrs.get("bad_team", UNKNOWN_TEAMS[0])
    return {**base, **tags}


def exact(qty: Decimal, rate: Decimal) -> Decimal:
    """``qty × rate``, which must fit 10 decimals (else the quantity or rate is too precise).

    Example:
        >>> exact(Decimal("1.2345"), Decimal("0.384"))
        Decimal('0.4740480')
    """
    cost = qty * rate
    if cost != q(cost, 10):
        raise ValueError(f"{qty} × {rate} needs more than 10 decimals")
    return cost


def allocatable(tags: dict[str, str]) -> bool:
    """A row is allocatable by tags when key ``team`` holds a known team id (exact match)."""
    return tags.get("team") in TEAM_IDS


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """``[midnight, next midnight)`` for ``day``."""
    start = datetime(day.year, day.month, day.day)
    return start, datetime.fromordinal(start.toordinal() + 1)


def hexid(rng: random.Random, n: int) -> str:
    """``n`` random lowercase hex characters."""
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def parse_table(text: str) -> dict[str, tuple[str, ...]]:
    """A ``|``-separated text table → {first cell: other cells} (blank lines ignored).

    Example:
        >>> parse_table(" a | x | y ")
        {'a': ('x', 'y')}
    """
    rows = [[c.strip() for c in line.split("|")] for line in text.splitlines() if line.strip()]
    return {r[0]: tuple(r[1:]) for r in rows}

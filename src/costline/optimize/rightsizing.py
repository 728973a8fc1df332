"""Rightsizing of EC2 instances, Azure VMs and GCP VMs: the cheapest type that still fits
the load.

For every instance or VM the bill shows running (usage rows with a ``ResourceId`` and an
instance type in ``x_InstanceType`` or ``SkuPriceDetails``; for GCP the machine type of the
``compute.googleapis.com/machine_spec`` system label), over a lookback window of telemetry
(default :data:`LOOKBACK_DAYS` days up to the newest sample):

1. **Enough data**: at least :data:`MIN_HOURS` distinct hours with a CPU sample, else no
   recommendation, with that reason.
2. **Load**: CPU at the chosen percentile (p95 by default, p99.5 as an option) and its
   maximum; memory at the same percentile when ``memory_percent`` samples exist.
3. **Need**: the vCPUs that keep the projected CPU percentile at or below
   :data:`CPU_TARGET_PCT` (``vcpu × p / target``) and the memory that keeps memory at or
   below :data:`MEMORY_TARGET_PCT`; without memory samples the memory may not shrink at all
   ("memory unknown", one confidence level lower).
4. **Candidates** (pure numpy over the catalog of :mod:`costline.optimize.pricing`): priced
   in the same region, current generation, not bare metal, the same GPU count, enough vCPU
   and memory (a GPU machine: only its own family, so its GPU model stays); a burstable
   type only when the projected CPU percentile stays at or below
   :data:`BURSTABLE_BASELINE_PCT` (a conservative CPU-credit baseline). The cheapest
   same-family fit is recommended first; the cheapest fit of any family (Arm/Graviton
   included) is shown as the alternative, with its migration effort.
5. **Price**: the customer's effective rate from the bill (``EffectiveCost /
   PricingQuantity`` of that type's usage rows in that region; for GCP, which bills a VM as
   separate vCPU and memory SKUs, list price × ``EffectiveCost / ListCost`` of the type's
   rows, so sustained and committed use discounts show) wins over the list price; a type the
   bill has no rows for is priced at list × the discount the bill shows on the current type.
   Savings per month = (current − new hourly rate) × :data:`HOURS_PER_MONTH`.
6. **Risk** 0–100: ``45·u + 35·m + 20·s`` (+10 for an architecture change, +10 for a
   burstable type, capped at 100) where ``u`` = projected CPU percentile / target, ``m`` =
   projected memory percentile / target (0.75 when memory is unknown), ``s`` = how far the
   projected CPU maximum exceeds 100 % (0–1).

The full rules, with their sources, are in docs/concepts/rightsizing.md.

Example:
    >>> needed_vcpu(8, 10.0, target_pct=80.0)
    1.0
    >>> risk_score(projected_cpu=40.0, projected_peak=90.0, projected_memory=None,
    ...            arch_change=False, burstable=False)
    49
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from costline.core.errors import BadInputError, Location
from costline.optimize import telemetry
from costline.optimize.gcp_shapes import sustained_use
from costline.optimize.pricing import (
    Catalog,
    InstanceType,
    Price,
    catalog_for,
    normalize_region,
)
from costline.optimize.telemetry import WindowStats

LOOKBACK_DAYS = 14
PERCENTILES = (95.0, 99.5)
CPU_TARGET_PCT = 80.0
MEMORY_TARGET_PCT = 80.0
MIN_HOURS = 30
BURSTABLE_BASELINE_PCT = 20.0
BANDWIDTH_TARGET_PCT = 80.0  # the busiest hour may use this much of the baseline bandwidth
HOURS_PER_MONTH = 730
RATE_DAYS = 30  # days of bill, ending at the window's end, the effective rates come from
WEEK_HOURS = 168
UNKNOWN_MEMORY_TERM = 0.75
CONFIDENCE = ("high", "medium", "low")
COLUMNS = (
    "resource_id",
    "provider",
    "account",
    "region",
    "current_type",
    "status",
    "reason",
    "recommended_type",
    "effort",
    "monthly_savings",
    "currency",
    "current_hourly",
    "recommended_hourly",
    "price_basis",
    "cpu_hours",
    "cpu_pct",
    "cpu_max",
    "memory_pct",
    "memory",
    "network_mbps",
    "disk_mbps",
    "projected_cpu_pct",
    "projected_memory_pct",
    "risk",
    "risk_level",
    "confidence",
    "alternative_type",
    "alternative_effort",
    "alternative_monthly_savings",
)
PROVIDERS = ("aws", "azure", "gcp")


@dataclass(frozen=True)
class Options:
    """What the rules use; every default is documented in docs/concepts/rightsizing.md."""

    lookback_days: int = LOOKBACK_DAYS
    percentile: float = 95.0
    cpu_target_pct: float = CPU_TARGET_PCT
    memory_target_pct: float = MEMORY_TARGET_PCT
    min_hours: int = MIN_HOURS
    burstable_baseline_pct: float = BURSTABLE_BASELINE_PCT
    allow_arch_change: bool = True
    bandwidth_target_pct: float = BANDWIDTH_TARGET_PCT


@dataclass(slots=True)
class Usage:
    """One resource: what the bill says it is and what telemetry says it does (a plain
    record, not frozen: one is built per instance per run, and frozen ones cost 3× more)."""

    provider: str
    resource_id: str
    account: str | None
    region: str
    instance_type: str
    currency: str
    cpu_hours: int = 0
    cpu_pct: float | None = None
    cpu_max: float | None = None
    memory_pct: float | None = None
    # the busiest clock hour's average throughput, megabits per second (None: not measured)
    network_mbps: float | None = None
    disk_mbps: float | None = None


@dataclass(frozen=True)
class Candidate:
    spec: InstanceType
    price: Price
    hourly: Decimal
    basis: str
    monthly_savings: Decimal
    effort: str


@dataclass(slots=True)
class Recommendation:
    usage: Usage
    status: str
    reason: str
    candidate: Candidate | None = None
    alternative: Candidate | None = None
    current_hourly: Decimal | None = None
    projected_cpu_pct: float | None = None
    projected_memory_pct: float | None = None
    risk: int | None = None
    confidence: str | None = None

    def row(self) -> tuple[Any, ...]:
        """The values in :data:`COLUMNS` order (a test checks the two agree). Called once per
        resource (10,000 a run), so each attribute is read once and rounding is inline."""
        u, c, a = self.usage, self.candidate, self.alternative
        if c is None:
            name = change = savings = hourly = basis = None
        else:
            name, change, savings = c.spec.name, c.effort, c.monthly_savings
            hourly, basis = c.hourly, c.basis
        if a is None:
            alt_name = alt_change = alt_savings = None
        else:
            alt_name, alt_change, alt_savings = a.spec.name, a.effort, a.monthly_savings
        memory, p_cpu, p_memory, risk = (
            u.memory_pct,
            self.projected_cpu_pct,
            self.projected_memory_pct,
            self.risk,
        )
        return (
            u.resource_id,
            u.provider,
            u.account,
            u.region,
            u.instance_type,
            self.status,
            self.reason,
            name,
            change,
            savings,
            u.currency,
            self.current_hourly,
            hourly,
            basis,
            u.cpu_hours,
            None if u.cpu_pct is None else round(u.cpu_pct, 2),
            None if u.cpu_max is None else round(u.cpu_max, 2),
            None if memory is None else round(memory, 2),
            "unknown" if memory is None else "measured",
            None if u.network_mbps is None else round(u.network_mbps, 2),
            None if u.disk_mbps is None else round(u.disk_mbps, 2),
            None if p_cpu is None else round(p_cpu, 2),
            None if p_memory is None else round(p_memory, 2),
            risk,
            None if risk is None else risk_level(risk),
            self.confidence,
            alt_name,
            alt_change,
            alt_savings,
        )


# -- pure rules ---------------------------------------------------------------------------


def needed_vcpu(vcpu: float, cpu_pct: float, *, target_pct: float) -> float:
    """vCPUs that run today's load (``vcpu × cpu_pct``) at ``target_pct``."""
    return vcpu * cpu_pct / target_pct


def risk_score(
    *,
    projected_cpu: float,
    projected_peak: float,
    projected_memory: float | None,
    arch_change: bool,
    burstable: bool,
    cpu_target: float = CPU_TARGET_PCT,
    memory_target: float = MEMORY_TARGET_PCT,
) -> int:
    """The performance-risk score 0–100 of a move (formula in the module docstring)."""
    return int(
        risk_scores(
            projected_cpu=np.array([projected_cpu], dtype=float),
            projected_peak=np.array([projected_peak], dtype=float),
            projected_memory=np.array(
                [np.nan if projected_memory is None else projected_memory], dtype=float
            ),
            arch_change=np.array([arch_change]),
            burstable=np.array([burstable]),
            cpu_target=cpu_target,
            memory_target=memory_target,
        )[0]
    )


def risk_scores(
    *,
    projected_cpu: np.ndarray,
    projected_peak: np.ndarray,
    projected_memory: np.ndarray,
    arch_change: np.ndarray,
    burstable: np.ndarray,
    cpu_target: float = CPU_TARGET_PCT,
    memory_target: float = MEMORY_TARGET_PCT,
) -> np.ndarray:
    """:func:`risk_score` of many moves at once (NaN projected memory: unknown)."""
    u = np.minimum(projected_cpu / cpu_target, 1.0)
    m = np.where(
        np.isnan(projected_memory),
        UNKNOWN_MEMORY_TERM,
        np.minimum(projected_memory / memory_target, 1.0),
    )
    s = np.clip((projected_peak - 100.0) / 100.0, 0.0, 1.0)
    score = 45 * u + 35 * m + 20 * s + np.where(arch_change, 10, 0) + np.where(burstable, 10, 0)
    result: np.ndarray = np.minimum(100, np.rint(score)).astype(int)
    return result


def risk_level(score: int) -> str:
    return "low" if score < 34 else "medium" if score < 67 else "high"


def effort(current: InstanceType, new: InstanceType) -> str:
    """What the move asks of the team: ``none`` (a size change in the family), or a list of
    ``family change``, ``arch change amd64→arm64`` (rebuild images for Arm), ``burstable``."""
    parts = []
    if new.family != current.family:
        parts.append("family change")
    if new.arch != current.arch:
        parts.append(f"arch change {current.arch}→{new.arch}")
    if new.burstable and not current.burstable:
        parts.append("burstable")
    return ", ".join(parts) or "none"


def confidence_levels(
    *, memory_unknown: np.ndarray, cpu_hours: np.ndarray, low_price: np.ndarray
) -> list[str]:
    """The confidence of each recommendation: ``high`` lowered one level for each of memory
    unknown, under a week of CPU hours, a ``low``-confidence list price used (floored at
    ``low``)."""
    level = memory_unknown.astype(int) + (cpu_hours < WEEK_HOURS) + low_price.astype(int)
    return [CONFIDENCE[k] for k in np.minimum(level, 2).tolist()]


class _Pool:
    """The candidate pool of one provider and region as numpy arrays (built once per run):
    the types a resource may move to (current generation, not bare metal), in list price
    order."""

    def __init__(self, entries: list[tuple[InstanceType, Price]]) -> None:
        # at one price, more vCPU and memory first (e.g. Azure's E4s_v5 before the
        # constrained-core E4-2s_v5 it costs the same as), then the name
        entries = sorted(
            (e for e in entries if e[0].current_generation and not e[0].bare_metal),
            key=lambda e: (e[1].usd_per_hour, -e[0].vcpu, -e[0].memory_gib, e[0].name),
        )
        self.entries = entries
        self.list_prices = [p.usd_per_hour for _, p in entries]
        specs = [s for s, _ in entries]
        self.vcpu = np.array([s.vcpu for s in specs], dtype=float)
        self.memory = np.array([s.memory_gib for s in specs], dtype=float)
        self.gpu = np.array([s.gpu_count for s in specs], dtype=int)
        self.burstable = np.array([s.burstable for s in specs], dtype=bool)
        self.network = np.array(
            [np.nan if s.network_mbps is None else s.network_mbps for s in specs], dtype=float
        )
        self.ebs = np.array([np.nan if s.ebs_mbps is None else s.ebs_mbps for s in specs])
        self.arch = np.array([s.arch for s in specs], dtype=object)
        self.name = np.array([s.name.lower() for s in specs], dtype=object)
        self.index = {s.name.lower(): i for i, s in enumerate(specs)}
        self.codes = {f: k for k, f in enumerate(dict.fromkeys(s.family for s in specs))}
        self.family_code = np.array([self.codes[s.family] for s in specs], dtype=int)
        # GCP series with sustained use discounts (see _discount_carries)
        self.sustained = np.array(
            [s.provider == "gcp" and sustained_use(s.name) for s in specs], dtype=bool
        )
        self._seen: dict[int, tuple[Mapping[str, Decimal], np.ndarray]] = {}

    def seen_columns(self, seen: Mapping[str, Decimal]) -> np.ndarray:
        """The candidates the bill has its own rate for, ascending (cached per rate table)."""
        cached = self._seen.get(id(seen))
        if cached is None or cached[0] is not seen:
            columns = np.flatnonzero(np.array([n in seen for n in self.name], dtype=bool))
            cached = (seen, columns)
            self._seen[id(seen)] = cached
        return cached[1]

    def cheaper_than(self, price: Decimal) -> int:
        """How many candidates have a list price below ``price`` (a prefix of the pool)."""
        return bisect_left(self.list_prices, price)

    def fits(self, ready: _Ready, options: Options, columns: np.ndarray) -> np.ndarray:
        """Boolean matrix: row r marks which of the candidates in ``columns`` (ascending pool
        indices) fit resource r of ``ready`` (running as its current type, with its load).
        What depends only on the current type is looked up once per type and spread to the
        type's resources."""
        currents = ready.currents
        kind = ready.kind
        gpu = np.array([c.gpu_count for c in currents], dtype=int)[kind]
        work, need_memory, network, disk = _needs(ready, options)
        load = work[:, None]
        have_vcpu = self.vcpu[columns]
        mask = self.gpu[columns] == gpu[:, None]
        mask &= have_vcpu * options.cpu_target_pct >= load
        mask &= self.memory[columns] >= need_memory[:, None]
        mask &= ~self.burstable[columns] | (load <= options.burstable_baseline_pct * have_vcpu)
        # measured network / disk throughput must fit the candidate's baseline bandwidth
        # (a candidate without a published bandwidth is not held back)
        for have, need in ((self.network[columns], network), (self.ebs[columns], disk)):
            if np.isnan(need).all():
                continue
            mask &= np.isnan(need)[:, None] | np.isnan(have) | (have >= need[:, None])
        if not options.allow_arch_change:
            arch = np.array([c.arch for c in currents], dtype=object)[kind]
            mask &= self.arch[columns] == arch[:, None]
        # a GPU machine keeps its GPU model: only sizes of its own family
        gpu_rows = gpu > 0
        if gpu_rows.any():
            mask &= ~gpu_rows[:, None] | self.families(ready, columns)
        itself = np.array([self.index.get(c.name.lower(), -1) for c in currents], dtype=int)
        itself = itself[kind]
        at = np.searchsorted(columns, itself)
        hit = (itself >= 0) & (at < len(columns))
        hit[hit] = columns[at[hit]] == itself[hit]
        mask[np.flatnonzero(hit), at[hit]] = False
        result: np.ndarray = mask
        return result

    def fit_classes(self, ready: _Ready, options: Options, columns: np.ndarray) -> np.ndarray:
        """Per resource of ``ready``, a row of integers such that resources with equal rows
        get equal rows from :meth:`fits` (so it need run only once per class): the current
        type (``kind``) and, for each need :meth:`fits` compares with a value of the
        candidates, how many of the candidates' distinct values lie below it (a candidate
        passes exactly when its value is not among them; -1: a need of NaN)."""
        work, need_memory, network, disk = _needs(ready, options)
        have_vcpu = self.vcpu[columns]
        return np.column_stack(
            [
                ready.kind,
                _rank(have_vcpu * options.cpu_target_pct, work),
                _rank(options.burstable_baseline_pct * have_vcpu, work),
                _rank(self.memory[columns], need_memory),
                _rank(self.network[columns], network),  # NaN: not published, passes
                _rank(self.ebs[columns], disk),
            ]
        )

    def families(self, ready: _Ready, columns: np.ndarray) -> np.ndarray:
        """Boolean matrix: row r marks which candidates in ``columns`` are of the family of
        resource r's current type."""
        wanted = np.array([self.codes.get(c.family, -1) for c in ready.currents], dtype=int)
        result: np.ndarray = self.family_code[columns] == wanted[ready.kind][:, None]
        return result


def _needs(
    ready: _Ready, options: Options
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per resource of ``ready``: its work (vCPU × CPU percentile, in vCPU-percent), the
    memory it needs (GiB; memory unknown: the current type's, it may not shrink), and the
    baseline network and disk bandwidths it needs (NaN: not measured)."""
    vcpu = np.array([c.vcpu for c in ready.currents], dtype=float)[ready.kind]
    memory = np.array([c.memory_gib for c in ready.currents], dtype=float)[ready.kind]
    mem = ready.loads[:, MEMORY]
    need_memory = np.where(np.isnan(mem), memory, memory * mem / options.memory_target_pct)
    share = options.bandwidth_target_pct / 100
    return (
        vcpu * ready.loads[:, CPU],
        need_memory,
        ready.loads[:, NETWORK] / share,
        ready.loads[:, DISK] / share,
    )


def _rank(values: np.ndarray, needs: np.ndarray) -> np.ndarray:
    """Per need, how many distinct non-NaN ``values`` are below it (-1: the need is NaN).
    Two needs of one rank compare alike (``value >= need``) with every value."""
    levels = np.unique(values[~np.isnan(values)])
    ranks: np.ndarray = np.where(np.isnan(needs), -1, np.searchsorted(levels, needs))
    return ranks


CHUNK = 2048  # resources per candidate matrix (CHUNK × pool size booleans)

# The numbers of a resource's load the rules read, in the columns of _Ready.loads (None: NaN).
LOAD_FIELDS = ("cpu_pct", "cpu_max", "memory_pct", "network_mbps", "disk_mbps", "cpu_hours")
CPU, PEAK, MEMORY, NETWORK, DISK, HOURS = range(len(LOAD_FIELDS))


def _loads(usages: Sequence[Usage]) -> np.ndarray:
    """The :data:`LOAD_FIELDS` of each resource as one float row (None: NaN). One list per
    field: numpy converts a list of numbers or None much faster than a list of tuples."""
    loads = np.empty((len(usages), len(LOAD_FIELDS)))
    for column, name in enumerate(LOAD_FIELDS):
        loads[:, column] = np.array([getattr(u, name) for u in usages], dtype=float)
    return loads


def recommend(
    usages: Sequence[Usage],
    catalog: Catalog,
    *,
    options: Options | None = None,
    rates: Mapping[tuple[str, str, str, str], Decimal] | None = None,
) -> list[Recommendation]:
    """Rightsize every resource. ``rates`` maps (provider, type, region, currency), all
    lower-cased with the region normalized, to the hourly effective rate seen in the bill.
    Sorted by monthly savings, largest first.

    The rules are applied per resource, but work that depends only on the place (provider,
    region, currency) and the current type is done once per such group, and the price
    search once per distinct pattern of fitting candidates (many resources share one)."""
    opts = options or Options()
    by_place: dict[tuple[str, str, str], dict[str, Decimal]] = {}
    for (provider, name, region, currency), rate in (rates or {}).items():
        by_place.setdefault((provider, region, currency), {})[name] = rate
    by_type: dict[tuple[str, str, str, str], list[Usage]] = {}
    for usage in usages:
        key = (usage.provider, usage.region, usage.currency, usage.instance_type)
        by_type.setdefault(key, []).append(usage)
    out: list[Recommendation] = []
    ready: dict[tuple[str, str, str], list[_Ready]] = {}
    for (provider, region, currency, _), same_type in by_type.items():
        place = (provider, normalize_region(region), currency.upper())
        seen = by_place.get(place, {})
        checked = _precheck(same_type[0], catalog, seen)
        if isinstance(checked, str):
            out += [Recommendation(u, "skipped", checked) for u in same_type]
            continue
        current, pricing = checked
        waiting = _early_answers(same_type, opts, current, pricing, out)
        if waiting.usages:
            ready.setdefault(place, []).append(waiting)
    pools: dict[tuple[str, str], _Pool] = {}
    for (provider, region, currency), groups in ready.items():
        pool = pools.get((provider, region))
        if pool is None:
            pool = pools[(provider, region)] = _Pool(catalog.priced_types(provider, region))
        seen = by_place.get((provider, region, currency), {})
        seen_cols = pool.seen_columns(seen) if seen else np.zeros(0, dtype=int)
        group = _Ready.joined(groups)
        for at in range(0, len(group.usages), CHUNK):
            out += _search(group.part(at, at + CHUNK), pool, seen_cols, opts)
    # by monthly savings, largest first, then resource id: two stable sorts (the second
    # keeps the first's order among equal savings, reverse=True included), which avoids
    # building a negated Decimal and a tuple key per answer
    out.sort(key=attrgetter("usage.resource_id"))
    out.sort(key=_savings, reverse=True)
    return out


def _savings(rec: Recommendation) -> Decimal:
    """The monthly savings of an answer's candidate; -1 without one (sorts last)."""
    return rec.candidate.monthly_savings if rec.candidate else _NO_SAVINGS


_NO_SAVINGS = Decimal(-1)


@dataclass(slots=True)
class _Ready:
    """Resources past the data and price checks, waiting for the candidate search, as
    columns: their load (:func:`_loads`) and, per resource, the index (``kind``) of its
    current type and pricing in ``currents`` and ``pricings`` (one entry per type and place,
    so what depends on them is computed once per type, not once per resource)."""

    usages: list[Usage]
    loads: np.ndarray
    kind: np.ndarray
    currents: list[InstanceType]
    pricings: list[_Pricing]

    @staticmethod
    def joined(groups: Sequence[_Ready]) -> _Ready:
        """The resources of ``groups`` (of one place and currency, one type each) in order."""
        return _Ready(
            [u for g in groups for u in g.usages],
            np.concatenate([g.loads for g in groups]),
            np.repeat(np.arange(len(groups)), [len(g.usages) for g in groups]),
            [c for g in groups for c in g.currents],
            [p for g in groups for p in g.pricings],
        )

    def take(self, indices: np.ndarray) -> _Ready:
        """The resources at ``indices``."""
        usages = self.usages
        return _Ready(
            [usages[i] for i in indices.tolist()],
            self.loads[indices],
            self.kind[indices],
            self.currents,
            self.pricings,
        )

    def part(self, start: int, stop: int) -> _Ready:
        """The resources ``start:stop`` (with every type, used or not)."""
        return _Ready(
            self.usages[start:stop],
            self.loads[start:stop],
            self.kind[start:stop],
            self.currents,
            self.pricings,
        )


def _precheck(
    usage: Usage, catalog: Catalog, seen: Mapping[str, Decimal]
) -> str | tuple[InstanceType, _Pricing]:
    """The current type and its pricing, the same for every resource of one type in one place
    and currency; or why such resources are skipped."""
    current = catalog.instance_type(usage.provider, usage.instance_type)
    if current is None:
        return f"{usage.instance_type} is not in the catalog"
    current_list = catalog.price(usage.provider, usage.instance_type, usage.region)
    observed = seen.get(usage.instance_type.lower())
    if current_list is None and observed is None:
        return f"no price for {usage.instance_type} in {usage.region}"
    return current, _Pricing(current_list, observed, seen)


def _early_answers(
    same_type: Sequence[Usage],
    opts: Options,
    current: InstanceType,
    pricing: _Pricing,
    out: list[Recommendation],
) -> _Ready:
    """The resources of one type, place and currency the data rules let through to the
    candidate search; the answers of the others (:func:`_early_answer`) go to ``out``, in
    order. A resource with enough CPU hours and its CPU percentile at most the target passes
    without asking :func:`_early_answer` (vectorised, the usual case); every other one is
    asked, so that function stays the only statement of the rules."""
    loads = _loads(same_type)
    cpu, hours = loads[:, CPU], loads[:, HOURS]
    # NaN (no CPU samples) fails the comparison, so such resources are asked
    passes = (hours != 0) & (hours >= opts.min_hours) & (cpu <= opts.cpu_target_pct)
    for i in np.flatnonzero(~passes).tolist():
        early = _early_answer(same_type[i], opts, pricing)
        if early is None:
            passes[i] = True
        else:
            out.append(early)
    kept = [u for u, keep in zip(same_type, passes.tolist(), strict=True) if keep]
    return _Ready(kept, loads[passes], np.zeros(len(kept), dtype=int), [current], [pricing])


def _early_answer(usage: Usage, opts: Options, pricing: _Pricing) -> Recommendation | None:
    """The final answer for a resource the data rules stop, else None."""
    if usage.cpu_pct is None or usage.cpu_hours == 0:
        return Recommendation(usage, "skipped", "no cpu_percent telemetry in the lookback")
    if usage.cpu_hours < opts.min_hours:
        return Recommendation(
            usage,
            "insufficient-data",
            f"{usage.cpu_hours} hours of CPU samples in the lookback, {opts.min_hours} needed",
        )
    if usage.cpu_pct > opts.cpu_target_pct:
        return Recommendation(
            usage,
            "no-action",
            f"CPU p{opts.percentile:g} {usage.cpu_pct:.1f} % is above the "
            f"{opts.cpu_target_pct:g} % target",
            current_hourly=pricing.current_hourly,
        )
    return None


def _first(masks: np.ndarray) -> np.ndarray:
    """Per row, the index of the first True (the cheapest fit by list price), -1 if none."""
    if masks.shape[1] == 0:
        return np.full(masks.shape[0], -1)
    result: np.ndarray = np.where(masks.any(axis=1), np.argmax(masks, axis=1), -1)
    return result


def _search(
    chunk: _Ready, pool: _Pool, seen_cols: np.ndarray, opts: Options
) -> list[Recommendation]:
    """The candidate search for resources of one place and currency (``seen_cols``: the pool
    columns the bill has its own rate for).

    A candidate without a bill rate is priced at its list price times one factor per price
    class (:meth:`_Pricing.hourly`: one class, or two for a GCP series with sustained use
    discounts), so only these can win (see :func:`_cheapest`): the cheapest fit by list
    price of each class, which must list below :attr:`_Pricing.break_even_list` to save money
    (so only the pool's prefix below the chunk's highest break-even is searched, when every
    current type has a list price), and the fits with a rate in the bill. Which wins depends
    only on the current type, those cheapest fits (any family, same family) and which fits
    have a bill rate, so it is decided once per distinct combination of those. The fits
    themselves are computed once per class of resources that fit alike
    (:meth:`_Pool.fit_classes`), usually a few hundred of a chunk's thousands."""
    pricings = [chunk.pricings[k] for k in np.unique(chunk.kind).tolist()]  # the chunk's
    if all(p.current_list is not None for p in pricings):
        prefix = pool.cheaper_than(max(p.break_even_list for p in pricings))
    else:
        prefix = len(pool.entries)
    columns = np.concatenate([np.arange(prefix), seen_cols[seen_cols >= prefix]])
    seen_at = np.searchsorted(columns, seen_cols)
    firsts, of_class = _distinct_rows(pool.fit_classes(chunk, opts, columns))
    one = chunk.take(firsts)  # one resource per class
    masks = pool.fits(one, opts, columns)
    same = masks & pool.families(one, columns)
    # per row, the prefix columns priced with the bill's discount and those at bare list
    split = np.array([p.splits for p in chunk.pricings], dtype=bool)[one.kind][:, None]
    carried = ~split | pool.sustained[:prefix]
    pattern = np.column_stack(
        [
            one.kind,
            _first(masks[:, :prefix] & carried),
            _first(masks[:, :prefix] & ~carried),
            _first(same[:, :prefix] & carried),
            _first(same[:, :prefix] & ~carried),
            masks[:, seen_at],
            same[:, seen_at],
        ]
    ).astype(np.int64)
    at, of_pattern = _distinct_rows(pattern)
    patterns = pattern[at]
    width = len(seen_cols)
    decided: list[tuple[Candidate | None, Candidate | None]] = []
    for row in patterns.tolist():
        current, pricing = chunk.currents[row[0]], chunk.pricings[row[0]]
        seen_any = seen_cols[np.asarray(row[5 : 5 + width], dtype=bool)]
        seen_same = seen_cols[np.asarray(row[5 + width :], dtype=bool)]
        best = _cheapest(pool, row[1:3], seen_any, current, pricing)
        chosen = _cheapest(pool, row[3:5], seen_same, current, pricing) or best
        alternative = None
        if chosen is not None and best is not None and best.spec.name != chosen.spec.name:
            alternative = best
        decided.append((chosen, alternative))
    which = of_pattern[of_class]  # each resource's pattern, through its class
    return _recommendations(chunk, patterns[:, 0].tolist(), decided, which, opts)


def _distinct_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a small non-negative-or-minus-one integer matrix, as the index
    of one row of each, and per row the number of its distinct row (as ``np.unique(axis=0,
    return_index=True, return_inverse=True)``; rows are packed into one integer when they
    fit, the usual case, which is much faster)."""
    shifted = matrix + 1
    bits = [max(int(c.max()), 1).bit_length() for c in shifted.T] if len(matrix) else []
    if len(matrix) and sum(bits) <= 62:
        key = np.zeros(len(matrix), dtype=np.int64)
        for column, width in zip(shifted.T, bits, strict=True):
            key = (key << width) | column
        _, first, which = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, which = np.unique(matrix, axis=0, return_index=True, return_inverse=True)
    return first, np.asarray(which).reshape(-1)


def _recommendations(
    chunk: _Ready,
    kinds: Sequence[int],
    decided: Sequence[tuple[Candidate | None, Candidate | None]],
    which: np.ndarray,
    opts: Options,
) -> list[Recommendation]:
    """One answer per resource from the (chosen, alternative) candidates ``decided`` for its
    pattern (``which``; pattern p is for current type ``kinds[p]``). What depends only on
    the pattern (the vCPU and memory factors, an architecture change, a burstable type, a
    low-confidence list price) is computed once per pattern; the projected load, the risk
    (:func:`risk_scores`) and the confidence (:func:`confidence_levels`) for the whole chunk
    at once."""
    hourly = [p.current_hourly for p in chunk.pricings]
    found = np.array([chosen is not None for chosen, _ in decided], dtype=bool)[which]
    out = [
        Recommendation(u, "no-action", "no cheaper type fits the load", current_hourly=hourly[k])
        for u, k, hit in zip(chunk.usages, chunk.kind.tolist(), found.tolist(), strict=True)
        if not hit
    ]
    hits = np.flatnonzero(found)
    if not len(hits):
        return out
    # per pattern (NaN or False where nothing was chosen: no resource of it is a hit)
    factor, mem_factor, arch_change, burstable, low_price = [], [], [], [], []
    for k, (chosen, _) in zip(kinds, decided, strict=True):
        current = chunk.currents[k]
        if chosen is None:
            factor.append(np.nan)
            mem_factor.append(np.nan)
        else:
            factor.append(current.vcpu / chosen.spec.vcpu)
            mem_factor.append(current.memory_gib / chosen.spec.memory_gib)
        arch_change.append(chosen is not None and chosen.spec.arch != current.arch)
        burstable.append(chosen is not None and chosen.spec.burstable)
        low_price.append(
            chosen is not None and chosen.basis != "bill" and chosen.price.confidence == "low"
        )
    at = which[hits]  # each hit's pattern
    loads = chunk.loads[hits]
    memory = loads[:, MEMORY]
    hit_factor = np.array(factor, dtype=float)[at]
    projected_cpu = loads[:, CPU] * hit_factor
    projected_memory = memory * np.array(mem_factor, dtype=float)[at]
    risk = risk_scores(
        projected_cpu=projected_cpu,
        projected_peak=loads[:, PEAK] * hit_factor,
        projected_memory=projected_memory,
        arch_change=np.array(arch_change, dtype=bool)[at],
        burstable=np.array(burstable, dtype=bool)[at],
        cpu_target=opts.cpu_target_pct,
        memory_target=opts.memory_target_pct,
    )
    levels = confidence_levels(
        memory_unknown=np.isnan(memory),
        cpu_hours=loads[:, HOURS],
        low_price=np.array(low_price, dtype=bool)[at],
    )
    # the reason's text around the CPU percentile, per current type (as
    # f"CPU p{percentile} {cpu_pct:.1f} % of {vcpu:g} vCPU", plus "; memory unknown")
    head = f"CPU p{opts.percentile:g} "
    tails = [f" % of {c.vcpu:g} vCPU" for c in chunk.currents]
    usages = chunk.usages
    kind = chunk.kind.tolist()
    # plain Python numbers first: indexing numpy arrays one element at a time is slow
    for i, pattern, p_cpu, p_memory, score, level in zip(
        hits.tolist(),
        at.tolist(),
        projected_cpu.tolist(),
        projected_memory.tolist(),
        risk.tolist(),
        levels,
        strict=True,
    ):
        u = usages[i]
        k = kind[i]
        known = u.memory_pct is not None
        chosen, alternative = decided[pattern]
        out.append(
            Recommendation(
                u,
                "recommended",
                f"{head}{u.cpu_pct:.1f}{tails[k]}" + ("" if known else "; memory unknown"),
                chosen,
                alternative,
                hourly[k],
                p_cpu,
                p_memory if known else None,
                score,
                level,
            )
        )
    return out


@dataclass(frozen=True)
class _Pricing:
    """Hourly rates for one resource: ``seen`` holds the bill's effective rate per type
    (lower-cased name) in the resource's region and currency."""

    current_list: Price | None
    observed: Decimal | None
    seen: Mapping[str, Decimal]

    @property
    def current_hourly(self) -> Decimal:
        if self.observed is not None:
            return self.observed
        assert self.current_list is not None
        return self.current_list.usd_per_hour

    @property
    def splits(self) -> bool:
        """Whether candidates the bill has no rate for fall in two price classes (the
        current type is a GCP series with sustained use discounts, see
        :func:`_discount_carries`)."""
        current = self.current_list
        return (
            self.observed is not None
            and current is not None
            and current.provider == "gcp"
            and sustained_use(current.instance_type)
        )

    @property
    def break_even_list(self) -> Decimal:
        """No candidate listed at this price or above saves money (at list × the bill's
        discount a candidate saves exactly when it lists below the current type; at its bare
        list price, when it lists below the current hourly rate)."""
        assert self.current_list is not None
        return max(self.current_list.usd_per_hour, self.current_hourly)

    def hourly(self, price: Price) -> tuple[Decimal, str]:
        """The candidate's hourly rate and where it came from."""
        seen = self.seen.get(price.instance_type.lower())
        if seen is not None:
            return seen, "bill"
        current = self.current_list
        if self.observed is not None and current is not None and _discount_carries(current, price):
            ratio = self.observed / current.usd_per_hour
            return price.usd_per_hour * ratio, "list × bill discount"
        return price.usd_per_hour, "list"


def _discount_carries(current: Price, new: Price) -> bool:
    """Whether the bill's discount on the current type may be assumed for a new type it has
    no rows for: not from a GCP series with sustained use discounts to one without (they
    come from the series, not the customer)."""
    if current.provider != "gcp":
        return True
    return sustained_use(new.instance_type) or not sustained_use(current.instance_type)


def _cheapest(
    pool: _Pool,
    firsts: Sequence[int],
    seen: np.ndarray,
    current: InstanceType,
    pricing: _Pricing,
) -> Candidate | None:
    """The fitting candidate with the lowest hourly rate that saves money. The pool is in list
    price order, so only the first fit of each price class (``firsts``, -1: none listed
    below the break-even) and the fits the bill has its own rate for (``seen``, ascending)
    can win; ties go to the earlier one (cheaper list price, bigger size). Saving money is
    monotone in the rate, so the lowest rate is the only one to check."""
    best, rate, basis = -1, None, ""
    for i in sorted({*(f for f in firsts if f >= 0), *seen.tolist()}):
        other, how = pricing.hourly(pool.entries[i][1])
        if rate is None or other < rate:
            best, rate, basis = i, other, how
    if rate is None:
        return None
    savings = ((pricing.current_hourly - rate) * HOURS_PER_MONTH).quantize(Decimal("0.01"))
    if savings <= 0:
        return None
    spec, price = pool.entries[best]
    return Candidate(spec, price, rate, basis, savings, effort(current, spec))


# -- the I/O shell: bill and telemetry from DuckDB --------------------------------------------

INSTANCE_TYPE_SQL = (
    "coalesce(nullif(trim(x_InstanceType), ''), CASE WHEN json_valid(SkuPriceDetails) THEN "
    "coalesce(json_extract_string(SkuPriceDetails, '$.InstanceType'), "
    "json_extract_string(SkuPriceDetails, '$.x_InstanceType')) END)"
)


def check_options(opts: Options) -> None:
    """Reject option values the rules cannot use, naming the fix."""
    if opts.percentile not in PERCENTILES:
        raise BadInputError(
            f"percentile {opts.percentile:g} is not supported",
            location=Location("--percentile"),
            reason="bad-option",
            hint="use 95 (default) or 99.5",
        )
    if opts.lookback_days < 2:
        raise BadInputError(
            f"lookback of {opts.lookback_days} day(s) is too short",
            location=Location("--lookback"),
            reason="bad-option",
            hint=f"use at least 2 days ({opts.min_hours} hours of samples are needed); default 14",
        )


RateKey = tuple[str, str, str, str]  # (provider, type, region, currency), as in recommend()


def _bill(
    con: duckdb.DuckDBPyConnection, opts: Options, *, end: dt.datetime
) -> tuple[list[tuple[Any, ...]], dict[RateKey, Decimal], dict[RateKey, Decimal]]:
    """Every billed instance (provider, resource id, account, region, type, currency: the
    latest of each) and what the bill shows per provider, type, region and currency over the
    :data:`RATE_DAYS` (at least the lookback) ending at ``end``: the effective hourly rates
    (Σ ``EffectiveCost`` / Σ quantity) of AWS and Azure, and for GCP, which bills a VM as
    several SKUs (vCPU-hours, GiB-hours, ...) so that no quantity is instance-hours, the
    ratio Σ ``EffectiveCost`` / Σ ``ListCost`` (its discounts: sustained and committed use),
    which :func:`list_rates` turns into hourly rates with the catalog's list price."""
    bill_start = end - dt.timedelta(days=max(opts.lookback_days, RATE_DAYS))
    providers = ", ".join(f"'{p}'" for p in PROVIDERS)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rs_bill AS SELECT x_Provider AS provider, "
        "ResourceId AS resource_id, SubAccountId AS account, RegionId AS region, "
        f"{INSTANCE_TYPE_SQL} AS instance_type, BillingCurrency AS currency, "
        "ChargePeriodStart AS t, EffectiveCost AS cost, ListCost AS list, "
        "coalesce(PricingQuantity, ConsumedQuantity) AS q FROM cost "
        f"WHERE ChargeCategory = 'Usage' AND x_Provider IN ({providers}) "
        "AND coalesce(ServiceCategory, 'Compute') = 'Compute' "
        "AND ResourceId IS NOT NULL AND RegionId IS NOT NULL "
        "AND ChargePeriodStart >= ? AND ChargePeriodStart <= ?",
        [bill_start, end],
    )
    try:
        rates = {
            (p, t.lower(), normalize_region(r), c.upper()): Decimal(cost) / Decimal(q)
            for p, t, r, c, cost, q in con.execute(
                "SELECT provider, instance_type, region, currency, sum(cost), sum(q) "
                "FROM _rs_bill WHERE provider <> 'gcp' AND instance_type IS NOT NULL "
                "AND q > 0 AND cost >= 0 GROUP BY ALL HAVING sum(q) > 0"
            ).fetchall()
        }
        discounts = {
            (p, t.lower(), normalize_region(r), c.upper()): Decimal(cost) / Decimal(listed)
            for p, t, r, c, cost, listed in con.execute(
                "SELECT provider, instance_type, region, currency, sum(cost), sum(list) "
                "FROM _rs_bill WHERE provider = 'gcp' AND instance_type IS NOT NULL "
                "AND list > 0 AND cost >= 0 GROUP BY ALL HAVING sum(list) > 0"
            ).fetchall()
        }
        resources = con.execute(RESOURCES_SQL).fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS _rs_bill")
    return resources, rates, discounts


def list_rates(discounts: Mapping[RateKey, Decimal], catalog: Catalog) -> dict[RateKey, Decimal]:
    """Hourly rates from list prices and the bill's discount ratio (EffectiveCost / ListCost)
    per (provider, type, region, currency): list price × ratio; a type without a list price
    in the region has none. (The list is USD: for a bill in another currency the rate is
    the USD list price with the bill's discount, see docs/concepts/rightsizing.md.)

    Example:
        >>> from costline.optimize.pricing import load_catalog
        >>> key = ("gcp", "n2-standard-8", "us-central1", "USD")
        >>> list_rates({key: Decimal("0.8")}, load_catalog(("gcp",)))[key]  # 0.3885 × 0.8
        Decimal('0.31080')
    """
    out = {}
    for key, ratio in discounts.items():
        provider, name, region, _ = key
        price = catalog.price(provider, name, region)
        if price is not None:
            out[key] = price.usd_per_hour * ratio
    return out


# Latest type, region, account and currency of every billed instance.
RESOURCES_SQL = """
SELECT provider, resource_id, arg_max(account, t), arg_max(region, t),
       arg_max(instance_type, t), arg_max(currency, t)
FROM _rs_bill WHERE instance_type IS NOT NULL GROUP BY provider, resource_id
ORDER BY provider, resource_id"""


def rightsize(
    con: duckdb.DuckDBPyConnection,
    opts: Options,
    *,
    catalog: Catalog | None = None,
    end: dt.datetime | None = None,
    pricing_dir: Path | None = None,
) -> list[Recommendation]:
    """Collect from the warehouse and run the rules: :func:`decide` over :func:`gather`."""
    return decide(gather(con, opts, catalog=catalog, end=end, pricing_dir=pricing_dir), opts)


@dataclass(frozen=True)
class Gathered:
    """What the rules need from the warehouse: the billed instances (rows of
    :data:`RESOURCES_SQL`), the bill's effective rates, the catalog and the telemetry."""

    resources: list[tuple[Any, ...]]
    rates: dict[tuple[str, str, str, str], Decimal]
    catalog: Catalog
    stats: WindowStats


def gather(
    con: duckdb.DuckDBPyConnection,
    opts: Options,
    *,
    catalog: Catalog | None = None,
    end: dt.datetime | None = None,
    pricing_dir: Path | None = None,
    stats: Future[WindowStats] | None = None,
) -> Gathered:
    """Read what the rules need. The lookback ends at ``end``, by default the newest
    telemetry sample; without ``catalog`` the packaged one is read for the providers the bill
    has, with the workspace's refreshed prices in ``pricing_dir`` replacing packaged ones
    (:func:`costline.optimize.pricing.catalog_for`).

    The telemetry pass (the bulk of the work) runs on its own cursor while this thread reads
    the bill and the catalog; a caller may have started it already (``stats``, from
    :func:`costline.optimize.telemetry.window_stats_started` over the same window)."""
    check_options(opts)
    last = end or telemetry.window_end(con)
    if last is None:
        raise BadInputError(
            "no telemetry loaded",
            location=Location("telemetry"),
            reason="no-telemetry",
            hint="load utilization samples first: costline telemetry load FILE",
        )
    if stats is None:
        with telemetry.window_stats_started(
            con,
            start=last - dt.timedelta(days=opts.lookback_days),
            end=last,
            percentile=opts.percentile,
        ) as started:
            return gather(
                con, opts, catalog=catalog, end=last, pricing_dir=pricing_dir, stats=started
            )
    resources, rates, discounts = _bill(con, opts, end=last)
    if catalog is None:
        providers = tuple(sorted({r[0] for r in resources}))
        catalog = catalog_for(
            pricing_dir, providers, frozenset(normalize_region(r[3]) for r in resources)
        )
    rates.update(list_rates(discounts, catalog))
    return Gathered(resources, rates, catalog, stats.result())


def decide(gathered: Gathered, opts: Options) -> list[Recommendation]:
    """The rules over what :func:`gather` read (no database needed)."""
    usages = [_usage(r, gathered.stats) for r in gathered.resources]
    return recommend(usages, gathered.catalog, options=opts, rates=gathered.rates)


def _usage(resource: tuple[Any, ...], seen: WindowStats) -> Usage:
    """The :class:`Usage` of one billed instance (a row of :data:`RESOURCES_SQL`)."""
    provider, rid, account, region, itype, currency = resource
    key = rid.lower()
    hours, p, peak = seen.cpu.get(key, (0, None, None))
    network, disk = seen.bandwidth.get(key, (None, None))
    # positional, in field order (10,000 a run)
    return Usage(
        provider, rid, account, region, itype, currency,
        hours, p, peak, seen.memory.get(key), network, disk,
    )  # fmt: skip

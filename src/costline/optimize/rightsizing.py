"""Rightsizing of EC2 instances and Azure VMs: the cheapest type that still fits the load.

For every instance or VM the bill shows running (usage rows with a ``ResourceId`` and an
instance type in ``x_InstanceType`` or ``SkuPriceDetails``), over a lookback window of
telemetry (default :data:`LOOKBACK_DAYS` days up to the newest sample):

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
   PricingQuantity`` of that type's usage rows in that region) wins over the list price; a
   type the bill has no rows for is priced at list × the discount the bill shows on the
   current type. Savings per month = (current − new hourly rate) × :data:`HOURS_PER_MONTH`.
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from costline.core.errors import BadInputError, Location
from costline.optimize.pricing import (
    Catalog,
    InstanceType,
    Price,
    catalog_for,
    normalize_region,
)

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
PROVIDERS = ("aws", "azure")


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


@dataclass(frozen=True)
class Usage:
    """One resource: what the bill says it is and what telemetry says it does."""

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


@dataclass
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
        """The values in :data:`COLUMNS` order (a test checks the two agree)."""
        u, c, a = self.usage, self.candidate, self.alternative
        return (
            u.resource_id,
            u.provider,
            u.account,
            u.region,
            u.instance_type,
            self.status,
            self.reason,
            c.spec.name if c else None,
            c.effort if c else None,
            c.monthly_savings if c else None,
            u.currency,
            self.current_hourly,
            c.hourly if c else None,
            c.basis if c else None,
            u.cpu_hours,
            _round(u.cpu_pct),
            _round(u.cpu_max),
            _round(u.memory_pct),
            "measured" if u.memory_pct is not None else "unknown",
            _round(u.network_mbps),
            _round(u.disk_mbps),
            _round(self.projected_cpu_pct),
            _round(self.projected_memory_pct),
            self.risk,
            risk_level(self.risk) if self.risk is not None else None,
            self.confidence,
            a.spec.name if a else None,
            a.effort if a else None,
            a.monthly_savings if a else None,
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
    u = min(projected_cpu / cpu_target, 1.0)
    m = (
        UNKNOWN_MEMORY_TERM
        if projected_memory is None
        else min(projected_memory / memory_target, 1.0)
    )
    s = min(max((projected_peak - 100.0) / 100.0, 0.0), 1.0)
    score = 45 * u + 35 * m + 20 * s + (10 if arch_change else 0) + (10 if burstable else 0)
    return min(100, int(round(score)))


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


def confidence(usage: Usage, *, prices: Sequence[Price], from_bill: bool) -> str:
    """``high`` lowered one level for each of: memory unknown, under a week of CPU hours, a
    ``low``-confidence list price used (floored at ``low``)."""
    level = 0
    level += usage.memory_pct is None
    level += usage.cpu_hours < WEEK_HOURS
    level += (not from_bill) and any(p.confidence == "low" for p in prices)
    return CONFIDENCE[min(level, 2)]


class _Pool:
    """The candidate pool of one provider and region as numpy arrays (built once per run)."""

    def __init__(self, entries: list[tuple[InstanceType, Price]]) -> None:
        # at one price, more vCPU and memory first (e.g. Azure's E4s_v5 before the
        # constrained-core E4-2s_v5 it costs the same as), then the name
        entries = sorted(
            entries,
            key=lambda e: (e[1].usd_per_hour, -e[0].vcpu, -e[0].memory_gib, e[0].name),
        )
        self.entries = entries
        specs = [s for s, _ in entries]
        self.vcpu = np.array([s.vcpu for s in specs], dtype=float)
        self.memory = np.array([s.memory_gib for s in specs], dtype=float)
        self.gpu = np.array([s.gpu_count for s in specs], dtype=int)
        self.burstable = np.array([s.burstable for s in specs], dtype=bool)
        self.network = np.array(
            [np.nan if s.network_mbps is None else s.network_mbps for s in specs], dtype=float
        )
        self.ebs = np.array([np.nan if s.ebs_mbps is None else s.ebs_mbps for s in specs])
        self.eligible = np.array(
            [s.current_generation and not s.bare_metal for s in specs], dtype=bool
        )
        self.arch = np.array([s.arch for s in specs], dtype=object)
        self.family = np.array([s.family for s in specs], dtype=object)
        self.name = np.array([s.name.lower() for s in specs], dtype=object)
        self.index = {s.name.lower(): i for i, s in enumerate(specs)}
        self.codes = {f: k for k, f in enumerate(dict.fromkeys(s.family for s in specs))}
        self.family_code = np.array([self.codes[s.family] for s in specs], dtype=int)
        self.no_seen = np.zeros(len(specs), dtype=bool)
        self._seen: dict[int, tuple[Mapping[str, Decimal], np.ndarray]] = {}

    def seen_mask(self, seen: Mapping[str, Decimal]) -> np.ndarray:
        """The candidates the bill has its own rate for (cached per rate table)."""
        cached = self._seen.get(id(seen))
        if cached is None or cached[0] is not seen:
            cached = (seen, np.array([n in seen for n in self.name], dtype=bool))
            self._seen[id(seen)] = cached
        return cached[1]

    def fits(
        self, currents: Sequence[InstanceType], usages: Sequence[Usage], options: Options
    ) -> np.ndarray:
        """Boolean matrix: row r marks the candidates (pool order: list price, then size)
        that fit resource r running as ``currents[r]`` with the load in ``usages[r]``."""
        vcpu = np.array([c.vcpu for c in currents], dtype=float)
        memory = np.array([c.memory_gib for c in currents], dtype=float)
        cpu = np.array([u.cpu_pct for u in usages], dtype=float)
        mem = np.array([np.nan if u.memory_pct is None else u.memory_pct for u in usages])
        load = (vcpu * cpu)[:, None]  # vCPU-percent of work
        # memory unknown (NaN): the memory may not shrink
        need_memory = np.where(np.isnan(mem), memory, memory * mem / options.memory_target_pct)
        gpu = np.array([c.gpu_count for c in currents], dtype=int)
        mask = self.eligible & (self.gpu == gpu[:, None])
        mask &= self.vcpu * options.cpu_target_pct >= load
        mask &= self.memory >= need_memory[:, None]
        mask &= ~self.burstable | (load <= options.burstable_baseline_pct * self.vcpu)
        # measured network / disk throughput must fit the candidate's baseline bandwidth
        # (a candidate without a published bandwidth is not held back)
        share = options.bandwidth_target_pct / 100
        for have, wanted in (
            (self.network, [u.network_mbps for u in usages]),
            (self.ebs, [u.disk_mbps for u in usages]),
        ):
            need = np.array([np.nan if w is None else w / share for w in wanted], dtype=float)
            mask &= np.isnan(need)[:, None] | np.isnan(have) | (have >= need[:, None])
        if not options.allow_arch_change:
            arch = np.array([c.arch for c in currents], dtype=object)
            mask &= self.arch == arch[:, None]
        # a GPU machine keeps its GPU model: only sizes of its own family
        gpu_rows = (gpu > 0)[:, None]
        mask &= ~gpu_rows | self.families([c.family for c in currents])
        rows = np.arange(len(currents))
        itself = np.array([self.index.get(c.name.lower(), -1) for c in currents], dtype=int)
        mask[rows[itself >= 0], itself[itself >= 0]] = False
        result: np.ndarray = mask
        return result

    def families(self, families: Sequence[str]) -> np.ndarray:
        """Boolean matrix: row r marks the candidates of family ``families[r]``."""
        wanted = np.array([self.codes.get(f, -1) for f in families], dtype=int)
        result: np.ndarray = self.family_code == wanted[:, None]
        return result


@dataclass(frozen=True)
class _Ready:
    """A resource past the data and price checks, waiting for the candidate search."""

    usage: Usage
    current: InstanceType
    pricing: _Pricing


CHUNK = 2048  # resources per candidate matrix (CHUNK × pool size booleans)


def recommend(
    usages: Sequence[Usage],
    catalog: Catalog,
    *,
    options: Options | None = None,
    rates: Mapping[tuple[str, str, str, str], Decimal] | None = None,
) -> list[Recommendation]:
    """Rightsize every resource. ``rates`` maps (provider, type, region, currency), all
    lower-cased with the region normalized, to the hourly effective rate seen in the bill.
    Sorted by monthly savings, largest first."""
    opts = options or Options()
    by_place: dict[tuple[str, str, str], dict[str, Decimal]] = {}
    for (provider, name, region, currency), rate in (rates or {}).items():
        by_place.setdefault((provider, region, currency), {})[name] = rate
    out: list[Recommendation] = []
    ready: dict[tuple[str, str], list[_Ready]] = {}
    for usage in usages:
        key = (usage.provider, normalize_region(usage.region))
        seen = by_place.get((*key, usage.currency.upper()), {})
        checked = _precheck(usage, catalog, opts, seen)
        if isinstance(checked, Recommendation):
            out.append(checked)
        else:
            ready.setdefault(key, []).append(checked)
    for key, group in ready.items():
        pool = _Pool(catalog.priced_types(*key))
        for at in range(0, len(group), CHUNK):
            chunk = group[at : at + CHUNK]
            masks = pool.fits([r.current for r in chunk], [r.usage for r in chunk], opts)
            family = pool.families([r.current.family for r in chunk])
            same = masks & family
            firsts = zip(_first(masks), _first(same), strict=True)
            # the fits the bill has its own rate for, per row (any family, same family)
            seen = masks & np.stack(
                [pool.seen_mask(r.pricing.seen) if r.pricing.seen else pool.no_seen for r in chunk]
            )
            seen_any, seen_same = _row_indices(seen), _row_indices(seen & family)
            out += [
                _choose(r, pool, first, (seen_any[k], seen_same[k]), opts)
                for k, (r, first) in enumerate(zip(chunk, firsts, strict=True))
            ]
    return sorted(
        out,
        key=lambda r: (
            -(r.candidate.monthly_savings if r.candidate else Decimal(-1)),
            r.usage.resource_id,
        ),
    )


def _precheck(
    usage: Usage, catalog: Catalog, opts: Options, seen: Mapping[str, Decimal]
) -> Recommendation | _Ready:
    """The final answer for a resource the rules stop early, else what the search needs."""
    current = catalog.instance_type(usage.provider, usage.instance_type)
    if current is None:
        return Recommendation(usage, "skipped", f"{usage.instance_type} is not in the catalog")
    if usage.cpu_pct is None or usage.cpu_hours == 0:
        return Recommendation(usage, "skipped", "no cpu_percent telemetry in the lookback")
    if usage.cpu_hours < opts.min_hours:
        return Recommendation(
            usage,
            "insufficient-data",
            f"{usage.cpu_hours} hours of CPU samples in the lookback, {opts.min_hours} needed",
        )
    current_list = catalog.price(usage.provider, usage.instance_type, usage.region)
    observed = seen.get(usage.instance_type.lower())
    if current_list is None and observed is None:
        return Recommendation(
            usage, "skipped", f"no price for {usage.instance_type} in {usage.region}"
        )
    pricing = _Pricing(current_list, observed, seen)
    if usage.cpu_pct > opts.cpu_target_pct:
        return Recommendation(
            usage,
            "no-action",
            f"CPU p{opts.percentile:g} {usage.cpu_pct:.1f} % is above the "
            f"{opts.cpu_target_pct:g} % target",
            current_hourly=pricing.current_hourly,
        )
    return _Ready(usage, current, pricing)


def _first(masks: np.ndarray) -> list[int]:
    """Per row, the index of the first True (the cheapest fit by list price), -1 if none."""
    first = np.argmax(masks, axis=1)
    return [int(f) for f in np.where(masks.any(axis=1), first, -1)]


def _row_indices(matrix: np.ndarray) -> list[np.ndarray]:
    """Per row, the column indices of its True cells (ascending)."""
    rows, cols = np.nonzero(matrix)
    counts = np.bincount(rows, minlength=matrix.shape[0])
    return np.split(cols, np.cumsum(counts)[:-1])


def _choose(
    ready: _Ready,
    pool: _Pool,
    first: tuple[int, int],
    seen: tuple[np.ndarray, np.ndarray],
    opts: Options,
) -> Recommendation:
    """Same family first, else the cheapest of any family; the latter is the alternative.
    ``first`` holds the cheapest fit by list price of any family and of the same family,
    ``seen`` the fits with a rate in the bill (any family, same family)."""
    usage, current, pricing = ready.usage, ready.current, ready.pricing
    best = _cheapest(pool, first[0], seen[0], current, pricing)
    same = _cheapest(pool, first[1], seen[1], current, pricing)
    chosen = same or best
    if chosen is None:
        return Recommendation(
            usage,
            "no-action",
            "no cheaper type fits the load",
            current_hourly=pricing.current_hourly,
        )
    alternative = best if best is not None and best.spec.name != chosen.spec.name else None
    return _recommendation(usage, current, chosen, alternative, pricing.current_hourly, opts)


def _recommendation(
    usage: Usage,
    current: InstanceType,
    chosen: Candidate,
    alternative: Candidate | None,
    current_hourly: Decimal,
    opts: Options,
) -> Recommendation:
    assert usage.cpu_pct is not None and usage.cpu_max is not None
    factor = current.vcpu / chosen.spec.vcpu
    mem_factor = current.memory_gib / chosen.spec.memory_gib
    projected_memory = None if usage.memory_pct is None else usage.memory_pct * mem_factor
    risk = risk_score(
        projected_cpu=usage.cpu_pct * factor,
        projected_peak=usage.cpu_max * factor,
        projected_memory=projected_memory,
        arch_change=chosen.spec.arch != current.arch,
        burstable=chosen.spec.burstable,
        cpu_target=opts.cpu_target_pct,
        memory_target=opts.memory_target_pct,
    )
    basis_bill = chosen.basis == "bill"
    return Recommendation(
        usage,
        "recommended",
        f"CPU p{opts.percentile:g} {usage.cpu_pct:.1f} % of {current.vcpu:g} vCPU"
        + ("" if usage.memory_pct is not None else "; memory unknown"),
        candidate=chosen,
        alternative=alternative,
        current_hourly=current_hourly,
        projected_cpu_pct=usage.cpu_pct * factor,
        projected_memory_pct=projected_memory,
        risk=risk,
        confidence=confidence(usage, prices=[chosen.price], from_bill=basis_bill),
    )


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

    def hourly(self, price: Price) -> tuple[Decimal, str]:
        """The candidate's hourly rate and where it came from."""
        seen = self.seen.get(price.instance_type.lower())
        if seen is not None:
            return seen, "bill"
        if self.observed is not None and self.current_list is not None:
            ratio = self.observed / self.current_list.usd_per_hour
            return price.usd_per_hour * ratio, "list × bill discount"
        return price.usd_per_hour, "list"


def _cheapest(
    pool: _Pool, first: int, seen: np.ndarray, current: InstanceType, pricing: _Pricing
) -> Candidate | None:
    """The fitting candidate with the lowest hourly rate that saves money. The pool is in list
    price order, so only the first fit (``first``) and the fits the bill has its own rate for
    (``seen``, ascending) can win; ties go to the earlier one (cheaper list price, bigger size).
    Saving money is monotone in the rate, so the lowest rate is the only one to check."""
    if first < 0:
        return None
    best, (rate, basis) = first, pricing.hourly(pool.entries[first][1])
    if len(seen):
        rates = pricing.seen
        for i in seen.tolist():
            if i != first:
                other = rates[pool.name[i]]
                if other < rate:
                    best, rate, basis = i, other, "bill"
    savings = ((pricing.current_hourly - rate) * HOURS_PER_MONTH).quantize(Decimal("0.01"))
    if savings <= 0:
        return None
    spec, price = pool.entries[best]
    return Candidate(spec, price, rate, basis, savings, effort(current, spec))


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


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


def window_end(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """The newest telemetry sample (the lookback ends there)."""
    row = con.execute('SELECT max("timestamp") FROM telemetry').fetchone()
    return None if row is None else row[0]


def collect(
    con: duckdb.DuckDBPyConnection, opts: Options, *, end: dt.datetime
) -> tuple[list[Usage], dict[tuple[str, str, str, str], Decimal]]:
    """Resources from the bill joined with their telemetry percentiles over the lookback,
    and the effective hourly rates the bill shows per provider, type, region, currency."""
    start = end - dt.timedelta(days=opts.lookback_days)
    bill_start = end - dt.timedelta(days=max(opts.lookback_days, RATE_DAYS))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rs_bill AS SELECT x_Provider AS provider, "
        "ResourceId AS resource_id, SubAccountId AS account, RegionId AS region, "
        f"{INSTANCE_TYPE_SQL} AS instance_type, BillingCurrency AS currency, "
        "ChargePeriodStart AS t, EffectiveCost AS cost, "
        "coalesce(PricingQuantity, ConsumedQuantity) AS q FROM cost "
        "WHERE ChargeCategory = 'Usage' AND x_Provider IN ('aws', 'azure') "
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
                "FROM _rs_bill WHERE instance_type IS NOT NULL AND q > 0 AND cost >= 0 "
                "GROUP BY ALL HAVING sum(q) > 0"
            ).fetchall()
        }
        resources = con.execute(RESOURCES_SQL).fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS _rs_bill")
    cpu, memory = _telemetry_stats(con, opts, start=start, end=end)
    bandwidth = _bandwidth(con, start=start, end=end)
    usages = []
    for provider, rid, account, region, itype, currency in resources:
        hours, p, peak = cpu.get(rid.lower(), (0, None, None))
        network, disk = bandwidth.get(rid.lower(), (None, None))
        usages.append(
            Usage(
                provider=provider,
                resource_id=rid,
                account=account,
                region=region,
                instance_type=itype,
                currency=currency,
                cpu_hours=hours,
                cpu_pct=p,
                cpu_max=peak,
                memory_pct=memory.get(rid.lower()),
                network_mbps=network,
                disk_mbps=disk,
            )
        )
    return usages, rates


# Latest type, region, account and currency of every billed instance.
RESOURCES_SQL = """
SELECT provider, resource_id, arg_max(account, t), arg_max(region, t),
       arg_max(instance_type, t), arg_max(currency, t)
FROM _rs_bill WHERE instance_type IS NOT NULL GROUP BY provider, resource_id
ORDER BY provider, resource_id"""


def _telemetry_stats(
    con: duckdb.DuckDBPyConnection, opts: Options, *, start: dt.datetime, end: dt.datetime
) -> tuple[dict[str, tuple[int, float | None, float | None]], dict[str, float]]:
    """One grouped pass per metric over the window ``(start, end]``: CPU percentile and
    maximum, memory percentile; and the clock hours with a CPU sample, counted in
    ``telemetry_hours`` (hours starting after ``start``, up to ``end``; exact for windows that
    start on the hour, at most one hour short otherwise). Keyed by the lower-cased resource id.
    """
    window = '"timestamp" > $start AND "timestamp" <= $end'
    params = {"start": start, "end": end, "p": opts.percentile / 100}
    hours = dict(
        con.execute(
            "SELECT lower(resource_id), count(*) FROM telemetry_hours WHERE metric = "
            "'cpu_percent' AND hour > $start AND hour <= $end GROUP BY 1",
            {"start": start, "end": end},
        ).fetchall()
    )
    cpu: dict[str, tuple[int, float | None, float | None]] = {}
    for rid, (p, peak) in con.execute(
        "SELECT resource_id, quantile_cont(value, [$p, 1.0]) FROM telemetry "
        f"WHERE metric = 'cpu_percent' AND {window} GROUP BY resource_id",
        params,
    ).fetchall():
        key = rid.lower()
        cpu.setdefault(key, (int(hours.get(key, 0)), float(p), float(peak)))
    memory = {
        rid.lower(): float(p)
        for rid, p in con.execute(
            "SELECT resource_id, quantile_cont(value, $p) FROM telemetry "
            f"WHERE metric = 'memory_percent' AND {window} GROUP BY resource_id",
            params,
        ).fetchall()
    }
    return cpu, memory


BANDWIDTH_METRICS = ("network_in_bytes", "network_out_bytes", "disk_read_bytes", "disk_write_bytes")


def _bandwidth(
    con: duckdb.DuckDBPyConnection, *, start: dt.datetime, end: dt.datetime
) -> dict[str, tuple[float | None, float | None]]:
    """Per resource (lower-cased id) the busiest clock hour's average network (in + out) and
    disk (read + write) throughput over ``(start, end]``, in megabits per second."""
    metrics = ", ".join(f"'{m}'" for m in BANDWIDTH_METRICS)
    got = con.execute(
        "SELECT resource_id, max(bytes) FILTER (WHERE kind = 'net'), "
        "max(bytes) FILTER (WHERE kind = 'disk') FROM (SELECT resource_id, "
        "date_trunc('hour', \"timestamp\") AS h, CASE WHEN metric LIKE 'network%' THEN 'net' "
        "ELSE 'disk' END AS kind, sum(value) AS bytes FROM telemetry "
        f'WHERE metric IN ({metrics}) AND "timestamp" > ? AND "timestamp" <= ? '
        "GROUP BY ALL) GROUP BY resource_id",
        [start, end],
    ).fetchall()

    def mbps(hourly_bytes: float | None) -> float | None:
        return None if hourly_bytes is None else float(hourly_bytes) * 8 / 3600 / 1e6

    return {rid.lower(): (mbps(net), mbps(disk)) for rid, net, disk in got}


def rightsize(
    con: duckdb.DuckDBPyConnection,
    opts: Options,
    *,
    catalog: Catalog | None = None,
    end: dt.datetime | None = None,
    pricing_dir: Path | None = None,
) -> list[Recommendation]:
    """Collect from the warehouse and run the rules (the façade's entry point). The lookback
    ends at ``end``, by default the newest telemetry sample; without ``catalog`` the packaged
    one is read for the providers the bill has, with the workspace's refreshed prices in
    ``pricing_dir`` replacing packaged ones (:func:`costline.optimize.pricing.catalog_for`)."""
    check_options(opts)
    last = end or window_end(con)
    if last is None:
        raise BadInputError(
            "no telemetry loaded",
            location=Location("telemetry"),
            reason="no-telemetry",
            hint="load utilization samples first: costline telemetry load FILE",
        )
    usages, rates = collect(con, opts, end=last)
    if catalog is None:
        catalog = catalog_for(pricing_dir, tuple(sorted({u.provider for u in usages})))
    return recommend(usages, catalog, options=opts, rates=rates)

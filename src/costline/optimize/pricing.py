"""The pricing catalog: instance types and their on-demand list prices per region.

Rightsizing needs two facts about every instance type a resource could move to: its shape
(vCPU, memory, GPUs, CPU architecture, family, generation, burstable or not) and what it costs
per hour in the resource's region. This module reads both from the packaged, offline snapshot
in ``costline/optimize/data`` (gzipped, byte-for-byte copies of the public files described in
``data/SOURCES.md``; Apache-2.0 upstream):

* AWS EC2: specs of 1,377 types, Linux on-demand USD/hour in 12 regions;
* Azure VMs: specs of 1,370 sizes, Linux on-demand USD/hour in 12 regions.

Every price keeps its upstream ``source``, ``as_of`` date and ``confidence`` (``high``,
``medium`` or ``low``; see ``data/SOURCES.md``): AWS us-east-1 and all Azure rows are
``high``, other AWS regions come from an older list and are ``medium`` or ``low``.
GCP is not in the catalog: its machine specs are CC BY-SA 4.0 and rightsizing covers EC2 and
Azure VMs only (see docs/concepts/rightsizing.md).

List prices are only the fallback: rightsizing prices savings at the customer's own effective
rate observed in the bill (:mod:`costline.optimize.rightsizing`).

``costline pricing refresh`` (:mod:`costline.optimize.pricing_refresh`) writes fresher prices
from the providers' public price APIs into the workspace (``<workspace>/pricing``, the same
file names and columns as the packaged price files). :func:`catalog_for` merges them: a
workspace price replaces the packaged one of the same (provider, region, type); every other
packaged price, and all specs, stay as shipped.

Example:
    >>> catalog = load_catalog()
    >>> m5 = catalog.instance_type("aws", "m5.2xlarge")
    >>> (m5.vcpu, m5.memory_gib, m5.arch, m5.family)
    (8.0, 32.0, 'amd64', 'm5')
    >>> catalog.price("aws", "m5.2xlarge", "us-east-1").usd_per_hour
    Decimal('0.384')
"""

from __future__ import annotations

import csv
import difflib
import gzip
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from costline.core.errors import BadInputError, ConfigError, Location

DATA_DIR = Path(__file__).parent / "data"
PROVIDERS = ("aws", "azure")
FILES = {
    ("aws", "specs"): "aws_ec2_instance_specs.csv.gz",
    ("aws", "prices"): "aws_ec2_ondemand_linux_usd_per_hour.csv.gz",
    ("azure", "specs"): "azure_vm_specs.csv.gz",
    ("azure", "prices"): "azure_vm_ondemand_linux_usd_per_hour.csv.gz",
}
NAME_COLUMN = {"aws": "instance_type", "azure": "vm_size"}
PRICE_COLUMNS = {
    p: ("provider", NAME_COLUMN[p], "region", "usd_per_hour", "source", "as_of", "confidence")
    for p in PROVIDERS
}
CONFIDENCES = ("high", "medium", "low")
_AZURE_GENERATION = re.compile(r"_v(\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class InstanceType:
    """The shape of one instance type / VM size (memory in GiB)."""

    provider: str
    name: str
    family: str
    generation: int | None
    vcpu: float
    memory_gib: float
    gpu_count: int
    arch: str  # amd64 | arm64
    burstable: bool
    current_generation: bool
    bare_metal: bool
    # baseline bandwidths in megabits per second (AWS; None: not published in the catalog)
    network_mbps: float | None = None
    ebs_mbps: float | None = None


@dataclass(frozen=True)
class Price:
    """The on-demand Linux list price of one type in one region, with its provenance."""

    provider: str
    instance_type: str
    region: str
    usd_per_hour: Decimal
    source: str
    as_of: str
    confidence: str  # high | medium | low


class Catalog:
    """Instance types and list prices, looked up case-insensitively by provider, name and
    region (Azure regions also match with spaces, e.g. ``East US`` = ``eastus``)."""

    def __init__(self, types: list[InstanceType], prices: list[Price]) -> None:
        self._types = {(t.provider, t.name.lower()): t for t in types}
        self._prices = {
            (p.provider, normalize_region(p.region), p.instance_type.lower()): p for p in prices
        }
        self._by_region: dict[tuple[str, str], list[tuple[InstanceType, Price]]] = {}
        for (provider, region, name), price in self._prices.items():
            spec = self._types.get((provider, name))
            if spec is not None:
                self._by_region.setdefault((provider, region), []).append((spec, price))

    def instance_type(self, provider: str, name: str) -> InstanceType | None:
        return self._types.get((provider.lower(), name.lower()))

    def price(self, provider: str, name: str, region: str) -> Price | None:
        return self._prices.get((provider.lower(), normalize_region(region), name.lower()))

    def priced_types(self, provider: str, region: str) -> list[tuple[InstanceType, Price]]:
        """Every type with both a spec and a price in ``region`` (the candidate pool)."""
        return self._by_region.get((provider.lower(), normalize_region(region)), [])

    def regions(self, provider: str) -> list[str]:
        return sorted({r for p, r in self._by_region if p == provider.lower()})

    def prices_of(self, provider: str, name: str) -> list[Price]:
        """Every region's price of one type, by region."""
        key = (provider.lower(), name.lower())
        return sorted(
            (p for (prov, _, n), p in self._prices.items() if (prov, n) == key),
            key=lambda p: normalize_region(p.region),
        )

    def prices(self) -> list[Price]:
        """Every price, one per (provider, region, type)."""
        return list(self._prices.values())

    def with_prices(self, prices: Iterable[Price]) -> Catalog:
        """A copy whose ``prices`` replace those of the same (provider, region, type)."""
        return Catalog(list(self._types.values()), [*self._prices.values(), *prices])

    def __len__(self) -> int:
        return len(self._types)


def normalize_region(region: str) -> str:
    """``East US`` → ``eastus``; AWS codes are unchanged (``us-east-1``)."""
    return region.strip().lower().replace(" ", "")


@lru_cache(maxsize=8)
def load_catalog(providers: tuple[str, ...] = PROVIDERS, data_dir: Path | None = None) -> Catalog:
    """The packaged catalog of ``providers`` (read once per process and cached)."""
    folder = data_dir or DATA_DIR
    types: list[InstanceType] = []
    prices: list[Price] = []
    if "aws" in providers:
        types += _aws_types(folder)
        prices += _prices(folder, "aws")
    if "azure" in providers:
        types += _azure_types(folder)
        prices += _prices(folder, "azure")
    return Catalog(types, prices)


def price_file(folder: Path, provider: str) -> Path:
    """The price file of ``provider`` in ``folder`` (packaged data or a workspace's pricing)."""
    return folder / FILES[(provider, "prices")]


def catalog_for(pricing_dir: Path | None, providers: tuple[str, ...] = PROVIDERS) -> Catalog:
    """The catalog in effect for a workspace: the packaged one, with the prices of the
    workspace's refreshed price files (``pricing_dir``, see ``costline pricing refresh``)
    replacing the packaged price of the same (provider, region, type). Cached per file
    version, so a refresh is seen by the next call."""
    if pricing_dir is None:
        return load_catalog(providers)
    stamps = tuple((p, _stamp(price_file(pricing_dir, p))) for p in providers)
    if all(stamp is None for _, stamp in stamps):
        return load_catalog(providers)
    return _merged(providers, pricing_dir, stamps)


def workspace_prices(pricing_dir: Path, provider: str) -> tuple[Price, ...]:
    """The refreshed prices of ``provider`` in ``pricing_dir`` (none without a file)."""
    path = price_file(pricing_dir, provider)
    stamp = _stamp(path)
    return () if stamp is None else _read_checked(path, provider, stamp)


def packaged_prices(provider: str) -> tuple[Price, ...]:
    """The packaged price rows of ``provider``."""
    return tuple(_prices(DATA_DIR, provider))


STATUS_COLUMNS = [
    "provider",
    "region",
    "workspace_prices",
    "packaged_prices",
    "as_of",
    "confidence",
    "source",
]
SHOW_COLUMNS = [
    "provider",
    "instance_type",
    "region",
    "usd_per_hour",
    "origin",
    "as_of",
    "confidence",
    "source",
]


def status(pricing_dir: Path | None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Per provider and region, the prices in effect: how many come from the workspace's
    refreshed files and how many are still packaged, their dates, confidence and sources."""
    merged = catalog_for(pricing_dir)
    refreshed = _workspace_keys(pricing_dir)
    groups: dict[tuple[str, str], list[Price]] = {}
    for price in merged.prices():
        groups.setdefault((price.provider, normalize_region(price.region)), []).append(price)
    rows: list[tuple[Any, ...]] = []
    for (provider, region), prices in sorted(groups.items()):
        ours = [p for p in prices if _key(p) in refreshed]
        rows.append(
            (
                provider,
                region,
                len(ours),
                len(prices) - len(ours),
                _span(p.as_of for p in prices),
                ", ".join(c for c in CONFIDENCES if any(p.confidence == c for p in prices)),
                ", ".join(sorted({p.source for p in prices})),
            )
        )
    return STATUS_COLUMNS, rows


def show(
    pricing_dir: Path | None, name: str, *, region: str | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The price in effect for one instance type / VM size in every region (or ``region``),
    with its origin: ``workspace`` (refreshed) or ``packaged``."""
    merged = catalog_for(pricing_dir)
    refreshed = _workspace_keys(pricing_dir)
    found = [p for provider in PROVIDERS for p in merged.prices_of(provider, name.strip())]
    if not found:
        names = {p.instance_type.lower(): p.instance_type for p in merged.prices()}
        close = difflib.get_close_matches(name.strip().lower(), names, n=3)
        raise ConfigError(
            f"no list price for instance type {name!r}",
            hint=(f"did you mean {', '.join(names[c] for c in close)}? " if close else "")
            + "name an EC2 instance type (m5.large) or an Azure VM size (Standard_D2s_v5)",
        )
    rows = [
        p for p in found if region is None or normalize_region(p.region) == normalize_region(region)
    ]
    if not rows:
        raise ConfigError(
            f"{name} has no list price in region {region!r}",
            hint="it is priced in " + ", ".join(p.region for p in found),
        )
    return SHOW_COLUMNS, [
        (
            p.provider,
            p.instance_type,
            p.region,
            p.usd_per_hour,
            "workspace" if _key(p) in refreshed else "packaged",
            p.as_of,
            p.confidence,
            p.source,
        )
        for p in rows
    ]


def _key(p: Price) -> tuple[str, str, str]:
    return (p.provider, normalize_region(p.region), p.instance_type.lower())


def _workspace_keys(pricing_dir: Path | None) -> set[tuple[str, str, str]]:
    if pricing_dir is None:
        return set()
    return {_key(p) for provider in PROVIDERS for p in workspace_prices(pricing_dir, provider)}


def _span(dates: Iterable[str]) -> str:
    """``2025-03-02`` or ``2025-03-02..2026-07-20``."""
    distinct = sorted(set(dates))
    return distinct[0] if len(distinct) == 1 else f"{distinct[0]}..{distinct[-1]}"


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=8)
def _merged(
    providers: tuple[str, ...],
    pricing_dir: Path,
    stamps: tuple[tuple[str, tuple[int, int] | None], ...],
) -> Catalog:
    override = [
        price
        for provider, stamp in stamps
        if stamp is not None
        for price in _read_checked(price_file(pricing_dir, provider), provider, stamp)
    ]
    return load_catalog(providers).with_prices(override)


@lru_cache(maxsize=8)
def _read_checked(path: Path, provider: str, stamp: tuple[int, int]) -> tuple[Price, ...]:
    """A workspace price file, checked row by row (it may have been edited by hand)."""
    del stamp  # part of the cache key only
    fix = (
        f"run `costline pricing refresh --provider {provider}` again, or delete {path} "
        "to use the packaged prices"
    )

    def bad(message: str, row: int | None = None, column: str | None = None) -> BadInputError:
        return BadInputError(
            message,
            location=Location(str(path), row=row, column=column),
            reason="bad-price-file",
            hint=fix,
        )

    out = []
    try:
        with gzip.open(path, "rt", newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in PRICE_COLUMNS[provider] if c not in (reader.fieldnames or [])]
            if missing:
                raise bad(f"missing column {missing[0]!r}", column=missing[0])
            for n, r in enumerate(reader, start=1):
                if r["provider"] != provider:
                    raise bad(f"provider must be {provider!r}", n, "provider")
                if not r[NAME_COLUMN[provider]] or not r["region"]:
                    column = "region" if r[NAME_COLUMN[provider]] else NAME_COLUMN[provider]
                    raise bad("empty value", n, column)
                try:
                    usd = Decimal(r["usd_per_hour"])
                except (InvalidOperation, TypeError):
                    usd = Decimal("NaN")
                if not usd.is_finite() or usd <= 0:
                    raise bad(
                        f"usd_per_hour {r['usd_per_hour']!r} is not a positive number",
                        n,
                        "usd_per_hour",
                    )
                if r["confidence"] not in CONFIDENCES:
                    raise bad(
                        f"confidence must be one of {', '.join(CONFIDENCES)}", n, "confidence"
                    )
                out.append(
                    Price(
                        provider=provider,
                        instance_type=r[NAME_COLUMN[provider]],
                        region=r["region"],
                        usd_per_hour=usd,
                        source=r["source"],
                        as_of=r["as_of"],
                        confidence=r["confidence"],
                    )
                )
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise bad(f"cannot be read ({exc})") from exc
    return tuple(out)


def _rows(folder: Path, provider: str, kind: str) -> Iterator[dict[str, str]]:
    with gzip.open(folder / FILES[(provider, kind)], "rt", newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def _aws_types(folder: Path) -> Iterator[InstanceType]:
    for r in _rows(folder, "aws", "specs"):
        if not r["vcpu"] or not r["memory_gib"]:
            continue
        yield InstanceType(
            provider="aws",
            name=r["instance_type"],
            family=r["family"],
            generation=int(r["generation"]) if r["generation"].isdigit() else None,
            vcpu=float(r["vcpu"]),
            memory_gib=float(r["memory_gib"]),
            gpu_count=int(r["gpu_count"] or 0),
            arch=r["arch"],
            burstable=r["burstable"] == "true",
            # AWS's own flag; empty (unknown) counts as current
            current_generation=r["current_generation_per_aws_pricelist"] != "false",
            bare_metal=r["size"].startswith("metal") or r["category"] == "mac",
            network_mbps=float(r["network_bandwidth_mbps"])
            if r["network_bandwidth_mbps"]
            else None,
            ebs_mbps=float(r["ebs_bandwidth_mbps"]) if r["ebs_bandwidth_mbps"] else None,
        )


def _azure_types(folder: Path) -> Iterator[InstanceType]:
    for r in _rows(folder, "azure", "specs"):
        generation = _AZURE_GENERATION.search(r["vm_size"])
        yield InstanceType(
            provider="azure",
            name=r["vm_size"],
            family=r["sku_family"],
            generation=int(generation.group(1)) if generation else 1,
            vcpu=float(r["vcpu"]),
            memory_gib=float(r["memory_gib"]),
            gpu_count=int(r["gpu_count"] or 0),
            arch=r["arch"],
            # the B-series (standardBSFamily, standardBsv2Family, ...) earns and spends CPU credits
            burstable=r["sku_family"].lower().startswith("standardb"),
            current_generation=True,
            bare_metal=False,
        )


def _prices(folder: Path, provider: str) -> Iterator[Price]:
    for r in _rows(folder, provider, "prices"):
        yield Price(
            provider=provider,
            instance_type=r[NAME_COLUMN[provider]],
            region=r["region"],
            usd_per_hour=Decimal(r["usd_per_hour"]),
            source=r["source"],
            as_of=r["as_of"],
            confidence=r["confidence"],
        )

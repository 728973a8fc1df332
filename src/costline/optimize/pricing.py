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
import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
PROVIDERS = ("aws", "azure")
FILES = {
    ("aws", "specs"): "aws_ec2_instance_specs.csv.gz",
    ("aws", "prices"): "aws_ec2_ondemand_linux_usd_per_hour.csv.gz",
    ("azure", "specs"): "azure_vm_specs.csv.gz",
    ("azure", "prices"): "azure_vm_ondemand_linux_usd_per_hour.csv.gz",
}
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
        prices += _prices(folder, "aws", "instance_type")
    if "azure" in providers:
        types += _azure_types(folder)
        prices += _prices(folder, "azure", "vm_size")
    return Catalog(types, prices)


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


def _prices(folder: Path, provider: str, name_column: str) -> Iterator[Price]:
    for r in _rows(folder, provider, "prices"):
        yield Price(
            provider=provider,
            instance_type=r[name_column],
            region=r["region"],
            usd_per_hour=Decimal(r["usd_per_hour"]),
            source=r["source"],
            as_of=r["as_of"],
            confidence=r["confidence"],
        )

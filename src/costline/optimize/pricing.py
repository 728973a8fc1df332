"""The pricing catalog: instance types and their on-demand list prices per region.

Rightsizing needs two facts about every instance type a resource could move to: its shape
(vCPU, memory, GPUs, CPU architecture, family, generation, burstable or not) and what it costs
per hour in the resource's region. This module reads both from the packaged, offline snapshot
in ``costline/optimize/data`` (gzipped, byte-for-byte copies of the public files described in
``data/SOURCES.md``; Apache-2.0 upstream):

* AWS EC2: specs of 1,377 types, Linux on-demand USD/hour in 12 regions;
* Azure VMs: specs of 1,370 sizes, Linux on-demand USD/hour in 12 regions;
* GCP Compute Engine: the us-central1 list price of 233 predefined machine types, with the
  per-series vCPU and memory rates. No GCP spec table is shipped (the public one is CC BY-SA
  4.0): each type's shape is derived at load time from its name and price
  (:mod:`costline.optimize.gcp_shapes`); the few it cannot give reliably are left out
  (:func:`gcp_left_out`).

Every price keeps its upstream ``source``, ``as_of`` date and ``confidence`` (``high``,
``medium`` or ``low``; see ``data/SOURCES.md``): AWS us-east-1 and all Azure rows are
``high``, other AWS regions come from an older list and are ``medium`` or ``low``. GCP's
us-central1 list (cluster-autoscaler's approximation of Google's list) is ``medium``; every
other GCP region has no list of its own and is priced at the us-central1 price as a ``low``
confidence proxy (:data:`PROXY_REGION`; rightsizing prices savings at the bill's own rate,
and the choice between candidates depends on price ratios, which are similar across regions).

List prices are only the fallback: rightsizing prices savings at the customer's own effective
rate observed in the bill (:mod:`costline.optimize.rightsizing`).

``costline pricing refresh`` (:mod:`costline.optimize.pricing_refresh`) writes fresher prices
from the providers' public price APIs into the workspace (``<workspace>/pricing``, the same
file names and columns as the packaged price files) for AWS and Azure (:data:`REFRESHABLE`;
GCP's Cloud Billing Catalog API needs an API key). :func:`catalog_for` merges them: a
workspace price replaces the packaged one of the same (provider, region, type); every other
packaged price, and all specs, stay as shipped.

Example:
    >>> catalog = load_catalog()
    >>> m5 = catalog.instance_type("aws", "m5.2xlarge")
    >>> (m5.vcpu, m5.memory_gib, m5.arch, m5.family)
    (8.0, 32.0, 'amd64', 'm5')
    >>> catalog.price("aws", "m5.2xlarge", "us-east-1").usd_per_hour
    Decimal('0.384')
    >>> n2 = catalog.instance_type("gcp", "n2-standard-8")
    >>> (n2.vcpu, n2.memory_gib, n2.family, n2.current_generation)
    (8.0, 32.0, 'n2-standard', True)
    >>> [(p.region, p.usd_per_hour, p.confidence) for p in (
    ...     catalog.price("gcp", "n2-standard-8", "us-central1"),
    ...     catalog.price("gcp", "n2-standard-8", "europe-west1"))]
    [('us-central1', Decimal('0.3885'), 'medium'), ('europe-west1', Decimal('0.3885'), 'low')]
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import gzip
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from costline.core.errors import BadInputError, ConfigError, Location
from costline.optimize import gcp_shapes

DATA_DIR = Path(__file__).parent / "data"
PROVIDERS = ("aws", "azure", "gcp")
# the providers `costline pricing refresh` reads (GCP's Cloud Billing Catalog API needs a key)
REFRESHABLE = ("aws", "azure")
FILES = {
    ("aws", "specs"): "aws_ec2_instance_specs.csv.gz",
    ("aws", "prices"): "aws_ec2_ondemand_linux_usd_per_hour.csv.gz",
    ("azure", "specs"): "azure_vm_specs.csv.gz",
    ("azure", "prices"): "azure_vm_ondemand_linux_usd_per_hour.csv.gz",
    ("gcp", "prices"): "gcp_machine_ondemand_usd_per_hour.csv.gz",
    ("gcp", "component_rates"): "gcp_family_component_rates.csv.gz",
    ("gcp", "gpus"): "gcp_gpu_attach_usd_per_hour.csv.gz",
}
NAME_COLUMN = {"aws": "instance_type", "azure": "vm_size", "gcp": "machine_type"}
PRICE_COLUMNS = {
    p: ("provider", NAME_COLUMN[p], "region", "usd_per_hour", "source", "as_of", "confidence")
    for p in REFRESHABLE
}
CONFIDENCES = ("high", "medium", "low")
# A provider whose list covers one region: every other region is priced at that region's list
# price, at confidence ``low`` (see the module docstring).
PROXY_REGION = {"gcp": "us-central1"}
# what a region code of such a provider looks like (europe-west1; not AWS's eu-west-1)
PROXY_REGION_CODE = {"gcp": re.compile(r"[a-z]+-[a-z]+\d+")}
# the GCP list (gcp_machine_ondemand_usd_per_hour.csv has no provenance columns; SOURCES.md)
GCP_SOURCE = "cluster-autoscaler-gce_price_info.go"
GCP_AS_OF = "2026-06-22"
GCP_CONFIDENCE = "medium"
_GCP_REAL_PRICE = re.compile(r"real (\d+\.\d+)")
_AZURE_GENERATION = re.compile(r"_v(\d+)$", re.IGNORECASE)
log = logging.getLogger("costline.optimize.pricing")


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
    # the GPU's accelerator type (GCP, e.g. nvidia-tesla-a100; None: none or not in the catalog)
    gpu_model: str | None = None


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
    region (Azure regions also match with spaces, e.g. ``East US`` = ``eastus``). A provider
    in ``proxies`` (provider → region) is priced in any other region at that region's list
    price, with confidence ``low`` (:func:`proxy_price`)."""

    def __init__(
        self,
        types: list[InstanceType],
        prices: list[Price],
        *,
        proxies: Mapping[str, str] | None = None,
    ) -> None:
        self._types = {(t.provider, t.name.lower()): t for t in types}
        self._prices = {
            (p.provider, normalize_region(p.region), p.instance_type.lower()): p for p in prices
        }
        self._proxies = dict(proxies or {})
        self._by_region: dict[tuple[str, str], list[tuple[InstanceType, Price]]] = {}
        for (provider, region, name), price in self._prices.items():
            spec = self._types.get((provider, name))
            if spec is not None:
                self._by_region.setdefault((provider, region), []).append((spec, price))
        self._proxied: dict[tuple[str, str], list[tuple[InstanceType, Price]]] = {}

    def instance_type(self, provider: str, name: str) -> InstanceType | None:
        return self._types.get((provider.lower(), name.lower()))

    def price(self, provider: str, name: str, region: str) -> Price | None:
        """The list price of one type in ``region`` (a proxy price where the provider has
        no list of its own there), None when there is none."""
        key = (provider.lower(), normalize_region(region), name.lower())
        found = self._prices.get(key)
        base = self._proxy_for(key[0], key[1])
        if found is not None or base is None:
            return found
        listed = self._prices.get((key[0], base, key[2]))
        return None if listed is None else proxy_price(listed, key[1])

    def priced_types(self, provider: str, region: str) -> list[tuple[InstanceType, Price]]:
        """Every type with both a spec and a price in ``region`` (the candidate pool)."""
        key = (provider.lower(), normalize_region(region))
        found = self._by_region.get(key)
        base = self._proxy_for(*key)
        if found is not None or base is None:
            return found or []
        proxied = self._proxied.get(key)
        if proxied is None:
            proxied = [
                (spec, proxy_price(price, key[1]))
                for spec, price in self._by_region.get((key[0], base), [])
            ]
            self._proxied[key] = proxied
        return proxied

    def _proxy_for(self, provider: str, region: str) -> str | None:
        """The region whose prices stand in for ``region`` of ``provider`` (None: none)."""
        base = self._proxies.get(provider)
        code = PROXY_REGION_CODE.get(provider)
        if base is None or region == base or (code is not None and not code.fullmatch(region)):
            return None
        return base

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
        return Catalog(
            list(self._types.values()),
            [*self._prices.values(), *prices],
            proxies=self._proxies,
        )

    def __len__(self) -> int:
        return len(self._types)


@lru_cache(maxsize=4096)
def normalize_region(region: str) -> str:
    """``East US`` → ``eastus``; AWS codes are unchanged (``us-east-1``)."""
    return region.strip().lower().replace(" ", "")


def proxy_price(listed: Price, region: str) -> Price:
    """``listed`` (the price in a provider's only listed region) standing in for ``region``:
    the same amount and date, confidence ``low``, the source saying so."""
    return dataclasses.replace(
        listed,
        region=region,
        confidence="low",
        source=f"{listed.source} ({normalize_region(listed.region)} price as proxy)",
    )


@lru_cache(maxsize=8)
def load_catalog(
    providers: tuple[str, ...] = PROVIDERS,
    data_dir: Path | None = None,
    regions: frozenset[str] | None = None,
) -> Catalog:
    """The packaged catalog of ``providers`` (read once per process and cached); with
    ``regions`` (normalized codes, see :func:`normalize_region`), only the AWS and Azure
    prices of those regions (every spec, and GCP's one list, which stands in for all its
    regions, are read whole): a command that prices the bill's regions reads a twelfth of
    the rows."""
    folder = data_dir or DATA_DIR
    types: list[InstanceType] = []
    prices: list[Price] = []
    if "aws" in providers:
        types += _aws_types(folder)
        prices += _prices(folder, "aws", regions)
    if "azure" in providers:
        types += _azure_types(folder)
        prices += _prices(folder, "azure", regions)
    if "gcp" in providers:
        gcp_prices = list(_gcp_prices(folder))
        shapes, left_out = _gcp_shapes(folder, gcp_prices)
        types += shapes
        prices += gcp_prices
        if left_out:
            log.info(
                "%d of %d GCP machine types left out of the catalog (shape not derivable): %s",
                len(left_out),
                len(gcp_prices),
                ", ".join(x.name for x in left_out),
            )
    return Catalog(
        types, prices, proxies={p: PROXY_REGION[p] for p in providers if p in PROXY_REGION}
    )


def gcp_left_out(data_dir: Path | None = None) -> list[gcp_shapes.LeftOut]:
    """The packaged GCP machine types whose shape is not derived, each with the reason."""
    folder = data_dir or DATA_DIR
    return _gcp_shapes(folder, list(_gcp_prices(folder)))[1]


def price_file(folder: Path, provider: str) -> Path:
    """The price file of ``provider`` in ``folder`` (packaged data or a workspace's pricing)."""
    return folder / FILES[(provider, "prices")]


def catalog_for(
    pricing_dir: Path | None,
    providers: tuple[str, ...] = PROVIDERS,
    regions: frozenset[str] | None = None,
) -> Catalog:
    """The catalog in effect for a workspace: the packaged one, with the prices of the
    workspace's refreshed price files (``pricing_dir``, see ``costline pricing refresh``)
    replacing the packaged price of the same (provider, region, type). Cached per file
    version, so a refresh is seen by the next call. ``regions``: as :func:`load_catalog`
    (the packaged prices of other regions are left out; refreshed ones are all kept)."""
    if pricing_dir is None:
        return load_catalog(providers, regions=regions)
    stamps = tuple((p, _stamp(price_file(pricing_dir, p))) for p in providers if p in REFRESHABLE)
    if all(stamp is None for _, stamp in stamps):
        return load_catalog(providers, regions=regions)
    return _merged(providers, pricing_dir, stamps, regions)


def workspace_prices(pricing_dir: Path, provider: str) -> tuple[Price, ...]:
    """The refreshed prices of ``provider`` in ``pricing_dir`` (none without a file)."""
    path = price_file(pricing_dir, provider)
    stamp = _stamp(path)
    return () if stamp is None else _read_checked(path, provider, stamp)


def packaged_prices(provider: str) -> tuple[Price, ...]:
    """The packaged price rows of ``provider``."""
    return tuple(_gcp_prices(DATA_DIR) if provider == "gcp" else _prices(DATA_DIR, provider))


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
    """The price in effect for one instance type / VM size / machine type in every region (or
    ``region``), with its origin: ``workspace`` (refreshed) or ``packaged``. A GCP machine type
    in a region other than us-central1 shows the us-central1 price as a ``low`` proxy."""
    merged = catalog_for(pricing_dir)
    refreshed = _workspace_keys(pricing_dir)
    found = [p for provider in PROVIDERS for p in merged.prices_of(provider, name.strip())]
    if not found:
        names = {p.instance_type.lower(): p.instance_type for p in merged.prices()}
        close = difflib.get_close_matches(name.strip().lower(), names, n=3)
        raise ConfigError(
            f"no list price for instance type {name!r}",
            hint=(f"did you mean {', '.join(names[c] for c in close)}? " if close else "")
            + "name an EC2 instance type (m5.large), an Azure VM size (Standard_D2s_v5) or a "
            "GCP machine type (n2-standard-8)",
        )
    rows = [
        p for p in found if region is None or normalize_region(p.region) == normalize_region(region)
    ]
    if not rows and region is not None:
        proxied = (merged.price(p, name.strip(), region) for p in sorted(PROXY_REGION))
        rows = [p for p in proxied if p is not None]
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
    return {_key(p) for provider in REFRESHABLE for p in workspace_prices(pricing_dir, provider)}


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
    regions: frozenset[str] | None = None,
) -> Catalog:
    override = [
        price
        for provider, stamp in stamps
        if stamp is not None
        for price in _read_checked(price_file(pricing_dir, provider), provider, stamp)
    ]
    return load_catalog(providers, regions=regions).with_prices(override)


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


def _rows(
    folder: Path, provider: str, kind: str, regions: frozenset[str] | None = None
) -> Iterator[dict[str, str]]:
    """The rows of a packaged file as dicts; with ``regions``, only those whose ``region``
    is one of them (normalized; skipped before the dict is built)."""
    with gzip.open(folder / FILES[(provider, kind)], "rt", newline="", encoding="utf-8") as fh:
        reader: Iterator[list[str]] = csv.reader(fh)
        header = next(reader, [])
        if regions is not None:
            at = header.index("region")
            reader = (v for v in reader if normalize_region(v[at]) in regions)
        # as csv.DictReader, at C speed (a packaged row always has every column)
        yield from (dict(zip(header, values, strict=True)) for values in reader)


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


def _prices(folder: Path, provider: str, regions: frozenset[str] | None = None) -> Iterator[Price]:
    for r in _rows(folder, provider, "prices", regions):
        yield Price(
            provider=provider,
            instance_type=r[NAME_COLUMN[provider]],
            region=r["region"],
            usd_per_hour=Decimal(r["usd_per_hour"]),
            source=r["source"],
            as_of=r["as_of"],
            confidence=r["confidence"],
        )


def _gcp_prices(folder: Path) -> Iterator[Price]:
    """GCP's us-central1 list. Where the upstream file inflates a price on purpose and its
    ``note`` gives the real one (e2-micro, e2-small: cluster-autoscaler steers away from
    them), the real price is kept."""
    for r in _rows(folder, "gcp", "prices"):
        real = _GCP_REAL_PRICE.search(r["note"] or "")
        yield Price(
            provider="gcp",
            instance_type=r["machine_type"],
            region=PROXY_REGION["gcp"],
            usd_per_hour=Decimal(real.group(1) if real else r["ondemand_usd_per_hour"]),
            source=GCP_SOURCE + (" (real price from its note)" if real else ""),
            as_of=GCP_AS_OF,
            confidence=GCP_CONFIDENCE,
        )


def _gcp_shapes(
    folder: Path, prices: list[Price]
) -> tuple[list[InstanceType], list[gcp_shapes.LeftOut]]:
    """The derived shapes of the priced GCP machine types (:mod:`costline.optimize.gcp_shapes`)
    and the types left out."""
    rates = {
        r["machine_family"]: (
            Decimal(r["vcpu_usd_per_hour"]),
            Decimal(r["memory_gib_usd_per_hour"]),
        )
        for r in _rows(folder, "gcp", "component_rates")
    }
    # the GPUs whose price is in the machine type's (A2's A100s, G2's L4s)
    bundled = {r["gpu_type"] for r in _rows(folder, "gcp", "gpus") if "included" in r["note"]}
    types, left_out = [], []
    for price in prices:
        shape = gcp_shapes.derive(price.instance_type, price.usd_per_hour, rates)
        if isinstance(shape, gcp_shapes.LeftOut):
            left_out.append(shape)
            continue
        if shape.gpu_model is not None and shape.gpu_model not in bundled:
            left_out.append(gcp_shapes.LeftOut(shape.name, f"GPU {shape.gpu_model} not listed"))
            continue
        types.append(
            InstanceType(
                provider="gcp",
                name=price.instance_type,
                family=shape.family,
                generation=shape.generation,
                vcpu=shape.vcpu,
                memory_gib=shape.memory_gib,
                gpu_count=shape.gpu_count,
                arch=shape.arch,
                burstable=shape.burstable,
                current_generation=shape.current_generation,
                bare_metal=shape.bare_metal,
                gpu_model=shape.gpu_model,
            )
        )
    return types, left_out

"""GCP machine types: their shape (vCPU, memory, GPUs, ...) derived from the name and the price.

costline ships no GCP spec table: the only public one at hand is CC BY-SA 4.0 (share-alike,
not mixed into costline's Apache-2.0 data; see ``data/SOURCES.md``). It does not need one for
the predefined machine types, because Google names them after their vCPU count and prices a
VM as vCPU-hours plus GiB-hours at per-series rates, so the list price gives the memory:

* **vCPU**: Google's naming ``<series>-<class>-<vCPUs>[-<variant>]`` (``n2-standard-8``: 8;
  ``z3-highmem-88-highlssd``: 88). Documented exceptions: the shared-core types
  (:data:`SHARED_CORE`, a fraction of a vCPU: the share they may use sustained, bursting above
  it for short periods), A2, whose suffix is the GPU count (:data:`A2_PER_GPU`:
  ``a2-highgpu-2g`` has 2 A100s and 12 vCPUs per GPU) and G2 (``g2-standard-<vCPUs>``, whose
  L4 count is :data:`G2_GPUS`). Any other name ending in a GPU or TPU count (a3, a4, ct5lp,
  ...) or not of this form is left out, not guessed.
* **memory** (GiB): ``(price − vCPU × series vCPU rate) / series memory rate``, rounded to
  0.25 GiB; where Google's documented GiB per vCPU of the class (:func:`class_ratio`) × vCPU
  is within 1 % of that (:data:`SNAP_TOLERANCE`), that exact value instead (the published rates
  are rounded, which shows on the largest sizes: ``n1-highmem-96`` comes out 625.0, Google
  says 624). A series without component rates uses the documented ratio alone, or is left
  out. So is a type whose price bundles local SSD (``-lssd`` variants, Z3, Z4D), which no
  rate prices: it gets a documented series ratio (:data:`BUNDLED_SSD_RATIO`) or is left out.
  GPU machines (A2, G2) include the GPU in the price, so their memory is Google's documented
  shape too.
* **architecture** arm64 for the Arm series (:data:`ARM_SERIES`: Tau T2A on Ampere Altra, C4A
  on Google Axion), else amd64; **generation** the series' digits; **current generation**:
  false for N1 and its shared-core f1/g1 (Google: "N1 and its related shared-core machine
  types are the first generation machine series"); **burstable**: the shared-core types;
  **family**: series and class (``n2-standard``), so that a move between classes (standard →
  highcpu) is a family change, as m5 → c5 is on AWS, and an A2 keeps its GPU model
  (``a2-highgpu``: A100 40 GB; ``a2-ultragpu``: A100 80 GB).

Example:
    >>> from decimal import Decimal
    >>> rates = {"n2": (Decimal("0.031611"), Decimal("0.004237"))}
    >>> shape = derive("n2-standard-8", Decimal("0.3885"), rates)
    >>> (shape.vcpu, shape.memory_gib, shape.family, shape.generation, shape.memory_from)
    (8.0, 32.0, 'n2-standard', 2, 'price')
    >>> derive("m2-ultramem-208", Decimal("42.186"), rates).reason
    'no component rates for series m2 and no documented GiB per vCPU for class ultramem'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

# series → (USD per vCPU-hour, USD per GiB-hour), from gcp_family_component_rates.csv
Rates = Mapping[str, tuple[Decimal, Decimal]]

NAME = re.compile(
    r"^(?P<series>[a-z]+\d+[a-z]*)-(?P<cls>[a-z]+)-(?P<n>\d+)(?P<gpu>g)?(?P<variant>(-[a-z]+)*)$"
)
# Google's shared-core machine types: (vCPU share, GiB); they burst above the share briefly
SHARED_CORE: dict[str, tuple[float, float]] = {
    "e2-micro": (0.25, 1.0),
    "e2-small": (0.5, 2.0),
    "e2-medium": (1.0, 4.0),
    "f1-micro": (0.2, 0.6),
    "g1-small": (0.5, 1.7),
}
# A2 (accelerator-optimized), per GPU: (vCPU, GiB, accelerator type) — a2-highgpu-1g is
# 12 vCPU / 85 GiB / 1 A100 40 GB; a2-megagpu-16g 96 vCPU / 1,360 GiB / 16 A100 40 GB;
# a2-ultragpu-1g 12 vCPU / 170 GiB / 1 A100 80 GB
A2_PER_GPU: dict[str, tuple[int, int, str]] = {
    "highgpu": (12, 85, "nvidia-tesla-a100"),
    "megagpu": (6, 85, "nvidia-tesla-a100"),
    "ultragpu": (12, 170, "nvidia-a100-80gb"),
}
# G2: g2-standard-<vCPUs> with 4 GiB per vCPU and this many NVIDIA L4 GPUs
G2_GPUS: dict[int, int] = {4: 1, 8: 1, 12: 1, 16: 1, 24: 2, 32: 1, 48: 4, 96: 8}
G2_GPU_MODEL = "nvidia-l4"
# Google's documented GiB of memory per vCPU of a predefined class, and the series that differ
CLASS_RATIO: dict[str, Decimal] = {
    "standard": Decimal(4),
    "highmem": Decimal(8),
    "highcpu": Decimal(1),
}
SERIES_RATIO: dict[tuple[str, str], Decimal] = {
    ("n1", "standard"): Decimal("3.75"),
    ("n1", "highmem"): Decimal("6.5"),
    ("n1", "highcpu"): Decimal("0.9"),
    ("c2d", "highcpu"): Decimal(2),
    ("c3", "highcpu"): Decimal(2),
    ("c3d", "highcpu"): Decimal(2),
}
# series whose every price bundles local SSD, and the ratio Google documents for them
BUNDLED_SSD_SERIES = ("z3", "z4d")
BUNDLED_SSD_RATIO: dict[tuple[str, str], Decimal] = {("z3", "highmem"): Decimal(8)}
SSD_VARIANTS = ("lssd", "highlssd", "standardlssd")
SNAP_TOLERANCE = Decimal("0.01")
ARM_SERIES = ("t2a", "c4a")
FIRST_GENERATION = ("n1", "f1", "g1")
# the series Google's sustained use discounts apply to (cloud.google.com/compute/docs/
# sustained-use-discounts); E2, T2D, C3, C3D and newer series never earn them
SUSTAINED_USE_SERIES = ("n1", "n2", "n2d", "c2", "m1", "m2")
QUARTER = Decimal("0.25")


@dataclass(frozen=True)
class Shape:
    """A machine type's derived shape; ``memory_from`` says how the memory was found:
    ``price`` (component rates), ``ratio`` (documented GiB per vCPU), ``fixed`` (a
    shared-core or GPU machine's documented size)."""

    name: str
    series: str
    family: str
    generation: int
    vcpu: float
    memory_gib: float
    gpu_count: int
    gpu_model: str | None
    arch: str
    burstable: bool
    current_generation: bool
    bare_metal: bool
    memory_from: str


@dataclass(frozen=True)
class LeftOut:
    """A priced machine type whose shape the name and price cannot give reliably."""

    name: str
    reason: str


def class_ratio(series: str, cls: str) -> Decimal | None:
    """Google's documented GiB per vCPU of ``cls`` machines in ``series`` (None: none).

    Example:
        >>> class_ratio("n1", "highmem"), class_ratio("n2", "highmem"), class_ratio("m1", "ultramem")
        (Decimal('6.5'), Decimal('8'), None)
    """
    return SERIES_RATIO.get((series, cls), CLASS_RATIO.get(cls))


def derive(name: str, usd_per_hour: Decimal, rates: Rates) -> Shape | LeftOut:
    """The shape of machine type ``name`` listed at ``usd_per_hour`` (see the module
    docstring), or why it is left out."""
    key = name.strip().lower()
    if key in SHARED_CORE:
        vcpu, memory = SHARED_CORE[key]
        series = key.split("-")[0]
        return _shape(key, series, "shared-core", vcpu, memory, "fixed", burstable=True)
    m = NAME.match(key)
    if m is None:
        return LeftOut(key, "not a predefined <series>-<class>-<vCPUs> name")
    series, cls, n, variant = m["series"], m["cls"], int(m["n"]), m["variant"]
    if m["gpu"]:
        return _a2(key, series, cls, n, variant)
    if series == "g2":
        return _g2(key, cls, n, variant)
    found = _memory(series, cls, n, variant, usd_per_hour, rates)
    if isinstance(found, str):
        return LeftOut(key, found)
    gib, source = found
    return _shape(key, series, cls, float(n), gib, source, variant=variant)


def _memory(
    series: str, cls: str, vcpu: int, variant: str, usd: Decimal, rates: Rates
) -> tuple[float, str] | str:
    """The memory in GiB and how it was found, or why it cannot be."""
    if series in BUNDLED_SSD_SERIES or any(v in SSD_VARIANTS for v in variant.split("-")):
        ratio = BUNDLED_SSD_RATIO.get((series, cls))
        if ratio is None:
            return "the price bundles local SSD and no GiB per vCPU is documented for it"
        return float(ratio * vcpu), "ratio"
    ratio = class_ratio(series, cls)
    documented = None if ratio is None else ratio * vcpu
    if series not in rates:
        if documented is None:
            return (
                f"no component rates for series {series} and no documented GiB per vCPU "
                f"for class {cls}"
            )
        return float(documented), "ratio"
    per_vcpu, per_gib = rates[series]
    from_price = (usd - per_vcpu * vcpu) / per_gib
    if from_price <= 0:
        return f"the price leaves no memory at the {series} rates"
    if documented is not None and abs(from_price - documented) <= SNAP_TOLERANCE * documented:
        return float(documented), "price"
    return float((from_price / QUARTER).to_integral_value() * QUARTER), "price"


def _a2(key: str, series: str, cls: str, gpus: int, variant: str) -> Shape | LeftOut:
    per = A2_PER_GPU.get(cls) if series == "a2" and not variant else None
    if per is None:
        return LeftOut(key, "a GPU machine type with no documented shape in costline")
    vcpu, memory, model = per
    return _shape(
        key, series, cls, float(vcpu * gpus), float(memory * gpus), "fixed", gpu=gpus, model=model
    )


def _g2(key: str, cls: str, vcpu: int, variant: str) -> Shape | LeftOut:
    gpus = G2_GPUS.get(vcpu) if cls == "standard" and not variant else None
    if gpus is None:
        return LeftOut(key, "a G2 size with no documented GPU count in costline")
    return _shape(key, "g2", cls, float(vcpu), 4.0 * vcpu, "fixed", gpu=gpus, model=G2_GPU_MODEL)


def _shape(
    key: str,
    series: str,
    cls: str,
    vcpu: float,
    memory: float,
    source: str,
    *,
    gpu: int = 0,
    model: str | None = None,
    burstable: bool = False,
    variant: str = "",
) -> Shape:
    digits = re.search(r"\d+", series)
    return Shape(
        name=key,
        series=series,
        family=f"{series}-{cls}",
        generation=int(digits.group()) if digits else 0,
        vcpu=vcpu,
        memory_gib=memory,
        gpu_count=gpu,
        gpu_model=model,
        arch="arm64" if series in ARM_SERIES else "amd64",
        burstable=burstable,
        current_generation=series not in FIRST_GENERATION,
        bare_metal="metal" in variant.split("-"),
        memory_from=source,
    )


def sustained_use(machine_type: str) -> bool:
    """Whether ``machine_type``'s series earns sustained use discounts.

    Example:
        >>> sustained_use("n2-standard-16"), sustained_use("e2-highmem-16")
        (True, False)
    """
    return machine_type.strip().lower().split("-", 1)[0] in SUSTAINED_USE_SERIES

"""GCP machine types in the pricing catalog: shapes derived from names and prices, checked
against the CC BY-SA 4.0 spec file of the shared reference data as an oracle.

The oracle (``gcp_machine_specs_CC-BY-SA-4.0.csv``, Spare Cores) is only read here, from the
shared reference folder; nothing derived from it is stored. Expected prices and rates are
read from the raw reference CSVs with the csv module; hand-worked values are in comments.
"""

from __future__ import annotations

import csv
import statistics
from decimal import Decimal
from pathlib import Path

import pytest

from costline.core.errors import ConfigError
from costline.optimize import gcp_shapes, pricing, pricing_refresh
from costline.optimize.pricing import load_catalog

ORACLE = "gcp_machine_specs_CC-BY-SA-4.0.csv"
# Every derived type the oracle disagrees with, and why (a test below checks this list is
# exactly the disagreements, so it cannot go stale).
EXCEPTIONS = {
    # Google gives the C3D highcpu sizes from 30 vCPU up 59/118/177/354/708 GB (1.97 GiB per
    # vCPU); the upstream list (cluster-autoscaler's approximation) prices them as 2 GiB per
    # vCPU, so the price says 60/120/180/360/720 (1.7 % more).
    "c3d-highcpu-30": "c3d-highcpu",
    "c3d-highcpu-60": "c3d-highcpu",
    "c3d-highcpu-90": "c3d-highcpu",
    "c3d-highcpu-180": "c3d-highcpu",
    "c3d-highcpu-360": "c3d-highcpu",
    # M1 megamem/ultramem have no documented per-class ratio to snap to, and the published
    # m1 rates are rounded: the price gives 0.2-0.35 % more memory (963 GiB for 961).
    "m1-megamem-96": "m1",
    "m1-ultramem-40": "m1",
    "m1-ultramem-80": "m1",
    "m1-ultramem-160": "m1",
    # Shared-core types: the oracle has the guest vCPUs the VM sees (2 for e2, 1 for f1/g1);
    # costline keeps the fraction of a vCPU they may use sustained (they only burst above it).
    "e2-micro": "shared-core",
    "e2-small": "shared-core",
    "e2-medium": "shared-core",
    "f1-micro": "shared-core",
    "g1-small": "shared-core",
}


def _csv(reference: Path, name: str) -> list[dict[str, str]]:
    with (reference / "pricing" / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def catalog() -> pricing.Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def raw(reference: Path) -> dict[str, dict[str, str]]:
    return {r["machine_type"]: r for r in _csv(reference, "gcp_machine_ondemand_usd_per_hour.csv")}


@pytest.fixture(scope="module")
def rates(reference: Path) -> dict[str, tuple[Decimal, Decimal]]:
    return {
        r["machine_family"]: (
            Decimal(r["vcpu_usd_per_hour"]),
            Decimal(r["memory_gib_usd_per_hour"]),
        )
        for r in _csv(reference, "gcp_family_component_rates.csv")
    }


def _derived(catalog, raw) -> dict[str, pricing.InstanceType]:
    found = {name: catalog.instance_type("gcp", name) for name in raw}
    return {name: t for name, t in found.items() if t is not None}


def test_derived_shapes_agree_with_the_oracle(reference: Path, catalog, raw) -> None:
    oracle = {r["machine_type"]: r for r in _csv(reference, ORACLE)}
    derived = _derived(catalog, raw)
    checked = {name: t for name, t in derived.items() if name in oracle}
    disagree = set()
    for name, t in checked.items():
        o = oracle[name]
        same = (
            t.vcpu == float(o["vcpu"])
            and abs(t.memory_gib - float(o["memory_gib"])) <= 0.25
            and t.gpu_count == int(o["gpu_count"])
        )
        if not same:
            disagree.add(name)
        # the oracle marks no priced type Arm (its only ARM64 series, t2a, is not priced)
        assert t.arch == {"X86_64": "amd64", "ARM64": "arm64"}[o["arch"]], name
    assert disagree == set(EXCEPTIONS)
    # the agreement figure: 197 of the 211 derived types the oracle lists, all of vCPU, memory
    # (±0.25 GiB) and GPU count; 206 on vCPU alone, 202 on memory alone
    assert (len(derived), len(checked), len(checked) - len(disagree)) == (218, 211, 197)
    assert sum(t.vcpu == float(oracle[n]["vcpu"]) for n, t in checked.items()) == 206
    assert (
        sum(abs(t.memory_gib - float(oracle[n]["memory_gib"])) <= 0.25 for n, t in checked.items())
        == 202
    )


def test_the_exceptions_are_what_their_reasons_say(reference: Path, catalog) -> None:
    oracle = {r["machine_type"]: r for r in _csv(reference, ORACLE)}
    for name, why in EXCEPTIONS.items():
        t, o = catalog.instance_type("gcp", name), oracle[name]
        if why == "shared-core":
            assert t.vcpu < float(o["vcpu"]) and t.burstable
            assert abs(t.memory_gib - float(o["memory_gib"])) <= 0.25
        elif why == "c3d-highcpu":
            assert (t.vcpu, t.memory_gib) == (float(o["vcpu"]), 2 * t.vcpu)
            assert float(o["memory_gib"]) / t.vcpu == pytest.approx(1.967, abs=0.001)
        else:  # m1: from the price, within 0.35 %
            assert t.vcpu == float(o["vcpu"])
            assert 0 < t.memory_gib - float(o["memory_gib"]) <= 0.0035 * float(o["memory_gib"])


def test_types_left_out_are_the_underivable_ones(catalog, raw, rates) -> None:
    # worked out from the raw files: m2 has no component rates and no documented GiB per vCPU
    # for megamem/ultramem; every z4d price and h4d-highmem-192-lssd's bundle local SSD
    expected = {
        name for name in raw if name.startswith(("m2-", "z4d-")) or name == "h4d-highmem-192-lssd"
    }
    assert "m2" not in rates and len(expected) == 15
    assert set(raw) - set(_derived(catalog, raw)) == expected
    assert {x.name for x in pricing.gcp_left_out()} == expected
    assert all(x.reason for x in pricing.gcp_left_out())


def test_hand_checked_types(catalog) -> None:
    n2 = catalog.instance_type("gcp", "n2-standard-8")
    # (0.3885 − 8 × 0.031611) / 0.004237 = 31.99 → 32 GiB
    assert (n2.vcpu, n2.memory_gib, n2.gpu_count, n2.arch) == (8.0, 32.0, 0, "amd64")
    assert (n2.family, n2.generation, n2.current_generation, n2.burstable) == (
        "n2-standard",
        2,
        True,
        False,
    )
    micro = catalog.instance_type("gcp", "E2-Micro")  # case-insensitive
    assert (micro.vcpu, micro.memory_gib, micro.burstable) == (0.25, 1.0, True)
    assert catalog.instance_type("gcp", "e2-standard-2").burstable is False
    a2 = catalog.instance_type("gcp", "a2-highgpu-1g")
    assert (a2.vcpu, a2.memory_gib, a2.gpu_count, a2.gpu_model) == (
        12.0,
        85.0,
        1,
        "nvidia-tesla-a100",
    )
    ultra = catalog.instance_type("gcp", "a2-ultragpu-2g")
    assert (ultra.vcpu, ultra.memory_gib, ultra.gpu_count, ultra.gpu_model) == (
        24.0,
        340.0,
        2,
        "nvidia-a100-80gb",
    )
    assert ultra.family != a2.family  # an A100 80 GB machine never moves to a 40 GB one
    mega = catalog.instance_type("gcp", "a2-megagpu-16g")
    assert (mega.vcpu, mega.memory_gib, mega.gpu_count) == (96.0, 1360.0, 16)
    g2 = catalog.instance_type("gcp", "g2-standard-24")
    assert (g2.vcpu, g2.memory_gib, g2.gpu_count, g2.gpu_model) == (24.0, 96.0, 2, "nvidia-l4")
    # n1: Google's "first generation"; 0.9 GiB per vCPU on highcpu (price: 57.99 → 57.6)
    n1 = catalog.instance_type("gcp", "n1-highcpu-64")
    assert (n1.memory_gib, n1.generation, n1.current_generation) == (57.6, 1, False)
    assert catalog.instance_type("gcp", "n1-highmem-96").memory_gib == 624.0
    assert catalog.instance_type("gcp", "f1-micro").current_generation is False
    z3 = catalog.instance_type("gcp", "z3-highmem-88-highlssd")
    assert (z3.vcpu, z3.memory_gib, z3.generation) == (88.0, 704.0, 3)
    assert catalog.instance_type("gcp", "m2-ultramem-208") is None


def test_gpu_counts_are_consistent_with_the_prices(catalog, raw, rates) -> None:
    """What the price leaves after vCPU and memory is the GPUs' part: the same per GPU across
    the sizes of a class if the GPU counts are right (A2 40 GB ≈ 2.93, 80 GB ≈ 3.9, L4 ≈ 0.61
    USD/hour)."""
    per_gpu: dict[str, list[float]] = {}
    for name, row in raw.items():
        t = catalog.instance_type("gcp", name)
        if t is None or not t.gpu_count:
            continue
        cpu_rate, mem_rate = rates[name.split("-")[0]]
        rest = Decimal(row["ondemand_usd_per_hour"]) - cpu_rate * Decimal(t.vcpu)
        rest -= mem_rate * Decimal(t.memory_gib)
        per_gpu.setdefault(t.family, []).append(float(rest) / t.gpu_count)
    assert set(per_gpu) == {"a2-highgpu", "a2-megagpu", "a2-ultragpu", "g2-standard"}
    for family, values in per_gpu.items():
        mid = statistics.median(values)
        assert all(abs(v - mid) <= 0.02 * mid for v in values), (family, values)
    assert statistics.median(per_gpu["a2-highgpu"]) == pytest.approx(2.9339, abs=0.001)


def test_prices_and_confidence_per_region(catalog, raw, rates) -> None:
    for name, row in raw.items():
        p = catalog.price("gcp", name, "us-central1")
        assert (p.confidence, p.as_of, p.region) == ("medium", "2026-06-22", "us-central1")
        assert "gce_price_info.go" in p.source
        if "real" in row["note"]:  # e2-micro / e2-small: the note's real price
            assert p.usd_per_hour == Decimal(row["note"].split("real ")[1].rstrip(")"))
        else:
            assert p.usd_per_hour == Decimal(row["ondemand_usd_per_hour"])
    # the notes' real prices are the e2 component rates × the shared-core shapes, by hand:
    # 0.25 × 0.021811 + 1 × 0.002923 = 0.00838; 0.5 × 0.021811 + 2 × 0.002923 = 0.01675
    cpu, mem = rates["e2"]
    for name, share, gib in (("e2-micro", "0.25", 1), ("e2-small", "0.5", 2)):
        usd = catalog.price("gcp", name, "us-central1").usd_per_hour
        assert abs(usd - (cpu * Decimal(share) + mem * gib)) < Decimal("0.00001")
    # any other region: the us-central1 price, low confidence
    proxy = catalog.price("gcp", "n2-standard-8", "europe-west1")
    assert (proxy.usd_per_hour, proxy.confidence, proxy.region, proxy.as_of) == (
        Decimal("0.3885"),
        "low",
        "europe-west1",
        "2026-06-22",
    )
    assert "proxy" in proxy.source
    assert catalog.price("gcp", "no-such-type", "europe-west1") is None
    assert catalog.price("gcp", "n2-standard-8", "eu-west-1") is None  # not a GCP region code
    assert catalog.priced_types("gcp", "eastus") == []
    assert catalog.price("aws", "m5.large", "europe-west1") is None  # AWS has no proxy
    pool = catalog.priced_types("gcp", "asia-east1")
    assert {t.name for t, _ in pool} == {
        t.name for t, _ in catalog.priced_types("gcp", "us-central1")
    }
    assert len(pool) == 218 and {p.confidence for _, p in pool} == {"low"}
    assert catalog.regions("gcp") == ["us-central1"]


def test_show_and_status_include_gcp() -> None:
    columns, rows = pricing.show(None, "n2-standard-8")
    assert [(r[0], r[2], r[3], r[6]) for r in rows] == [
        ("gcp", "us-central1", Decimal("0.3885"), "medium")
    ]
    _, proxied = pricing.show(None, "n2-standard-8", region="europe-west1")
    assert [(r[2], r[3], r[6]) for r in proxied] == [("europe-west1", Decimal("0.3885"), "low")]
    with pytest.raises(ConfigError) as err:
        pricing.show(None, "n2-standrd-8")
    assert "n2-standard-8" in (err.value.hint or "") and "GCP machine type" in (
        err.value.hint or ""
    )
    status_columns, status = pricing.status(None)
    gcp = [r for r in status if r[0] == "gcp"]
    assert gcp == [
        (
            "gcp",
            "us-central1",
            0,
            233,
            "2026-06-22",
            "medium",
            "cluster-autoscaler-gce_price_info.go, "
            "cluster-autoscaler-gce_price_info.go (real price from its note)",
        )
    ]


def test_gcp_prices_cannot_be_refreshed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="API key") as err:
        pricing_refresh.refresh("gcp", tmp_path)
    assert "us-central1" in (err.value.hint or "")
    assert not list(tmp_path.iterdir())
    with pytest.raises(ConfigError) as unknown:
        pricing_refresh.refresh("oci", tmp_path)
    assert unknown.value.hint == "use one of aws, azure"


def test_a_gcp_file_in_the_workspace_is_not_read(tmp_path: Path) -> None:
    # only AWS and Azure prices are refreshable; a stray GCP file changes nothing
    (tmp_path / pricing.FILES[("gcp", "prices")]).write_bytes(b"not a gzip file")
    catalog = pricing.catalog_for(tmp_path, ("gcp",))
    assert catalog.price("gcp", "n2-standard-8", "us-central1").usd_per_hour == Decimal("0.3885")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("a3-highgpu-8g", "no documented shape"),
        ("ct5lp-hightpu-4t", "not a predefined"),
        ("n2-custom-4-16384", "not a predefined"),
        ("g2-standard-6", "no documented GPU count"),
    ],
)
def test_names_that_give_no_shape_are_left_out(name: str, reason: str, rates) -> None:
    left = gcp_shapes.derive(name, Decimal("1"), rates)
    assert isinstance(left, gcp_shapes.LeftOut) and reason in left.reason


def test_arm_series_and_bare_metal_from_the_name(rates) -> None:
    # no Arm series is priced upstream; the rules apply to the name alone (T2A: Ampere Altra,
    # C4A: Google Axion), with a rate table that has the series
    arm = dict(rates) | {"t2a": (Decimal("0.0308"), Decimal("0.0041"))}
    shape = gcp_shapes.derive("t2a-standard-4", Decimal("0.1888"), arm)
    # (0.1888 − 4 × 0.0308) / 0.0041 = 16 GiB
    assert isinstance(shape, gcp_shapes.Shape)
    assert (shape.arch, shape.vcpu, shape.memory_gib) == ("arm64", 4.0, 16.0)
    metal = gcp_shapes.derive("c4a-highmem-96-metal", Decimal("1"), rates)
    assert isinstance(metal, gcp_shapes.Shape)
    assert (metal.arch, metal.bare_metal, metal.memory_gib) == ("arm64", True, 768.0)

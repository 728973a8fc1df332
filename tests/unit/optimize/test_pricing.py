"""The pricing catalog against the shared reference CSVs, read here with the csv module."""

from __future__ import annotations

import csv
import gzip
from decimal import Decimal
from pathlib import Path

import pytest

from costline.optimize import pricing
from costline.optimize.pricing import load_catalog, normalize_region


def _csv(reference: Path, name: str) -> list[dict[str, str]]:
    with (reference / "pricing" / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def catalog() -> pricing.Catalog:
    return load_catalog()


def test_every_aws_price_row_matches_the_reference(reference: Path, catalog) -> None:
    rows = _csv(reference, "aws_ec2_ondemand_linux_usd_per_hour.csv")
    assert len(rows) == 7667
    for r in rows:
        p = catalog.price("aws", r["instance_type"], r["region"])
        assert p is not None, r
        assert p.usd_per_hour == Decimal(r["usd_per_hour"])
        assert (p.confidence, p.source, p.as_of) == (r["confidence"], r["source"], r["as_of"])


def test_every_azure_price_row_matches_the_reference(reference: Path, catalog) -> None:
    rows = _csv(reference, "azure_vm_ondemand_linux_usd_per_hour.csv")
    for r in rows:
        p = catalog.price("azure", r["vm_size"], r["region"])
        assert p is not None and p.usd_per_hour == Decimal(r["usd_per_hour"]), r
        assert p.confidence == r["confidence"]


def test_aws_specs_match_the_reference(reference: Path, catalog) -> None:
    for r in _csv(reference, "aws_ec2_instance_specs.csv"):
        t = catalog.instance_type("aws", r["instance_type"])
        assert t is not None, r
        assert (t.vcpu, t.memory_gib) == (float(r["vcpu"]), float(r["memory_gib"]))
        assert (t.arch, t.family, t.gpu_count) == (r["arch"], r["family"], int(r["gpu_count"]))
        assert t.burstable is (r["burstable"] == "true")
        assert t.current_generation is (r["current_generation_per_aws_pricelist"] != "false")


def test_azure_specs_family_generation_burstable(reference: Path, catalog) -> None:
    rows = {r["vm_size"]: r for r in _csv(reference, "azure_vm_specs.csv")}
    for name in ("Standard_D4s_v5", "Standard_D2ps_v5", "Standard_B2s"):
        t = catalog.instance_type("azure", name.lower())  # case-insensitive
        assert t is not None
        assert (t.vcpu, t.memory_gib, t.arch) == (
            float(rows[name]["vcpu"]),
            float(rows[name]["memory_gib"]),
            rows[name]["arch"],
        )
        assert t.family == rows[name]["sku_family"]
    assert catalog.instance_type("azure", "Standard_D4s_v5").generation == 5
    assert catalog.instance_type("azure", "Standard_B2s").burstable
    assert not catalog.instance_type("azure", "Standard_D4s_v5").burstable
    assert catalog.instance_type("azure", "Standard_D2ps_v5").arch == "arm64"


def test_hand_checked_prices(catalog) -> None:
    # values read by eye from the reference CSVs
    assert catalog.price("aws", "m5.2xlarge", "us-east-1").usd_per_hour == Decimal("0.384")
    assert catalog.price("aws", "m5.2xlarge", "us-east-1").confidence == "high"
    assert catalog.price("azure", "Standard_B2s", "East US") is not None
    assert normalize_region(" East US ") == "eastus"
    assert catalog.price("aws", "m5.2xlarge", "mars-north-1") is None


def test_gcp_share_alike_specs_are_not_shipped() -> None:
    shipped = sorted(p.name for p in pricing.DATA_DIR.iterdir())
    assert not any("cc-by-sa" in n.lower() or "spec" in n.lower() for n in shipped if "gcp" in n)
    # only the Apache-2.0 GCP files: prices, component rates, GPU prices
    assert [n for n in shipped if "gcp" in n] == [
        "gcp_family_component_rates.csv.gz",
        "gcp_gpu_attach_usd_per_hour.csv.gz",
        "gcp_machine_ondemand_usd_per_hour.csv.gz",
    ]
    sources = (pricing.DATA_DIR / "SOURCES.md").read_text()
    assert "CC BY-SA 4.0" in sources and "Apache-2.0" in sources
    assert all(name in sources for name in shipped if name.endswith(".gz"))


def test_data_files_are_unmodified_copies(reference: Path) -> None:
    for name in pricing.FILES.values():
        shipped = gzip.decompress((pricing.DATA_DIR / name).read_bytes())
        assert shipped == (reference / "pricing" / name.removesuffix(".gz")).read_bytes()


def test_candidate_pool_joins_specs_and_prices(reference: Path, catalog) -> None:
    specs = {r["instance_type"] for r in _csv(reference, "aws_ec2_instance_specs.csv")}
    priced = {
        r["instance_type"]
        for r in _csv(reference, "aws_ec2_ondemand_linux_usd_per_hour.csv")
        if r["region"] == "eu-west-1"
    }
    pool = {t.name for t, _ in catalog.priced_types("aws", "eu-west-1")}
    assert pool == specs & priced


def test_a_catalog_of_some_regions_has_exactly_their_prices(reference: Path, catalog) -> None:
    wanted = frozenset({"us-east-1", "eastus", "europe-west1"})  # AWS, Azure, GCP (a proxy)
    some = load_catalog(regions=wanted)
    aws = _csv(reference, "aws_ec2_ondemand_linux_usd_per_hour.csv")
    azure = _csv(reference, "azure_vm_ondemand_linux_usd_per_hour.csv")
    expected = {("aws", r["instance_type"], normalize_region(r["region"])) for r in aws} | {
        ("azure", r["vm_size"], normalize_region(r["region"])) for r in azure
    }
    expected = {k for k in expected if k[2] in wanted}
    got = {
        (p.provider, p.instance_type, normalize_region(p.region))
        for p in some.prices()
        if p.provider != "gcp"
    }
    assert got == expected and len(got) > 1000
    for provider, name, region in sorted(expected)[:: len(expected) // 50]:
        assert some.price(provider, name, region) == catalog.price(provider, name, region)
    assert some.price("aws", "m5.large", "eu-west-1") is None  # left out
    # every spec stays, and GCP's one list still prices its other regions by proxy
    assert len(some) == len(catalog)
    assert some.price("gcp", "n2-standard-8", "europe-west1") == catalog.price(
        "gcp", "n2-standard-8", "europe-west1"
    )

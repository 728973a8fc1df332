"""Azure EA and GCP rendering details."""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal

from costline.demo import azure, gcp, prices
from costline.demo.model import Who, make
from costline.demo.org import azure_sub, gcp_project


def test_vm_meters_follow_azure_naming() -> None:
    assert azure._vm_meter("Standard_D8s_v5") == ("Dsv5 Series", "D8s v5")
    assert azure._vm_meter("Standard_D4as_v5") == ("Dasv5 Series", "D4as v5")
    assert azure._vm_meter("Standard_B2ms") == ("BS Series", "B2ms")
    assert azure._vm_meter("Standard_F8s_v2") == ("FSv2 Series", "F8s v2")


def test_ea_tags_have_no_braces_and_parse_once_wrapped() -> None:
    text = azure.tags_text({"team": "erp", "cost-center": "CC-4202"})
    assert text == '"team": "erp","cost-center": "CC-4202"'
    assert json.loads("{" + text + "}") == {"team": "erp", "cost-center": "CC-4202"}


def test_reservation_rows_are_billed_zero_and_unused_rows_fill_the_gap() -> None:
    plan = azure.plan_core(4, scale=0.2)
    lines = azure.render(plan, 4)
    covered = [
        ln
        for ln in lines
        if ln.values.get("PricingModel") == "Reservation" and ln.values["ChargeType"] == "Usage"
    ]
    unused = [ln for ln in lines if ln.values["ChargeType"] == "UnusedReservation"]
    assert covered and unused and all(ln.billed == 0 for ln in covered + unused)
    day = next(ln.day for ln in unused)
    hours = sum((ln.values["Quantity"] for ln in covered + unused if ln.day == day), Decimal(0))
    assert hours == 24 * azure.RESERVED_COUNT
    assert {ln.values["Date"] for ln in lines} >= {"07/01/2026", "09/30/2026"}


def test_gcp_vm_is_billed_per_sku_and_n2_gets_sustained_use_credit() -> None:
    who = Who(gcp_project("acme-bi-analytics"), "bi-analytics", "prod", "bi-api")
    core, ram = gcp.vm_streams("k", who, "n2-standard-4")
    assert (core.product, core.qty, ram.product, ram.qty) == ("core", 96.0, "ram", 384.0)
    cost = core.rate * 96
    assert gcp.sud_credit(core, cost) == (cost * Decimal("-0.2")).quantize(Decimal("0.000001"))
    e2_core, _ = gcp.vm_streams("e", who, "e2-standard-4")
    assert gcp.sud_credit(e2_core, cost) == 0
    a2 = gcp.vm_streams("a", who, "a2-highgpu-1g")
    hourly = sum(s.rate * Decimal(str(s.qty)) for s in a2) / 24
    assert abs(hourly - prices.GCE["a2-highgpu-1g"].price["us-central1"]) < Decimal("0.00001")


def test_gcp_row_shape() -> None:
    stream = make(
        "gcp",
        "g",
        Who(gcp_project("acme-bi-analytics"), "bi-analytics"),
        "bq_analysis",
        "projects/acme-bi-analytics/jobs",
        2.0,
        Decimal("6.25"),
        "us-central1",
    )
    row = gcp._row(stream, date(2026, 8, 3), Decimal(2), Decimal("12.5"), random.Random(1))
    assert row["usage"] == {
        "amount": "2199023255552",
        "unit": "bytes",
        "amount_in_pricing_units": "2",
        "pricing_unit": "tebibyte",
    }
    assert row["invoice"] == {"month": "202608"} and row["cost"] == "12.5"
    assert row["usage_start_time"] == "2026-08-03T00:00:00Z"
    assert azure_sub("acme-management").owner == "shared"

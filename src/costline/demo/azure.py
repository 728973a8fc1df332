"""Acme on Azure: an EA **amortized cost** export (one CSV a month, daily rows).

The header is exactly that of Microsoft's EA amortized-cost sample (finops-toolkit
``EA_AmortizedCost_Small.csv``: 55 columns, UTF-8 BOM, ``MM/DD/YYYY`` dates, tags without
braces). In an amortized export ``Cost`` is the amortized cost, so:

* on-demand rows (``PricingModel=OnDemand``): billed = effective = ``Cost``;
* reservation-covered usage (``ChargeType=Usage``, ``PricingModel=Reservation``) and the daily
  ``UnusedReservation`` rows: effective = ``Cost`` (the amortized reservation price), billed = 0
  (the reservation is invoiced through its purchase, which the amortized dataset leaves out).

The core is a 1-year reservation for 3 × Standard_D8s_v5 (bought in ``acme-management``,
shared scope), Defender for Cloud, a VPN gateway, internet bandwidth and a central Log
Analytics workspace, plus a VM scale set whose scale-out is an injected anomaly. Teams add
VMs, managed disks, blob storage, SQL databases and bandwidth.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from costline.demo import prices
from costline.demo.model import (
    Anomaly,
    Line,
    Plan,
    Stream,
    Who,
    exact,
    logical_tags,
    make,
    parse_table,
    q,
    simulate,
)
from costline.demo.org import (
    AZURE_ENROLLMENT,
    AZURE_ENROLLMENT_NAME,
    TEAMS,
    Account,
    Team,
    azure_sub,
    slug,
    team,
    teams_on,
)
from costline.demo.periods import ALL_DAYS, MONTHS, Month
from costline.demo.writers import write_csv

HEADER: tuple[str, ...] = (
    "BillingAccountId",
    "BillingAccountName",
    "BillingPeriodStartDate",
    "BillingPeriodEndDate",
    "BillingProfileId",
    "BillingProfileName",
    "AccountOwnerId",
    "AccountName",
    "SubscriptionId",
    "SubscriptionName",
    "Date",
    "Product",
    "PartNumber",
    "MeterId",
    "ServiceFamily",
    "MeterCategory",
    "MeterSubCategory",
    "MeterRegion",
    "MeterName",
    "Quantity",
    "EffectivePrice",
    "Cost",
    "UnitPrice",
    "BillingCurrency",
    "ResourceLocation",
    "AvailabilityZone",
    "ConsumedService",
    "ResourceId",
    "ResourceName",
    "ServiceInfo1",
    "ServiceInfo2",
    "AdditionalInfo",
    "Tags",
    "InvoiceSectionId",
    "InvoiceSection",
    "CostCenter",
    "UnitOfMeasure",
    "ResourceGroup",
    "ReservationId",
    "ReservationName",
    "ProductOrderId",
    "ProductOrderName",
    "OfferId",
    "IsAzureCreditEligible",
    "Term",
    "PublisherName",
    "PlanName",
    "ChargeType",
    "Frequency",
    "PublisherType",
    "PayGPrice",
    "PricingModel",
    "CostAllocationRuleName",
    "benefitId",
    "benefitName",
)
MONEY = 8
FIXED: dict[str, Any] = {"tags_fixed": True}
REGIONS = {"eastus": ("US East", "EastUS"), "westeurope": ("EU West", "WestEurope")}
GB_MONTH_PER_DAY = 12 / 365

# product key → (ServiceFamily, MeterCategory, MeterSubCategory, MeterName, UnitOfMeasure,
#                ConsumedService, resource provider path)
METERS: dict[str, tuple[str, ...]] = parse_table("""
disk_p10  | Storage    | Storage                      | Premium SSD Managed Disks      | P10 LRS Disk                  | 1/Month    | Microsoft.Compute             | Microsoft.Compute/disks
disk_p30  | Storage    | Storage                      | Premium SSD Managed Disks      | P30 LRS Disk                  | 1/Month    | Microsoft.Compute             | Microsoft.Compute/disks
blob      | Storage    | Storage                      | General Block Blob v2          | Hot LRS Data Stored           | 1 GB/Month | Microsoft.Storage             | Microsoft.Storage/storageAccounts
sql       | Databases  | SQL Database                 | General Purpose - Compute Gen5 | vCore                         | 1 Hour     | Microsoft.Sql                 | Microsoft.Sql/servers
bandwidth | Networking | Bandwidth                    | Rtn Preference: MGN            | Standard Data Transfer Out    | 1 GB       | Microsoft.Network             |
vpngw     | Networking | VPN Gateway                  | VPN Gateway                    | VpnGw2                        | 1 Hour     | Microsoft.Network             | Microsoft.Network/virtualNetworkGateways
logs      | Management and Governance | Log Analytics |                              | Analytics Logs Data Ingestion | 1 GB       | microsoft.operationalinsights | microsoft.operationalinsights/workspaces
defender  | Security   | Microsoft Defender for Cloud | Standard                       | Standard Node                 | 1 Hour     | Microsoft.Security            |
""")
RESERVATION_ORDER = "5b0e8c3a-2f47-4d19-9c61-7e2a4b8d0f35"
RESERVATION_ID = "c7d2e9f1-4a3b-4e68-b5c0-9f1e2d3a4b57"
RESERVATION_NAME = "acme-d8sv5-eastus-1y"
RESERVED_SIZE = "Standard_D8s_v5"
RESERVED_COUNT = 3
_NS = uuid.UUID("0d3e7a4c-5b21-4f8e-9a63-1c7b2e4d8f90")


def _guid(key: str) -> str:
    return str(uuid.uuid5(_NS, key))


def _s(
    key: str, who: Who, product: str, resource: str, qty: float, rate: str | Decimal, **kw: Any
) -> Stream:
    """An Azure stream; ``rate`` is a :data:`prices.RATES` key or a Decimal."""
    price = prices.RATES[rate] if isinstance(rate, str) else rate
    return make("azure", key, who, product, resource, qty, price, kw.pop("region", "eastus"), **kw)


def _rid(who: Who, provider_path: str, name: str, rg: str = "") -> str:
    group = rg or f"rg-{who.app}-{who.env}"
    return (
        f"/subscriptions/{who.account.id}/resourceGroups/{group}/providers/{provider_path}/{name}"
    )


def _vm(key: str, who: Who, size: str, name: str, **kw: Any) -> Stream:
    rate = prices.AZURE_VM[size].price[kw.get("region", "eastus")]
    attrs = {"size": size, "rg": f"rg-{who.app}-{who.env}", "name": name}
    rid = _rid(who, "Microsoft.Compute/virtualMachines", name)
    return _s(key, who, "vm", rid, 24.0, rate, attrs=attrs, **kw)


# -- plan -----------------------------------------------------------------------------------
def plan_core(seed: int, *, scale: float) -> Plan:
    """Reservation, shared services, an oversized VM and the anomaly stream."""
    rng = random.Random(f"{seed}:azure:core")
    plan = Plan(commitments=[commitment()])
    crm = Who(azure_sub("crm-integrations-prod"), "crm-integrations", "prod", "crm-sync")
    for i in range(RESERVED_COUNT):
        plan.streams.append(
            _vm(
                f"azure:res:{i}",
                crm,
                RESERVED_SIZE,
                f"vm-crm-sync-{i + 1:02d}",
                commitment="res",
                weekdays_only=(i == 2),
                telemetry="normal",
                **FIXED,
            )
        )
    _shared(plan, rng, servers=max(10, round(30 * scale)))
    _anomaly(plan, rng)
    files = Who(azure_sub("it-ops-prod"), "it-ops", "prod", "file-server")
    plan.streams.append(
        _vm(
            "azure:it-ops:oversized",
            files,
            "Standard_E8s_v5",
            "vm-fileserver-01",
            telemetry="oversized",
            **FIXED,
        )
    )
    return plan


def commitment() -> dict[str, Any]:
    """The VM reservation (for the ground truth)."""
    return {
        "provider": "azure",
        "kind": "Reservation",
        "id": benefit_id(),
        "name": RESERVATION_NAME,
        "instance_type": RESERVED_SIZE,
        "count": RESERVED_COUNT,
        "term": "1yr",
        "billing": "monthly",
        "scope": "Shared",
        "account": azure_sub("acme-management").id,
        "start": "2026-03-01",
        "end": "2027-03-01",
    }


def benefit_id() -> str:
    return (
        f"/providers/Microsoft.Capacity/reservationOrders/{RESERVATION_ORDER}"
        f"/reservations/{RESERVATION_ID}"
    )


def _shared(plan: Plan, rng: random.Random, *, servers: int) -> None:
    mgmt = azure_sub("acme-management")
    conn = azure_sub("acme-connectivity")
    hub = Who(conn, "networking", "prod", "hub-vpn")
    logs = Who(mgmt, "observability", "prod", "central-logging")
    defender = f"/subscriptions/{mgmt.id}/providers/Microsoft.Security/pricings/VirtualMachines"
    plan.streams += [
        _s(
            "azure:defender",
            Who(mgmt, None),
            "defender",
            defender,
            24.0 * servers,
            "azure.defender.server",
            **FIXED,
        ),
        _s(
            "azure:vpngw",
            hub,
            "vpngw",
            _rid(hub, METERS["vpngw"][6], "vgw-hub", "rg-hub"),
            24.0,
            "azure.vpngw.vpngw2",
            **FIXED,
        ),
        _s(
            "azure:bandwidth",
            Who(conn, None),
            "bandwidth",
            "",
            rng.uniform(300, 500),
            "azure.bandwidth.out",
            noise=0.15,
            **FIXED,
        ),
        _s(
            "azure:logs",
            logs,
            "logs",
            _rid(logs, METERS["logs"][6], "law-central"),
            rng.uniform(25, 40),
            "azure.loganalytics.ingest",
            noise=0.1,
            growth=0.02,
            **FIXED,
        ),
    ]


def _anomaly(plan: Plan, rng: random.Random) -> None:
    """A VM scale set (4 × F8s_v2) that scales out ×5–6 for two days."""
    owner = rng.choice([t for t in teams_on("azure") if t.bu == "Enterprise"])
    who = Who(azure_sub(f"{owner.id}-prod"), owner.id, "prod", f"{owner.id}-batch")
    stream = _vm(
        f"azure:anomaly:vmss:{owner.id}",
        who,
        "Standard_F8s_v2",
        f"vmss-{owner.id}-batch",
        noise=0.05,
        **FIXED,
    )
    stream.qty = 24.0 * 4
    start = rng.randrange(20, 45)
    factor = rng.choice((5.0, 6.0))
    days = ALL_DAYS[start : start + 2]
    stream.spikes = dict.fromkeys(days, factor)
    plan.streams.append(stream)
    plan.anomalies.append(
        Anomaly(
            "azure",
            stream.key,
            "spike",
            tuple(days),
            factor,
            f"VM scale set of {owner.id} scaled out by a mis-set autoscale rule",
        )
    )


_SIZES = (
    "Standard_D2s_v5",
    "Standard_D4s_v5",
    "Standard_D8s_v5",
    "Standard_E4s_v5",
    "Standard_F4s_v2",
    "Standard_B2ms",
    "Standard_B4ms",
    "Standard_D4as_v5",
)


def team_offers(seed: int) -> dict[str, Iterator[Stream]]:
    """An endless iterator of workloads for every Azure team."""
    return {t.id: _offers(t, random.Random(f"{seed}:azure:team:{t.id}")) for t in teams_on("azure")}


def _offers(t: Team, rng: random.Random) -> Iterator[Stream]:
    sub = azure_sub(f"{t.id}-prod")
    region = "westeurope" if t.bu == "Corporate" and rng.random() < 0.4 else "eastus"
    n = 0
    while True:
        n += 1
        app = f"{t.id}-{rng.choice(('app', 'api', 'portal', 'worker', 'sync'))}"
        who = Who(sub, t.id, "prod" if n % 3 else rng.choice(("dev", "test")), app)
        yield from _round(who, rng, f"azure:{t.id}:{n}", n, region)


def _round(who: Who, rng: random.Random, key: str, n: int, region: str) -> Iterator[Stream]:
    """One more application: a VM and its disk, maybe storage, a database, egress."""
    size = rng.choice([s for s in _SIZES if region in prices.AZURE_VM[s].price])
    tele = rng.choices(("normal", "oversized", "idle"), (0.75, 0.18, 0.07))[0]
    name = f"vm-{who.app}-{n:02d}"
    dev = who.env != "prod"
    vm = _vm(f"{key}:vm", who, size, name, region=region, weekdays_only=dev, telemetry=tele)
    yield vm
    opts = {"region": region, "attrs": {"rg": vm.attrs["rg"]}}
    disk = rng.choice(("disk_p10", "disk_p30"))
    disk_id = _rid(who, METERS[disk][6], f"{name}-osdisk")
    yield _s(f"{key}:disk", who, disk, disk_id, GB_MONTH_PER_DAY, f"azure.disk.{disk[5:]}", **opts)
    yield from _extras(who, rng, key, opts)


def _extras(who: Who, rng: random.Random, key: str, opts: dict[str, Any]) -> Iterator[Stream]:
    n = key.rsplit(":", 1)[-1]
    if rng.random() < 0.6:
        blob = _rid(who, METERS["blob"][6], f"st{slug(who.app).replace('-', '')[:16]}{n}")
        gb = rng.uniform(1_000, 40_000) * GB_MONTH_PER_DAY
        yield _s(f"{key}:blob", who, "blob", blob, gb, "azure.blob.hot", growth=0.03, **opts)
    if rng.random() < 0.4:
        db = _rid(who, METERS["sql"][6], f"sql-{who.app}-{n}/databases/{who.team}db")
        vcore_hours = 24.0 * rng.choice((2, 4, 8))
        yield _s(f"{key}:sql", who, "sql", db, vcore_hours, "azure.sql.gp.vcore", **opts)
    if rng.random() < 0.25:
        gb = rng.uniform(20, 300)
        yield _s(f"{key}:bw", who, "bandwidth", "", gb, "azure.bandwidth.out", noise=0.25, **opts)


def rows_of(stream: Stream) -> float:
    """Export rows per month (the reservation adds one UnusedReservation row a day)."""
    return stream.expected_rows() + (1 if stream.key == "azure:res:0" else 0) * 30


# -- render ---------------------------------------------------------------------------------
_VM_SERIES = {
    "Bms": "BS Series",
    "Ds": "Dsv5 Series",
    "Das": "Dasv5 Series",
    "Es": "Esv5 Series",
    "Fs": "FSv2 Series",
    "NCas": "NCasT4 v3 Series",
}


def _vm_meter(size: str) -> tuple[str, str]:
    """(MeterSubCategory, MeterName): ``Standard_D8s_v5`` → (``Dsv5 Series``, ``D8s v5``)."""
    head = size.split("_")[1]
    return _VM_SERIES["".join(c for c in head if c.isalpha())], size[9:].replace("_", " ")


def _meter(stream: Stream) -> tuple[str, str, str, str, str, str]:
    if stream.product == "vm":
        sub, name = _vm_meter(stream.attrs["size"])
        return "Compute", "Virtual Machines", sub, name, "1 Hour", "Microsoft.Compute"
    fam, cat, sub, name, unit, svc, _ = METERS[stream.product]
    return fam, cat, sub, name, unit, svc


def tags_text(tags: dict[str, str]) -> str:
    """EA tag format: ``"k": "v","k2": "v2"`` (no braces)."""
    return ",".join(f'"{k}": "{v}"' for k, v in tags.items())


def _dates(month: Month, day: date) -> dict[str, str]:
    last = month.days[-1]
    return {
        "BillingPeriodStartDate": f"{month.start:%m/%d/%Y}",
        "BillingPeriodEndDate": f"{last:%m/%d/%Y}",
        "Date": f"{day:%m/%d/%Y}",
    }


def _account_cols(sub: Account) -> dict[str, str]:
    owner = sub.owner if sub.owner in {t.id for t in TEAMS} else None
    dept = team(owner).department if owner else "Shared Services"
    return {
        "BillingAccountId": AZURE_ENROLLMENT,
        "BillingAccountName": AZURE_ENROLLMENT_NAME,
        "BillingProfileId": AZURE_ENROLLMENT,
        "BillingProfileName": AZURE_ENROLLMENT_NAME,
        "AccountOwnerId": f"{slug(dept)}@acme.example",
        "AccountName": dept,
        "SubscriptionId": sub.id,
        "SubscriptionName": sub.name,
        "InvoiceSectionId": "",
        "InvoiceSection": dept,
        "CostCenter": team(owner).cost_center if owner else "",
        "OfferId": "MS-AZR-0017P",
        "IsAzureCreditEligible": "True",
        "BillingCurrency": "USD",
        "PublisherType": "Azure",
        "PublisherName": "Microsoft",
        "Frequency": "UsageBased",
    }


def _row(stream: Stream, month: Month, day: date, qty: Decimal) -> dict[str, Any]:
    fam, cat, sub, name, unit, svc = _meter(stream)
    meter_region, location = REGIONS[stream.region]
    row: dict[str, Any] = {**_account_cols(stream.account), **_dates(month, day)}
    row.update(
        {
            "Product": f"{cat} {sub} - {name} - {meter_region}".replace("  ", " "),
            "PartNumber": f"AAA-{int(_guid(name + sub)[:8], 16) % 100000:05d}",
            "MeterId": _guid(f"{cat}|{sub}|{name}|{stream.region}"),
            "ServiceFamily": fam,
            "MeterCategory": cat,
            "MeterSubCategory": sub,
            "MeterRegion": meter_region,
            "MeterName": name,
            "Quantity": qty,
            "UnitPrice": stream.rate,
            "PayGPrice": stream.rate,
            "ResourceLocation": location,
            "ConsumedService": svc,
            "ResourceId": stream.resource_id,
            "ResourceName": stream.resource_id.rsplit("/", 1)[-1] if stream.resource_id else "",
            "ResourceGroup": stream.attrs.get("rg", ""),
            "UnitOfMeasure": unit,
            "ChargeType": "Usage",
            "PlanName": name,
            "Tags": None,
            "AdditionalInfo": _additional(stream),
        }
    )
    return row


def _additional(stream: Stream) -> str:
    if stream.product != "vm":
        return ""
    m = prices.AZURE_VM[stream.attrs["size"]]
    info = (
        f'{{"ServiceType":"{m.name}","VCPUs":{m.vcpu},"UsageType":"ComputeHR",'
        f'"ImageType":"Canonical","VMName":"{stream.attrs["name"]}"'
    )
    if stream.commitment == "res":
        info += (
            f',"ReservationOrderId":"{RESERVATION_ORDER}","ReservationId":"{RESERVATION_ID}"'
            f',"ConsumedQuantity":24.0'
        )
    return info + "}"


def _reservation_cols() -> dict[str, str]:
    return {
        "ReservationId": RESERVATION_ID,
        "ReservationName": RESERVATION_NAME,
        "ProductOrderId": RESERVATION_ORDER,
        "ProductOrderName": f"Reserved VM Instance, {RESERVED_SIZE}, US East, 1 Year",
        "Term": "12",
        "PricingModel": "Reservation",
        "benefitId": benefit_id(),
        "benefitName": RESERVATION_NAME,
    }


def reserved_rate() -> Decimal:
    return q(prices.AZURE_VM[RESERVED_SIZE].price["eastus"] * prices.AZURE_RESERVATION_1YR, 6)


def render(plan: Plan, seed: int) -> list[Line]:
    """All export rows: usage per stream and day, then the daily UnusedReservation rows."""
    lines: list[Line] = []
    used: dict[date, Decimal] = {d: Decimal(0) for d in ALL_DAYS}
    for stream in plan.streams:
        for day, qty in simulate(stream, seed=seed):
            month = next(m for m in MONTHS if m.start.date() <= day < m.end.date())
            row = _row(stream, month, day, qty)
            if stream.commitment == "res":
                rate = reserved_rate()
                cost = exact(qty, rate)
                row.update({**_reservation_cols(), "EffectivePrice": rate, "Cost": cost})
                used[day] += qty
                lines.append(Line(month, day, stream, row, Decimal(0), cost))
            else:
                cost = exact(qty, stream.rate)
                row.update(
                    {"EffectivePrice": stream.rate, "Cost": cost, "PricingModel": "OnDemand"}
                )
                lines.append(Line(month, day, stream, row, cost, cost))
    lines += _unused(used)
    return lines


def _unused(used: dict[date, Decimal]) -> list[Line]:
    template = _vm("azure:res:unused", Who(azure_sub("acme-management"), None), RESERVED_SIZE, "")
    template.resource_id = ""
    out = []
    for day, hours in used.items():
        unused = Decimal(24 * RESERVED_COUNT) - hours
        if unused <= 0:
            continue
        month = next(m for m in MONTHS if m.start.date() <= day < m.end.date())
        rate = reserved_rate()
        cost = exact(unused, rate)
        row = _row(template, month, day, unused)
        row.update(
            {
                **_reservation_cols(),
                "ChargeType": "UnusedReservation",
                "EffectivePrice": rate,
                "Cost": cost,
                "AdditionalInfo": "",
                "ResourceGroup": "",
                "Tags": "",
            }
        )
        out.append(Line(month, day, None, row, Decimal(0), cost))
    return out


def line_tags(line: Line) -> dict[str, str]:
    """The tags a line carries, keyed as written."""
    return logical_tags(line.stream) if line.stream is not None else {}


def write(lines: list[Line], root: Path, seed: int) -> list[Path]:
    """One amortized-cost CSV per month, in the Cost Management export folder layout."""
    rng = random.Random(f"{seed}:azure:files")
    paths = []
    for month in MONTHS:
        rows = []
        for ln in lines:
            if ln.month != month:
                continue
            row = dict(ln.values)
            if row.get("Tags") is None:
                row["Tags"] = tags_text(line_tags(ln))
            rows.append(row)
        run = uuid.UUID(int=rng.getrandbits(128), version=4)
        folder = f"{month.start:%Y%m%d}-{month.days[-1]:%Y%m%d}"
        path = root / "acme-ea-amortized" / folder / f"acme-ea-amortized_{run}.csv"
        write_csv(rows, HEADER, path, bom=True)
        paths.append(path)
    return paths

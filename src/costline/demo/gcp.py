"""Acme on Google Cloud: the Cloud Billing **detailed** (resource-level) export to BigQuery,
extracted as newline-delimited JSON (what ``bq extract --destination_format
NEWLINE_DELIMITED_JSON`` writes), one file a month.

The record shape follows the standard-export sample in ``reference-data/gcp`` (same keys,
NUMERIC values as JSON strings, ``labels``/``system_labels`` as key/value arrays, nested
``project``/``service``/``sku``/``usage``/``invoice``) plus the detailed export's ``resource``
(name, global_name), ``price`` (effective_price, tier_start_amount, unit,
pricing_unit_quantity) and ``cost_at_list``. Rows are daily. Always-on N2 VMs earn a
sustained-use discount: a ``SUSTAINED_USAGE_DISCOUNT`` credit of −20 % on their vCPU and RAM
rows. Costs follow the GCP connector: billed = ``cost``, effective = ``cost`` + Σ
``credits.amount``.

A VM is billed the way GCP bills it: one vCPU SKU row and one RAM SKU row per day (and a GPU
SKU row for A2 machines). Label keys and values are lowercase (GCP rejects capitals), so the
mis-tagging here is missing labels, a missing ``team`` label, the ``teem`` typo and unknown
team names.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from costline.demo import org, prices
from costline.demo.model import (
    Anomaly,
    Job,
    Line,
    Plan,
    Stream,
    Who,
    day_bounds,
    exact,
    logical_tags,
    make,
    parse_table,
    q,
    simulate,
)
from costline.demo.org import (
    GCP_BILLING_ACCOUNT,
    GCP_ORG_NUMBER,
    Account,
    Team,
    gcp_project,
    teams_on,
)
from costline.demo.periods import ALL_DAYS, MONTHS
from costline.demo.writers import write_ndjson

MONEY = 6
GIB = 2**30
TIB = 2**40

# service key → (service id, description)
SERVICES = {
    "compute": ("6F81-5844-456A", "Compute Engine"),
    "storage": ("95FF-2EF5-5EA1", "Cloud Storage"),
    "bigquery": ("24E6-581D-38E5", "BigQuery"),
    "network": ("E505-1604-58F8", "Networking"),
    "support": ("2062-016F-44A2", "Support"),
}

# product → (service, sku description, usage unit, pricing unit, usage units per pricing unit)
PRODUCTS: dict[str, tuple[str, ...]] = parse_table("""
core        | compute  | {F} Instance Core running in Americas             | seconds      | hour           | 3600
ram         | compute  | {F} Instance Ram running in Americas              | byte-seconds | gibibyte hour  | 3865470566400
gpu         | compute  | Nvidia Tesla A100 GPU running in Americas         | seconds      | hour           | 3600
pd_balanced | compute  | Balanced PD Capacity                              | byte-seconds | gibibyte month | 2821793513472000
pd_ssd      | compute  | SSD backed PD Capacity                            | byte-seconds | gibibyte month | 2821793513472000
gcs         | storage  | Standard Storage US Multi-region                  | byte-seconds | gibibyte month | 2821793513472000
bq_analysis | bigquery | Analysis                                          | bytes        | tebibyte       | 1099511627776
bq_storage  | bigquery | Active Logical Storage                            | byte-seconds | gibibyte month | 2821793513472000
egress      | network  | Network Internet Egress from Americas to Americas | bytes        | gibibyte       | 1073741824
nat         | network  | Cloud NAT Data Processing                         | bytes        | gibibyte       | 1073741824
""")
GB_MONTH_PER_DAY = 24 / 730
FIXED: dict[str, Any] = {"tags_fixed": True}


def _s(
    key: str, who: Who, product: str, resource: str, qty: float, rate: str | Decimal, **kw: Any
) -> Stream:
    """A GCP stream (us-central1); ``rate`` is a :data:`prices.RATES` key or a Decimal."""
    price = prices.RATES[rate] if isinstance(rate, str) else rate
    return make("gcp", key, who, product, resource, qty, price, "us-central1", **kw)


def vm_streams(key: str, who: Who, machine_type: str, **kw: Any) -> list[Stream]:
    """The per-SKU streams of one VM: vCPU hours, RAM GiB-hours (and GPU hours)."""
    m = prices.GCE[machine_type]
    family = machine_type.split("-")[0]
    name = kw.pop("name", f"{who.app}-{hashlib.sha256(key.encode()).hexdigest()[:5]}")
    rid = f"//compute.googleapis.com/projects/{who.account.id}/zones/us-central1-a/instances/{name}"
    attrs = {"machine_type": machine_type, "name": name, "family": family, "group": key}
    telemetry = kw.pop("telemetry", "")
    parts = [
        ("core", 24.0 * m.vcpu, prices.GCE_CORE_RATE[family]),
        ("ram", 24.0 * m.memory_gib, prices.GCE_RAM_RATE[family]),
    ]
    if m.gpus:
        parts.append(("gpu", 24.0 * m.gpus, q(prices.gce_gpu_rate(m), 6)))
    return [
        _s(
            f"{key}:{sku}",
            who,
            sku,
            rid,
            qty,
            rate,
            attrs=dict(attrs),
            telemetry=telemetry if sku == "core" else "",
            **kw,
        )
        for sku, qty, rate in parts
    ]


# -- plan -----------------------------------------------------------------------------------
def plan_core(seed: int, *, scale: float) -> Plan:
    """A100 training jobs, the shared BigQuery lake, network and a BigQuery spike."""
    rng = random.Random(f"{seed}:gcp:core")
    plan = Plan()
    _training(plan, rng)
    _lake(plan, rng)
    _network(plan, rng)
    _bq_anomaly(plan, rng)
    return plan


def _lake(plan: Plan, rng: random.Random) -> None:
    lake = Who(gcp_project("acme-data-lake"), "data-platform", "prod", "data-lake")
    tables = rng.uniform(80_000, 120_000) * GB_MONTH_PER_DAY
    raw = rng.uniform(60_000, 90_000) * GB_MONTH_PER_DAY
    opts = {"noise": 0.003, **FIXED}
    plan.streams += [
        _s(
            "gcp:lake:storage",
            lake,
            "bq_storage",
            "projects/acme-data-lake/datasets/lake",
            tables,
            "gcp.bq.storage",
            growth=0.04,
            **opts,
        ),
        _s(
            "gcp:lake:gcs",
            lake,
            "gcs",
            "projects/_/buckets/acme-data-lake-raw",
            raw,
            "gcp.gcs.standard",
            growth=0.03,
            **opts,
        ),
    ]


def _network(plan: Plan, rng: random.Random) -> None:
    vpc = gcp_project("acme-shared-vpc")
    nat = f"//compute.googleapis.com/projects/{vpc.id}/regions/us-central1/routers/nat-1"
    egress, processed = rng.uniform(150, 250), rng.uniform(500, 900)
    shared_nat = Who(vpc, "networking", "prod", "shared-nat")
    plan.streams += [
        _s(
            "gcp:vpc:egress",
            Who(vpc, None),
            "egress",
            "",
            egress,
            "gcp.egress",
            noise=0.15,
            **FIXED,
        ),
        _s("gcp:vpc:nat", shared_nat, "nat", nat, processed, "gcp.nat.data", noise=0.1, **FIXED),
    ]


def _training(plan: Plan, rng: random.Random) -> None:
    project = gcp_project("acme-ml-research")
    who = Who(project, "ml-research", "prod", "vision-pretrain")
    for month in MONTHS:
        for j in range(2):
            start = datetime.combine(month.days[rng.randrange(2, 22)], datetime.min.time())
            start += timedelta(hours=rng.randrange(0, 24))
            end = start + timedelta(hours=rng.choice((12, 20, 36, 48)))
            machine = "a2-highgpu-8g" if j == 0 else "a2-highgpu-1g"
            job_id = f"gcp-train-{month.label}-{j + 1}"
            job = Job(
                job_id,
                "gcp",
                project.id,
                "ml-research",
                "training",
                machine,
                "A100",
                prices.GCE[machine].gpus,
                start,
                end,
                "",
            )
            streams = vm_streams(
                f"gcp:gpu:{job_id}",
                who,
                machine,
                days=job.day_fractions(),
                name=f"train-{job_id[10:]}",
                extra_tags={"job-id": job_id},
                **FIXED,
            )
            job.resource_id = streams[0].resource_id
            job.stream_keys = tuple(s.key for s in streams)
            plan.jobs.append(job)
            plan.streams += streams


def _bq_anomaly(plan: Plan, rng: random.Random) -> None:
    """A day of BigQuery scans ×12–20 by a data-heavy team."""
    data_teams = [
        t for t in teams_on("gcp") if t.department in ("Data", "Customer Success", "Growth")
    ]
    owner = rng.choice(data_teams)
    project = gcp_project(f"acme-{owner.id}")
    who = Who(project, owner.id, "prod", f"{owner.id}-dashboards")
    stream = _s(
        f"gcp:anomaly:bq:{owner.id}",
        who,
        "bq_analysis",
        f"projects/{project.id}/jobs",
        rng.uniform(1.5, 3.0),
        "gcp.bq.analysis",
        noise=0.2,
        **FIXED,
    )
    day = ALL_DAYS[rng.randrange(62, 85)]
    factor = rng.choice((12.0, 15.0, 20.0))
    stream.spikes = {day: factor}
    plan.streams.append(stream)
    plan.anomalies.append(
        Anomaly(
            "gcp",
            stream.key,
            "spike",
            (day,),
            factor,
            f"unpartitioned full-table scans from a new {owner.id} dashboard",
        )
    )


_MACHINES = (
    "e2-standard-2",
    "e2-standard-4",
    "e2-standard-8",
    "n2-standard-4",
    "n2-standard-8",
    "n2-standard-16",
    "n2-highmem-4",
    "n2-highmem-8",
)


def team_offers(seed: int) -> dict[str, Iterator[Stream]]:
    """An endless iterator of workloads for every GCP team."""
    return {t.id: _offers(t, random.Random(f"{seed}:gcp:team:{t.id}")) for t in teams_on("gcp")}


def _offers(t: Team, rng: random.Random) -> Iterator[Stream]:
    project = gcp_project(f"acme-{t.id}")
    n = 0
    while True:
        n += 1
        app = f"{t.id}-{rng.choice(('api', 'etl', 'model', 'svc', 'batch'))}"
        who = Who(project, t.id, "prod" if n % 3 else "dev", app)
        yield from _round(t, who, rng, f"gcp:{t.id}:{n}", n)


def _round(t: Team, who: Who, rng: random.Random, key: str, n: int) -> Iterator[Stream]:
    """One more application: a VM and its disk, maybe a bucket, BigQuery, egress."""
    tele = rng.choices(("normal", "oversized", "idle"), (0.75, 0.18, 0.07))[0]
    yield from vm_streams(
        f"{key}:vm", who, rng.choice(_MACHINES), weekdays_only=who.env == "dev", telemetry=tele
    )
    disk = rng.choice(("pd_balanced", "pd_ssd"))
    zone = f"//compute.googleapis.com/projects/{who.account.id}/zones/us-central1-a"
    yield _s(
        f"{key}:pd",
        who,
        disk,
        f"{zone}/disks/{who.app}-{n}",
        rng.choice((100, 200, 500, 1000)) * GB_MONTH_PER_DAY,
        "gcp.pd.balanced" if disk == "pd_balanced" else "gcp.pd.ssd",
    )
    if rng.random() < 0.5:
        yield _s(
            f"{key}:gcs",
            who,
            "gcs",
            f"projects/_/buckets/{who.app}-{who.env}-{n}",
            rng.uniform(500, 30_000) * GB_MONTH_PER_DAY,
            "gcp.gcs.standard",
            growth=0.03,
            noise=0.01,
        )
    analytics = t.department in ("Data", "Customer Success", "Growth", "Machine Learning")
    if analytics or rng.random() < 0.2:
        yield _s(
            f"{key}:bq",
            who,
            "bq_analysis",
            f"projects/{who.account.id}/jobs",
            rng.uniform(0.2, 2.5),
            "gcp.bq.analysis",
            noise=0.35,
            weekdays_only=True,
        )
    if rng.random() < 0.25:
        yield _s(f"{key}:egress", who, "egress", "", rng.uniform(10, 200), "gcp.egress", noise=0.25)


def rows_of(stream: Stream) -> float:
    return stream.expected_rows()


# -- render ---------------------------------------------------------------------------------
def _sku_id(text: str) -> str:
    h = hashlib.sha256(text.encode()).hexdigest().upper()
    return f"{h[:4]}-{h[4:8]}-{h[8:12]}"


def _labels(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


def _project(project: Account) -> dict[str, Any]:
    folder = _sku_id(project.owner)[:4]
    owner = org.team(project.owner) if project.owner in org.TEAM_IDS else None
    labels = _labels({"department": org.slug(owner.department)}) if owner else []
    return {
        "id": project.id,
        "number": project.number,
        "name": project.name,
        "labels": labels,
        "ancestry_numbers": f"/{GCP_ORG_NUMBER}/{int(folder, 16)}/",
    }


SUD = Decimal("-0.20")


def sud_credit(stream: Stream, cost: Decimal) -> Decimal:
    """Sustained-use discount on always-on N2 vCPU/RAM (E2 and A2 are not eligible)."""
    eligible = (
        stream.product in ("core", "ram")
        and stream.attrs.get("family") == "n2"
        and not stream.weekdays_only
        and stream.days is None
    )
    return q(cost * SUD, MONEY) if eligible else Decimal(0)


def _system_labels(stream: Stream) -> list[dict[str, str]]:
    if stream.product not in ("core", "ram", "gpu"):
        return []
    m = prices.GCE[stream.attrs["machine_type"]]
    return _labels(
        {
            "compute.googleapis.com/machine_spec": m.name,
            "compute.googleapis.com/cores": str(m.vcpu),
            "compute.googleapis.com/memory": str(m.memory_gib * 1024),
        }
    )


def _usage(stream: Stream, qty: Decimal) -> dict[str, str]:
    _, _, unit, pricing_unit, factor = PRODUCTS[stream.product]
    return {
        "amount": _num(q(qty * int(factor), 6)),
        "unit": unit,
        "amount_in_pricing_units": _num(qty),
        "pricing_unit": pricing_unit,
    }


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _row(
    stream: Stream, day: date, qty: Decimal, cost: Decimal, rng: random.Random
) -> dict[str, Any]:
    service, sku, _, pricing_unit, _ = PRODUCTS[stream.product]
    start, end = day_bounds(day)
    sku_text = sku.format(F=stream.attrs.get("family", "").upper())
    sid, sdesc = SERVICES[service]
    vm = stream.product in ("core", "ram", "gpu")
    location = {"location": "us-central1", "country": "US", "region": "us-central1"}
    resource = stream.resource_id
    return {
        "billing_account_id": GCP_BILLING_ACCOUNT,
        "service": {"id": sid, "description": sdesc},
        "sku": {"id": _sku_id(sku_text), "description": sku_text},
        "usage_start_time": f"{start:%Y-%m-%dT%H:%M:%SZ}",
        "usage_end_time": f"{end:%Y-%m-%dT%H:%M:%SZ}",
        "project": _project(stream.account),
        "labels": None,
        "system_labels": _system_labels(stream),
        "location": {**location, "zone": "us-central1-a" if vm else None},
        "resource": {"name": resource.rsplit("/", 1)[-1] or None, "global_name": resource or None},
        "price": _price(stream.rate, pricing_unit),
        "export_time": _export_time(end, rng),
        "cost": _num(cost),
        "currency": "USD",
        "currency_conversion_rate": "1.0",
        "usage": _usage(stream, qty),
        "credits": _credits(stream, cost),
        "invoice": {"month": f"{day:%Y%m}"},
        "cost_type": "regular",
        "adjustment_info": None,
        "cost_at_list": _num(cost),
    }


def _credits(stream: Stream, cost: Decimal) -> list[dict[str, str]]:
    amount = sud_credit(stream, cost)
    if not amount:
        return []
    return [
        {
            "name": "Sustained Usage Discount",
            "amount": _num(amount),
            "full_name": "Sustained Usage Discount",
            "id": f"{_sku_id(stream.product)}",
            "type": "SUSTAINED_USAGE_DISCOUNT",
        }
    ]


def render(plan: Plan, seed: int) -> list[Line]:
    """All export rows: usage per stream and day, then the daily support fee."""
    rng = random.Random(f"{seed}:gcp:ids")
    lines: list[Line] = []
    for stream in plan.streams:
        for day, qty in simulate(stream, seed=seed):
            cost = exact(qty, stream.rate)
            if cost == 0:
                continue
            month = next(m for m in MONTHS if m.start.date() <= day < m.end.date())
            row = _row(stream, day, qty, cost, rng)
            lines.append(Line(month, day, stream, row, cost, cost + sud_credit(stream, cost)))
    lines += _support(lines, rng)
    return lines


def _support(lines: list[Line], rng: random.Random) -> list[Line]:
    """Enhanced Support: 3 % of the month's spend (at least $500), billed daily, no project.

    Each day's row prices one support-day at the daily fee, so price × quantity = cost.
    """
    out = []
    for month in MONTHS:
        spend = sum((ln.billed for ln in lines if ln.month == month), Decimal(0))
        monthly = max(Decimal(500), spend * Decimal("0.03"))
        daily = q(monthly / len(month.days), MONEY)
        for day in month.days:
            row = _support_row(day, daily, rng)
            out.append(Line(month, day, None, row, daily, daily))
    return out


def _support_row(day: date, daily: Decimal, rng: random.Random) -> dict[str, Any]:
    start, end = day_bounds(day)
    sid, sdesc = SERVICES["support"]
    usage = {
        "amount": "86400",
        "unit": "seconds",
        "amount_in_pricing_units": "1",
        "pricing_unit": "day",
    }
    return {
        "billing_account_id": GCP_BILLING_ACCOUNT,
        "service": {"id": sid, "description": sdesc},
        "sku": {"id": "E4F5-0256-E0EE", "description": "GCP Support Variable fee"},
        "usage_start_time": f"{start:%Y-%m-%dT%H:%M:%SZ}",
        "usage_end_time": f"{end:%Y-%m-%dT%H:%M:%SZ}",
        "project": {
            **dict.fromkeys(("id", "number", "name")),
            "labels": [],
            "ancestry_numbers": None,
        },
        "labels": [],
        "system_labels": [],
        "location": None,
        "resource": {"name": None, "global_name": None},
        "price": _price(daily, "day"),
        "export_time": _export_time(end + timedelta(hours=2), rng),
        "cost": _num(daily),
        "currency": "USD",
        "currency_conversion_rate": "1.0",
        "usage": usage,
        "credits": [],
        "invoice": {"month": f"{day:%Y%m}"},
        "cost_type": "regular",
        "adjustment_info": None,
        "cost_at_list": _num(daily),
    }


def _price(rate: Decimal, unit: str) -> dict[str, str]:
    return {
        "effective_price": _num(rate),
        "tier_start_amount": "0",
        "unit": unit,
        "pricing_unit_quantity": "1",
    }


def _export_time(after: datetime, rng: random.Random) -> str:
    moment = after + timedelta(hours=4, seconds=rng.randrange(0, 7200))
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{rng.randrange(1000):03d}Z"


def line_tags(line: Line) -> dict[str, str]:
    """The labels a line carries (GCP spelling: ``owner`` for the no-team mode's key)."""
    if line.stream is None:
        return {}
    return logical_tags(line.stream)


def write(lines: list[Line], root: Path, seed: int) -> list[Path]:
    """One NDJSON extract per invoice month."""
    paths = []
    for month in MONTHS:
        rows = []
        for ln in lines:
            if ln.month != month:
                continue
            row = dict(ln.values)
            if row.get("labels") is None:
                row["labels"] = _labels(line_tags(ln))
            rows.append(row)
        path = root / f"acme-billing-export-detailed-{month.label}.ndjson"
        write_ndjson(rows, path)
        paths.append(path)
    return paths

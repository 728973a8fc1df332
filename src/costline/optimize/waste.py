"""Idle and waste: resources that cost money and serve nothing, found in bill rows and an
inventory snapshot.

Each rule yields findings per resource: what it costs per month at the customer's own rate
(the bill's ``EffectiveCost``, so discounts and credits are in it) and what removing or
changing it saves. Rules on bill rows alone:

* ``unassociated-address``: AWS bills a public IPv4 address that is not attached to a running
  resource under usage types ``*IdleAddress*`` (``ElasticIP:IdleAddress``,
  ``PublicIPv4:IdleAddress``). Release it: saves all of it.
* ``idle-load-balancer``: an AWS load balancer billed for its hours (``*LoadBalancerUsage``)
  with no capacity units and no data processed (``*LCUUsage``, ``*DataProcessing-Bytes``)
  in the whole window. Delete it: saves all of it.
* ``gp2-to-gp3``: EBS gp2 volumes (``*EBS:VolumeUsage.gp2``). gp3 lists at $0.08 per GB-month
  against gp2's $0.10 in us-east-1 (and in the same 4:5 ratio in the other regions AWS lists),
  with 3,000 IOPS and 125 MB/s included, which covers gp2 volumes up to 1 TiB; the change is
  online. Saves 20 % of the volume's storage cost (``GP3_PRICE_RATIO``).

A rule that needs utilization telemetry (``costline telemetry load``):

* ``idle-instance``: an instance the bill charges whose CPU never rose above 2 %
  (``IDLE_CPU_PERCENT``, the maximum of its ``cpu_percent`` samples in the window, at least
  ``IDLE_MIN_HOURS`` hours of them) and whose network traffic (in + out) averaged at most
  5 MB a day (``IDLE_NETWORK_BYTES_PER_DAY``, the figure AWS Trusted Advisor's low-utilization
  check uses). Stop or terminate it: saves all of its cost. Without network samples the
  finding has medium confidence.

A rule that needs the pricing catalog (``costline/optimize/data``):

* ``previous-generation``: an EC2 instance of a previous generation (AWS's own flag, or a
  Xen-era family of generation 4 or older: m4, c4, r4, t2, ...) with a current-generation type
  of the same class (m, c, r, t, ...; the Intel/AMD variants, no local-disk or network
  variants), the same architecture, vCPUs and GPUs and at least its memory, that costs less.
  Saves the difference at the customer's rate: the bill's effective hourly rate for today's
  type, the candidate's list price × the same discount, × 730 hours.

Rules that need the inventory (``costline inventory load``: what exists and in what state,
which a bill does not say):

* ``unattached-volume``: a volume in state ``available`` (AWS) or ``Unattached`` (Azure) that
  the bill still charges. Snapshot and delete it: saves all of it.
* ``orphan-snapshot``: a snapshot whose source volume no longer exists in the inventory and
  that the bill still charges. Review and delete: saves all of it (lower confidence: a
  snapshot may be kept on purpose, as a backup).

A finding needs the resource billed on one of the window's last two days (a resource already
gone saves nothing), and the monthly figures are its cost per billed day × 30.4375.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costline.core.errors import ConfigError
from costline.core.inputs import header_columns, need_file, reader_sql, reject_bad_rows

if TYPE_CHECKING:
    from costline.optimize.pricing import Catalog, InstanceType, Price

GP3_PRICE_RATIO = Decimal("0.8")  # gp3 / gp2 list price per GB-month (us-east-1: 0.08 / 0.10)
DAYS_PER_MONTH = Decimal("30.4375")  # 365.25 / 12
RECENT_DAYS = 2  # a finding's resource is billed on one of the window's last two days
IDLE_CPU_PERCENT = 2.0
IDLE_MIN_HOURS = 30  # hours with CPU samples, as rightsizing requires
IDLE_NETWORK_BYTES_PER_DAY = 5_000_000
PREVIOUS_GENERATION_MAX = 4  # Xen-era EC2 generations (m4, c4, r4, t2, ...)
HOURS_PER_MONTH = Decimal(730)
RULES = (
    "previous-generation",
    "idle-instance",
    "unassociated-address",
    "idle-load-balancer",
    "gp2-to-gp3",
    "unattached-volume",
    "orphan-snapshot",
)
# the rules about resources that do nothing (``costline recommend --kind idle``)
IDLE_RULES = (
    "idle-instance",
    "unassociated-address",
    "idle-load-balancer",
    "unattached-volume",
    "orphan-snapshot",
)
INVENTORY_COLUMNS = ("resource_id", "resource_type", "state")
INVENTORY_OPTIONAL = ("source_id", "region", "provider", "attached_to")
RESOURCE_TYPES = ("volume", "snapshot", "address", "load_balancer", "instance")
_UNATTACHED = ("available", "unattached")

INVENTORY_DDL = """CREATE TABLE IF NOT EXISTS inventory (
    resource_id VARCHAR NOT NULL, resource_type VARCHAR NOT NULL, state VARCHAR,
    source_id VARCHAR, region VARCHAR, provider VARCHAR, attached_to VARCHAR,
    source_file VARCHAR, loaded_at TIMESTAMP)"""


@dataclass(frozen=True)
class Finding:
    """One resource one rule flags."""

    rule: str
    resource_id: str
    provider: str | None
    account: str | None
    service: str | None
    region: str | None
    monthly_cost: Decimal
    monthly_savings: Decimal
    confidence: str
    evidence: str
    last_seen: dt.date


def ensure_tables(con: Any) -> None:
    con.execute(INVENTORY_DDL)


def load_inventory(con: Any, path: Path) -> int:
    """Replace the inventory with one snapshot file (CSV or Parquet); returns its rows.

    Columns: ``resource_id``, ``resource_type`` (volume, snapshot, address, load_balancer,
    instance), ``state`` (as the provider reports it: ``available``/``in-use`` for AWS
    volumes, ``Unattached``/``Attached`` for Azure disks), optional ``source_id`` (a
    snapshot's volume), ``region``, ``provider``, ``attached_to``.

    Raises:
        BadInputError: unreadable file, a missing column, an empty id or an unknown type,
            naming the file, row and column.
    """
    need_file(path)
    raw = header_columns(
        con,
        path,
        INVENTORY_COLUMNS,
        "write a CSV with a header row: resource_id,resource_type,state[,source_id,...]",
        what="inventory",
    )

    def col(name: str) -> str:
        if name not in raw:
            return "CAST(NULL AS VARCHAR)"
        return 'NULLIF(trim(CAST("' + raw[name].replace('"', '""') + "\" AS VARCHAR)), '')"

    names = (*INVENTORY_COLUMNS, *INVENTORY_OPTIONAL)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _inv_raw AS SELECT row_number() OVER () AS _row, "
        + ", ".join(f"{col(n)} AS {n}" for n in names)
        + f" FROM {reader_sql(path)}"
    )
    types = ", ".join(f"'{t}'" for t in RESOURCE_TYPES)
    reject_bad_rows(
        con,
        path,
        "_inv_raw",
        [
            (
                "resource_id",
                "resource_id IS NULL",
                "resource_id",
                "every row needs the resource's id",
            ),
            (
                "resource_type",
                f"resource_type IS NULL OR lower(resource_type) NOT IN ({types})",
                "resource_type",
                f"use one of {', '.join(RESOURCE_TYPES)}",
            ),
        ],
    )
    ensure_tables(con)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM inventory")
        con.execute(
            "INSERT INTO inventory SELECT resource_id, lower(resource_type), state, source_id, "
            "region, provider, attached_to, ?, now()::TIMESTAMP FROM _inv_raw",
            [str(path)],
        )
        n = con.execute("SELECT count(*) FROM _inv_raw").fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(n)


def _window(con: Any, lookback_days: int, as_of: dt.date | None) -> tuple[dt.date, dt.date]:
    if lookback_days < RECENT_DAYS:
        raise ConfigError(
            f"lookback of {lookback_days} days is too short",
            hint=f"use at least {RECENT_DAYS} days (30 is the default)",
        )
    if as_of is None:
        row = con.execute("SELECT max(CAST(ChargePeriodStart AS DATE)) FROM cost").fetchone()
        if not row or row[0] is None:
            raise ConfigError("the cost store is empty", hint="ingest a bill first")
        as_of = row[0]
    assert as_of is not None
    return as_of - dt.timedelta(days=lookback_days - 1), as_of


def _idle_sql() -> str:
    """Instances (lower-cased ids) idle over the telemetry window ``[?, ?)``, with whether
    their network traffic was measured."""
    net = "metric IN ('network_in_bytes', 'network_out_bytes')"
    return (
        "SELECT lower(resource_id) AS rid, bool_or(" + net + ") AS net_known FROM telemetry "
        'WHERE "timestamp" >= ? AND "timestamp" < ? GROUP BY 1 '
        "HAVING max(CASE WHEN metric = 'cpu_percent' THEN value END) <= "
        f"{IDLE_CPU_PERCENT} AND count(DISTINCT CASE WHEN metric = 'cpu_percent' "
        f"THEN date_trunc('hour', \"timestamp\") END) >= {IDLE_MIN_HOURS} "
        f"AND COALESCE(SUM(CASE WHEN {net} THEN value END), 0) / "
        'greatest(count(DISTINCT CAST("timestamp" AS DATE)), 1) '
        f"<= {IDLE_NETWORK_BYTES_PER_DAY}"
    )


def _rule_rows(has_inventory: bool, has_telemetry: bool) -> str:
    """``rule, resource, saving share`` per bill row (SQL over ``cost c``)."""
    usage = "COALESCE(c.x_UsageType, '')"
    rules = [
        f"SELECT 'unassociated-address' AS rule, c.*, 1.0 AS share FROM w c "
        f"WHERE {usage} LIKE '%IdleAddress%'",
        f"SELECT 'gp2-to-gp3' AS rule, c.*, 1.0 - {GP3_PRICE_RATIO} AS share FROM w c "
        f"WHERE {usage} LIKE '%EBS:VolumeUsage.gp2'",
        # a load balancer whose window has hours but no capacity units nor bytes processed
        "SELECT 'idle-load-balancer' AS rule, c.*, 1.0 AS share FROM w c WHERE c.ResourceId IN ("
        f"SELECT ResourceId FROM w c WHERE {usage} LIKE '%LoadBalancerUsage' "
        "EXCEPT SELECT ResourceId FROM w c WHERE ("
        f"{usage} LIKE '%LCUUsage' OR {usage} LIKE '%DataProcessing-Bytes') "
        "AND COALESCE(c.ConsumedQuantity, 0) > 0)",
    ]
    if has_telemetry:
        rules.append(
            "SELECT CASE WHEN i.net_known THEN 'idle-instance' ELSE 'idle-instance?' END "
            "AS rule, c.*, 1.0 AS share FROM w c JOIN idle i ON i.rid = lower(c.ResourceId)"
        )
    if has_inventory:
        unattached = ", ".join(f"'{s}'" for s in _UNATTACHED)
        rules += [
            "SELECT 'unattached-volume' AS rule, c.*, 1.0 AS share FROM w c JOIN inventory i "
            "ON i.resource_id = c.ResourceId AND i.resource_type = 'volume' "
            f"AND lower(i.state) IN ({unattached})",
            "SELECT 'orphan-snapshot' AS rule, c.*, 1.0 AS share FROM w c JOIN inventory i "
            "ON i.resource_id = c.ResourceId AND i.resource_type = 'snapshot' "
            "WHERE i.source_id IS NOT NULL AND i.source_id NOT IN "
            "(SELECT resource_id FROM inventory WHERE resource_type = 'volume')",
        ]
    return " UNION ALL BY NAME ".join(f"({r})" for r in rules)


_EVIDENCE = {
    "idle-instance": f"CPU never above {IDLE_CPU_PERCENT:g} % and network under 5 MB a day",
    "unassociated-address": "public IPv4 billed as idle (not attached to a running resource)",
    "idle-load-balancer": "load balancer hours with no capacity units or data processed",
    "gp2-to-gp3": "gp2 storage; gp3 lists 20 % lower with baseline IOPS included",
    "unattached-volume": "volume not attached to any instance (inventory)",
    "orphan-snapshot": "snapshot of a volume that no longer exists (inventory)",
}
_CONFIDENCE = {
    "idle-instance": "high",
    "unassociated-address": "high",
    "idle-load-balancer": "high",
    "gp2-to-gp3": "high",
    "unattached-volume": "high",
    "orphan-snapshot": "medium",
}


def _family_class(family: str) -> tuple[str, int | None, str]:
    """``m6i`` → (``m``, 6, ``i``)."""
    m = re.fullmatch(r"([a-z]+)(\d+)([a-z-]*)", family)
    return (m[1], int(m[2]), m[3]) if m else (family, None, "")


_LIKE_FOR_LIKE = ("", "i", "a")  # Intel/AMD variants; not d (local disk), n (network), ...


def _current_twin(
    catalog: Catalog, spec: InstanceType, cls: str, region: str
) -> tuple[InstanceType, Price] | None:
    """The cheapest (list price) current-generation type of ``spec``'s class in ``region`` with
    the same architecture, vCPUs and GPUs and at least its memory."""
    best: tuple[InstanceType, Price] | None = None
    for cand, price in catalog.priced_types("aws", region):
        c_cls, c_gen, c_var = _family_class(cand.family)
        if (
            c_cls != cls
            or c_var not in _LIKE_FOR_LIKE
            or not cand.current_generation
            or c_gen is None
            or c_gen <= PREVIOUS_GENERATION_MAX
            or cand.bare_metal
            or cand.arch != spec.arch
            or cand.vcpu != spec.vcpu
            or cand.gpu_count != spec.gpu_count
            or cand.memory_gib < spec.memory_gib
        ):
            continue
        if best is None or price.usd_per_hour < best[1].usd_per_hour:
            best = (cand, price)
    return best


def previous_generation(
    con: Any,
    *,
    start: dt.date,
    end: dt.date,
    lookback_days: int,
    pricing_dir: Path | None = None,
) -> list[Finding]:
    """EC2 instances of a previous generation with a cheaper current-generation twin (list
    prices: the packaged catalog, with the workspace's refreshed ones in ``pricing_dir``)."""
    from costline.optimize.pricing import catalog_for, normalize_region

    rows = con.execute(
        "SELECT ResourceId, arg_max(x_InstanceType, ChargePeriodStart), arg_max(RegionId, "
        "ChargePeriodStart), any_value(SubAccountId), any_value(ServiceName), "
        "SUM(EffectiveCost), SUM(coalesce(PricingQuantity, ConsumedQuantity)), "
        "count(DISTINCT CAST(ChargePeriodStart AS DATE)), max(CAST(ChargePeriodStart AS DATE)) "
        "FROM cost WHERE x_Provider = 'aws' AND ChargeCategory = 'Usage' "
        "AND nullif(trim(x_InstanceType), '') IS NOT NULL AND ResourceId IS NOT NULL "
        "AND CAST(ChargePeriodStart AS DATE) BETWEEN ? AND ? GROUP BY 1 "
        "HAVING max(CAST(ChargePeriodStart AS DATE)) > ?",
        [start, end, end - dt.timedelta(days=RECENT_DAYS)],
    ).fetchall()
    if not rows:
        return []
    catalog = catalog_for(pricing_dir, ("aws",))
    twins: dict[tuple[str, str], tuple[InstanceType, Price] | None] = {}
    out = []
    for rid, itype, region, account, service, cost, qty, days, last in rows:
        spec = catalog.instance_type("aws", itype)
        if spec is None or not qty or Decimal(qty) <= 0:
            continue
        cls, gen, _ = _family_class(spec.family)
        previous = not spec.current_generation or (
            gen is not None and gen <= PREVIOUS_GENERATION_MAX
        )
        if not previous:
            continue
        region_key = normalize_region(region or "")
        current_list = catalog.price("aws", spec.name, region_key)
        observed = Decimal(cost) / Decimal(qty)
        key = (spec.name, region_key)
        if key not in twins:  # instances of one type and region share their twin
            twins[key] = _current_twin(catalog, spec, cls, region_key)
        twin = twins[key]
        if twin is None:
            continue
        cand, price = twin
        # the twin's list price at the discount the bill shows on today's type
        hourly = (
            price.usd_per_hour * observed / current_list.usd_per_hour
            if current_list is not None
            else price.usd_per_hour
        )
        if hourly >= observed:
            continue
        out.append(
            Finding(
                rule="previous-generation",
                resource_id=rid,
                provider="aws",
                account=account,
                service=service,
                region=region,
                monthly_cost=(observed * HOURS_PER_MONTH).quantize(Decimal("0.01")),
                monthly_savings=((observed - hourly) * HOURS_PER_MONTH).quantize(Decimal("0.01")),
                confidence="high" if price.confidence == "high" else "medium",
                evidence=(
                    f"{spec.name} is a previous generation; {cand.name} has the same vCPUs and "
                    f"at least the memory at {hourly:.4f}/h against {observed:.4f}/h; "
                    f"billed {int(days)} of the {lookback_days} days"
                ),
                last_seen=last,
            )
        )
    return out


def find_waste(
    con: Any,
    *,
    lookback_days: int = 30,
    as_of: dt.date | None = None,
    rules: tuple[str, ...] = RULES,
    pricing_dir: Path | None = None,
) -> list[Finding]:
    """Every waste finding of the window ending ``as_of`` (default: the last billed day),
    largest monthly savings first. ``pricing_dir``: the workspace's refreshed price files."""
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise ConfigError(
            f"unknown waste rule {unknown[0]!r}", hint=f"use one of {', '.join(RULES)}"
        )
    start, end = _window(con, lookback_days, as_of)
    tables = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_name IN ('inventory', 'telemetry')"
        ).fetchall()
    }
    has_telemetry = "telemetry" in tables
    wanted = ", ".join(f"'{r}'" for r in rules)
    if "idle-instance" in rules:
        wanted += ", 'idle-instance?'"
    sql = (
        "WITH w AS (SELECT * FROM cost WHERE ResourceId IS NOT NULL AND ResourceId <> '' "
        "AND CAST(ChargePeriodStart AS DATE) BETWEEN ? AND ?), "
        + (f"idle AS ({_idle_sql()}), " if has_telemetry else "")
        + f"r AS ({_rule_rows('inventory' in tables, has_telemetry)}) "
        "SELECT rule, ResourceId, any_value(x_Provider), any_value(SubAccountId), "
        "any_value(ServiceName), any_value(RegionId), SUM(EffectiveCost), "
        "SUM(EffectiveCost * CAST(share AS DECIMAL(18, 4))), "
        "count(DISTINCT CAST(ChargePeriodStart AS DATE)), max(CAST(ChargePeriodStart AS DATE)) "
        f"FROM r WHERE rule IN ({wanted}) GROUP BY rule, ResourceId "
        "HAVING max(CAST(ChargePeriodStart AS DATE)) > ? AND SUM(EffectiveCost) > 0"
    )
    recent = end - dt.timedelta(days=RECENT_DAYS)
    params: list[Any] = [start, end]
    if has_telemetry:
        params += [start, end + dt.timedelta(days=1)]
    out = []
    for row in con.execute(sql, [*params, recent]).fetchall():
        rule = row[0].rstrip("?")
        days = Decimal(int(row[8]))
        monthly = Decimal(row[6]) / days * DAYS_PER_MONTH
        saving = Decimal(row[7]) / days * DAYS_PER_MONTH
        out.append(
            Finding(
                rule=rule,
                resource_id=row[1],
                provider=row[2],
                account=row[3],
                service=row[4],
                region=row[5],
                monthly_cost=monthly.quantize(Decimal("0.01")),
                monthly_savings=saving.quantize(Decimal("0.01")),
                confidence="medium" if row[0].endswith("?") else _CONFIDENCE[rule],
                evidence=(
                    "CPU never above 2 %, network not measured"
                    if row[0].endswith("?")
                    else _EVIDENCE[rule]
                )
                + f"; billed {int(days)} of the {lookback_days} days",
                last_seen=row[9],
            )
        )
    if "previous-generation" in rules:
        out += previous_generation(
            con, start=start, end=end, lookback_days=lookback_days, pricing_dir=pricing_dir
        )
    return sorted(out, key=lambda f: (-f.monthly_savings, f.rule, f.resource_id))


__all__ = ["IDLE_RULES", "RULES", "Finding", "ensure_tables", "find_waste", "load_inventory"]

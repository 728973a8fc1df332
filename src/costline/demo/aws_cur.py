"""Render the AWS plan as AWS Data Exports **CUR 2.0** rows and write one Parquet file a month.

Columns and types follow the CUR 2.0 table dictionary (docs.aws.amazon.com/cur/latest/userguide/
table-dictionary-cur2*.html): costs are DOUBLE, rates VARCHAR, dates TIMESTAMP, ``product``,
``resource_tags`` and ``cost_category`` are MAP(VARCHAR, VARCHAR) and ``discount`` is
MAP(VARCHAR, DOUBLE). The column list is the connector's
(:mod:`costline.sources.aws.cur2_schema`); ``*_net_*`` columns equal their gross columns (Acme
has no negotiated discounts). Daily granularity, resource IDs included. Tag keys in ``resource_tags`` are
written the CUR way: ``user_`` + the key with non-alphanumerics as ``_`` (``cost-center`` →
``user_cost_center``); AWS-generated tags as ``aws_…`` (``aws_eks_cluster_name``).

Line item types and the cost each one carries (billed = ``line_item_unblended_cost``;
effective = the standard CUR amortized-cost formula, as AWS's FOCUS export computes it):

==========================  ===========================  =========================================
line_item_line_item_type    unblended (billed)           effective
==========================  ===========================  =========================================
Usage                       usage × on-demand rate       = unblended
SavingsPlanCoveredUsage     usage × on-demand rate       savings_plan_savings_plan_effective_cost
SavingsPlanNegation         −(covered unblended)         0
SavingsPlanRecurringFee     commitment for the day       total_commitment_to_date − used_commitment
DiscountedUsage             0 (the fee carries it)       reservation_effective_cost
RIFee                       recurring fee for the month  unused recurring fee + unused amortized
                                                         upfront fee for the billing period
Fee (RI upfront, Purchase)  upfront value                0 (amortized into DiscountedUsage)
Fee (support)               support charge               = unblended
Credit                      negative credit              = unblended
==========================  ===========================  =========================================
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from costline.demo import aws, prices
from costline.demo.model import (
    Line,
    Plan,
    Stream,
    day_bounds,
    exact,
    logical_tags,
    q,
    simulate,
)
from costline.demo.org import AWS_PAYER, aws_account
from costline.demo.periods import MONTHS, Month, iso_ms
from costline.demo.writers import write_parquet
from costline.sources.aws.cur2_schema import CUR2_SCHEMA

MONEY = 8
# The CUR 2.0 columns and types, shared with the AWS connector and its golden tests.
COLUMNS: tuple[tuple[str, str], ...] = CUR2_SCHEMA
_FAMILY_NAME = {
    "m": "General purpose",
    "t": "General purpose",
    "c": "Compute optimized",
    "r": "Memory optimized",
    "g": "GPU instance",
    "p": "GPU instance",
}
_B32 = "abcdefghijklmnopqrstuvwxyz234567"


def tag_key(key: str) -> str:
    """The CUR 2.0 ``resource_tags`` key of a tag: ``user_`` or ``aws_`` + key with ``_``."""
    if key.startswith("aws:"):
        key, prefix = key[4:], "aws_"
    else:
        prefix = "user_"
    return prefix + "".join(c if c.isalnum() else "_" for c in key)


def cur_tags(stream: Stream | None) -> dict[str, str]:
    if stream is None:
        return {}
    return {tag_key(k): v for k, v in logical_tags(stream).items()}


def _sku(*parts: str) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return base64.b32encode(digest).decode()[:16]


def _line_id(rng: random.Random) -> str:
    return "".join(rng.choice(_B32) for _ in range(52))


class Renderer:
    """Builds CUR 2.0 rows for one provider plan (keeps the per-month id generators)."""

    def __init__(self, plan: Plan, seed: int) -> None:
        self.plan = plan
        self.seed = seed
        self.rng = random.Random(f"{seed}:aws:ids")
        self.lines: list[Line] = []
        self.sp_used: dict[date, Decimal] = {d: Decimal(0) for m in MONTHS for d in m.days}
        self.ri_used: dict[tuple[str, datetime], Decimal] = {
            (k, m.start): Decimal(0) for k in RI_TERMS for m in MONTHS
        }

    # -- common columns ---------------------------------------------------------------------
    def base(
        self, month: Month, start: datetime, end: datetime, account_id: str, account_name: str
    ) -> dict[str, Any]:
        return {
            "bill_bill_type": "Anniversary",
            "bill_billing_entity": "AWS",
            "bill_billing_period_start_date": month.start,
            "bill_billing_period_end_date": month.end,
            "bill_invoice_id": f"{2600000000 + month.month * 7919:d}",
            "bill_invoicing_entity": "Amazon Web Services, Inc.",
            "bill_payer_account_id": AWS_PAYER.id,
            "bill_payer_account_name": AWS_PAYER.name,
            "cost_category": {},
            "discount": {},
            "identity_line_item_id": _line_id(self.rng),
            "identity_time_interval": f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}",
            "line_item_currency_code": "USD",
            "line_item_legal_entity": "Amazon Web Services, Inc.",
            "line_item_usage_account_id": account_id,
            "line_item_usage_account_name": account_name,
            "line_item_usage_start_date": start,
            "line_item_usage_end_date": end,
            "pricing_currency": "USD",
            "product": {},
            "resource_tags": {},
        }

    def product_columns(self, stream: Stream) -> dict[str, Any]:
        code, name, usage, op, unit, family = aws.PRODUCTS[stream.product]
        it = stream.attrs.get("instance_type", "")
        usage_type = aws.REGION_PREFIX[stream.region] + usage.format(it=it)
        product = {
            "product_name": name,
            "region": stream.region,
            "servicename": name,
            "location": aws.REGION_NAME[stream.region],
        }
        cols: dict[str, Any] = {
            "line_item_product_code": code,
            "line_item_usage_type": usage_type,
            "line_item_operation": op,
            "line_item_resource_id": stream.resource_id or None,
            "pricing_unit": unit,
            "product_pricing_unit": unit,
            "product_product_family": family,
            "product_servicecode": code,
            "product_region_code": stream.region,
            "product_location": aws.REGION_NAME[stream.region],
            "product_location_type": "AWS Region",
            "product_usagetype": usage_type,
            "product_operation": op,
            "product_sku": _sku(code, usage_type, stream.region),
            "product_instancesku": None,
            "line_item_availability_zone": stream.region + "a" if stream.product == "ec2" else None,
        }
        if stream.product == "ec2":
            machine = prices.EC2[it]
            product.update(
                {
                    "operating_system": "Linux",
                    "tenancy": "Shared",
                    "vcpu": str(machine.vcpu),
                    "memory": f"{machine.memory_gib} GiB",
                }
            )
            cols["product_instance_type"] = it
            cols["product_instance_family"] = _FAMILY_NAME[it[0]]
        elif it:
            cols["product_instance_type"] = it
        cols["product"] = product
        return cols

    # -- usage rows -------------------------------------------------------------------------
    def usage(self, stream: Stream, day: date, qty: Decimal) -> None:
        month = _month(day)
        start, end = day_bounds(day)
        row = self.base(month, start, end, stream.account.id, stream.account.name)
        row.update(self.product_columns(stream))
        row["resource_tags"] = None  # filled at write time from the stream's (final) tags
        od = exact(qty, stream.rate)
        row.update(
            {
                "line_item_usage_amount": qty,
                "pricing_public_on_demand_cost": od,
                "pricing_public_on_demand_rate": str(stream.rate),
                **_rate_code(row["product_sku"], "JRTCKXETXF"),
            }
        )
        if stream.commitment == "sp":
            self._sp_covered(stream, row, qty, od)
        elif stream.commitment and aws.reservation_active(stream, day):
            self._discounted(stream, row, qty)
        else:
            self._on_demand(stream, row, od)

    def _on_demand(self, stream: Stream, row: dict[str, Any], od: Decimal) -> None:
        row.update(_costs(od, str(stream.rate)))
        row.update(
            {
                "line_item_line_item_type": "Usage",
                "pricing_term": "OnDemand",
                "line_item_line_item_description": _description(stream),
            }
        )
        self.add(row, stream, billed=od, effective=od)

    def _sp_covered(self, stream: Stream, row: dict[str, Any], qty: Decimal, od: Decimal) -> None:
        sp_rate = q(stream.rate * prices.SP_COMPUTE_1YR, 6)
        eff = exact(qty, sp_rate)
        sp = {
            "savings_plan_savings_plan_a_r_n": aws.sp_arn(),
            "savings_plan_offering_type": "ComputeSavingsPlans",
            "savings_plan_payment_option": "No Upfront",
            "savings_plan_purchase_term": "1yr",
            "savings_plan_region": "",
            "savings_plan_start_time": "2026-01-01T00:00:00.000Z",
            "savings_plan_end_time": "2027-01-01T00:00:00.000Z",
        }
        covered = {
            **row,
            **_costs(od, str(stream.rate)),
            **sp,
            "line_item_line_item_type": "SavingsPlanCoveredUsage",
            "pricing_term": "OnDemand",
            "line_item_line_item_description": _description(stream),
            "savings_plan_savings_plan_rate": sp_rate,
            "savings_plan_savings_plan_effective_cost": eff,
        }
        self.add(covered, stream, billed=od, effective=eff)
        negation = {
            **row,
            **_costs(-od, str(-stream.rate)),
            **sp,
            "identity_line_item_id": _line_id(self.rng),
            "line_item_line_item_type": "SavingsPlanNegation",
            "pricing_term": "OnDemand",
            "pricing_public_on_demand_cost": Decimal(0),
            "line_item_line_item_description": (
                f"SavingsPlanNegation used by AccountId : {stream.account.id} and "
                f"UsageSku : {row['product_sku']}"
            ),
        }
        self.add(negation, stream, billed=-od, effective=Decimal(0))
        self.sp_used[row["line_item_usage_start_date"].date()] += eff

    def _discounted(self, stream: Stream, row: dict[str, Any], qty: Decimal) -> None:
        ri = RI_TERMS[stream.commitment]
        recurring = exact(qty, ri["recurring"])
        upfront = exact(qty, ri["upfront_hourly"])
        eff = recurring + upfront
        row.update(_costs(Decimal(0), "0.0"))
        row.update(ri_columns(stream.commitment))
        row.update(
            {
                "line_item_line_item_type": "DiscountedUsage",
                "pricing_term": "Reserved",
                "line_item_line_item_description": (
                    f"Linux/UNIX (Amazon VPC), {stream.attrs['instance_type']} reserved "
                    "instance applied"
                ),
                "reservation_effective_cost": eff,
                "reservation_recurring_fee_for_usage": recurring,
                "reservation_amortized_upfront_cost_for_usage": upfront,
            }
        )
        self.ri_used[(stream.commitment, row["bill_billing_period_start_date"])] += qty
        self.add(row, stream, billed=Decimal(0), effective=eff)

    def add(
        self, row: dict[str, Any], stream: Stream | None, *, billed: Decimal, effective: Decimal
    ) -> None:
        start: datetime = row["line_item_usage_start_date"]
        self.lines.append(Line(_month(start.date()), start.date(), stream, row, billed, effective))


def _month(day: date) -> Month:
    return next(m for m in MONTHS if m.start.date() <= day < m.end.date())


def _rate_code(sku: str, offer: str) -> dict[str, str]:
    """``pricing_rate_code`` (``SKU.OfferTermCode.RateCode``) and ``pricing_rate_id``."""
    return {
        "pricing_rate_code": f"{sku}.{offer}.6YS6EN2CT7",
        "pricing_rate_id": str(int(_sku(sku, offer), 36) % 10**11),
    }


def _fee_product(code: str, usage_type: str) -> dict[str, Any]:
    """SKU and rate code of a fee line (commitment fees and support have price lists too)."""
    sku = _sku(code, usage_type)
    return {
        "line_item_product_code": code,
        "product_servicecode": code,
        "line_item_usage_type": usage_type,
        "product_usagetype": usage_type,
        "product_sku": sku,
        **_rate_code(sku, "4NA7Y494T4"),
    }


def _costs(cost: Decimal, rate: str) -> dict[str, Any]:
    return {
        "line_item_unblended_cost": cost,
        "line_item_blended_cost": cost,
        "line_item_unblended_rate": rate,
        "line_item_blended_rate": rate,
    }


def _description(stream: Stream) -> str:
    _, name, usage, _, unit, _ = aws.PRODUCTS[stream.product]
    if stream.product == "ec2":
        return f"${stream.rate} per On Demand Linux {stream.attrs['instance_type']} Instance Hour"
    return f"${stream.rate} per {unit} for {usage.format(it=stream.attrs.get('instance_type', ''))} in {aws.REGION_NAME[stream.region]}"


# -- commitments ----------------------------------------------------------------------------
def _ri_terms() -> dict[str, dict[str, Any]]:
    r1 = q(aws.ec2_rate("m6i.2xlarge", "us-east-1") * prices.RI_NO_UPFRONT, 6)
    eff2 = aws.ec2_rate("r6i.xlarge", "us-east-1") * prices.RI_PARTIAL_UPFRONT
    half = q(eff2 / 2, 6)
    return {
        "ri1": {
            "n": 1,
            "type": "m6i.2xlarge",
            "count": 3,
            "recurring": r1,
            "upfront_hourly": Decimal(0),
            "upfront_value": Decimal(0),
            "option": "No Upfront",
            "start": datetime(2026, 1, 1),
            "end": datetime(2027, 1, 1),
            "account": "acme-data-platform",
        },
        "ri2": {
            "n": 2,
            "type": "r6i.xlarge",
            "count": 2,
            "recurring": half,
            "upfront_hourly": half,
            "upfront_value": q(half * 8760, 2),
            "option": "Partial Upfront",
            "start": aws.RI2_START,
            "end": datetime(2027, 8, 1),
            "account": "acme-data-prod",
        },
    }


RI_TERMS: dict[str, dict[str, Any]] = _ri_terms()


def ri_columns(which: str) -> dict[str, Any]:
    ri = RI_TERMS[which]
    return {
        "reservation_reservation_a_r_n": aws.ri_arn(ri["n"]),
        "reservation_start_time": iso_ms(ri["start"]),
        "reservation_end_time": iso_ms(ri["end"]),
        "reservation_number_of_reservations": str(ri["count"]),
        "reservation_modification_status": "Original",
        "reservation_subscription_id": str(int(_sku(which), 36) % 10**10),
        "pricing_lease_contract_length": "1yr",
        "pricing_offering_class": "standard",
        "pricing_purchase_option": ri["option"],
        "reservation_availability_zone": "us-east-1",
    }


def render(plan: Plan, seed: int) -> list[Line]:
    """All CUR rows for the three months (usage first, then fees), in a stable order."""
    r = Renderer(plan, seed)
    for stream in plan.streams:
        for day, qty in simulate(stream, seed=seed):
            r.usage(stream, day, qty)
    _sp_fees(r)
    for which in RI_TERMS:
        _ri_fees(r, which)
    _support_and_credits(r)
    return r.lines


def sp_commitment(used: Iterable[Decimal]) -> Decimal:
    """Hourly commitment: 3 % above the busiest day's covered usage (so it is never exceeded)."""
    peak = max(used, default=Decimal(0))
    return q(peak / 24 * Decimal("1.03"), 3)


def _sp_fees(r: Renderer) -> None:
    hourly = sp_commitment(r.sp_used.values())
    for commitment in r.plan.commitments:
        if commitment["kind"] == "SavingsPlan":
            commitment["hourly_commitment"] = str(hourly)
    for day, used in r.sp_used.items():
        month = _month(day)
        start, end = day_bounds(day)
        total = exact(Decimal(24), hourly)
        row = r.base(month, start, end, AWS_PAYER.id, AWS_PAYER.name)
        row.update(_costs(total, str(hourly)))
        row.update(
            {
                "line_item_line_item_type": "SavingsPlanRecurringFee",
                **_fee_product("ComputeSavingsPlans", "ComputeSP:1yrNoUpfront"),
                "line_item_usage_amount": Decimal(24),
                "line_item_resource_id": aws.sp_arn(),
                "pricing_unit": "Hrs",
                "line_item_line_item_description": "1 year No Upfront Compute Savings Plan",
                "product": {"product_name": "Savings Plans for AWS Compute usage"},
                "savings_plan_savings_plan_a_r_n": aws.sp_arn(),
                "savings_plan_offering_type": "ComputeSavingsPlans",
                "savings_plan_payment_option": "No Upfront",
                "savings_plan_purchase_term": "1yr",
                "savings_plan_start_time": "2026-01-01T00:00:00.000Z",
                "savings_plan_end_time": "2027-01-01T00:00:00.000Z",
                "savings_plan_total_commitment_to_date": total,
                "savings_plan_used_commitment": used,
                "savings_plan_recurring_commitment_for_billing_period": q(
                    hourly * month.hours, MONEY
                ),
                "savings_plan_amortized_upfront_commitment_for_billing_period": Decimal(0),
            }
        )
        r.add(row, None, billed=total, effective=total - used)


def _ri_fees(r: Renderer, which: str) -> None:
    ri = RI_TERMS[which]
    acct = aws_account(ri["account"])
    for month in MONTHS:
        if month.end <= ri["start"]:
            continue
        start = max(month.start, ri["start"])
        if start == ri["start"] and ri["upfront_value"]:
            _ri_upfront(r, which, month, acct.id, acct.name)
        hours = Decimal(ri["count"] * int((month.end - start).total_seconds() // 3600))
        unused = hours - r.ri_used[(which, month.start)]
        fee = exact(hours, ri["recurring"])
        un_rec = exact(unused, ri["recurring"])
        un_up = exact(unused, ri["upfront_hourly"])
        row = r.base(month, month.start, month.end, acct.id, acct.name)
        row.update(_costs(fee, str(ri["recurring"])))
        row.update(ri_columns(which))
        row.update(
            {
                "line_item_line_item_type": "RIFee",
                **_fee_product("AmazonEC2", f"HeavyUsage:{ri['type']}"),
                "line_item_operation": "RunInstances",
                "line_item_usage_amount": hours,
                "pricing_unit": "Hrs",
                "pricing_term": "Reserved",
                "product": {"product_name": "Amazon Elastic Compute Cloud", "region": "us-east-1"},
                "line_item_line_item_description": (
                    f"USD {ri['recurring']} hourly fee per Linux/UNIX (Amazon VPC), {ri['type']} instance"
                ),
                "reservation_unused_quantity": unused,
                "reservation_unused_recurring_fee": un_rec,
                "reservation_unused_amortized_upfront_fee_for_billing_period": un_up,
                "reservation_amortized_upfront_fee_for_billing_period": q(
                    hours * ri["upfront_hourly"], MONEY
                ),
                "reservation_total_reserved_units": str(hours),
                "reservation_upfront_value": ri["upfront_value"] * ri["count"],
            }
        )
        r.add(row, None, billed=fee, effective=un_rec + un_up)


def _ri_upfront(r: Renderer, which: str, month: Month, acct_id: str, acct_name: str) -> None:
    ri = RI_TERMS[which]
    value = ri["upfront_value"] * ri["count"]
    row = r.base(month, ri["start"], month.end, acct_id, acct_name)
    row.update(_costs(value, str(value)))
    row.update(ri_columns(which))
    row.update(
        {
            "bill_bill_type": "Purchase",
            "line_item_line_item_type": "Fee",
            **_fee_product("AmazonEC2", f"HeavyUsage:{ri['type']}"),
            "line_item_usage_amount": None,
            "pricing_public_on_demand_rate": str(value),
            "product": {"product_name": "Amazon Elastic Compute Cloud", "region": "us-east-1"},
            "line_item_line_item_description": (
                f"Sign up charge for subscription: {ri_columns(which)['reservation_subscription_id']}, "
                f"planId: {ri['count']} x {ri['type']} 1yr Partial Upfront"
            ),
        }
    )
    r.add(row, None, billed=value, effective=Decimal(0))


def support_fee(spend: Decimal) -> Decimal:
    """AWS Business Support: 10 % of the first $10K, 7 % to $80K, 5 % to $250K, 3 % above."""
    tiers = (
        (Decimal(10_000), Decimal("0.10")),
        (Decimal(80_000), Decimal("0.07")),
        (Decimal(250_000), Decimal("0.05")),
        (Decimal("1e12"), Decimal("0.03")),
    )
    fee, low = Decimal(0), Decimal(0)
    for high, rate in tiers:
        if spend > low:
            fee += (min(spend, high) - low) * rate
        low = high
    return q(max(fee, Decimal(100)), 2)


def _support_and_credits(r: Renderer) -> None:
    payer = AWS_PAYER
    sandbox = aws_account("acme-sandbox")
    for month in MONTHS:
        spend = sum((ln.billed for ln in r.lines if ln.month == month), Decimal(0))
        fee = support_fee(spend)
        row = r.base(month, month.start, month.end, payer.id, payer.name)
        row.update(_costs(fee, str(fee)))
        row.update(
            {
                "line_item_line_item_type": "Fee",
                **_fee_product("AWSSupportBusiness", "Dollar"),
                "line_item_usage_amount": None,
                "pricing_public_on_demand_rate": str(fee),
                "line_item_line_item_description": "AWS Support (Business)",
                "product": {"product_name": "AWS Support (Business)"},
            }
        )
        r.add(row, None, billed=fee, effective=fee)
        credit = Decimal("-250.00")
        row = r.base(month, month.start, month.end, sandbox.id, sandbox.name)
        row.update(_costs(credit, ""))
        row.update(
            {
                "line_item_line_item_type": "Credit",
                "line_item_product_code": "AmazonEC2",
                "product_servicecode": "AmazonEC2",
                "line_item_usage_type": "",
                "line_item_line_item_description": "AWS Promotional Credit - innovation programme",
                "product": {"product_name": "Amazon Elastic Compute Cloud"},
            }
        )
        r.add(row, None, billed=credit, effective=credit)


def write(lines: list[Line], root: Path, seed: int) -> list[Path]:
    """One CUR 2.0 Parquet file per billing month, laid out like an S3 Data Exports delivery."""
    paths = []
    for month in MONTHS:
        rows = []
        for ln in lines:
            if ln.month != month:
                continue
            row = dict(ln.values)
            if row.get("resource_tags") is None:
                row["resource_tags"] = cur_tags(ln.stream)
            for name, _ in COLUMNS:
                if "_net_" in name:
                    row[name] = row.get(name.replace("_net_", "_", 1))
            rows.append(row)
        path = (
            root
            / "acme-cur2"
            / "data"
            / f"BILLING_PERIOD={month.label}"
            / "acme-cur2-00001.snappy.parquet"
        )
        write_parquet(rows, COLUMNS, path)
        paths.append(path)
    return paths

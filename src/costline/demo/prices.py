"""List prices the demo bills at (USD per unit, Linux, shared tenancy, public list price).

Compute prices and specs are copied from the project's offline pricing snapshot
(``reference-data/pricing``, see its SOURCES.md): AWS EC2 from
``aws_ec2_ondemand_linux_usd_per_hour.csv`` (us-east-1: Karpenter's generated list, 2026-07;
eu-west-1: libcloud 2025-03) and ``aws_ec2_instance_specs.csv``; Azure VMs from
``azure_vm_ondemand_linux_usd_per_hour.csv`` (2026-06) and ``azure_vm_specs.csv``; GCP
machine types from ``gcp_machine_ondemand_usd_per_hour.csv`` and the per-vCPU / per-GiB rates
of ``gcp_family_component_rates.csv`` (us-central1). The package cannot read that folder at run
time, so the few values the demo uses are embedded here.

Storage, network, database, support and other non-compute rates are *approximate* public list
prices (rounded, us-east-1 / eastus / us-central1); the snapshot does not cover them. RI and
Savings Plan rates are derived from on-demand with typical 1-year discounts (RI no-upfront
-38 %, partial-upfront -41 % as in the snapshot's x2iedn sample; Compute SP -28 %).

Example:
    >>> EC2["m6i.2xlarge"].price["us-east-1"]
    Decimal('0.384')
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Machine:
    """An instance type / VM size / machine type: specs and hourly price by region."""

    name: str
    vcpu: int
    memory_gib: int
    price: dict[str, Decimal]
    gpus: int = 0
    gpu_model: str = ""


def _m(
    name: str, vcpu: int, mem: int, prices: dict[str, str], gpus: int = 0, gpu: str = ""
) -> Machine:
    return Machine(name, vcpu, mem, {k: Decimal(v) for k, v in prices.items()}, gpus, gpu)


EC2: dict[str, Machine] = {
    m.name: m
    for m in (
        _m("t3.medium", 2, 4, {"us-east-1": "0.0416", "eu-west-1": "0.0487"}),
        _m("t3.large", 2, 8, {"us-east-1": "0.0832"}),
        _m("m6i.large", 2, 8, {"us-east-1": "0.096", "eu-west-1": "0.1177"}),
        _m("m6i.xlarge", 4, 16, {"us-east-1": "0.192", "eu-west-1": "0.214"}),
        _m("m6i.2xlarge", 8, 32, {"us-east-1": "0.384"}),
        _m("m6i.4xlarge", 16, 64, {"us-east-1": "0.768"}),
        _m("m7i.xlarge", 4, 16, {"us-east-1": "0.2016"}),
        _m("m7i.2xlarge", 8, 32, {"us-east-1": "0.4032"}),
        _m("c6i.xlarge", 4, 8, {"us-east-1": "0.17", "eu-west-1": "0.1824"}),
        _m("c6i.2xlarge", 8, 16, {"us-east-1": "0.34", "eu-west-1": "0.3648"}),
        _m("c6i.4xlarge", 16, 32, {"us-east-1": "0.68"}),
        _m("c7g.xlarge", 4, 8, {"us-east-1": "0.145"}),
        _m("c7g.2xlarge", 8, 16, {"us-east-1": "0.29"}),
        _m("r6i.xlarge", 4, 32, {"us-east-1": "0.252"}),
        _m("r6i.2xlarge", 8, 64, {"us-east-1": "0.504"}),
        _m("r6g.xlarge", 4, 32, {"us-east-1": "0.2016"}),
        _m("r6g.2xlarge", 8, 64, {"us-east-1": "0.4032"}),
        _m("g5.xlarge", 4, 16, {"us-east-1": "1.006"}, 1, "A10G"),
        _m("g5.2xlarge", 8, 32, {"us-east-1": "1.212"}, 1, "A10G"),
        _m("g5.12xlarge", 48, 192, {"us-east-1": "5.672"}, 4, "A10G"),
        _m("p4d.24xlarge", 96, 1152, {"us-east-1": "21.957642"}, 8, "A100"),
    )
}

AZURE_VM: dict[str, Machine] = {
    m.name: m
    for m in (
        _m("Standard_B2ms", 2, 8, {"eastus": "0.0832", "westeurope": "0.096"}),
        _m("Standard_B4ms", 4, 16, {"eastus": "0.166"}),
        _m("Standard_D2s_v5", 2, 8, {"eastus": "0.096"}),
        _m("Standard_D4s_v5", 4, 16, {"eastus": "0.192", "westeurope": "0.23"}),
        _m("Standard_D8s_v5", 8, 32, {"eastus": "0.384", "westeurope": "0.46"}),
        _m("Standard_D16s_v5", 16, 64, {"eastus": "0.768"}),
        _m("Standard_D4as_v5", 4, 16, {"eastus": "0.172"}),
        _m("Standard_E4s_v5", 4, 32, {"eastus": "0.252", "westeurope": "0.304"}),
        _m("Standard_E8s_v5", 8, 64, {"eastus": "0.504"}),
        _m("Standard_F4s_v2", 4, 8, {"eastus": "0.169"}),
        _m("Standard_F8s_v2", 8, 16, {"eastus": "0.338"}),
        _m("Standard_NC4as_T4_v3", 4, 28, {"eastus": "0.526"}, 1, "T4"),
    )
}

GCE: dict[str, Machine] = {
    m.name: m
    for m in (
        _m("e2-standard-2", 2, 8, {"us-central1": "0.06701"}),
        _m("e2-standard-4", 4, 16, {"us-central1": "0.13402"}),
        _m("e2-standard-8", 8, 32, {"us-central1": "0.26805"}),
        _m("n2-standard-4", 4, 16, {"us-central1": "0.1942"}),
        _m("n2-standard-8", 8, 32, {"us-central1": "0.3885"}),
        _m("n2-standard-16", 16, 64, {"us-central1": "0.7769"}),
        _m("n2-highmem-4", 4, 32, {"us-central1": "0.262"}),
        _m("n2-highmem-8", 8, 64, {"us-central1": "0.5241"}),
        _m("a2-highgpu-1g", 12, 85, {"us-central1": "3.673385"}, 1, "A100"),
        _m("a2-highgpu-8g", 96, 680, {"us-central1": "29.38708"}, 8, "A100"),
    )
}

# GCP bills a VM as separate vCPU, RAM (and GPU) SKUs: per-family component rates (USD/hour).
GCE_CORE_RATE: dict[str, Decimal] = {
    "e2": Decimal("0.021811"),
    "n2": Decimal("0.031611"),
    "a2": Decimal("0.031611"),
}
GCE_RAM_RATE: dict[str, Decimal] = {
    "e2": Decimal("0.002923"),
    "n2": Decimal("0.004237"),
    "a2": Decimal("0.004237"),
}


def gce_gpu_rate(machine: Machine) -> Decimal:
    """Per-GPU hourly rate: the machine price minus its vCPU and RAM components."""
    family = machine.name.split("-")[0]
    rest = (
        machine.price["us-central1"]
        - GCE_CORE_RATE[family] * machine.vcpu
        - GCE_RAM_RATE[family] * machine.memory_gib
    )
    return rest / machine.gpus


# Commitment discounts (fraction of on-demand paid).
RI_NO_UPFRONT = Decimal("0.62")
RI_PARTIAL_UPFRONT = Decimal("0.59")
SP_COMPUTE_1YR = Decimal("0.72")
AZURE_RESERVATION_1YR = Decimal("0.59")

# Approximate list prices for everything else (USD per pricing unit).
RATES: dict[str, Decimal] = {
    k: Decimal(v)
    for k, v in {
        "aws.ebs.gp3": "0.08",  # GB-Mo
        "aws.s3.standard": "0.023",  # GB-Mo
        "aws.s3.requests.tier1": "0.000005",  # per request
        "aws.dt.out": "0.09",  # GB to internet
        "aws.dt.regional": "0.01",  # GB inter-AZ
        "aws.nat.hours": "0.045",
        "aws.nat.bytes": "0.045",  # GB processed
        "aws.eks.cluster": "0.10",  # hour
        "aws.rds.db.r6g.xlarge": "0.45",  # hour, PostgreSQL single-AZ
        "aws.rds.db.m6g.large": "0.152",
        "aws.lambda.gbs": "0.0000166667",  # GB-second
        "aws.cw.metrics": "0.30",  # metric-month
        "aws.cw.logs": "0.50",  # GB ingested
        "aws.redshift.ra3.4xlarge": "3.26",  # node-hour
        "aws.glue.dpu": "0.44",  # DPU-hour
        "azure.disk.p10": "19.71",  # disk-month
        "azure.disk.p30": "122.88",
        "azure.blob.hot": "0.0184",  # GB-month
        "azure.bandwidth.out": "0.087",  # GB
        "azure.loganalytics.ingest": "2.30",  # GB
        "azure.sql.gp.vcore": "0.2522",  # vCore-hour
        "azure.defender.server": "0.02",  # server-hour
        "azure.vpngw.vpngw2": "0.49",  # hour
        "gcp.pd.balanced": "0.10",  # GiB-month
        "gcp.pd.ssd": "0.17",
        "gcp.gcs.standard": "0.026",  # GiB-month
        "gcp.bq.analysis": "6.25",  # TiB scanned
        "gcp.bq.storage": "0.02",  # GiB-month, active logical
        "gcp.egress": "0.12",  # GiB internet egress
        "gcp.nat.data": "0.045",  # GiB processed
    }.items()
}

"""Telemetry beside the bills: instance utilization, Kubernetes pod usage and GPU jobs.

* ``telemetry/utilization.csv`` — one row per instance and day it ran: CPU and memory
  average and p95 (%), GPU average for GPU machines; ``telemetry/samples.csv`` — the same as
  hourly samples (resource_id, timestamp, metric, value) for ``costline telemetry load``. Each instance follows a profile:
  ``normal`` (CPU avg 30–60 %), ``oversized`` (CPU p95 < 25 %, memory p95 < 38 %) or
  ``idle`` (CPU never above 2 % — :data:`IDLE_CPU_PEAK` — memory p95 < 12 %, a network
  trickle: idle by the ``idle-instance`` waste rule's numbers). An instance rightsized in
  September (:mod:`costline.demo.actions`) carries the same absolute load on its smaller type
  from then on.
* ``k8s/pod_usage.csv`` — the shared EKS cluster: per pod and day its namespace, ``team``
  label, CPU/memory requests and average usage, running hours. Requests fill about 70 % of
  the nodes; the rest is idle capacity. One namespace has no ``team`` label.
* ``k8s/nodes.csv`` — the cluster's nodes: instance id (the bill's ``ResourceId``, which is
  also the pods' ``node``), cluster, vCPU and memory of the instance type; the capacity a
  ``method: kubernetes`` pool divides each node's cost by.
* ``jobs/gpu_jobs.csv`` — GPU training and inference jobs with their resource and list cost.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from costline.demo import prices
from costline.demo.model import Job, Line, Plan, Stream, q, simulate
from costline.demo.org import teams_on
from costline.demo.periods import ALL_DAYS, MONTHS
from costline.demo.writers import write_csv

UTIL_COLUMNS = (
    "date",
    "provider",
    "account_id",
    "resource_id",
    "instance_type",
    "vcpu",
    "memory_gib",
    "hours_running",
    "cpu_avg_pct",
    "cpu_p95_pct",
    "mem_avg_pct",
    "mem_p95_pct",
    "gpu_avg_pct",
)
K8S_PODS_FILE = "k8s/pod_usage.csv"
K8S_NODES_FILE = "k8s/nodes.csv"
POD_COLUMNS = (
    "date",
    "cluster",
    "node",
    "namespace",
    "team",
    "workload",
    "pod",
    "cpu_request_cores",
    "cpu_usage_avg_cores",
    "mem_request_gib",
    "mem_usage_avg_gib",
    "running_hours",
)
NODE_COLUMNS = ("node_resource_id", "cluster", "node", "cpu_cores", "memory_gib")
JOB_COLUMNS = (
    "job_id",
    "provider",
    "account_id",
    "team",
    "kind",
    "instance_type",
    "gpu_model",
    "gpu_count",
    "start",
    "end",
    "hours",
    "resource_id",
    "list_cost_usd",
    "status",
)
# profile → (CPU level %, p95/average factor, memory level %); a day's average is the level
# × 0.8–1.2 (memory × 0.92–1.08), its p95 the average × the factor.
PROFILES = {
    "normal": ((30, 60), (1.3, 1.6), (40, 75)),
    "oversized": ((4, 11), (1.6, 2.1), (12, 24)),
    "idle": ((0.2, 0.8), (1.3, 1.6), (4, 8)),  # CPU p95 at most 0.8 × 1.2 × 1.6 = 1.54 %
}
IDLE_CPU_PEAK = 2.0  # the idle-instance waste rule's limit; idle samples never exceed it


def machine_of(stream: Stream) -> prices.Machine:
    if stream.provider == "aws":
        return prices.EC2[stream.attrs["instance_type"]]
    if stream.provider == "azure":
        return prices.AZURE_VM[stream.attrs["size"]]
    return prices.GCE[stream.attrs["machine_type"]]


def instance_streams(plans: dict[str, Plan]) -> list[Stream]:
    """Streams that are one instance's running hours and have a telemetry profile."""
    return [
        s
        for p in plans.values()
        for s in p.streams
        if s.telemetry and s.product in ("ec2", "vm", "core")
    ]


def _levels(profile: str, rng: random.Random) -> tuple[float, float]:
    """An instance's CPU and memory levels (%) in ``profile``."""
    (clo, chi), _, (mlo, mhi) = PROFILES[profile]
    return rng.uniform(clo, chi), rng.uniform(mlo, mhi)


def utilization(plans: dict[str, Plan], seed: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    streams = instance_streams(plans)
    by_key = {s.key: s for s in streams}
    for stream in streams:
        rng = random.Random(f"{seed}:util:{stream.key}")
        m = machine_of(stream)
        _, (plo, phi), _ = PROFILES[stream.telemetry]
        cpu, mem = _levels(stream.telemetry, rng)
        original = by_key.get(stream.attrs.get("successor_of", ""))
        if original is not None:  # rightsized: the original's load on the smaller machine
            was = machine_of(original)
            cpu, mem = _levels(original.telemetry, random.Random(f"{seed}:util:{original.key}"))
            cpu, mem = cpu * was.vcpu / m.vcpu, mem * was.memory_gib / m.memory_gib
        peak = IDLE_CPU_PEAK if stream.telemetry == "idle" else 99.0
        per_hour = 24.0 * (m.vcpu if stream.product == "core" else 1)
        for day, qty in simulate(stream, seed=seed):
            c = min(90.0, max(0.1, cpu * rng.uniform(0.8, 1.2)))
            mm = min(90.0, max(1.0, mem * rng.uniform(0.92, 1.08)))
            gpu = (
                ""
                if not m.gpus
                else round(
                    rng.uniform(1, 4) if stream.telemetry == "idle" else rng.uniform(55, 90), 1
                )
            )
            rows.append(
                {
                    "date": day,
                    "provider": stream.provider,
                    "account_id": stream.account.id,
                    "resource_id": stream.resource_id,
                    "instance_type": m.name,
                    "vcpu": m.vcpu,
                    "memory_gib": m.memory_gib,
                    "hours_running": q(float(qty) / per_hour * 24, 2),
                    "cpu_avg_pct": round(c, 1),
                    "cpu_p95_pct": round(min(peak, c * rng.uniform(plo, phi)), 1),
                    "mem_avg_pct": round(mm, 1),
                    "mem_p95_pct": round(min(99.0, mm * 1.3), 1),
                    "gpu_avg_pct": gpu,
                }
            )
    rows.sort(key=lambda r: (r["date"], r["provider"], r["resource_id"]))
    return rows


SAMPLE_COLUMNS = ("resource_id", "timestamp", "metric", "value")
SAMPLES_FILE = "telemetry/samples.csv"


def samples(util: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hourly samples in the long form ``costline telemetry load`` reads, from the daily rows.

    Each running hour gets a CPU and a memory sample: the two busiest hours of a day at the
    day's p95, the others at the level that keeps the day's average; network in bytes is a
    trickle (20 kB/h) on idle instances and 20–200 MB/h on the others.
    """
    out: list[dict[str, Any]] = []
    for r in util:
        hours = int(float(r["hours_running"]))
        if hours < 1:
            continue
        day = r["date"] if isinstance(r["date"], date) else date.fromisoformat(str(r["date"]))
        rng = random.Random(f"samples:{r['resource_id']}:{day}")
        idle = float(r["cpu_p95_pct"]) < 4.0 and float(r["mem_p95_pct"]) < 12.0
        for metric, avg, p95 in (
            ("cpu_percent", float(r["cpu_avg_pct"]), float(r["cpu_p95_pct"])),
            ("memory_percent", float(r["mem_avg_pct"]), float(r["mem_p95_pct"])),
        ):
            peak = min(2, hours)
            base = max(0.0, (hours * avg - peak * p95) / max(hours - peak, 1))
            for h in range(hours):
                value = p95 if h in (13, 14) or (hours <= 2) else min(base, p95)
                out.append(_sample(r["resource_id"], day, h, metric, round(value, 2)))
        for h in range(hours):
            traffic = 20_000 if idle else rng.uniform(20e6, 200e6)
            out.append(_sample(r["resource_id"], day, h, "network_in_bytes", round(traffic)))
    return out


def _sample(rid: str, day: date, hour: int, metric: str, value: float) -> dict[str, Any]:
    return {
        "resource_id": rid,
        "timestamp": f"{day.isoformat()}T{hour:02d}:00:00Z",
        "metric": metric,
        "value": value,
    }


_SMALLER = {"2xlarge": "xlarge", "4xlarge": "2xlarge", "xlarge": "large", "large": "medium"}


def smaller(stream: Stream) -> str:
    """A size half as big in the same family (when the demo's price table has it)."""
    m = machine_of(stream)
    name = m.name
    if stream.provider == "aws":
        fam, size = name.split(".")
        cand = f"{fam}.{_SMALLER.get(size, size)}"
        return cand if cand in prices.EC2 else ""
    if stream.provider == "azure":
        digits = "".join(c for c in name.split("_")[1] if c.isdigit())
        cand = name.replace(digits, str(max(2, int(digits) // 2)), 1) if digits else ""
        return cand if cand in prices.AZURE_VM and cand != name else ""
    head, cores = name.rsplit("-", 1)
    cand = f"{head}-{max(2, int(cores) // 2)}" if cores.isdigit() else ""
    return cand if cand in prices.GCE and cand != name else ""


def overprovisioned(
    plans: dict[str, Plan], util: list[dict[str, Any]], lines: dict[str, list[Line]]
) -> list[dict[str, Any]]:
    """Ground truth: every idle or oversized instance, with its observed utilization.

    A rightsized instance is listed once, as it was (its type, the days it ran as that type);
    its cost is the resource's over the three months, before and after the change.
    """
    by_resource: dict[str, list[dict[str, Any]]] = {}
    for row in util:
        by_resource.setdefault(row["resource_id"], []).append(row)
    cost: dict[str, Decimal] = {}
    for provider_lines in lines.values():
        for ln in provider_lines:
            if ln.stream is not None:
                rid = ln.stream.resource_id
                cost[rid] = cost.get(rid, Decimal(0)) + ln.effective
    out = []
    for stream in instance_streams(plans):
        if stream.telemetry == "normal" or "successor_of" in stream.attrs:
            continue
        name = machine_of(stream).name
        rows = [r for r in by_resource[stream.resource_id] if r["instance_type"] == name]
        out.append(
            {
                "provider": stream.provider,
                "account_id": stream.account.id,
                "resource_id": stream.resource_id,
                "team": stream.team,
                "instance_type": name,
                "classification": stream.telemetry,
                "cpu_avg_pct": round(sum(r["cpu_avg_pct"] for r in rows) / len(rows), 1),
                "cpu_p95_pct_max": max(r["cpu_p95_pct"] for r in rows),
                "mem_p95_pct_max": max(r["mem_p95_pct"] for r in rows),
                "days_observed": len(rows),
                "effective_cost_3_months": f"{cost.get(stream.resource_id, Decimal(0)):.10f}",
                "suggestion": (
                    "stop or delete"
                    if stream.telemetry == "idle"
                    else f"downsize to {smaller(stream) or 'a smaller size'}"
                ),
            }
        )
    return out


# -- Kubernetes -----------------------------------------------------------------------------
@dataclass
class Workload:
    namespace: str
    team: str
    name: str
    replicas: int
    cpu: float
    mem: float
    cpu_util: float
    mem_util: float


def workloads(seed: int, *, cpu_capacity: float, mem_capacity: float) -> list[Workload]:
    """The cluster's workloads, requests scaled to ~70 % of node capacity."""
    rng = random.Random(f"{seed}:k8s")
    tenants = [t.id for t in teams_on("aws") if t.bu in ("Consumer", "Platform")][:12]
    spaces = [(t, t) for t in tenants] + [
        ("kube-system", "k8s-platform"),
        ("monitoring", "observability"),
        ("legacy-batch", ""),
    ]
    out = []
    for ns, owner in spaces:
        for i in range(rng.randint(1, 3)):
            name = f"{ns}-{('api', 'worker', 'web', 'cron')[i]}"
            out.append(
                Workload(
                    ns,
                    owner,
                    name,
                    rng.randint(1, 4),
                    rng.uniform(0.25, 3.0),
                    rng.uniform(0.5, 8.0),
                    rng.uniform(0.15, 0.9),
                    rng.uniform(0.4, 0.95),
                )
            )
    cpu = sum(w.cpu * w.replicas for w in out)
    mem = sum(w.mem * w.replicas for w in out)
    for w in out:
        w.cpu = round(w.cpu * 0.7 * cpu_capacity / cpu, 3)
        w.mem = round(w.mem * 0.7 * mem_capacity / mem, 3)
    return out


def pod_usage(plans: dict[str, Plan], seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Pod-level daily usage rows and the cluster facts for the ground truth."""
    from costline.demo import aws

    nodes = [s for s in plans["aws"].streams if s.attrs.get("role") == "eks-node"]
    node_type = prices.EC2[aws.EKS_NODE_TYPE]
    loads = workloads(
        seed,
        cpu_capacity=len(nodes) * node_type.vcpu,
        mem_capacity=len(nodes) * node_type.memory_gib,
    )
    rng = random.Random(f"{seed}:k8s:pods")
    rows: list[dict[str, Any]] = []
    pods = []
    for w in loads:
        template = f"{rng.getrandbits(40):010x}"
        pods += [(w, f"{w.name}-{template}-{rng.getrandbits(20):05x}") for _ in range(w.replicas)]
    for day in ALL_DAYS:
        for i, (w, pod) in enumerate(pods):
            hours = 24 if rng.random() > 0.03 else rng.randint(4, 23)
            rows.append(_pod_row(day, nodes[i % len(nodes)].resource_id, w, pod, hours, rng))
    return rows, _cluster_truth(nodes, node_type, loads, rows)


def node_capacity(plans: dict[str, Plan]) -> list[dict[str, Any]]:
    """One row per EKS node of the bill: its instance id and the instance type's capacity."""
    from costline.demo import aws

    machine = prices.EC2[aws.EKS_NODE_TYPE]
    return [
        {
            "node_resource_id": s.resource_id,
            "cluster": aws.EKS_CLUSTER,
            "node": s.resource_id,
            "cpu_cores": machine.vcpu,
            "memory_gib": machine.memory_gib,
        }
        for s in plans["aws"].streams
        if s.attrs.get("role") == "eks-node"
    ]


def _pod_row(
    day: date, node: str, w: Workload, pod: str, hours: int, rng: random.Random
) -> dict[str, Any]:
    from costline.demo import aws

    return {
        "date": day,
        "cluster": aws.EKS_CLUSTER,
        "node": node,
        "namespace": w.namespace,
        "team": w.team,
        "workload": w.name,
        "pod": pod,
        "cpu_request_cores": w.cpu,
        "cpu_usage_avg_cores": round(w.cpu * w.cpu_util * rng.uniform(0.85, 1.15), 3),
        "mem_request_gib": w.mem,
        "mem_usage_avg_gib": round(w.mem * w.mem_util * rng.uniform(0.9, 1.1), 3),
        "running_hours": hours,
    }


def _cluster_truth(
    nodes: list[Stream],
    node_type: prices.Machine,
    loads: list[Workload],
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    share: dict[str, dict[str, float]] = {}
    for month in MONTHS:
        per_team: dict[str, float] = {}
        for r in rows:
            if month.start.date() <= r["date"] < month.end.date():
                key = r["team"] or "(no team label)"
                per_team[key] = per_team.get(key, 0.0) + r["cpu_request_cores"] * r["running_hours"]
        share[month.label] = {k: round(v, 3) for k, v in sorted(per_team.items())}
    return {
        "cluster": "shared-prod",
        "provider": "aws",
        "node_instance_type": node_type.name,
        "nodes": len(nodes),
        "node_resource_ids": [n.resource_id for n in nodes],
        "node_vcpu_total": len(nodes) * node_type.vcpu,
        "namespaces": [
            {"namespace": ns, "team": owner or None}
            for ns, owner in sorted({(w.namespace, w.team) for w in loads})
        ],
        "requested_cpu_core_hours_by_team": share,
    }


# -- GPU jobs -------------------------------------------------------------------------------
def gpu_jobs(
    plans: dict[str, Plan], lines: dict[str, list[Line]], runaway: set[str]
) -> list[dict[str, Any]]:
    cost: dict[str, Decimal] = {}
    for provider_lines in lines.values():
        for ln in provider_lines:
            if ln.stream is not None:
                cost[ln.stream.key] = cost.get(ln.stream.key, Decimal(0)) + _list_cost(ln)
    out = []
    for job in (j for p in plans.values() for j in p.jobs):
        out.append(
            {
                "job_id": job.job_id,
                "provider": job.provider,
                "account_id": job.account,
                "team": job.team,
                "kind": job.kind,
                "instance_type": job.machine,
                "gpu_model": job.gpu_model,
                "gpu_count": job.gpus,
                "start": f"{job.start:%Y-%m-%dT%H:%M:%SZ}",
                "end": f"{job.end:%Y-%m-%dT%H:%M:%SZ}",
                "hours": _hours(job),
                "resource_id": job.resource_id,
                "list_cost_usd": sum(
                    (cost.get(k, Decimal(0)) for k in job.stream_keys), Decimal(0)
                ),
                "status": "runaway"
                if job.job_id in runaway
                else ("running" if job.kind == "inference" else "completed"),
            }
        )
    return out


def _list_cost(line: Line) -> Decimal:
    v = line.values
    for key in ("pricing_public_on_demand_cost", "cost_at_list"):
        if v.get(key) is not None:
            return Decimal(str(v[key]))
    return line.billed


def _hours(job: Job) -> int:
    return int((job.end - job.start).total_seconds() // 3600)


def write_all(
    root: Path,
    util: list[dict[str, Any]],
    pods: list[dict[str, Any]],
    jobs: list[dict[str, Any]],
    *,
    nodes: list[dict[str, Any]],
) -> list[Path]:
    return [
        write_csv(util, UTIL_COLUMNS, root / "telemetry" / "utilization.csv"),
        write_csv(samples(util), SAMPLE_COLUMNS, root / SAMPLES_FILE),
        write_csv(pods, POD_COLUMNS, root / K8S_PODS_FILE),
        write_csv(nodes, NODE_COLUMNS, root / K8S_NODES_FILE),
        write_csv(jobs, JOB_COLUMNS, root / "jobs" / "gpu_jobs.csv"),
    ]

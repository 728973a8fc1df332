"""Generate the demo company into a folder: billing exports, telemetry, org and ground truth.

Layout (``demo-data/``)::

    billing/aws/acme-cur2/data/BILLING_PERIOD=2026-07/acme-cur2-00001.snappy.parquet  (×3)
    billing/azure/acme-ea-amortized/20260701-20260731/acme-ea-amortized_<guid>.csv     (×3)
    billing/gcp/acme-billing-export-detailed-2026-07.ndjson                            (×3)
    telemetry/utilization.csv   telemetry/samples.csv   k8s/pod_usage.csv   k8s/nodes.csv   jobs/gpu_jobs.csv
    owners.yaml   rules/*.yaml   metrics/*.csv      (allocation inputs)
    truth/owners.csv                                 (the true owner of every line)
    org.yaml   ground_truth.json

Only ``billing/`` holds cost exports (ingest that folder). The same ``seed`` and ``rows`` give
byte-identical files; nothing depends on the clock.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import yaml

from costline.core.errors import CostlineError
from costline.core.progress import NoProgress, Progress
from costline.demo import (
    actions,
    aws,
    aws_cur,
    azure,
    budget,
    gcp,
    metrics,
    org,
    rules,
    tagging,
    telemetry,
    truth,
)
from costline.demo.model import Line, Plan
from costline.demo.periods import MONTHS
from costline.demo.writers import write_csv

GROUND_TRUTH = "ground_truth.json"
BILLING = "billing"
OWNED = (
    "billing",
    "telemetry",
    "k8s",
    "jobs",
    "metrics",
    "rules",
    "truth",
    "org.yaml",
    rules.OWNERS,
    GROUND_TRUTH,
)
MIN_ROWS = 100
# NOTE: bump when the set of generated files changes, so older demo folders are regenerated.
GENERATOR = "costline-demo/5"
_PROVIDERS: dict[str, Any] = {"aws": (aws, aws_cur), "azure": (azure, azure), "gcp": (gcp, gcp)}


def plan_all(rows: int, seed: int) -> dict[str, Plan]:
    """Core plus team workloads for each provider, sized to ``rows`` per provider per month,
    and the recommendations Acme acts on in September (:mod:`costline.demo.actions`)."""
    scale = rows / 2000
    plans: dict[str, Plan] = {}
    for name, (planner, _) in _PROVIDERS.items():
        plan: Plan = planner.plan_core(seed, scale=scale)
        budget.fill(
            plan,
            planner.team_offers(seed),
            target=rows,
            rows_of=planner.rows_of,
            rng=random.Random(f"{seed}:{name}:fill"),
        )
        plans[name] = plan
    actions.apply(plans["aws"], seed)
    return plans


def render_all(plans: dict[str, Plan], seed: int) -> dict[str, list[Line]]:
    return {name: renderer.render(plans[name], seed) for name, (_, renderer) in _PROVIDERS.items()}


def is_current(out: Path, *, rows: int, seed: int) -> bool:
    """True when ``out`` holds an intact demo generated with these parameters."""
    try:
        data = json.loads((out / GROUND_TRUTH).read_text())
    except (OSError, ValueError):
        return False
    gen = data.get("generator", {})
    if (gen.get("seed"), gen.get("rows"), gen.get("name")) != (seed, rows, GENERATOR):
        return False
    for rel, digest in data.get("files", {}).items():
        path = out / rel
        if not path.is_file() or truth.file_entry(out, path)[1] != digest:
            return False
    return True


def _clear(out: Path) -> None:
    if out.exists() and any(out.iterdir()) and not (out / GROUND_TRUTH).exists():
        raise CostlineError(
            f"{out} exists and is not a costline demo folder",
            hint="pick an empty folder or remove it first",
        )
    for name in OWNED:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def generate(
    out: Path, *, rows: int = 2000, seed: int = 7, progress: Progress | None = None
) -> dict[str, Any]:
    """Write the demo company into ``out`` and return its ground truth.

    Raises:
        CostlineError: ``rows`` is too small, or ``out`` holds something else.
    """
    if rows < MIN_ROWS:
        raise CostlineError(f"--rows {rows} is too small", hint=f"use at least {MIN_ROWS}")
    bar = progress or NoProgress()
    bar.start("generate demo company")
    _clear(out)
    plans = plan_all(rows, seed)
    bar.update(completed=1, detail="costs")
    lines = render_all(plans, seed)
    tagging.assign(lines, seed=seed, is_allocatable=truth.is_allocatable)
    bar.update(completed=2, detail="billing files")
    billing: list[Path] = []
    for name, (_, renderer) in _PROVIDERS.items():
        billing += renderer.write(lines[name], out / BILLING / name, seed)
    bar.update(completed=4, detail="telemetry")
    extra = _telemetry(out, plans, lines, seed)
    extra["allocation"] = _allocation(out, lines, seed)
    data = _truth(out, plans, lines, billing, extra, rows=rows, seed=seed)
    bar.update(completed=6, detail="ground truth")
    bar.finish(
        f"demo company written to {out} ({sum(t['rows'] for t in data['totals']):,} billing rows)"
    )
    return data


def _telemetry(
    out: Path, plans: dict[str, Plan], lines: dict[str, list[Line]], seed: int
) -> dict[str, Any]:
    util = telemetry.utilization(plans, seed)
    pods, cluster = telemetry.pod_usage(plans, seed)
    runaway = {j.job_id for p in plans.values() for j in p.jobs if "runaway" in j.job_id}
    jobs = telemetry.gpu_jobs(plans, lines, runaway)
    paths = telemetry.write_all(out, util, pods, jobs, nodes=telemetry.node_capacity(plans))
    org_path = out / "org.yaml"
    org_path.write_text(
        yaml.safe_dump(
            {"company": org.COMPANY, "hierarchy": org.hierarchy(), "accounts": org.accounts()},
            sort_keys=False,
            allow_unicode=True,
        )
    )
    return {
        "paths": [*paths, org_path],
        "cluster": cluster,
        "overprovisioned": telemetry.overprovisioned(plans, util, lines),
        "jobs": len(jobs),
    }


def _allocation(out: Path, lines: dict[str, list[Line]], seed: int) -> dict[str, Any]:
    """owners.yaml, rules/, the metrics the pools need and truth/owners.csv."""
    paths = metrics.write_all(out, seed=seed)
    owners = out / rules.OWNERS
    owners.write_text(rules.owners_yaml())
    paths.append(owners)
    for name, text in rules.rule_files().items():
        path = out / rules.RULES_DIR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths.append(path)
    owner_rows = truth.owner_rows(lines)
    paths.append(write_csv(owner_rows, truth.OWNER_COLUMNS, out / truth.OWNERS_FILE))
    summary = {
        "owners_file": rules.OWNERS,
        "rules_dir": rules.RULES_DIR,
        "metrics": [{"file": f, "metric": m} for f, m in metrics.METRIC_FILES],
        # what `costline k8s load --kind <kind> <file>` loads for the kubernetes pool
        "kubernetes": [
            {"file": telemetry.K8S_NODES_FILE, "kind": "nodes"},
            {"file": telemetry.K8S_PODS_FILE, "kind": "samples"},
        ],
        "true_owners_file": truth.OWNERS_FILE,
        "shared_services": list(rules.shared_services()),
        "true_owner_effective_cost": truth.true_owner_totals(owner_rows),
        "unknown_team_values": truth.unknown_team_values(lines),
    }
    return {"paths": paths, "summary": summary}


def _truth(
    out: Path,
    plans: dict[str, Plan],
    lines: dict[str, list[Line]],
    billing: list[Path],
    extra: dict[str, Any],
    *,
    rows: int,
    seed: int,
) -> dict[str, Any]:
    paths = [*billing, *extra["paths"], *extra["allocation"]["paths"]]
    files = dict(truth.file_entry(out, p) for p in paths)
    data: dict[str, Any] = {
        "format_version": truth.FORMAT_VERSION,
        "generator": {
            "name": GENERATOR,
            "seed": seed,
            "rows": rows,
            "months": [m.label for m in MONTHS],
        },
        "company": org.COMPANY,
        "billing_files": [p.relative_to(out).as_posix() for p in billing],
        "files": files,
        "totals": truth.totals(lines),
        "tag_coverage": truth.tag_coverage(lines),
        "hierarchy": org.hierarchy(),
        "accounts": org.accounts(),
        "anomalies": truth.anomalies(plans, lines),
        "overprovisioned": extra["overprovisioned"],
        "actions": actions.truth(plans, lines),
        "commitments": [c for p in plans.values() for c in p.commitments],
        "kubernetes": extra["cluster"],
        "gpu_jobs": {"file": "jobs/gpu_jobs.csv", "count": extra["jobs"]},
        "allocation": extra["allocation"]["summary"],
    }
    (out / GROUND_TRUTH).write_text(json.dumps(data, indent=2, default=str) + "\n")
    return data


def load_truth(out: Path) -> dict[str, Any]:
    """The ground truth of a generated demo folder."""
    data: dict[str, Any] = json.loads((out / GROUND_TRUTH).read_text())
    return data

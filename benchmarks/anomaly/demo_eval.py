"""Detection quality on the demo company's injected anomalies: precision, recall, F1, delay.

Generates the demo company (``costline demo``'s generator and allocation, same seed) into a
fresh workspace and runs :func:`costline.service_demo.detect_demo_anomalies`: ``anomalies
detect`` over every day after a two-week warm-up, matched against
``demo-data/ground_truth.json``'s ``anomalies`` (written by the generator, never read by the
detector):

* an anomaly **matches** an injected one when it is of the same provider, one of its series'
  dimensions is the injected stream's account, service or team (an Azure account may be the
  subscription's path ``/subscriptions/<id>``), and its days overlap the injected days (one
  day of slack on either side);
* precision = anomalies that match / anomalies opened; recall = injected anomalies matched /
  injected anomalies in the evaluated days; F1 their harmonic mean; delay = first flagged day −
  first injected day, in days.

Both default monitors (per service and per account) usually find an injected anomaly, so one
injected anomaly typically yields two matching anomalies.

Usage::

    .venv/bin/python benchmarks/anomaly/demo_eval.py [--seed 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any


def evaluate(root: Path, seed: int) -> dict[str, Any]:
    from costline import demo
    from costline.core.progress import NoProgress
    from costline.service_demo import demo_dir, detect_demo_anomalies, matches_truth, run_demo
    from costline.workspace import Workspace

    ws = Workspace.init(root)
    run_demo(ws, rows=2000, seed=seed, progress=NoProgress())
    truth = demo.load_truth(demo_dir(ws))
    r = detect_demo_anomalies(ws, truth)
    return {
        "seed": seed,
        "since": r["since"].isoformat(),
        "injected": len(r["injected"]),
        "opened": len(r["found"]),
        "precision": round(r["precision"], 3),
        "recall": round(r["recall"], 3),
        "f1": round(r["f1"], 3),
        "detected": [
            {"injected": t["description"], "delay_days": delay} for t, delay in r["detected"]
        ],
        "false_positives": [
            {
                "id": a["id"],
                "series": a["dims"],
                "days": f"{a['first_day']}..{a['last_day']}",
                "impact": str(Decimal(a["impact"]).quantize(Decimal("0.01"))),
            }
            for a in r["found"]
            if not any(matches_truth(a, t) for t in r["injected"])
        ],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, action="append", help="repeatable (default: 7)")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    results = []
    for seed in args.seed or [7]:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(evaluate(Path(tmp) / "demo", seed))
    text = json.dumps(results, indent=2, default=str)
    if args.json:
        args.json.write_text(text)
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()

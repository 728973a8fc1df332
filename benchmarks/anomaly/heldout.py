"""The held-out score: costline's detector on the Microsoft Cloud Monitoring dataset.

``../shared/reference-data/ms-cloud-monitoring`` (60 files, ``TimeStamp,Value,Label``, expert
labels on points) is **held out**: this script reports a score on it and nothing in costline
was chosen by looking at it. Run it after changing the detector, never to tune one.

Each file is scored as ``costline anomalies scan`` does (:func:`costline.anomaly.detect.scan`,
the interval's defaults, medium sensitivity: |z| ≥ 4.5). Consecutive flagged points form an
**alert**; consecutive labelled points form an **event**. Reported, over all files:

* event recall: events with at least one flagged point / events;
* alert precision: alerts that touch an event / alerts;
* F1 of the two; and point-level precision and recall for reference.

Usage::

    .venv/bin/python benchmarks/anomaly/heldout.py [--data DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = (
    Path(os.environ.get("COSTLINE_REFERENCE_DATA", REPO.parent / "shared" / "reference-data"))
    / "ms-cloud-monitoring"
    / "data"
)


def read(path: Path) -> tuple[list[datetime], list[float], list[int]]:
    times, values, labels = [], [], []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            times.append(datetime.fromisoformat(row["TimeStamp"].replace("Z", "+00:00")))
            values.append(float(row["Value"]) if row["Value"].strip() else math.nan)
            labels.append(int(row["Label"]))
    return times, values, labels


def runs(flags: list[bool]) -> list[tuple[int, int]]:
    """Maximal runs of True as (first, last) indexes."""
    out: list[tuple[int, int]] = []
    for i, f in enumerate(flags):
        if f and out and out[-1][1] == i - 1:
            out[-1] = (out[-1][0], i)
        elif f:
            out.append((i, i))
    return out


def score_file(path: Path) -> dict[str, Any]:
    from costline.anomaly.detect import scan

    times, values, labels = read(path)
    flags = [bool(r["flagged"]) for r in scan(times, values, z_threshold=4.5)]
    events = runs([bool(x) for x in labels])
    alerts = runs(flags)
    labelled = set().union(*(range(a, b + 1) for a, b in events)) if events else set()
    hit_events = sum(1 for a, b in events if any(flags[a : b + 1]))
    good_alerts = sum(1 for a, b in alerts if labelled & set(range(a, b + 1)))
    flagged_points = sum(flags)
    true_points = sum(1 for i, f in enumerate(flags) if f and i in labelled)
    return {
        "file": path.relative_to(path.parents[1]).as_posix(),
        "points": len(values),
        "events": len(events),
        "events_found": hit_events,
        "alerts": len(alerts),
        "alerts_on_events": good_alerts,
        "labelled_points": len(labelled),
        "flagged_points": flagged_points,
        "flagged_labelled_points": true_points,
    }


def summarize(files: list[dict[str, Any]]) -> dict[str, Any]:
    def total(key: str) -> int:
        return sum(int(f[key]) for f in files)

    recall = total("events_found") / total("events") if total("events") else 1.0
    precision = total("alerts_on_events") / total("alerts") if total("alerts") else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    point_p = (
        total("flagged_labelled_points") / total("flagged_points") if total("flagged_points") else 1
    )
    point_r = total("flagged_labelled_points") / total("labelled_points")
    return {
        "files": len(files),
        "events": total("events"),
        "alerts": total("alerts"),
        "event_recall": round(recall, 3),
        "alert_precision": round(precision, 3),
        "f1": round(f1, 3),
        "point_precision": round(point_p, 3),
        "point_recall": round(point_r, 3),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    files = [score_file(f) for f in sorted(args.data.rglob("*.csv"))]
    result = {"summary": summarize(files), "files": files}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    sys.stdout.write(json.dumps(result["summary"], indent=2) + "\n")


if __name__ == "__main__":
    main()

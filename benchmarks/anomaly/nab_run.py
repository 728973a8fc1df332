"""NAB evaluation: run anomaly detectors over the NAB corpus and print a score table.

Scores every detector with :mod:`costline.anomaly.nab` (NAB v1.1 rules: one threshold per
profile tuned over the whole corpus, score normalized so that the null detector is 0 and the
perfect detector 100) and prints one markdown table per profile: normalized and raw score,
threshold, windows found and false-positive rows. The standard table also quotes the published
numbers from issue #4 for the same 30 files (not re-run here).

A detector is any callable ``score(timestamps, values) -> list[float]`` (one score in [0, 1]
per row; see ``costline.anomaly.nab.Detector``), named ``module:function``. Without
``--detector`` the two baselines run: ``null`` (never flags) and ``random`` (uniform scores,
seed 42, the same sequence for every file: the scores of NAB's own random detector). Usage::

    .venv/bin/python benchmarks/anomaly/nab_run.py
    .venv/bin/python benchmarks/anomaly/nab_run.py --detector costline.anomaly.detect:nab_scores
    .venv/bin/python benchmarks/anomaly/nab_run.py --markdown benchmarks/data/nab.md --json benchmarks/data/nab.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from costline.anomaly.nab import PROFILES, Detector, ProfileResult, detect_corpus, evaluate
from costline.anomaly.nab_corpus import load_corpus
from costline.core.errors import CostlineError

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = (
    Path(os.environ.get("COSTLINE_REFERENCE_DATA", REPO.parent / "shared" / "reference-data"))
    / "nab"
)
RANDOM_SEED = 42
# Published standard-profile scores on these 30 files, as quoted in issue #4 (not re-run here).
REFERENCE_STANDARD = (
    ("best published detectors (issue #4)", "66.9–67.6"),
    ("Twitter ADVec (issue #4)", "38.6"),
)
TARGET_STANDARD = 68.0


def null_detector(timestamps: Sequence[datetime], values: Sequence[float]) -> list[float]:
    """Every row scores 0. NAB sweeps thresholds, so "flag every row" is still a candidate;
    on the NAB corpus it is far worse than flagging nothing, so this scores as the null detector."""
    return [0.0] * len(values)


def random_detector(timestamps: Sequence[datetime], values: Sequence[float]) -> list[float]:
    """Uniform scores in [0, 1); the same fixed-seed sequence for every file."""
    rng = random.Random(RANDOM_SEED)
    return [rng.random() for _ in values]


BASELINES: dict[str, Detector] = {
    "null": null_detector,
    f"random (seed {RANDOM_SEED})": random_detector,
}


def load_detector(spec: str) -> Detector:
    """Import ``module:function``; exit with a clear message if it is not a callable."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        sys.exit(
            f"--detector {spec!r}: write it as module:function, e.g. costline.anomaly.detect:nab_scores"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        sys.exit(f"--detector {spec!r}: cannot import {module_name!r} ({exc})")
    detector = getattr(module, attr, None)
    if not callable(detector):
        sys.exit(f"--detector {spec!r}: {module_name} has no callable {attr!r}")
    return detector  # type: ignore[no-any-return]


@dataclass(frozen=True)
class DetectorRun:
    """One detector over the corpus: detection time and one result per profile (PROFILES order)."""

    seconds: float
    results: list[ProfileResult]


def run(data: Path, detectors: dict[str, Detector]) -> dict[str, DetectorRun]:
    """Detect and score every detector on the corpus in ``data``."""
    files = load_corpus(data)
    print(
        f"NAB corpus {data}: {len(files)} files, {sum(len(f) for f in files)} rows, "
        f"{sum(len(f.windows) for f in files)} windows",
        file=sys.stderr,
    )
    out: dict[str, DetectorRun] = {}
    for name, detector in detectors.items():
        started = time.perf_counter()
        scores = detect_corpus(files, detector)
        seconds = time.perf_counter() - started
        out[name] = DetectorRun(seconds, evaluate(files, scores))
        print(f"  {name}: detection {seconds:.1f} s", file=sys.stderr)
    return out


def _row(name: str, result: ProfileResult) -> str:
    best = result.best
    found = best.detected_windows
    windows = best.detected_windows + best.missed_windows
    threshold = "–" if best.threshold == float("inf") else f"{best.threshold:.6g}"
    return (
        f"| {name} | {result.normalized:.1f} | {best.score:.2f} | {threshold} "
        f"| {found}/{windows} | {best.false_positives} |"
    )


def markdown(runs: dict[str, DetectorRun]) -> str:
    """One table per profile, detectors sorted by normalized score."""
    lines = []
    for index, profile in enumerate(PROFILES):
        results = {name: run.results[index] for name, run in runs.items()}
        any_result = next(iter(results.values()))
        lines += [
            f"### {profile.name} (A_TP {profile.tp_weight}, A_FP {profile.fp_weight}, "
            f"A_FN {profile.fn_weight})",
            "",
            "| detector | normalized | raw | threshold | windows found | FP rows |",
            "|---|---:|---:|---:|---:|---:|",
            f"| perfect | 100.0 | {any_result.perfect_score:.2f} | – | all | 0 |",
        ]
        ranked = sorted(results.items(), key=lambda item: -item[1].normalized)
        lines += [_row(name, result) for name, result in ranked]
        if profile.name == "standard":
            lines += [f"| {name} | {score} | | | | |" for name, score in REFERENCE_STANDARD]
        lines.append("")
    lines.append(f"Target (issue #4): standard profile ≥ {TARGET_STANDARD:.0f}.")
    return "\n".join(lines) + "\n"


def as_json(runs: dict[str, DetectorRun]) -> dict[str, object]:
    """Machine-readable results: per detector and profile, raw/normalized/threshold/counts."""
    out: dict[str, object] = {}
    for name, run in runs.items():
        out[name] = {
            "detection_seconds": run.seconds,
            **{
                r.profile.name: {
                    "normalized": r.normalized,
                    "raw": r.best.score,
                    "threshold": None if r.best.threshold == float("inf") else r.best.threshold,
                    "detected_windows": r.best.detected_windows,
                    "missed_windows": r.best.missed_windows,
                    "false_positive_rows": r.best.false_positives,
                    "null_raw": r.null_score,
                    "perfect_raw": r.perfect_score,
                }
                for r in run.results
            },
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="NAB folder (data/, labels/)"
    )
    parser.add_argument(
        "--detector",
        action="append",
        default=[],
        metavar="MODULE:FUNCTION",
        help="detector to score (repeatable); default: the null and random baselines",
    )
    parser.add_argument("--no-baselines", action="store_true", help="skip null and random")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)

    detectors = {} if args.no_baselines and args.detector else dict(BASELINES)
    detectors |= {spec: load_detector(spec) for spec in args.detector}
    try:
        runs = run(args.data, detectors)
    except CostlineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    table = markdown(runs)
    print(table, end="")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table, encoding="utf-8")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(as_json(runs), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

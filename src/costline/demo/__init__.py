"""The demo company: a deterministic multi-cloud FinOps dataset with known answers.

``generate(out, rows=..., seed=...)`` writes AWS CUR 2.0 Parquet, an Azure EA amortized-cost
CSV and a GCP detailed billing export (NDJSON) for three months, plus telemetry, the allocation
inputs (``owners.yaml``, ``rules/``, ``metrics/``), the true owner of every line
(``truth/owners.csv``) and a ``ground_truth.json`` with the exact totals. See docs/demo.md.
"""

from __future__ import annotations

from costline.demo.generate import BILLING, GROUND_TRUTH, generate, is_current, load_truth
from costline.demo.periods import MONTHS

__all__ = ["BILLING", "GROUND_TRUTH", "MONTHS", "generate", "is_current", "load_truth"]

"""Allocation: every dollar of the cost table to a team and cost center, explainably.

``rules/*.yaml`` (tag hygiene, virtual tags, shared-cost pools) and ``owners.yaml`` compile to
SQL (:mod:`costline.allocation.plan`) that :mod:`costline.allocation.run` executes atomically
into ``allocated_cost``; :mod:`costline.allocation.report` answers chargeback, showback,
explain and what-if from it.
"""

from __future__ import annotations

from costline.allocation import plan
from costline.allocation.metrics import load_metrics
from costline.allocation.run import (
    AllocationError,
    AllocationReport,
    allocate,
    ensure_tables,
    parse_period,
    what_if,
)

__all__ = [
    "AllocationError",
    "AllocationReport",
    "allocate",
    "ensure_tables",
    "load_metrics",
    "parse_period",
    "plan",
    "what_if",
]

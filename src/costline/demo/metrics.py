"""Business and usage metrics that drive the demo's ``metric`` pools (``metrics/*.csv``).

* ``metrics/data_platform_queries.csv`` — queries each consuming team ran on the data platform
  per day: heavy, medium and light users with a seeded rate each, fewer at weekends, daily
  noise.

It uses the format ``costline metrics load`` reads: ``date,team,value,metric``. (The shared
EKS cluster needs no metric: its ``method: kubernetes`` pool reads ``k8s/pod_usage.csv`` and
``k8s/nodes.csv`` directly, see :mod:`costline.demo.telemetry`.)

Example:
    >>> rows = queries(seed=1)
    >>> {r["metric"] for r in rows} == {QUERIES_METRIC}
    True
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from costline.demo.org import TEAM_IDS
from costline.demo.periods import ALL_DAYS
from costline.demo.writers import write_csv

COLUMNS = ("date", "team", "value", "metric")
QUERIES_METRIC = "data-platform-queries"
QUERIES_FILE = "metrics/data_platform_queries.csv"
# Who queries the data platform, and how much: (mean queries per weekday, teams). The
# platform's own team is not a consumer.
_CONSUMERS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (
        400.0,
        (
            "bi-analytics",
            "data-engineering",
            "customer-analytics",
            "ml-research",
            "feature-store",
            "recommendations",
        ),
    ),
    (150.0, ("reporting", "growth-experiments", "search", "ml-serving", "streaming", "finops")),
    (45.0, ("catalog", "support-tools", "marketing-web", "seo-content")),
)


def consumers() -> list[str]:
    """Teams that query the data platform, heaviest users first."""
    return [team for _, teams in _CONSUMERS for team in teams]


def queries(*, seed: int) -> list[dict[str, Any]]:
    """Queries per consuming team and day over the demo months."""
    rng = random.Random(f"{seed}:metrics:queries")
    base = {team: mean * rng.uniform(0.6, 1.4) for mean, teams in _CONSUMERS for team in teams}
    rows = []
    for day in ALL_DAYS:
        weekend = day.weekday() >= 5
        for team, rate in base.items():
            value = round(rate * (0.3 if weekend else 1.0) * rng.uniform(0.7, 1.3))
            if value > 0:
                rows.append({"date": day, "team": team, "value": value, "metric": QUERIES_METRIC})
    return rows


def write_all(root: Path, *, seed: int) -> list[Path]:
    return [write_csv(queries(seed=seed), COLUMNS, root / QUERIES_FILE)]


assert {t for _, teams in _CONSUMERS for t in teams} <= TEAM_IDS

METRIC_FILES: tuple[tuple[str, str], ...] = ((QUERIES_FILE, QUERIES_METRIC),)

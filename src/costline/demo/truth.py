"""``ground_truth.json``: what the generator knows it wrote, for tests and later stages.

Every figure is computed from the rows as written (the same Decimal values the writers
emit), never re-read from files. Money is an exact decimal string with 10 places (the
cost store's scale). See docs/demo.md for the format.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from costline.demo import aws_cur, azure, gcp, org
from costline.demo.model import Anomaly, Line, Plan
from costline.demo.periods import MONTHS

TEAM_KEY = {"aws": "user_team", "azure": "team", "gcp": "team"}
BILLING_ACCOUNT = {
    "aws": org.AWS_PAYER.id,
    "azure": org.AZURE_ENROLLMENT,
    "gcp": org.GCP_BILLING_ACCOUNT,
}
FORMAT_VERSION = 1


def money(value: Decimal) -> str:
    return f"{value:.10f}"


def written_tags(provider: str, line: Line) -> dict[str, str]:
    """The tags of a line exactly as its export file carries them."""
    if provider == "aws":
        preset = line.values.get("resource_tags")
        return dict(preset) if preset is not None else aws_cur.cur_tags(line.stream)
    if provider == "azure":
        return azure.line_tags(line) if line.values.get("Tags") is None else {}
    return gcp.line_tags(line) if line.values.get("labels") is None else {}


def is_allocatable(provider: str, line: Line) -> bool:
    """Allocatable by tags: the provider's team key holds a known team id."""
    return written_tags(provider, line).get(TEAM_KEY[provider]) in org.TEAM_IDS


def totals(lines: dict[str, list[Line]]) -> list[dict[str, Any]]:
    out = []
    for provider, provider_lines in lines.items():
        for month in MONTHS:
            sel = [ln for ln in provider_lines if ln.month == month]
            out.append(
                {
                    "provider": provider,
                    "billing_account_id": BILLING_ACCOUNT[provider],
                    "month": month.label,
                    "rows": len(sel),
                    "billed_cost": money(sum((ln.billed for ln in sel), Decimal(0))),
                    "effective_cost": money(sum((ln.effective for ln in sel), Decimal(0))),
                }
            )
    return out


def tag_coverage(lines: dict[str, list[Line]]) -> dict[str, Any]:
    total, good = Decimal(0), Decimal(0)
    by_provider: dict[str, dict[str, str]] = {}
    by_mode: dict[str, Decimal] = {}
    for provider, provider_lines in lines.items():
        p_total, p_good = Decimal(0), Decimal(0)
        for ln in provider_lines:
            p_total += ln.effective
            if is_allocatable(provider, ln):
                p_good += ln.effective
            else:
                mode = _bad_mode(ln)
                by_mode[mode] = by_mode.get(mode, Decimal(0)) + ln.effective
        by_provider[provider] = {
            "effective_cost": money(p_total),
            "allocatable_effective_cost": money(p_good),
            "allocatable_fraction": f"{p_good / p_total:.6f}",
        }
        total, good = total + p_total, good + p_good
    return {
        "basis": "EffectiveCost of every row, all providers and months; a row is allocatable "
        "when its tag key `team` (AWS: resource_tags `user_team`) holds a known team id",
        "total_effective_cost": money(total),
        "allocatable_effective_cost": money(good),
        "allocatable_fraction": f"{good / total:.6f}",
        "untagged_or_mistagged_fraction": f"{1 - good / total:.6f}",
        "by_provider": by_provider,
        "not_allocatable_by_reason": {k: money(v) for k, v in sorted(by_mode.items())},
    }


def _bad_mode(line: Line) -> str:
    stream = line.stream
    if stream is None:
        return "no resource (fees, commitments, support, credits)"
    if stream.team is None:
        return "shared resource without team tag"
    return stream.tag_mode if stream.tag_mode != "ok" else "other"


def anomalies(plans: dict[str, Plan], lines: dict[str, list[Line]]) -> list[dict[str, Any]]:
    out = []
    for provider, plan in plans.items():
        for anomaly in plan.anomalies:
            out.append(_anomaly(provider, plan, anomaly, lines[provider]))
    return out


def _anomaly(provider: str, plan: Plan, a: Anomaly, lines: list[Line]) -> dict[str, Any]:
    stream = plan.stream(a.stream_key)
    daily: dict[date, Decimal] = {}
    for ln in lines:
        if ln.stream is stream and ln.day is not None:
            daily[ln.day] = daily.get(ln.day, Decimal(0)) + ln.effective
    before = [v for d, v in sorted(daily.items()) if d < a.days[0]][-7:]
    baseline = sum(before, Decimal(0)) / len(before) if before and a.kind == "spike" else Decimal(0)
    actual = {d.isoformat(): money(daily.get(d, Decimal(0))) for d in a.days}
    excess = sum((daily.get(d, Decimal(0)) - baseline for d in a.days), Decimal(0))
    return {
        "provider": provider,
        "kind": a.kind,
        "account_id": stream.account.id,
        "team": stream.team,
        "service": _service(provider, lines, stream.key),
        "resource_id": stream.resource_id,
        "days": [d.isoformat() for d in a.days],
        "factor": a.factor,
        "baseline_daily_effective_cost": money(baseline),
        "actual_effective_cost_by_day": actual,
        "excess_effective_cost": money(excess),
        "description": a.description,
    }


def _service(provider: str, lines: list[Line], key: str) -> str:
    values = next(ln.values for ln in lines if ln.stream is not None and ln.stream.key == key)
    if provider == "aws":
        return str(values["product"]["product_name"])
    if provider == "azure":
        return str(values["MeterCategory"])
    return str(values["service"]["description"])


def file_entry(root: Path, path: Path) -> tuple[str, str]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return path.relative_to(root).as_posix(), digest

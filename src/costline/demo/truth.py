"""``ground_truth.json``: what the generator knows it wrote, for tests and later stages.

Every figure is computed from the rows as written (the same Decimal values the writers
emit), never re-read from files. Money is an exact decimal string with 10 places (the
cost store's scale). See docs/demo.md for the format.

``truth/owners.csv`` says who truly owns every line: the team whose workload it is (whatever
its tags say), or ``shared:<service>`` for spend that belongs to no single team (support,
network, the Kubernetes cluster, the data platform, unused commitments, security tooling, the
sandbox). Lines are keyed by what the export says about them: provider, month, account,
resource id and service.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from costline.demo import aws_cur, azure, gcp, org
from costline.demo.model import Anomaly, Line, Plan, logical_tags
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


# -- true owners ----------------------------------------------------------------------------
SHARED = "shared:"
OWNERS_FILE = "truth/owners.csv"
OWNER_COLUMNS = (
    "provider",
    "month",
    "account_id",
    "resource_id",
    "service",
    "true_owner",
    "tag_mode",
    "rows",
    "effective_cost",
)
# Streams that are shared services by design: stream key (or key prefix ending in ``:``) →
# service. Their tags may name the team that runs the service (networking runs the NAT
# gateway), but the spend serves everyone, so its true owner is ``shared:<service>``.
SHARED_STREAMS: tuple[tuple[str, str], ...] = (
    ("aws:eks:", "kubernetes"),  # cluster fee and the shared-prod nodes
    ("aws:dt:az", "kubernetes"),  # inter-AZ traffic inside the EKS account
    ("aws:nat:", "network"),
    ("aws:dt:out", "network"),  # internet egress without a resource
    ("aws:dp:", "data-platform"),  # Redshift, the S3 lake, Glue
    ("aws:ri1:", "data-platform"),  # the Spark workers (RI-covered)
    ("aws:sandbox:", "sandbox"),  # the forgotten instance nobody owns
    ("azure:vpngw", "network"),
    ("azure:bandwidth", "network"),
    ("azure:defender", "security"),
    ("gcp:vpc:", "network"),
    ("gcp:lake:", "data-platform"),
)


def _shared_stream(key: str) -> str | None:
    for prefix, service in SHARED_STREAMS:
        if key == prefix or (prefix.endswith(":") and key.startswith(prefix)):
            return service
    return None


def _fee_service(provider: str, values: dict[str, Any]) -> str:
    """The shared service of a line without a stream (fees, commitments, credits)."""
    if provider == "aws":
        kind = values["line_item_line_item_type"]
        if kind in ("SavingsPlanRecurringFee", "RIFee") or values.get(
            "reservation_reservation_a_r_n"
        ):
            return "commitments"
        return "sandbox" if kind == "Credit" else "support"
    if provider == "azure" and values.get("ChargeType") == "UnusedReservation":
        return "commitments"
    if provider == "gcp" and values["service"]["description"] == "Support":
        return "support"
    raise ValueError(f"no owner for a {provider} line without a stream: {values}")


def true_owner(provider: str, line: Line) -> str:
    """A team id, or ``shared:<service>`` (see :data:`SHARED_STREAMS`).

    Raises:
        ValueError: a line the generator did not give an owner (a bug in the demo).
    """
    stream = line.stream
    if stream is None:
        return SHARED + _fee_service(provider, line.values)
    service = _shared_stream(stream.key)
    if service is not None:
        return SHARED + service
    if stream.team is None:
        raise ValueError(f"stream {stream.key} has no team and is not a shared service")
    return stream.team


def line_key(provider: str, line: Line) -> tuple[str, str, str]:
    """(account id, resource id, service) as the export writes them ('' when absent)."""
    v = line.values
    if provider == "aws":
        return (
            str(v["line_item_usage_account_id"]),
            v.get("line_item_resource_id") or "",
            str(v["product"]["product_name"]),
        )
    if provider == "azure":
        return str(v["SubscriptionId"]), v["ResourceId"] or "", str(v["MeterCategory"])
    return (
        v["project"]["id"] or "",
        v["resource"]["global_name"] or "",
        str(v["service"]["description"]),
    )


def tag_mode(line: Line) -> str:
    """``ok`` or a bad tag mode; ``untagged`` (shared, no team tag); ``fee`` (no resource)."""
    if line.stream is None:
        return "fee"
    return "untagged" if line.stream.team is None else line.stream.tag_mode


def owner_rows(lines: dict[str, list[Line]]) -> list[dict[str, Any]]:
    """``truth/owners.csv``: rows and effective cost per line key, true owner and tag mode.

    Raises:
        ValueError: two owners for one key (the key would not identify the owner).
    """
    owner_of: dict[tuple[str, ...], str] = {}
    agg: dict[tuple[str, ...], tuple[int, Decimal]] = {}
    for provider, provider_lines in lines.items():
        for ln in provider_lines:
            key = (provider, ln.month.label, *line_key(provider, ln))
            owner = true_owner(provider, ln)
            if owner_of.setdefault(key, owner) != owner:
                raise ValueError(f"{key} has two true owners: {owner_of[key]} and {owner}")
            full = (*key, owner, tag_mode(ln))
            n, cost = agg.get(full, (0, Decimal(0)))
            agg[full] = (n + 1, cost + ln.effective)
    return [
        dict(zip(OWNER_COLUMNS, (*k, n, money(c)), strict=True))
        for k, (n, c) in sorted(agg.items())
    ]


def unknown_team_values(lines: dict[str, list[Line]]) -> dict[str, list[str]]:
    """Per month, the team tag values of ``value-unknown`` resources (names of no team)."""
    out: dict[str, set[str]] = {m.label: set() for m in MONTHS}
    for provider_lines in lines.values():
        for ln in provider_lines:
            stream = ln.stream
            if stream is not None and stream.team is not None:
                if stream.tag_mode == "value-unknown":
                    out[ln.month.label].add(logical_tags(stream)["team"])
    return {month: sorted(values) for month, values in out.items()}


def true_owner_totals(rows: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Effective cost per provider owned by teams and by shared services."""
    out: dict[str, dict[str, Decimal]] = {}
    for r in rows:
        kind = "shared" if r["true_owner"].startswith(SHARED) else "teams"
        sums = out.setdefault(r["provider"], {"teams": Decimal(0), "shared": Decimal(0)})
        sums[kind] += Decimal(r["effective_cost"])
    return {p: {k: money(v) for k, v in sums.items()} for p, sums in out.items()}

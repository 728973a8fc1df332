"""Builders for allocation tests: a workspace with FOCUS rows, owners.yaml and rules."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from costline.workspace import Workspace
from tests.focus_files import COLUMNS, focus_row, write_focus_csv

ALLOC_COLUMNS = (*COLUMNS, "SubAccountId", "ResourceId", "RegionId")

TEAMS = {
    # team: (cost center, department, business unit)
    "web": ("CC-1", "Digital", "Retail"),
    "api": ("CC-2", "Digital", "Retail"),
    "data": ("CC-3", "Data", "Platform"),
    "platform": ("CC-3", "Data", "Platform"),
}


def owners_doc(teams: dict[str, tuple[str, str, str]] = TEAMS) -> dict[str, Any]:
    bus: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for team, (cc, dept, bu) in teams.items():
        bus.setdefault(bu, {}).setdefault(dept, []).append(
            {"id": team, "cost_center": cc, "contacts": {"email": f"{team}@acme.example"}}
        )
    return {
        "version": 1,
        "business_units": [
            {
                "name": bu,
                "departments": [{"name": d, "teams": ts} for d, ts in depts.items()],
            }
            for bu, depts in bus.items()
        ],
    }


def charge(
    cost: str | Decimal,
    *,
    tags: dict[str, str] | None = None,
    provider: str = "AWS",
    day: int = 3,
    month: str = "2024-09",
    **extra: Any,
) -> dict[str, Any]:
    """One FOCUS row of the given month; billed = effective = cost, list = 2 × cost."""
    value = Decimal(str(cost))
    nxt = "2024-10" if month == "2024-09" else "2024-11"
    row = focus_row(
        BilledCost=str(value),
        EffectiveCost=str(value),
        ListCost=str(value * 2),
        ContractedCost=str(value),
        ProviderName=provider,
        PublisherName=provider,
        InvoiceIssuerName=provider,
        BillingAccountId=f"{provider.lower()}-acct",
        BillingPeriodStart=f"{month}-01T00:00:00Z",
        BillingPeriodEnd=f"{nxt}-01T00:00:00Z",
        ChargePeriodStart=f"{month}-{day:02d}T00:00:00Z",
        ChargePeriodEnd=f"{month}-{day:02d}T01:00:00Z",
        Tags=json.dumps(tags or {}),
        SubAccountId=extra.pop("SubAccountId", "sub-1"),
        ResourceId=extra.pop("ResourceId", ""),
        RegionId=extra.pop("RegionId", "us-east-1"),
    )
    row.update(extra)
    return row


def setup(
    ws: Workspace,
    rows: Sequence[dict[str, Any]],
    rules: dict[str, Any] | str,
    *,
    owners: dict[str, Any] | None = None,
    name: str = "bill.csv",
) -> Path:
    """Ingest rows (grouped by provider: one file each), write owners.yaml and rules."""
    by_provider: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_provider.setdefault(r["ProviderName"], []).append(r)
    files = []
    for provider, prov_rows in by_provider.items():
        path = ws.root / f"{provider.lower()}-{name}"
        write_focus_csv(path, prov_rows, ALLOC_COLUMNS)
        files.append(path)
    report = ws.ingest(files)
    assert not report.failed, [o.message for o in report.failed]
    ws.owners_path.write_text(yaml.safe_dump(owners or owners_doc(), sort_keys=False))
    write_rules(ws, rules)
    return ws.rules_path


def write_rules(ws: Workspace, rules: dict[str, Any] | str, name: str = "allocation.yaml") -> Path:
    path = ws.rules_path / name
    path.write_text(rules if isinstance(rules, str) else yaml.safe_dump(rules, sort_keys=False))
    return path


def team_tag_rules(**extra: Any) -> dict[str, Any]:
    """The usual first rule: the team tag names the team."""
    doc: dict[str, Any] = {
        "virtual_tags": [
            {
                "key": "team",
                "rules": [
                    {
                        "id": "team-tag",
                        "when": {"tag": "team", "present": True},
                        "value_from": {"tag": "team"},
                    }
                ],
            }
        ]
    }
    doc.update(extra)
    return doc


def by_team(ws: Workspace, column: str = "EffectiveCost") -> dict[str, Decimal]:
    rows = ws.query(f"SELECT x_Team, SUM({column}) FROM allocated_cost GROUP BY 1 ORDER BY 1").rows
    return {r[0]: r[1] for r in rows}


def parts(ws: Workspace, charge_id: int) -> list[tuple[str, Decimal]]:
    return [
        (r[0], r[1])
        for r in ws.query(
            "SELECT x_Team, EffectiveCost FROM allocated_cost WHERE x_ChargeId = ? "
            "ORDER BY x_AllocationPath",
            [charge_id],
        ).rows
    ]


def dec(values: Iterable[str]) -> list[Decimal]:
    return [Decimal(v) for v in values]

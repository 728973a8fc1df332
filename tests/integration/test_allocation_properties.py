"""Property tests: random bills × random valid rule sets.

Invariants: Σ allocated = Σ source per billing period, provider and currency in every split
column, exactly; the parts of every charge sum to it exactly; and the per-team totals equal an
independent pure-Python model of the same rules (exact fractions, so only the 10th-decimal
rounding may differ).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costline.allocation import allocate
from costline.config.allocation import OwnersRegistry, RuleSet
from costline.config.rules_loader import LoadedRules
from costline.schema.focus import store_ddl
from tests.allocation_kit import owners_doc

TEAMS = ["web", "api", "data", "platform"]
SERVICES = ["S0", "S1", "S2", "S3", "S4"]
PROVIDERS = ["aws", "azure"]
PERIOD = dt.date(2024, 9, 1)

money = st.decimals(min_value=Decimal("-50"), max_value=Decimal("5000"), places=4)
row_st = st.fixed_dictionaries(
    {
        "cost": money,
        "provider": st.sampled_from(PROVIDERS),
        "currency": st.sampled_from(["USD", "USD", "EUR"]),
        "service": st.sampled_from(SERVICES),
        "team": st.sampled_from([*TEAMS, "ghost", None]),
    }
)


@st.composite
def rule_sets(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(0, 3))
    services = draw(st.permutations(SERVICES))[:n]
    pools = []
    for i, svc in enumerate(services):
        later = [f"pool:p{j}" for j in range(i + 1, n)]
        method = draw(st.sampled_from(["even", "fixed", "proportional"]))
        pool: dict[str, Any] = {
            "id": f"p{i}",
            "select": {"column": "ServiceName", "equals": svc},
            "method": method,
        }
        if method == "fixed":
            who = draw(
                st.lists(st.sampled_from(TEAMS + later), min_size=1, max_size=3, unique=True)
            )
            cuts = sorted(
                draw(st.lists(st.integers(0, 100), min_size=len(who) - 1, max_size=len(who) - 1))
            )
            bounds = [0, *cuts, 100]
            pool["shares"] = {w: bounds[k + 1] - bounds[k] for k, w in enumerate(who)}
        elif draw(st.booleans()):
            pool["to"] = draw(
                st.lists(st.sampled_from(TEAMS + later), min_size=1, max_size=3, unique=True)
            )
        pools.append(pool)
    return {
        "virtual_tags": [
            {
                "key": "team",
                "rules": [
                    {
                        "id": "tag",
                        "when": {"tag": "team", "present": True},
                        "value_from": {"tag": "team"},
                    }
                ],
            }
        ],
        "pools": pools,
    }


def _load(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    con.execute(store_ddl("cost"))
    for r in rows:
        tags = {"team": r["team"]} if r["team"] else {}
        con.execute(
            "INSERT INTO cost (x_Provider, BillingCurrency, BillingPeriodStart, BillingPeriodEnd, "
            "ChargePeriodStart, ChargePeriodEnd, ServiceName, BilledCost, EffectiveCost, ListCost, "
            "ContractedCost, Tags, ChargeCategory) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "CAST(? AS MAP(VARCHAR, VARCHAR)), 'Usage')",
            [
                r["provider"],
                r["currency"],
                dt.datetime(2024, 9, 1),
                dt.datetime(2024, 10, 1),
                dt.datetime(2024, 9, 3),
                dt.datetime(2024, 9, 4),
                r["service"],
                r["cost"],
                r["cost"],
                r["cost"] * 2,
                r["cost"],
                tags,
            ],
        )


def _model(
    rows: list[dict[str, Any]], rules: dict[str, Any]
) -> dict[tuple[str, str, str], Fraction]:
    """Independent model: per (provider, currency, recipient) exact totals."""
    pools = {p["id"]: p for p in rules["pools"]}
    pool_of = {p["select"]["equals"]: p["id"] for p in rules["pools"]}
    owned: dict[tuple[str, str, str], Fraction] = defaultdict(Fraction)
    direct: dict[tuple[str, str], Fraction] = defaultdict(
        Fraction
    )  # (provider, owner) EffectiveCost
    has_rows: set[tuple[str, str]] = set()
    for r in rows:
        if r["service"] in pool_of:
            owner = "pool:" + pool_of[r["service"]]
        else:
            owner = r["team"] if r["team"] in TEAMS else "unallocated"
        owned[(r["provider"], r["currency"], owner)] += Fraction(r["cost"])
        direct[(r["provider"], owner)] += Fraction(r["cost"])
        has_rows.add((r["provider"], owner))
    for pid in sorted(pools, key=lambda x: int(x[1:])):  # p0 → p1 → ... (edges go forward)
        pool = pools[pid]
        me = "pool:" + pid
        for provider in PROVIDERS:
            if pool["method"] == "fixed":
                weights = {k: Fraction(v) for k, v in pool["shares"].items() if v > 0}
            else:
                listed = pool.get("to")
                cands = listed if listed else TEAMS
                present = {o for (p, o) in has_rows if p == provider}
                if pool["method"] == "even":
                    weights = (
                        {c: Fraction(1) for c in cands}
                        if listed
                        else {c: Fraction(1) for c in cands if c in present}
                    )
                else:
                    weights = {
                        c: direct.get((provider, c), Fraction(0))
                        for c in cands
                        if direct.get((provider, c), Fraction(0)) > 0
                    }
            total = sum(weights.values(), Fraction(0))
            for currency in ("USD", "EUR"):
                amount = owned.pop((provider, currency, me), Fraction(0))
                if not total:
                    owned[(provider, currency, f"unallocated:{pid}")] += amount
                    continue
                for who, w in weights.items():
                    owned[(provider, currency, who)] += amount * w / total
    return {k: v for k, v in owned.items() if v}


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row_st, min_size=1, max_size=25), rules=rule_sets())
def test_allocation_conserves_and_matches_model(
    rows: list[dict[str, Any]], rules: dict[str, Any]
) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    _load(con, rows)
    loaded = LoadedRules(RuleSet.model_validate(rules), [], "prop")
    owners = OwnersRegistry.model_validate(owners_doc())
    allocate(con, loaded, owners, PERIOD)

    # 1. conservation per provider and currency, every split column, exactly
    src = con.execute(
        "SELECT x_Provider, BillingCurrency, SUM(BilledCost), SUM(EffectiveCost), SUM(ListCost) "
        "FROM cost GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    dst = con.execute(
        "SELECT x_Provider, BillingCurrency, SUM(BilledCost), SUM(EffectiveCost), SUM(ListCost) "
        "FROM allocated_cost GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert src == dst
    # 2. parts of each charge sum to it
    bad = con.execute(
        "SELECT c.x_ChargeId FROM cost c JOIN (SELECT x_ChargeId, SUM(EffectiveCost) AS s "
        "FROM allocated_cost GROUP BY 1) a ON a.x_ChargeId = c.x_ChargeId WHERE a.s <> c.EffectiveCost"
    ).fetchall()
    assert bad == []
    # 3. per-recipient totals equal the exact model within the rounding of the parts
    got = {
        (p, c, t): v
        for p, c, t, v in con.execute(
            "SELECT x_Provider, BillingCurrency, x_Team, SUM(EffectiveCost) FROM allocated_cost "
            "GROUP BY ALL"
        ).fetchall()
    }
    want = _model(rows, rules)
    parts = con.execute("SELECT count(*) FROM allocated_cost").fetchone()[0]  # type: ignore[index]
    tolerance = Decimal(parts) * Decimal("1e-9") + Decimal("1e-6")
    for key in set(got) | set(want):
        g = got.get(key, Decimal(0))
        w = want.get(key, Fraction(0))
        assert abs(g - Decimal(w.numerator) / Decimal(w.denominator)) <= tolerance, (key, g, w)

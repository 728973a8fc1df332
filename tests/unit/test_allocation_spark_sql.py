"""Plan statements → Spark SQL (pure: no Spark needed), and the engine-neutral money rounding.

The rounding is checked on DuckDB against Python's exact arithmetic; the Spark side of the same
expression is compared in tests/integration/test_allocation_spark.py.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_FLOOR, Decimal, localcontext

import duckdb
import pytest

from costline.allocation.plan import _round_money, build_plan
from costline.allocation.run import AllocationError
from costline.allocation.spark import ROWID, spark_type, translate
from costline.config.allocation import OwnersRegistry, RuleSet

OWNERS = OwnersRegistry.model_validate(
    {
        "business_units": [
            {
                "name": "Retail",
                "departments": [
                    {
                        "name": "Digital",
                        "teams": [
                            {"id": "web", "cost_center": "CC-1"},
                            {"id": "api", "cost_center": "CC-2"},
                        ],
                    }
                ],
            }
        ]
    }
)

RULES = RuleSet.model_validate(
    {
        "tags": {"keys": [{"key": "team", "values": {"svc-api": "api"}}]},
        "virtual_tags": [
            {
                "key": "env",
                "rules": [{"id": "prod", "when": {"tag": "env", "regex": "^prod"}, "value": "p"}],
            },
            {
                "key": "team",
                "rules": [
                    {
                        "id": "tag",
                        "when": {"tag": "team", "present": True},
                        "value_from": {"tag": "team"},
                    },
                    {
                        "id": "pre",
                        "when": {"column": "ResourceId", "prefix": "i-w"},
                        "value": "web",
                    },
                ],
            },
        ],
        "pools": [
            {
                "id": "net",
                "select": {"column": "ServiceName", "equals": "Network"},
                "method": "fixed",
                "shares": {"pool:sup": 50, "web": 50},
            },
            {
                "id": "sup",
                "select": {"column": "ServiceName", "equals": "Support"},
                "method": "proportional",
                "granularity": "daily",
            },
            {
                "id": "calls",
                "select": {"column": "ServiceName", "equals": "Calls"},
                "method": "metric",
                "driver": {"metric": "calls"},
            },
        ],
    }
)


def _statements(rules: RuleSet = RULES) -> list[str]:
    plan = build_plan(
        rules,
        OWNERS,
        period=dt.date(2024, 9, 1),
        raw_tag_keys=["Team", "env"],
        run_id="r1",
        version="v1",
    )
    steps = [s for step in plan.steps for s in (step.ratio_sql, step.parts_sql)]
    return [plan.teams_sql, plan.rows_sql, plan.parts_sql, *steps, plan.output_sql]


def test_every_plan_statement_translates_to_a_view_or_the_output() -> None:
    out = [translate(sql) for sql in _statements()]
    views = [s.view for s in out]
    # teams, rows, first parts, then (ratio, parts) per pool in waterfall order, then output
    assert views == ["_a_teams", "_a_rows", "_a_parts_0", "_a_ratio_0", "_a_parts_1",
                     "_a_ratio_1", "_a_parts_2", "_a_ratio_2", "_a_parts_3", None]  # fmt: skip
    text = "\n".join(s.query for s in out)
    for duckdb_only in ("BY NAME", "MAP STRUCT", "regexp_matches", "TIMESTAMP '"):
        assert duckdb_only not in text
    assert all(not s.query.startswith(("CREATE", "INSERT")) for s in out)
    assert "RLIKE '^prod'" in text and "STARTSWITH(" in text
    assert "MAP('env', `_v:env`, 'team', `_v:team`)" in out[-1].query


def test_rowid_becomes_the_charge_id_column_but_a_quoted_column_does_not() -> None:
    stmt = translate('CREATE TEMP TABLE t AS SELECT rowid AS x_ChargeId, "rowid" AS r FROM cost')
    assert stmt.view == "t"
    assert stmt.query == f"SELECT {ROWID} AS x_ChargeId, `rowid` AS r FROM cost"


def test_empty_temp_table_and_types() -> None:
    stmt = translate("CREATE OR REPLACE TEMP TABLE _a_teams (team VARCHAR, n DECIMAL(38, 10))")
    assert stmt.view == "_a_teams"
    assert stmt.query == (
        "SELECT CAST(NULL AS STRING) AS team, CAST(NULL AS DECIMAL(38, 10)) AS n LIMIT 0"
    )
    assert spark_type("MAP(VARCHAR, VARCHAR)") == "MAP<STRING, STRING>"
    assert spark_type("DECIMAL(38, 10)") == "DECIMAL(38, 10)"


def test_statements_a_plan_never_makes_are_refused() -> None:
    with pytest.raises(AllocationError, match="unexpected statement"):
        translate("DELETE FROM cost")
    with pytest.raises(AllocationError, match="does not translate"):
        translate("SELECT FROM WHERE")


# -- money: DOUBLE → DECIMAL(38, 10) through integers -----------------------------------------
def _exact(c: Decimal, ratio: float) -> Decimal:
    """floor(x·10¹⁰ + ½)/10¹⁰ of the exact binary value x of the DOUBLE product (half up)."""
    with localcontext(prec=100):
        x = Decimal(float(c) * ratio)  # Decimal(float) is exact
        units = (x * 10**10 + Decimal("0.5")).to_integral_value(ROUND_FLOOR)
        return (units / 10**10).quantize(Decimal("1e-10"))


def test_round_money_is_exact_half_up_of_the_double_product() -> None:
    rng = random.Random(7)
    cases = [(Decimal("10"), 1 / 3), (Decimal("-10"), 1 / 3), (Decimal("0.0000000001"), 0.5)]
    cases += [(Decimal("123456789.1234567891"), 0.7), (Decimal("-0.0000000003"), 0.25)]
    # beyond BIGINT (byte-second quantities reach 1e19) and near DECIMAL(38, 10)'s limit
    cases += [
        (Decimal("12345678901234567890.5"), 0.3),
        (Decimal("-98765432109876543210987.25"), 0.9),
    ]
    for _ in range(3000):
        c = Decimal(rng.randint(-(10**17), 10**17)).scaleb(-rng.randint(0, 10))
        cases.append((c.quantize(Decimal("1e-10")), rng.random()))
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, c DECIMAL(38, 10), r DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, c, r) for i, (c, r) in enumerate(cases)])
    got = dict(con.execute(f"SELECT i, {_round_money('CAST(c AS DOUBLE) * r')} FROM t").fetchall())
    wrong = [(c, r, got[i]) for i, (c, r) in enumerate(cases) if got[i] != _exact(c, r)]
    assert wrong == []
    # e.g. −10 × ⅓: x = −3.33333333333333348136… → −3.3333333333 (not −3.3333333334)
    assert got[1] == Decimal("-3.3333333333")

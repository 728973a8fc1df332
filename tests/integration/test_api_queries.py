"""The API's query layer (costline.reports.queries) on real workspaces.

A small bill of two months and two providers is ingested and allocated (team tag, plus an
AWS support pool split proportionally); every expected value is derived below from the rows
written (ROWS), never read back from costline.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costline.core.errors import ConfigError
from costline.reports import queries as q
from costline.reports.queries import Scope
from costline.workspace import Workspace
from tests.allocation_kit import ALLOC_COLUMNS, charge, setup, team_tag_rules
from tests.focus_files import write_focus_csv

ALL = Scope.everything()
WEB = Scope.of_teams(["web"])
PROVIDERS = {"AWS": "aws", "Microsoft": "azure"}
TEAM_CC = {"web": "CC-1", "api": "CC-2", "data": "CC-3", "platform": "CC-3"}
SUPPORT = "AWS Support"


@dataclass(frozen=True)
class Row:
    cost: str
    day: dt.date
    provider: str
    service: str
    region: str = "us-east-1"
    resource: str = ""
    team: str | None = None
    env: str | None = None

    @property
    def amount(self) -> Decimal:
        return Decimal(self.cost)

    def focus(self) -> dict[str, Any]:
        month = self.day.replace(day=1)
        nxt = (month + dt.timedelta(days=32)).replace(day=1)
        tags = {k: v for k, v in (("team", self.team), ("env", self.env)) if v}
        return charge(
            self.cost,
            tags=tags,
            provider=self.provider,
            day=self.day.day,
            month=f"{month:%Y-%m}",
            BillingPeriodEnd=f"{nxt:%Y-%m-%d}T00:00:00Z",
            ServiceName=self.service,
            RegionId=self.region,
            ResourceId=self.resource,
        )


def d(month: int, day: int) -> dt.date:
    return dt.date(2024, month, day)


ROWS = [
    Row("10", d(9, 1), "AWS", "Amazon EC2", resource="i-1", team="web", env="prod"),
    Row("30", d(9, 1), "AWS", "Amazon EC2", resource="i-2", team="api", env="prod"),
    Row("50", d(9, 2), "AWS", "Amazon S3", "eu-west-1", "b-1", team="data", env="dev"),
    Row("10", d(9, 2), "AWS", "Amazon EC2", "eu-west-1", "i-3", team="web", env="dev"),
    Row("20", d(9, 3), "AWS", SUPPORT, resource="support"),
    Row("100", d(9, 2), "Microsoft", "Virtual Machines", "westeurope", "vm-1", team="web"),
    Row("7.25", d(9, 3), "Microsoft", "Storage", "westeurope", "st-1"),
    Row("40", d(8, 5), "AWS", "Amazon EC2", resource="i-1", team="web", env="prod"),
    Row("12", d(8, 6), "AWS", "Amazon S3", resource="b-1", team="data"),
]
RULES = team_tag_rules(
    pools=[
        {
            "id": "support",
            "select": {"column": "ServiceName", "equals": SUPPORT},
            "method": "proportional",
        }
    ]
)


# -- expected values from ROWS ----------------------------------------------------------------
def expect(key: Callable[[Row], Any], rows: list[Row] = ROWS) -> dict[Any, Decimal]:
    out: dict[Any, Decimal] = defaultdict(Decimal)
    for r in rows:
        out[key(r)] += r.amount
    return dict(out)


def team_parts(r: Row) -> list[tuple[str, Decimal]]:
    """Who pays a row: its tagged team (unknown → unallocated), or for AWS support each team
    in proportion to its direct AWS spend of the month (the shares divide exactly here)."""
    if r.service != SUPPORT:
        return [(r.team if r.team in TEAM_CC else "unallocated", r.amount)]
    direct = expect(
        lambda x: x.team,
        [x for x in ROWS if x.provider == r.provider and x.day.month == r.day.month and x.team],
    )
    whole = sum(direct.values())
    return [(team, r.amount * v / whole) for team, v in direct.items()]


def by_team(rows: list[Row] = ROWS) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        for team, amount in team_parts(r):
            out[team] += amount
    return dict(out)


def sept(r: Row) -> bool:
    return r.day.month == 9


def as_dict(page: q.Page) -> dict[Any, Decimal]:
    """Rows keyed by every column but the last (cost)."""
    return {row[:-1] if len(row) > 2 else row[0]: row[-1] for row in page.rows}


# -- workspaces -------------------------------------------------------------------------------
def build(root: Path, *, allocate: bool = True) -> Workspace:
    ws = Workspace.init(root)
    setup(ws, [r.focus() for r in ROWS], RULES)
    if allocate:
        ws.allocate("2024-08")
        ws.allocate("2024-09")
    return ws


@pytest.fixture(scope="module")
def allocated(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Ingested and allocated; never gets a mart (tests here read the base tables)."""
    return build(tmp_path_factory.mktemp("api") / "ws")


@pytest.fixture
def con(allocated: Workspace) -> Iterator[Any]:
    with allocated.warehouse() as wh:
        yield wh.con


@pytest.fixture
def bare(workspace: Workspace) -> Iterator[Any]:
    """Ingested, not allocated."""
    setup(workspace, [r.focus() for r in ROWS], RULES)
    with workspace.warehouse() as wh:
        yield wh.con


# -- costs: group-bys, metrics, time, filters ----------------------------------------------------
def test_group_by_provider_and_service_sums_the_rows(con: Any) -> None:
    page = q.costs(con, scope=ALL, group_by=["provider", "service"])
    want = expect(lambda r: (PROVIDERS[r.provider], r.service, "USD"))
    assert as_dict(page) == want
    assert page.columns == ["provider", "service", "currency", "cost"]
    assert page.total == len(want) and page.source == "cost"
    assert page.totals == {"USD": sum(r.amount for r in ROWS)}
    # default order: largest cost first
    costs = [row[-1] for row in page.rows]
    assert costs == sorted(costs, reverse=True)


@pytest.mark.parametrize(("metric", "factor"), [("billed", 1), ("list", 2), ("contracted", 1)])
def test_metric_picks_the_cost_column(con: Any, metric: str, factor: int) -> None:
    # the test bill has billed = effective = contracted = cost, list = 2 x cost
    page = q.costs(con, scope=ALL, group_by=["account"], metric=metric)
    assert page.rows == [("sub-1", "USD", sum(r.amount for r in ROWS) * factor)]
    assert isinstance(page.rows[0][-1], Decimal)


def test_month_and_day_granularity_with_a_date_range(con: Any) -> None:
    months = q.costs(con, scope=ALL, group_by=["team,month"])  # the example
    want: dict[Any, Decimal] = defaultdict(Decimal)
    for r in ROWS:
        for team, amount in team_parts(r):
            want[(team, f"{r.day:%Y-%m}", "USD")] += amount
    assert as_dict(months) == dict(want)
    days = q.costs(con, scope=ALL, granularity="day", start="2024-09-02", end=dt.date(2024, 9, 4))
    in_range = [r for r in ROWS if d(9, 2) <= r.day < d(9, 4)]
    assert days.rows == [
        (f"{day:%Y-%m-%d}", "USD", amount)
        for day, amount in sorted(expect(lambda r: r.day, in_range).items())
    ]  # time ascending by default


def test_filters_and_tag_group_by(con: Any) -> None:
    page = q.costs(
        con,
        scope=ALL,
        group_by=["tag:env", "region"],
        filters={"provider": ["aws"], "service": ["Amazon EC2", "Amazon S3"]},
        start="2024-09-01",
    )
    rows = [r for r in ROWS if r.provider == "AWS" and r.service != SUPPORT and sept(r)]
    assert as_dict(page) == expect(lambda r: (r.env, r.region, "USD"), rows)
    by_tag = q.costs(con, scope=ALL, group_by=["service"], filters={"tag:env": ["prod"]})
    assert as_dict(by_tag) == expect(
        lambda r: (r.service, "USD"), [r for r in ROWS if r.env == "prod"]
    )


def test_allocation_dimensions(con: Any) -> None:
    page = q.costs(con, scope=ALL, group_by=["cost_center"])
    want: dict[Any, Decimal] = defaultdict(Decimal)
    for team, amount in by_team().items():
        want[(TEAM_CC.get(team), "USD")] += amount
    assert as_dict(page) == dict(want)
    assert page.source == "allocated_cost"


def test_pagination_walks_every_group_once(con: Any) -> None:
    full = q.costs(con, scope=ALL, group_by=["resource", "month"], order="resource")
    seen = []
    for offset in range(0, full.total + 2, 3):
        page = q.costs(
            con,
            scope=ALL,
            group_by=["resource", "month"],
            order="resource",
            limit=3,
            offset=offset,
        )
        assert page.total == full.total and page.limit == 3 and page.offset == offset
        seen += page.rows
    assert seen == full.rows
    assert full.total == len({(r.resource, r.day.month) for r in ROWS})
    assert [r[0] for r in full.rows] == sorted(r[0] for r in full.rows)


def test_order_by_a_column_descending(con: Any) -> None:
    page = q.costs(con, scope=ALL, group_by=["service"], order="-service")
    assert [r[0] for r in page.rows] == sorted({r.service for r in ROWS}, reverse=True)


# -- scope --------------------------------------------------------------------------------------
WEB_TOTAL = by_team()["web"]


WEB_TAGGED = sum(r.amount for r in ROWS if r.team == "web")  # all of web's but its support share


@pytest.mark.parametrize(
    ("request_", "total"),
    [
        ({"group_by": ["team"]}, WEB_TOTAL),
        ({"group_by": ["service", "provider"]}, WEB_TOTAL),
        ({"group_by": ["tag:team"]}, WEB_TOTAL),
        ({"group_by": ["tag:env", "resource"]}, WEB_TOTAL),
        ({"group_by": ["cost_center", "day"]}, WEB_TOTAL),
        ({"group_by": ["account"], "filters": {"tag:team": ["web", "api", "data"]}}, WEB_TAGGED),
    ],
)
def test_team_scope_sees_only_its_rows(con: Any, request_: dict[str, Any], total: Decimal) -> None:
    page = q.costs(con, scope=WEB, **request_)
    assert page.totals == {"USD": total}
    assert sum(r[-1] for r in page.rows) == total
    if request_["group_by"][0] in ("team", "tag:team"):
        # web's share of the support pool is untagged: tag:team is None there
        assert {r[0] for r in page.rows} <= {"web", None}


def test_team_scope_filters_never_widen_it(con: Any) -> None:
    other = q.costs(con, scope=WEB, group_by=["team"], filters={"team": ["api", "data"]})
    assert other.rows == [] and other.total == 0
    support = q.costs(con, scope=WEB, group_by=["team"], filters={"service": [SUPPORT]})
    share = dict(team_parts(next(r for r in ROWS if r.service == SUPPORT)))["web"]
    assert support.rows == [("web", "USD", share)]
    nobody = q.costs(con, scope=Scope.of_teams([]), group_by=["team"])
    assert nobody.rows == [] and nobody.notes == (q.NO_TEAMS,)
    two = q.costs(con, scope=Scope.of_teams(["web", "api"]), group_by=["team"])
    assert as_dict(two) == {(t, "USD"): by_team()[t] for t in ("web", "api")}


def test_without_allocation_team_scope_sees_nothing_and_says_why(bare: Any) -> None:
    page = q.costs(bare, scope=WEB, group_by=["service"])
    assert page.rows == [] and page.total == 0 and page.notes == (q.NO_ALLOCATION,)
    with pytest.raises(ConfigError, match="needs a published allocation"):
        q.costs(bare, scope=ALL, group_by=["team"])
    with pytest.raises(ConfigError, match="needs a published allocation"):
        q.costs(bare, scope=ALL, filters={"business_unit": ["Retail"]})
    with pytest.raises(ConfigError, match="needs a published allocation"):
        q.chargeback(bare, period="2024-09", scope=ALL)
    # an admin still sees the bill
    assert q.costs(bare, scope=ALL).totals == {"USD": sum(r.amount for r in ROWS)}


# -- injection and bad input ------------------------------------------------------------------
@pytest.mark.parametrize(
    "group_by",
    [
        "provider;DROP TABLE cost",
        "tag:x'||(select 1)||'",
        "provider) UNION SELECT 1 --",
        'tag:team"] --',
        "tag:te\nam",
        "tag:",
        "tag:" + "a" * 129,
        "x_Team",
        "ServiceName",
    ],
)
def test_group_by_injection_is_rejected(con: Any, group_by: str) -> None:
    with pytest.raises(ConfigError) as err:
        q.costs(con, scope=WEB, group_by=[group_by])
    assert err.value.key == "group_by"
    assert "provider" in str(err.value) or "tag key" in str(err.value)
    assert con.execute("SELECT count(*) FROM cost").fetchone()[0] == len(ROWS)


@pytest.mark.parametrize(
    "filters",
    [
        {"service": ["x' OR '1'='1"]},
        {"service": ["Amazon EC2' OR 1=1 --"]},
        {"tag:env": ["prod') OR ('1'='1"]},
        {"tag:a = b": ["x"]},  # an odd but valid tag key: bound, matches nothing
        {"team": ["web'; DROP TABLE cost; --"]},
    ],
)
def test_filter_values_are_bound_harmlessly(con: Any, filters: dict[str, list[str]]) -> None:
    page = q.costs(con, scope=ALL, group_by=["service"], filters=filters)
    assert page.rows == [] and page.total == 0
    assert con.execute("SELECT count(*) FROM cost").fetchone()[0] == len(ROWS)


def test_an_odd_tag_key_is_a_bound_parameter(con: Any) -> None:
    page = q.costs(con, scope=ALL, group_by=["tag:a = b"])
    assert page.rows == [(None, "USD", sum(r.amount for r in ROWS))]


@pytest.mark.parametrize(
    ("kwargs", "key", "names"),
    [
        ({"group_by": ["servce"]}, "group_by", "did you mean 'service'"),
        ({"filters": {"nope": ["x"]}}, "filters", "provider"),
        ({"filters": {"service": []}}, "filters", "1 to 1000 values"),
        ({"filters": {"service": ["x" * 1025]}}, "filters.service", "1 to 1024"),
        ({"metric": "amortized"}, "metric", "billed, effective, list, contracted"),
        ({"granularity": "week"}, "granularity", "day, month, total"),
        ({"granularity": "day", "group_by": ["month"]}, "granularity", "once"),
        ({"start": "2024-13-01"}, "start", "YYYY-MM-DD"),
        ({"start": "2024-09-01'; DROP TABLE cost; --"}, "start", "YYYY-MM-DD"),
        ({"start": "2024-09-02", "end": "2024-09-02"}, "end", "exclusive"),
        ({"limit": 10_001}, "limit", "1 to 10000"),
        ({"limit": 0}, "limit", "1 to 10000"),
        ({"offset": -1}, "offset", "0 or more"),
        ({"order": "cost; DROP TABLE cost"}, "order", "-cost"),
        ({"currency": "usd'--"}, "currency", "3-letter"),
        ({"group_by": [f"tag:k{i}" for i in range(9)]}, "group_by", "at most 8"),
    ],
)
def test_bad_parameters_say_what_is_allowed(
    con: Any, kwargs: dict[str, Any], key: str, names: str
) -> None:
    with pytest.raises(ConfigError) as err:
        q.costs(con, scope=ALL, **kwargs)
    assert err.value.key == key
    assert names in str(err.value)


# -- currency -----------------------------------------------------------------------------------
def test_display_currency_converts_only_with_a_rate(con: Any, workspace: Workspace) -> None:
    same = q.costs(con, scope=ALL, group_by=["provider"], currency="USD")
    assert same.totals == {"USD": sum(r.amount for r in ROWS)} and same.notes == ()
    first = min(r.day for r in ROWS)
    with pytest.raises(ConfigError, match=f"no exchange rate USD→EUR for {first}") as e:
        q.costs(con, scope=ALL, currency="EUR")  # this store has no rates at all
    assert e.value.key == "currency" and "costline fx load" in str(e.value)
    # a bill in two currencies: one line per currency, or converted at a loaded rate
    path = workspace.root / "two.csv"
    rows = [charge("5"), charge("7", BillingCurrency="EUR", BillingAccountId="eu-acct")]
    write_focus_csv(path, rows, ALLOC_COLUMNS)
    assert not workspace.ingest([path]).failed
    with workspace.warehouse() as wh:
        both = q.costs(wh.con, scope=ALL)
        assert both.rows == [("EUR", Decimal(7)), ("USD", Decimal(5))]  # largest first
        with pytest.raises(ConfigError, match="no exchange rate EUR→USD for 2024-09-03"):
            q.costs(wh.con, scope=ALL, currency="USD")
        eur = q.costs(wh.con, scope=ALL, currency="EUR", filters={"currency": ["EUR"]})
        assert eur.rows == [("EUR", Decimal(7))]
    workspace.fx_rates_path.write_text("date,from,to,rate\n2024-09-01,EUR,USD,1.25\n")
    workspace.load_fx_rates()
    with workspace.warehouse() as wh:
        usd = q.costs(wh.con, scope=ALL, currency="USD")
    assert usd.rows == [("USD", Decimal(5) + Decimal(7) * Decimal("1.25"))]
    assert usd.notes and "1.25 dated 2024-09-01" in usd.notes[0]


# -- marts ------------------------------------------------------------------------------------
MART_REQUESTS: list[tuple[Scope, dict[str, Any]]] = [
    (ALL, {}),
    (ALL, {"group_by": ["provider", "service"], "granularity": "day"}),
    (ALL, {"group_by": ["team", "cost_center", "month"], "metric": "list"}),
    (ALL, {"group_by": ["department", "business_unit"], "filters": {"region": ["us-east-1"]}}),
    (ALL, {"group_by": ["charge_category", "billing_account"], "start": "2024-09-02"}),
    (ALL, {"group_by": ["service_category", "account"], "end": "2024-09-01"}),
    (WEB, {"group_by": ["service", "day"], "order": "-cost", "limit": 2, "offset": 1}),
    (Scope.of_teams(["api", "data"]), {"group_by": ["team"], "filters": {"provider": ["aws"]}}),
]


def test_mart_answers_equal_base_answers(tmp_path: Path) -> None:
    ws = build(tmp_path / "mart")
    with ws.warehouse() as wh:
        before = [q.costs(wh.con, scope=s, **kw) for s, kw in MART_REQUESTS]
        report = q.refresh_marts(wh.con)
        assert report.allocated and report.rows > 0 and q.mart_current(wh.con)
        after = [q.costs(wh.con, scope=s, **kw) for s, kw in MART_REQUESTS]
        untouched = q.costs(wh.con, scope=ALL, group_by=["tag:env"])
    for base, mart in zip(before, after, strict=True):
        assert base.source in ("cost", "allocated_cost") and mart.source == "mart_daily"
        assert (mart.rows, mart.total, mart.totals) == (base.rows, base.total, base.totals)
    assert untouched.source == "cost"  # tags are not in the mart
    # and both equal the rows: team x cost center x month
    want: dict[Any, Decimal] = defaultdict(Decimal)
    for r in ROWS:
        for team, amount in team_parts(r):
            want[(team, TEAM_CC.get(team), f"{r.day:%Y-%m}", "USD")] += 2 * amount
    assert as_dict(after[2]) == dict(want)


def test_a_load_makes_the_mart_stale_until_the_next_refresh(tmp_path: Path) -> None:
    ws = build(tmp_path / "stale", allocate=False)
    with ws.warehouse() as wh:
        q.refresh_marts(wh.con)
        assert q.costs(wh.con, scope=ALL).source == "mart_daily"
    path = ws.root / "late.csv"
    write_focus_csv(
        path, [charge("3", month="2024-10", BillingPeriodEnd="2024-11-01")], ALLOC_COLUMNS
    )
    assert not ws.ingest([path]).failed
    total = sum(r.amount for r in ROWS) + 3
    with ws.warehouse() as wh:
        assert not q.mart_current(wh.con)
        stale = q.costs(wh.con, scope=ALL)
        assert stale.source == "cost" and stale.totals == {"USD": total}
        q.refresh_marts(wh.con)
        fresh = q.costs(wh.con, scope=ALL)
        assert fresh.source == "mart_daily" and fresh.totals == {"USD": total}


def test_a_failed_refresh_keeps_the_previous_mart(tmp_path: Path) -> None:
    ws = build(tmp_path / "atomic", allocate=False)
    with ws.warehouse() as wh:
        q.refresh_marts(wh.con)
        rows = wh.con.execute("SELECT * FROM mart_daily ORDER BY ALL").fetchall()
        # make the second statement of the refresh fail: mart_state cannot be replaced
        wh.con.execute("DROP TABLE mart_state")
        wh.con.execute("CREATE VIEW mart_state AS SELECT 1 AS x")
        wh.con.execute("DELETE FROM cost WHERE ServiceName = 'Storage'")
        with pytest.raises(Exception, match="mart_state"):
            q.refresh_marts(wh.con)
        assert wh.con.execute("SELECT * FROM mart_daily ORDER BY ALL").fetchall() == rows


# -- other reads --------------------------------------------------------------------------------
def test_chargeback_is_scoped(con: Any) -> None:
    lines = q.chargeback(con, period="2024-09", scope=ALL).records()
    sept_rows = [r for r in ROWS if sept(r)]
    assert {r["team"]: r["total"] for r in lines} == by_team(sept_rows)
    web = q.chargeback(con, period="2024-09", scope=WEB)
    assert [(r["team"], r["cost_center"], r["total"]) for r in web.records()] == [
        ("web", "CC-1", by_team(sept_rows)["web"])
    ]
    assert web.total == 1
    with pytest.raises(ConfigError, match="YYYY-MM"):
        q.chargeback(con, period="2024-09'; --", scope=ALL)
    with pytest.raises(ConfigError, match="metric"):
        q.chargeback(con, period="2024-09", scope=ALL, metric="EffectiveCost")


def test_explain_cost_center_is_scoped(con: Any) -> None:
    page = q.explain_cost_center(con, period="2024-09", cost_center="CC-1", scope=ALL)
    got = {(r["component"], r["provider"]): r["amount"] for r in page.records()}
    web = [r for r in ROWS if sept(r) and r.team == "web"]
    support = next(r for r in ROWS if r.service == SUPPORT)
    assert got == {
        ("direct", "aws"): expect(lambda r: r.provider, web)["AWS"],
        ("direct", "azure"): expect(lambda r: r.provider, web)["Microsoft"],
        ("shared", "aws"): dict(team_parts(support))["web"],
    }
    shared = next(r for r in page.records() if r["component"] == "shared")
    assert "pool support: proportional" in shared["steps"]
    hidden = q.explain_cost_center(
        con, period="2024-09", cost_center="CC-1", scope=Scope.of_teams(["api"])
    )
    assert hidden.rows == [] and hidden.total == 0


def _anomaly(con: Any, ident: str, team: str | None, status: str, day: int) -> None:
    con.execute(
        "INSERT INTO anomalies (id, monitor, series_key, dims, currency, status, kind, severity, "
        "first_day, last_day, peak_day, expected, actual, impact, impact_pct, team, root_cause, "
        "days, revision, estimated) VALUES (?, 'm', ?, ?, 'USD', ?, 'spike', 'high', ?, ?, ?, "
        "10, 110, 100, 1000.0, ?, ?, '{}', 1, FALSE)",
        [
            ident,
            f"k-{ident}",
            json.dumps({"service": "EC2"}),
            status,
            d(9, day),
            d(9, day),
            d(9, day),
            team,
            json.dumps(
                {"dimensions": {"ResourceId": [{"value": "i-1", "delta": "$100", "share": 1.0}]}}
            ),
        ],
    )


def test_anomalies_list_filters_and_scope(workspace: Workspace) -> None:
    from costline.anomaly.store import ensure_tables

    with workspace.warehouse() as wh:
        assert q.anomalies(wh.con, scope=ALL).notes == ("no anomaly detection has run yet",)
        ensure_tables(wh.con)
        _anomaly(wh.con, "a1", "web", "open", 1)
        _anomaly(wh.con, "a2", "api", "open", 2)
        _anomaly(wh.con, "a3", "web", "acked", 3)
        _anomaly(wh.con, "a4", None, "open", 4)
        everyone = q.anomalies(wh.con, scope=ALL, status="all")
        assert [r["id"] for r in everyone.records()] == ["a4", "a3", "a2", "a1"]  # newest first
        first = everyone.records()[-1]
        assert (
            first["series"] == "service=EC2"
            and first["root_cause"] == "ResourceId=i-1 +$100 (100%)"
        )
        web = q.anomalies(wh.con, scope=WEB, status="all")
        assert [r["id"] for r in web.records()] == ["a3", "a1"]
        assert [r[0] for r in q.anomalies(wh.con, scope=WEB).rows] == ["a1"]  # open only
        page = q.anomalies(wh.con, scope=ALL, status="open", limit=1, offset=1)
        assert [r[0] for r in page.rows] == ["a2"] and page.total == 3
        with pytest.raises(ConfigError, match="acked"):
            q.anomalies(wh.con, scope=ALL, status="open' OR '1'='1")
        with pytest.raises(ConfigError, match="critical"):
            q.anomalies(wh.con, scope=ALL, severity="urgent")


def test_recommendations_list_filters_and_scope(workspace: Workspace) -> None:
    from costline.optimize import tickets

    def rec(kind: str, resource: str, savings: str, team: str | None) -> tickets.Produced:
        return tickets.Produced(kind, "r", resource, "sub-1", Decimal(savings), None, team=team)

    store = workspace.recommendation_store()  # the state store's, scoped in its query
    assert q.recommendations(store, scope=ALL).total == 0
    now = dt.datetime(2024, 9, 5)
    made = [
        rec("waste", "vol-1", "50", "web"),
        rec("rightsizing", "i-1", "120", "web"),
        rec("waste", "vol-2", "80", "api"),
        rec("waste", "vol-3", "999", None),
    ]
    store.upsert([tickets.produced_row(p) for p in made], now)
    all_ = q.recommendations(store, scope=ALL)
    assert [r["resource_id"] for r in all_.records()] == ["vol-3", "i-1", "vol-2", "vol-1"]
    web = q.recommendations(store, scope=WEB, kind="waste")
    assert [(r["resource_id"], r["monthly_savings"]) for r in web.records()] == [
        ("vol-1", Decimal(50))
    ]
    assert q.recommendations(store, scope=WEB, status="dismissed").total == 0
    with pytest.raises(ConfigError, match="rightsizing, waste"):
        q.recommendations(store, scope=ALL, kind="waste' --")


def test_commitments_are_for_admin_and_finance(workspace: Workspace) -> None:
    # one commitment: 6 of its cost covered usage, 2 went unused -> utilization 6 / 8
    extra = ("CommitmentDiscountId", "CommitmentDiscountStatus", "CommitmentDiscountType")
    ri: dict[str, Any] = {"CommitmentDiscountId": "ri-1", "CommitmentDiscountType": "Reservation"}
    rows = [
        charge("6", ServiceCategory="Compute", CommitmentDiscountStatus="Used", **ri),
        charge("2", ServiceCategory="Compute", CommitmentDiscountStatus="Unused", **ri),
    ]
    path = write_focus_csv(workspace.root / "ri.csv", rows, (*ALLOC_COLUMNS, *extra))
    assert not workspace.ingest([path]).failed
    with workspace.warehouse() as wh:
        hidden = q.commitments(wh.con, scope=WEB)
        assert hidden.rows == [] and "admin and finance" in hidden.notes[0]
        page = q.commitments(wh.con, scope=ALL, period="2024-09")
        got = next(r for r in page.records() if r["level"] == "commitment")
        assert (got["commitment_id"], got["used_cost"], got["unused_cost"]) == ("ri-1", 6, 2)
        assert got["utilization"] == Decimal("0.75")
        assert page.total == len(page.rows)
        one = q.commitments(wh.con, scope=ALL, period="2024-09", limit=1, offset=1)
        assert one.rows == page.rows[1:2] and one.total == page.total
        with pytest.raises(ConfigError, match="YYYY-MM"):
            q.commitments(wh.con, scope=ALL, period="September")


def test_ingest_runs_and_freshness(con: Any) -> None:
    runs = q.ingest_runs(con)
    assert sum(r["rows"] for r in runs.records()) == len(ROWS)
    assert runs.total == len(runs.rows) >= 1
    finished = [r["finished_at"] for r in runs.records()]
    assert finished == sorted(finished, reverse=True)
    fresh = q.freshness(con)
    newest = {
        (PROVIDERS[p], f"{p.lower()}-acct"): dt.datetime.combine(
            max(r.day for r in ROWS if r.provider == p), dt.time()
        )
        for p in PROVIDERS
    }
    got = {
        (r["provider"], r["billing_account"]): r["newest_charge"] for r in fresh.accounts.records()
    }
    assert got == newest
    assert all(r["loaded_at"] is not None for r in fresh.accounts.records())
    assert fresh.newest_ingestion == max(finished)
    assert fresh.marts_current is False and fresh.marts_refreshed_at is None


# -- overview -----------------------------------------------------------------------------------
def test_overview_trend_mix_month_over_month_and_forecast(con: Any) -> None:
    ov = q.overview(con, scope=ALL, month="2024-09")
    through = max(r.day for r in ROWS)  # 2024-09-03: the newest day with data
    assert ov.month == "2024-09" and ov.data_through == through
    sept_rows = [r for r in ROWS if sept(r)]
    assert ov.daily.rows == [
        (f"{day:%Y-%m-%d}", "USD", v)
        for day, v in sorted(expect(lambda r: r.day, sept_rows).items())
    ]
    assert as_dict(ov.by_provider) == expect(lambda r: (PROVIDERS[r.provider], "USD"), sept_rows)
    assert ov.by_team is not None
    assert as_dict(ov.by_team) == {(t, "USD"): v for t, v in by_team(sept_rows).items()}
    mom = ov.month_over_month[0]
    assert mom["current"] == sum(r.amount for r in sept_rows)
    assert mom["previous_same_days"] == 0 and mom["change_pct"] is None  # Aug 1-3: nothing
    assert mom["previous_month"] == sum(r.amount for r in ROWS if r.day.month == 8)
    # forecast: Sep 1-3 (to date) + run-rate of the full days Aug 27 - Sep 2 x 27 days left
    mtd = sum(r.amount for r in sept_rows)
    window = sum(
        (r.amount for r in ROWS if through - dt.timedelta(days=7) <= r.day < through), Decimal(0)
    )
    rate = (window / 7).quantize(Decimal("1e-10"))
    f = ov.forecast[0]
    assert (f["currency"], f["run_rate"], f["remaining_days"]) == ("USD", rate, 27)
    assert f["forecast"] == (mtd + rate * 27).quantize(Decimal("1e-10"))
    assert f["month_to_date"] == sum(r.amount for r in sept_rows)


def test_overview_of_a_closed_month_and_of_a_team(con: Any) -> None:
    aug = q.overview(con, scope=ALL, month="2024-08")
    aug_total = sum(r.amount for r in ROWS if r.day.month == 8)
    assert aug.forecast[0]["forecast"] == aug_total and aug.forecast[0]["method"] == "actual"
    web = q.overview(con, scope=WEB, month="2024-09")
    assert web.by_team is not None and as_dict(web.by_team) == {
        ("web", "USD"): by_team([r for r in ROWS if sept(r)])["web"]
    }
    assert sum(r[-1] for r in web.daily.rows) == by_team([r for r in ROWS if sept(r)])["web"]
    with pytest.raises(ConfigError, match="YYYY-MM"):
        q.overview(con, scope=ALL, month="2024-9-1")


def test_overview_without_allocation_explains_the_missing_team_view(bare: Any) -> None:
    ov = q.overview(bare, scope=ALL)
    assert ov.month == "2024-09" and ov.by_team is None
    assert any("allocate" in n for n in ov.notes)
    member = q.overview(bare, scope=WEB)
    assert member.daily.rows == [] and q.NO_ALLOCATION in member.notes


def test_forecast_and_month_over_month_edges() -> None:
    # 2 per day in February 2024 (29 days), 3 per day in March 1-31
    daily = {(dt.date(2024, 2, i), "EUR"): Decimal(2) for i in range(1, 30)}
    daily |= {(dt.date(2024, 3, i), "EUR"): Decimal(3) for i in range(1, 32)}
    march = dt.date(2024, 3, 1)
    done = q.forecast_month(daily, march, dt.date(2024, 3, 31))[0]
    assert (done["forecast"], done["remaining_days"], done["method"]) == (93, 0, "actual")
    # through March 1: run-rate from Feb 23-29 (7 x 2 / 7 = 2), 30 days left
    early = q.forecast_month(daily, march, march)[0]
    assert (early["month_to_date"], early["run_rate"], early["remaining_days"]) == (3, 2, 30)
    assert early["forecast"] == 3 + 2 * 30
    # March 1-31 against the whole (shorter) February
    mom = q.month_over_month(daily, march, dt.date(2024, 3, 31))[0]
    assert (mom["current"], mom["previous_same_days"], mom["previous_month"]) == (93, 58, 58)
    assert mom["change_pct"] == pytest.approx((93 - 58) / 58 * 100)

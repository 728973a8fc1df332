"""Display currency: the costs query converted with fx_rates, on real workspaces (base tables,
allocated rows and the mart), through the CLI (`costline fx load|list`) and the API.

The bill (ROWS) is in USD, EUR and GBP over August to October 2024; the rates (RATES) change
within the months and include inverse pairs. Every expected figure is worked out below from
ROWS and RATES with Decimal arithmetic, never read back from costline.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from costline.cli.main import app
from costline.core.errors import BadInputError, ConfigError
from costline.reports import queries as q
from costline.reports.queries import Scope
from costline.workspace import Workspace
from tests.allocation_kit import (
    ALLOC_COLUMNS,
    TEAMS,
    charge,
    owners_doc,
    team_tag_rules,
    write_rules,
)
from tests.focus_files import write_focus_csv
from tests.state_db import state_database

ALL = Scope.everything()
D = Decimal
ACCOUNTS = {"USD": "us-acct", "EUR": "eu-acct", "GBP": "gb-acct"}


@dataclass(frozen=True)
class Row:
    cost: str
    day: dt.date
    currency: str
    service: str
    team: str | None = None

    @property
    def amount(self) -> Decimal:
        return D(self.cost)

    def focus(self) -> dict[str, Any]:
        month = self.day.replace(day=1)
        nxt = (month + dt.timedelta(days=32)).replace(day=1)
        return charge(
            self.cost,
            tags={"team": self.team} if self.team else {},
            day=self.day.day,
            month=f"{month:%Y-%m}",
            BillingPeriodEnd=f"{nxt:%Y-%m-%d}T00:00:00Z",
            BillingCurrency=self.currency,
            BillingAccountId=ACCOUNTS[self.currency],
            ServiceName=self.service,
        )


def d(month: int, day: int) -> dt.date:
    return dt.date(2024, month, day)


ROWS = [
    Row("40.00", d(8, 31), "USD", "Amazon EC2", "web"),
    Row("12.3456789012", d(9, 2), "USD", "Amazon EC2", "api"),
    Row("100.00", d(8, 31), "EUR", "Amazon EC2", "web"),
    Row("33.3333333333", d(9, 1), "EUR", "Amazon S3", "data"),
    Row("7.77", d(9, 15), "EUR", "Amazon EC2", "web"),
    Row("2.23", d(9, 15), "EUR", "Amazon EC2", "api"),
    Row("0.0000000005", d(9, 16), "EUR", "Amazon S3"),
    Row("10.00", d(9, 3), "GBP", "Amazon S3", "data"),
    Row("5.5", d(10, 2), "GBP", "Amazon S3", "web"),
]
# date, from, to, rate: 1 FROM = rate TO from the date on
RATES = [
    (d(8, 1), "EUR", "USD", D("1.1")),
    (d(9, 1), "EUR", "USD", D("1.0823")),
    (d(9, 15), "USD", "EUR", D("0.9")),  # newer than 1.0823: EUR→USD is 1/0.9 from the 15th
    (d(9, 1), "USD", "GBP", D("0.79")),  # GBP→USD only as the inverse until October
    (d(10, 1), "GBP", "USD", D("1.3")),
    (d(10, 1), "USD", "GBP", D("0.5")),  # same date as GBP→USD: the pair's own rate wins
]
RATES_CSV = "date,from,to,rate\n" + "".join(f"{a},{b},{c},{r}\n" for a, b, c, r in RATES)


# -- expected values ----------------------------------------------------------------------------
def rate_on(day: dt.date, src: str, dst: str) -> Decimal | None:
    """The latest rate dated on or before ``day``: the pair's, or the inverse pair's as
    1/rate to 18 places; on one date the pair's own rate first."""
    if src == dst:
        return D(1)
    found = []
    for when, a, b, rate in RATES:
        if when <= day and (a, b) == (src, dst):
            found.append((when, 1, rate))
        elif when <= day and (a, b) == (dst, src):
            found.append((when, 0, (D(1) / rate).quantize(D("1e-18"), ROUND_HALF_EVEN)))
    return max(found)[2] if found else None


def team_of(r: Row) -> str:
    return r.team if r.team in TEAMS else "unallocated"


def expect(
    key: Callable[[Row], Any], target: str, rows: list[Row] = ROWS, factor: int = 1
) -> dict[Any, Decimal]:
    """Per key: each (key, charge day, billing currency) sum converted at that day's rate and
    rounded half away from zero to 10 decimals, then summed."""
    parts: dict[tuple[Any, dt.date, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        parts[(key(r), r.day, r.currency)] += r.amount * factor
    out: dict[Any, Decimal] = defaultdict(Decimal)
    for (k, day, currency), amount in parts.items():
        rate = rate_on(day, currency, target)
        assert rate is not None, (day, currency, target)
        out[k] += (amount * rate).quantize(D("1e-10"), rounding=ROUND_HALF_UP)
    return dict(out)


def as_dict(page: q.Page) -> dict[Any, Decimal]:
    """Rows keyed by every column before ``currency``; all must be in the one currency."""
    assert {row[-2] for row in page.rows} <= {"USD", "EUR"} and len({r[-2] for r in page.rows}) <= 1
    return {row[:-2] if len(row) > 3 else row[0]: row[-1] for row in page.rows}


# (request, key of a row, rows it selects, metric factor)
REQUESTS: list[tuple[dict[str, Any], Callable[[Row], Any], Callable[[Row], bool], int]] = [
    ({"group_by": ["service"]}, lambda r: r.service, lambda r: True, 1),
    (
        {"group_by": ["service"], "granularity": "day"},
        lambda r: (r.service, f"{r.day:%Y-%m-%d}"),
        lambda r: True,
        1,
    ),
    ({"group_by": ["team", "month"]}, lambda r: (team_of(r), f"{r.day:%Y-%m}"), lambda r: True, 1),
    (
        {"group_by": ["account"], "metric": "list", "start": "2024-09-01", "end": "2024-10-01"},
        lambda r: "sub-1",
        lambda r: d(9, 1) <= r.day < d(10, 1),
        2,  # the bill's list cost is twice its cost
    ),
    (
        {"group_by": ["month"], "filters": {"currency": ["EUR", "GBP"]}},
        lambda r: f"{r.day:%Y-%m}",
        lambda r: r.currency != "USD",
        1,
    ),
]


# -- workspaces ---------------------------------------------------------------------------------
def build(root: Path, rows: list[Row] = ROWS, *, rates: str | None = RATES_CSV) -> Workspace:
    ws = Workspace.init(root)
    files = []
    for currency in sorted({r.currency for r in rows}):
        path = ws.root / f"bill-{currency}.csv"
        write_focus_csv(path, [r.focus() for r in rows if r.currency == currency], ALLOC_COLUMNS)
        files.append(path)
    report = ws.ingest(files)
    assert not report.failed, [o.message for o in report.failed]
    ws.owners_path.write_text(yaml.safe_dump(owners_doc(), sort_keys=False))
    write_rules(ws, team_tag_rules())
    for month in sorted({f"{r.day:%Y-%m}" for r in rows}):
        ws.allocate(month)
    if rates is not None:
        ws.fx_rates_path.write_text(rates)
        ws.load_fx_rates()
    return ws


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Ingested, allocated, rates loaded; never gets a mart."""
    return build(tmp_path_factory.mktemp("fx") / "ws")


@pytest.fixture
def con(built: Workspace) -> Iterator[Any]:
    with built.warehouse() as wh:
        yield wh.con


# -- conversion on the base tables --------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "key", "which", "factor"), REQUESTS)
def test_each_day_converts_at_its_rate(
    con: Any,
    kwargs: dict[str, Any],
    key: Callable[[Row], Any],
    which: Callable[[Row], bool],
    factor: int,
) -> None:
    page = q.costs(con, scope=ALL, currency="USD", **kwargs)
    want = expect(key, "USD", [r for r in ROWS if which(r)], factor)
    assert as_dict(page) == want
    assert page.columns[-2:] == ["currency", "cost"]
    assert {row[-2] for row in page.rows} == {"USD"}
    assert page.totals == {"USD": sum(want.values())}
    assert page.total == len(want)
    assert page.source == ("allocated_cost" if "team" in kwargs["group_by"] else "cost")
    assert all(isinstance(row[-1], Decimal) for row in page.rows)
    assert all(row[-1] == row[-1].quantize(D("1e-10")) for row in page.rows)


def test_the_notes_name_the_rates_and_days_used(con: Any) -> None:
    page = q.costs(con, scope=ALL, currency="USD", group_by=["service"])
    eur, gbp = page.notes
    assert eur.startswith(
        "converted from EUR to USD at the fx_rates rate in effect on each charge day"
    )
    assert "1.1 dated 2024-08-01 (charge days 2024-08-31)" in eur
    assert "1.0823 dated 2024-09-01 (charge days 2024-09-01)" in eur
    assert (
        "1/0.9 (the USD→EUR rate, inverted) dated 2024-09-15 (charge days 2024-09-15 to 2024-09-16)"
        in eur
    )
    assert "1/0.79 (the USD→GBP rate, inverted) dated 2024-09-01 (charge days 2024-09-03)" in gbp
    assert "1.3 dated 2024-10-01 (charge days 2024-10-02)" in gbp


def test_a_tie_rounds_away_from_zero_per_day(con: Any) -> None:
    # 0.0000000005 EUR x 1/0.9 = 0.000000000555...: 0.0000000006 USD on its own day
    page = q.costs(con, scope=ALL, currency="USD", start="2024-09-16", end="2024-09-17")
    assert page.rows == [("USD", D("0.0000000006"))]


def test_display_in_eur_inverts_and_a_missing_pair_is_named(con: Any) -> None:
    usd = q.costs(con, scope=ALL, currency="EUR", group_by=["day"], filters={"currency": ["USD"]})
    assert as_dict(usd) == expect(
        lambda r: f"{r.day:%Y-%m-%d}", "EUR", [r for r in ROWS if r.currency == "USD"]
    )
    # 2024-08-31: 1/1.1 (inverse of EUR→USD); 2024-09-02: 1/1.0823
    assert usd.rows[0] == (
        "2024-08-31",
        "EUR",
        (D(40) * D("0.909090909090909091")).quantize(D("1e-10")),
    )
    with pytest.raises(ConfigError) as err:  # no GBP↔EUR rate: no cross rate through USD
        q.costs(con, scope=ALL, currency="EUR")
    assert err.value.key == "currency"
    assert "no exchange rate GBP→EUR for 2024-09-03, the first charge day without one" in str(
        err.value
    )
    assert err.value.hint and "2024-09-01,GBP,EUR,RATE" in err.value.hint


def test_a_day_before_the_first_rate_is_an_error_naming_it(con: Any) -> None:
    with pytest.raises(ConfigError) as err:
        q.costs(con, scope=ALL, currency="JPY")
    text = str(err.value)
    assert "no exchange rate EUR→JPY for 2024-08-31" in text  # USD also lacks one, same day
    assert "add a rate dated 2024-08-31 or earlier" in text and "costline fx load" in text
    # the days selected decide which rates are needed: USD→GBP starts on 2024-09-01
    usd = {"currency": ["USD"]}
    with pytest.raises(ConfigError, match="no exchange rate USD→GBP for 2024-08-31"):
        q.costs(con, scope=ALL, currency="GBP", filters=usd)
    page = q.costs(con, scope=ALL, currency="GBP", filters=usd, start="2024-09-01")
    assert page.rows == [("GBP", (D("12.3456789012") * D("0.79")).quantize(D("1e-10")))]
    assert q.costs(con, scope=ALL, currency="GBP", filters=usd, start="2024-09-03").rows == []


def test_without_currency_or_in_the_billing_currency_nothing_converts(con: Any) -> None:
    plain = q.costs(con, scope=ALL)
    billed: dict[str, Decimal] = defaultdict(Decimal)
    for r in ROWS:
        billed[r.currency] += r.amount
    assert {row[0]: row[1] for row in plain.rows} == billed
    assert plain.totals == billed and plain.notes == ()
    same = q.costs(con, scope=ALL, currency="GBP", filters={"currency": ["GBP"]})
    assert same.rows == [("GBP", billed["GBP"])] and same.notes == ()


def test_a_store_without_rates_says_how_to_load_them(tmp_path: Path) -> None:
    ws = build(tmp_path / "bare", [r for r in ROWS if r.currency == "EUR"], rates=None)
    with ws.warehouse(read_only=True) as wh:
        assert q.costs(wh.con, scope=ALL, currency="EUR").rows == [
            ("EUR", sum(r.amount for r in ROWS if r.currency == "EUR"))
        ]
        with pytest.raises(ConfigError, match="no exchange rate EUR→USD for 2024-08-31") as err:
            q.costs(wh.con, scope=ALL, currency="USD")
    assert err.value.hint and "fx-rates.csv" in err.value.hint


# -- the mart -----------------------------------------------------------------------------------
def test_the_mart_converts_like_the_base_tables(tmp_path: Path) -> None:
    ws = build(tmp_path / "mart")
    team = Scope.of_teams(["web"])
    asks = [(ALL, kw) for kw, *_ in REQUESTS] + [(team, {"group_by": ["service", "day"]})]
    with ws.warehouse() as wh:
        before = [q.costs(wh.con, scope=s, currency="USD", **kw) for s, kw in asks]
        assert q.refresh_marts(wh.con).rows > 0
        after = [q.costs(wh.con, scope=s, currency="USD", **kw) for s, kw in asks]
    for (_, kwargs), base, mart in zip(asks, before, after, strict=True):
        assert base.source in ("cost", "allocated_cost") and mart.source == "mart_daily"
        assert (mart.rows, mart.total, mart.totals, mart.notes) == (
            base.rows,
            base.total,
            base.totals,
            base.notes,
        ), kwargs
    # and the team member's answer is their rows only, converted
    mine = [r for r in ROWS if team_of(r) == "web"]
    assert as_dict(after[-1]) == expect(lambda r: (r.service, f"{r.day:%Y-%m-%d}"), "USD", mine)


# -- CLI ----------------------------------------------------------------------------------------
runner = CliRunner()

ECB = """\
Date,USD,JPY,GBP,
2024-09-13,1.1075,156.17,0.84363,
2024-09-12,1.1023,N/A,0.84125,
"""


def test_cli_fx_load_and_list(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "cli")
    ws.fx_rates_path.write_text(RATES_CSV)
    ecb = tmp_path / "eurofxref-hist.csv"
    ecb.write_text(ECB)
    got = runner.invoke(app, ["-w", str(ws.root), "fx", "load", "--format", "json"])
    assert got.exit_code == 0, got.output
    both = runner.invoke(
        app, ["-w", str(ws.root), "fx", "load", str(ws.fx_rates_path), "--ecb", str(ecb)]
    )
    assert both.exit_code == 0, both.output
    assert "11 rates loaded" in both.output
    listed = runner.invoke(app, ["-w", str(ws.root), "fx", "list", "-c", "GBP", "-f", "csv"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()
    assert lines[0] == "date,from,to,rate,file,row"
    assert [ln.split(",")[:4] for ln in lines[1:]] == [
        ["2024-09-12", "EUR", "GBP", "0.84125"],
        ["2024-09-13", "EUR", "GBP", "0.84363"],
        ["2024-10-01", "GBP", "USD", "1.3"],
        ["2024-09-01", "USD", "GBP", "0.79"],
        ["2024-10-01", "USD", "GBP", "0.5"],
    ]
    table = runner.invoke(app, ["-w", str(ws.root), "fx", "list"])
    assert "1.0823" in table.output and "156.17" in table.output


def test_cli_fx_load_refuses_a_bad_file_and_keeps_the_rates(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "cli")
    ws.fx_rates_path.write_text(RATES_CSV)
    assert runner.invoke(app, ["-w", str(ws.root), "fx", "load"]).exit_code == 0
    before = ws.fx_rates().rows
    bad = tmp_path / "bad.csv"
    bad.write_text(RATES_CSV + "2024-11-01,GBP,USD,-1.2\n")
    got = runner.invoke(app, ["-w", str(ws.root), "fx", "load", str(bad)])
    assert got.exit_code != 0
    assert isinstance(got.exception, BadInputError)
    assert str(got.exception).startswith(f"{bad}, row 7, column 'rate', value '-1.2'")
    assert ws.fx_rates().rows == before
    missing = runner.invoke(
        app, ["-w", str(ws.root), "fx", "load", "--ecb", str(tmp_path / "no.csv")]
    )
    assert isinstance(missing.exception, BadInputError) and "file not found" in str(
        missing.exception
    )
    assert ws.fx_rates().rows == before


# -- API ----------------------------------------------------------------------------------------
def test_api_costs_in_a_display_currency(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from costline.server import build as build_server

    with state_database("sqlite", tmp_path) as url:
        monkeypatch.setenv("COSTLINE_STATE_URL", url.render_as_string(hide_password=False))
        ws = build(tmp_path / "api")
        with build_server(ws, secure_cookies=False) as svc:
            _, token = svc.store.add_user("fin", "finance", [])
            headers = {"Authorization": f"Bearer {token}"}
            with TestClient(svc.app) as client:
                got = client.get(
                    "/api/v1/costs",
                    params={"group_by": "service,month", "currency": "USD"},
                    headers=headers,
                )
                missing = client.get("/api/v1/costs", params={"currency": "EUR"}, headers=headers)
    assert got.status_code == 200, got.text
    body = got.json()
    want = expect(lambda r: (r.service, f"{r.day:%Y-%m}"), "USD")
    assert {(r["service"], r["month"]): D(str(r["cost"])) for r in body["rows"]} == want
    assert {r["currency"] for r in body["rows"]} == {"USD"}
    assert {k: D(str(v)) for k, v in body["totals"].items()} == {"USD": sum(want.values())}
    assert [n.split(" at ")[0] for n in body["notes"]] == [
        "converted from EUR to USD",
        "converted from GBP to USD",
    ]
    assert missing.status_code == 400, missing.text
    err = missing.json()["error"]
    assert "no exchange rate GBP→EUR for 2024-09-03" in err["message"]
    assert "costline fx load" in err["hint"]

"""Chargeback statements: totals, rounding, currencies, meta and injection safety per format.

Expected figures are computed here from the input rows with the stdlib (round each line's
direct and shared half-even to the cent, then add), never with the module's own helpers.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import zipfile
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast

import duckdb
import openpyxl
import pytest

from costline.core.errors import CostlineError
from costline.reports.allocation import chargeback_sql
from costline.reports.statements import Format, add_names, build_statement, write_statement

COLUMNS = [
    "month",
    "cost_center",
    "business_unit",
    "department",
    "team",
    "currency",
    "direct",
    "shared",
    "total",
]
INJECTION = "=cmd|' /C calc'!A0"
SCRIPT = "<script>alert(1)</script>"
META = {
    "workspace": '=HYPERLINK("http://evil","x")',
    "period": "2026-10",
    "basis": "EffectiveCost",
    "rules_version": "r-3f9a2c",
    "run_id": "run-0042",
    "generated_at": "2026-11-02 08:00 UTC",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
D = Decimal


def cents(x: Decimal) -> Decimal:
    return x.quantize(D("0.01"), rounding=ROUND_HALF_EVEN)


def row(cc: str, team: str, cur: str, direct: str, shared: str, **kw: Any) -> tuple[Any, ...]:
    d, s = D(direct), D(shared)
    return (
        kw.get("month", "2026-10"),
        cc,
        kw.get("bu", "Digital"),
        kw.get("dept", "Web"),
        team,
        cur,
        d,
        s,
        d + s,
    )


# A hand-checked statement: CC-1 has two USD teams and one EUR team, CC-2 one USD team.
HAND_ROWS = [
    row("CC-1", "web", "USD", "10.0050000000", "1.0040000000"),  # 10.00 + 1.00 = 11.00
    row("CC-1", INJECTION, "USD", "5.1250000000", "0"),  # 5.12 (half-even) + 0.00 = 5.12
    row("CC-1", SCRIPT, "EUR", "3.3333333333", "0.0049999999"),  # 3.33 + 0.00 = 3.33
    row("CC-2", "api", "USD", "-0.0010000000", "2.0150000000"),  # 0.00 + 2.02 = 2.02
]
# CC-1 USD: 11.00 + 5.12 = 16.12; CC-1 EUR: 3.33; CC-2 USD: 2.02
# grand USD = 16.12 + 2.02 = 18.14 (never + 3.33 EUR); grand EUR = 3.33
HAND_SUBTOTALS = {
    ("CC-1", "USD"): D("16.12"),
    ("CC-1", "EUR"): D("3.33"),
    ("CC-2", "USD"): D("2.02"),
}
HAND_GRAND = {"USD": D("18.14"), "EUR": D("3.33")}


def random_rows(seed: int = 7, n: int = 60) -> list[tuple[Any, ...]]:
    """Many teams over 5 cost centers and 3 currencies; amounts with 10 decimals, some credits."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        direct = D(rng.randrange(-(10**11), 10**15)) / D(10**10)
        shared = D(rng.randrange(0, 10**13)) / D(10**10)
        team = INJECTION if i == 3 else f"team-{i}"
        rows.append(
            row(
                f"CC-{rng.randrange(5)}",
                team,
                rng.choice(["USD", "EUR", "JPY"]),
                str(direct),
                str(shared),
            )
        )
    return rows


def expected_totals(
    rows: list[tuple[Any, ...]],
) -> tuple[dict[tuple[str, str], Decimal], dict[str, Decimal], dict[str, Decimal]]:
    """(cost center, currency) → Σ rounded lines; currency → Σ rounded lines; currency → exact Σ."""
    sub: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    grand: dict[str, Decimal] = defaultdict(Decimal)
    exact: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        line = cents(r[6]) + cents(r[7])
        sub[(r[1], r[5])] += line
        grand[r[5]] += line
        exact[r[5]] += r[8]
    return dict(sub), dict(grand), dict(exact)


# -- readers -----------------------------------------------------------------------------------
def read_csv(path: Path) -> tuple[list[list[str]], list[dict[str, str]]]:
    """(header block rows, detail table as dicts)."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV carries a UTF-8 BOM so Excel reads accents"
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    blank = rows.index([])
    return rows[:blank], [dict(zip(rows[blank + 1], r, strict=True)) for r in rows[blank + 2 :]]


def xlsx_table(ws: Any, first: str) -> list[dict[str, Any]]:
    """The table of a sheet whose header row starts with ``first`` (until a blank row)."""
    rows = list(ws.iter_rows(values_only=True))
    top = next(i for i, r in enumerate(rows) if r[0] == first)
    header = [h for h in rows[top] if h is not None]
    out = []
    for r in rows[top + 1 :]:
        if r[0] is None:
            break
        out.append(dict(zip(header, r[: len(header)], strict=True)))
    return out


class Tables(HTMLParser):
    """Collects <dl> pairs, tables as (row class, [cell text]) and every start tag seen."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.tables: list[list[tuple[str, list[str]]]] = []
        self.meta: list[str] = []
        self._cell: list[str] | None = None
        self._in_dl = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append((dict(attrs).get("class") or "head", []))
        elif tag in ("td", "th", "dt", "dd"):
            self._cell = []
        self._in_dl = self._in_dl or tag == "dl"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1][1].append("".join(self._cell))
        elif tag in ("dt", "dd") and self._cell is not None:
            self.meta.append("".join(self._cell))
        if tag in ("td", "th", "dt", "dd"):
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def read_html(path: Path) -> Tables:
    parser = Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def html_records(table: list[tuple[str, list[str]]]) -> list[tuple[str, dict[str, str]]]:
    header = table[0][1]
    return [(cls, dict(zip(header, cells, strict=True))) for cls, cells in table[1:]]


def money(text: str) -> Decimal:
    return D(text.replace(",", ""))


# -- totals per format -------------------------------------------------------------------------
def totals_from_csv(path: Path) -> tuple[dict[tuple[str, str], Decimal], dict[str, Decimal]]:
    _, detail = read_csv(path)
    sub = {
        (r["Cost center"], r["Currency"]): D(r["Total"])
        for r in detail
        if r["Line"] == "Cost center total"
    }
    grand = {r["Currency"]: D(r["Total"]) for r in detail if r["Line"] == "Grand total"}
    return sub, grand


def totals_from_xlsx(path: Path) -> tuple[dict[tuple[str, str], Decimal], dict[str, Decimal]]:
    wb = openpyxl.load_workbook(path)
    detail = xlsx_table(wb["Detail"], "Line")
    sub = {
        (r["Cost center"], r["Currency"]): D(str(r["Total"]))
        for r in detail
        if r["Line"] == "Cost center total"
    }
    grand = {r["Currency"]: D(str(r["Total"])) for r in detail if r["Line"] == "Grand total"}
    # The Summary sheet carries the same figures, one line per cost center and currency.
    summary = xlsx_table(wb["Summary"], "Month")
    assert {
        (r["Cost center"], r["Currency"]): D(str(r["Total"]))
        for r in summary
        if r["Cost center"] != "Grand total"
    } == sub
    assert {
        r["Currency"]: D(str(r["Total"])) for r in summary if r["Cost center"] == "Grand total"
    } == grand
    return sub, grand


def totals_from_html(path: Path) -> tuple[dict[tuple[str, str], Decimal], dict[str, Decimal]]:
    page = read_html(path)
    summary, detail = html_records(page.tables[0]), html_records(page.tables[1])
    sub = {
        (r["Cost center"], r["Currency"]): money(r["Total"]) for c, r in detail if c == "subtotal"
    }
    grand = {r["Currency"]: money(r["Total"]) for c, r in detail if c == "grand"}
    assert {
        (r["Cost center"], r["Currency"]): money(r["Total"]) for c, r in summary if c == "subtotal"
    } == sub
    assert {r["Currency"]: money(r["Total"]) for c, r in summary if c == "grand"} == grand
    return sub, grand


READERS: dict[str, Any] = {
    "csv": totals_from_csv,
    "xlsx": totals_from_xlsx,
    "html": totals_from_html,
}


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "html"])
def test_hand_computed_totals(tmp_path: Path, fmt: Format) -> None:
    path = write_statement(
        COLUMNS, HAND_ROWS, tmp_path / f"s.{fmt}", fmt=fmt, title="Chargeback 2026-10", meta=META
    )
    sub, grand = READERS[fmt](path)
    assert sub == HAND_SUBTOTALS
    assert grand == HAND_GRAND


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "html"])
def test_totals_equal_sums_of_rounded_input_rows(tmp_path: Path, fmt: Format) -> None:
    rows = random_rows()
    exp_sub, exp_grand, _ = expected_totals(rows)
    path = write_statement(COLUMNS, rows, tmp_path / f"s.{fmt}", fmt=fmt, title="t", meta=META)
    sub, grand = READERS[fmt](path)
    assert sub == exp_sub
    assert grand == exp_grand
    assert set(grand) == {"USD", "EUR", "JPY"}


def test_every_line_cross_foots_and_totals_foot() -> None:
    st = build_statement(COLUMNS, random_rows(seed=11), title="t", meta={})
    team_lines = [x for x in st.detail if x.kind == "team"]
    for line in st.detail:
        assert line.direct + line.shared == line.total
        assert line.total == cents(line.total)  # stored already in cents
    for sub in (x for x in st.detail if x.kind == "subtotal"):
        members = [
            x for x in team_lines if (x.cost_center, x.currency) == (sub.cost_center, sub.currency)
        ]
        assert sub.direct == sum(x.direct for x in members)
        assert sub.shared == sum(x.shared for x in members)


def test_currencies_are_never_added() -> None:
    st = build_statement(COLUMNS, HAND_ROWS, title="t", meta={})
    grands = [x for x in st.detail if x.kind == "grand"]
    assert [(g.currency, g.total) for g in grands] == [("USD", D("18.14")), ("EUR", D("3.33"))]
    # CC-1 holds USD and EUR: two subtotals, not one of 16.12 + 3.33
    cc1 = [(x.currency, x.total) for x in st.summary if x.cost_center == "CC-1"]
    assert cc1 == [("USD", D("16.12")), ("EUR", D("3.33"))]


def test_reconciliation_states_the_rounding_difference(tmp_path: Path) -> None:
    rows = random_rows(seed=3)
    _, grand, exact = expected_totals(rows)
    st = build_statement(COLUMNS, rows, title="t", meta={})
    recon = {r.currency: r for r in st.reconciliation}
    for cur, r in recon.items():
        assert r.exact == exact[cur]
        assert r.statement == grand[cur]
        assert r.difference == grand[cur] - exact[cur]
        n = sum(1 for x in rows if x[5] == cur)
        assert abs(r.difference) <= D("0.01") * n  # ≤ half a cent per amount, two per line
    header, _ = read_csv(
        write_statement(COLUMNS, rows, tmp_path / "s.csv", fmt="csv", title="t", meta={})
    )
    block = {r[0]: r[1] for r in header if len(r) == 2}
    assert D(block["Exact allocated total 2026-10 USD"]) == exact["USD"]
    assert D(block["Rounding difference 2026-10 USD"]) == grand["USD"] - exact["USD"]


# -- injection and escaping --------------------------------------------------------------------
NASTY = [
    row("CC-1", INJECTION, "USD", "1", "0", bu="+1+1", dept="@SUM(A1)"),
    row("CC-1", "\tTAB", "USD", "1", "0", bu="-2+3", dept="\rCR"),
    row("CC-2", SCRIPT, "USD", "-3.10", "0", bu='"><img src=x onerror=alert(1)>'),
]


def test_csv_neutralises_formulas(tmp_path: Path) -> None:
    path = write_statement(COLUMNS, NASTY, tmp_path / "s.csv", fmt="csv", title="=title", meta=META)
    header, detail = read_csv(path)
    cells = [c for r in header for c in r] + [c for r in detail for c in r.values()]
    for cell in cells:
        if cell.startswith(FORMULA_START):
            D(cell)  # only plain numbers (credits such as -3.10) may start with "-"
    assert detail[0]["Team"] == "'" + INJECTION
    assert detail[0]["Business unit"] == "'+1+1"
    assert detail[0]["Department"] == "'@SUM(A1)"
    assert detail[1]["Team"] == "'\tTAB"
    assert detail[1]["Business unit"] == "'-2+3"
    assert ["Workspace", "'" + META["workspace"]] in header
    assert header[0] == ["'=title"]


def test_xlsx_neutralises_formulas(tmp_path: Path) -> None:
    path = write_statement(
        COLUMNS, NASTY, tmp_path / "s.xlsx", fmt="xlsx", title="=title", meta=META
    )
    with zipfile.ZipFile(path) as z:
        sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == 2
    assert not any(b"<f>" in s or b"<f " in s for s in sheets), "no cell may be a formula"
    wb = openpyxl.load_workbook(path)
    for ws in wb:
        for r in ws.iter_rows():
            for cell in r:
                assert cell.data_type != "f"
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
                    D(cell.value)  # only exact figures kept as text, such as "-1.1000000000"
    detail = xlsx_table(wb["Detail"], "Line")
    assert detail[0]["Team"] == "'" + INJECTION
    assert detail[1]["Business unit"] == "'-2+3"
    assert detail[3]["Team"] == SCRIPT
    assert detail[3]["Total"] == -3.1  # a credit stays a number


def test_xlsx_replaces_characters_xml_cannot_hold(tmp_path: Path) -> None:
    rows = [row("CC-1", "a\x01b\x1fc", "USD", "1", "0")]
    path = write_statement(COLUMNS, rows, tmp_path / "s.xlsx", fmt="xlsx", title="t", meta={})
    detail = xlsx_table(openpyxl.load_workbook(path)["Detail"], "Line")
    assert detail[0]["Team"] == "a\ufffdb\ufffdc"


def test_html_escapes_everything(tmp_path: Path) -> None:
    meta = {**META, "workspace": "<b>acme</b>"}
    path = write_statement(
        COLUMNS, NASTY, tmp_path / "s.html", fmt="html", title="<i>t</i>", meta=meta
    )
    source = path.read_text(encoding="utf-8")
    page = read_html(path)
    assert "script" not in page.tags and "img" not in page.tags and "b" not in page.tags
    assert "i" not in page.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source
    assert "Content-Security-Policy" in source and "default-src" in source
    detail = html_records(page.tables[1])
    teams = [r["Team"] for c, r in detail if c == "team"]
    assert teams == [INJECTION, "\tTAB", SCRIPT]  # shown as text, not neutralised with a quote
    units = [r["Business unit"] for c, r in detail if c == "team"]
    assert units[2] == '"><img src=x onerror=alert(1)>'
    assert "<b>acme</b>" in page.meta


# -- header ------------------------------------------------------------------------------------
EXPECTED_META = [
    ("Period", "2026-10"),
    ("Cost basis", "EffectiveCost (amortized: commitments spread over the period)"),
    ("Rules version", "r-3f9a2c"),
    ("Allocation run", "run-0042"),
    ("Generated at", "2026-11-02 08:00 UTC"),
]


def test_meta_in_every_format(tmp_path: Path) -> None:
    meta = {**META, "workspace": "acme"}
    csv_path = write_statement(
        COLUMNS, HAND_ROWS, tmp_path / "s.csv", fmt="csv", title="Chargeback 2026-10", meta=meta
    )
    header, _ = read_csv(csv_path)
    assert header[0] == ["Chargeback 2026-10"]
    assert header[1:7] == [["Workspace", "acme"], *[list(p) for p in EXPECTED_META]]

    xlsx = write_statement(
        COLUMNS, HAND_ROWS, tmp_path / "s.xlsx", fmt="xlsx", title="Chargeback 2026-10", meta=meta
    )
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["Summary", "Detail"]
    for ws in wb:
        top = [r[:2] for r in ws.iter_rows(min_row=1, max_row=7, values_only=True)]
        assert top[0] == ("Chargeback 2026-10", None)
        assert top[1:7] == [("Workspace", "acme"), *EXPECTED_META]

    page = read_html(
        write_statement(
            COLUMNS,
            HAND_ROWS,
            tmp_path / "s.html",
            fmt="html",
            title="Chargeback 2026-10",
            meta=meta,
        )
    )
    pairs = list(zip(page.meta[::2], page.meta[1::2], strict=True))
    assert pairs == [("Workspace", "acme"), *EXPECTED_META]


def test_generated_at_defaults_to_now_and_none_values_are_dropped() -> None:
    now = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
    st = build_statement(
        COLUMNS, HAND_ROWS, title="t", meta={"workspace": None, "period": "2026-10"}, now=now
    )
    assert st.meta == [("Period", "2026-10"), ("Generated at", "2026-11-02 08:00 UTC")]


def test_xlsx_amounts_are_cents_with_a_currency_format(tmp_path: Path) -> None:
    path = write_statement(COLUMNS, HAND_ROWS, tmp_path / "s.xlsx", fmt="xlsx", title="t", meta={})
    ws = openpyxl.load_workbook(path)["Detail"]
    amounts = [c for r in ws.iter_rows() for c in r if isinstance(c.value, int | float)]
    assert amounts
    for cell in amounts:
        assert D(str(cell.value)) == cents(D(str(cell.value)))  # no hidden fractions of a cent
        assert "0.00" in cell.number_format
    by_currency = {c.number_format for c in amounts}
    assert by_currency == {
        '#,##0.00 "USD";-#,##0.00 "USD";0.00 "USD"',
        '#,##0.00 "EUR";-#,##0.00 "EUR";0.00 "EUR"',
    }


# -- names -------------------------------------------------------------------------------------
def test_names_replace_team_ids_and_label_cost_centers(tmp_path: Path) -> None:
    cols, rows = add_names(
        COLUMNS,
        HAND_ROWS,
        teams={"web": "Web Shop", "api": "Public API"},
        cost_centers={"CC-1": "Digital Sales"},
    )
    path = write_statement(cols, rows, tmp_path / "s.csv", fmt="csv", title="t", meta={})
    _, detail = read_csv(path)
    teams = [
        (r["Cost center"], r["Cost center name"], r["Team"]) for r in detail if r["Line"] == "Team"
    ]
    assert teams == [
        ("CC-1", "Digital Sales", "Web Shop"),
        ("CC-1", "Digital Sales", "'" + INJECTION),  # no name: the id, still neutralised
        ("CC-1", "Digital Sales", SCRIPT),
        ("CC-2", "", "Public API"),
    ]


def test_accented_names_survive_csv(tmp_path: Path) -> None:
    rows = [row("CC-1", "Équipe données", "EUR", "1", "0")]
    _, detail = read_csv(
        write_statement(COLUMNS, rows, tmp_path / "s.csv", fmt="csv", title="t", meta={})
    )
    assert detail[0]["Team"] == "Équipe données"


# -- bad input ---------------------------------------------------------------------------------
def test_missing_column_is_refused() -> None:
    with pytest.raises(CostlineError, match="lack column.*currency"):
        build_statement([c for c in COLUMNS if c != "currency"], [], title="t", meta={})


def test_float_amounts_are_refused() -> None:
    bad = [("2026-10", "CC-1", "b", "d", "t", "USD", 0.1, D(0), D("0.1"))]
    with pytest.raises(CostlineError, match="not an exact amount"):
        build_statement(COLUMNS, bad, title="t", meta={})


def test_total_must_be_direct_plus_shared() -> None:
    bad = [("2026-10", "CC-1", "b", "d", "t", "USD", D(1), D(1), D(3))]
    with pytest.raises(CostlineError, match="not direct \\+ shared"):
        build_statement(COLUMNS, bad, title="t", meta={})


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CostlineError, match="unknown statement format 'pdf'"):
        write_statement(
            COLUMNS, HAND_ROWS, tmp_path / "s.pdf", fmt=cast(Any, "pdf"), title="t", meta={}
        )


def test_a_failed_write_keeps_the_previous_statement(tmp_path: Path) -> None:
    path = tmp_path / "s.xlsx"
    write_statement(COLUMNS, HAND_ROWS, path, fmt="xlsx", title="t", meta={})
    before = path.read_bytes()
    bad = [("2026-10", "CC-1", "b", "d", "t", "USD", D(1), D(1), D(3))]
    with pytest.raises(CostlineError):
        write_statement(COLUMNS, bad, path, fmt="xlsx", title="t", meta={})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.xlsx"]  # no temp file left


def test_empty_period_writes_an_empty_statement(tmp_path: Path) -> None:
    path = write_statement(COLUMNS, [], tmp_path / "s.xlsx", fmt="xlsx", title="t", meta={})
    assert xlsx_table(openpyxl.load_workbook(path)["Detail"], "Line") == []


# -- with the real chargeback query ------------------------------------------------------------
def test_statement_of_real_chargeback_rows(tmp_path: Path) -> None:
    """Rows straight from DuckDB (DECIMAL(38,10) → Decimal) through chargeback_sql."""
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE allocation_facts (BillingPeriodStart TIMESTAMP, x_CostCenter VARCHAR,
        x_BusinessUnit VARCHAR, x_Department VARCHAR, x_Team VARCHAR, BillingCurrency VARCHAR,
        x_RuleId VARCHAR, EffectiveCost DECIMAL(38,10), BilledCost DECIMAL(38,10))"""
    )
    parts = [
        ("CC-1", "web", "USD", "team-tag", "10.0050000000"),
        ("CC-1", "web", "USD", "pool:support", "0.3333333333"),
        ("CC-1", INJECTION, "USD", "team-tag", "5.1250000000"),
        ("CC-2", "api", "EUR", "pool:network", "7.0049999999"),
        (None, "unallocated", "USD", "default", "1.0000000001"),
    ]
    con.executemany(
        "INSERT INTO allocation_facts VALUES (TIMESTAMP '2026-10-01', ?, 'Digital', 'Web', ?, ?, ?, ?, ?)",
        [(cc, team, cur, rule, amount, amount) for cc, team, cur, rule, amount in parts],
    )
    cur = con.execute(chargeback_sql("2026-10-01", basis="EffectiveCost"))
    columns = [d[0] for d in cur.description]
    rows = cur.fetchall()
    path = write_statement(columns, rows, tmp_path / "s.xlsx", fmt="xlsx", title="t", meta=META)
    sub, grand = totals_from_xlsx(path)
    order = [r["Cost center"] for r in xlsx_table(openpyxl.load_workbook(path)["Summary"], "Month")]
    assert order == ["CC-1", "CC-2", "(none)", "Grand total", "Grand total"]  # (none) last
    # web: direct 10.005 → 10.00, shared 0.333… → 0.33 ⇒ 10.33; injection team 5.125 → 5.12
    # CC-2: shared 7.0049999999 → 7.00; (none): 1.0000000001 → 1.00
    assert sub == {
        ("CC-1", "USD"): D("15.45"),
        ("CC-2", "EUR"): D("7.00"),
        ("(none)", "USD"): D("1.00"),
    }
    assert grand == {"USD": D("16.45"), "EUR": D("7.00")}

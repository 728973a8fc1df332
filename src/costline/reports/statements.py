"""Chargeback statements for finance: one document per month, in CSV, XLSX or HTML.

The input is the chargeback table of :func:`costline.reports.allocation.chargeback_sql` (one
row per month, cost center, team and currency with exact ``direct``, ``shared`` and ``total``
amounts). A statement turns it into what a finance user reads and posts:

* a **header**: title, workspace, period, cost basis, rules version, allocation run, time of
  generation, and the rounding rule;
* a **summary**: one line per cost center and currency (the recharge journal's lines), then a
  grand total per currency;
* a **detail** grouped by cost center: one line per team, a cost-center total after each group,
  and the grand totals per currency at the end;
* a **reconciliation**: per currency, the statement's total, the exact allocated total (10
  decimals, equal to the bill by the allocation's conservation invariant) and the difference.

Amounts of different currencies are never added: every total is keyed by currency.

**Rounding.** Each team line is rounded to the cent, half to even (:func:`costline.core.money.
quantize`), ``direct`` and ``shared`` separately, and its ``total`` is their sum, so every line
cross-foots. Every cost-center total and grand total is the sum of the lines as displayed, so
the statement foots to the cent in any spreadsheet that re-adds it. The price is a difference of
at most half a cent per line against the exact total; the reconciliation section states it
rather than hiding it in one line.

**XLSX.** Two sheets: ``Summary`` (header, summary, reconciliation) and ``Detail`` (header,
grouped detail with an auto-filter). A single grouped detail sheet rather than one sheet per
cost center, because a company has hundreds of cost centers, sheet names are limited to 31
characters, and finance filters one table by cost center far more easily than it navigates
hundreds of tabs. Amounts are stored as numbers already rounded to cents with a 2-decimal
currency number format, not as 10-decimal values merely *displayed* with 2: Excel holds
numbers as binary floats, and a cell that shows 0.01 while holding 0.0149999 makes the sum
Excel computes differ from the sum the statement prints. Cents are exact in a float up to
about 10^13, so what is stored is what is shown. Totals are values computed in Decimal, not
``=SUM()`` formulas, so they are exact and readable without recalculation.

**Safety.** Names and tag values are user-controlled. In CSV and XLSX every text cell passes
through :func:`costline.core.text.csv_safe` (a formula such as ``=cmd|...`` gets a leading
quote), and XLSX cells are always stored as text, never as formulas; characters XML cannot hold
become U+FFFD. HTML escapes every value and forbids scripts with a Content-Security-Policy.

Example:
    >>> from decimal import Decimal as D
    >>> cols = ["month", "cost_center", "business_unit", "department", "team", "currency",
    ...         "direct", "shared", "total"]
    >>> rows = [("2026-10", "CC-1", "Digital", "Web", "web", "USD",
    ...          D("10.005"), D("1.004"), D("11.009"))]
    >>> st = build_statement(cols, rows, title="Chargeback 2026-10", meta={"period": "2026-10"})
    >>> [(line.kind, line.total) for line in st.detail]
    [('team', Decimal('11.00')), ('subtotal', Decimal('11.00')), ('grand', Decimal('11.00'))]
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from costline.core.errors import CostlineError
from costline.core.money import quantize, to_money
from costline.core.text import csv_safe

Format = Literal["csv", "xlsx", "html"]
FORMATS: tuple[str, ...] = ("csv", "xlsx", "html")
REQUIRED = (
    "month",
    "cost_center",
    "business_unit",
    "department",
    "team",
    "currency",
    "direct",
    "shared",
    "total",
)
NONE = "(none)"
LABELS = {
    "workspace": "Workspace",
    "period": "Period",
    "basis": "Cost basis",
    "rules_version": "Rules version",
    "run_id": "Allocation run",
    "generated_at": "Generated at",
}
BASIS_TEXT = {
    "EffectiveCost": "EffectiveCost (amortized: commitments spread over the period)",
    "BilledCost": "BilledCost (as invoiced)",
    "ListCost": "ListCost (public list price)",
    "ContractedCost": "ContractedCost (negotiated price, before commitments)",
}
ROUNDING_NOTE = (
    "Each line is rounded to the cent (half to even), direct and shared separately; "
    "total = direct + shared. Cost-center and grand totals are sums of the lines shown. "
    "Currencies are never added together."
)
KIND_LABEL = {"team": "Team", "subtotal": "Cost center total", "grand": "Grand total"}


@dataclass(frozen=True)
class Line:
    """One displayed line: a team, a cost-center total or a grand total (amounts in cents)."""

    kind: Literal["team", "subtotal", "grand"]
    month: str
    cost_center: str
    cost_center_name: str
    business_unit: str
    department: str
    team: str
    currency: str
    direct: Decimal
    shared: Decimal
    total: Decimal


@dataclass(frozen=True)
class Reconciliation:
    """Per month and currency: the statement's total against the exact allocated total."""

    month: str
    currency: str
    statement: Decimal
    exact: Decimal

    @property
    def difference(self) -> Decimal:
        return self.statement - self.exact


@dataclass(frozen=True)
class Statement:
    """Everything a renderer needs; built once by :func:`build_statement`."""

    title: str
    meta: list[tuple[str, str]]
    summary: list[Line]
    detail: list[Line]
    reconciliation: list[Reconciliation]
    has_names: bool


# -- building (pure) --------------------------------------------------------------------------
def _text(value: Any) -> str:
    return NONE if value is None or value == "" else str(value)


def _money(value: Any, column: str) -> Decimal:
    if value is None:
        return Decimal(0)
    try:
        return to_money(value)
    except (TypeError, ValueError) as exc:
        raise CostlineError(
            f"chargeback column {column!r} holds {value!r}, not an exact amount",
            hint="pass DECIMAL values (the rows of chargeback_sql), never floats",
        ) from exc


def cents(value: Decimal) -> Decimal:
    """Round to the cent, half to even, without a negative zero.

    Example:
        >>> cents(Decimal("2.345")), cents(Decimal("-0.001"))
        (Decimal('2.34'), Decimal('0.00'))
    """
    rounded = quantize(value, 2)
    return rounded if rounded else Decimal("0.00")


def format_meta(
    meta: Mapping[str, str | None], *, now: datetime | None = None
) -> list[tuple[str, str]]:
    """Known keys first, with labels, in a fixed order; then any others; empty values dropped.

    ``generated_at`` defaults to the current UTC time; ``basis`` is spelled out.
    """
    values = {k: str(v) for k, v in meta.items() if v is not None and str(v) != ""}
    values.setdefault("generated_at", (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"))
    if "basis" in values:
        values["basis"] = BASIS_TEXT.get(values["basis"], values["basis"])
    known = [(LABELS[k], values[k]) for k in LABELS if k in values]
    extra = [(k.replace("_", " ").capitalize(), v) for k, v in values.items() if k not in LABELS]
    return known + extra


def _index(columns: Sequence[str]) -> dict[str, int]:
    index = {name: i for i, name in enumerate(columns)}
    missing = [c for c in REQUIRED if c not in index]
    if missing:
        raise CostlineError(
            f"chargeback rows lack column(s) {', '.join(missing)}",
            hint="pass the columns and rows of costline.reports.allocation.chargeback_sql",
        )
    return index


def _team_line(row: Sequence[Any], ix: dict[str, int]) -> tuple[Line, Decimal]:
    """A team line in cents, and the row's exact total (checked: total = direct + shared)."""
    direct, shared = _money(row[ix["direct"]], "direct"), _money(row[ix["shared"]], "shared")
    total = _money(row[ix["total"]], "total")
    if total != direct + shared:
        raise CostlineError(
            f"chargeback row {tuple(row)!r}: total {total} is not direct + shared",
            hint="the rows must come from chargeback_sql unchanged",
        )
    team = row[ix["team_name"]] if "team_name" in ix and row[ix["team_name"]] else row[ix["team"]]
    cc_name = row[ix["cost_center_name"]] if "cost_center_name" in ix else None
    d, s = cents(direct), cents(shared)
    line = Line(
        "team",
        _text(row[ix["month"]]),
        _text(row[ix["cost_center"]]),
        "" if cc_name is None else str(cc_name),
        _text(row[ix["business_unit"]]),
        _text(row[ix["department"]]),
        _text(team),
        _text(row[ix["currency"]]),
        d,
        s,
        d + s,
    )
    return line, total


def _total(kind: Literal["subtotal", "grand"], lines: Sequence[Line], like: Line) -> Line:
    """Sum of displayed lines (one month and currency; one cost center for a subtotal)."""
    is_sub = kind == "subtotal"
    return Line(
        kind,
        like.month,
        like.cost_center if is_sub else "",
        like.cost_center_name if is_sub else "",
        "",
        "",
        "",
        like.currency,
        sum((x.direct for x in lines), Decimal("0.00")),
        sum((x.shared for x in lines), Decimal("0.00")),
        sum((x.total for x in lines), Decimal("0.00")),
    )


def build_statement(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str,
    meta: Mapping[str, str | None],
    now: datetime | None = None,
) -> Statement:
    """Group the chargeback rows by cost center and currency, round, and total them.

    Months ascend; cost centers keep the order of the rows within a month, except that
    ``(none)`` (spend no rule assigned) comes last;
    optional ``team_name`` / ``cost_center_name`` columns (see :func:`add_names`) are shown
    instead of, or next to, the ids.

    Raises:
        CostlineError: a required column is missing, an amount is not exact, or a row's total
            is not direct + shared.
    """
    ix = _index(columns)
    groups: dict[tuple[str, str], dict[str, list[Line]]] = {}
    exact: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        line, total = _team_line(row, ix)
        groups.setdefault((line.month, line.cost_center), {}).setdefault(line.currency, [])
        groups[(line.month, line.cost_center)][line.currency].append(line)
        key = (line.month, line.currency)
        exact[key] = exact.get(key, Decimal(0)) + total
    detail: list[Line] = []
    summary: list[Line] = []
    # NOTE: spend without a cost center closes each month, whatever order the rows came in.
    order = sorted(groups, key=lambda k: (k[0], k[1] == NONE))
    for by_currency in (groups[k] for k in order):
        for lines in by_currency.values():
            subtotal = _total("subtotal", lines, lines[0])
            detail += [*lines, subtotal]
            summary.append(subtotal)
    grands = [
        _total("grand", [s for s in summary if (s.month, s.currency) == key], _like(key))
        for key in exact
    ]
    return Statement(
        title=title,
        meta=format_meta(meta, now=now),
        summary=summary + grands,
        detail=detail + grands,
        reconciliation=[
            Reconciliation(g.month, g.currency, g.total, exact[(g.month, g.currency)])
            for g in grands
        ],
        has_names=any(line.cost_center_name for line in detail),
    )


def _like(key: tuple[str, str]) -> Line:
    zero = Decimal("0.00")
    return Line("grand", key[0], "", "", "", "", "", key[1], zero, zero, zero)


def add_names(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    teams: Mapping[str, str],
    cost_centers: Mapping[str, str],
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Append ``team_name`` and ``cost_center_name`` columns from id → display-name maps.

    The maps come from ``owners.yaml`` (``Team.name``, ``CostCenter.name``); ids without a
    name stay as they are.

    Example:
        >>> add_names(["team", "cost_center"], [("web", "CC-1")], teams={"web": "Web shop"},
        ...           cost_centers={})
        (['team', 'cost_center', 'team_name', 'cost_center_name'], [('web', 'CC-1', 'Web shop', None)])
    """
    ti, ci = list(columns).index("team"), list(columns).index("cost_center")
    out = [(*row, teams.get(row[ti]), cost_centers.get(row[ci])) for row in rows]
    return [*columns, "team_name", "cost_center_name"], out


# -- table shapes shared by the renderers ------------------------------------------------------
def detail_header(st: Statement) -> list[str]:
    names = ["Cost center name"] if st.has_names else []
    return [
        "Line",
        "Month",
        "Cost center",
        *names,
        "Business unit",
        "Department",
        "Team",
        "Currency",
        "Direct",
        "Shared",
        "Total",
    ]


def detail_cells(st: Statement, line: Line) -> list[str | Decimal]:
    names = [line.cost_center_name] if st.has_names else []
    return [
        KIND_LABEL[line.kind],
        line.month,
        line.cost_center,
        *names,
        line.business_unit,
        line.department,
        line.team,
        line.currency,
        line.direct,
        line.shared,
        line.total,
    ]


def summary_header(st: Statement) -> list[str]:
    names = ["Cost center name"] if st.has_names else []
    return ["Month", "Cost center", *names, "Currency", "Direct", "Shared", "Total"]


def summary_cells(st: Statement, line: Line) -> list[str | Decimal]:
    cc = KIND_LABEL["grand"] if line.kind == "grand" else line.cost_center
    names = [line.cost_center_name] if st.has_names else []
    return [line.month, cc, *names, line.currency, line.direct, line.shared, line.total]


RECONCILIATION_HEADER = [
    "Month",
    "Currency",
    "Statement total",
    "Exact allocated total",
    "Rounding difference",
]


def reconciliation_cells(r: Reconciliation) -> list[str | Decimal]:
    """Exact figures as text: 10 decimals do not survive a spreadsheet's binary float."""
    return [r.month, r.currency, r.statement, format(r.exact, "f"), format(r.difference, "f")]


# -- CSV ---------------------------------------------------------------------------------------
def render_csv(st: Statement) -> str:
    """Header block (label, value), a blank line, then the detail table.

    The detail holds the cost-center and grand totals (column ``Line``), so one table serves
    both reading and filtering; amounts are plain numbers with 2 decimals.
    """
    buf = io.StringIO()
    out = csv.writer(buf)

    def put(cells: Sequence[str | Decimal]) -> None:
        out.writerow([format(c, "f") if isinstance(c, Decimal) else csv_safe(c) for c in cells])

    put([st.title])
    for label, value in st.meta:
        put([label, value])
    for r in st.reconciliation:
        put([f"Exact allocated total {r.month} {r.currency}", format(r.exact, "f")])
        put([f"Rounding difference {r.month} {r.currency}", format(r.difference, "f")])
    put(["Rounding", ROUNDING_NOTE])
    out.writerow([])
    put(detail_header(st))
    for line in st.detail:
        put(detail_cells(st, line))
    return buf.getvalue()


# -- entry point -------------------------------------------------------------------------------
def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write next to ``path`` then rename: a reader never sees half a statement."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_statement(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    path: Path,
    *,
    fmt: Format,
    title: str,
    meta: Mapping[str, str | None],
) -> Path:
    """Write a chargeback statement of ``rows`` (from chargeback_sql) to ``path``.

    Args:
        columns: column names of the chargeback table (optionally with ``team_name`` and
            ``cost_center_name``, see :func:`add_names`).
        rows: its rows, amounts as exact Decimals.
        path: the file to write (replaced atomically); its folder must exist.
        fmt: ``csv`` (UTF-8 with BOM so Excel reads accents), ``xlsx`` or ``html``.
        title: the statement's heading, e.g. ``Chargeback 2026-10``.
        meta: header facts; known keys ``workspace``, ``period``, ``basis``, ``rules_version``,
            ``run_id``, ``generated_at`` (default: now, UTC) are labelled and ordered.

    Returns:
        ``path``.

    Raises:
        CostlineError: unknown format, or rows that are not a chargeback table.
    """
    if fmt not in FORMATS:
        raise CostlineError(f"unknown statement format {fmt!r}", hint="use csv, xlsx or html")
    st = build_statement(columns, rows, title=title, meta=meta)
    if fmt == "xlsx":
        from costline.reports._statement_xlsx import write_xlsx

        _atomic(path, lambda p: write_xlsx(st, p))
    elif fmt == "html":
        from costline.reports._statement_html import render_html

        _atomic(path, lambda p: _write_text(p, render_html(st), "utf-8"))
    else:
        _atomic(path, lambda p: _write_text(p, render_csv(st), "utf-8-sig"))
    return path


def _write_text(path: Path, text: str, encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as f:
        f.write(text)

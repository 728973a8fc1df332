"""The monthly savings digest (``costline savings digest``): a page and an email for finance and
for each team, on how recommendations were adopted and what the bill shows they saved.

Pure: a :class:`Digest` (rows of ``costline savings report``, its actioned detail and the
recommendations still waiting) in, text out. :func:`render_html` is a self-contained page
(inline CSS, no script, a Content-Security-Policy that forbids any; every value passes through
:func:`html.escape`), :func:`render_text` the same content as plain text for the email's text
part, :func:`subject` the email's subject. Money has thousands separators and two decimals,
percentages one decimal.

Example:
    >>> total = {**TOTAL_ZERO, "recommended": 12, "actioned": 3,
    ...          "realized_monthly": Decimal("1234.56")}
    >>> d = Digest("2026-10", "acme", total, teams=(), actioned=(), waiting=(), currency="USD")
    >>> subject(d)
    'costline savings digest 2026-10: 3 of 12 actioned, 1,234.56 USD/month realized'
"""

from __future__ import annotations

import datetime as dt
import html
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

Row = Mapping[str, Any]

TOTAL = "TOTAL"
NOT_MEASURED = "not measured yet"
TOTAL_ZERO: dict[str, Any] = {
    "team": TOTAL,
    "recommended": 0,
    "estimated_monthly": Decimal(0),
    "actioned": 0,
    "dismissed": 0,
    "adopted_pct": None,
    "actioned_estimated_monthly": Decimal(0),
    "realized_monthly": Decimal(0),
    "realization_pct": None,
    "realized_in_month": Decimal(0),
}


@dataclass(frozen=True)
class Digest:
    """One month's digest. ``teams`` are the savings report's team rows, ``total`` its TOTAL row
    (in a team's digest: that team's row), ``actioned`` its detail rows, ``waiting`` the
    waiting recommendations (:data:`costline.optimize.digest.WAITING_COLUMNS`); ``team`` is set
    in a digest of one team."""

    month: str
    workspace: str
    total: Row
    teams: tuple[Row, ...]
    actioned: tuple[Row, ...]
    waiting: tuple[Row, ...]
    currency: str | None = None
    team: str | None = None


def build(
    month: str,
    workspace: str,
    report: Sequence[Row],
    actioned: Sequence[Row],
    waiting: Sequence[Row],
    *,
    currency: str | None = None,
    team: str | None = None,
) -> Digest:
    """A digest from the savings report's rows (the TOTAL row last, as the report gives it)."""
    total = next((r for r in report if r["team"] == TOTAL), TOTAL_ZERO)
    teams = tuple(r for r in report if r["team"] != TOTAL)
    return Digest(month, workspace, total, teams, tuple(actioned), tuple(waiting), currency, team)


def for_team(digest: Digest, team: str) -> Digest:
    """The digest of one team: its row as the headline, its actioned and waiting ones only."""
    rows = tuple(r for r in digest.teams if r["team"] == team)
    return replace(
        digest,
        total=rows[0] if rows else {**TOTAL_ZERO, "team": team},
        teams=rows,
        actioned=tuple(r for r in digest.actioned if r["team"] == team),
        waiting=tuple(r for r in digest.waiting if r["team"] == team),
        team=team,
    )


# -- formatting ---------------------------------------------------------------------------
def money(value: Decimal | None) -> str:
    """``1234.5`` → ``1,234.50``; None → ``not measured yet``."""
    return NOT_MEASURED if value is None else f"{value:,.2f}"


def percent(value: Decimal | None) -> str:
    """``25`` → ``25.0%``; None (nothing to divide by) → ``n/a``."""
    return "n/a" if value is None else f"{value:.1f}%"


def month_label(month: str) -> str:
    """``2026-10`` → ``October 2026``."""
    return dt.datetime.strptime(month, "%Y-%m").strftime("%B %Y")


def _day(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return (
        value.isoformat() if isinstance(value, dt.date) else ("" if value is None else str(value))
    )


def _cur(digest: Digest) -> str:
    return f" {digest.currency}" if digest.currency else ""


def subject(digest: Digest) -> str:
    """``costline savings digest 2026-10 (payments): 3 of 12 actioned, 1,234.56 USD/month
    realized``: the count of actioned and live recommendations and their realized savings."""
    t = digest.total
    who = f" ({digest.team})" if digest.team else ""
    return (
        f"costline savings digest {digest.month}{who}: {t['actioned']:,} of "
        f"{t['recommended']:,} actioned, {money(t['realized_monthly'])}{_cur(digest)}/month "
        "realized"
    )


def _waiting_totals(digest: Digest) -> tuple[int, Decimal]:
    per_team = {r["team"]: (r["team_waiting"], r["team_waiting_monthly"]) for r in digest.waiting}
    n = sum(v[0] for v in per_team.values())
    return n, sum((v[1] for v in per_team.values()), Decimal(0))


def headline(digest: Digest) -> list[tuple[str, str]]:
    """The key figures as (label, value)."""
    t, cur = digest.total, _cur(digest)
    n_wait, wait_monthly = _waiting_totals(digest)
    realized = f"{money(t['realized_monthly'])}{cur} a month"
    if t["realization_pct"] is not None:
        realized += f" ({percent(t['realization_pct'])} of their estimate)"
    return [
        ("Recommendations live in the month", f"{t['recommended']:,}"),
        (
            "Actioned (adopted)",
            f"{t['actioned']:,} of {t['recommended']:,} ({percent(t['adopted_pct'])})",
        ),
        ("Dismissed", f"{t['dismissed']:,}"),
        (
            "Estimated savings of all live recommendations",
            f"{money(t['estimated_monthly'])}{cur} a month",
        ),
        (
            "Estimated savings of the actioned ones",
            f"{money(t['actioned_estimated_monthly'])}{cur} a month",
        ),
        ("Realized savings of the actioned ones (from the bill)", realized),
        (
            f"Money saved in {month_label(digest.month)} (from the bill)",
            money(t["realized_in_month"]) + cur,
        ),
        (
            "Still waiting (open or ticketed)",
            f"{n_wait:,}, worth {money(wait_monthly)}{cur} a month",
        ),
    ]


NOTES = (
    "Live: recommended during the month and not resolved before it. Actioned: the bill shows "
    "the change (type changed, or the resource gone). Realized savings per month: the "
    "resource's cost per day before the action minus after it, times 30.42 days; money saved "
    "in the month: each billed day after the action, the daily cost before it minus that "
    "day's cost. Estimates are the recommendation's own (on its ticket when it has one)."
)

TEAM_HEADER = (
    "Team",
    "Live",
    "Actioned",
    "Dismissed",
    "Adopted",
    "Estimated / month, live",
    "Estimated / month, actioned",
    "Realized / month",
    "Realized vs estimate",
    "Saved in month",
)
ACTIONED_HEADER = (
    "Team",
    "Resource",
    "Recommendation",
    "What changed",
    "Action day",
    "Ticket",
    "Estimated / month",
    "Realized / month",
    "Saved in month",
    "Days measured",
)
WAITING_HEADER = (
    "Resource",
    "Recommendation",
    "Status",
    "Ticket",
    "First seen",
    "Estimated / month",
)


def _team_cells(r: Row) -> list[str]:
    return [
        str(r["team"]),
        f"{r['recommended']:,}",
        f"{r['actioned']:,}",
        f"{r['dismissed']:,}",
        percent(r["adopted_pct"]),
        money(r["estimated_monthly"]),
        money(r["actioned_estimated_monthly"]),
        money(r["realized_monthly"]),
        percent(r["realization_pct"]),
        money(r["realized_in_month"]),
    ]


def _change(r: Row) -> str:
    if r.get("from_state") and r.get("to_state"):
        return f"{r['action']}: {r['from_state']} → {r['to_state']}"
    return str(r["action"])


def _actioned_cells(r: Row) -> list[str]:
    return [
        str(r["team"]),
        str(r["resource_id"]),
        f"{r['kind']} {r['rule']}",
        _change(r),
        _day(r["action_date"]),
        r["ticket_key"] or "",
        money(r["estimated_monthly"]),
        money(r["realized_monthly"]),
        money(r["realized_in_month"]),
        f"{r['days_measured']:,}",
    ]


def _waiting_cells(r: Row) -> list[str]:
    return [
        str(r["resource_id"]),
        f"{r['kind']} {r['rule']}",
        str(r["status"]),
        r["ticket_key"] or "",
        _day(r["first_seen"]),
        money(r["estimated_monthly"]),
    ]


def _waiting_groups(digest: Digest) -> list[tuple[str, str, list[list[str]]]]:
    """Per team: (team, caption, rows) of the waiting list."""
    groups: dict[str, list[Row]] = {}
    for r in digest.waiting:
        groups.setdefault(r["team"], []).append(r)
    out = []
    for team, rows in groups.items():
        n, worth = rows[0]["team_waiting"], rows[0]["team_waiting_monthly"]
        shown = f"the {len(rows)} largest" if len(rows) < n else "largest first"
        caption = f"{team}: {n:,} waiting, worth {money(worth)}{_cur(digest)} a month ({shown})"
        out.append((team, caption, [_waiting_cells(r) for r in rows]))
    return out


def _sections(digest: Digest) -> tuple[str, str]:
    """The page title and the sentence under it."""
    who = f" — {digest.team}" if digest.team else ""
    title = f"Savings digest {month_label(digest.month)}{who}"
    cur = f"; amounts in {digest.currency}" if digest.currency else ""
    return title, f"Workspace {digest.workspace}, month {digest.month}{cur}."


# -- HTML ---------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1a1a1a}
h1{font-size:1.5rem;margin-bottom:.5rem}h2{font-size:1.1rem;margin-top:2rem}
h3{font-size:1rem;margin:1.2rem 0 .4rem}
dl.headline{display:grid;grid-template-columns:max-content auto;gap:.3rem 1.2rem;margin:0}
dl.headline dt{font-weight:600}dl.headline dd{margin:0;font-variant-numeric:tabular-nums}
p.note{color:#555;font-size:.9rem;max-width:60rem}
table{border-collapse:collapse;font-size:.9rem}
th,td{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left}
th{background:#f3f3f3}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:700;border-top:2px solid #333;border-bottom:3px double #333}
@media print{body{margin:0}tr{page-break-inside:avoid}}
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def _html_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, text: int, total: bool = False
) -> str:
    """A table whose columns after the first ``text`` ones are right-aligned figures; with
    ``total`` the last row is styled as the total."""
    e = html.escape

    def cell(tag: str, i: int, value: str) -> str:
        cls = ' class="num"' if i >= text else ""
        return f"<{tag}{cls}>{e(value)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = []
    for n, cells in enumerate(rows):
        cls = ' class="total"' if total and n == len(rows) - 1 else ""
        body.append(f"<tr{cls}>{''.join(cell('td', i, c) for i, c in enumerate(cells))}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(digest: Digest) -> str:
    """The digest as a self-contained page; every value is HTML-escaped."""
    e = html.escape
    title, intro = _sections(digest)
    heads = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in headline(digest))
    team_rows = [_team_cells(r) for r in digest.teams]
    if digest.team is None:
        team_rows.append(_team_cells(digest.total))
    parts = [
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{e(_CSP)}">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>\n",
        f'<h1>{e(title)}</h1>\n<p class="note">{e(intro)}</p>\n',
        f'<h2>Headline</h2>\n<dl class="headline">{heads}</dl>\n',
        "<h2>Per team</h2>\n",
        _html_table(TEAM_HEADER, team_rows, text=1, total=digest.team is None),
        "\n<h2>Actioned recommendations</h2>\n",
        _html_table(ACTIONED_HEADER, [_actioned_cells(r) for r in digest.actioned], text=6)
        if digest.actioned
        else '<p class="note">None in this month.</p>',
        "\n<h2>Still waiting, largest savings first</h2>\n",
    ]
    groups = _waiting_groups(digest)
    for _, caption, rows in groups:
        parts.append(f"<h3>{e(caption)}</h3>\n{_html_table(WAITING_HEADER, rows, text=5)}\n")
    if not groups:
        parts.append('<p class="note">Nothing waiting.</p>\n')
    parts.append(f'<p class="note">{e(NOTES)}</p>\n</body></html>\n')
    return "".join(parts)


# -- plain text ---------------------------------------------------------------------------
def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, text: int) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.ljust(w) if i < text else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def render_text(digest: Digest) -> str:
    """The digest as plain text (the email's text part)."""
    title, intro = _sections(digest)
    heads = headline(digest)
    width = max(len(k) for k, _ in heads)
    team_rows = [_team_cells(r) for r in digest.teams]
    if digest.team is None:
        team_rows.append(_team_cells(digest.total))
    parts = [title, "=" * len(title), intro, ""]
    parts += [f"{k + ':':<{width + 1}}  {v}" for k, v in heads]
    parts += ["", "Per team", "", _text_table(TEAM_HEADER, team_rows, text=1), ""]
    parts += ["Actioned recommendations", ""]
    if digest.actioned:
        parts += [
            _text_table(ACTIONED_HEADER, [_actioned_cells(r) for r in digest.actioned], text=6)
        ]
    else:
        parts += ["None in this month."]
    parts += ["", "Still waiting, largest savings first", ""]
    groups = _waiting_groups(digest)
    for _, caption, rows in groups:
        parts += [caption, "", _text_table(WAITING_HEADER, rows, text=5), ""]
    if not groups:
        parts += ["Nothing waiting.", ""]
    parts += [textwrap.fill(NOTES, 78), ""]
    return "\n".join(parts)


__all__ = [
    "Digest",
    "TOTAL",
    "build",
    "for_team",
    "headline",
    "money",
    "month_label",
    "percent",
    "render_html",
    "render_text",
    "subject",
]

"""HTML rendering of a chargeback statement (see :mod:`costline.reports.statements`).

A self-contained page: inline CSS, no script (a Content-Security-Policy forbids any), and every
value passes through :func:`html.escape`, so a tag value such as ``<script>`` is shown, not run.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal

from costline.reports.statements import (
    RECONCILIATION_HEADER,
    ROUNDING_NOTE,
    Statement,
    detail_cells,
    detail_header,
    reconciliation_cells,
    summary_cells,
    summary_header,
)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1a1a1a}
h1{font-size:1.5rem;margin-bottom:.5rem}h2{font-size:1.1rem;margin-top:2rem}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem;margin:0}
dl.meta dt{font-weight:600}dl.meta dd{margin:0}
p.note{color:#555;font-size:.9rem;max-width:60rem}
table{border-collapse:collapse;font-size:.9rem}
th,td{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left}
th{background:#f3f3f3}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.subtotal td{font-weight:600;background:#fafafa}
tr.grand td{font-weight:700;border-top:2px solid #333;border-bottom:3px double #333}
@media print{body{margin:0}tr{page-break-inside:avoid}}
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def _html_table(
    header: Sequence[str], rows: Sequence[tuple[str, Sequence[str | Decimal]]], *, amounts: int
) -> str:
    """A table whose last ``amounts`` columns are right-aligned figures."""
    e = html.escape
    n = len(header) - amounts
    head = "".join(
        f'<th class="num">{e(h)}</th>' if i >= n else f"<th>{e(h)}</th>"
        for i, h in enumerate(header)
    )
    body = []
    for kind, cells in rows:
        tds = "".join(
            f'<td class="num">{e(f"{c:,.2f}")}</td>'
            if isinstance(c, Decimal)
            else (f'<td class="num">{e(c)}</td>' if i >= n else f"<td>{e(c)}</td>")
            for i, c in enumerate(cells)
        )
        body.append(f'<tr class="{e(kind)}">{tds}</tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(st: Statement) -> str:
    """A self-contained page (inline CSS, no script); every value is HTML-escaped."""
    e = html.escape
    meta = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in st.meta)
    summary = _html_table(
        summary_header(st), [(x.kind, summary_cells(st, x)) for x in st.summary], amounts=3
    )
    detail = _html_table(
        detail_header(st), [(x.kind, detail_cells(st, x)) for x in st.detail], amounts=3
    )
    recon = _html_table(
        RECONCILIATION_HEADER,
        [("recon", reconciliation_cells(r)) for r in st.reconciliation],
        amounts=3,
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{e(_CSP)}">'
        f"<title>{e(st.title)}</title><style>{_CSS}</style></head><body>\n"
        f'<h1>{e(st.title)}</h1>\n<dl class="meta">{meta}</dl>\n'
        f'<p class="note">{e(ROUNDING_NOTE)}</p>\n'
        f"<h2>Summary by cost center</h2>\n{summary}\n"
        f"<h2>Detail by cost center and team</h2>\n{detail}\n"
        f"<h2>Reconciliation with the exact allocation</h2>\n{recon}\n</body></html>\n"
    )

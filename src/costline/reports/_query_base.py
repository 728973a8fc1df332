"""Shared parts of the query layer (:mod:`costline.reports.queries`): the access
:class:`Scope`, the :class:`Page` every query returns, parameter checks that raise
:class:`~costline.core.errors.ConfigError` naming the allowed values, and paging.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costline.core.errors import ConfigError

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000
MAX_VALUE_LENGTH = 1_024

METRICS: dict[str, str] = {
    "billed": "BilledCost",
    "effective": "EffectiveCost",
    "list": "ListCost",
    "contracted": "ContractedCost",
}
NO_ALLOCATION = (
    "no allocation is published: a team member sees costs once `costline allocate` has "
    "assigned them to teams"
)
NO_TEAMS = "this access scope names no team, so it sees no costs"


@dataclass(frozen=True)
class Scope:
    """Who asks: ``all`` (admin, finance) or the ``teams`` a team member belongs to.

    Example:
        >>> Scope.of_teams(["web"]).teams, Scope.everything().all
        (frozenset({'web'}), True)
    """

    all: bool
    teams: frozenset[str] = frozenset()

    @classmethod
    def everything(cls) -> Scope:
        return cls(all=True)

    @classmethod
    def of_teams(cls, teams: Iterable[str]) -> Scope:
        return cls(all=False, teams=frozenset([teams] if isinstance(teams, str) else teams))


@dataclass(frozen=True)
class Page:
    """One page of a result: ``total`` rows matched before ``limit``/``offset``; ``source``
    is the relation that answered; ``notes`` explain an empty or partial answer; ``totals``
    are the cost sums per currency over every matched row (cost queries); ``stale_as_of`` is
    set when the marts answered while newer data was being summarised (``costline serve``):
    the answer is the data as of that refresh."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    total: int
    limit: int
    offset: int
    source: str = ""
    notes: tuple[str, ...] = ()
    totals: dict[str, Decimal] = field(default_factory=dict)
    stale_as_of: dt.datetime | None = None

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def unknown(what: str, value: object, allowed: Sequence[str], *, key: str) -> ConfigError:
    close = difflib.get_close_matches(str(value), list(allowed), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ConfigError(
        f"unknown {what} {shown(value)}", key=key, hint=hint + f"use one of: {', '.join(allowed)}"
    )


def parse_date(value: dt.date | str | None, *, key: str) -> dt.date | None:
    """A day from a ``date`` or ``YYYY-MM-DD`` text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(
            f"{shown(value)} is not a date", key=key, hint="write it as YYYY-MM-DD"
        ) from None


def parse_month(value: dt.date | str | None, *, key: str = "period") -> dt.date | None:
    """The first day of a month from a ``date`` or ``YYYY-MM`` text.

    Example:
        >>> parse_month("2024-09")
        datetime.date(2024, 9, 1)
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.date):
        return value.replace(day=1)
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}", text):
        try:
            return dt.date.fromisoformat(f"{text}-01")
        except ValueError:
            pass
    raise ConfigError(f"{shown(value)} is not a month", key=key, hint="write it as YYYY-MM")


def required_month(period: dt.date | str | None) -> dt.date:
    month = parse_month(period, key="period")
    if month is None:
        raise ConfigError("a month is needed", key="period", hint="give period=YYYY-MM")
    return month


def check_page(limit: int, offset: int) -> tuple[int, int]:
    """``limit`` in 1..:data:`MAX_LIMIT` and ``offset`` ≥ 0 as ints."""
    try:
        lim, off = int(limit), int(offset)
    except (TypeError, ValueError):
        raise ConfigError(
            "limit and offset must be whole numbers", key="limit", hint=f"limit 1-{MAX_LIMIT}"
        ) from None
    if not 1 <= lim <= MAX_LIMIT:
        raise ConfigError(
            f"limit {lim} is out of range", key="limit", hint=f"use 1 to {MAX_LIMIT}, and offset"
        )
    if off < 0:
        raise ConfigError(f"offset {off} is negative", key="offset", hint="use 0 or more")
    return lim, off


def check_choice(value: str | None, allowed: Sequence[str], *, key: str) -> str | None:
    if value is None or value in allowed:
        return value
    raise unknown(key, value, allowed, key=key)


def check_text(value: object, *, key: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_VALUE_LENGTH:
        raise ConfigError(
            f"{shown(value)} is not a valid value",
            key=key,
            hint=f"give a text of 1 to {MAX_VALUE_LENGTH} characters",
        )
    return value


def basis(metric: str) -> str:
    check_choice(metric, list(METRICS), key="metric")
    return METRICS[metric]


def sql_in(column: str, values: Sequence[Any]) -> str:
    return f"{column} IN ({', '.join('?' for _ in values)})" if values else "FALSE"


def team_where(column: str, scope: Scope) -> tuple[str, list[str]]:
    if scope.all:
        return "TRUE", []
    teams = sorted(scope.teams)
    return sql_in(column, teams), teams


def paged(
    con: Any,
    sql: str,
    params: Sequence[Any],
    *,
    order_by: str,
    limit: int,
    offset: int,
    source: str,
) -> Page:
    lim, off = check_page(limit, offset)
    found = con.execute(f"SELECT count(*) FROM ({sql}) AS q", list(params)).fetchone()
    cur = con.execute(
        f"SELECT * FROM ({sql}) AS q ORDER BY {order_by} LIMIT ? OFFSET ?", [*params, lim, off]
    )
    columns = [d[0] for d in cur.description]
    return Page(columns, [tuple(r) for r in cur.fetchall()], int(found[0]), lim, off, source)


def empty_page(columns: Sequence[str], limit: int, offset: int, note: str) -> Page:
    lim, off = check_page(limit, offset)
    return Page(list(columns), [], 0, lim, off, notes=(note,))


def require_allocation(published: bool, what: str) -> None:
    if not published:
        raise ConfigError(
            f"{what} needs a published allocation and there is none",
            hint="run `costline allocate YYYY-MM` (rules and owners.yaml, see "
            "docs/how-to/write-allocation-rules.md)",
        )


def scope_note(published: bool, scope: Scope) -> str | None:
    """Why a team scope sees nothing, or None when it can see its rows."""
    if scope.all:
        return None
    if not published:
        return NO_ALLOCATION
    return None if scope.teams else NO_TEAMS

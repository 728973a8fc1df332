"""Exchange rates: the ``fx_rates`` table, its loaders, and the SQL that converts costs.

costline keeps every cost in the currency it was billed in. A *display currency* converts them
at query time with the workspace's exchange rates, loaded into ``fx_rates`` from a rates file
(``fx-rates.csv``: ``date,from,to,rate``, meaning 1 ``from`` = ``rate`` ``to`` from ``date``
on) or from the ECB's historical reference rates (``eurofxref-hist.csv``: ``Date,USD,JPY,...``,
one row of EUR→X rates per day, ``N/A`` where there is none).

A rate applies from its date until the next dated rate of the same pair, so a monthly rate is
dated the 1st and a daily one its day (the ECB publishes on working days: a weekend uses
Friday's rate). For a charge day and the pair billing→display, the rate in effect is the latest
rate dated on or before the day, among the pair's rates and the *inverse* pair's rates (used
as 1/rate, to 18 decimal places); on the same date the pair's own rate wins.

Loading validates every row first (ISO 4217 codes, a date, a positive rate, one rate per date
and pair) and replaces the whole table in one transaction, so a bad file loads nothing and the
error names the file, row, column and fix.

Conversion (:func:`convert_sql`) multiplies an amount (``DECIMAL(38, 10)``) by a rate
(``DECIMAL(38, 18)``) exactly and rounds the product half away from zero to 10 decimals;
DuckDB has no exact DECIMAL division, which is why the inverse rates are computed here, in
Python, when the rates load.

Example:
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> text = "date,from,to,rate\\n2024-09-01,EUR,USD,1.0823\\n"
    >>> load_rates(con, parse_rates(text, file="fx-rates.csv"))
    1
    >>> con.execute("SELECT from_currency, to_currency, rate, inverse_rate FROM fx_rates").fetchone()
    ('EUR', 'USD', Decimal('1.082300000000000000'), Decimal('0.923958237087683637'))
    >>> con.execute(f"SELECT {convert_sql('a', 'r')} FROM (SELECT 10.5::DECIMAL(38, 10) AS a, "
    ...     "1.0823::DECIMAL(38, 18) AS r)").fetchone()[0]
    Decimal('11.3641500000')
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any, Literal

from costline.core.errors import BadInputError, ConfigError, Location
from costline.reports.marts import table_exists

FX_TABLE = "fx_rates"
RATES_FILE = "fx-rates.csv"
RATE_SQL_TYPE = "DECIMAL(38, 18)"
RATE_PLACES = 18
MIN_RATE = Decimal("0.000000001")
MAX_RATE = Decimal("1000000000")
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
RATE_COLUMNS = ("date", "from", "to", "rate")
LIST_COLUMNS = ("date", "from", "to", "rate", "file", "row")
ECB_BASE = "EUR"
MISSING = ("", "N/A")  # the ECB's "no rate that day"
NOTE_RATES = 6  # rates listed per currency in a conversion note

FX_DDL = f"""CREATE TABLE IF NOT EXISTS {FX_TABLE} (
    valid_from DATE NOT NULL,
    from_currency VARCHAR NOT NULL,
    to_currency VARCHAR NOT NULL,
    rate {RATE_SQL_TYPE} NOT NULL,
    inverse_rate {RATE_SQL_TYPE} NOT NULL,
    source VARCHAR,
    source_row INTEGER,
    loaded_at TIMESTAMP
)"""

RatesFormat = Literal["rates", "ecb"]


def inverse_rate(rate: Decimal) -> Decimal:
    """1/rate to :data:`RATE_PLACES` decimals (half even): how an inverse pair converts.

    Example:
        >>> inverse_rate(Decimal("0.8")), inverse_rate(Decimal("3"))
        (Decimal('1.250000000000000000'), Decimal('0.333333333333333333'))
    """
    with localcontext() as ctx:
        ctx.prec = 60
        return (Decimal(1) / rate).quantize(Decimal(1).scaleb(-RATE_PLACES), ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Rate:
    """One rate: 1 ``from_currency`` = ``rate`` ``to_currency`` from ``valid_from`` on;
    ``file``, ``row`` (1-based data row) and ``line`` say where it was read."""

    valid_from: dt.date
    from_currency: str
    to_currency: str
    rate: Decimal
    file: str = ""
    row: int = 0
    line: int = 0


@dataclass(frozen=True)
class _Cell:
    """Where a value was read, to name it in an error."""

    file: str
    row: int | None  # None: the header
    line: int
    column: str

    def bad(self, value: str, message: str, hint: str) -> BadInputError:
        return BadInputError(
            f"{message} (line {self.line})",
            location=Location(self.file, row=self.row, column=self.column, value=value),
            reason="bad-fx-rate",
            hint=hint,
        )


def _date(value: str, cell: _Cell) -> dt.date:
    try:
        if not ISO_DATE.fullmatch(value.strip()):
            raise ValueError(value)
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise cell.bad(
            value,
            f"{value.strip()!r} is not a date" if value.strip() else "the date is empty",
            "write it as YYYY-MM-DD: the first day the rate applies (a monthly rate: the 1st)",
        ) from None


def _code(value: str, cell: _Cell) -> str:
    code = value.strip()
    if not CURRENCY_CODE.fullmatch(code):
        raise cell.bad(
            value,
            f"{code!r} is not an ISO 4217 currency code" if code else "the currency is empty",
            "write the 3-letter code in capitals, e.g. USD, EUR, JPY",
        )
    return code


def _rate(value: str, cell: _Cell) -> Decimal:
    text = value.strip()
    try:
        rate = Decimal(text)
    except InvalidOperation:
        rate = Decimal("NaN")
    plain = "write it as a plain decimal number: 1 FROM = rate TO, e.g. 1.0823"
    if not rate.is_finite():
        raise cell.bad(value, f"{text!r} is not a number" if text else "the rate is empty", plain)
    if rate <= 0:
        raise cell.bad(value, f"rate {text} is not positive", plain)
    exponent = rate.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > RATE_PLACES:
        raise cell.bad(
            value,
            f"rate {text} has more than {RATE_PLACES} decimal places",
            f"round it to {RATE_PLACES} decimal places (rates are {RATE_SQL_TYPE})",
        )
    if not MIN_RATE <= rate <= MAX_RATE:
        raise cell.bad(
            value,
            f"rate {text} is outside {MIN_RATE:f} to {MAX_RATE:f}",
            "check the direction of the pair (from, to) and that the rate is per 1 unit",
        )
    return rate


def _records(text: str, *, file: str, width: int) -> Iterator[tuple[int, int, list[str]]]:
    """(data row, line, cells) of every non-blank line after the header (``width``
    columns); a value beyond them is an error (a decimal comma splits a rate in two)."""
    reader = csv.reader(io.StringIO(text))
    row = 0
    for cells in reader:
        if reader.line_num == 1 or not any(c.strip() for c in cells):
            continue
        row += 1
        if any(c.strip() for c in cells[width:]):
            used = max(i for i, c in enumerate(cells) if c.strip()) + 1
            raise BadInputError(
                f"the row has {used} values and the header {width} columns "
                f"(line {reader.line_num})",
                location=Location(file, row=row, value=",".join(cells)),
                reason="bad-fx-rate",
                hint="write a rate with a decimal point (1.0823, not 1,0823), or quote a value "
                "that holds a comma",
            )
        yield row, reader.line_num, cells


def _header(text: str, file: str, hint: str) -> list[str]:
    """The header's names, without the empty ones at its end (a trailing comma)."""
    first = [c.strip() for c in next(csv.reader(io.StringIO(text)), [])]
    while first and not first[-1]:
        first.pop()
    if not first:
        raise BadInputError(
            "the file is empty", location=Location(file), reason="no-rows", hint=hint
        )
    return first


def parse_rates(text: str, *, file: str) -> list[Rate]:
    """The rates of a rates file (``date,from,to,rate`` with a header, any column order;
    other columns are ignored). Pure: validates every row, checks nothing across rows.

    Raises:
        BadInputError: a missing column, a bad value (naming the row, line and column), or no
            rates at all.

    Example:
        >>> parse_rates("date,from,to,rate\\n2024-09-01,USD,EUR,0.9\\n", file="f.csv")[0].rate
        Decimal('0.9')
    """
    hint = "the first line is the header date,from,to,rate (e.g. 2024-09-01,EUR,USD,1.0823)"
    header = [c.lower() for c in _header(text, file, hint)]
    for name in RATE_COLUMNS:
        if name not in header:
            raise BadInputError(
                f"the header lacks the column {name!r}",
                location=Location(file, column=name),
                reason="missing-column",
                hint=hint,
            )
    at = {name: header.index(name) for name in RATE_COLUMNS}
    rates = []
    for row, line, cells in _records(text, file=file, width=len(header)):
        value = {n: cells[i] if i < len(cells) else "" for n, i in at.items()}

        def cell(name: str, row: int = row, line: int = line) -> _Cell:
            return _Cell(file, row, line, name)

        day = _date(value["date"], cell("date"))
        src, dst = _code(value["from"], cell("from")), _code(value["to"], cell("to"))
        if src == dst:
            raise cell("to").bad(
                value["to"],
                f"from and to are both {src}",
                "a rate converts one currency into another",
            )
        rates.append(Rate(day, src, dst, _rate(value["rate"], cell("rate")), file, row, line))
    if not rates:
        raise BadInputError(
            "the file has a header but no rates",
            location=Location(file),
            reason="no-rows",
            hint="add one row per rate under the header: date,from,to,rate",
        )
    return rates


def parse_ecb(text: str, *, file: str) -> list[Rate]:
    """The EUR→X rates of the ECB's historical reference rates (``eurofxref-hist.csv``:
    header ``Date,USD,JPY,...``, a trailing comma allowed; ``N/A`` or empty: no rate).

    Raises:
        BadInputError: a header that is not ``Date`` and currency codes, a bad date or rate
            (naming the row, line and currency column), or no rates at all.

    Example:
        >>> [(r.to_currency, r.rate) for r in parse_ecb(
        ...     "Date,USD,JPY,\\n2024-09-13,1.1075,N/A,\\n", file="eurofxref-hist.csv")]
        [('USD', Decimal('1.1075'))]
    """
    hint = "the ECB file starts with the header Date,USD,JPY,... (eurofxref-hist.csv, unzipped)"
    header = _header(text, file, hint)
    if header[0].lower() != "date":
        raise BadInputError(
            f"the first column is {header[0]!r}, not 'Date'",
            location=Location(file, column=header[0]),
            reason="missing-column",
            hint=hint,
        )
    codes: dict[int, str] = {}
    for i, name in enumerate(header[1:], start=1):
        code = _code(name, _Cell(file, None, 1, name))
        if code == ECB_BASE or code in codes.values():
            what = "the base currency of the ECB's rates" if code == ECB_BASE else "twice"
            raise _Cell(file, None, 1, name).bad(name, f"the header names {code} {what}", hint)
        codes[i] = code
    rates = []
    for row, line, cells in _records(text, file=file, width=len(header)):
        day = _date(cells[0], _Cell(file, row, line, header[0]))
        for i, code in codes.items():
            raw = cells[i].strip() if i < len(cells) else ""
            if raw.upper() not in MISSING:
                rate = _rate(raw, _Cell(file, row, line, code))
                rates.append(Rate(day, ECB_BASE, code, rate, file, row, line))
    if not rates:
        raise BadInputError(
            "the file has no rates", location=Location(file), reason="no-rows", hint=hint
        )
    return rates


def check_unique(rates: Sequence[Rate]) -> None:
    """One rate per (date, from, to) over every file of a load.

    Raises:
        BadInputError: naming the second rate's file and row and the first's.
    """
    seen: dict[tuple[dt.date, str, str], Rate] = {}
    for r in rates:
        key = (r.valid_from, r.from_currency, r.to_currency)
        first = seen.get(key)
        seen.setdefault(key, r)
        if first is not None:
            where = f"row {first.row}" + ("" if first.file == r.file else f" of {first.file}")
            raise BadInputError(
                f"a second {r.from_currency}→{r.to_currency} rate dated {r.valid_from} "
                f"(line {r.line}; the first is {where})",
                location=Location(r.file, row=r.row, column="date", value=str(r.valid_from)),
                reason="duplicate-fx-rate",
                hint="keep one rate per date and pair; a new rate needs a later date",
            )


def read_rates(path: Path, *, fmt: RatesFormat = "rates") -> list[Rate]:
    """The rates of one file (``rates``: date,from,to,rate; ``ecb``: eurofxref-hist.csv).

    Raises:
        BadInputError: the file is missing, unreadable or invalid (see :func:`parse_rates`).
    """
    if not path.is_file():
        raise BadInputError(
            "file not found",
            location=Location(str(path)),
            reason="missing",
            hint="check the path"
            + ("; unzip eurofxref-hist.zip first" if fmt == "ecb" else f" (default {RATES_FILE})"),
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(
            f"cannot read the file: {exc}",
            location=Location(str(path)),
            reason="unreadable",
            hint="save it as a UTF-8 CSV file",
        ) from exc
    parse = parse_ecb if fmt == "ecb" else parse_rates
    return parse(text, file=str(path))


def ensure_table(con: Any) -> None:
    con.execute(FX_DDL)


def load_rates(con: Any, rates: Sequence[Rate]) -> int:
    """Replace every rate of ``fx_rates`` with ``rates`` in one transaction; returns how many.

    Raises:
        BadInputError: two rates of the same date and pair (nothing is loaded).
    """
    check_unique(rates)
    columns: list[list[str | int]] = [
        [r.valid_from.isoformat() for r in rates],
        [r.from_currency for r in rates],
        [r.to_currency for r in rates],
        [format(r.rate, "f") for r in rates],
        [format(inverse_rate(r.rate), "f") for r in rates],
        [r.file for r in rates],
        [r.row for r in rates],
    ]
    con.execute("BEGIN TRANSACTION")
    try:
        ensure_table(con)
        con.execute(f"DELETE FROM {FX_TABLE}")
        con.execute(
            f"INSERT INTO {FX_TABLE} SELECT CAST(d AS DATE), f, t, CAST(r AS {RATE_SQL_TYPE}), "
            f"CAST(i AS {RATE_SQL_TYPE}), s, CAST(n AS INTEGER), now()::TIMESTAMP FROM "
            "(SELECT unnest(?) AS d, unnest(?) AS f, unnest(?) AS t, unnest(?) AS r, "
            "unnest(?) AS i, unnest(?) AS s, unnest(?) AS n)",
            columns,
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(rates)


def has_rates_table(con: Any) -> bool:
    return table_exists(con, FX_TABLE)


def summary_sql() -> str:
    """Per pair and file: how many rates, the first and last date (after a load)."""
    return (
        f'SELECT from_currency AS "from", to_currency AS "to", count(*) AS rates, '
        f'min(valid_from) AS "first", max(valid_from) AS "last", source AS file '
        f"FROM {FX_TABLE} GROUP BY ALL ORDER BY 1, 2, 6"
    )


def list_sql(*, currency: str | None = None) -> tuple[str, list[str]]:
    """Every rate (of one currency, from or to it), by pair and date, with its file and row."""
    where, params = "TRUE", []
    if currency is not None:
        if not CURRENCY_CODE.fullmatch(currency):
            raise ConfigError(
                f"{currency!r} is not a currency code",
                key="currency",
                hint="give a 3-letter ISO 4217 code in capitals, e.g. USD",
            )
        where, params = "? IN (from_currency, to_currency)", [currency]
    sql = (
        f'SELECT valid_from AS "date", from_currency AS "from", to_currency AS "to", rate, '
        f'source AS file, source_row AS "row" FROM {FX_TABLE} WHERE {where} ORDER BY 2, 3, 1'
    )
    return sql, params


# -- conversion in queries ---------------------------------------------------------------------
_EMPTY = (
    "SELECT CAST(NULL AS DATE) AS valid_from, CAST(NULL AS VARCHAR) AS from_currency, "
    f"CAST(NULL AS VARCHAR) AS to_currency, CAST(NULL AS {RATE_SQL_TYPE}) AS rate, "
    f"CAST(NULL AS {RATE_SQL_TYPE}) AS given, FALSE AS inverse WHERE FALSE"
)


def directed_sql(*, have_table: bool) -> str:
    """Every rate as a directed pair: the rates as given, and each inverted (``inverse``,
    ``rate`` = the stored 1/rate, ``given`` = the rate as written). Constant SQL."""
    if not have_table:
        return _EMPTY
    return (
        "SELECT valid_from, from_currency, to_currency, rate, rate AS given, FALSE AS inverse "
        f"FROM {FX_TABLE} UNION ALL SELECT valid_from, to_currency, from_currency, "
        f"inverse_rate, rate, TRUE FROM {FX_TABLE}"
    )


def convert_sql(amount: str, rate: str) -> str:
    """``amount`` (DECIMAL(38, 10)) × ``rate`` (DECIMAL(38, 18)), rounded half away from zero
    to 10 decimals, exactly. A plain DECIMAL product would have 28 decimals and overflow past
    10 integer digits; so the integer part multiplies exactly at 18 decimals and the fraction
    part is truncated to 18 (same sign: the rounding at 10 stays that of the exact product).

    Example:
        >>> import duckdb
        >>> big = convert_sql("123456789012.5", "CAST(150.5 AS DECIMAL(38, 18))")
        >>> duckdb.connect().execute(f"SELECT {big}").fetchone()[0]  # a plain product overflows
        Decimal('18580246746381.2500000000')
    """
    a = f"CAST({amount} AS DECIMAL(38, 10))"
    frac = f"CAST({a} - trunc({a}) AS DECIMAL(10, 10))"
    return f"round(trunc({a}) * {rate} + trunc({frac} * {rate}, 18), 10)"


@dataclass(frozen=True)
class RateUse:
    """A rate a conversion used for billing ``currency``: dated ``valid_from`` (None: no rate
    in effect), as given (``given``, of the inverse pair when ``inverse``), on charge days
    ``first``..``last``."""

    currency: str
    valid_from: dt.date | None
    given: Decimal | None
    inverse: bool
    first: dt.date
    last: dt.date


def _shown(rate: Decimal) -> str:
    return format(rate.normalize(), "f")


def _describe(use: RateUse, target: str) -> str:
    assert use.given is not None and use.valid_from is not None
    if use.inverse:
        rate = f"1/{_shown(use.given)} (the {target}→{use.currency} rate, inverted)"
    else:
        rate = f"{_shown(use.given)}"
    days = f"{use.first}" if use.first == use.last else f"{use.first} to {use.last}"
    return f"{rate} dated {use.valid_from} (charge days {days})"


def conversion_notes(uses: Sequence[RateUse], target: str) -> tuple[str, ...]:
    """One note per billing currency converted, naming the rates and dates used.

    Raises:
        ConfigError: a charge day without a rate in effect: names the pair and the first day.

    Example:
        >>> use = RateUse("EUR", dt.date(2024, 9, 1), Decimal("1.1"), False,
        ...               dt.date(2024, 9, 1), dt.date(2024, 9, 30))
        >>> conversion_notes([use], "USD")[0]
        'converted from EUR to USD at the fx_rates rate in effect on each charge day, rounded to 10 decimals: 1.1 dated 2024-09-01 (charge days 2024-09-01 to 2024-09-30)'
    """
    missing = sorted((u.first, u.currency) for u in uses if u.valid_from is None)
    if missing:
        day, currency = missing[0]
        raise ConfigError(
            f"no exchange rate {currency}→{target} for {day}, the first charge day "
            f"without one (nor a {target}→{currency} rate to invert)",
            key="currency",
            hint=f"add a rate dated {day} or earlier (date,from,to,rate: "
            f"{day.replace(day=1)},{currency},{target},RATE) to {RATES_FILE} and run "
            f"`costline fx load`; or leave currency out for one line per billing currency",
        )
    notes = []
    for currency in sorted({u.currency for u in uses}):
        mine = sorted((u for u in uses if u.currency == currency), key=lambda u: u.first)
        listed = "; ".join(_describe(u, target) for u in mine[:NOTE_RATES])
        more = len(mine) - NOTE_RATES
        if more > 0:
            listed += f"; and {more} more (see `costline fx list --currency {currency}`)"
        notes.append(
            f"converted from {currency} to {target} at the {FX_TABLE} rate in effect on each "
            f"charge day, rounded to 10 decimals: {listed}"
        )
    return tuple(notes)


__all__ = [
    "FX_TABLE",
    "LIST_COLUMNS",
    "RATES_FILE",
    "Rate",
    "RateUse",
    "RatesFormat",
    "check_unique",
    "conversion_notes",
    "convert_sql",
    "directed_sql",
    "has_rates_table",
    "inverse_rate",
    "list_sql",
    "load_rates",
    "parse_ecb",
    "parse_rates",
    "read_rates",
    "summary_sql",
]

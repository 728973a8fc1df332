"""Exchange rates (costline.reports.fx): the rates file and ECB parsers, the fx_rates table,
the exact DECIMAL conversion SQL and the notes/errors of a conversion.

Expected values are worked out here with Python's Decimal (60 digits), never read back from
costline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from costline.core.errors import BadInputError, ConfigError
from costline.reports import fx

D = Decimal
TEN = D("1e-10")

# A slice of the ECB's eurofxref-hist.csv as published: newest first, "N/A" for currencies
# without a rate that day, a trailing comma on every line.
ECB_SAMPLE = """\
Date,USD,JPY,BGN,CYP,GBP,ROL,CHF,
2024-09-13,1.1075,156.17,1.9558,N/A,0.84363,N/A,0.9407,
2024-09-12,1.1023,156.61,1.9558,N/A,0.84125,N/A,0.9365,
2024-09-11,1.1003,155.38,1.9558,N/A,0.84430,N/A,0.9343,
2001-02-01,0.9370,108.94,1.9472,0.57710,0.63810,N/A,1.5338,
"""


@pytest.fixture
def con() -> Iterator[Any]:
    c = duckdb.connect()
    yield c
    c.close()


def rates_text(*rows: str, header: str = "date,from,to,rate") -> str:
    return "\n".join([header, *rows]) + "\n"


def exact(amount: Decimal, rate: Decimal) -> Decimal:
    """amount × rate rounded half away from zero to 10 decimals, with digits to spare."""
    with localcontext() as ctx:
        ctx.prec = 80
        return (amount * rate).quantize(TEN, rounding=ROUND_HALF_UP)


# -- the rates file ----------------------------------------------------------------------------
def test_parse_rates_reads_every_row_in_any_column_order() -> None:
    text = rates_text(
        " USD , 2024-09-01 ,EUR, 0.9 ,ignored",
        "",  # a blank line is skipped and not counted
        "GBP,2024-10-01,USD,1.312345678901234567",  # 18 decimals: the most a rate has
        header="from,Date,TO,Rate,comment",
    )
    got = fx.parse_rates(text, file="fx.csv")
    assert got == [
        fx.Rate(dt.date(2024, 9, 1), "USD", "EUR", D("0.9"), "fx.csv", 1, 2),
        fx.Rate(dt.date(2024, 10, 1), "GBP", "USD", D("1.312345678901234567"), "fx.csv", 2, 4),
    ]


@pytest.mark.parametrize(
    ("row", "column", "message", "fix"),
    [
        ("2024-13-01,EUR,USD,1.1", "date", "'2024-13-01' is not a date", "YYYY-MM-DD"),
        ("01/09/2024,EUR,USD,1.1", "date", "is not a date", "a monthly rate: the 1st"),
        ("20240901,EUR,USD,1.1", "date", "'20240901' is not a date", "YYYY-MM-DD"),
        (",EUR,USD,1.1", "date", "the date is empty", "YYYY-MM-DD"),
        ("2024-09-01,eur,USD,1.1", "from", "'eur' is not an ISO 4217", "in capitals"),
        ("2024-09-01,EUR,US,1.1", "to", "'US' is not an ISO 4217", "3-letter code"),
        ("2024-09-01,EUR,USDX,1.1", "to", "'USDX' is not an ISO 4217", "3-letter code"),
        ("2024-09-01,EUR,,1.1", "to", "the currency is empty", "3-letter code"),
        ("2024-09-01,EUR,EUR,1", "to", "from and to are both EUR", "one currency into another"),
        ("2024-09-01,EUR,USD,abc", "rate", "'abc' is not a number", "plain decimal"),
        ("2024-09-01,EUR,USD,NaN", "rate", "'NaN' is not a number", "plain decimal"),
        ("2024-09-01,EUR,USD,", "rate", "the rate is empty", "plain decimal"),
        ("2024-09-01,EUR,USD", "rate", "the rate is empty", "plain decimal"),
        ("2024-09-01,EUR,USD,0", "rate", "rate 0 is not positive", "1 FROM = rate TO"),
        ("2024-09-01,EUR,USD,-1.1", "rate", "rate -1.1 is not positive", "1 FROM = rate TO"),
        (
            "2024-09-01,EUR,USD,1.1234567890123456789",
            "rate",
            "more than 18 decimal places",
            "round it to 18",
        ),
        ("2024-09-01,EUR,USD,2000000000", "rate", "outside 0.000000001 to", "direction"),
        ("2024-09-01,EUR,USD,0.0000000001", "rate", "outside", "per 1 unit"),
    ],
)
def test_a_bad_row_names_the_file_row_column_and_fix(
    row: str, column: str, message: str, fix: str
) -> None:
    text = rates_text("2024-08-01,EUR,USD,1.09", row)
    with pytest.raises(BadInputError) as err:
        fx.parse_rates(text, file="fx-rates.csv")
    loc = err.value.location
    assert (loc.file, loc.row, loc.column) == ("fx-rates.csv", 2, column)
    text_of = str(err.value)
    assert text_of.startswith(f"fx-rates.csv, row 2, column '{column}'")
    assert message in text_of and "(line 3)" in text_of
    assert err.value.hint and fix in err.value.hint


def test_a_decimal_comma_is_refused_and_empty_trailing_cells_are_not() -> None:
    text = rates_text("2024-08-01,EUR,USD,1.09,,", "2024-09-01,EUR,USD,1,0823")
    with pytest.raises(BadInputError, match="5 values and the header 4 columns") as err:
        fx.parse_rates(text, file="fx-rates.csv")
    assert (err.value.location.row, err.value.location.value) == (2, "2024-09-01,EUR,USD,1,0823")
    assert err.value.hint and "1.0823, not 1,0823" in err.value.hint
    assert fx.parse_rates(rates_text("2024-08-01,EUR,USD,1.09,,"), file="f")[0].rate == D("1.09")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("date,from,rate\n2024-09-01,EUR,1.1\n", "lacks the column 'to'"),
        ("date,from,to,rate\n\n", "a header but no rates"),
    ],
)
def test_a_bad_file_is_refused_with_the_header_it_needs(text: str, message: str) -> None:
    with pytest.raises(BadInputError, match=message) as err:
        fx.parse_rates(text, file="fx-rates.csv")
    assert err.value.location.file == "fx-rates.csv"
    assert err.value.hint and "date,from,to,rate" in err.value.hint


def test_read_rates_reads_a_bom_and_names_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "fx-rates.csv"
    path.write_bytes("\ufeffdate,from,to,rate\n2024-09-01,EUR,USD,1.1\n".encode())
    assert [r.rate for r in fx.read_rates(path)] == [D("1.1")]
    with pytest.raises(BadInputError, match="file not found") as err:
        fx.read_rates(tmp_path / "nope.csv", fmt="ecb")
    assert err.value.hint and "eurofxref-hist.zip" in err.value.hint
    latin = tmp_path / "latin.csv"
    latin.write_bytes("date,from,to,rate\n2024-09-01,EUR,USD,1.1 \xa4\n".encode("latin-1"))
    with pytest.raises(BadInputError, match="cannot read the file"):
        fx.read_rates(latin)


def test_one_rate_per_date_and_pair_across_files() -> None:
    mine = fx.parse_rates(rates_text("2024-09-01,EUR,USD,1.1"), file="fx-rates.csv")
    # the inverse pair on the same date is another pair: allowed
    both = mine + fx.parse_rates(rates_text("2024-09-01,USD,EUR,0.9"), file="b.csv")
    fx.check_unique(both)
    dup = mine + fx.parse_rates(
        rates_text("2024-08-01,EUR,USD,1", "2024-09-01,EUR,USD,1.2"), file="b.csv"
    )
    with pytest.raises(BadInputError) as err:
        fx.check_unique(dup)
    assert (err.value.location.file, err.value.location.row) == ("b.csv", 2)
    assert "a second EUR→USD rate dated 2024-09-01" in str(err.value)
    assert "the first is row 1 of fx-rates.csv" in str(err.value)
    assert err.value.hint and "one rate per date and pair" in err.value.hint


# -- the ECB format ----------------------------------------------------------------------------
def test_parse_ecb_reads_eur_rates_and_skips_na() -> None:
    got = fx.parse_ecb(ECB_SAMPLE, file="eurofxref-hist.csv")
    assert {r.from_currency for r in got} == {"EUR"}
    # N/A (CYP lately, ROL always) is no rate; CYP had one in 2001
    per_day = {(r.valid_from, r.to_currency): r.rate for r in got}
    assert len(got) == 3 * 5 + 6
    assert per_day[(dt.date(2024, 9, 13), "USD")] == D("1.1075")
    assert per_day[(dt.date(2024, 9, 11), "GBP")] == D("0.84430")
    assert per_day[(dt.date(2001, 2, 1), "CYP")] == D("0.57710")
    assert not any(code == "ROL" for _, code in per_day)
    assert (dt.date(2024, 9, 12), "CYP") not in per_day
    first = next(r for r in got if r.to_currency == "JPY")
    assert (first.row, first.line, first.file) == (1, 2, "eurofxref-hist.csv")


@pytest.mark.parametrize(
    ("text", "row", "column", "message"),
    [
        ("Day,USD,\n2024-09-13,1.1,\n", None, "Day", "not 'Date'"),
        ("Date,USD,usd,\n2024-09-13,1.1,1.1,\n", None, "usd", "not an ISO 4217"),
        ("Date,USD,EUR,\n2024-09-13,1.1,1,\n", None, "EUR", "names EUR the base currency"),
        ("Date,USD,USD,\n2024-09-13,1.1,1.1,\n", None, "USD", "names USD twice"),
        ("Date,USD,JPY,\n2024-09-13,1.1,N/A,\n2024-09-12,1.1,-156,\n", 2, "JPY", "not positive"),
        ("Date,USD,\n13/09/2024,1.1,\n", 1, "Date", "is not a date"),
        ("Date,USD,\n2024-09-13,N/A,\n", None, None, "has no rates"),
        ("Date,USD,\n2024-09-13,1,1075,\n", 1, None, "3 values and the header 2 columns"),
    ],
)
def test_a_bad_ecb_file_names_the_row_and_column(
    text: str, row: int | None, column: str | None, message: str
) -> None:
    with pytest.raises(BadInputError, match=message) as err:
        fx.parse_ecb(text, file="eurofxref-hist.csv")
    loc = err.value.location
    assert (loc.file, loc.row, loc.column) == ("eurofxref-hist.csv", row, column)
    assert err.value.hint


# -- the table -----------------------------------------------------------------------------------
def table(con: Any) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in con.execute(
            "SELECT valid_from, from_currency, to_currency, rate, inverse_rate, source, "
            "source_row FROM fx_rates ORDER BY 1, 2, 3"
        ).fetchall()
    ]


def test_load_rates_replaces_the_table_and_stores_exact_inverses(con: Any) -> None:
    first = fx.parse_rates(rates_text("2024-08-01,EUR,USD,9"), file="old.csv")
    assert fx.load_rates(con, first) == 1
    rates = fx.parse_rates(
        rates_text("2024-09-01,EUR,USD,1.0823", "2024-09-01,USD,JPY,143.5"), file="fx.csv"
    )
    assert fx.load_rates(con, rates) == 2
    inverse = {
        r: (D(1) / r).quantize(D("1e-18"), ROUND_HALF_EVEN) for r in (D("1.0823"), D("143.5"))
    }
    assert table(con) == [
        (dt.date(2024, 9, 1), "EUR", "USD", D("1.0823"), inverse[D("1.0823")], "fx.csv", 1),
        (dt.date(2024, 9, 1), "USD", "JPY", D("143.5"), inverse[D("143.5")], "fx.csv", 2),
    ]
    assert con.execute("SELECT typeof(rate) FROM fx_rates LIMIT 1").fetchone() == (
        "DECIMAL(38,18)",
    )


def test_a_bad_load_leaves_the_rates_as_they_were(con: Any) -> None:
    good = fx.parse_rates(rates_text("2024-09-01,EUR,USD,1.1"), file="fx.csv")
    fx.load_rates(con, good)
    before = table(con)
    with pytest.raises(BadInputError, match="a second EUR→USD"):
        fx.load_rates(con, good + good)
    assert table(con) == before


def test_an_ecb_load_holds_every_rate(con: Any) -> None:
    n = fx.load_rates(con, fx.parse_ecb(ECB_SAMPLE, file="eurofxref-hist.csv"))
    assert n == con.execute("SELECT count(*) FROM fx_rates").fetchone()[0] == 21
    sql, params = fx.list_sql(currency="GBP")
    got = con.execute(sql, params).fetchall()
    assert [(r[0], r[3]) for r in got] == [
        (dt.date(2001, 2, 1), D("0.6381")),
        (dt.date(2024, 9, 11), D("0.8443")),
        (dt.date(2024, 9, 12), D("0.84125")),
        (dt.date(2024, 9, 13), D("0.84363")),
    ]
    with pytest.raises(ConfigError, match="not a currency code"):
        fx.list_sql(currency="gbp")


# -- conversion ----------------------------------------------------------------------------------
def convert(con: Any, amount: Decimal, rate: Decimal) -> Decimal:
    sql = fx.convert_sql("a", "r")
    row = con.execute(
        f"SELECT {sql}, typeof({sql}) FROM (SELECT CAST(? AS DECIMAL(38, 10)) AS a, "
        "CAST(? AS DECIMAL(38, 18)) AS r)",
        [format(amount, "f"), format(rate, "f")],
    ).fetchone()
    assert row[1] == "DECIMAL(38,10)"
    return Decimal(row[0])


@pytest.mark.parametrize(
    ("amount", "rate"),
    [
        ("10.5", "1.0823"),
        ("0.00000000005", "1"),  # a tie at the 11th decimal: away from zero
        ("-0.00000000005", "1"),
        ("0.0000000001", "0.5"),  # 0.00000000005: up
        ("-0.0000000001", "0.5"),
        ("0.0000000001", "0.499999999999999999"),  # just below the tie: down
        ("-0.0000000001", "0.499999999999999999"),
        ("123456789012.5", "150.5"),  # a plain DECIMAL product overflows here
        ("99999999999.9999999999", "99999999"),  # about 10^19: products stay below 10^20
        ("1234567.8912345678", "0.923958237087683637"),
        ("-1234567.8912345678", "0.000000001"),
        ("0", "16000"),
    ],
)
def test_convert_sql_rounds_the_exact_product(con: Any, amount: str, rate: str) -> None:
    assert convert(con, D(amount), D(rate)) == exact(D(amount), D(rate))


amounts = st.decimals(
    min_value=D("-1e15"), max_value=D("1e15"), places=10, allow_nan=False, allow_infinity=False
)
rates = st.decimals(
    min_value=fx.MIN_RATE, max_value=fx.MAX_RATE, places=18, allow_nan=False, allow_infinity=False
)


@settings(max_examples=300, deadline=None)
@given(amount=amounts, rate=rates)
def test_convert_sql_equals_decimal_arithmetic(amount: Decimal, rate: Decimal) -> None:
    assume(abs(amount * rate) < D("1e20"))  # the documented range of a converted amount
    with duckdb.connect() as c:
        assert convert(c, amount, rate) == exact(amount, rate)


def use(
    currency: str,
    day: str | None,
    given: str | None,
    *,
    inverse: bool = False,
    first: str = "2024-09-01",
    last: str = "2024-09-30",
) -> fx.RateUse:
    return fx.RateUse(
        currency,
        dt.date.fromisoformat(day) if day else None,
        D(given) if given else None,
        inverse,
        dt.date.fromisoformat(first),
        dt.date.fromisoformat(last),
    )


def test_notes_name_every_rate_and_day_used() -> None:
    notes = fx.conversion_notes(
        [
            use("GBP", "2024-09-01", "0.79", inverse=True, first="2024-09-03", last="2024-09-03"),
            use("EUR", "2024-09-01", "1.082300000000000000", first="2024-09-02"),
            use("EUR", "2024-08-01", "1.1", first="2024-08-31", last="2024-08-31"),
        ],
        "USD",
    )
    assert notes == (
        "converted from EUR to USD at the fx_rates rate in effect on each charge day, rounded "
        "to 10 decimals: 1.1 dated 2024-08-01 (charge days 2024-08-31); 1.0823 dated "
        "2024-09-01 (charge days 2024-09-02 to 2024-09-30)",
        "converted from GBP to USD at the fx_rates rate in effect on each charge day, rounded "
        "to 10 decimals: 1/0.79 (the USD→GBP rate, inverted) dated 2024-09-01 (charge days "
        "2024-09-03)",
    )
    many = [use("EUR", f"2024-09-{d:02d}", "1.1", first=f"2024-09-{d:02d}") for d in range(1, 10)]
    (note,) = fx.conversion_notes(many, "USD")
    assert note.count(" dated ") == fx.NOTE_RATES
    assert note.endswith("; and 3 more (see `costline fx list --currency EUR`)")


def test_a_day_without_a_rate_names_the_pair_and_the_first_day() -> None:
    uses = [
        use("EUR", "2024-09-01", "1.1"),
        use("EUR", None, None, first="2024-08-05", last="2024-08-31"),
        use("GBP", None, None, first="2024-08-20", last="2024-08-31"),
    ]
    with pytest.raises(ConfigError) as err:
        fx.conversion_notes(uses, "USD")
    assert err.value.key == "currency"
    assert "no exchange rate EUR→USD for 2024-08-05, the first charge day without one" in str(
        err.value
    )
    assert "nor a USD→EUR rate to invert" in str(err.value)
    assert err.value.hint and "2024-08-01,EUR,USD,RATE" in err.value.hint
    assert "fx-rates.csv" in err.value.hint and "`costline fx load`" in err.value.hint

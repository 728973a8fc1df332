"""The demo's fixed calendar: three full billing months, days as half-open UTC intervals.

The months are fixed (not "the last three months") so the same seed always yields the same
files, whatever day the generator runs.

Example:
    >>> [m.label for m in MONTHS]
    ['2026-07', '2026-08', '2026-09']
    >>> MONTHS[0].hours
    744
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class Month:
    """One billing month ``[start, end)``."""

    year: int
    month: int

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1)

    @property
    def end(self) -> datetime:
        return datetime(self.year + (self.month == 12), self.month % 12 + 1, 1)

    @property
    def days(self) -> list[date]:
        first = self.start.date()
        return [first + timedelta(days=i) for i in range((self.end - self.start).days)]

    @property
    def hours(self) -> int:
        return (self.end - self.start).days * 24


MONTHS: tuple[Month, ...] = (Month(2026, 7), Month(2026, 8), Month(2026, 9))
ALL_DAYS: tuple[date, ...] = tuple(d for m in MONTHS for d in m.days)


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day`` (naive UTC)."""
    return datetime(day.year, day.month, day.day)


def month_of(day: date) -> Month:
    """The demo month containing ``day``."""
    for month in MONTHS:
        if month.start.date() <= day < month.end.date():
            return month
    raise ValueError(f"{day} is outside the demo months")


def iso_ms(moment: datetime) -> str:
    """``2026-07-01T00:00:00.000Z`` (the form AWS uses for reservation/SP start and end)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")

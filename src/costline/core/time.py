"""Time is UTC; periods are half-open ``[start, end)`` as FOCUS defines them.

Example:
    >>> month_period(datetime(2024, 9, 15))
    (datetime.datetime(2024, 9, 1, 0, 0), datetime.datetime(2024, 10, 1, 0, 0))
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, as a naive UTC datetime (the warehouse stores naive UTC timestamps)."""
    return datetime.now(UTC).replace(tzinfo=None)


def month_period(moment: datetime) -> tuple[datetime, datetime]:
    """The calendar month containing ``moment``, as ``[start, end)``."""
    start = datetime(moment.year, moment.month, 1)
    end = datetime(moment.year + (moment.month == 12), moment.month % 12 + 1, 1)
    return start, end


def iso_z(moment: datetime) -> str:
    """Format a naive-UTC datetime as ISO 8601 with ``Z`` (the FOCUS DateTimeFormat)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

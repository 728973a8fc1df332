"""Time is UTC; periods are half-open ``[start, end)`` as FOCUS defines them.

Example:
    >>> month_period(datetime(2024, 9, 15))
    (datetime.datetime(2024, 9, 1, 0, 0), datetime.datetime(2024, 10, 1, 0, 0))
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


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


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """An HTTP ``Retry-After`` header as seconds to wait (a number, or an HTTP date); None
    when absent or unreadable.

    Example:
        >>> retry_after_seconds("2.5"), retry_after_seconds("soon")
        (2.5, None)
        >>> retry_after_seconds("Wed, 21 Oct 2026 07:28:10 GMT",
        ...                     now=datetime(2026, 10, 21, 7, 28, tzinfo=UTC))
        10.0
    """
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())

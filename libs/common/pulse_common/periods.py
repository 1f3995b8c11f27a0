"""Local dates of a project's timezone and the instants that bound them (DST included: a day may last 23 or 25 h)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant (UTC) the local ``day`` begins."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def local_days_window(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC covering the local days ``first`` to ``last``, both inclusive."""
    return local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)


def local_today(zone: ZoneInfo, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(zone).date()

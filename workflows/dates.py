"""Calendar arithmetic the programs count in, kept in one place so it is tested once.

Programs count whole days in their own time zone: a window closes at 23:59:59 local time on
its last day whatever the server's zone, and across daylight-saving changes that instant is
sometimes -05:00 and sometimes -04:00. Instants coming in must therefore be aware.
"""

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LAST_SECOND = time(23, 59, 59)

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def human(day: date) -> str:
    """A date as people read it in a sentence: "March 9, 2026" (whatever the server locale)."""
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def local_date(now: datetime, zone: ZoneInfo) -> date:
    """The calendar date of ``now`` in the program's zone; naive instants are refused."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (the rules count days in the program zone)")
    return now.astimezone(zone).date()


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The last second of ``day`` in the program's zone: when a window closes."""
    return datetime.combine(day, LAST_SECOND, tzinfo=zone)


def day_n(first_day: date, n: int) -> date:
    """Day ``n`` of a period whose day 1 is ``first_day`` (the programs count from 1)."""
    return first_day + timedelta(days=n - 1)


def add_days(day: date, days: int) -> date:
    """``day`` moved by a number of days (negative moves back)."""
    return day + timedelta(days=days)


def days_between(earlier: date, later: date) -> int:
    """Whole days from ``earlier`` to ``later`` (negative when they are the other way round)."""
    return (later - earlier).days


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (29 Feb + 12 months = 28 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))

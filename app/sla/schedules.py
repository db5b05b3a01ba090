"""Working-time schedules of SLA clocks: 24×7, or business hours on some weekdays in one IANA time zone,
minus the days off of the definition's holiday calendar (a country's public holidays from the ``holidays``
package, plus the desk's own dates): a holiday pauses the clock like a night.

A schedule answers two questions for the clock: how many working seconds lie between two instants, and
which instant is a given number of working seconds after another.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as public_holidays

from app.core.choices import SlaSchedule
from app.sla.models import HolidayCalendar, SlaDefinition

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
# A business-hours schedule is searched this far ahead for working time before giving up.
MAX_SEARCH_DAYS = 3 * 366


class AlwaysSchedule:
    """24×7: every second is a working second."""

    def working_seconds(self, start: dt.datetime, end: dt.datetime) -> float:
        return max((end - start).total_seconds(), 0.0)

    def add_working_seconds(self, start: dt.datetime, seconds: float) -> dt.datetime:
        return start + dt.timedelta(seconds=max(seconds, 0.0))


def _parse_clock(value: str) -> dt.timedelta:
    """'09:00' → 9 h after local midnight; '24:00' is the end of the day."""
    try:
        hours, minutes = (int(part) for part in value.strip().split(":"))
    except (AttributeError, ValueError) as exc:
        raise ValueError(f"{value!r} is not a time of day (HH:MM)") from exc
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        raise ValueError(f"{value!r} is not a time of day (HH:MM)")
    return dt.timedelta(hours=hours, minutes=minutes)


class BusinessHoursSchedule:
    """Working hours on some ISO weekdays in one IANA time zone.

    Instants are naive UTC (as stored); each working day's window is built in local wall-clock time
    and converted to UTC, so a day on which the clocks change still has its full working hours.
    """

    def __init__(self, day_start: str = "09:00", day_end: str = "17:00",
                 weekdays: Iterable[int] = (1, 2, 3, 4, 5), timezone: str = "UTC", days_off=None):
        self.day_start = _parse_clock(day_start)
        self.day_end = _parse_clock(day_end)
        if self.day_end <= self.day_start:
            raise ValueError(f"the working day must end after it starts ({day_start}–{day_end})")
        self.weekdays = frozenset(int(day) for day in weekdays)
        if not self.weekdays or not self.weekdays <= set(range(1, 8)):
            raise ValueError("working days must be ISO weekdays 1 (Monday) … 7 (Sunday), at least one")
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{timezone!r} is not a known time zone") from exc
        # Local dates without working hours (``date in days_off``): the holiday calendar.
        self.days_off = days_off if days_off is not None else frozenset()
        self._windows: dict[dt.date, tuple[dt.datetime, dt.datetime] | None] = {}

    def _local_date(self, instant: dt.datetime) -> dt.date:
        return instant.replace(tzinfo=UTC).astimezone(self.zone).date()

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The day's working window as naive UTC, or None on a day off (remembered per day: the time
        zone conversions are the cost of every business-hours clock)."""
        try:
            return self._windows[day]
        except KeyError:
            window = self._windows[day] = self._compute_window(day)
            return window

    def _compute_window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        if day.isoweekday() not in self.weekdays or day in self.days_off:
            return None
        midnight = dt.datetime.combine(day, dt.time.min, tzinfo=self.zone)

        def utc(offset: dt.timedelta) -> dt.datetime:
            # Aware + timedelta is wall-clock arithmetic; then re-resolve the local time's UTC offset.
            wall = (midnight + offset).replace(tzinfo=None)
            return wall.replace(tzinfo=self.zone).astimezone(UTC).replace(tzinfo=None)

        return utc(self.day_start), utc(self.day_end)

    def working_seconds(self, start: dt.datetime, end: dt.datetime) -> float:
        if end <= start:
            return 0.0
        total = 0.0
        day, last = self._local_date(start) - DAY, self._local_date(end)
        while day <= last:
            window = self._window(day)
            if window:
                low, high = max(window[0], start), min(window[1], end)
                if high > low:
                    total += (high - low).total_seconds()
            day += DAY
        return total

    def add_working_seconds(self, start: dt.datetime, seconds: float) -> dt.datetime:
        if seconds <= 0:
            return start
        remaining = dt.timedelta(seconds=seconds)
        day = self._local_date(start) - DAY
        for _ in range(MAX_SEARCH_DAYS):
            window = self._window(day)
            if window and window[1] > start:
                low = max(window[0], start)
                available = window[1] - low
                if remaining <= available:
                    return low + remaining
                remaining -= available
            day += DAY
        raise ValueError("the schedule has no working time in the next three years")


ALWAYS = AlwaysSchedule()


class DaysOff:
    """A holiday calendar's days: the country's (and subdivision's) public holidays, any year, plus own dates."""

    def __init__(self, country: str | None = None, subdivision: str | None = None, own: Iterable[dt.date] = ()):
        self.national = public_holidays.country_holidays(country, subdiv=subdivision or None) if country else None
        self.own = frozenset(own)

    def __contains__(self, day: dt.date) -> bool:
        return day in self.own or (self.national is not None and day in self.national)


def validate_calendar(country: str | None, subdivision: str | None) -> None:
    """Refuse a country or subdivision the ``holidays`` package does not know (ValueError with the reason)."""
    if not country:
        if subdivision:
            raise ValueError("a subdivision needs its country")
        return
    supported = public_holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(f"{country!r} is not a country code with a public holiday calendar (e.g. US, GB, DE)")
    if subdivision and subdivision not in supported[country]:
        raise ValueError(f"{subdivision!r} is not a subdivision of {country} "
                         f"(known: {', '.join(supported[country][:12])}{'…' if len(supported[country]) > 12 else ''})")


def calendar_key(calendar: HolidayCalendar | None) -> tuple:
    if calendar is None:
        return ()
    return (calendar.country or "", calendar.subdivision or "", tuple(sorted(day.day for day in calendar.dates)))


def schedule_for(definition: SlaDefinition):
    if definition.schedule == SlaSchedule.BUSINESS_HOURS:
        return _business_hours(definition.business_day_start or "09:00", definition.business_day_end or "17:00",
                               definition.business_days or "", definition.timezone or "UTC",
                               calendar_key(definition.holiday_calendar))
    return ALWAYS


@lru_cache(maxsize=64)
def _business_hours(day_start: str, day_end: str, days: str, timezone: str,
                    calendar: tuple = ()) -> BusinessHoursSchedule:
    """One schedule per distinct configuration, so its remembered day windows serve every later clock;
    keyed by the definition's values (and its calendar's days), so an edit gets a schedule of its own."""
    days_off = DaysOff(calendar[0], calendar[1], calendar[2]) if calendar else None
    return BusinessHoursSchedule(day_start, day_end, [int(day) for day in days.split(",") if day.strip()], timezone,
                                 days_off)

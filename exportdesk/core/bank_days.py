"""Days Japanese banks are open: a proforma's due date counts these, since the customer's
transfer lands in the exporter's account in Japan.

Banks close on Saturdays, Sundays, national holidays and 31 December to 3 January (Banking Act
enforcement order, Art. 5). National holidays follow the Act on National Holidays as amended for
2020 onwards: fixed dates, "Happy Monday" holidays, the two equinoxes, a substitute holiday when
one falls on a Sunday, and a "citizens' holiday" on a weekday between two holidays. Earlier years
had other rules (and 2020-2021 moved days for the Olympics); due dates lie ahead, so only years
from 2022 are computed and an earlier date counts weekends only.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

FIRST_YEAR = 2022

_FIXED = (
    (1, 1),  # New Year's Day
    (2, 11),  # National Foundation Day
    (2, 23),  # The Emperor's Birthday
    (4, 29),  # Showa Day
    (5, 3),  # Constitution Memorial Day
    (5, 4),  # Greenery Day
    (5, 5),  # Children's Day
    (8, 11),  # Mountain Day
    (11, 3),  # Culture Day
    (11, 23),  # Labour Thanksgiving Day
)
# (month, which Monday): Coming of Age Day, Marine Day, Respect for the Aged Day, Sports Day.
_MONDAYS = ((1, 2), (7, 3), (9, 3), (10, 2))
_BANK_NEW_YEAR = ((12, 31), (1, 2), (1, 3))


def _nth_monday(year: int, month: int, nth: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7 + 7 * (nth - 1))


def _equinoxes(year: int) -> tuple[date, date]:
    # The National Astronomical Observatory's approximation, exact for 1980-2099: the days are
    # announced each February for the next year and have matched it.
    shift = 0.242194 * (year - 1980) - (year - 1980) // 4
    return date(year, 3, int(20.8431 + shift)), date(year, 9, int(23.2488 + shift))


@cache
def national_holidays(year: int) -> frozenset[date]:
    """Japan's national holidays in `year` (from FIRST_YEAR), substitute and citizens' holidays
    included."""
    if year < FIRST_YEAR:
        return frozenset()
    named = {date(year, month, day) for month, day in _FIXED}
    named |= {_nth_monday(year, month, nth) for month, nth in _MONDAYS}
    named |= set(_equinoxes(year))
    days = set(named)
    for holiday in named:
        if holiday.weekday() == 6:  # on a Sunday: the next day that is not a holiday
            substitute = holiday + timedelta(days=1)
            while substitute in named:
                substitute += timedelta(days=1)
            days.add(substitute)
        between = holiday + timedelta(days=1)
        if between not in named and between + timedelta(days=1) in named:
            days.add(between)  # a citizens' holiday (in September, when the days fall so)
    return frozenset(days)


def bank_open(day: date) -> bool:
    if day.weekday() >= 5 or (day.month, day.day) in _BANK_NEW_YEAR:
        return False
    return day not in national_holidays(day.year)


def bank_days_after(start: date, days: int) -> date:
    """The `days`-th day after `start` on which Japanese banks are open."""
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if bank_open(current):
            remaining -= 1
    return current

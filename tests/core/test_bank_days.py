"""The days Japanese banks are open, which a proforma's due date counts: checked against the
Cabinet Office's published holiday lists and the banks' New Year closure."""

from __future__ import annotations

from datetime import date

import pytest

from exportdesk.core.bank_days import bank_days_after, bank_open, national_holidays

# As published by the Cabinet Office (内閣府「国民の祝日について」).
HOLIDAYS_2026 = [
    "01-01", "01-12", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06",
    "07-20", "08-11", "09-21", "09-22", "09-23", "10-12", "11-03", "11-23",
]  # fmt: skip
HOLIDAYS_2027 = [
    "01-01", "01-11", "02-11", "02-23", "03-21", "03-22", "04-29", "05-03", "05-04", "05-05",
    "07-19", "08-11", "09-20", "09-23", "10-11", "11-03", "11-23",
]  # fmt: skip


@pytest.mark.parametrize(("year", "published"), [(2026, HOLIDAYS_2026), (2027, HOLIDAYS_2027)])
def test_it_knows_the_published_national_holidays(year, published):
    assert sorted(d.strftime("%m-%d") for d in national_holidays(year)) == published


def test_a_sunday_holiday_moves_to_the_next_free_day_and_a_day_between_two_is_a_holiday():
    # 2026: Constitution Day falls on a Sunday and 4 and 5 May are holidays already.
    assert date(2026, 5, 6) in national_holidays(2026)
    # 2032: 21 September lies between Respect for the Aged Day and the autumn equinox.
    assert date(2032, 9, 21) in national_holidays(2032)


def test_banks_close_at_the_new_year_and_at_weekends():
    for closed in (date(2026, 12, 31), date(2027, 1, 2), date(2027, 1, 3), date(2026, 11, 21)):
        assert not bank_open(closed)
    assert bank_open(date(2027, 1, 4)) and bank_open(date(2026, 12, 30))


def test_counting_bank_days_skips_golden_week_and_the_new_year():
    # Thursday 30 April 2026: Friday 1 May, then 7, 8, 11 and 12 May (4-6 May are holidays).
    assert bank_days_after(date(2026, 4, 30), 5) == date(2026, 5, 12)
    # Monday 28 December 2026: 29, 30 December, then 4, 5, 6 January.
    assert bank_days_after(date(2026, 12, 28), 5) == date(2027, 1, 6)
    # An ordinary week: the weekend only.
    assert bank_days_after(date(2026, 11, 6), 5) == date(2026, 11, 13)
    # Friday 20 November 2026: the weekend, then Labour Thanksgiving Day on Monday the 23rd.
    assert bank_days_after(date(2026, 11, 20), 5) == date(2026, 11, 30)

"""Periods and fiscal years, with answers worked out on a calendar (today: 15 April 2026)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from crm.reports.periods import (
    FiscalCalendar,
    Period,
    PeriodKind,
    add_months,
    check_custom,
    months_between,
    period_for,
)

D = dt.date
MADRID = ZoneInfo("Europe/Madrid")
JANUARY = FiscalCalendar(1)
APRIL = FiscalCalendar(4)
TODAY = D(2026, 4, 15)


@pytest.mark.parametrize(
    ("day", "months", "month_end", "expected"),
    [
        (D(2026, 1, 31), 1, False, D(2026, 2, 28)),  # kept inside February
        (D(2024, 1, 31), 1, False, D(2024, 2, 29)),  # a leap year
        (D(2026, 3, 15), -3, False, D(2025, 12, 15)),  # across a year
        (D(2026, 4, 30), -1, False, D(2026, 3, 30)),
        (D(2026, 4, 30), -1, True, D(2026, 3, 31)),  # a month's last day stays its last
        (D(2026, 2, 28), -12, True, D(2025, 2, 28)),
        (D(2025, 2, 28), -12, True, D(2024, 2, 29)),
        (D(2026, 4, 15), -1, True, D(2026, 3, 15)),  # not a last day: the same day
        (D(2026, 4, 15), 0, False, D(2026, 4, 15)),
    ],
)
def test_add_months(day, months, month_end, expected):
    assert add_months(day, months, month_end=month_end) == expected


def test_a_fiscal_year_starting_in_april_is_named_by_its_first_year():
    # given a fiscal year from April
    # then April 2026 to March 2027 is "2026/27"; March 2026 is still 2025/26
    assert APRIL.year_of(D(2026, 4, 1)) == 2026
    assert APRIL.year_of(D(2026, 3, 31)) == 2025
    assert APRIL.year_of(D(2027, 3, 31)) == 2026
    assert APRIL.year_start(2026) == D(2026, 4, 1)
    assert APRIL.year_end(2026) == D(2027, 3, 31)
    assert APRIL.year_label(2026) == "2026/27"
    assert APRIL.year_label(1999) == "1999/00"


def test_a_fiscal_year_starting_in_january_is_the_calendar_year():
    assert JANUARY.year_of(D(2026, 1, 1)) == 2026
    assert JANUARY.year_of(D(2025, 12, 31)) == 2025
    assert JANUARY.year_start(2026) == D(2026, 1, 1)
    assert JANUARY.year_end(2026) == D(2026, 12, 31)
    assert JANUARY.year_label(2026) == "2026"


@pytest.mark.parametrize(
    ("fiscal", "day", "index", "quarter", "quarter_start", "label"),
    [
        (APRIL, D(2026, 4, 15), 0, 1, D(2026, 4, 1), "Q1 2026/27"),
        (APRIL, D(2026, 6, 30), 2, 1, D(2026, 4, 1), "Q1 2026/27"),
        (APRIL, D(2026, 7, 1), 3, 2, D(2026, 7, 1), "Q2 2026/27"),
        (APRIL, D(2026, 12, 31), 8, 3, D(2026, 10, 1), "Q3 2026/27"),
        (APRIL, D(2026, 1, 1), 9, 4, D(2026, 1, 1), "Q4 2025/26"),
        (APRIL, D(2026, 3, 31), 11, 4, D(2026, 1, 1), "Q4 2025/26"),
        (JANUARY, D(2026, 4, 15), 3, 2, D(2026, 4, 1), "Q2 2026"),
        (JANUARY, D(2026, 3, 31), 2, 1, D(2026, 1, 1), "Q1 2026"),
        (JANUARY, D(2025, 12, 31), 11, 4, D(2025, 10, 1), "Q4 2025"),
    ],
)
def test_fiscal_months_and_quarters(fiscal, day, index, quarter, quarter_start, label):
    assert fiscal.month_index(day) == index
    assert fiscal.quarter_of(day) == quarter
    assert fiscal.quarter_start(day) == quarter_start
    with translation.override("en"):
        assert fiscal.quarter_label(day) == label


@pytest.mark.parametrize(
    ("fiscal", "kind", "period", "previous", "previous_year"),
    [
        # This month to date; the month before to the same day; April 2025 to the same day.
        (
            JANUARY,
            PeriodKind.MONTH,
            (D(2026, 4, 1), D(2026, 4, 15)),
            (D(2026, 3, 1), D(2026, 3, 15)),
            (D(2025, 4, 1), D(2025, 4, 15)),
        ),
        (
            JANUARY,
            PeriodKind.QUARTER,
            (D(2026, 4, 1), D(2026, 4, 15)),
            (D(2026, 1, 1), D(2026, 1, 15)),
            (D(2025, 4, 1), D(2025, 4, 15)),
        ),
        (
            JANUARY,
            PeriodKind.YEAR,
            (D(2026, 1, 1), D(2026, 4, 15)),
            (D(2025, 1, 1), D(2025, 4, 15)),
            (D(2025, 1, 1), D(2025, 4, 15)),
        ),
        # Last month is whole, and so is the one before it (February ends on the 28th).
        (
            JANUARY,
            PeriodKind.LAST_MONTH,
            (D(2026, 3, 1), D(2026, 3, 31)),
            (D(2026, 2, 1), D(2026, 2, 28)),
            (D(2025, 3, 1), D(2025, 3, 31)),
        ),
        (
            JANUARY,
            PeriodKind.LAST_QUARTER,
            (D(2026, 1, 1), D(2026, 3, 31)),
            (D(2025, 10, 1), D(2025, 12, 31)),
            (D(2025, 1, 1), D(2025, 3, 31)),
        ),
        (
            JANUARY,
            PeriodKind.LAST_YEAR,
            (D(2025, 1, 1), D(2025, 12, 31)),
            (D(2024, 1, 1), D(2024, 12, 31)),
            (D(2024, 1, 1), D(2024, 12, 31)),
        ),
        # From April, 15 April is the first fortnight of Q1 and of fiscal year 2026/27.
        (
            APRIL,
            PeriodKind.QUARTER,
            (D(2026, 4, 1), D(2026, 4, 15)),
            (D(2026, 1, 1), D(2026, 1, 15)),
            (D(2025, 4, 1), D(2025, 4, 15)),
        ),
        (
            APRIL,
            PeriodKind.YEAR,
            (D(2026, 4, 1), D(2026, 4, 15)),
            (D(2025, 4, 1), D(2025, 4, 15)),
            (D(2025, 4, 1), D(2025, 4, 15)),
        ),
        (
            APRIL,
            PeriodKind.LAST_QUARTER,
            (D(2026, 1, 1), D(2026, 3, 31)),
            (D(2025, 10, 1), D(2025, 12, 31)),
            (D(2025, 1, 1), D(2025, 3, 31)),
        ),
        (
            APRIL,
            PeriodKind.LAST_YEAR,
            (D(2025, 4, 1), D(2026, 3, 31)),
            (D(2024, 4, 1), D(2025, 3, 31)),
            (D(2024, 4, 1), D(2025, 3, 31)),
        ),
    ],
)
def test_named_periods_end_today_and_compare_to_the_same_day(
    fiscal, kind, period, previous, previous_year
):
    # when
    current = period_for(kind, today=TODAY, fiscal=fiscal)

    # then
    assert (current.start, current.end, current.kind) == (*period, kind)
    assert (current.previous().start, current.previous().end) == previous
    assert (current.previous_year().start, current.previous_year().end) == previous_year


@pytest.mark.parametrize(
    ("today", "kind", "period", "previous"),
    [
        # On the last day of a month "to date" is the whole month, compared with a whole month.
        (
            D(2026, 3, 31),
            PeriodKind.MONTH,
            (D(2026, 3, 1), D(2026, 3, 31)),
            (D(2026, 2, 1), D(2026, 2, 28)),
        ),
        (
            D(2026, 4, 30),
            PeriodKind.MONTH,
            (D(2026, 4, 1), D(2026, 4, 30)),
            (D(2026, 3, 1), D(2026, 3, 31)),
        ),
        # A day February does not have: up to its last day.
        (
            D(2026, 3, 30),
            PeriodKind.MONTH,
            (D(2026, 3, 1), D(2026, 3, 30)),
            (D(2026, 2, 1), D(2026, 2, 28)),
        ),
        # Quarter to date two months in (fiscal year from April: Q4 is January to March).
        (
            D(2026, 2, 28),
            PeriodKind.QUARTER,
            (D(2026, 1, 1), D(2026, 2, 28)),
            (D(2025, 10, 1), D(2025, 11, 30)),
        ),
        # A leap day: the year before ends on 28 February.
        (
            D(2028, 2, 29),
            PeriodKind.YEAR,
            (D(2027, 4, 1), D(2028, 2, 29)),
            (D(2026, 4, 1), D(2027, 2, 28)),
        ),
    ],
)
def test_periods_to_date_at_the_end_of_a_month(today, kind, period, previous):
    current = period_for(kind, today=today, fiscal=APRIL)

    assert (current.start, current.end) == period
    assert (current.previous().start, current.previous().end) == previous


def test_a_custom_period_is_compared_with_as_many_days_before():
    # given ten days
    period = Period(D(2026, 3, 10), D(2026, 3, 19))

    # then the ten days before (February 2026 has 28 days) and the same days a year before
    assert period.days == 10
    assert period.previous() == Period(D(2026, 2, 28), D(2026, 3, 9))
    assert period.previous_year() == Period(D(2025, 3, 10), D(2025, 3, 19))


def test_a_period_is_whole_days_in_madrid_time():
    # March 2026 starts in winter time (UTC+1) and ends in summer time (UTC+2).
    start, end = Period(D(2026, 3, 1), D(2026, 3, 31)).bounds(MADRID)

    assert start == dt.datetime(2026, 2, 28, 23, 0, tzinfo=dt.UTC)
    assert end == dt.datetime(2026, 3, 31, 22, 0, tzinfo=dt.UTC)
    assert Period(D(2026, 3, 1), D(2026, 3, 31)).contains(D(2026, 3, 31))
    assert not Period(D(2026, 3, 1), D(2026, 3, 31)).contains(D(2026, 4, 1))


def test_unknown_period_kind():
    with pytest.raises(ValueError, match="fortnight"):
        period_for("fortnight", today=TODAY, fiscal=JANUARY)


@pytest.mark.parametrize(
    ("start", "end", "error"),
    [
        (D(2026, 4, 15), D(2026, 4, 15), None),  # one day
        (D(2026, 4, 15), D(2026, 4, 14), "The end date is before the start date."),
        (D(2020, 1, 1), D(2029, 12, 31), None),  # exactly ten years
        (D(2020, 1, 1), D(2030, 1, 1), "A period can cover at most 10 years."),
    ],
)
def test_check_custom(start, end, error):
    with translation.override("en"):
        assert check_custom(start, end) == error


def test_months_between():
    assert months_between(D(2025, 11, 20), D(2026, 2, 3)) == [
        D(2025, 11, 1),
        D(2025, 12, 1),
        D(2026, 1, 1),
        D(2026, 2, 1),
    ]
    assert months_between(D(2026, 4, 15), D(2026, 4, 15)) == [D(2026, 4, 1)]

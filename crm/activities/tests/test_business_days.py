from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.activities.business_days import add_business_days, configured_regions, is_business_day

NATIONAL = ()
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


def test_friday_plus_one_is_monday():
    assert add_business_days(date(2026, 11, 27), 1, regions=NATIONAL) == date(2026, 11, 30)


def test_saturday_plus_one_is_monday():
    assert add_business_days(date(2026, 11, 28), 1, regions=NATIONAL) == date(2026, 11, 30)


def test_national_holidays_are_skipped():
    # 2026-12-07 Monday, 12-08 Immaculate Conception (national).
    assert add_business_days(date(2026, 12, 7), 1, regions=NATIONAL) == date(2026, 12, 9)
    # Christmas 2026 is a Friday: from Thursday 24, one business day is Monday 28.
    assert add_business_days(date(2026, 12, 24), 1, regions=NATIONAL) == date(2026, 12, 28)


def test_good_friday_is_national_but_madrid_day_is_regional():
    assert not is_business_day(date(2026, 4, 3), regions=NATIONAL)
    # 2 May 2025 (Friday) is the Community of Madrid's day: a business day nationally.
    assert is_business_day(date(2025, 5, 2), regions=NATIONAL)
    assert not is_business_day(date(2025, 5, 2), regions=("MD",))
    assert add_business_days(date(2025, 5, 1), 1, regions=("MD",)) == date(2025, 5, 5)


def test_zero_on_a_holiday_rolls_forward():
    assert add_business_days(date(2026, 1, 1), 0, regions=NATIONAL) == date(2026, 1, 2)
    assert add_business_days(date(2026, 1, 5), 0, regions=NATIONAL) == date(2026, 1, 5)


def test_negative_is_refused():
    with pytest.raises(ValueError, match="zero or positive"):
        add_business_days(date(2026, 1, 5), -1, regions=NATIONAL)


def test_regions_come_from_the_setting(settings):
    settings.CRM_HOLIDAY_SUBDIVISION = "md, ct"
    assert configured_regions() == ("MD", "CT")
    settings.CRM_HOLIDAY_SUBDIVISION = ""
    assert configured_regions() == ()


@given(start=days, n=st.integers(min_value=0, max_value=30))
def test_result_is_a_business_day_never_earlier(start, n):
    result = add_business_days(start, n, regions=NATIONAL)
    assert is_business_day(result, regions=NATIONAL)
    assert result >= start
    if n > 0:
        assert result > start


@given(start=days, n=st.integers(min_value=1, max_value=30))
def test_exactly_n_business_days_in_between(start, n):
    result = add_business_days(start, n, regions=NATIONAL)
    counted = sum(
        is_business_day(start + timedelta(days=i), regions=NATIONAL)
        for i in range(1, (result - start).days + 1)
    )
    assert counted == n

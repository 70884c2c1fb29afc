"""Business days: weekdays that are not Spanish public holidays.

Spain's national holidays come from the `holidays` package (`country_holidays("ES")` with no
subdivision gives the national ones only). A business in one region adds that region's
holidays with the setting `CRM_HOLIDAY_SUBDIVISION` (environment variable of the same name),
an ISO 3166-2 code without the country: "MD" (Madrid), "CT" (Catalonia), "AN" (Andalusia)...
Pure functions: they read no database.
"""

import os
from datetime import date, timedelta
from functools import lru_cache

import holidays
from django.conf import settings


def configured_regions() -> tuple[str, ...]:
    """The regions whose holidays also count, from the settings or the environment."""
    value = getattr(settings, "CRM_HOLIDAY_SUBDIVISION", None)
    if value is None:
        value = os.environ.get("CRM_HOLIDAY_SUBDIVISION", "")
    if isinstance(value, list | tuple):
        return tuple(str(v).strip().upper() for v in value if str(v).strip())
    return tuple(v.strip().upper() for v in str(value).split(",") if v.strip())


@lru_cache(maxsize=64)
def _holidays(year: int, regions: tuple[str, ...]) -> frozenset[date]:
    days = set(holidays.country_holidays("ES", years=year).keys())
    for region in regions:
        days |= set(holidays.country_holidays("ES", subdiv=region, years=year).keys())
    return frozenset(days)


def is_business_day(day: date, *, regions: tuple[str, ...] | None = None) -> bool:
    if regions is None:
        regions = configured_regions()
    return day.weekday() < 5 and day not in _holidays(day.year, tuple(regions))


def add_business_days(start: date, n: int, *, regions: tuple[str, ...] | None = None) -> date:
    """The n-th business day after `start` (n >= 0): from a Friday, 1 gives Monday; from a
    Saturday, 1 gives Monday too. With n = 0, `start` itself if it is a business day, else
    the next one (a weekend or holiday rolls forward)."""
    if n < 0:
        raise ValueError("n must be zero or positive")
    if regions is None:
        regions = configured_regions()
    regions = tuple(regions)
    day = start
    if n == 0:
        while not is_business_day(day, regions=regions):
            day += timedelta(days=1)
        return day
    remaining = n
    while remaining:
        day += timedelta(days=1)
        if is_business_day(day, regions=regions):
            remaining -= 1
    return day

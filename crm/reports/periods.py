"""Periods and fiscal years: which days a figure covers, and what it is compared with.

A period is a span of whole days in the company's time zone (both ends included). Figures
place a record in a period by a moment (created, closed, sent...) converted to that time zone,
so a deal closed at 23:30 UTC on 31 March counts in April in Madrid.
"""

import calendar
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_YEARS = 10


class PeriodKind:
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    LAST_MONTH = "last_month"
    LAST_QUARTER = "last_quarter"
    LAST_YEAR = "last_year"
    CUSTOM = "custom"

    CHOICES = [
        (MONTH, gettext_lazy("This month")),
        (QUARTER, gettext_lazy("This quarter")),
        (YEAR, gettext_lazy("This fiscal year")),
        (LAST_MONTH, gettext_lazy("Last month")),
        (LAST_QUARTER, gettext_lazy("Last quarter")),
        (LAST_YEAR, gettext_lazy("Last fiscal year")),
        (CUSTOM, gettext_lazy("Custom")),
    ]


def add_months(day: dt.date, months: int, *, month_end: bool = False) -> dt.date:
    """The same day `months` later (or earlier), kept inside the target month. With
    `month_end`, a last day of a month maps to the last day of the target month, so that a
    whole month or quarter stays whole when it is shifted."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    if month_end and day.day == calendar.monthrange(day.year, day.month)[1]:
        return dt.date(year, month, last)
    return dt.date(year, month, min(day.day, last))


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


@dataclass(frozen=True)
class FiscalCalendar:
    """The company's fiscal year: it starts on the first day of `start_month`.

    A fiscal year is named by the calendar year it starts in (2026 for April 2026 to March
    2027) and labelled "2026/27" when it does not start in January."""

    start_month: int = 1

    def year_of(self, day: dt.date) -> int:
        return day.year if day.month >= self.start_month else day.year - 1

    def year_start(self, year: int) -> dt.date:
        return dt.date(year, self.start_month, 1)

    def year_end(self, year: int) -> dt.date:
        return self.year_start(year + 1) - dt.timedelta(days=1)

    def year_label(self, year: int) -> str:
        if self.start_month == 1:
            return str(year)
        return f"{year}/{(year + 1) % 100:02d}"

    def month_index(self, day: dt.date) -> int:
        """0 for the fiscal year's first month, 11 for its last."""
        return (day.month - self.start_month) % 12

    def quarter_of(self, day: dt.date) -> int:
        """1 to 4: the fiscal quarter the day falls in."""
        return self.month_index(day) // 3 + 1

    def quarter_start(self, day: dt.date) -> dt.date:
        return add_months(month_start(day), -(self.month_index(day) % 3))

    def quarter_label(self, day: dt.date) -> str:
        return _("Q%(quarter)s %(year)s") % {
            "quarter": self.quarter_of(day),
            "year": self.year_label(self.year_of(day)),
        }


@dataclass(frozen=True)
class Period:
    """Whole days from `start` to `end`, both included."""

    start: dt.date
    end: dt.date
    kind: str = PeriodKind.CUSTOM

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """The period as aware datetimes [from, to) in `tz`, for filters on moments."""
        start = dt.datetime.combine(self.start, dt.time.min, tzinfo=tz)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        return start, end

    def label(self) -> str:
        """ "01/04/2026 to 15/04/2026", in the active language."""
        return _("%(start)s to %(end)s") % {
            "start": formats.date_format(self.start, "SHORT_DATE_FORMAT"),
            "end": formats.date_format(self.end, "SHORT_DATE_FORMAT"),
        }

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def shifted(self, months: int) -> "Period":
        return Period(
            add_months(self.start, months),
            add_months(self.end, months, month_end=True),
            self.kind,
        )

    def previous(self) -> "Period":
        """The period just before, of the same kind: the month, quarter or fiscal year before
        (up to the same day when this one runs to today), or as many days before."""
        step = {
            PeriodKind.MONTH: -1,
            PeriodKind.LAST_MONTH: -1,
            PeriodKind.QUARTER: -3,
            PeriodKind.LAST_QUARTER: -3,
            PeriodKind.YEAR: -12,
            PeriodKind.LAST_YEAR: -12,
        }.get(self.kind)
        if step is not None:
            return self.shifted(step)
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end, self.kind)

    def previous_year(self) -> "Period":
        """The same days one fiscal year earlier."""
        return self.shifted(-12)


def period_for(kind: str, *, today: dt.date, fiscal: FiscalCalendar) -> Period:
    """A named period as of `today`; periods that contain today end today, so that they
    compare like with like against earlier ones ("to date")."""
    if kind in (PeriodKind.MONTH, PeriodKind.LAST_MONTH):
        start = month_start(today)
        if kind == PeriodKind.LAST_MONTH:
            start = add_months(start, -1)
            return Period(start, month_end(start), kind)
        return Period(start, today, kind)
    if kind in (PeriodKind.QUARTER, PeriodKind.LAST_QUARTER):
        start = fiscal.quarter_start(today)
        if kind == PeriodKind.LAST_QUARTER:
            start = add_months(start, -3)
            return Period(start, add_months(start, 3) - dt.timedelta(days=1), kind)
        return Period(start, today, kind)
    if kind in (PeriodKind.YEAR, PeriodKind.LAST_YEAR):
        year = fiscal.year_of(today)
        if kind == PeriodKind.LAST_YEAR:
            return Period(fiscal.year_start(year - 1), fiscal.year_end(year - 1), kind)
        return Period(fiscal.year_start(year), today, kind)
    raise ValueError(kind)


def check_custom(start: dt.date, end: dt.date) -> str | None:
    """Why a custom period cannot be used, or None."""
    if end < start:
        return _("The end date is before the start date.")
    if end >= add_months(start, 12 * MAX_YEARS):
        return _("A period can cover at most %(years)s years.") % {"years": MAX_YEARS}
    return None


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of every month from `start`'s to `end`'s, both included."""
    months = []
    current = month_start(start)
    while current <= end:
        months.append(current)
        current = add_months(current, 1)
    return months

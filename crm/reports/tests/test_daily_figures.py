"""The daily summary gives the same figures as counting the records themselves."""

import datetime as dt

import pytest
import time_machine

from crm.reports import metrics
from crm.reports.models import DailyFigure, SummaryState
from crm.reports.periods import Period, PeriodKind
from crm.reports.selectors import ReportSpec, dashboard, report
from crm.reports.services import LIVE_DAYS, daily_figures_rebuild
from crm.reports.tests.fixtures import NOW, build_data_set, use_fiscal_year

pytestmark = pytest.mark.django_db

WHOLE = Period(dt.date(2024, 4, 1), dt.date(2026, 4, 15), PeriodKind.CUSTOM)
SPECS = [
    ("revenue_won", None, "monthly"),
    ("revenue_won", "owner", "monthly"),
    ("win_rate", "team", "cumulative"),
    ("lead_conversion", "role", "monthly"),
    ("activities_per_won", "owner", "yoy"),
    ("acceptance_rate", None, "yoy"),
    ("sales_cycle", "channel", "monthly"),  # not in the summary: all from the records
]


def _figures(user, settings):
    kpis = dashboard(user=user, period=WHOLE, settings=settings)["kpis"]
    pages = [
        [
            [(row.label, [c.value for c in row.cells]) for row in table.rows]
            for table in report(
                user=user,
                spec=ReportSpec(key, dimension, "quarter", view, WHOLE),
                settings=settings,
            ).tables
        ]
        for key, dimension, view in SPECS
    ]
    filtered = metrics.totals(
        user=user,
        measures=list(metrics.MEASURES),
        periods=[WHOLE, Period(dt.date(2026, 1, 1), dt.date(2026, 3, 31))],
        tz=settings.tz,
        filters={"owner": str(user.pk)},
    )
    return [(k.key, k.values[:2]) for k in kpis], pages, filtered


@pytest.mark.parametrize("start_month", [1, 4])
def test_the_summary_and_the_records_give_the_same_figures(start_month):
    data = build_data_set()
    settings = use_fiscal_year(start_month)
    with time_machine.travel(NOW, tick=False):
        counted = {who: _figures(getattr(data, who), settings) for who in ("admin", "marta", "ana")}

        # when the summary is built: the days before the live window come from it
        rows = daily_figures_rebuild(today=settings.today(), tz=settings.tz)
        assert rows > 0
        assert SummaryState.objects.get().until == settings.today() - dt.timedelta(days=LIVE_DAYS)
        assert DailyFigure.objects.filter(day__lt=SummaryState.objects.get().until).exists()
        assert metrics._summary_until(settings.tz) is not None  # the summary is read

        # then every figure is the same
        for who, figures in counted.items():
            assert _figures(getattr(data, who), settings) == figures, who


def test_a_summary_older_than_yesterday_is_not_used():
    data = build_data_set()
    settings = use_fiscal_year(1)
    with time_machine.travel(NOW, tick=False):
        daily_figures_rebuild(today=settings.today(), tz=settings.tz)
        DailyFigure.objects.update(revenue_won=999999)  # would show if it were read
    with time_machine.travel(NOW + dt.timedelta(days=2), tick=False):
        values = metrics.totals(
            user=data.admin, measures=["revenue_won"], periods=[WHOLE], tz=settings.tz
        )
    assert values[0]["revenue_won"] < 999999


def test_yesterdays_summary_is_used_with_a_longer_live_window():
    data = build_data_set()
    settings = use_fiscal_year(1)
    with time_machine.travel(NOW, tick=False):
        daily_figures_rebuild(today=settings.today(), tz=settings.tz)
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        assert metrics._summary_until(settings.tz) == SummaryState.objects.get().until
        with_summary = _figures(data.admin, settings)
        SummaryState.objects.all().delete()
        assert _figures(data.admin, settings) == with_summary

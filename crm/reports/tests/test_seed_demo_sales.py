import datetime as dt
from collections import defaultdict
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from crm.activities.models import Activity, ActivityStatus
from crm.leads.models import Lead, LeadStatus
from crm.reports.models import PipelineSnapshot, Target
from crm.reports.selectors import report_settings
from crm.sales import money
from crm.sales.models import (
    Opportunity,
    Product,
    Quote,
    QuoteLine,
    QuoteSequence,
    QuoteStatus,
    StageChange,
    StageKind,
)
from crm.sales.services import quote_number_next

pytestmark = pytest.mark.django_db

DEALS = 300
# Early in the fiscal year, a Monday: the history is dated from it, so it is the same every run.
NOW = dt.datetime(2026, 2, 16, 10, 0, tzinfo=ZoneInfo("Europe/Madrid"))


@pytest.fixture
def seeded():
    """The demo accounts and leads of a new installation, then the demo sales, on NOW; the
    test runs on NOW too. Returns the sales command's output."""
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", accounts=80, seed=1, stdout=StringIO())
        call_command("seed_demo_leads", leads=60, seed=2, stdout=StringIO())
        out = StringIO()
        call_command("seed_demo_sales", deals=DEALS, seed=3, stdout=out)
        yield out.getvalue()


def _local_month(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, report_settings().tz).date().replace(day=1)


def test_demo_deals_cover_the_last_two_years_up_to_today(seeded):
    deals = list(Opportunity.objects.select_related("stage"))

    assert len(deals) == DEALS
    assert len({_local_month(d.created_at) for d in deals}) >= 18
    assert max(d.created_at for d in deals) <= timezone.now()
    assert min(d.created_at for d in deals) >= timezone.now() - dt.timedelta(days=731)
    closed = [d for d in deals if d.stage.kind != StageKind.OPEN]
    won = [d for d in closed if d.stage.kind == StageKind.WON]
    assert 0.45 <= len(closed) / len(deals) <= 0.65
    assert 0.3 <= len(won) / len(closed) <= 0.5
    assert all(Decimal(800) <= d.amount <= Decimal(40000) for d in deals)
    assert all(d.search_text and d.team_id == d.owner.team_id for d in deals)
    assert f"Created {DEALS} demo deals" in seeded


def test_every_deal_moved_through_its_stages_in_order(seeded):
    deals = {d.pk: d for d in Opportunity.objects.select_related("stage")}
    history = defaultdict(list)
    for change in StageChange.objects.select_related("to_stage").order_by("changed_at", "pk"):
        history[change.opportunity_id].append(change)

    assert set(history) == set(deals)
    for deal_id, changes in history.items():
        deal = deals[deal_id]
        first, last = changes[0], changes[-1]
        assert first.from_stage_id is None
        assert first.changed_at == deal.created_at
        for earlier, later in zip(changes, changes[1:], strict=False):
            assert earlier.left_at == later.changed_at > earlier.changed_at
            assert later.from_stage_id == earlier.to_stage_id
        open_positions = [c.to_stage.position for c in changes if c.to_stage.kind == "open"]
        assert open_positions == sorted(open_positions)
        assert last.left_at is None
        assert last.to_stage_id == deal.stage_id
        assert last.changed_at == deal.stage_changed_at <= timezone.now()


def test_closed_deals_are_closed_after_they_were_opened_and_won_ones_are_won(seeded):
    deals = list(Opportunity.objects.select_related("stage"))

    for deal in deals:
        if deal.stage.kind == StageKind.OPEN:
            assert deal.closed_at is None
            assert deal.probability == deal.stage.probability
            assert deal.expected_close_date is not None
        else:
            assert deal.closed_at >= deal.created_at
            assert deal.closed_at == deal.stage_changed_at
        if deal.stage.kind == StageKind.LOST:
            assert deal.lost_reason_id is not None
    accepted = Opportunity.objects.filter(quotes__status=QuoteStatus.ACCEPTED)
    assert accepted.exists()
    assert not accepted.exclude(stage__kind=StageKind.WON).exists()


def test_quotes_are_numbered_once_per_year_and_add_up(seeded):
    quotes = list(Quote.objects.select_related("opportunity"))
    lines = defaultdict(list)
    for line in QuoteLine.objects.all():
        lines[line.quote_id].append(line)

    assert Product.objects.count() == 12
    assert 0.3 <= len(quotes) / DEALS <= 0.5
    assert len({q.number for q in quotes}) == len(quotes)
    for quote in quotes:
        assert quote.number == f"P-{quote.year}-{quote.sequence:04d}"
        assert quote.opportunity.created_at <= quote.sent_at
        assert 1 <= len(lines[quote.pk]) <= 4
        for line in lines[quote.pk]:
            assert line.base == money.line_base(
                line.quantity, line.unit_price, line.discount_percent
            )
        totals = money.totals((line.base, line.vat_rate) for line in lines[quote.pk])
        assert (quote.subtotal, quote.tax_total, quote.total) == (
            totals.subtotal,
            totals.tax_total,
            totals.total,
        )
        assert quote.opportunity.amount == quote.subtotal
    for sequence in QuoteSequence.objects.all():
        assert sequence.last_number == Quote.objects.filter(year=sequence.year).count()
    year = timezone.localdate().year
    assert quote_number_next(year) == Quote.objects.filter(year=year).count() + 1


def test_activities_follow_the_deals_and_some_are_overdue(seeded):
    activities = list(Activity.objects.select_related("opportunity"))
    now = timezone.now()

    done = [a for a in activities if a.status == ActivityStatus.DONE]
    pending = [a for a in activities if a.status == ActivityStatus.PENDING]
    assert (len(done), len(pending)) == (DEALS * 5 // 2, DEALS // 10)
    for activity in activities:
        deal = activity.opportunity
        assert activity.assignee_id == deal.owner_id
        assert activity.account_id == deal.account_id
    for activity in done:
        deal = activity.opportunity
        assert deal.created_at <= activity.completed_at <= (deal.closed_at or now)
    assert any(a.due_at < now for a in pending)
    assert any(a.due_at > now for a in pending)


def test_some_demo_leads_became_deals_of_their_owner(seeded):
    converted = list(Lead.objects.filter(status=LeadStatus.CONVERTED))

    assert len(converted) == 9  # 15 % of 60
    for lead in converted:
        deal = lead.converted_opportunity
        assert deal.owner_id == lead.owner_id
        assert lead.converted_account_id == deal.account_id
        assert lead.converted_at == deal.created_at >= lead.created_at


def test_targets_cover_this_fiscal_year_per_rep_and_team(seeded):
    settings = report_settings()
    year = settings.fiscal.year_of(settings.today())
    start, end = settings.fiscal.year_start(year), settings.fiscal.year_end(year)
    targets = Target.objects.filter(month__gte=start, month__lte=end)

    assert targets.filter(user__isnull=False).exists()
    assert set(targets.values_list("month", flat=True).distinct()).issuperset({start})
    for team_target in targets.filter(team__isnull=False):
        members = targets.filter(
            user__team=team_target.team, month=team_target.month, metric=team_target.metric
        )
        assert members.aggregate(total=Sum("value"))["total"] == team_target.value
    today = settings.today()
    days = set(PipelineSnapshot.objects.values_list("day", flat=True))
    assert max(days) == today
    # Every day of the last year has its stored figures, to compare today's with.
    assert days >= {today - dt.timedelta(days=n) for n in range(366)}


def test_running_it_twice_adds_nothing(seeded):
    models = [Opportunity, StageChange, Quote, QuoteLine, Activity, Target, PipelineSnapshot]
    before = [m.objects.count() for m in models]
    out = StringIO()

    call_command("seed_demo_sales", stdout=out)

    assert [m.objects.count() for m in models] == before
    assert out.getvalue() == "There are deals already: no demo sales loaded.\n"


def test_demo_sales_need_the_demo_accounts():
    with pytest.raises(CommandError):
        call_command("seed_demo_sales", stdout=StringIO())

    assert not Opportunity.objects.exists()


def test_the_home_page_shows_this_years_revenue_won(seeded, client, admin):
    settings = report_settings()
    year = settings.fiscal.year_of(settings.today())
    start = dt.datetime.combine(settings.fiscal.year_start(year), dt.time.min, settings.tz)
    won = Opportunity.objects.filter(
        stage__kind=StageKind.WON, closed_at__gte=start, closed_at__lte=timezone.now()
    ).aggregate(total=Sum("amount"))["total"]
    client.force_login(admin)

    response = client.get(reverse("home"), {"period": "year"})

    assert response.status_code == 200
    revenue = next(k for k in response.context["kpis"] if k.key == "revenue_won")
    assert revenue.values[0] == won > 0


def test_the_pipeline_funnel_counts_the_stages_each_deal_reached(seeded, client, admin):
    settings = report_settings()
    start = dt.datetime.combine(
        settings.fiscal.year_start(settings.fiscal.year_of(settings.today())),
        dt.time.min,
        settings.tz,
    )
    cohort = Opportunity.objects.filter(created_at__gte=start)
    expected = [
        cohort.filter(stage_changes__to_stage=stage).distinct().count()
        for stage in Opportunity.objects.first().pipeline.stages.filter(kind=StageKind.OPEN)
    ]
    client.force_login(admin)

    response = client.get(reverse("report-pipeline"), {"period": "year"})

    funnel = [step["count"] for step in response.context["data"]["funnel"]]
    assert funnel[:-1] == expected
    assert funnel == sorted(funnel, reverse=True)
    assert funnel[0] > funnel[-1] > 0

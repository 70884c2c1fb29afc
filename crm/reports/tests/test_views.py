import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.activities.models import ActivityStatus
from crm.activities.tests.factories import ActivityFactory
from crm.customers.tests.factories import AccountFactory
from crm.leads.tests.factories import LeadFactory
from crm.reports import metrics
from crm.reports.models import Target
from crm.sales.models import StageKind
from crm.sales.services import opportunity_move
from crm.sales.tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def _won(owner, amount, *, actor=None):
    deal = OpportunityFactory(account=AccountFactory(owner=owner), amount=Decimal(amount))
    stage = deal.pipeline.stages.get(kind=StageKind.WON)
    return opportunity_move(actor=actor or owner, opportunity=deal, stage=stage)


@pytest.fixture
def data(admin, manager, rep, other_rep):
    """Two deals won this month: one by the rep (manager's team), one by another team's rep."""
    _won(rep, "1000.00")
    _won(other_rep, "500.00")
    LeadFactory(owner=rep, team=rep.team)
    ActivityFactory(assignee=rep, status=ActivityStatus.DONE, completed_at=timezone.now())


def _kpi(response, key):
    return next(k for k in response.context["kpis"] if k.key == key)


@pytest.mark.parametrize(
    ("who", "revenue"), [("admin", "1500.00"), ("manager", "1000.00"), ("rep", "1000.00")]
)
def test_the_dashboard_shows_each_user_their_scope(client, data, request, who, revenue):
    client.force_login(request.getfixturevalue(who))

    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert _kpi(response, "revenue_won").values[0] == Decimal(revenue)
    assert _kpi(response, "deals_won").values[0] == (2 if who == "admin" else 1)


def test_the_other_teams_rep_sees_only_their_own(client, data, other_rep):
    client.force_login(other_rep)

    response = client.get(reverse("home"))

    assert _kpi(response, "revenue_won").values[0] == Decimal("500.00")
    assert _kpi(response, "activities_done").values[0] == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=custom&start=2026-05-01&end=2026-04-01", "before the start"),
        ("period=custom&start=2010-01-01&end=2026-04-01", "at most 10 years"),
        ("period=custom&start=2026-01-01", "both dates"),
        ("period=custom&start=notadate&end=2026-01-01", "valid date"),
        ("period=decade", "valid choice"),
    ],
)
def test_a_bad_period_gets_a_message_not_an_error(english, client, admin, query, message):
    client.force_login(admin)

    response = client.get(f"{reverse('home')}?{query}")

    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("measure=happiness", "valid choice"),
        ("dimension=weather", "valid choice"),
        ("measure=activities_done&dimension=product", "cannot be split by product"),
        ("view=pie", "valid choice"),
        ("granularity=week", "valid choice"),
        ("measure=revenue_won&owner=abc", "Unknown owner"),
        ("measure=activities_done&channel=1", "cannot be filtered by channel"),
        ("period=custom&start=2026-05-01&end=2026-04-01", "before the start"),
    ],
)
def test_a_bad_report_url_gets_a_message(english, client, admin, query, message):
    client.force_login(admin)

    response = client.get(f"{reverse('report')}?{query}")

    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize("view", ["monthly", "cumulative", "yoy"])
@pytest.mark.parametrize("granularity", ["month", "quarter", "year"])
def test_every_view_renders_for_every_measure(client, data, admin, view, granularity):
    client.force_login(admin)
    for key in [*metrics.MEASURES, *metrics.RATIOS]:
        for dimension in [None, *metrics.dimensions_for(key)[:2]]:
            query = {"measure": key, "view": view, "granularity": granularity}
            if dimension:
                query["dimension"] = dimension

            response = client.get(reverse("report"), query)

            assert response.status_code == 200, (key, dimension)
            assert response.context["report"].tables


def test_a_report_cell_drills_down_to_the_records_it_counts(client, data, admin, rep):
    client.force_login(admin)
    response = client.get(
        reverse("report"), {"measure": "revenue_won", "dimension": "owner", "period": "year"}
    )
    rows = {row.key: row for row in response.context["report"].tables[0].rows}
    total_cell = rows[str(rep.pk)].cells[-1]
    assert total_cell.value == Decimal("1000.00")

    records = client.get(total_cell.link)

    assert records.status_code == 200
    assert records.context["page"].paginator.count == 1
    assert "1.000,00" in records.content.decode()


def test_the_drill_down_keeps_visibility(client, data, rep, other_rep):
    client.force_login(rep)
    today = timezone.localdate()
    url = reverse("report-records")

    response = client.get(
        url,
        {
            "measure": "deals_won",
            "start": today.replace(day=1),
            "end": today,
            "owner": other_rep.pk,
        },
    )

    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0


def test_the_drill_down_refuses_bad_input(english, client, admin):
    client.force_login(admin)
    url = reverse("report-records")

    assert client.get(url, {"measure": "nope"}).status_code == 400
    bad = client.get(url, {"measure": "deals_won", "start": "2026-02-01", "end": "2026-01-01"})
    assert bad.status_code == 400
    assert "before the start" in bad.content.decode()
    assert client.get(url, {"measure": "deals_won"}).status_code == 400


@pytest.mark.parametrize("name", ["report-pipeline", "report-planning"])
@pytest.mark.parametrize("who", ["admin", "manager", "rep"])
def test_pipeline_and_planning_render(client, data, request, name, who):
    client.force_login(request.getfixturevalue(who))

    response = client.get(reverse(name))

    assert response.status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        lambda: reverse("report-export", args=["csv"]) + "?measure=deals_won&dimension=owner",
        lambda: reverse("report-export", args=["xlsx"]) + "?view=yoy",
        lambda: reverse("report-pipeline-export", args=["csv"]),
        lambda: reverse("report-planning-export", args=["xlsx"]),
    ],
)
def test_reports_download(client, data, admin, url):
    client.force_login(admin)

    response = client.get(url())

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]


def test_a_manager_sets_a_team_members_targets(client, manager, rep):
    client.force_login(manager)
    url = reverse("report-targets")
    year = timezone.localdate().year
    april = f"t-{year}-04-revenue_won"

    page = client.get(url, {"subject": f"user-{rep.pk}", "year": year})
    response = client.post(
        url,
        {
            "subject": f"user-{rep.pk}",
            "year": year,
            april: "1.500,50",
            f"t-{year}-04-deals_won": "3",
        },
    )

    assert page.status_code == 200
    assert response.status_code == 302
    assert Target.objects.get(user=rep, month=dt.date(year, 4, 1), metric="revenue_won").value == (
        Decimal("1500.50")
    )
    assert Target.objects.get(user=rep, month=dt.date(year, 4, 1), metric="deals_won").value == 3


def test_targets_refuse_bad_numbers_and_save_nothing(english, client, manager, rep):
    client.force_login(manager)
    year = timezone.localdate().year

    response = client.post(
        reverse("report-targets"),
        {
            "subject": f"user-{rep.pk}",
            "year": year,
            f"t-{year}-04-revenue_won": "1000",
            f"t-{year}-05-revenue_won": "mucho",
        },
    )

    assert response.status_code == 400
    assert "Enter a number." in response.content.decode()
    assert not Target.objects.exists()


def test_a_rep_cannot_set_targets(client, rep):
    client.force_login(rep)

    response = client.get(reverse("report-targets"), {"subject": f"user-{rep.pk}"})

    assert response.status_code == 403


def test_a_manager_cannot_set_another_teams_targets(client, manager, other_rep):
    client.force_login(manager)

    response = client.post(reverse("report-targets"), {"subject": f"user-{other_rep.pk}"})

    assert response.status_code == 403
    assert not Target.objects.exists()


def _queries(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "url",
    [
        lambda: reverse("home"),
        lambda: reverse("report") + "?dimension=owner",
        lambda: reverse("report-pipeline"),
        lambda: reverse("report-planning"),
    ],
)
def test_query_counts_do_not_grow_with_records(client, admin, rep, other_rep, url):
    client.force_login(admin)
    _won(rep, "10")
    few = _queries(client, url())

    for amount in range(20):
        _won(rep if amount % 2 else other_rep, amount + 1)
    many = _queries(client, url())

    assert many == few


def test_the_api_gives_the_dashboards_figures(api_client, data, rep):
    api_client.force_authenticate(rep)

    response = api_client.get(reverse("api-report-dashboard"), {"period": "month"})

    assert response.status_code == 200
    figures = {f["key"]: f for f in response.json()["figures"]}
    assert figures["revenue_won"]["values"][0] == "1000.00"
    assert figures["deals_won"]["values"][0] == 1


def test_the_api_gives_a_report_and_refuses_bad_input(api_client, data, admin, rep):
    api_client.force_authenticate(admin)

    response = api_client.get(
        reverse("api-report"), {"measure": "revenue_won", "dimension": "owner"}
    )
    bad = api_client.get(reverse("api-report"), {"measure": "nope"})

    assert response.status_code == 200
    rows = {r["key"]: r for r in response.json()["tables"][0]["rows"]}
    assert rows[str(rep.pk)]["values"][-1] == "1000.00"
    assert bad.status_code == 400
    assert "measure" in bad.json()["errors"]


def test_the_api_needs_a_login(api_client):
    assert api_client.get(reverse("api-report-dashboard")).status_code in (401, 403)


def test_planning_keeps_the_chosen_year_in_its_links_and_options(client, admin):
    client.force_login(admin)
    year = timezone.localdate().year - 1

    response = client.get(reverse("report-planning"), {"year": year})

    html = response.content.decode()
    assert response.context["plan"]["year"] == year
    assert f'<option value="{year}" selected>' in html
    assert f"year={year}" in html


def test_the_drill_down_also_takes_a_named_period(client, data, admin):
    client.force_login(admin)

    response = client.get(reverse("report-records"), {"measure": "deals_won", "period": "year"})

    assert response.status_code == 200
    assert response.context["page"].paginator.count == 2


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_the_dashboard_downloads_its_figures(client, data, rep, fmt):
    client.force_login(rep)

    response = client.get(reverse("dashboard-export", args=[fmt]), {"period": "month"})

    assert response.status_code == 200
    assert f'.{fmt}"' in response["Content-Disposition"]
    if fmt == "csv":
        text = b"".join(response.streaming_content if response.streaming else [response.content])
        assert "1000,00" in text.decode("utf-8-sig")


def test_the_api_answers_400_when_the_selector_refuses_what_the_form_let_through(
    api_client, admin, monkeypatch
):
    def refuse(**kwargs):
        raise metrics.UnknownName("Unknown view: pie.")

    monkeypatch.setattr("crm.reports.selectors.report", refuse)
    api_client.force_authenticate(admin)

    response = api_client.get(reverse("api-report"), {"measure": "deals_won"})

    assert response.status_code == 400
    assert response.json()["errors"]["__all__"][0]["message"] == "Unknown view: pie."

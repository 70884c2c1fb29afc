from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.activities import ical
from crm.activities.models import Activity, ActivityStatus, CalendarFeed
from crm.activities.services import calendar_feed_get_or_create
from crm.activities.tests.factories import ActivityFactory
from crm.customers.models import AccountEvent
from crm.customers.tests.factories import AccountFactory, ContactFactory
from crm.leads.tests.factories import LeadFactory
from crm.sales.tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client


@pytest.fixture
def foreign(other_rep):
    return ActivityFactory(assignee=other_rep, subject="Ajena")


def test_my_day_lists_the_buckets(rep_client, rep):
    ActivityFactory(assignee=rep, subject="Atrasada", due_at=timezone.now() - timedelta(days=2))
    ActivityFactory(assignee=rep, subject="Sin fecha", due_at=None)

    response = rep_client.get(reverse("activity-my-day"))

    assert response.status_code == 200
    assert [a.subject for a in response.context["day"].overdue] == ["Atrasada"]
    assert [a.subject for a in response.context["day"].undated] == ["Sin fecha"]
    assert "Atrasada" in response.text


def test_team_page_for_managers_only(client, manager, rep):
    ActivityFactory(assignee=rep, subject="Del equipo")
    client.force_login(rep)
    assert client.get(reverse("activity-team")).status_code == 403
    client.force_login(manager)
    response = client.get(reverse("activity-team"))
    assert response.status_code == 200
    assert "Del equipo" in response.text


@pytest.mark.parametrize("view", ["month", "week"])
def test_calendar_pages_render_grid_and_agenda(rep_client, rep, view):
    activity = ActivityFactory(
        assignee=rep, subject="Reunión", due_at=datetime(2026, 3, 10, 9, tzinfo=UTC)
    )

    response = rep_client.get(reverse("activity-calendar"), {"view": view, "date": "2026-03-10"})

    assert response.status_code == 200
    assert response.context["view"] == view
    assert 'id="calendar-grid"' in response.text
    assert 'id="calendar-agenda"' in response.text
    # Once in the grid, once in the agenda.
    assert response.text.count(f'href="{reverse("activity-detail", args=[activity.pk])}"') == 2
    expected = 42 if view == "month" else 7
    assert sum(len(week) for week in response.context["weeks"]) == expected


def test_calendar_with_a_bad_date_shows_today(rep_client):
    response = rep_client.get(reverse("activity-calendar"), {"date": "nope"})
    assert response.status_code == 200
    assert response.context["anchor"] == timezone.localdate()


def test_list_shows_only_mine_by_default(rep_client, rep, foreign):
    ActivityFactory(assignee=rep, subject="Mía")
    response = rep_client.get(reverse("activity-list"))
    assert [a.subject for a in response.context["page"].object_list] == ["Mía"]


def test_create_prefilled_from_an_account(rep_client, rep):
    account = AccountFactory(owner=rep)
    url = reverse("activity-create") + f"?account={account.pk}"
    assert rep_client.get(url).status_code == 200

    response = rep_client.post(
        reverse("activity-create"),
        {
            "account": account.pk,
            "kind": "meeting",
            "subject": "Visita comercial",
            "due_date": "2026-12-01",
            "due_time": "10:30",
            "priority": "high",
            "assignee": rep.pk,
        },
    )

    activity = Activity.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("activity-detail", args=[activity.pk])
    assert activity.account == account
    assert activity.kind == "meeting"
    assert timezone.localtime(activity.due_at).strftime("%Y-%m-%d %H:%M") == "2026-12-01 10:30"
    assert activity.all_day is False


def test_create_without_time_is_all_day(rep_client, rep):
    rep_client.post(
        reverse("activity-create"),
        {
            "kind": "task",
            "subject": "Día",
            "due_date": "2026-12-01",
            "priority": "normal",
            "assignee": rep.pk,
        },
    )
    activity = Activity.objects.get()
    assert activity.all_day is True
    assert timezone.localtime(activity.due_at).strftime("%Y-%m-%d %H:%M") == "2026-12-01 00:00"


def test_create_with_a_foreign_record_is_404(rep_client, other_rep):
    account = AccountFactory(owner=other_rep)
    assert rep_client.get(reverse("activity-create") + f"?account={account.pk}").status_code == 404
    response = rep_client.post(
        reverse("activity-create"),
        {"account": account.pk, "kind": "task", "subject": "X", "priority": "normal"},
    )
    assert response.status_code == 404
    assert Activity.objects.count() == 0


def test_create_shows_errors_beside_fields(rep_client, manager):
    response = rep_client.post(
        reverse("activity-create"),
        {"kind": "task", "subject": "", "priority": "normal", "assignee": manager.pk},
    )
    assert response.status_code == 200
    assert "subject" in response.context["form"].errors
    assert "assignee" in response.context["form"].errors  # not someone a rep may assign to
    assert Activity.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("activity-detail", "get"),
        ("activity-update", "get"),
        ("activity-update", "post"),
        ("activity-complete", "get"),
        ("activity-complete", "post"),
        ("activity-cancel", "post"),
    ],
)
def test_foreign_activity_is_404_on_every_method(rep_client, foreign, name, method):
    url = reverse(name, args=[foreign.pk])
    response = getattr(rep_client, method)(url, {"subject": "Cambio", "outcome": "x"})
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.subject == "Ajena"
    assert foreign.status == ActivityStatus.PENDING


def test_update(rep_client, rep):
    activity = ActivityFactory(assignee=rep)
    response = rep_client.post(
        reverse("activity-update", args=[activity.pk]),
        {"kind": "task", "subject": "Cambiada", "priority": "low", "assignee": rep.pk},
    )
    assert response.status_code == 302
    activity.refresh_from_db()
    assert (activity.subject, activity.priority, activity.due_at) == ("Cambiada", "low", None)


def test_complete_asks_outcome_for_a_call(rep_client, rep):
    activity = ActivityFactory(assignee=rep, kind="call")
    response = rep_client.post(reverse("activity-complete", args=[activity.pk]), {"outcome": ""})
    assert response.status_code == 200
    assert "outcome" in response.context["form"].errors
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.PENDING


def test_complete_with_follow_up_in_one_step(rep_client, rep):
    account = AccountFactory(owner=rep)
    activity = ActivityFactory(assignee=rep, kind="call", subject="Primera", account=account)

    response = rep_client.post(
        reverse("activity-complete", args=[activity.pk]),
        {
            "outcome": "Quiere una demo",
            "follow_up": "on",
            "follow_up_kind": "meeting",
            "follow_up_subject": "Demo",
            "follow_up_date": "2026-12-02",
            "follow_up_time": "",
            "next": reverse("account-detail", args=[account.pk]),
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("account-detail", args=[account.pk])
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.DONE
    follow_up = Activity.objects.get(follows=activity)
    assert (follow_up.subject, follow_up.kind, follow_up.account) == ("Demo", "meeting", account)
    assert follow_up.all_day is True


def test_complete_follow_up_needs_subject_and_date(rep_client, rep):
    activity = ActivityFactory(assignee=rep, kind="task")
    response = rep_client.post(
        reverse("activity-complete", args=[activity.pk]),
        {"outcome": "", "follow_up": "on", "follow_up_kind": "call"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"follow_up_subject", "follow_up_date"}
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.PENDING


def test_complete_rejects_an_external_next(rep_client, rep):
    activity = ActivityFactory(assignee=rep, kind="task")
    response = rep_client.post(
        reverse("activity-complete", args=[activity.pk]),
        {"follow_up_kind": "call", "next": "https://evil.example.com/"},
    )
    assert response["Location"] == reverse("activity-detail", args=[activity.pk])


def test_cancel(rep_client, rep):
    activity = ActivityFactory(assignee=rep)
    response = rep_client.post(reverse("activity-cancel", args=[activity.pk]), {"reason": "No"})
    assert response.status_code == 302
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.CANCELLED


def test_log_call_inline_with_htmx_returns_the_panel(rep_client, rep):
    account = AccountFactory(owner=rep)

    response = rep_client.post(
        reverse("activity-log-call"),
        {"account": account.pk, "subject": "", "outcome": "Todo bien"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert 'id="activities-panel"' in response.text
    activity = Activity.objects.get()
    assert (activity.kind, activity.status, activity.account) == ("call", "done", account)
    assert "Todo bien" in response.text
    assert AccountEvent.objects.filter(account=account, kind="activity_done").count() == 1


def test_log_call_without_outcome_shows_the_error(rep_client, rep):
    account = AccountFactory(owner=rep)
    response = rep_client.post(
        reverse("activity-log-call"), {"account": account.pk, "outcome": ""}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "invalid-feedback" in response.text
    assert Activity.objects.count() == 0


def test_log_call_on_a_foreign_record_is_404(rep_client, other_rep):
    account = AccountFactory(owner=other_rep)
    response = rep_client.post(
        reverse("activity-log-call"), {"account": account.pk, "outcome": "x"}
    )
    assert response.status_code == 404
    assert Activity.objects.count() == 0


def test_log_call_without_record_is_403(rep_client):
    assert rep_client.post(reverse("activity-log-call"), {"outcome": "x"}).status_code == 403


def test_log_call_plain_post_redirects_to_the_record(rep_client, rep):
    lead = LeadFactory(owner=rep)
    response = rep_client.post(reverse("activity-log-call"), {"lead": lead.pk, "outcome": "Ok"})
    assert response["Location"] == reverse("lead-detail", args=[lead.pk])
    assert Activity.objects.get().lead == lead


@pytest.mark.parametrize("kind", ["account", "contact", "lead", "opportunity"])
def test_record_pages_show_the_activities_panel(rep_client, rep, kind):
    account = AccountFactory(owner=rep)
    record = {
        "account": lambda: account,
        "contact": lambda: ContactFactory(account=account),
        "lead": lambda: LeadFactory(owner=rep),
        "opportunity": lambda: OpportunityFactory(account=account),
    }[kind]()
    ActivityFactory(assignee=rep, subject="Pendiente aquí", **{kind: record})

    response = rep_client.get(reverse(f"{kind}-detail", args=[record.pk]))

    assert response.status_code == 200
    assert 'id="activities-panel"' in response.text
    assert "Pendiente aquí" in response.text


def test_calendar_feed_page_and_revoke(rep_client, rep):
    response = rep_client.get(reverse("calendar-feed"))
    token = CalendarFeed.objects.get(user=rep).token
    assert token in response.text

    rep_client.post(reverse("calendar-feed"))

    assert CalendarFeed.objects.get(user=rep).token != token


def test_ics_feed_without_login(client, rep):
    feed = calendar_feed_get_or_create(user=rep)
    ActivityFactory(
        assignee=rep,
        subject="Llamar, ya",
        due_at=datetime(2030, 1, 2, 9, tzinfo=UTC),
        duration_minutes=45,
    )
    ActivityFactory(subject="De otro", due_at=datetime(2030, 1, 2, 9, tzinfo=UTC))

    response = client.get(reverse("calendar-feed-ics", args=[feed.token]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    (event,) = ical.parse(response.content.decode())
    assert event["SUMMARY"] == "Llamar, ya"
    assert event["DTSTART"] == "20300102T090000Z"
    assert event["DTEND"] == "20300102T094500Z"
    assert event["URL"].endswith(reverse("activity-detail", args=[Activity.objects.first().pk]))


def test_ics_feed_revoked_token_is_404(client, rep):
    old = calendar_feed_get_or_create(user=rep).token
    client.force_login(rep)
    client.post(reverse("calendar-feed"))
    client.logout()
    assert client.get(reverse("calendar-feed-ics", args=[old])).status_code == 404
    assert client.get(reverse("calendar-feed-ics", args=["unknown"])).status_code == 404

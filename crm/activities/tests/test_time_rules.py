"""The periodic cycle of time rules: each trigger, once per occurrence, and a query count that
does not grow with the number of records."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from crm.activities import automation, tasks
from crm.activities.models import Activity, AutomationFiring, AutomationRule, Trigger
from crm.alerts.models import Notification
from crm.sales.models import QuoteStatus, Stage
from crm.sales.tests.factories import OpportunityFactory
from crm.sales.tests.test_pdf import make_quote

pytestmark = pytest.mark.django_db
MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=MADRID)  # a Wednesday
TODAY = date(2026, 12, 2)


@pytest.fixture(autouse=True)
def _setup(db):
    AutomationRule.objects.all().delete()
    with translation.override("en"), time_machine.travel(NOW, tick=False):
        yield


def task(subject="Retomar {opportunity.title}", **extra):
    return {
        "type": "create_activity",
        "kind": "task",
        "subject": subject,
        "due_days": 0,
        "due_hour": 9,
        "assignee": "owner",
        **extra,
    }


def notify(title):
    return {"type": "notify", "title": title, "recipient": "owner"}


def make_rule(admin, trigger, actions, **fields):
    return automation.automation_rule_save(
        actor=admin,
        fields={"name": "Regla", "trigger": trigger, "actions": actions, **fields},
    )


def idle_deal(days: int, **fields):
    return OpportunityFactory(stage_changed_at=NOW - timedelta(days=days), **fields)


# -- an opportunity without activity for N days --


def test_idle_deals_get_a_task_once(admin):
    rule = make_rule(admin, Trigger.OPPORTUNITY_IDLE, [task()], days=14)
    idle = idle_deal(20, title="Alarmas")
    idle_deal(5)  # recent
    idle_deal(30, stage=Stage.objects.get(pipeline__is_default=True, name="Ganada"))  # closed
    busy = idle_deal(30)
    Activity.objects.create(subject="Hablado", assignee=busy.owner, opportunity=busy)

    assert automation.run_time_rules() == {rule.pk: 1}

    activity = Activity.objects.get(automation_rule=rule)
    assert (activity.subject, activity.opportunity, activity.assignee) == (
        "Retomar Alarmas",
        idle,
        idle.owner,
    )
    assert activity.due_at == datetime(2026, 12, 2, 9, 0, tzinfo=MADRID)
    firing = AutomationFiring.objects.get(rule=rule)
    assert (firing.model, firing.object_id, firing.occurrence) == (
        "sales.opportunity",
        idle.pk,
        "idle:2026-11-26",
    )
    # the task is a sign of life: the next cycles fire nothing
    assert automation.run_time_rules() == {rule.pk: 0}
    assert AutomationFiring.objects.count() == 1


def test_an_idle_deal_fires_once_per_idle_period(admin):
    rule = make_rule(admin, Trigger.OPPORTUNITY_IDLE, [notify("{opportunity.title}")], days=14)
    deal = idle_deal(20)
    automation.run_time_rules()
    automation.run_time_rules()
    assert Notification.objects.count() == 1
    # touched again, idle again 15 days later: a new period
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        Activity.objects.create(subject="Visita", assignee=deal.owner, opportunity=deal)
    with time_machine.travel(NOW + timedelta(days=15), tick=False):
        automation.run_time_rules()
        automation.run_time_rules()
    assert Notification.objects.count() == 2
    assert list(
        AutomationFiring.objects.filter(rule=rule)
        .order_by("id")
        .values_list("occurrence", flat=True)
    ) == ["idle:2026-11-26", "idle:2026-12-16"]


# -- a quote expires in N days --


def _sent_quote(owner, valid_until):
    quote = make_quote(owner=owner, valid_until=valid_until)
    quote.status = QuoteStatus.SENT
    quote.number = "P-2026-0001"
    quote.save()
    return quote


def test_a_quote_about_to_expire_fires_once(admin, rep):
    rule = make_rule(admin, Trigger.QUOTE_EXPIRING, [task("Caduca {quote.valid_until}")], days=3)
    soon = _sent_quote(rep, TODAY + timedelta(days=3))
    _sent_quote(rep, TODAY + timedelta(days=10))
    draft = make_quote(owner=rep, valid_until=TODAY + timedelta(days=1))

    assert automation.run_time_rules() == {rule.pk: 1}
    assert automation.run_time_rules() == {rule.pk: 0}
    activity = Activity.objects.get(automation_rule=rule)
    assert (activity.quote, activity.subject) == (soon, "Caduca 05/12/2026")
    assert AutomationFiring.objects.get().occurrence == "expiring:2026-12-05"
    assert draft.status == QuoteStatus.DRAFT


# -- an activity is overdue --


def test_overdue_activities_notify_once_per_due_date(admin, rep):
    rule = make_rule(admin, Trigger.ACTIVITY_OVERDUE, [notify("Vencida: {activity.subject}")])
    late = Activity.objects.create(subject="Llamar", assignee=rep, due_at=NOW - timedelta(hours=1))
    Activity.objects.create(subject="Mañana", assignee=rep, due_at=NOW + timedelta(days=1))
    Activity.objects.create(
        subject="Hecha",
        assignee=rep,
        due_at=NOW - timedelta(days=1),
        status="done",
        completed_at=NOW,
    )
    automation.run_time_rules()
    automation.run_time_rules()
    notification = Notification.objects.get()
    assert (notification.user, notification.title) == (rep, "Vencida: Llamar")
    # moved to tomorrow, and overdue again the day after: once more
    Activity.objects.filter(pk=late.pk).update(due_at=NOW + timedelta(days=1))
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        automation.run_time_rules()
        automation.run_time_rules()
    assert Notification.objects.filter(title="Vencida: Llamar").count() == 2
    assert AutomationFiring.objects.filter(rule=rule).count() == 3  # + "Mañana", now late


# -- a date field is reached --


def test_a_date_reached_fires_on_its_day_once(admin):
    rule = make_rule(
        admin,
        Trigger.DATE_REACHED,
        [task("Cierre previsto de {opportunity.title}")],
        date_field="opportunity.expected_close_date",
        days=-7,  # a week before the date
    )
    deal = OpportunityFactory(expected_close_date=TODAY + timedelta(days=7), title="Alarmas")
    OpportunityFactory(expected_close_date=TODAY + timedelta(days=8))
    assert automation.run_time_rules() == {rule.pk: 1}
    assert automation.run_time_rules() == {rule.pk: 0}
    assert Activity.objects.get(automation_rule=rule).opportunity == deal
    assert AutomationFiring.objects.get().occurrence == "date:2026-12-09"


# -- conditions, in the database --


def test_conditions_are_applied_in_the_query(admin, rep, other_rep):
    rule = make_rule(
        admin,
        Trigger.OPPORTUNITY_IDLE,
        [task()],
        days=14,
        conditions=[{"field": "amount", "op": "gte", "value": "1000"}],
    )
    big = idle_deal(20, amount=5000)
    idle_deal(20, amount=10)
    idle_deal(20)  # no amount
    assert automation.run_time_rules() == {rule.pk: 1}
    assert Activity.objects.get().opportunity == big


# -- set-based: the query count does not grow with the records --


def _queries_of_a_cycle() -> int:
    with CaptureQueriesContext(connection) as queries:
        automation.run_time_rules()
    return len(queries)


def test_the_query_count_is_constant_in_the_number_of_records(admin, manager, rep):
    make_rule(
        admin,
        Trigger.OPPORTUNITY_IDLE,
        [
            task(
                "{opportunity.title} · {account.name} · {owner.email}",
                assignee="manager",
                due_days=1,
            ),
            notify("x"),
        ],
        days=14,
    )
    make_rule(admin, Trigger.ACTIVITY_OVERDUE, [notify("Vencida")])
    automation.run_time_rules()  # the company's settings row is created on first use
    for _ in range(2):
        deal = idle_deal(20)
        Activity.objects.create(subject="x", assignee=rep, due_at=NOW - timedelta(days=30))
    few = _queries_of_a_cycle()
    AutomationFiring.objects.all().delete()
    Activity.objects.filter(automation_rule__isnull=False).delete()
    for _ in range(8):
        deal = idle_deal(20)
        Activity.objects.create(subject="x", assignee=rep, due_at=NOW - timedelta(days=30))
    many = _queries_of_a_cycle()
    assert AutomationFiring.objects.count() == 10 + 10
    assert few == many
    assert deal.pk


def test_the_periodic_task_runs_the_cycle(admin):
    rule = make_rule(admin, Trigger.OPPORTUNITY_IDLE, [task()], days=14)
    idle_deal(20)
    tasks.run_time_rules.call_local()
    assert AutomationFiring.objects.filter(rule=rule).count() == 1
    assert timezone.now() == NOW

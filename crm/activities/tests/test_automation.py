"""Automation rules: what a rule may say, each trigger fired through the real services, the
conditions, each action, firing once per event, and chains of rules cut at MAX_DEPTH."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation

from crm.activities import automation
from crm.activities.models import (
    Activity,
    AutomationFiring,
    AutomationRule,
    FiringStatus,
    Trigger,
)
from crm.alerts.models import Notification
from crm.core.events import record_event
from crm.core.models import DomainEvent
from crm.core.tasks import dispatch
from crm.customers import services as customer_services
from crm.customers.models import Lifecycle
from crm.customers.tests.factories import AccountFactory
from crm.leads import services as lead_services
from crm.leads.models import Lead, LeadStatus
from crm.leads.tests.factories import LeadFactory
from crm.sales import delivery
from crm.sales import services as sales_services
from crm.sales.models import Stage
from crm.sales.tests.test_pdf import make_quote

pytestmark = pytest.mark.django_db
MADRID = ZoneInfo("Europe/Madrid")
# A Wednesday; the next business day is Thursday 3 December 2026.
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=MADRID)


@pytest.fixture(autouse=True)
def _no_default_rules(db):
    AutomationRule.objects.all().delete()


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def call(subject="Llamar a {lead.first_name}", **extra):
    return {
        "type": "create_activity",
        "kind": "call",
        "subject": subject,
        "due_days": 1,
        "due_hour": 9,
        "assignee": "owner",
        **extra,
    }


def make_rule(admin, trigger=Trigger.LEAD_CREATED, actions=None, **fields):
    return automation.automation_rule_save(
        actor=admin,
        fields={
            "name": fields.pop("name", "Regla"),
            "trigger": trigger,
            "actions": actions if actions is not None else [call()],
            **fields,
        },
    )


def _errors(exc) -> dict:
    return exc.value.message_dict


# -- validation at save time --


def test_a_rule_without_actions_is_refused_with_a_message(admin):
    with pytest.raises(ValidationError) as exc:
        make_rule(admin, actions=[])
    assert _errors(exc)["actions"] == ["Add at least one action: what the rule does."]
    assert AutomationRule.objects.count() == 0


@pytest.mark.parametrize(
    "conditions",
    [
        [
            {"field": "city", "op": "eq", "value": "Bilbao"},
            {"field": "city", "op": "eq", "value": "Vigo"},
        ],
        [
            {"field": "score", "op": "gte", "value": 50},
            {"field": "score", "op": "lte", "value": 10},
        ],
        [
            {"field": "status", "op": "eq", "value": "new"},
            {"field": "status", "op": "ne", "value": "new"},
        ],
        [{"field": "score", "op": "eq", "value": 5}, {"field": "score", "op": "gte", "value": 10}],
        [
            {"field": "status", "op": "in", "value": ["new", "contacted"]},
            {"field": "status", "op": "in", "value": ["qualified"]},
        ],
        [
            {"field": "city", "op": "is_empty", "value": True},
            {"field": "city", "op": "contains", "value": "a"},
        ],
    ],
)
def test_contradictory_conditions_are_refused_with_a_message(admin, conditions):
    with pytest.raises(ValidationError) as exc:
        make_rule(admin, conditions=conditions)
    field = conditions[0]["field"]
    label = str(Lead._meta.get_field(field).verbose_name)
    assert _errors(exc)["conditions"] == [
        f"The conditions on “{label}” contradict each other: no record can meet them all."
    ]
    assert AutomationRule.objects.count() == 0


def test_compatible_conditions_are_kept_in_their_stored_shape(admin):
    rule = make_rule(
        admin,
        conditions=[
            {"field": "score", "op": "gte", "value": "50"},
            {"field": "score", "op": "lte", "value": "80"},
            {"field": "status", "op": "in", "value": "new, contacted"},
            {"field": "city", "op": "is_empty", "value": False},
        ],
    )
    assert rule.conditions == [
        {"field": "score", "op": "gte", "value": 50},
        {"field": "score", "op": "lte", "value": 80},
        {"field": "status", "op": "in", "value": ["new", "contacted"]},
        {"field": "city", "op": "is_empty", "value": False},
    ]


def test_a_template_with_an_unknown_placeholder_is_refused_naming_it(admin):
    with pytest.raises(ValidationError) as exc:
        make_rule(admin, actions=[call("Llamar a {lead.nombre} de {quote.number}")])
    (message,) = _errors(exc)["actions"]
    assert message.startswith(
        "Action 1 (create an activity): Unknown placeholder {lead.nombre}, {quote.number}."
    )
    assert "{lead.first_name}" in message
    assert AutomationRule.objects.count() == 0


def test_a_field_that_the_record_type_lacks_is_refused(admin):
    with pytest.raises(ValidationError) as exc:
        make_rule(admin, conditions=[{"field": "amount", "op": "gte", "value": 1}])
    assert _errors(exc)["conditions"] == ["Condition 1: a lead has no field “amount” to test."]


def test_time_rules_need_their_days(admin):
    with pytest.raises(ValidationError) as exc:
        make_rule(admin, trigger=Trigger.OPPORTUNITY_IDLE, actions=[call("{opportunity.title}")])
    assert _errors(exc)["days"] == ["Say how many days (1 to 365)."]


def test_only_administrators_save_rules(rep, admin):
    with pytest.raises(PermissionDenied):
        make_rule(rep)
    rule = make_rule(admin)
    with pytest.raises(PermissionDenied):
        automation.automation_rule_delete(actor=rep, rule=rule)
    assert AutomationRule.objects.filter(pk=rule.pk).exists()


def test_move_changes_the_order(admin):
    first, second = make_rule(admin, name="A"), make_rule(admin, name="B")
    automation.automation_rule_move(actor=admin, rule=second, offset=-1)
    assert list(AutomationRule.objects.values_list("name", flat=True)) == ["B", "A"]
    assert first.pk


# -- the default rules (data migration) --


def test_a_new_installation_ships_the_three_default_rules(django_db_blocker):
    from importlib import import_module

    migration = import_module("crm.activities.migrations.0002_default_rules")
    from django.apps import apps

    migration.create(apps, None)
    rules = {r.name: r for r in AutomationRule.objects.all()}
    assert set(rules) == {
        "Primer contacto",
        "Seguimiento del presupuesto",
        "Oportunidad sin actividad",
    }
    assert rules["Primer contacto"].trigger == Trigger.LEAD_CREATED
    assert rules["Seguimiento del presupuesto"].actions[0]["due_days"] == 3
    assert (
        rules["Oportunidad sin actividad"].trigger,
        rules["Oportunidad sin actividad"].days,
    ) == (
        Trigger.OPPORTUNITY_IDLE,
        14,
    )
    # each default rule passes the validation of the editor
    for rule in rules.values():
        automation.rule_clean(rule)


# -- triggers through the real services --


def test_lead_created_creates_the_first_contact_call_due_next_business_day(
    admin, rep, django_capture_on_commit_callbacks
):
    rule = make_rule(admin, actions=[call("Primer contacto: {lead.first_name} {lead.last_name}")])
    with django_capture_on_commit_callbacks(execute=True):
        lead = lead_services.lead_create(
            actor=rep, fields={"first_name": "Ana", "last_name": "López", "owner": rep}
        )
    activity = Activity.objects.get(lead=lead)
    assert activity.subject == "Primer contacto: Ana López"
    assert activity.kind == "call"
    assert activity.assignee == rep
    assert activity.automation_rule == rule
    assert activity.due_at == datetime(2026, 12, 3, 9, 0, tzinfo=MADRID)
    firing = AutomationFiring.objects.get(rule=rule)
    event = DomainEvent.objects.get(kind="lead.created")
    assert (firing.status, firing.model, firing.object_id, firing.occurrence) == (
        FiringStatus.DONE,
        "leads.lead",
        lead.pk,
        f"event:{event.pk}",
    )
    assert firing.result == [{"action": "create_activity", "activity": activity.pk}]
    assert event.processed_at is not None


def test_due_date_skips_the_weekend_and_national_holidays(
    admin, rep, django_capture_on_commit_callbacks
):
    make_rule(admin, actions=[call(due_days=1)])
    # Friday 4 December 2026: Monday 7 is a working day, Tuesday 8 (Inmaculada) a holiday.
    friday = time_machine.travel(datetime(2026, 12, 4, 12, 0, tzinfo=MADRID), tick=False)
    with friday, django_capture_on_commit_callbacks(execute=True):
        lead = lead_services.lead_create(actor=rep, fields={"first_name": "Ana", "owner": rep})
    assert Activity.objects.get(lead=lead).due_at == datetime(2026, 12, 7, 9, 0, tzinfo=MADRID)
    Activity.objects.all().delete()
    make_rule(admin, actions=[call(due_days=2)])
    friday = time_machine.travel(datetime(2026, 12, 4, 12, 0, tzinfo=MADRID), tick=False)
    with friday, django_capture_on_commit_callbacks(execute=True):
        other = lead_services.lead_create(actor=rep, fields={"first_name": "Eva", "owner": rep})
    dues = sorted(Activity.objects.filter(lead=other).values_list("due_at", flat=True))
    assert dues == [
        datetime(2026, 12, 7, 9, 0, tzinfo=MADRID),
        datetime(2026, 12, 9, 9, 0, tzinfo=MADRID),
    ]


def test_lead_assigned_fires_on_an_owner_change(
    admin, rep, other_rep, django_capture_on_commit_callbacks
):
    lead = LeadFactory(owner=rep)
    rule = make_rule(admin, trigger=Trigger.LEAD_ASSIGNED)
    with django_capture_on_commit_callbacks(execute=True):
        lead_services.lead_update(actor=admin, lead=lead, fields={"owner": other_rep})
    assert Activity.objects.get(lead=lead).assignee == other_rep
    assert AutomationFiring.objects.filter(rule=rule, status=FiringStatus.DONE).count() == 1


def test_lead_status_changed_fires_with_the_condition_on_the_new_status(
    admin, rep, django_capture_on_commit_callbacks
):
    lead = LeadFactory(owner=rep)
    rule = make_rule(
        admin,
        trigger=Trigger.LEAD_STATUS_CHANGED,
        conditions=[{"field": "status", "op": "eq", "value": "qualified"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        lead_services.lead_change_status(actor=rep, lead=lead, status=LeadStatus.CONTACTED)
    assert not Activity.objects.exists()
    assert AutomationFiring.objects.get(rule=rule).status == FiringStatus.SKIPPED
    with django_capture_on_commit_callbacks(execute=True):
        lead_services.lead_change_status(actor=rep, lead=lead, status=LeadStatus.QUALIFIED)
    assert Activity.objects.filter(lead=lead).count() == 1
    event = DomainEvent.objects.filter(kind="lead.status_changed").last()
    assert event.data == {"from": "contacted", "to": "qualified"}


def test_opportunity_created_and_stage_entered(admin, rep, django_capture_on_commit_callbacks):
    account = AccountFactory(owner=rep)
    offered = Stage.objects.get(pipeline__is_default=True, name="Oferta presentada")
    negotiation = Stage.objects.get(pipeline__is_default=True, name="En negociación")
    created = make_rule(
        admin, trigger=Trigger.OPPORTUNITY_CREATED, actions=[call("Preparar {opportunity.title}")]
    )
    entered = make_rule(
        admin,
        trigger=Trigger.OPPORTUNITY_STAGE,
        stage=negotiation,
        actions=[call("Negociar con {account.name}")],
    )
    with django_capture_on_commit_callbacks(execute=True):
        deal = sales_services.opportunity_create(
            actor=rep, fields={"title": "Alarmas", "account": account}
        )
        sales_services.opportunity_move(actor=rep, opportunity=deal, stage=offered)
    assert list(Activity.objects.values_list("subject", flat=True)) == ["Preparar Alarmas"]
    with django_capture_on_commit_callbacks(execute=True):
        sales_services.opportunity_move(actor=rep, opportunity=deal, stage=negotiation)
    assert Activity.objects.get(automation_rule=entered).subject == f"Negociar con {account.name}"
    assert Activity.objects.get(automation_rule=created).account == account
    assert AutomationFiring.objects.filter(rule=entered).count() == 1


def test_quote_sent_and_answered(admin, rep, django_capture_on_commit_callbacks):
    sent = make_rule(
        admin,
        trigger=Trigger.QUOTE_SENT,
        actions=[call("Seguimiento {quote.number} ({quote.total})", due_days=3)],
    )
    accepted = make_rule(
        admin,
        trigger=Trigger.QUOTE_ACCEPTED,
        actions=[{"type": "notify", "title": "Aceptado {quote.number}", "recipient": "owner"}],
    )
    rejected = make_rule(
        admin,
        trigger=Trigger.QUOTE_REJECTED,
        actions=[{"type": "notify", "title": "Rechazado", "recipient": "owner"}],
    )
    quote = make_quote(owner=rep)
    with django_capture_on_commit_callbacks(execute=True):
        delivery.quote_send(actor=rep, quote=quote)
    quote.refresh_from_db()
    activity = Activity.objects.get(automation_rule=sent)
    assert activity.subject == "Seguimiento P-2026-0001 (3.373,63\xa0€)"
    assert (activity.quote, activity.opportunity, activity.assignee) == (
        quote,
        quote.opportunity,
        rep,
    )
    assert activity.due_at == datetime(2026, 12, 7, 9, 0, tzinfo=MADRID)
    with django_capture_on_commit_callbacks(execute=True):
        delivery.quote_answer(
            token=delivery.quote_answer_token(quote), accept=True, name="Ana Gil", ip="127.0.0.1"
        )
    notification = Notification.objects.get()
    assert (notification.user, notification.title, notification.url) == (
        rep,
        "Aceptado P-2026-0001",
        f"/quotes/{quote.pk}/",
    )
    assert AutomationFiring.objects.filter(rule=accepted).count() == 1
    assert not AutomationFiring.objects.filter(rule=rejected).exists()


def test_account_became_customer(admin, rep, django_capture_on_commit_callbacks):
    account = AccountFactory(owner=rep)
    rule = make_rule(
        admin,
        trigger=Trigger.ACCOUNT_CUSTOMER,
        actions=[call("Bienvenida a {account.name}", kind="visit")],
    )
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.account_update(
            actor=rep, account=account, fields={"lifecycle": Lifecycle.CUSTOMER}
        )
        customer_services.account_update(actor=rep, account=account, fields={"notes": "x"})
    activity = Activity.objects.get(automation_rule=rule)
    assert (activity.account, activity.kind) == (account, "visit")
    assert AutomationFiring.objects.filter(rule=rule).count() == 1


# -- actions --


def test_notify_the_owners_manager_change_owner_and_email_the_contact(
    admin, rep, manager, other_rep, django_capture_on_commit_callbacks
):
    rule = make_rule(
        admin,
        actions=[
            {"type": "notify", "title": "Nuevo lead {lead.company}", "recipient": "manager"},
            call("Llamar {lead.first_name}", assignee="manager"),
            {
                "type": "send_email",
                "subject": "Hola {lead.first_name}",
                "body": "Soy {owner.first_name}.",
            },
            {"type": "change_owner", "user": other_rep.pk},
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        lead = lead_services.lead_create(
            actor=rep,
            fields={
                "first_name": "Ana",
                "company": "Talleres Gil",
                "email": "ana@example.com",
                "owner": rep,
            },
        )
    lead.refresh_from_db()
    assert lead.owner == other_rep
    notification = Notification.objects.get()
    assert (notification.user, notification.title, notification.url) == (
        manager,
        "Nuevo lead Talleres Gil",
        f"/leads/{lead.pk}/",
    )
    assert Activity.objects.get().assignee == manager
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ana@example.com"]
    assert (mail.outbox[0].subject, mail.outbox[0].body) == ("Hola Ana", f"Soy {rep.first_name}.")
    firing = AutomationFiring.objects.get(rule=rule)
    assert [r["action"] for r in firing.result] == [
        "notify",
        "create_activity",
        "send_email",
        "change_owner",
    ]


def test_a_rolled_back_firing_sends_no_email(admin, rep, monkeypatch):
    make_rule(
        admin,
        actions=[
            {"type": "send_email", "subject": "Hola", "body": "Texto"},
            call(),
        ],
    )
    lead = LeadFactory(owner=rep, email="ana@example.com")
    with transaction.atomic():
        event = record_event("lead.created", lead)

    def boom(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(automation, "_activity", boom)
    with pytest.raises(RuntimeError):
        dispatch(event.pk)
    assert mail.outbox == []
    assert not AutomationFiring.objects.exists()


def test_an_action_refused_by_a_service_marks_the_firing_failed_and_undoes_the_others(
    admin, rep, other_rep, django_capture_on_commit_callbacks
):
    rule = make_rule(admin, actions=[call(), {"type": "change_owner", "user": other_rep.pk}])
    lead = LeadFactory(owner=rep, status=LeadStatus.NEW)
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.CONVERTED)  # converted: read-only
    with transaction.atomic():
        event = record_event("lead.created", lead)
    dispatch(event.pk)
    firing = AutomationFiring.objects.get(rule=rule)
    assert firing.status == FiringStatus.FAILED
    assert firing.result == [{"error": "A converted lead cannot be changed."}]
    assert not Activity.objects.exists()
    lead.refresh_from_db()
    assert lead.owner == rep


# -- once per event --


def test_the_same_event_dispatched_twice_fires_once(admin, rep):
    rule = make_rule(admin)
    lead = LeadFactory(owner=rep)
    with transaction.atomic():
        event = record_event("lead.created", lead)
    assert dispatch(event.pk) is True
    assert dispatch(event.pk) is False
    # even handed to the handler again (a retry racing the first run)
    automation.handle_event(DomainEvent.objects.get(pk=event.pk))
    assert AutomationFiring.objects.filter(rule=rule).count() == 1
    assert Activity.objects.count() == 1


def test_a_crash_mid_handler_rolls_back_and_the_retry_fires_once(admin, rep, monkeypatch):
    rule = make_rule(admin, actions=[call(), call("Segunda")])
    lead = LeadFactory(owner=rep)
    with transaction.atomic():
        event = record_event("lead.created", lead)
    real = automation._activity
    calls = []

    def once(rule, action, record, now, zone):
        calls.append(action["subject"])
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(rule, action, record, now, zone)

    monkeypatch.setattr(automation, "_activity", once)
    with pytest.raises(RuntimeError):
        dispatch(event.pk)
    assert not AutomationFiring.objects.exists()
    assert not Activity.objects.exists()
    assert DomainEvent.objects.get(pk=event.pk).processed_at is None
    # the retry
    assert dispatch(event.pk) is True
    assert AutomationFiring.objects.get(rule=rule).status == FiringStatus.DONE
    assert sorted(Activity.objects.values_list("subject", flat=True)) == [
        f"Llamar a {lead.first_name}",
        "Segunda",
    ]


# -- chains of rules --


def test_rules_that_trigger_each_other_stop_at_max_depth(
    admin, rep, other_rep, django_capture_on_commit_callbacks
):
    to_other = make_rule(
        admin,
        name="A otro",
        trigger=Trigger.LEAD_ASSIGNED,
        conditions=[{"field": "owner", "op": "eq", "value": rep.pk}],
        actions=[{"type": "change_owner", "user": other_rep.pk}],
    )
    back = make_rule(
        admin,
        name="De vuelta",
        trigger=Trigger.LEAD_ASSIGNED,
        conditions=[{"field": "owner", "op": "eq", "value": other_rep.pk}],
        actions=[{"type": "change_owner", "user": rep.pk}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        lead = lead_services.lead_create(actor=rep, fields={"first_name": "Ana", "owner": rep})
    # Each level's event fires both rules (the second sees the owner the first gave), so
    # the chain branches; it is cut at MAX_DEPTH whatever its shape.
    depths = set(DomainEvent.objects.filter(kind="lead.assigned").values_list("depth", flat=True))
    assert depths == set(range(automation.MAX_DEPTH + 1))
    stopped = AutomationFiring.objects.filter(status=FiringStatus.STOPPED)
    assert stopped.exists()
    assert set(stopped.values_list("depth", flat=True)) == {automation.MAX_DEPTH}
    assert not AutomationFiring.objects.filter(depth__gt=automation.MAX_DEPTH).exists()
    assert not DomainEvent.objects.filter(processed_at__isnull=True).exists()
    # the administrators hear about it once per rule
    stopped_rules = set(stopped.values_list("rule_id", flat=True))
    assert stopped_rules <= {to_other.pk, back.pk}
    urls = sorted(Notification.objects.filter(user=admin).values_list("url", flat=True))
    assert urls == sorted(f"/automation/{pk}/" for pk in stopped_rules)
    assert lead.pk


def test_an_inactive_rule_does_not_fire(admin, rep, django_capture_on_commit_callbacks):
    rule = make_rule(admin)
    automation.automation_rule_save(actor=admin, rule=rule, fields={"is_active": False})
    with django_capture_on_commit_callbacks(execute=True):
        lead_services.lead_create(actor=rep, fields={"first_name": "Ana", "owner": rep})
    assert not AutomationFiring.objects.exists()
    assert timezone.now() == NOW


# -- imported leads --


def test_imported_leads_fire_lead_created_once_each(
    admin, rep, settings, tmp_path, django_capture_on_commit_callbacks
):
    from crm.leads import imports
    from crm.leads.tests.test_imports import HEADER, create, row, write_csv

    settings.MEDIA_ROOT = tmp_path / "media"
    lead_services.lead_settings_update(actor=admin, fallback_owner=rep)
    rule = make_rule(admin, actions=[call("Primer contacto: {lead.first_name}")])
    path = write_csv(
        tmp_path / "leads.csv",
        [HEADER, *(row(first=f"Ana{n}", email=f"ana{n}@example.com") for n in range(5))],
    )
    lead_import = create(admin, path)
    imports.lead_import_start(
        actor=admin,
        lead_import=lead_import,
        mapping=imports.suggest_mapping(lead_import.headers),
        on_duplicate="skip",
        enqueue=False,
    )
    with django_capture_on_commit_callbacks(execute=True):
        imports.lead_import_run(import_id=lead_import.pk, batch_size=2)
    leads = Lead.objects.filter(lead_import=lead_import)
    assert leads.count() == 5
    events = DomainEvent.objects.filter(kind="lead.created")
    assert sorted(events.values_list("object_id", flat=True)) == sorted(
        leads.values_list("pk", flat=True)
    )
    assert not events.filter(processed_at__isnull=True).exists()
    assert AutomationFiring.objects.filter(rule=rule).count() == 5
    assert sorted(Activity.objects.values_list("subject", flat=True)) == [
        f"Primer contacto: Ana{n}" for n in range(5)
    ]
    assert set(Activity.objects.values_list("assignee", flat=True)) == {rep.pk}

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from crm.activities.models import Activity, ActivityKind, ActivityStatus, CalendarFeed
from crm.activities.services import (
    activity_cancel,
    activity_complete,
    activity_create,
    activity_log_call,
    activity_reassign_pending,
    activity_update,
    calendar_feed_get_or_create,
    calendar_feed_revoke,
)
from crm.activities.tests.factories import ActivityFactory
from crm.core.models import DomainEvent
from crm.customers.models import AccountEvent
from crm.customers.tests.factories import AccountFactory, ContactFactory
from crm.leads.models import LeadEvent
from crm.leads.tests.factories import LeadFactory
from crm.sales.models import OpportunityEvent
from crm.sales.tests.factories import OpportunityFactory
from crm.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _due():
    return timezone.now() + timedelta(days=1)


def test_create_fills_the_account_from_the_contact_and_records_an_event(rep):
    contact = ContactFactory(account=AccountFactory(owner=rep))

    activity = activity_create(
        actor=rep,
        fields={"kind": "call", "subject": "Llamar", "due_at": _due(), "contact": contact},
    )

    assert activity.account_id == contact.account_id
    assert activity.assignee == rep
    assert activity.created_by == rep
    assert activity.status == ActivityStatus.PENDING
    event = DomainEvent.objects.get(kind="activity.created")
    assert (event.model, event.object_id) == ("activities.activity", activity.pk)


def test_create_fills_account_and_deal_from_the_opportunity(rep):
    deal = OpportunityFactory(account=AccountFactory(owner=rep))

    activity = activity_create(actor=rep, fields={"subject": "Demo", "opportunity": deal})

    assert activity.account_id == deal.account_id
    assert activity.opportunity_id == deal.pk


def test_create_refuses_a_record_the_actor_cannot_see(rep, other_rep):
    account = AccountFactory(owner=other_rep)

    with pytest.raises(PermissionDenied):
        activity_create(actor=rep, fields={"subject": "Espiar", "account": account})

    assert Activity.objects.count() == 0


def test_create_refuses_a_contact_of_another_account(rep):
    account = AccountFactory(owner=rep)
    contact = ContactFactory(account=AccountFactory(owner=rep))

    with pytest.raises(ValidationError) as exc:
        activity_create(actor=rep, fields={"subject": "X", "account": account, "contact": contact})

    assert "contact" in exc.value.error_dict
    assert Activity.objects.count() == 0


def test_create_refuses_lead_and_account_together(rep):
    with pytest.raises(ValidationError) as exc:
        activity_create(
            actor=rep,
            fields={
                "subject": "X",
                "lead": LeadFactory(owner=rep),
                "account": AccountFactory(owner=rep),
            },
        )
    assert "lead" in exc.value.error_dict


def test_a_rep_cannot_assign_to_someone_else(rep, manager):
    with pytest.raises(ValidationError) as exc:
        activity_create(actor=rep, fields={"subject": "X", "assignee": manager})
    assert "assignee" in exc.value.error_dict
    assert Activity.objects.count() == 0


def test_a_manager_assigns_to_a_team_member_not_to_another_team(manager, rep, other_rep):
    activity = activity_create(actor=manager, fields={"subject": "X", "assignee": rep})
    assert activity.assignee == rep

    with pytest.raises(ValidationError):
        activity_create(actor=manager, fields={"subject": "Y", "assignee": other_rep})


def test_update_changes_fields_and_keeps_an_unassignable_current_assignee(rep, manager):
    activity = ActivityFactory(assignee=manager, created_by=manager)

    activity_update(actor=rep, activity=activity, fields={"subject": "Nuevo", "assignee": manager})

    activity.refresh_from_db()
    assert activity.subject == "Nuevo"
    assert activity.assignee == manager


def test_update_refuses_a_done_activity(rep):
    activity = ActivityFactory(
        assignee=rep, status=ActivityStatus.DONE, completed_at=timezone.now()
    )
    with pytest.raises(ValidationError):
        activity_update(actor=rep, activity=activity, fields={"subject": "Otra"})
    activity.refresh_from_db()
    assert activity.subject != "Otra"


def test_complete_a_call_requires_an_outcome(rep):
    activity = ActivityFactory(assignee=rep, kind=ActivityKind.CALL)

    with pytest.raises(ValidationError) as exc:
        activity_complete(actor=rep, activity=activity, outcome="  ")

    assert "outcome" in exc.value.error_dict
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.PENDING
    assert activity.completed_at is None


def test_complete_a_task_without_outcome(rep):
    activity = ActivityFactory(assignee=rep, kind=ActivityKind.TASK)

    done, follow_up = activity_complete(actor=rep, activity=activity)

    assert done.status == ActivityStatus.DONE
    assert done.completed_at is not None
    assert follow_up is None


def test_complete_writes_the_timelines_and_schedules_the_follow_up(rep):
    deal = OpportunityFactory(account=AccountFactory(owner=rep))
    activity = ActivityFactory(
        assignee=rep,
        kind=ActivityKind.CALL,
        subject="Presentar",
        opportunity=deal,
        account=deal.account,
    )
    due = timezone.now() + timedelta(days=3)

    done, follow_up = activity_complete(
        actor=rep,
        activity=activity,
        outcome="Interesado",
        follow_up={"kind": "meeting", "subject": "Reunión", "due_at": due},
    )

    assert done.outcome == "Interesado"
    assert follow_up.follows == activity
    assert (follow_up.opportunity_id, follow_up.account_id) == (deal.pk, deal.account_id)
    assert follow_up.assignee == rep
    assert follow_up.status == ActivityStatus.PENDING
    account_event = AccountEvent.objects.get(kind="activity_done")
    assert account_event.body == "Call: Presentar\nInteresado"
    assert OpportunityEvent.objects.get(kind="activity_done").body == "Call: Presentar\nInteresado"
    kinds = list(DomainEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["activity.done", "activity.created"]


def test_complete_with_a_bad_follow_up_changes_nothing(rep):
    activity = ActivityFactory(assignee=rep, kind=ActivityKind.TASK)

    with pytest.raises(ValidationError):
        activity_complete(actor=rep, activity=activity, follow_up={"kind": "call", "subject": ""})

    activity.refresh_from_db()
    assert activity.status == ActivityStatus.PENDING
    assert Activity.objects.count() == 1


def test_complete_on_a_lead_writes_its_timeline(rep):
    lead = LeadFactory(owner=rep)
    activity = ActivityFactory(assignee=rep, kind=ActivityKind.VISIT, subject="Ver", lead=lead)

    activity_complete(actor=rep, activity=activity, outcome="Bien")

    event = LeadEvent.objects.get(lead=lead, kind="activity_done")
    assert event.body == "Visit: Ver\nBien"
    assert event.actor == rep


def test_cancel(rep):
    activity = ActivityFactory(assignee=rep)

    activity_cancel(actor=rep, activity=activity, reason="Ya no hace falta")

    activity.refresh_from_db()
    assert activity.status == ActivityStatus.CANCELLED
    assert activity.outcome == "Ya no hace falta"
    with pytest.raises(ValidationError):
        activity_cancel(actor=rep, activity=activity)


def test_log_call_is_done_in_one_step_on_the_account_timeline(rep):
    account = AccountFactory(owner=rep)

    activity = activity_log_call(
        actor=rep, account=account, outcome="Pide presupuesto", duration_minutes=5
    )

    assert activity.kind == ActivityKind.CALL
    assert activity.status == ActivityStatus.DONE
    assert activity.subject == "Call"
    assert activity.completed_at is not None
    assert activity.duration_minutes == 5
    event = AccountEvent.objects.get(account=account, kind="activity_done")
    assert event.body == "Call: Call\nPide presupuesto"
    kinds = list(DomainEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["activity.created", "activity.done"]


def test_log_call_requires_outcome_and_record(rep, other_rep):
    with pytest.raises(ValidationError):
        activity_log_call(actor=rep, account=AccountFactory(owner=rep), outcome="")
    with pytest.raises(ValidationError):
        activity_log_call(actor=rep, outcome="Hola")
    with pytest.raises(PermissionDenied):
        activity_log_call(actor=rep, account=AccountFactory(owner=other_rep), outcome="Hola")
    assert Activity.objects.count() == 0
    assert AccountEvent.objects.filter(kind="activity_done").count() == 0


def test_reassign_pending_moves_only_pending(admin, rep, manager):
    pending = ActivityFactory.create_batch(2, assignee=rep)
    done = ActivityFactory(assignee=rep, status=ActivityStatus.DONE, completed_at=timezone.now())

    moved = activity_reassign_pending(actor=admin, from_user=rep, to_user=manager)

    assert moved == 2
    assert set(Activity.objects.filter(assignee=manager).values_list("pk", flat=True)) == {
        a.pk for a in pending
    }
    done.refresh_from_db()
    assert done.assignee == rep


def test_reassign_refuses_an_inactive_user(admin, rep):
    gone = UserFactory(is_active=False)
    ActivityFactory(assignee=rep)
    with pytest.raises(ValidationError):
        activity_reassign_pending(actor=admin, from_user=rep, to_user=gone)
    assert Activity.objects.filter(assignee=rep).count() == 1


def test_feed_revoke_changes_the_token(rep):
    feed = calendar_feed_get_or_create(user=rep)
    old = feed.token

    new = calendar_feed_revoke(user=rep)

    assert new.token != old
    assert CalendarFeed.objects.get(user=rep).token == new.token

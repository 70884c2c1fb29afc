import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from crm.activities.models import Activity, ActivityStatus
from crm.activities.tests.factories import ActivityFactory
from crm.users.services import user_set_active
from crm.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_deactivating_a_user_with_pending_activities_needs_a_new_assignee(admin, rep):
    ActivityFactory.create_batch(2, assignee=rep)

    with pytest.raises(ValidationError) as exc:
        user_set_active(actor=admin, user=rep, active=False)

    assert "reassign_to" in exc.value.error_dict
    rep.refresh_from_db()
    assert rep.is_active is True
    assert Activity.objects.filter(assignee=rep).count() == 2


def test_deactivating_moves_pending_activities_in_the_same_step(admin, rep, manager):
    pending = ActivityFactory.create_batch(2, assignee=rep)
    done = ActivityFactory(assignee=rep, status=ActivityStatus.DONE, completed_at=timezone.now())

    user_set_active(actor=admin, user=rep, active=False, reassign_to=manager)

    rep.refresh_from_db()
    assert rep.is_active is False
    assert sorted(Activity.objects.filter(assignee=manager).values_list("pk", flat=True)) == sorted(
        a.pk for a in pending
    )
    done.refresh_from_db()
    assert done.assignee == rep


def test_reassigning_to_an_inactive_user_is_refused(admin, rep):
    ActivityFactory(assignee=rep)
    gone = UserFactory(is_active=False)

    with pytest.raises(ValidationError):
        user_set_active(actor=admin, user=rep, active=False, reassign_to=gone)

    rep.refresh_from_db()
    assert rep.is_active is True
    assert Activity.objects.get().assignee == rep


def test_a_user_without_pending_work_is_deactivated_directly(admin, rep):
    user_set_active(actor=admin, user=rep, active=False)
    rep.refresh_from_db()
    assert rep.is_active is False


def test_deactivate_page_asks_where_to_move_the_work(client, admin, rep, manager):
    ActivityFactory.create_batch(3, assignee=rep)
    client.force_login(admin)
    url = reverse("user-set-active", args=[rep.pk])

    response = client.post(url, {"active": "0"})

    assert response.status_code == 200
    assert 'id="pending-work"' in response.text
    assert [w.count for w in response.context["work"]] == [3]
    choices = set(response.context["form"].fields["reassign_to"].queryset)
    assert rep not in choices
    assert manager in choices
    rep.refresh_from_db()
    assert rep.is_active is True

    response = client.post(url, {"active": "0", "reassign_to": ""})
    assert response.status_code == 200
    assert "reassign_to" in response.context["form"].errors
    rep.refresh_from_db()
    assert rep.is_active is True

    response = client.post(url, {"active": "0", "reassign_to": manager.pk})

    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.is_active is False
    assert Activity.objects.filter(assignee=manager).count() == 3


def test_deactivate_page_without_pending_work_deactivates_at_once(client, admin, rep):
    client.force_login(admin)
    response = client.post(reverse("user-set-active", args=[rep.pk]), {"active": "0"})
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.is_active is False


def test_api_deactivation_needs_someone_to_take_over_pending_work(api_client, admin, rep, manager):
    from crm.activities.models import Activity
    from crm.activities.tests.factories import ActivityFactory

    activity = ActivityFactory(assignee=rep)
    api_client.force_authenticate(admin)

    refused = api_client.delete(f"/api/v1/users/{rep.pk}/")
    rep.refresh_from_db()
    assert refused.status_code == 400
    assert "reassign_to" in refused.json()
    assert rep.is_active

    done = api_client.delete(f"/api/v1/users/{rep.pk}/?reassign_to={manager.pk}")
    rep.refresh_from_db()
    assert done.status_code == 204
    assert not rep.is_active
    assert Activity.objects.get(pk=activity.pk).assignee == manager

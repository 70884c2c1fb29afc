from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from crm.core.tasks import housekeeping

pytestmark = pytest.mark.django_db


def test_housekeeping_drops_expired_sessions_and_old_failed_logins_only():
    old = SessionStore()
    old.create()
    Session.objects.filter(pk=old.session_key).update(
        expire_date=timezone.now() - timedelta(hours=1)
    )
    current = SessionStore()
    current.create()
    ancient = AccessAttempt.objects.create(
        username="x", ip_address="203.0.113.1", user_agent="", failures_since_start=3
    )
    AccessAttempt.objects.filter(pk=ancient.pk).update(
        attempt_time=timezone.now() - timedelta(days=40)
    )
    AccessAttempt.objects.create(
        username="y", ip_address="203.0.113.2", user_agent="", failures_since_start=1
    )

    result = housekeeping.call_local()

    assert result == {"sessions": 1, "attempts": 1}
    assert list(Session.objects.values_list("pk", flat=True)) == [current.session_key]
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["y"]
    # Running it again changes nothing.
    assert housekeeping.call_local() == {"sessions": 0, "attempts": 0}

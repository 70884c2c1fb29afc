from datetime import timedelta

import factory
from django.utils import timezone

from crm.activities.models import Activity, ActivityKind, ActivityStatus
from crm.users.tests.factories import UserFactory


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    kind = ActivityKind.CALL
    subject = factory.Sequence(lambda n: f"Llamada {n}")
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=2))
    assignee = factory.SubFactory(UserFactory)
    status = ActivityStatus.PENDING
    created_by = factory.LazyAttribute(lambda a: a.assignee)

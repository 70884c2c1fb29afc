"""The outbox of domain events: services record them, handlers of higher apps process them.

    record_event("lead.created", lead, actor=actor)

is called by a service inside its transaction. After commit the background worker hands each
new event to every handler registered in `EVENT_HANDLERS` (filled in the higher apps'
AppConfig.ready(), as the other registries), then marks it processed. A handler must be
idempotent per event id: a worker killed mid-way leaves the event unprocessed, and the periodic
sweep (crm.core.tasks.dispatch_pending_events) hands it out again.
"""

import contextvars
import logging
from collections.abc import Callable

from django.db import models, transaction

logger = logging.getLogger(__name__)

EVENT_HANDLERS: list[Callable] = []

# The automation depth of the work being done: an event recorded while a rule acts carries
# the depth of the event that fired the rule plus one (bounded by the automation engine).
current_depth: contextvars.ContextVar[int] = contextvars.ContextVar("event_depth", default=0)


def record_event(kind: str, instance: models.Model, *, actor=None, **data):
    """Write an event about `instance` in the caller's transaction; dispatch it after commit."""
    from crm.core.models import DomainEvent

    event = DomainEvent.objects.create(
        kind=kind,
        model=instance._meta.label_lower,
        object_id=instance.pk,
        data=data,
        actor=actor if getattr(actor, "pk", None) else None,
        depth=current_depth.get(),
    )
    transaction.on_commit(lambda: _enqueue(event.pk))
    return event


def _enqueue(event_id: int) -> None:
    from crm.core.tasks import dispatch_event

    dispatch_event(event_id)

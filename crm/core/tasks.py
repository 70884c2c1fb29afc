"""Background housekeeping, run by the Huey worker that `make run` starts."""

import os
from datetime import timedelta

from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task


@db_periodic_task(crontab(hour="3", minute="15"))
@lock_task("core-housekeeping")
def housekeeping() -> dict[str, int]:
    """Drop expired sessions and login failures older than a month; safe to run twice."""
    now = timezone.now()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    attempts, _ = AccessAttempt.objects.filter(attempt_time__lt=now - timedelta(days=30)).delete()
    return {"sessions": sessions, "attempts": attempts}


def dispatch(event_id: int) -> bool:
    """Hand one event to every handler and mark it processed, all in one transaction: a crash
    leaves it unprocessed for the sweep, never half-handled. False when already processed."""
    from crm.core.events import EVENT_HANDLERS
    from crm.core.models import DomainEvent

    with transaction.atomic():
        event = (
            DomainEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, processed_at__isnull=True)
            .first()
        )
        if event is None:
            return False
        for handler in EVENT_HANDLERS:
            handler(event)
        event.processed_at = timezone.now()
        event.save(update_fields=["processed_at"])
    return True


@db_task(retries=3, retry_delay=30)
def dispatch_event(event_id: int) -> bool:
    return dispatch(event_id)


# An event younger than this is left to its own task; older and unprocessed, its task was lost
# (a worker killed mid-job, or a web process that died between its commit and the enqueue).
# CRM_EVENT_SWEEP_SECONDS shortens it (the worker tests use 1 s).
SWEEP_AFTER = timedelta(seconds=int(os.environ.get("CRM_EVENT_SWEEP_SECONDS", "60")))
# The sweep runs every CRM_EVENT_SWEEP_MINUTES minutes. Huey looks at periodic tasks when the
# consumer starts and then once a minute, so a restarted worker sweeps at once.
SWEEP_EVERY_MINUTES = int(os.environ.get("CRM_EVENT_SWEEP_MINUTES", "1"))


@db_periodic_task(crontab(minute=f"*/{SWEEP_EVERY_MINUTES}"))
@lock_task("core-dispatch-pending-events")
def dispatch_pending_events(limit: int = 1000) -> int:
    """Process events whose task was lost (worker killed or stopped); safe to run twice."""
    from crm.core.models import DomainEvent

    cutoff = timezone.now() - SWEEP_AFTER
    pending = DomainEvent.objects.filter(processed_at__isnull=True, created_at__lt=cutoff)
    done = 0
    for event_id in pending.order_by("id").values_list("id", flat=True)[:limit]:
        done += dispatch(event_id)
    return done

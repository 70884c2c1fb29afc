"""Background housekeeping, run by the Huey worker that `make run` starts."""

from datetime import timedelta

from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task


@db_periodic_task(crontab(hour="3", minute="15"))
@lock_task("core-housekeeping")
def housekeeping() -> dict[str, int]:
    """Drop expired sessions and login failures older than a month; safe to run twice."""
    now = timezone.now()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    attempts, _ = AccessAttempt.objects.filter(attempt_time__lt=now - timedelta(days=30)).delete()
    return {"sessions": sessions, "attempts": attempts}

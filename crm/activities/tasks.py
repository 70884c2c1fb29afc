"""Background work of activities: the time-based automation rules."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from crm.activities import automation


@db_periodic_task(crontab(minute="7"))
@lock_task("activities-time-rules")
def run_time_rules() -> dict[int, int]:
    """Hourly: opportunities without activity, quotes about to expire, overdue activities,
    dates reached. Each rule runs in its own transaction and fires once per occurrence, so a
    worker killed mid-way leaves nothing half-done and the next run finishes the job."""
    return automation.run_time_rules()

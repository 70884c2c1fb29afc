"""Background work of reports: the pipeline snapshot the dashboard compares against."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from crm.reports import services
from crm.reports.selectors import report_settings


@db_periodic_task(crontab(minute="55"))
@lock_task("reports-snapshot")
def take_pipeline_snapshot() -> int:
    """Hourly: today's open pipeline and overdue activities per owner, rewritten each hour
    so that the day's last run keeps its closing state. Safe to run twice."""
    return services.snapshot_take(day=report_settings().today())

"""Background work of reports: the pipeline snapshot and the daily figures summary."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from crm.reports import services
from crm.reports.selectors import report_settings


@db_periodic_task(crontab(minute="55"))
@lock_task("reports-summaries")
def refresh_report_summaries() -> dict[str, int]:
    """Hourly: today's open pipeline and overdue activities per owner (rewritten each hour,
    so the day's last run keeps its closing state), and the daily figures of the days before
    the live window. Both replace what was there: safe to run twice."""
    settings = report_settings()
    today = settings.today()
    return {
        "snapshot_rows": services.snapshot_take(day=today),
        "daily_rows": services.daily_figures_rebuild(today=today, tz=settings.tz),
    }

"""Background work of the sales app, run by the Huey worker that `make run` starts."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from crm.sales import delivery


@db_periodic_task(crontab(minute="5"))
@lock_task("sales-quote-expiry")
def quote_expiry() -> int:
    """Expire sent quotes whose validity date has passed.

    Hourly rather than once a day: Huey's schedule runs in UTC, so this expires a quote within
    the first hour of the day after its validity date in Madrid (or the Canaries) whatever the
    offset, and a worker that was down at midnight catches up at its next hour. Safe to run
    twice: a second run finds nothing to expire.
    """
    return delivery.quote_expire_due()

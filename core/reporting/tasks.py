"""Huey wrappers for reporting: the daily metrics snapshot, refreshed hourly for today and yesterday."""

import datetime as dt

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from core.common.audit import acting_as
from core.reporting.services import daily_metrics_compute


@db_periodic_task(crontab(minute="7"))
@lock_task("reporting-daily-metrics")
def compute_daily_metrics() -> list[str]:
    """Hourly: refresh today's snapshot and re-finalise yesterday's (late payments and refunds land after midnight)."""
    today = timezone.localdate()
    days = [today - dt.timedelta(days=1), today]
    with acting_as(None, user_agent="huey:compute_daily_metrics"):
        for day in days:
            daily_metrics_compute(day=day)
    return [d.isoformat() for d in days]

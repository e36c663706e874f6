"""Huey wrappers for reports: generate one report; every 15 minutes, run the schedules that are due."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from core.common.audit import acting_as


@db_task()
def generate_report(report_id: int) -> None:
    from core.reporting.reports.services import report_generate

    with acting_as(None, user_agent="huey:generate_report"):
        report_generate(report_id=report_id)


@db_periodic_task(crontab(minute="*/15"))
@lock_task("reporting-run-schedules")
def run_report_schedules() -> list[int]:
    from core.reporting.reports.services import report_schedules_run_due

    with acting_as(None, user_agent="huey:run_report_schedules"):
        return report_schedules_run_due()

"""Huey wrappers for logistics: thin, idempotent (load by id, call a service); periodic ones locked."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task, on_commit_task

from core.common.audit import acting_as


@on_commit_task(retries=5, retry_delay=30)
def dispatch_booking(booking_id: str) -> bool:
    """After the payment (or a staff action) committed: create the booking's Onfleet tasks once."""
    from core.logistics.dispatch import dispatch_run

    with acting_as(None, user_agent="huey:dispatch_booking"):
        return dispatch_run(booking_id=booking_id)


@db_periodic_task(crontab(minute="*/2"))
@lock_task("logistics-sweep")
def sweep_dispatch() -> int:
    """Every 2 minutes: dispatches a lost or failed job left unfinished."""
    from core.logistics.dispatch import dispatch_sweep

    with acting_as(None, user_agent="huey:sweep_dispatch"):
        return dispatch_sweep()

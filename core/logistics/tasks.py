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


@on_commit_task(retries=5, retry_delay=30)
def process_tracking_update(update_id: int) -> bool:
    """After the webhook's commit: apply the stored Onfleet event (a second run finds it processed)."""
    from core.logistics.events import tracking_update_process

    with acting_as(None, user_agent="onfleet-webhook"):
        return tracking_update_process(update_id=update_id)


@on_commit_task(retries=5, retry_delay=60)
def archive_proof(leg_id: int) -> int:
    """A leg completed: copy its photos and signature from Onfleet into our storage."""
    from core.logistics.proof import proof_archive

    return proof_archive(leg_id=leg_id)


@on_commit_task(retries=3, retry_delay=60)
def notify_leg_event(leg_id: int, trigger: str) -> int:
    from core.logistics.notify import leg_notify

    with acting_as(None, user_agent="huey:notify_leg_event"):
        return len(leg_notify(leg_id=leg_id, trigger=trigger))


@db_periodic_task(crontab(minute="*/5"))
@lock_task("logistics-events-sweep")
def sweep_tracking_updates() -> dict:
    """Every 5 minutes: Onfleet events and proof copies whose job was lost or failed."""
    from core.logistics.events import tracking_updates_retry_stuck
    from core.logistics.proof import proof_archive_pending

    with acting_as(None, user_agent="huey:sweep_tracking_updates"):
        return {"events": tracking_updates_retry_stuck(), "proof": proof_archive_pending()}


@on_commit_task(retries=5, retry_delay=30)
def sync_booking_tasks(booking_id: str) -> int:
    """After a booking changed, was cancelled or refunded in full: update or delete its open Onfleet tasks."""
    from core.logistics.changes import dispatch_sync_booking

    with acting_as(None, user_agent="huey:sync_booking_tasks"):
        return dispatch_sync_booking(booking_id=booking_id)


@db_periodic_task(crontab(hour="2", minute="15"))
@lock_task("logistics-drift")
def reconcile_dispatch_nightly() -> int:
    """Every night: Onfleet's tasks for today and the next two days against our legs; mismatches to staff."""
    from django.utils import timezone

    from core.logistics.reconciliation import drift_run

    with acting_as(None, user_agent="huey:reconcile_dispatch"):
        return drift_run(run_date=timezone.localdate()).mismatches

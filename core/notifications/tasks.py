"""Huey wrappers for notifications: thin, idempotent (the row's status decides), periodic ones locked."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from core.common.audit import acting_as
from core.notifications import services


@db_task()
def send_notification(notification_id: int) -> str | None:
    """Send one notification now if it is still due (a second run finds it sent and does nothing)."""
    with acting_as(None, user_agent="huey:send_notification"):
        notification = services.notification_deliver(notification_id=notification_id)
    return notification.status if notification else None


@db_periodic_task(crontab(minute="*"))
@lock_task("notifications-send-due")
def send_due_notifications() -> int:
    """Every minute: send scheduled notifications whose time has come, and any whose enqueue was lost."""
    with acting_as(None, user_agent="huey:send_due_notifications"):
        return services.notifications_send_due()


@db_periodic_task(crontab(minute="*"))
@lock_task("notifications-retry")
def retry_failed_notifications() -> int:
    """Every minute: retry sends whose backoff has passed; requeue sends a dead worker left half-done."""
    with acting_as(None, user_agent="huey:retry_failed_notifications"):
        return services.notifications_retry()

import datetime as dt

import time_machine
from django.core import mail

from core.bookings.tasks import expire_booking_holds
from core.notifications.models import DeliveryLog, Notification, NotificationStatus
from core.notifications.services import notify_booking_event
from core.notifications.tasks import retry_failed_notifications, send_due_notifications, send_notification


def snapshot():
    return (
        sorted(Notification.objects.values_list("pk", "status", "retry_count", "next_retry_at", "sent_at",
                                                "provider_message_id")),
        DeliveryLog.objects.count(),
        len(mail.outbox),
    )


def test_send_task_twice_sends_once(booking):
    [notification] = notify_booking_event(booking=booking, event="booking_confirmation")

    send_notification(notification.pk)
    once = snapshot()
    send_notification(notification.pk)

    assert snapshot() == once
    assert len(mail.outbox) == 1
    assert Notification.objects.get().status == NotificationStatus.SENT


def test_every_periodic_job_twice_changes_nothing_the_second_time(make_booking, postmark):
    paid = make_booking()
    make_booking(paid=False)  # its hold expires below
    notify_booking_event(booking=paid, event="payment_confirmation")  # enqueue "lost": the sweep sends
    postmark.fail_next(1, status=500)
    reminder = Notification.objects.get(notification_type="booking_reminder")

    with time_machine.travel(reminder.scheduled_for + dt.timedelta(hours=1), tick=False):
        for job in (expire_booking_holds, send_due_notifications, retry_failed_notifications):
            job()
        first = snapshot()
        for job in (expire_booking_holds, send_due_notifications, retry_failed_notifications):
            job()
        assert snapshot() == first

    statuses = sorted(Notification.objects.values_list("notification_type", "status"))
    # the first send hit the injected 500 and waits for its backoff; the others went out
    assert [s for _t, s in statuses].count(NotificationStatus.SENT) == 2
    assert [s for _t, s in statuses].count(NotificationStatus.PENDING) == 1
    assert len(postmark.messages) == 2

"""Races that only PostgreSQL can show (SQLite serialises every writer)."""

import pytest
from django.core import mail

from core.notifications.models import Notification, NotificationStatus
from core.notifications.services import notification_deliver, notify_booking_event
from tests.concurrency import run_in_threads


@pytest.mark.postgres
def test_parallel_events_create_and_send_once(postgres_only, transactional_db, booking):
    run_in_threads(6, lambda _: notify_booking_event(booking=booking, event="booking_confirmation"))

    assert Notification.objects.count() == 1
    assert Notification.objects.get().status == NotificationStatus.SENT
    assert len(mail.outbox) == 1


@pytest.mark.postgres
def test_parallel_workers_deliver_once(postgres_only, transactional_db, booking):
    # given: a due pending row (sent once, then reset) that the task and both sweeps pick at the same moment
    [notification] = notify_booking_event(booking=booking, event="booking_confirmation")
    mail.outbox.clear()
    Notification.objects.filter(pk=notification.pk).update(status=NotificationStatus.PENDING, sent_at=None)

    run_in_threads(6, lambda _: notification_deliver(notification_id=notification.pk))

    assert len(mail.outbox) == 1
    assert Notification.objects.get().status == NotificationStatus.SENT

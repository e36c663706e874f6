"""Races that only PostgreSQL can show (SQLite serialises every writer)."""

import threading

import pytest
from django.core import mail
from django.db import connection

from core.notifications.models import Notification, NotificationStatus
from core.notifications.services import notification_deliver, notify_booking_event


def run_in_threads(n, fn):
    barrier = threading.Barrier(n)
    errors = []

    def worker():
        try:
            barrier.wait()
            fn()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []


@pytest.mark.postgres
def test_parallel_events_create_and_send_once(postgres_only, transactional_db, booking):
    run_in_threads(6, lambda: notify_booking_event(booking=booking, event="booking_confirmation"))

    assert Notification.objects.count() == 1
    assert Notification.objects.get().status == NotificationStatus.SENT
    assert len(mail.outbox) == 1


@pytest.mark.postgres
def test_parallel_workers_deliver_once(postgres_only, transactional_db, booking):
    # given: a due pending row (sent once, then reset) that the task and both sweeps pick at the same moment
    [notification] = notify_booking_event(booking=booking, event="booking_confirmation")
    mail.outbox.clear()
    Notification.objects.filter(pk=notification.pk).update(status=NotificationStatus.PENDING, sent_at=None)

    run_in_threads(6, lambda: notification_deliver(notification_id=notification.pk))

    assert len(mail.outbox) == 1
    assert Notification.objects.get().status == NotificationStatus.SENT

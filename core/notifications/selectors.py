"""Reads of notifications that interfaces show (joins done here, so lists stay at a fixed query count)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from core.notifications.models import DeliveryLog, Notification, NotificationStatus, Suppression


def notification_list_queryset() -> QuerySet[Notification]:
    """The console's notification list: booking, customer and template joined."""
    return Notification.objects.select_related("booking", "customer", "template")


def notification_detail(*, notification_id: int) -> Notification:
    return (notification_list_queryset().select_related("resend_of")
            .prefetch_related(Prefetch("delivery_logs", queryset=DeliveryLog.objects.order_by("created_at", "id")))
            .get(pk=notification_id))


def booking_notifications(*, booking, limit: int = 50) -> list[Notification]:
    return list(Notification.objects.filter(booking=booking).order_by("-created_at")[:limit])


def notification_problems(*, since: dt.datetime | None = None) -> QuerySet[Notification]:
    """What staff should look at: failed, bounced and suppressed sends (default: the last 7 days)."""
    since = since or timezone.now() - dt.timedelta(days=7)
    return (notification_list_queryset()
            .filter(status__in=[NotificationStatus.FAILED, NotificationStatus.BOUNCED, NotificationStatus.SUPPRESSED],
                    updated_at__gte=since)
            .order_by("-updated_at"))


def suppression_list_queryset() -> QuerySet[Suppression]:
    return Suppression.objects.order_by("-created_at")

"""Reads of notifications that interfaces show (joins done here, so lists stay at a fixed query count)."""

from __future__ import annotations

from django.db.models import QuerySet

from core.notifications.models import Notification


def notification_list_queryset() -> QuerySet[Notification]:
    """The console's notification list: booking, customer and template joined."""
    return Notification.objects.select_related("booking", "customer", "template")


def booking_notifications(*, booking, limit: int = 50) -> list[Notification]:
    return list(Notification.objects.filter(booking=booking).order_by("-created_at")[:limit])

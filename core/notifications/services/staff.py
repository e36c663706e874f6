"""Emails to staff (not customers): e.g. a scheduled report's link to finance. Same outbox and sending path."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.validators import validate_email
from django.db import transaction

from core.notifications.models import Channel, Notification, NotificationType
from core.notifications.services.creating import notification_create_once, notifications_send_after_commit


def notification_send_staff(*, recipients: Iterable[str], subject: str, body: str, event_key: str,
                            actor=None) -> list[Notification]:
    """One email per recipient for the event `event_key`, created once (re-running sends nothing new)."""
    notifications = []
    with transaction.atomic():
        for address in dict.fromkeys(recipients):
            validate_email(address)
            notification, _new = notification_create_once(
                dedupe_key=f"staff:{event_key}:{address.lower()}"[:200], channel=Channel.EMAIL, actor=actor,
                notification_type=NotificationType.CUSTOM, recipients=[address], subject=subject[:255],
                body_text=body)
            notifications.append(notification)
        notifications_send_after_commit(notifications)
    return notifications

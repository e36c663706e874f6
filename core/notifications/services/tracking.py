"""Delivery tracking: provider webhooks (email events, SMS status callbacks) applied once."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction

from core.common.services import model_update
from core.notifications.models import (
    Channel,
    DeliveryLog,
    Notification,
    NotificationStatus,
)
from core.notifications.services.sending import delivery_log_record
from core.notifications.services.suppression import suppression_add

logger = logging.getLogger(__name__)

_FINAL = frozenset({NotificationStatus.BOUNCED, NotificationStatus.FAILED, NotificationStatus.SUPPRESSED,
                    NotificationStatus.CANCELLED})
_RANK = {NotificationStatus.PENDING: 0, NotificationStatus.SENDING: 1, NotificationStatus.SENT: 2,
         NotificationStatus.DELIVERED: 3, NotificationStatus.OPENED: 4}


@dataclass(frozen=True)
class EmailEvent:
    """A tracking event, whatever the ESP (translated by receivers.py from anymail's)."""

    event_type: str  # anymail's normalised type: delivered, opened, bounced, complained, ...
    message_id: str
    recipient: str
    event_id: str | None = None
    record_type: str = ""  # the ESP's own name of the event (Postmark RecordType)
    notification_id: str | None = None
    timestamp: dt.datetime | None = None
    reject_reason: str | None = None
    description: str = ""
    mta_response: str = ""
    deactivates: bool = False  # the ESP stopped sending to the address (hard bounce, complaint)


_EMAIL_STATUS = {"delivered": NotificationStatus.DELIVERED, "opened": NotificationStatus.OPENED,
                 "clicked": NotificationStatus.OPENED, "bounced": NotificationStatus.BOUNCED,
                 "complained": NotificationStatus.BOUNCED, "rejected": NotificationStatus.BOUNCED,
                 "failed": NotificationStatus.FAILED}


def _advance(notification: Notification, status: str | None) -> bool:
    """Move the status forward only: a late "delivered" never undoes "opened", nothing undoes a bounce."""
    if status is None or notification.status == status:
        return False
    if status in _FINAL:
        if notification.status in _FINAL:
            return False
    elif notification.status in _FINAL or _RANK.get(status, 0) <= _RANK.get(notification.status, 0):
        return False
    notification.status = status
    return True


def _find(notification_id, provider_message_id: str, channel: str) -> Notification | None:
    queryset = Notification.objects.select_for_update().filter(channel=channel)
    if notification_id and str(notification_id).isdigit():
        found = queryset.filter(pk=int(notification_id)).first()
        # Trust the id only if it agrees with the provider's message id (when we know both).
        if found is not None and (not found.provider_message_id or not provider_message_id
                                  or found.provider_message_id == provider_message_id):
            return found
    if provider_message_id:
        return queryset.filter(provider_message_id=provider_message_id).order_by("-pk").first()
    return None


def email_event_record(*, event: EmailEvent, provider: str = "postmark") -> DeliveryLog | None:
    """Apply one email tracking event: log it once, advance the status, suppress bounced addresses."""
    # Postmark gives Bounce/SpamComplaint a unique ID; Delivery/Open have none, so key on what they carry.
    provider_event_id = event.event_id or f"{event.message_id}:{event.record_type or event.event_type}:" \
                                          f"{(event.recipient or '').lower()}"
    suppress = event.recipient and (event.event_type == "complained" or event.deactivates)
    with transaction.atomic():
        notification = _find(event.notification_id, event.message_id or "", Channel.EMAIL)
        if suppress:
            suppression_add(channel=Channel.EMAIL, address=event.recipient,
                            reason={"complained": "spam_complaint", "unsubscribed": "unsubscribed"}.get(
                                event.event_type, "hard_bounce"),
                            details={"message_id": event.message_id, "description": event.description,
                                     "notification_id": notification.pk if notification else None})
        if notification is None:
            logger.info("email event %s for unknown message %s", event.event_type, event.message_id)
            return None
        log = delivery_log_record(
            notification, event.event_type, provider=provider, provider_event_id=provider_event_id[:255],
            details={"record_type": event.record_type, "recipient": event.recipient,
                     "reject_reason": event.reject_reason, "description": event.description,
                     "mta_response": (event.mta_response or "")[:1000],
                     "timestamp": event.timestamp.isoformat() if event.timestamp else None})
        if log is None:
            return None  # duplicate webhook
        status = _EMAIL_STATUS.get(event.event_type)
        if event.event_type == "bounced" and not event.deactivates:
            status = None  # a soft bounce: Postmark keeps trying; the log says so
        fields = []
        if _advance(notification, status):
            fields.append("status")
            if notification.status in (NotificationStatus.BOUNCED, NotificationStatus.FAILED):
                notification.last_error = (event.description or event.event_type)[:4000]
                fields.append("last_error")
        if fields:
            model_update(instance=notification, fields=fields)
    return log


_SMS_STATUS = {"sent": NotificationStatus.SENT, "delivered": NotificationStatus.DELIVERED,
               "read": NotificationStatus.OPENED, "undelivered": NotificationStatus.FAILED,
               "failed": NotificationStatus.FAILED}


def sms_status_record(*, message_sid: str, status: str, notification_id=None, error_code: str = "",
                      details: dict | None = None) -> DeliveryLog | None:
    """Apply one Twilio status callback: log it once and advance the notification's status."""
    with transaction.atomic():
        notification = _find(notification_id, message_sid, Channel.SMS)
        if notification is None:
            logger.info("sms status %s for unknown message %s", status, message_sid)
            return None
        if not notification.provider_message_id and message_sid:
            model_update(instance=notification, fields=["provider_message_id"],
                         data={"provider_message_id": message_sid[:255]})
        log = delivery_log_record(notification, status, provider="twilio",
                                  provider_event_id=f"{message_sid}:{status}"[:255],
                                  details={**(details or {}), "error_code": error_code})
        if log is None:
            return None
        new_status = _SMS_STATUS.get(status)
        if _advance(notification, new_status):
            fields = ["status"]
            if new_status == NotificationStatus.FAILED:
                notification.last_error = f"Twilio reports {status} (error {error_code or 'unknown'})."
                fields.append("last_error")
            model_update(instance=notification, fields=fields)
        if error_code == "21610":
            suppression_add(channel=Channel.SMS, address=notification.recipients[0], reason="sms_stop",
                            details={"message_sid": message_sid})
    return log

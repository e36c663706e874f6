"""Every write of the notifications area: templates, creating notifications, sending, delivery tracking.

A Notification row is the truth: it is written (pending) in the caller's transaction, the send is enqueued
after commit, and the periodic sweeps (tasks.py) pick up whatever a lost or failed job left pending.
One message per event and channel: the (dedupe_key, channel) unique constraint makes re-running a no-op.
"""

from core.notifications.services.creating import (
    EVENTS,
    MANAGE_URL_PLACEHOLDER,
    PAY_URL_PLACEHOLDER,
    booking_context,
    notification_resend,
    notification_send_custom,
    notify_booking_event,
    reminder_time,
    sms_enabled,
)
from core.notifications.services.sending import (
    STALE_SENDING,
    notification_deliver,
    notifications_retry,
    notifications_send_due,
    twilio_status_callback_url,
    with_manage_url,
)
from core.notifications.services.staff import notification_send_staff
from core.notifications.services.suppression import is_suppressed, sms_inbound_record, suppression_add
from core.notifications.services.templates import (
    email_template_form_errors,
    email_template_preview,
    email_template_save,
    email_template_send_test,
    email_template_validate,
)
from core.notifications.services.tracking import EmailEvent, email_event_record, sms_status_record

__all__ = [
    "EVENTS",
    "MANAGE_URL_PLACEHOLDER",
    "PAY_URL_PLACEHOLDER",
    "STALE_SENDING",
    "EmailEvent",
    "booking_context",
    "email_event_record",
    "email_template_form_errors",
    "email_template_preview",
    "email_template_save",
    "email_template_send_test",
    "email_template_validate",
    "is_suppressed",
    "notification_deliver",
    "notification_resend",
    "notification_send_custom",
    "notification_send_staff",
    "notifications_retry",
    "notifications_send_due",
    "notify_booking_event",
    "reminder_time",
    "sms_enabled",
    "sms_inbound_record",
    "sms_status_record",
    "suppression_add",
    "twilio_status_callback_url",
    "with_manage_url",
]

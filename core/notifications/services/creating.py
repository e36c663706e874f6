"""Creating notifications once per event and channel, and enqueueing their send after commit."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.html import linebreaks

from core.common.audit import set_actor
from core.common.money import from_cents, money_str
from core.notifications import rendering
from core.notifications.errors import (
    NoRecipient,
    NothingToResend,
    UnknownEvent,
)
from core.notifications.models import (
    Channel,
    EmailTemplate,
    Notification,
    NotificationStatus,
    NotificationType,
)
from core.notifications.services.suppression import is_suppressed

logger = logging.getLogger(__name__)

REMINDER_HOUR = 8  # the start of the morning pickup window

EVENTS = frozenset(NotificationType.values) - {NotificationType.CUSTOM}

# What a stored notification holds where the customer's manage link goes. The link carries a signed token that
# opens the booking, so it is minted when the message is handed to the provider (sending.py) and never written
# to a row, its history or a log: a leaked database dump or console screenshot is not a key to the booking.
MANAGE_URL_PLACEHOLDER = "{{ manage_url }}"
PAY_URL_PLACEHOLDER = "{{ pay_url }}"  # the same token, to the site's payment page (payment links)


def switched_off_message(notification_type: str) -> str:
    return f"The {notification_type!r} template is switched off (inactive)."


def _amount_paid(booking) -> Decimal:
    from core.payments.models import PaymentStatus

    cents = booking.payments.filter(status=PaymentStatus.SUCCEEDED).aggregate(total=Sum("amount_cents"))["total"]
    return from_cents(cents) if cents else booking.total_price


def booking_context(*, booking, notification_type: str) -> dict:
    """The variables `notification_type` provides (rendering.PROVIDED_VARIABLES), filled from the booking."""
    customer = booking.customer
    manage_url = MANAGE_URL_PLACEHOLDER  # rendered at send time (sending.with_manage_url), never stored
    values = {
        "customer_name": customer.name,
        "booking_number": booking.booking_number,
        "manage_url": manage_url,
        "support_phone": settings.TOTETAXI["SUPPORT_PHONE"],
        "support_email": settings.TOTETAXI.get("SUPPORT_EMAIL", "support@totetaxi.com"),
        "booking_type_display": booking.get_booking_type_display(),
        "pickup_date": booking.pickup_date,
        "pickup_window_display": booking.get_pickup_window_display(),
        "pickup_address": str(booking.pickup_address),
        "dropoff_address": str(booking.dropoff_address),
        "total_price": money_str(booking.total_price),
        "coi_required": booking.coi_required,
        "status_display": booking.get_status_display(),
        "tracking_url": booking.tracking_url or manage_url,
    }
    allowed = rendering.PROVIDED_VARIABLES[notification_type]
    if "amount_paid" in allowed:
        values["amount_paid"] = money_str(_amount_paid(booking))
    return {key: value for key, value in values.items() if key in allowed}


def reminder_time(pickup_date: dt.date) -> dt.datetime:
    """The morning before the pickup (8:00 service-area wall-clock time, so DST weekends stay at 8:00)."""
    day_before = pickup_date - dt.timedelta(days=1)
    return dt.datetime.combine(day_before, dt.time(REMINDER_HOUR), tzinfo=timezone.get_default_timezone())


def _recipient(customer, channel: str) -> str:
    return (customer.email if channel == Channel.EMAIL else customer.phone) or ""


def notification_create_once(*, dedupe_key: str, channel: str, actor=None, **fields) -> tuple[Notification, bool]:
    """Insert the notification unless this event already has one on this channel (race-safe)."""
    existing = Notification.objects.filter(dedupe_key=dedupe_key, channel=channel).first()
    if existing is not None:
        return existing, False
    notification = Notification(dedupe_key=dedupe_key, channel=channel, **fields)
    set_actor(notification, actor)
    try:
        with transaction.atomic():
            notification.save(force_insert=True)
    except IntegrityError:
        # Another process inserted the same event between our read and our insert.
        return Notification.objects.get(dedupe_key=dedupe_key, channel=channel), False
    return notification, True


def fill_from_template(notification: Notification, template: EmailTemplate, context: dict) -> None:
    """Render `template` with `context` into the notification's subject and bodies (not saved)."""
    rendered = rendering.render_template(template, context)
    notification.template = template
    notification.template_version = template.version
    notification.subject = rendered.subject[:255]
    if notification.channel == Channel.SMS:
        notification.body_text, notification.body_html = rendered.sms, ""
    else:
        notification.body_text, notification.body_html = rendered.text, rendered.html


def _booking_notification(*, booking, notification_type: str, channel: str, dedupe_key: str,
                          template: EmailTemplate | None, context: dict | None = None,
                          scheduled_for: dt.datetime | None = None, actor=None, resend_of=None
                          ) -> tuple[Notification, bool]:
    """`template`: the one named `notification_type` (None when missing); `context`: its booking_context,
    when the caller already built it for another channel."""
    customer = booking.customer
    address = _recipient(customer, channel)
    fields = dict(notification_type=notification_type, booking=booking, customer=customer,
                  recipients=[address], scheduled_for=scheduled_for, resend_of=resend_of)
    if template is None:
        fields.update(status=NotificationStatus.FAILED,
                      last_error=f"No email template named {notification_type!r}.")
    elif not template.is_active:
        # Staff switched this message off: record that it was not sent, and why.
        template = None
        fields.update(status=NotificationStatus.CANCELLED, last_error=switched_off_message(notification_type))
    elif is_suppressed(channel=channel, address=address):
        fields.update(status=NotificationStatus.SUPPRESSED,
                      last_error=f"{address} is suppressed (bounce, complaint or opt-out).")
    notification = Notification(**fields, channel=channel)
    if template is not None:
        try:
            if context is None:
                context = booking_context(booking=booking, notification_type=notification_type)
            fill_from_template(notification, template, context)
        except Exception as exc:  # a template that no longer renders: visible, never a crashed payment task
            fields.update(status=NotificationStatus.FAILED, last_error=f"Template failed to render: {exc}")
    for name in ("template", "template_version", "subject", "body_text", "body_html"):
        fields[name] = getattr(notification, name)
    return notification_create_once(dedupe_key=dedupe_key, channel=channel, actor=actor, **fields)


def _channels_for(booking, template: EmailTemplate | None) -> list[str]:
    """Email always; SMS too when the customer has a phone, SMS is configured and the template has an SMS
    text (a missing or switched-off template still records why nothing was sent, on both channels)."""
    channels = [Channel.EMAIL]
    sms_text = template is None or not template.is_active or template.sms_template.strip()
    if booking.customer.phone and sms_enabled() and sms_text:
        channels.append(Channel.SMS)
    return channels


def sms_enabled() -> bool:
    return bool(getattr(settings, "TWILIO_ACCOUNT_SID", "") and getattr(settings, "TWILIO_AUTH_TOKEN", ""))


def notifications_send_after_commit(notifications: Iterable[Notification]) -> None:
    """Enqueue a send for each notification that is due now, once the caller's transaction commits.

    If the enqueue itself fails (Redis down), the row stays pending and the sweep sends it.
    """
    from core.notifications.tasks import send_notification

    now = timezone.now()
    for notification in notifications:
        if notification.status == NotificationStatus.PENDING and (
                notification.scheduled_for is None or notification.scheduled_for <= now):
            transaction.on_commit(partial(send_notification, notification.pk), robust=True)


def notify_booking_event(*, booking, event: str, actor=None) -> list[Notification]:
    """Create (once) and send the notifications of a booking event; returns them, new or existing.

    "payment_confirmation" sends the booking confirmation and the payment receipt (plus the COI request when
    the booking needs one) and schedules the reminder for the morning before pickup.
    """
    if event not in EVENTS:
        raise UnknownEvent(f"No notification is defined for {event!r}.", fields={"event": [event]})
    from core.bookings.models import Booking, BookingStatus

    booking = Booking.objects.select_related("customer", "pickup_address", "dropoff_address").get(pk=booking.pk)
    if booking.status == BookingStatus.CANCELLED:
        # e.g. a payment that landed after the hold expired: the payments area settles that, not a "confirmed".
        logger.info("no %s for cancelled booking %s", event, booking.booking_number)
        return []
    if event == "payment_confirmation":
        plan = [("booking_confirmation", None), ("payment_confirmation", None), ("booking_reminder", "schedule")]
        if booking.coi_required:
            plan.append(("coi_reminder", None))  # the building's requirements are needed before pickup
    elif event == "booking_reminder":
        plan = [("booking_reminder", "schedule")]
    else:
        plan = [(event, None)]
    now = timezone.now()
    templates = EmailTemplate.objects.in_bulk([notification_type for notification_type, _ in plan],
                                              field_name="name")
    created: list[Notification] = []
    with transaction.atomic():
        for notification_type, when in plan:
            scheduled_for = None
            if when == "schedule":
                scheduled_for = reminder_time(booking.pickup_date)
                if scheduled_for <= now:
                    continue  # paid too late for a reminder: the confirmation says the same
            dedupe = f"{notification_type}:{booking.pk}"
            if notification_type == "tracking_update":
                dedupe += f":{booking.status}"  # one update per status the booking reaches
            template = templates.get(notification_type)
            context = None
            if template is not None and template.is_active:
                context = booking_context(booking=booking, notification_type=notification_type)
            for channel in _channels_for(booking, template):
                notification, _new = _booking_notification(
                    booking=booking, notification_type=notification_type, channel=channel, dedupe_key=dedupe,
                    template=template, context=context, scheduled_for=scheduled_for, actor=actor)
                created.append(notification)
        notifications_send_after_commit(created)
    return created


def notification_resend(*, booking, notification_type: str = "booking_confirmation", actor) -> Notification:
    """A new email attempt of a booking's notification (its own row, linked to the original), sent after commit."""
    if notification_type not in NotificationType.values:
        raise UnknownEvent(f"No notification type {notification_type!r}.")
    base = f"{notification_type}:{booking.pk}"
    original = (Notification.objects.filter(booking=booking, notification_type=notification_type,
                                            channel=Channel.EMAIL, resend_of__isnull=True)
                .order_by("created_at", "pk").first())
    if notification_type == NotificationType.CUSTOM and original is None:
        raise NothingToResend("This booking has no custom message to resend.")
    for _attempt in range(5):
        count = Notification.objects.filter(channel=Channel.EMAIL, dedupe_key__startswith=f"{base}:resend:").count()
        dedupe = f"{base}:resend:{count + 1}"
        with transaction.atomic():
            if notification_type == NotificationType.CUSTOM:
                latest = (Notification.objects.filter(booking=booking, notification_type=notification_type,
                                                      channel=Channel.EMAIL).order_by("-created_at").first())
                notification, new = notification_create_once(
                    dedupe_key=dedupe, channel=Channel.EMAIL, actor=actor, notification_type=notification_type,
                    booking=booking, customer=booking.customer, recipients=[booking.customer.email],
                    subject=latest.subject, body_text=latest.body_text, body_html=latest.body_html,
                    resend_of=original)
            else:
                notification, new = _booking_notification(
                    booking=booking, notification_type=notification_type, channel=Channel.EMAIL,
                    dedupe_key=dedupe, template=EmailTemplate.objects.filter(name=notification_type).first(),
                    actor=actor, resend_of=original)
            if new:
                notifications_send_after_commit([notification])
                return notification
    raise IntegrityError("could not allocate a resend number")  # pragma: no cover - 5 lost races in a row


def _custom_html(body: str, *, manage_link: bool) -> str:
    html = linebreaks(body, autoescape=True)
    for placeholder in (MANAGE_URL_PLACEHOLDER, PAY_URL_PLACEHOLDER):  # written into the text: make it a link
        html = html.replace(placeholder, f'<a href="{placeholder}">{placeholder}</a>')
    if manage_link:
        html += (f'<p>View or manage your booking: <a href="{MANAGE_URL_PLACEHOLDER}">'
                 f'{MANAGE_URL_PLACEHOLDER}</a></p>')
    return html


def notification_send_custom(*, booking=None, customer=None, subject: str, body: str, channels: Iterable[str],
                             actor, event_key: str | None = None) -> list[Notification]:
    """A message written by staff to a booking's customer (or any customer), on the given channels.

    An email about a booking ends with the customer's manage link unless the body places `{{ manage_url }}`
    itself; either way the link is rendered at send time (the stored row holds the placeholder).
    Each call is its own event unless `event_key` names one (a job's message): then it is stored, and sent,
    once per channel whatever the repeats (the existing rows are returned).
    """
    from core.common.errors import ValidationError

    customer = customer or (booking.customer if booking is not None else None)
    channels = list(dict.fromkeys(channels))
    errors: dict[str, list[str]] = {}
    if customer is None:
        errors["customer"] = ["Choose a booking or a customer."]
    if not channels or any(c not in Channel.values for c in channels):
        errors["channels"] = ["Choose email and/or SMS."]
    if Channel.EMAIL in channels and not subject.strip():
        errors["subject"] = ["An email needs a subject."]
    if not body.strip():
        errors["body"] = ["The message is empty."]
    if Channel.SMS in channels and len(body) > 1600:
        errors["body"] = ["An SMS can be at most 1,600 characters."]
    if errors:
        raise ValidationError("The message is not valid.", fields=errors)
    for channel in channels:
        if not _recipient(customer, channel):
            raise NoRecipient(f"{customer.name} has no {'phone number' if channel == Channel.SMS else 'email'}.",
                              fields={"channels": [channel]})
    event_id = event_key or uuid.uuid4().hex  # every custom message is its own event, unless named
    notifications = []
    with transaction.atomic():
        for channel in channels:
            address = _recipient(customer, channel)
            suppressed = is_suppressed(channel=channel, address=address)
            text = body.strip()
            manage_link = (channel == Channel.EMAIL and booking is not None
                           and MANAGE_URL_PLACEHOLDER not in text)
            notification, _new = notification_create_once(
                dedupe_key=f"custom:{event_id}", channel=channel, actor=actor,
                notification_type=NotificationType.CUSTOM, booking=booking, customer=customer,
                recipients=[address], subject=subject.strip()[:255],
                body_text=f"{text}\n\nView or manage your booking: {MANAGE_URL_PLACEHOLDER}" if manage_link else text,
                body_html=_custom_html(text, manage_link=manage_link) if channel == Channel.EMAIL else "",
                status=NotificationStatus.SUPPRESSED if suppressed else NotificationStatus.PENDING,
                last_error=f"{address} is suppressed (bounce, complaint or opt-out)." if suppressed else "")
            notifications.append(notification)
        notifications_send_after_commit(notifications)
    return notifications

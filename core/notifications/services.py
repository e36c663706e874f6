"""Every write of the notifications area: templates, creating notifications, sending, delivery tracking.

A Notification row is the truth: it is written (pending) in the caller's transaction, the send is enqueued
after commit, and the periodic sweeps (tasks.py) pick up whatever a lost or failed job left pending.
One message per event and channel: the (dedupe_key, channel) unique constraint makes re-running a no-op.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import linebreaks

from core.common.audit import set_actor
from core.notifications import rendering
from core.notifications.errors import (
    NoRecipient,
    NothingToResend,
    TemplateInvalid,
    UnknownEvent,
)
from core.notifications.models import (
    Channel,
    DeliveryLog,
    EmailTemplate,
    Notification,
    NotificationStatus,
    NotificationType,
    Suppression,
)

logger = logging.getLogger(__name__)

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
REMINDER_HOUR = 8  # the start of the morning pickup window
RETRY_BASE_SECONDS = 60
RETRY_MAX_SECONDS = 3600
# A row claimed ("sending") this long ago belongs to a worker that died mid-send.
STALE_SENDING = dt.timedelta(minutes=10)

EVENTS = frozenset({"payment_confirmation", "booking_confirmation", "booking_reminder", "coi_reminder",
                    "tracking_update", "delivery_confirmation"})
# Forward-looking messages make no sense once the booking is cancelled; records of the past still do.
_CANCELLABLE_TYPES = frozenset({"booking_reminder", "coi_reminder", "tracking_update"})
_FINAL = frozenset({NotificationStatus.BOUNCED, NotificationStatus.FAILED, NotificationStatus.SUPPRESSED,
                    NotificationStatus.CANCELLED})
_RANK = {NotificationStatus.PENDING: 0, NotificationStatus.SENDING: 1, NotificationStatus.SENT: 2,
         NotificationStatus.DELIVERED: 3, NotificationStatus.OPENED: 4}


# --- templates -------------------------------------------------------------------------------------------

def email_template_validate(*, template: EmailTemplate) -> list[rendering.TemplateProblem]:
    """Everything wrong with a template: syntax, forbidden tags, variables its type does not provide."""
    allowed = rendering.PROVIDED_VARIABLES.get(template.name)
    if allowed is None:
        return [rendering.TemplateProblem(
            "name", f"No notification type is called {template.name!r}; use one of "
                    f"{', '.join(sorted(rendering.PROVIDED_VARIABLES))}.")]
    problems = []
    for field in rendering.TEMPLATE_FIELDS:
        source = getattr(template, field) or ""
        if not source.strip():
            if field != "sms_template":
                problems.append(rendering.TemplateProblem(field, "This template is empty."))
            continue
        problems.extend(rendering.check_source(field, source, allowed))
    if not problems:
        try:
            preview = email_template_preview(template=template)
        except Exception as exc:  # a filter raising on the test data: show it, don't 500
            problems.append(rendering.TemplateProblem("test_data", f"The preview failed: {exc}"))
        else:
            if len(preview["sms"]) > 320:
                problems.append(rendering.TemplateProblem(
                    "sms_template", f"The SMS renders to {len(preview['sms'])} characters; keep it under 320."))
    return problems


def email_template_form_errors(*, template: EmailTemplate) -> dict[str, list[str]]:
    """email_template_validate grouped by field, for a form's add_error."""
    errors: dict[str, list[str]] = {}
    for problem in email_template_validate(template=template):
        errors.setdefault(problem.field, []).append(problem.message)
    return errors


def email_template_save(*, template: EmailTemplate, actor) -> EmailTemplate:
    """Validate and save a (new or edited) template; its version goes up when its content changes."""
    errors = email_template_form_errors(template=template)
    if errors:
        raise TemplateInvalid("The template has errors: " + "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in errors.items()), fields=errors)
    with transaction.atomic():
        if template.pk:
            current = EmailTemplate.objects.select_for_update().filter(pk=template.pk).first()
            if current is not None and any(getattr(current, f) != getattr(template, f)
                                           for f in rendering.TEMPLATE_FIELDS):
                template.version = current.version + 1
        set_actor(template, actor)
        template.save()
    return template


def email_template_preview(*, template: EmailTemplate) -> dict[str, str]:
    """The template rendered with its test data: {subject, html, text, sms}."""
    return rendering.render_template(template, rendering.coerce_test_data(template.test_data)).as_dict()


# --- context -------------------------------------------------------------------------------------------

def _site_url() -> str:
    return str(settings.TOTETAXI.get("PUBLIC_SITE_URL", "")).rstrip("/")


def _amount_paid(booking) -> Decimal:
    from core.payments.models import PaymentStatus

    cents = booking.payments.filter(status=PaymentStatus.SUCCEEDED).aggregate(total=Sum("amount_cents"))["total"]
    return (Decimal(cents) / 100).quantize(Decimal("0.01")) if cents else booking.total_price


def booking_context(*, booking, notification_type: str) -> dict:
    """The variables `notification_type` provides (rendering.PROVIDED_VARIABLES), filled from the booking."""
    customer = booking.customer
    # The customer's access token is stored hashed, so the link cannot carry it: the site asks for it.
    manage_url = f"{_site_url()}/bookings/{booking.booking_number}/"
    values = {
        "customer_name": customer.name,
        "booking_number": booking.booking_number,
        "manage_url": manage_url,
        "support_phone": settings.TOTETAXI.get("SUPPORT_PHONE", "(631) 555-0142"),
        "support_email": settings.TOTETAXI.get("SUPPORT_EMAIL", "support@totetaxi.com"),
        "booking_type_display": booking.get_booking_type_display(),
        "pickup_date": booking.pickup_date,
        "pickup_window_display": booking.get_pickup_window_display(),
        "pickup_address": str(booking.pickup_address),
        "dropoff_address": str(booking.dropoff_address),
        "total_price": f"{booking.total_price:.2f}",
        "coi_required": booking.coi_required,
        "status_display": booking.get_status_display(),
        "tracking_url": booking.tracking_url or manage_url,
    }
    allowed = rendering.PROVIDED_VARIABLES[notification_type]
    if "amount_paid" in allowed:
        values["amount_paid"] = f"{_amount_paid(booking):.2f}"
    return {key: value for key, value in values.items() if key in allowed}


def reminder_time(pickup_date: dt.date) -> dt.datetime:
    """The morning before the pickup (8:00 New York wall-clock time, so DST weekends stay at 8:00)."""
    day_before = pickup_date - dt.timedelta(days=1)
    return dt.datetime.combine(day_before, dt.time(REMINDER_HOUR), tzinfo=NEW_YORK)


# --- suppression ---------------------------------------------------------------------------------------

def _normalise(channel: str, address: str) -> str:
    return address.strip().lower() if channel == Channel.EMAIL else address.strip()


def is_suppressed(*, channel: str, address: str) -> bool:
    return Suppression.objects.filter(channel=channel, address=_normalise(channel, address)).exists()


def suppression_add(*, channel: str, address: str, reason: str, details: dict | None = None) -> Suppression:
    """Never message this address on this channel again (bounce, complaint, STOP); idempotent."""
    address = _normalise(channel, address)
    existing = Suppression.objects.filter(channel=channel, address=address).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Suppression.objects.create(channel=channel, address=address, reason=reason[:40],
                                              details=details or {})
    except IntegrityError:  # a concurrent webhook added it first
        return Suppression.objects.get(channel=channel, address=address)


# --- creating notifications ----------------------------------------------------------------------------

def _recipient(customer, channel: str) -> str:
    return (customer.email if channel == Channel.EMAIL else customer.phone) or ""


def _create_once(*, dedupe_key: str, channel: str, actor=None, **fields) -> tuple[Notification, bool]:
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


def _fill_from_template(notification: Notification, template: EmailTemplate, context: dict) -> None:
    rendered = rendering.render_template(template, context)
    notification.template = template
    notification.template_version = template.version
    notification.subject = rendered.subject[:255]
    if notification.channel == Channel.SMS:
        notification.body_text, notification.body_html = rendered.sms, ""
    else:
        notification.body_text, notification.body_html = rendered.text, rendered.html


def _booking_notification(*, booking, notification_type: str, channel: str, dedupe_key: str,
                          scheduled_for: dt.datetime | None = None, actor=None, resend_of=None
                          ) -> tuple[Notification, bool]:
    customer = booking.customer
    address = _recipient(customer, channel)
    fields = dict(notification_type=notification_type, booking=booking, customer=customer,
                  recipients=[address], scheduled_for=scheduled_for, resend_of=resend_of)
    template = EmailTemplate.objects.filter(name=notification_type).first()
    if template is None:
        fields.update(status=NotificationStatus.FAILED,
                      last_error=f"No email template named {notification_type!r}.")
    elif not template.is_active:
        # Staff switched this message off: record that it was not sent, and why.
        template = None
        fields.update(status=NotificationStatus.CANCELLED,
                      last_error=f"The {notification_type!r} template is switched off (inactive).")
    elif is_suppressed(channel=channel, address=address):
        fields.update(status=NotificationStatus.SUPPRESSED,
                      last_error=f"{address} is suppressed (bounce, complaint or opt-out).")
    notification = Notification(**fields, channel=channel)
    if template is not None:
        try:
            _fill_from_template(notification, template, booking_context(booking=booking,
                                                                        notification_type=notification_type))
        except Exception as exc:  # a template that no longer renders: visible, never a crashed payment task
            fields.update(status=NotificationStatus.FAILED, last_error=f"Template failed to render: {exc}")
    for name in ("template", "template_version", "subject", "body_text", "body_html"):
        fields[name] = getattr(notification, name)
    return _create_once(dedupe_key=dedupe_key, channel=channel, actor=actor, **fields)


def _channels_for(booking, template_name: str) -> list[str]:
    channels = [Channel.EMAIL]
    if booking.customer.phone and sms_enabled():
        template = EmailTemplate.objects.filter(name=template_name, is_active=True).only("sms_template").first()
        if template is None or template.sms_template.strip():
            channels.append(Channel.SMS)
    return channels


def sms_enabled() -> bool:
    return bool(getattr(settings, "TWILIO_ACCOUNT_SID", "") and getattr(settings, "TWILIO_AUTH_TOKEN", ""))


def _send_after_commit(notifications: Iterable[Notification]) -> None:
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
            for channel in _channels_for(booking, notification_type):
                notification, _new = _booking_notification(
                    booking=booking, notification_type=notification_type, channel=channel,
                    dedupe_key=dedupe, scheduled_for=scheduled_for, actor=actor)
                created.append(notification)
        _send_after_commit(created)
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
                notification, new = _create_once(
                    dedupe_key=dedupe, channel=Channel.EMAIL, actor=actor, notification_type=notification_type,
                    booking=booking, customer=booking.customer, recipients=[booking.customer.email],
                    subject=latest.subject, body_text=latest.body_text, body_html=latest.body_html,
                    resend_of=original)
            else:
                notification, new = _booking_notification(
                    booking=booking, notification_type=notification_type, channel=Channel.EMAIL,
                    dedupe_key=dedupe, actor=actor, resend_of=original)
            if new:
                _send_after_commit([notification])
                return notification
    raise IntegrityError("could not allocate a resend number")  # pragma: no cover - 5 lost races in a row


def notification_send_custom(*, booking=None, customer=None, subject: str, body: str, channels: Iterable[str],
                             actor) -> list[Notification]:
    """A message written by staff to a booking's customer (or any customer), on the given channels."""
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
    event_id = uuid.uuid4().hex  # every custom message is its own event
    notifications = []
    with transaction.atomic():
        for channel in channels:
            address = _recipient(customer, channel)
            suppressed = is_suppressed(channel=channel, address=address)
            notification, _new = _create_once(
                dedupe_key=f"custom:{event_id}", channel=channel, actor=actor,
                notification_type=NotificationType.CUSTOM, booking=booking, customer=customer,
                recipients=[address], subject=subject.strip()[:255], body_text=body.strip(),
                body_html=linebreaks(body.strip(), autoescape=True) if channel == Channel.EMAIL else "",
                status=NotificationStatus.SUPPRESSED if suppressed else NotificationStatus.PENDING,
                last_error=f"{address} is suppressed (bounce, complaint or opt-out)." if suppressed else "")
            notifications.append(notification)
        _send_after_commit(notifications)
    return notifications


def email_template_send_test(*, template: EmailTemplate, to: str, actor) -> Notification:
    """Send the template rendered with its test data to `to` (a staff address) through the real email path."""
    if not to:
        raise NoRecipient("Your user has no email address.")
    rendered = rendering.render_template(template, rendering.coerce_test_data(template.test_data))
    notification_type = template.name if template.name in NotificationType.values else NotificationType.CUSTOM
    notification, _new = _create_once(
        dedupe_key=f"test:{template.pk}:{uuid.uuid4().hex}", channel=Channel.EMAIL, actor=actor,
        notification_type=notification_type, recipients=[to], subject=f"[TEST] {rendered.subject}"[:255],
        body_text=rendered.text, body_html=rendered.html, template=template, template_version=template.version,
        max_retries=0)
    return notification_deliver(notification_id=notification.pk)


# --- sending -------------------------------------------------------------------------------------------

class _Retryable(Exception):
    pass


class _Final(Exception):
    def __init__(self, message: str, *, status: str = NotificationStatus.FAILED,
                 suppress: tuple[str, str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.suppress = suppress  # (channel, address, reason)


def _is_due(notification: Notification, now: dt.datetime) -> bool:
    return (notification.status == NotificationStatus.PENDING
            and (notification.scheduled_for is None or notification.scheduled_for <= now)
            and (notification.next_retry_at is None or notification.next_retry_at <= now))


def _log(notification: Notification, event: str, *, provider: str = "", provider_event_id: str = "",
         details: dict | None = None) -> DeliveryLog | None:
    try:
        with transaction.atomic():
            return DeliveryLog.objects.create(notification=notification, event=event, provider=provider,
                                              provider_event_id=provider_event_id, details=details or {})
    except IntegrityError:
        return None  # this provider event was recorded already


def _save(notification: Notification, fields: list[str]) -> None:
    notification.save(update_fields=[*fields, "updated_at"])


def _email_provider() -> str:
    return "postmark" if "anymail.backends.postmark" in settings.EMAIL_BACKEND else "email"


def _send_email(notification: Notification) -> str:
    from anymail.exceptions import AnymailError, AnymailRecipientsRefused, AnymailRequestsAPIError

    template = notification.template
    sender = f"{template.from_name} <{template.from_email}>" if template else settings.DEFAULT_FROM_EMAIL
    message = EmailMultiAlternatives(
        subject=notification.subject, body=notification.body_text, from_email=sender,
        to=list(notification.recipients), reply_to=[template.reply_to] if template and template.reply_to else None)
    if notification.body_html:
        message.attach_alternative(notification.body_html, "text/html")
    message.metadata = {"notification_id": str(notification.pk)}  # read back from tracking webhooks
    message.tags = [notification.notification_type]
    try:
        message.send()
    except AnymailRecipientsRefused as exc:
        statuses = getattr(getattr(message, "anymail_status", None), "recipients", {}) or {}
        address = notification.recipients[0]
        status = getattr(statuses.get(address.lower()) or statuses.get(address), "status", "rejected")
        if status == "invalid":
            raise _Final(f"Postmark refused the address as invalid: {exc}") from exc
        raise _Final(f"Postmark will not deliver to {address} (inactive: bounce or complaint).",
                     status=NotificationStatus.SUPPRESSED,
                     suppress=(Channel.EMAIL, address, "provider_inactive")) from exc
    except AnymailRequestsAPIError as exc:
        code = exc.status_code
        if code is None or code >= 500 or code in (408, 429):
            raise _Retryable(f"Email provider unavailable ({code or 'no response'}): {exc}") from exc
        raise _Final(f"Email provider refused the message (HTTP {code}): {exc}") from exc
    except AnymailError as exc:
        raise _Final(f"Email configuration error: {exc}") from exc
    except OSError as exc:  # SMTP and socket errors of non-anymail backends
        raise _Retryable(f"Email backend error: {exc}") from exc
    status = getattr(message, "anymail_status", None)
    message_id = getattr(status, "message_id", None) or ""
    if isinstance(message_id, set):
        message_id = ",".join(sorted(str(m) for m in message_id if m))
    return str(message_id)


def twilio_status_callback_url(notification: Notification) -> str | None:
    """Where Twilio should POST status updates for this message (None when we have no public address)."""
    base = str(getattr(settings, "PUBLIC_BASE_URL", "") or "").rstrip("/")
    if not base:
        return None
    try:
        path = reverse("twilio-status-callback")
    except NoReverseMatch:
        return None
    # The id makes the callback findable even if it races our own "sent" bookkeeping.
    return f"{base}{path}?n={notification.pk}"


def _send_sms(notification: Notification) -> str:
    from core.integrations.twilio import TwilioNotConfigured, TwilioRejected, TwilioUnavailable, send_sms

    to = notification.recipients[0]
    try:
        result = send_sms(to=to, body=notification.body_text,
                          status_callback=twilio_status_callback_url(notification))
    except TwilioRejected as exc:
        if exc.unsubscribed:
            raise _Final(f"{to} replied STOP (Twilio 21610): not sent.", status=NotificationStatus.SUPPRESSED,
                         suppress=(Channel.SMS, to, "sms_stop")) from exc
        raise _Final(str(exc)) from exc
    except TwilioUnavailable as exc:
        # No idempotency key on Twilio Messages: after a timeout (maybe_sent) a retry may text twice.
        # A late reminder or a duplicate is better than a confirmation silently lost; staff see the note.
        note = " (the SMS may have been sent)" if exc.maybe_sent else ""
        raise _Retryable(f"{exc}{note}") from exc
    except TwilioNotConfigured as exc:
        raise _Final(f"Twilio is not configured: {exc}") from exc
    return result.sid


def _backoff(retry_count: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** max(retry_count - 1, 0), RETRY_MAX_SECONDS))


def _claim(notification_id: int, now: dt.datetime) -> Notification | None:
    """Lock the row and mark it sending if it is due; None when there is nothing to send."""
    from core.bookings.models import BookingStatus

    with transaction.atomic():
        notification = (Notification.objects.select_for_update(of=("self",))
                        .select_related("template", "booking", "customer").filter(pk=notification_id).first())
        if notification is None or not _is_due(notification, now):
            return None  # sent already, claimed by another worker, not due yet, or final
        address = notification.recipients[0] if notification.recipients else ""
        booking = notification.booking
        if (booking is not None and booking.status == BookingStatus.CANCELLED
                and notification.notification_type in _CANCELLABLE_TYPES):
            notification.status = NotificationStatus.CANCELLED
            notification.last_error = "The booking was cancelled."
            _save(notification, ["status", "last_error"])
            return None
        if not address:
            notification.status = NotificationStatus.FAILED
            notification.last_error = "No recipient."
            _save(notification, ["status", "last_error"])
            return None
        if is_suppressed(channel=notification.channel, address=address):
            notification.status = NotificationStatus.SUPPRESSED
            notification.last_error = f"{address} is suppressed (bounce, complaint or opt-out)."
            _save(notification, ["status", "last_error"])
            return None
        fields = ["status"]
        if (notification.scheduled_for is not None and booking is not None and notification.template_id
                and notification.template.is_active):
            # Scheduled long ago: render what the booking says now.
            _fill_from_template(notification, notification.template,
                                booking_context(booking=booking, notification_type=notification.notification_type))
            fields += ["template_version", "subject", "body_text", "body_html"]
        notification.status = NotificationStatus.SENDING
        _save(notification, fields)
    return notification


def notification_deliver(*, notification_id: int, now: dt.datetime | None = None) -> Notification | None:
    """Send one notification if it is due; record the outcome (sent, retry later, or failed for good)."""
    now = now or timezone.now()
    notification = _claim(notification_id, now)
    if notification is None:
        return Notification.objects.filter(pk=notification_id).first()
    provider = _email_provider() if notification.channel == Channel.EMAIL else "twilio"
    # The provider call runs outside any transaction: no row lock is held across the network.
    try:
        message_id = _send_email(notification) if notification.channel == Channel.EMAIL else _send_sms(notification)
    except _Retryable as exc:
        return _record_failure(notification_id, str(exc), provider=provider, now=now, retry=True)
    except _Final as exc:
        if exc.suppress:
            channel, address, reason = exc.suppress
            suppression_add(channel=channel, address=address, reason=reason,
                            details={"notification_id": notification_id})
        return _record_failure(notification_id, str(exc), provider=provider, now=now, retry=False,
                               status=exc.status)
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id)
        notification.provider_message_id = message_id[:255]
        notification.sent_at = notification.sent_at or timezone.now()
        notification.last_error = ""
        notification.next_retry_at = None
        if notification.status == NotificationStatus.SENDING:  # a fast webhook may have moved it on already
            notification.status = NotificationStatus.SENT
        _save(notification, ["provider_message_id", "sent_at", "last_error", "next_retry_at", "status"])
        _log(notification, "sent", provider=provider, details={"message_id": message_id,
                                                               "attempt": notification.retry_count + 1})
    return notification


def _record_failure(notification_id: int, error: str, *, provider: str, now: dt.datetime, retry: bool,
                    status: str = NotificationStatus.FAILED, retry_at: dt.datetime | None = None) -> Notification:
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id)
        notification.last_error = error[:4000]
        fields = ["last_error", "status", "next_retry_at", "retry_count"]
        if retry:
            notification.retry_count += 1
            if notification.retry_count > notification.max_retries:
                notification.status = NotificationStatus.FAILED
                notification.next_retry_at = None
                notification.last_error = f"Gave up after {notification.retry_count} attempts: {error}"[:4000]
            else:
                notification.status = NotificationStatus.PENDING
                notification.next_retry_at = retry_at or now + _backoff(notification.retry_count)
        else:
            notification.status = status
            notification.next_retry_at = None
        _save(notification, fields)
        _log(notification, "retry_scheduled" if notification.status == NotificationStatus.PENDING else
             notification.status, provider=provider,
             details={"error": error[:1000], "attempt": notification.retry_count,
                      "next_retry_at": notification.next_retry_at.isoformat() if notification.next_retry_at else None})
    logger.warning("notification %s %s: %s", notification_id, notification.status, error)
    return notification


def notifications_send_due(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Send pending notifications that were never tried and are due (scheduled ones, lost enqueues)."""
    now = now or timezone.now()
    ids = list(Notification.objects.filter(status=NotificationStatus.PENDING, retry_count=0)
               .filter(Q(scheduled_for__isnull=True) | Q(scheduled_for__lte=now))
               .filter(Q(next_retry_at__isnull=True) | Q(next_retry_at__lte=now))
               .order_by("scheduled_for", "created_at").values_list("pk", flat=True)[:limit])
    return _deliver_all(ids, now)


def notifications_retry(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Retry failed sends whose backoff has passed, and requeue sends a dead worker left "sending"."""
    now = now or timezone.now()
    stale = list(Notification.objects.filter(status=NotificationStatus.SENDING, updated_at__lt=now - STALE_SENDING)
                 .values_list("pk", flat=True)[:limit])
    for pk in stale:
        with transaction.atomic():
            notification = Notification.objects.select_for_update().filter(
                pk=pk, status=NotificationStatus.SENDING, updated_at__lt=now - STALE_SENDING).first()
            if notification is None:
                continue
        _record_failure(pk, "Interrupted while sending (the worker stopped); it may have been sent.",
                        provider="", now=now, retry=True, retry_at=now)
    ids = list(Notification.objects.filter(status=NotificationStatus.PENDING, retry_count__gt=0,
                                           next_retry_at__lte=now)
               .order_by("next_retry_at").values_list("pk", flat=True)[:limit])
    return _deliver_all(ids, now)


def _deliver_all(ids: list[int], now: dt.datetime) -> int:
    sent = 0
    for pk in ids:
        try:
            notification = notification_deliver(notification_id=pk, now=now)
        except Exception:  # one broken row must not stop the sweep
            logger.exception("sending notification %s failed", pk)
            continue
        if notification is not None and notification.status in (NotificationStatus.SENT,
                                                                 NotificationStatus.DELIVERED):
            sent += 1
    return sent


# --- delivery tracking ---------------------------------------------------------------------------------

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
        log = _log(notification, event.event_type, provider=provider, provider_event_id=provider_event_id[:255],
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
            _save(notification, fields)
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
            notification.provider_message_id = message_sid[:255]
            _save(notification, ["provider_message_id"])
        log = _log(notification, status, provider="twilio", provider_event_id=f"{message_sid}:{status}"[:255],
                   details={**(details or {}), "error_code": error_code})
        if log is None:
            return None
        new_status = _SMS_STATUS.get(status)
        if _advance(notification, new_status):
            fields = ["status"]
            if new_status == NotificationStatus.FAILED:
                notification.last_error = f"Twilio reports {status} (error {error_code or 'unknown'})."
                fields.append("last_error")
            _save(notification, fields)
        if error_code == "21610":
            suppression_add(channel=Channel.SMS, address=notification.recipients[0], reason="sms_stop",
                            details={"message_sid": message_sid})
    return log


# --- inbound SMS keywords ------------------------------------------------------------------------------

# Twilio's default opt-out / opt-in keywords (Twilio itself blocks further sends after STOP; recording it
# here means we stop trying, and staff can see why).
SMS_STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
SMS_START_WORDS = frozenset({"START", "UNSTOP", "YES"})


def sms_inbound_record(*, from_number: str, body: str, message_sid: str = "") -> str | None:
    """Apply an inbound SMS keyword: "opted_out", "opted_in", or None (not a keyword; nothing to do)."""
    keyword = (body or "").strip().upper().rstrip(".!")
    if not from_number:
        return None
    if keyword in SMS_STOP_WORDS:
        suppression_add(channel=Channel.SMS, address=from_number, reason="sms_stop",
                        details={"keyword": keyword, "message_sid": message_sid})
        return "opted_out"
    if keyword in SMS_START_WORDS:
        # Only lift an SMS opt-out; a number suppressed for another reason stays suppressed.
        Suppression.objects.filter(channel=Channel.SMS, address=_normalise(Channel.SMS, from_number),
                                   reason="sms_stop").delete()
        return "opted_in"
    return None

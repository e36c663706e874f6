"""Sending one notification through its provider and recording the outcome; the retry sweeps."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import escape

from core.common.services import model_update
from core.notifications.models import (
    Channel,
    DeliveryLog,
    Notification,
    NotificationStatus,
)
from core.notifications.services.creating import (
    MANAGE_URL_PLACEHOLDER,
    PAY_URL_PLACEHOLDER,
    booking_context,
    fill_from_template,
    switched_off_message,
)
from core.notifications.services.suppression import is_suppressed, suppression_add

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 60
RETRY_MAX_SECONDS = 3600
# A row claimed ("sending") this long ago belongs to a worker that died mid-send.
STALE_SENDING = dt.timedelta(minutes=10)
# Forward-looking messages make no sense once the booking is cancelled; records of the past still do.
_CANCELLABLE_TYPES = frozenset({"booking_reminder", "coi_reminder", "tracking_update"})
BALANCE_REMINDER_PREFIX = "custom:balance_reminder:"  # core.payments' daily balance reminders (custom messages)


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


def delivery_log_record(notification: Notification, event: str, *, provider: str = "", provider_event_id: str = "",
                        details: dict | None = None) -> DeliveryLog | None:
    """One line of the notification's delivery log; None when this provider event was recorded already."""
    try:
        with transaction.atomic():
            return DeliveryLog.objects.create(notification=notification, event=event, provider=provider,
                                              provider_event_id=provider_event_id, details=details or {})
    except IntegrityError:
        return None  # this provider event was recorded already


def _finish(notification: Notification, status: str, reason: str) -> None:
    """Not sent, for good (cancelled, failed, suppressed), and why."""
    model_update(instance=notification, fields=["status", "last_error"], data={"status": status, "last_error": reason})


def with_manage_url(notification: Notification, text: str, *, html: bool = False) -> str:
    """`text` with the manage/pay link placeholders replaced by freshly signed links to the notification's booking.

    Called at send time only: the stored row keeps the placeholders (the token is a key to the booking). A
    scheduled report's staff email gets its download links here too (core.reporting: report_links_render).
    """
    if text and "{{ report_file_url:" in text:
        from core.reporting.reports.services import report_links_render

        text = report_links_render(text, dedupe_key=notification.dedupe_key)
    if not text or (MANAGE_URL_PLACEHOLDER not in text and PAY_URL_PLACEHOLDER not in text):
        return text
    if notification.booking is not None:
        from core.bookings.changes_access import manage_url, pay_url

        links = {MANAGE_URL_PLACEHOLDER: manage_url(notification.booking),
                 PAY_URL_PLACEHOLDER: pay_url(notification.booking)}
    else:  # a message to a customer about no booking in particular
        site = f"{str(settings.TOTETAXI.get('PUBLIC_SITE_URL', '')).rstrip('/')}/"
        links = {MANAGE_URL_PLACEHOLDER: site, PAY_URL_PLACEHOLDER: site}
    for placeholder, url in links.items():
        text = text.replace(placeholder, escape(url) if html else url)
    return text


def _email_provider() -> str:
    return "postmark" if "anymail.backends.postmark" in settings.EMAIL_BACKEND else "email"


def _send_email(notification: Notification) -> str:
    from anymail.exceptions import AnymailError, AnymailRecipientsRefused, AnymailRequestsAPIError

    template = notification.template
    sender = f"{template.from_name} <{template.from_email}>" if template else settings.DEFAULT_FROM_EMAIL
    message = EmailMultiAlternatives(
        subject=with_manage_url(notification, notification.subject),
        body=with_manage_url(notification, notification.body_text), from_email=sender,
        to=list(notification.recipients), reply_to=[template.reply_to] if template and template.reply_to else None)
    if notification.body_html:
        message.attach_alternative(with_manage_url(notification, notification.body_html, html=True), "text/html")
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
        result = send_sms(to=to, body=with_manage_url(notification, notification.body_text),
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
            _finish(notification, NotificationStatus.CANCELLED, "The booking was cancelled.")
            return None
        if booking is not None and notification.dedupe_key.startswith(BALANCE_REMINDER_PREFIX):
            from core.payments.services import balance_reminder_is_stale

            stale = balance_reminder_is_stale(booking)  # paid, cancelled or past since the job stored it
            if stale:
                _finish(notification, NotificationStatus.CANCELLED, stale)
                return None
        if (notification.scheduled_for is not None and notification.template_id
                and not notification.template.is_active):
            # Scheduled while the message was on; staff have switched it off since: honour that now too.
            _finish(notification, NotificationStatus.CANCELLED, switched_off_message(notification.notification_type))
            return None
        if not address:
            _finish(notification, NotificationStatus.FAILED, "No recipient.")
            return None
        if is_suppressed(channel=notification.channel, address=address):
            _finish(notification, NotificationStatus.SUPPRESSED, f"{address} is suppressed (bounce, complaint or opt-out).")
            return None
        fields = ["status"]
        if notification.scheduled_for is not None and booking is not None and notification.template_id:
            # Scheduled long ago: render what the booking says now.
            fill_from_template(notification, notification.template,
                               booking_context(booking=booking, notification_type=notification.notification_type))
            fields += ["template_version", "subject", "body_text", "body_html"]
        notification.status = NotificationStatus.SENDING
        model_update(instance=notification, fields=fields)
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
        data = {"provider_message_id": message_id[:255], "sent_at": notification.sent_at or timezone.now(),
                "last_error": "", "next_retry_at": None}
        if notification.status == NotificationStatus.SENDING:  # a fast webhook may have moved it on already
            data["status"] = NotificationStatus.SENT
        model_update(instance=notification, fields=list(data), data=data)
        delivery_log_record(notification, "sent", provider=provider,
                            details={"message_id": message_id, "attempt": notification.retry_count + 1})
    return notification


def _record_failure(notification_id: int, error: str, *, provider: str, now: dt.datetime, retry: bool,
                    status: str = NotificationStatus.FAILED, retry_at: dt.datetime | None = None) -> Notification:
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id)
        notification.last_error = error[:4000]
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
        model_update(instance=notification, fields=["last_error", "status", "next_retry_at", "retry_count"])
        delivery_log_record(
            notification, "retry_scheduled" if notification.status == NotificationStatus.PENDING else
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
            # still under the row lock: a slow worker that finishes now cannot be overwritten back to pending
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

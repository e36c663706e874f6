"""Payment links: staff send a customer who owes money a link to the site's payment page (email and/or SMS).

The link is `{PUBLIC_SITE_URL}/bookings/{id}/pay/?token=<pay token>` (core.bookings.changes_access.pay_url: a
token that only pays, for PAY_LINK_HOURS or until the booking owes nothing);
the notification row stores the `{{ pay_url }}` placeholder and the token is minted at send time. The site then
calls the existing create-intent endpoint: a Stripe PaymentIntent the customer confirms.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.bookings.models import Booking, BookingStatus, PaymentState
from core.common.errors import ErrorCode, ValidationError
from core.common.money import from_cents, money_str, to_cents
from core.notifications.models import Channel, Notification
from core.payments.errors import AlreadyPaid, NotPayable
from core.payments.services.common import captured_cents, payment_audit, require_staff


def payment_link_refusal(booking: Booking, *, now: dt.datetime | None = None) -> str:
    """Why no payment link can be sent for this booking ("" when it owes money and can be paid online)."""
    now = now or timezone.now()
    if booking.payment_status == PaymentState.BALANCE_DUE and booking.status != BookingStatus.CANCELLED:
        return ""
    if booking.status != BookingStatus.PENDING:
        return f"a {booking.get_status_display().lower()} booking owes nothing."
    if booking.payment_status == PaymentState.PROCESSING:
        return "a payment is being processed."
    if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
        return "its hold has expired: the slot is no longer reserved."
    return ""


def amount_due(booking: Booking) -> Decimal:
    """What is left to pay. A paid booking that owes a balance owes its changes' unpaid balances, which include
    change fees that are not part of the total (the balance intents are for exactly these); an unpaid booking
    owes its total less what was captured (refunds aside)."""
    if booking.payment_status == PaymentState.BALANCE_DUE:
        from core.payments.selectors import booking_balances_owed

        return from_cents(sum(cents for _quote, cents in booking_balances_owed(booking)))
    return from_cents(max(to_cents(booking.total_price) - captured_cents(booking), 0))


def payment_link_send(*, booking: Booking, channels: list[str], actor) -> list:
    """Email and/or text the customer a link to pay what the booking owes; returns the notifications."""
    require_staff(actor, "Only staff can send payment links.")
    channels = list(dict.fromkeys(channels or ()))
    if not channels or any(c not in Channel.values for c in channels):
        raise ValidationError("Choose email and/or SMS.", fields={"channels": ["Choose email and/or SMS."]})
    booking = Booking.objects.select_related("customer").get(pk=booking.pk)
    refusal = payment_link_refusal(booking)
    if refusal:
        paid = booking.status not in (BookingStatus.PENDING, BookingStatus.CANCELLED)
        error = AlreadyPaid if paid else NotPayable
        raise error(f"No payment link: {refusal}")
    owed = amount_due(booking)
    due = money_str(owed)
    if to_cents(owed) < 50:
        raise NotPayable("This booking has nothing left to pay online.", code=ErrorCode.NOTHING_TO_PAY)
    sent = []
    with transaction.atomic():  # both channels or neither (a missing phone number refuses the whole send)
        sent += _payment_request_send(booking, owed, channels=channels, actor=actor)
        payment_audit("payment_link_sent", booking=booking, user=actor, channels=channels, amount=due)
    return sent


def _payment_request_send(booking: Booking, owed: Decimal, *, channels: list[str], actor, event_key: str | None = None,
                          reminder: bool = False) -> list:
    """The payment request itself (staff's payment link and the daily balance reminder): the `{{ pay_url }}`
    placeholder is stored and the link minted at send time (core.notifications)."""
    from core.notifications.services import PAY_URL_PLACEHOLDER, notification_send_custom

    due = money_str(owed)
    what = (f"{booking.get_booking_type_display()} on {booking.pickup_date:%A, %B %-d}, "
            f"{booking.get_pickup_window_display()}")
    held = ""
    if booking.status == BookingStatus.PENDING and booking.hold_expires_at:
        held = (f" We are holding your slot until "
                f"{timezone.localtime(booking.hold_expires_at):%A %B %-d, %-I:%M %p} (New York time).")
    purpose = (f"For the change to ToteTaxi booking {booking.booking_number} ({what})"
               if booking.payment_status == PaymentState.BALANCE_DUE else
               f"To confirm ToteTaxi booking {booking.booking_number} ({what})")
    opening = "A reminder: the change to your booking is not paid yet. " if reminder else ""
    email_body = (f"Hi {booking.customer.name},\n\n{opening}{purpose}, "
                  f"please pay ${due} securely online:\n\n{PAY_URL_PLACEHOLDER}\n\n{held.strip()}\n\nQuestions? "
                  f"Call us at {settings.TOTETAXI['SUPPORT_PHONE']}.\n\nThe ToteTaxi team")
    sms_body = (f"ToteTaxi{' reminder' if reminder else ''}: pay ${due} for booking {booking.booking_number} "
                f"here: {PAY_URL_PLACEHOLDER}")
    subject = (f"{'Reminder: p' if reminder else 'P'}ayment for ToteTaxi booking {booking.booking_number}")
    sent = []
    for channel in channels:
        sent += notification_send_custom(
            booking=booking, subject=subject, body=email_body if channel == Channel.EMAIL else sms_body,
            channels=[channel], actor=actor, event_key=event_key)
    return sent


# --- the daily reminder of an unpaid balance -------------------------------------------------------------
BALANCE_REMINDER_KEY = "balance_reminder"  # custom notifications' event key: balance_reminder:<booking>:<day>


def balance_reminder_key(booking_id, day: dt.date) -> str:
    return f"{BALANCE_REMINDER_KEY}:{booking_id}:{day.isoformat()}"


def balance_reminder_is_stale(booking: Booking) -> str:
    """Why a stored reminder must no longer go out ("" while the booking still owes its balance)."""
    if booking.status == BookingStatus.CANCELLED:
        return "The booking was cancelled."
    if booking.payment_status != PaymentState.BALANCE_DUE:
        return "The balance was paid."
    if booking.pickup_date < timezone.localdate():
        return "The pickup date has passed."
    return ""


def balance_reminders_send(*, now: dt.datetime | None = None) -> int:
    """Once a day: remind each customer whose booking owes the balance of a change, by email (and SMS when they
    have a phone and SMS is configured), with their payment link. At most one reminder per booking and New York
    day (the notification's event key names both, so a second run or a retried job sends nothing again), none
    for a cancelled booking, none after its pickup date, none the day the change itself asked for it.
    Returns how many bookings were reminded."""
    from django.db.models import Max, Q

    from core.notifications.services import sms_enabled

    now = now or timezone.now()
    today = timezone.localdate(now)
    candidates = (Booking.objects.filter(payment_status=PaymentState.BALANCE_DUE, pickup_date__gte=today)
                  .exclude(status=BookingStatus.CANCELLED)
                  .annotate(asked_at=Max("change_quotes__used_at", filter=Q(change_quotes__amount_due__gt=0)))
                  .select_related("customer").order_by("pickup_date", "pk"))
    reminded = 0
    for booking in candidates:
        if booking.asked_at is not None and timezone.localdate(booking.asked_at) >= today:
            continue  # the change's own email asked for it today
        key = balance_reminder_key(booking.pk, today)
        with transaction.atomic():
            locked = (Booking.objects.select_for_update(of=("self",)).select_related("customer")
                      .filter(pk=booking.pk).first())
            if locked is None or balance_reminder_is_stale(locked):
                continue  # paid or cancelled since the list was read
            if Notification.objects.filter(dedupe_key=f"custom:{key}").exists():
                continue  # reminded today already (a second run of the job)
            owed = amount_due(locked)
            if to_cents(owed) < 50:
                continue
            channels = [Channel.EMAIL] if locked.customer.email else []
            if locked.customer.phone and sms_enabled():
                channels.append(Channel.SMS)
            sent = _payment_request_send(locked, owed, channels=channels, actor=None, event_key=key, reminder=True)
        reminded += bool(sent)
    return reminded

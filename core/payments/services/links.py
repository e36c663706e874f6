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
from core.notifications.models import Channel
from core.payments.errors import AlreadyPaid, NotPayable
from core.payments.services.common import captured_cents, payment_audit, require_staff

# A change that cost more (a dearer date, a change fee) leaves a paid booking owing its balance.
BALANCE_DUE = PaymentState.BALANCE_DUE


def payment_link_refusal(booking: Booking, *, now: dt.datetime | None = None) -> str:
    """Why no payment link can be sent for this booking ("" when it owes money and can be paid online)."""
    now = now or timezone.now()
    if booking.payment_status == BALANCE_DUE and booking.status != BookingStatus.CANCELLED:
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
    if booking.payment_status == BALANCE_DUE:
        from core.payments.selectors import booking_balances_owed

        return from_cents(sum(cents for _quote, cents in booking_balances_owed(booking)))
    return from_cents(max(to_cents(booking.total_price) - captured_cents(booking), 0))


def payment_link_send(*, booking: Booking, channels: list[str], actor) -> list:
    """Email and/or text the customer a link to pay what the booking owes; returns the notifications."""
    from core.notifications.services import PAY_URL_PLACEHOLDER, notification_send_custom

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
    what = (f"{booking.get_booking_type_display()} on {booking.pickup_date:%A, %B %-d}, "
            f"{booking.get_pickup_window_display()}")
    held = ""
    if booking.status == BookingStatus.PENDING and booking.hold_expires_at:
        held = (f" We are holding your slot until "
                f"{timezone.localtime(booking.hold_expires_at):%A %B %-d, %-I:%M %p} (New York time).")
    purpose = (f"For the change to ToteTaxi booking {booking.booking_number} ({what})"
               if booking.payment_status == BALANCE_DUE else
               f"To confirm ToteTaxi booking {booking.booking_number} ({what})")
    email_body = (f"Hi {booking.customer.name},\n\n{purpose}, "
                  f"please pay ${due} securely online:\n\n{PAY_URL_PLACEHOLDER}\n\n{held.strip()}\n\nQuestions? "
                  f"Call us at {settings.TOTETAXI['SUPPORT_PHONE']}.\n\nThe ToteTaxi team")
    sms_body = f"ToteTaxi: pay ${due} for booking {booking.booking_number} here: {PAY_URL_PLACEHOLDER}"
    sent = []
    with transaction.atomic():  # both channels or neither (a missing phone number refuses the whole send)
        for channel in channels:
            sent += notification_send_custom(
                booking=booking, subject=f"Payment for ToteTaxi booking {booking.booking_number}",
                body=email_body if channel == Channel.EMAIL else sms_body, channels=[channel], actor=actor)
        payment_audit("payment_link_sent", booking=booking, user=actor, channels=channels, amount=due)
    return sent

"""Getting back to a booking: a manage link emailed to the customer, accepted wherever the access token is.

Why a signed, expiring token (django.core.signing) and not the booking's own access token: we keep that token
only as a hash, so it cannot be emailed again, and minting a new one per request would need a table of live
tokens (or would lock the customer out of the link they already have). A signed token needs no storage, can be
issued as often as asked, and stops working by itself (MANAGE_LINK_DAYS), so a forwarded or leaked email is
not a key for life. It names the booking and a fingerprint of its access-token hash: replacing the booking's
access token revokes every link issued before.

Link format the marketing site routes: `{PUBLIC_SITE_URL}/bookings/{booking_id}/?token=<token>`; the site
sends `<token>` as `X-Booking-Token`, exactly like the access token returned at booking. Emails carry the link as
the `{{ manage_url }}` placeholder, rendered at send time.

The payment link (`pay_url`, sent by staff, often by SMS, for a booking that owes money) is
`{PUBLIC_SITE_URL}/bookings/{booking_id}/pay/?token=<pay token>`: a token of its own (another salt) that only pays.
It is accepted by `GET bookings/{id}/`, `POST payments/create-intent/` and `POST payments/confirm/` (see
booking_get_for_customer's `pay_link`), refused like a wrong token everywhere else (cancel, reschedule,
documents, tracking, access), and stops opening the booking once it owes nothing or after PAY_LINK_HOURS
(72 by default), whichever comes first; confirm keeps accepting it for its lifetime (it only asks Stripe).
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from django.conf import settings
from django.core import signing

from core.bookings.models import Booking
from core.common.ratelimit import check_rate_limit

logger = logging.getLogger(__name__)

_SALT = "core.bookings.manage-link"
_PAY_SALT = "core.bookings.pay-link"
MANAGE_LINK_DAYS = 14
PAY_LINK_HOURS = 72
HOUR = 3600


def _link_days() -> int:
    return int(settings.TOTETAXI.get("MANAGE_LINK_DAYS", MANAGE_LINK_DAYS))


def _fingerprint(booking: Booking) -> str:
    return hashlib.sha256(f"manage:{booking.access_token_hash}".encode()).hexdigest()[:16]


def manage_token(booking: Booking) -> str:
    """A signed token that opens this booking until it expires (or its access token is replaced)."""
    return signing.dumps({"b": str(booking.pk), "f": _fingerprint(booking)}, salt=_SALT)


def manage_token_matches(booking: Booking, token: str | None) -> bool:
    """True for an unexpired, untampered manage token of this very booking."""
    if not token or ":" not in token:  # access tokens are url-safe base64 with no colon: skip the crypto
        return False
    try:
        data = signing.loads(token, salt=_SALT, max_age=_link_days() * 24 * HOUR)
    except signing.BadSignature:  # also SignatureExpired
        return False
    return (isinstance(data, dict) and data.get("b") == str(booking.pk)
            and hmac.compare_digest(str(data.get("f", "")), _fingerprint(booking)))


def pay_token(booking: Booking) -> str:
    """A signed token that only pays this booking (PAY_LINK_HOURS; revoked with the access token, like manage)."""
    return signing.dumps({"b": str(booking.pk), "f": _fingerprint(booking)}, salt=_PAY_SALT)


def booking_owes(booking: Booking) -> bool:
    """Whether there is still something to pay online (the pay link's life ends when there is not)."""
    from core.bookings.models import BookingStatus, PaymentState

    return booking.status != BookingStatus.CANCELLED and booking.payment_status in (
        PaymentState.UNPAID, PaymentState.PROCESSING, PaymentState.FAILED, PaymentState.BALANCE_DUE)


def pay_token_matches(booking: Booking, token: str | None, *, while_owing: bool = True) -> bool:
    """True for an unexpired, untampered pay token of this booking (and, by default, while it owes money)."""
    if not token or ":" not in token:
        return False
    hours = int(settings.TOTETAXI.get("PAY_LINK_HOURS", PAY_LINK_HOURS))
    try:
        data = signing.loads(token, salt=_PAY_SALT, max_age=hours * HOUR)
    except signing.BadSignature:  # also SignatureExpired
        return False
    return (isinstance(data, dict) and data.get("b") == str(booking.pk)
            and hmac.compare_digest(str(data.get("f", "")), _fingerprint(booking))
            and (not while_owing or booking_owes(booking)))


def manage_url(booking: Booking) -> str:
    site = str(settings.TOTETAXI.get("PUBLIC_SITE_URL", "")).rstrip("/")
    return f"{site}/bookings/{booking.pk}/?token={manage_token(booking)}"


def pay_url(booking: Booking) -> str:
    site = str(settings.TOTETAXI.get("PUBLIC_SITE_URL", "")).rstrip("/")
    return f"{site}/bookings/{booking.pk}/pay/?token={pay_token(booking)}"


def booking_access_link_request(*, booking_number: str, email: str, client_ip: str | None) -> None:
    """Email a fresh manage link when the number and email match a booking; otherwise do nothing, silently.

    The caller answers the same either way (no enumeration). Limited per IP and per booking number as typed
    (so an unknown number is limited exactly like a real one), before anything is looked up.
    """
    number = (booking_number or "").strip().upper()[:40]
    email = (email or "").strip()
    check_rate_limit(client=client_ip or "-", route="bookings.access_link.ip", window=HOUR,
                     limit=int(settings.TOTETAXI.get("ACCESS_LINK_PER_IP_PER_HOUR", 10)))
    check_rate_limit(client=number or "-", route="bookings.access_link.booking", window=HOUR,
                     limit=int(settings.TOTETAXI.get("ACCESS_LINK_PER_BOOKING_PER_HOUR", 3)))
    if not number or not email:
        return
    booking = (Booking.objects.select_related("customer")
               .filter(booking_number=number, customer__email__iexact=email).first())
    if booking is None:
        logger.info("access link asked for a booking number/email that do not match")
        return
    _send_link(booking)


def _send_link(booking: Booking) -> None:
    from core.notifications.services import MANAGE_URL_PLACEHOLDER, notification_send_custom

    days = _link_days()
    # The placeholder, not the link: the notifications area mints the token when it hands the email to the
    # provider, so no stored row (nor its history) holds a key to the booking.
    body = (f"Hi {booking.customer.name},\n\nHere is your link to view and manage ToteTaxi booking "
            f"{booking.booking_number}:\n\n{MANAGE_URL_PLACEHOLDER}\n\nThe link works for {days} days. If you did "
            "not ask for it, you can ignore this email.\n\nThe ToteTaxi team")
    notification_send_custom(booking=booking, subject=f"Your link to booking {booking.booking_number}",
                             body=body, channels=["email"], actor=None)

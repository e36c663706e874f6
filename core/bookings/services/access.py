"""Customer access to a booking: the one-time access token, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from core.bookings.errors import (
    BookingNotFound,
)
from core.bookings.models import (
    Booking,
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


PAY_LINK_WHILE_OWING = "while_owing"  # GET bookings/{id}/, payments/create-intent/
PAY_LINK_ANY_TIME = "any_time"  # payments/confirm/: after paying, the site still asks what Stripe says


def token_matches(booking: Booking, token: str | None, *, pay_link: str = "") -> bool:
    """The booking's own access token, or a manage link's signed token (see core.bookings.changes_access); a
    payment link's token too where `pay_link` says so (it only pays: refused everywhere else)."""
    from core.bookings.changes_access import manage_token_matches, pay_token_matches

    if not token:
        return False
    return (hmac.compare_digest(booking.access_token_hash, hash_token(token)) or manage_token_matches(booking, token)
            or (bool(pay_link) and pay_token_matches(booking, token,
                                                     while_owing=pay_link != PAY_LINK_ANY_TIME)))


def booking_get_for_customer(*, booking_id, token: str | None, pay_link: str = "") -> Booking:
    """The customer's view: a wrong or missing token is indistinguishable from an unknown id (404).

    `pay_link` (PAY_LINK_WHILE_OWING / PAY_LINK_ANY_TIME) also accepts a payment link's token: only the reads
    and writes that pay pass it."""
    from core.bookings.selectors import booking_detail_queryset

    try:
        booking = booking_detail_queryset().get(pk=uuid.UUID(str(booking_id)))
    except (Booking.DoesNotExist, ValueError) as exc:
        raise BookingNotFound("No such booking.") from exc
    if not token_matches(booking, token, pay_link=pay_link):
        raise BookingNotFound("No such booking.")
    return booking

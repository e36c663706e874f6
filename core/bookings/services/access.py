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


def token_matches(booking: Booking, token: str | None) -> bool:
    """The booking's own access token, or a manage link's signed token (see core.bookings.changes_access)."""
    from core.bookings.changes_access import manage_token_matches

    if not token:
        return False
    return hmac.compare_digest(booking.access_token_hash, hash_token(token)) or manage_token_matches(booking, token)


def booking_get_for_customer(*, booking_id, token: str | None) -> Booking:
    """The customer's view: a wrong or missing token is indistinguishable from an unknown id (404)."""
    from core.bookings.selectors import booking_detail_queryset

    try:
        booking = booking_detail_queryset().get(pk=uuid.UUID(str(booking_id)))
    except (Booking.DoesNotExist, ValueError) as exc:
        raise BookingNotFound("No such booking.") from exc
    if not token_matches(booking, token):
        raise BookingNotFound("No such booking.")
    return booking

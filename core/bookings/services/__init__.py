"""Every write to bookings, one module per concern; import from here."""

from core.bookings.services.access import booking_get_for_customer, hash_token, token_matches
from core.bookings.services.notes import (
    booking_add_note,
    booking_flag,
    booking_flag_clear,
    booking_notes_update,
    flag_reason_problems,
)
from core.bookings.services.quotes import QUOTE_RETENTION, quote_create, quote_insert, quote_purge
from core.bookings.services.rules import (
    MAX_PRICING_DAYS_AHEAD,
    lock_service_day,
    price_booking_request,
    validate_request,
)
from core.bookings.services.status import booking_cancel, booking_expire_holds, booking_transition
from core.bookings.services.writing import booking_create, booking_create_idempotent, booking_update

__all__ = [
    "MAX_PRICING_DAYS_AHEAD", "QUOTE_RETENTION", "booking_add_note", "booking_cancel", "booking_create",
    "booking_create_idempotent", "booking_expire_holds", "booking_flag", "booking_flag_clear",
    "booking_get_for_customer", "booking_notes_update", "booking_transition", "booking_update",
    "flag_reason_problems", "hash_token", "lock_service_day", "price_booking_request", "quote_create",
    "quote_insert", "quote_purge", "token_matches", "validate_request",
]

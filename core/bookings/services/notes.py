"""Staff notes and the "needs attention" flag."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from core.bookings.errors import (
    BookingValidationError,
)
from core.bookings.models import (
    Booking,
    BookingNote,
)
from core.common.audit import set_actor


def booking_add_note(*, booking: Booking, actor, body: str) -> BookingNote:
    if not body.strip():
        raise BookingValidationError("The note is empty.", fields={"body": ["Required."]})
    return BookingNote.objects.create(booking=booking, author=actor, body=body.strip())


def booking_flag(*, booking: Booking, reason: str, due: dt.datetime | None = None, actor=None) -> Booking:
    """Put a booking on the staff's "needs attention" list (disputes, late payments, …)."""
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        locked.needs_attention = True
        locked.attention_reason = reason[:255]
        locked.attention_due = due
        set_actor(locked, actor)
        locked.save(update_fields=["needs_attention", "attention_reason", "attention_due", "updated_at"])
    return locked

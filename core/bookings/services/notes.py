"""Staff notes, the customer's notes and the "needs attention" flag: every staff edit of them, audited."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from core.bookings.errors import BookingValidationError
from core.bookings.models import Booking, BookingNote
from core.common.services import model_update

FLAG_FIELDS = ["needs_attention", "attention_reason", "attention_due"]


def booking_add_note(*, booking: Booking, actor, body: str) -> BookingNote:
    if not body.strip():
        raise BookingValidationError("The note is empty.", fields={"body": ["Required."]})
    return BookingNote.objects.create(booking=booking, author=actor, body=body.strip())


def flag_reason_problems(reason: str) -> list[str]:
    """Why a "needs attention" reason is refused (empty list: it is fine); the console's form asks the same."""
    return [] if reason.strip() else ["Say why the booking needs attention."]


def _locked_update(*, booking: Booking, fields: list[str], data: dict, actor) -> Booking:
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        try:
            model_update(instance=locked, fields=fields, data=data, actor=actor)
        except DjangoValidationError as exc:
            raise BookingValidationError("The booking is not valid.", fields=exc.message_dict) from exc
    return locked


def booking_notes_update(*, booking: Booking, notes: str, actor) -> Booking:
    """Staff correct the customer's notes (what the crew reads on the day); the history row names them."""
    from core.logistics.tasks import sync_booking_tasks  # after commit: open Onfleet tasks get the new notes

    updated = _locked_update(booking=booking, fields=["notes"], data={"notes": notes.strip()}, actor=actor)
    sync_booking_tasks(str(booking.pk))
    return updated


def booking_flag(*, booking: Booking, reason: str, due: dt.datetime | None = None, actor=None) -> Booking:
    """Put a booking on the staff's "needs attention" list (disputes, late payments, a staff member's call)."""
    if problems := flag_reason_problems(reason):
        raise BookingValidationError(problems[0], fields={"attention_reason": problems})
    return _locked_update(booking=booking, fields=FLAG_FIELDS, actor=actor,
                          data={"needs_attention": True, "attention_reason": reason.strip()[:255],
                                "attention_due": due})


def booking_flag_clear(*, booking: Booking, actor) -> Booking:
    """Take a booking off the "needs attention" list once someone has dealt with it."""
    return _locked_update(booking=booking, fields=FLAG_FIELDS, actor=actor,
                          data={"needs_attention": False, "attention_reason": "", "attention_due": None})

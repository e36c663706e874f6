"""The status machine's writes: transitions, cancellation, hold expiry."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from core.bookings.errors import (
    BookingValidationError,
    InvalidTransition,
)
from core.bookings.models import (
    Booking,
    BookingStatus,
    BookingStatusChange,
    PaymentState,
)
from core.bookings.status import HOLD_EXPIRED_REASON, check_transition
from core.common.services import model_update


def booking_transition(*, booking: Booking, to_status: str, actor=None, reason: str = "",
                       now: dt.datetime | None = None) -> Booking:
    """Move a booking along the status machine (row-locked); illegal moves raise InvalidTransition."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if locked.status == to_status:
            return locked  # idempotent: a retried task or a double click changes nothing
        check_transition(locked.status, to_status)
        if to_status == BookingStatus.SCHEDULED:
            from core.documents.gate import coi_gate_check

            coi_gate_check(locked)  # a building's certificate must be in order first (or waived)
        from_status = locked.status
        data = {"status": to_status}
        if to_status == BookingStatus.CANCELLED:
            data.update(cancelled_at=now, cancellation_reason=reason)
        model_update(instance=locked, fields=list(data), data=data, actor=actor)
        BookingStatusChange.objects.create(booking=locked, from_status=from_status, to_status=to_status,
                                           actor=actor, reason=reason)
        if locked.payment_status == PaymentState.BALANCE_DUE:  # owed while the move is on, not once cancelled
            from core.payments.services import booking_payment_state_sync

            booking_payment_state_sync(locked, actor)
        if to_status == BookingStatus.CANCELLED and from_status != BookingStatus.PENDING:
            from core.logistics.tasks import sync_booking_tasks  # deletes its open Onfleet tasks after commit

            sync_booking_tasks(str(locked.pk))
    return locked


# Payment states in which the customer has money with us (or on its way) that a plain cancel would keep.
MONEY_HELD = (PaymentState.PAID, PaymentState.PARTIALLY_REFUNDED, PaymentState.BALANCE_DUE, PaymentState.PROCESSING)


def booking_cancel(*, booking: Booking, actor=None, reason: str, now: dt.datetime | None = None) -> Booking:
    if not reason.strip():
        raise BookingValidationError("Give a reason for the cancellation.", fields={"reason": ["Required."]})
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if locked.payment_status in MONEY_HELD:
            # Cancelling would keep the customer's money without a word: the change policy decides the refund
            # (core.bookings.changes: cancel preview, then cancel with the quote; staff may override it).
            raise InvalidTransition("Money was paid for this booking: cancel it under the change policy "
                                    "(“Cancel with refund”), which refunds what is due.")
        return booking_transition(booking=locked, to_status=BookingStatus.CANCELLED, actor=actor, reason=reason,
                                  now=now)


def booking_expire_holds(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Cancel pending bookings whose hold expired, freeing their slots; returns how many."""
    now = now or timezone.now()
    expired = list(
        Booking.objects.filter(status=BookingStatus.PENDING, hold_expires_at__lt=now)
        .values_list("pk", flat=True)[:limit]
    )
    count = 0
    for pk in expired:
        with transaction.atomic():
            booking = Booking.objects.select_for_update(skip_locked=True).filter(
                pk=pk, status=BookingStatus.PENDING, hold_expires_at__lt=now).first()
            if booking is None:
                continue  # paid meanwhile, or another sweeper has it
            booking_transition(booking=booking, to_status=BookingStatus.CANCELLED, actor=None,
                               reason=HOLD_EXPIRED_REASON, now=now)
            count += 1
    return count

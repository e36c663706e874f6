"""What a succeeded payment does to its booking: paid, reinstated, or flagged; offline and demo payments."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core.bookings.models import Booking, BookingStatus, BookingStatusChange
from core.bookings.services import lock_service_day
from core.bookings.status import can_reinstate
from core.common.audit import set_actor
from core.common.money import from_cents, quantize, to_cents
from core.common.services import model_update
from core.logistics.tasks import dispatch_booking
from core.payments.errors import (
    NotPayable,
    PaymentProviderError,
    PaymentProviderUnavailable,
    PaymentValidationError,
)
from core.payments.models import (
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from core.payments.selectors import booking_balances_owed
from core.payments.services.common import (
    BALANCE_STATUSES,
    HOLD_EXPIRED_REASON,
    OFFLINE_METHODS,
    REINSTATED_REASON,
    TEST_MODE_PREFIX,
    booking_payment_state_sync,
    captured_cents,
    enqueue_payment_confirmation,
    payment_audit,
    require_staff,
)

logger = logging.getLogger(__name__)


def booking_needs_slot_check(booking: Booking, now: dt.datetime) -> bool:
    """Would this payment give the booking back a slot it no longer holds (expired hold, cancelled by expiry)?"""
    return can_reinstate(booking.status, booking.cancellation_reason) or (
        booking.status == BookingStatus.PENDING and booking.hold_expires_at is not None
        and booking.hold_expires_at <= now)


def _slot_problem(booking: Booking, now: dt.datetime) -> str:
    """Inside the service-day lock: why this (cancelled or expired) booking cannot have its slot back, or ""."""
    from core.catalog import availability

    if booking.pickup_date < availability.service_today(now):
        return "pickup date has passed"
    result = availability.check_date(booking.pickup_date, booking.booking_type, now=now, with_alternatives=False)
    # An expired pending hold is not counted in `used`, nor is a cancelled booking: `used` is everyone else.
    if result.capacity == 0:
        return "the date is closed"
    if result.used >= result.capacity:
        return "the date is fully booked"
    if not result.specialty_items_available and booking.specialty_lines.exists():
        return "specialty items are unavailable that day"
    return ""


def booking_settle_paid(*, booking: Booking, payment: Payment, actor, now: dt.datetime) -> None:
    """A payment just succeeded: move the booking to paid, reinstate it, or flag it for staff. Never drop it.

    The caller holds the booking row lock (and the service-day lock when booking_needs_slot_check says so).
    """
    from core.bookings.services import booking_flag, booking_transition

    if payment.change_quote_id is not None and booking.status != BookingStatus.CANCELLED:
        # The balance of a change to a booking paid before: no first-payment effects (confirmation, dispatch).
        payment_audit("balance_paid", payment=payment, user=actor, change_quote_id=str(payment.change_quote_id))
        quote = payment.change_quote
        paid = quote.balance_payments.filter(status=PaymentStatus.SUCCEEDED).aggregate(
            total=Sum("amount_cents"))["total"] or 0
        if paid > to_cents(quote.amount_due):  # paid twice (e.g. at the desk and by card): one must go back
            booking_flag(booking=booking, actor=actor,
                         reason=f"Balance of ${quote.amount_due} for a change paid ${from_cents(paid)} in all: "
                                f"refund ${from_cents(paid - to_cents(quote.amount_due))}.")
            payment_audit("double_payment_flagged", payment=payment, user=actor,
                          change_quote_id=str(payment.change_quote_id), paid_cents=paid)
        return
    captured = captured_cents(booking)
    covers = captured >= to_cents(booking.total_price)
    amount = f"${from_cents(payment.amount_cents)}"
    if booking.status == BookingStatus.PENDING:
        problem = _slot_problem(booking, now) if booking_needs_slot_check(booking, now) else ""
        if problem:
            booking_transition(booking=booking, to_status=BookingStatus.CANCELLED, actor=actor,
                               reason=HOLD_EXPIRED_REASON, now=now)
            booking_flag(booking=booking, actor=actor,
                         reason=f"Paid {amount} after its hold expired but {problem}: rebook or refund.")
            payment_audit("late_payment_flagged", payment=payment, user=actor, problem=problem)
        elif not covers:
            booking_flag(booking=booking, actor=actor,
                         reason=f"Paid {amount}, less than the total ${booking.total_price}: collect the rest.")
            payment_audit("underpayment_flagged", payment=payment, user=actor, captured_cents=captured)
        else:
            booking_transition(booking=booking, to_status=BookingStatus.PAID, actor=actor,
                               reason=f"payment_succeeded:{payment.stripe_payment_intent_id or payment.method}",
                               now=now)
            enqueue_payment_confirmation(booking.pk)
            dispatch_booking(str(booking.pk))  # logistics: an on_commit task (a sweep catches a lost one)
    elif can_reinstate(booking.status, booking.cancellation_reason):
        booking_reinstate_after_late_payment(booking=booking, payment=payment, actor=actor, now=now)
    elif booking.status == BookingStatus.CANCELLED:
        booking_flag(booking=booking, actor=actor,
                     reason=f"Payment of {amount} received for a cancelled booking: refund it.")
        payment_audit("payment_on_cancelled_booking_flagged", payment=payment, user=actor)
    elif booking.payments.filter(status=PaymentStatus.SUCCEEDED).exclude(pk=payment.pk).exists():
        booking_flag(booking=booking, actor=actor,
                     reason=f"Second payment of {amount} received for a paid booking: refund one.")
        payment_audit("double_payment_flagged", payment=payment, user=actor)


def booking_reinstate_after_late_payment(*, booking: Booking, payment: Payment, actor=None,
                                         now: dt.datetime | None = None) -> bool:
    """A payment arrived after the hold expired: give the slot back if the date still has one, else flag.

    cancelled → paid is not a move the status machine offers to anyone; only this path makes it, under the
    service-day lock (the same lock booking_create takes), with a history row and a status-change record.
    """
    from core.bookings.services import booking_flag

    now = now or timezone.now()
    with transaction.atomic():
        lock_service_day(booking.pickup_date)
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if not can_reinstate(locked.status, locked.cancellation_reason):
            return locked.status == BookingStatus.PAID
        problem = _slot_problem(locked, now)
        if problem:
            booking_flag(booking=locked, actor=actor,
                         reason=f"Paid ${from_cents(payment.amount_cents)} after its hold expired but {problem}: "
                                "rebook or refund.")
            payment_audit("late_payment_flagged", payment=payment, booking=locked, user=actor, problem=problem)
            return False
        model_update(instance=locked, fields=["status", "cancelled_at", "cancellation_reason", "hold_expires_at"],
                     data={"status": BookingStatus.PAID, "cancelled_at": None, "cancellation_reason": "",
                           "hold_expires_at": None}, actor=actor)
        BookingStatusChange.objects.create(booking=locked, from_status=BookingStatus.CANCELLED,
                                           to_status=BookingStatus.PAID, actor=actor, reason=REINSTATED_REASON)
        payment_audit("booking_reinstated", payment=payment, booking=locked, user=actor)
        booking.status = locked.status
        booking.cancellation_reason = ""
    enqueue_payment_confirmation(locked.pk)
    dispatch_booking(str(locked.pk))
    return True


def payment_record_offline(*, booking: Booking, amount: Decimal, method: str, reference: str, actor,
                           request_ip: str | None = None) -> Payment:
    """Staff record cash/check/other money received; the booking becomes paid when it covers the total."""
    require_staff(actor, "Only staff can record offline payments.")
    errors: dict[str, list[str]] = {}
    if method not in OFFLINE_METHODS:
        errors["method"] = ["Choose cash, check or other."]
    try:
        amount = quantize(amount)
    except (InvalidOperation, TypeError, ValueError):
        errors["amount"] = ["Enter an amount like 125.00."]
    else:
        if amount <= 0:
            errors["amount"] = ["The amount must be more than zero."]
        elif amount > Decimal("999999.99"):
            errors["amount"] = ["The amount is too large."]
    reference = (reference or "").strip()
    if len(reference) > 100:
        errors["reference"] = ["Keep the reference under 100 characters."]
    if method == PaymentMethod.CHECK and not reference:
        errors["reference"] = ["Enter the check number."]
    if errors:
        raise PaymentValidationError("The payment is not valid.", fields=errors)
    now = timezone.now()
    with transaction.atomic():
        if booking_needs_slot_check(booking, now):
            lock_service_day(booking.pickup_date)
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if locked.status == BookingStatus.CANCELLED and not can_reinstate(locked.status, locked.cancellation_reason):
            raise NotPayable("This booking is cancelled; reinstate it before recording a payment.")
        payment = Payment(booking=locked, method=method, status=PaymentStatus.SUCCEEDED,
                          amount_cents=to_cents(amount), currency=settings.STRIPE_CURRENCY, succeeded_at=now,
                          reference=reference, recorded_by=actor)
        if locked.status in BALANCE_STATUSES and (owed := booking_balances_owed(locked)):
            payment.change_quote_id = owed[0][0]  # money for a change's balance, received at the desk
        set_actor(payment, actor)
        payment.save(force_insert=True)
        payment_audit("offline_payment_recorded", payment=payment, user=actor, ip=request_ip, method=method,
                      amount=str(amount), reference=reference)
        booking_settle_paid(booking=locked, payment=payment, actor=actor, now=now)
        booking_payment_state_sync(locked, actor)
    if payment.change_quote_id is not None:
        # After the commit, with no lock held: the change's balance intent the customer holds (for the old amount)
        # goes, so the balance cannot be paid twice; if Stripe does not answer, the payments sweep cancels it.
        from core.payments.services.intents import balance_intents_cancel_stale  # intents import settlement

        try:
            balance_intents_cancel_stale(change_quote_id=payment.change_quote_id, actor=actor, now=now)
        except (PaymentProviderError, PaymentProviderUnavailable):
            logger.warning("balance intents of change %s left for the sweep", payment.change_quote_id, exc_info=True)
    return payment


def payment_record_test_mode(*, booking: Booking, now: dt.datetime | None = None) -> Payment:
    """Demo data: a LOCAL TEST MODE card payment for the booking's total (never in production).

    Only records the money and Booking.payment_status; moving the booking along is the caller's business.
    """
    if getattr(settings, "ENVIRONMENT", "production") == "production" and not settings.DEBUG:
        raise NotPayable("Test-mode payments cannot be recorded in production.")
    now = now or timezone.now()
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        payment = Payment(booking=locked, method=PaymentMethod.TEST_MODE, status=PaymentStatus.SUCCEEDED,
                          amount_cents=to_cents(locked.total_price), currency=settings.STRIPE_CURRENCY,
                          stripe_payment_intent_id=f"{TEST_MODE_PREFIX}{uuid.uuid4().hex}",
                          payment_method_type="card", succeeded_at=now)
        payment.save(force_insert=True)
        payment_audit("test_mode_payment_recorded", payment=payment, amount_cents=payment.amount_cents)
        booking_payment_state_sync(locked)
    return payment

"""Stripe's PaymentIntent state applied to our Payment (forward only), the customer's confirm, Stripe's fee."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.bookings.models import Booking
from core.bookings.services import lock_service_day
from core.common.services import model_update
from core.integrations.stripe import PaymentIntent, StripeIntegrationError
from core.payments.errors import NotPayable, PaymentNotFound, PaymentProviderError
from core.payments.models import Payment, PaymentMethod, PaymentStatus
from core.payments.services.common import (
    TEST_MODE_PREFIX,
    booking_payment_state_sync,
    payment_audit,
    payment_status_from_intent,
    provider_error,
    stripe_gateway,
    stripe_test_mode,
)
from core.payments.services.settlement import booking_needs_slot_check, booking_settle_paid

logger = logging.getLogger(__name__)


def _apply_intent(payment: Payment, pi: PaymentIntent, *, actor=None, now: dt.datetime) -> bool:
    """Move our Payment to Stripe's state, forward only; True when it just succeeded.

    Succeeded is final (refunds are separate objects); canceled only yields to succeeded. Between pending,
    processing and failed Stripe's fresh object is the authority (a declined card can be retried).
    """
    new = payment_status_from_intent(pi)
    old = payment.status
    data: dict = {}
    if _charge_changes(payment, pi, new):
        data["stripe_charge_id"] = pi.latest_charge
    if _method_type_missing(payment, pi):
        data["payment_method_type"] = pi.payment_method_types[0][:40]
    moved = _status_moves(old, new)
    if moved:
        data["status"] = new
        if new == PaymentStatus.SUCCEEDED:
            data.update(succeeded_at=now, failure_reason="")
        elif new == PaymentStatus.FAILED:
            data.update(failed_at=now, failure_reason=(pi.last_payment_error or "")[:2000])
    if data:  # (model_update without data would save every listed field)
        model_update(instance=payment, fields=list(data), data=data, actor=actor)
    if moved:
        payment_audit(f"payment_{new}", payment=payment, user=actor, stripe_status=pi.status, previous=old,
                      failure=pi.last_payment_error or "")
    return moved and new == PaymentStatus.SUCCEEDED


def _intent_changes(payment: Payment, pi: PaymentIntent, source: str) -> bool:
    """Would applying the intent (or the webhook flag) write anything? Read without locks; re-checked under them."""
    new = payment_status_from_intent(pi)
    return ((source == "webhook" and not payment.webhook_received) or _status_moves(payment.status, new)
            or _charge_changes(payment, pi, new) or _method_type_missing(payment, pi))


def _status_moves(old: str, new: str) -> bool:
    """Succeeded is final; canceled only yields to succeeded; otherwise Stripe's fresh status wins."""
    return new != old and old != PaymentStatus.SUCCEEDED and (
        old != PaymentStatus.CANCELED or new == PaymentStatus.SUCCEEDED)


def _charge_changes(payment: Payment, pi: PaymentIntent, new: str) -> bool:
    """A new latest charge is recorded, except that a succeeded payment keeps its charge unless re-succeeding."""
    return bool(pi.latest_charge) and payment.stripe_charge_id != pi.latest_charge and (
        new == PaymentStatus.SUCCEEDED or payment.status != PaymentStatus.SUCCEEDED)


def _method_type_missing(payment: Payment, pi: PaymentIntent) -> bool:
    return bool(pi.payment_method_types) and not payment.payment_method_type


def payment_apply_intent(*, payment: Payment, pi: PaymentIntent, actor=None, source: str = "",
                         now: dt.datetime | None = None, created: bool = False) -> Payment:
    """Apply `pi` to `payment` under the row locks (taken here, in the house order); settle when it succeeded.

    With `created`, `pi` is Stripe's answer to creating this payment's intent: its id is recorded on the
    payment (if a webhook did not get there first) and on the booking.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if pi.status == "succeeded" and booking_needs_slot_check(payment.booking, now):
            lock_service_day(payment.booking.pickup_date)  # before the booking row: as booking_create/update
        booking = Booking.objects.select_for_update().get(pk=payment.booking_id)
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        locked.booking = booking
        if created:
            _record_created(locked, booking, pi, actor=actor)
        if source == "webhook":
            model_update(instance=locked, fields=["webhook_received"], data={"webhook_received": True}, actor=actor)
        if _apply_intent(locked, pi, actor=actor, now=now):
            booking_settle_paid(booking=booking, payment=locked, actor=actor, now=now)
        booking_payment_state_sync(booking, actor)
    return locked


def _record_created(payment: Payment, booking: Booking, pi: PaymentIntent, *, actor) -> None:
    if payment.stripe_payment_intent_id not in (None, pi.id):
        # Only if Stripe forgot our idempotency key (after 24 h) while two calls raced: keep the first.
        logger.error("payment %s has intent %s, Stripe answered %s", payment.pk, payment.stripe_payment_intent_id,
                     pi.id)
        raise PaymentProviderError("The payment provider answered with another payment; please retry.")
    if model_update(instance=payment, fields=["stripe_payment_intent_id"], data={"stripe_payment_intent_id": pi.id},
                    actor=actor):
        payment_audit("intent_created", payment=payment, user=actor, amount_cents=pi.amount)
    if payment.change_quote_id is None:  # the booking names its first payment's intent, not a balance's
        model_update(instance=booking, fields=["stripe_payment_intent_id"],
                     data={"stripe_payment_intent_id": pi.id}, actor=actor)


def _recover_payment(pi: PaymentIntent) -> Payment | None:
    """An intent we created whose answer we never recorded (the call timed out, or we stopped right after it)."""
    booking_id = pi.metadata.get("booking_id")
    if not booking_id or pi.id.startswith(TEST_MODE_PREFIX):
        return None
    try:
        booking = Booking.objects.get(pk=uuid.UUID(booking_id))
    except (Booking.DoesNotExist, ValueError):
        return None
    payment_id = pi.metadata.get("payment_id", "")
    recorded = Payment.objects.filter(pk=int(payment_id), booking=booking, stripe_payment_intent_id__isnull=True,
                                      amount_cents=pi.amount).first() if payment_id.isdigit() else None
    if recorded is not None:
        return payment_apply_intent(payment=recorded, pi=pi, created=True, source="recovered")
    # Made before payments were recorded ahead of the call (or the row is gone): recreate it.
    payment, created = Payment.objects.get_or_create(
        stripe_payment_intent_id=pi.id,
        defaults={"booking": booking, "method": PaymentMethod.STRIPE, "amount_cents": pi.amount,
                  "currency": pi.currency or settings.STRIPE_CURRENCY},
    )
    if created:
        payment_audit("payment_recovered_from_stripe", payment=payment, stripe_status=pi.status)
    return payment


def payment_sync_intent(*, pi: PaymentIntent, actor=None, source: str = "",
                        now: dt.datetime | None = None) -> Payment | None:
    """Apply a (fresh or final) PaymentIntent from Stripe to our records; settle the booking when it succeeded.

    Returns None for intents that are not ours.
    """
    existing = Payment.objects.filter(stripe_payment_intent_id=pi.id).select_related("booking").first()
    if existing is None:
        existing = _recover_payment(pi)
        if existing is None:
            return None
    if not _intent_changes(existing, pi, source):
        return existing  # a duplicate or stale event: nothing to lock, nothing to write
    return payment_apply_intent(payment=existing, pi=pi, actor=actor, source=source, now=now)


def payment_confirm(*, booking: Booking, payment_intent_id: str, actor=None) -> Booking:
    """The customer says they paid: ask Stripe (never trust the client) and apply what it says."""
    payment = Payment.objects.filter(booking=booking, stripe_payment_intent_id=payment_intent_id).first()
    if payment is None:
        raise PaymentNotFound("No such payment for this booking.",
                              fields={"payment_intent_id": ["Unknown for this booking."]})
    if payment.method == PaymentMethod.TEST_MODE:
        if not stripe_test_mode():
            raise NotPayable("Test-mode payments cannot be confirmed while live payments are on.")
        pi = PaymentIntent(id=payment_intent_id, status="succeeded", amount=payment.amount_cents,
                           amount_received=payment.amount_cents, currency=payment.currency, client_secret=None,
                           latest_charge=None, payment_method_types=("test_mode",))
        payment_sync_intent(pi=pi, actor=actor, source="confirm")
    elif payment.method == PaymentMethod.STRIPE:
        try:
            pi = stripe_gateway().retrieve_payment_intent(payment_intent_id)
        except StripeIntegrationError as exc:
            raise provider_error(exc) from exc
        payment_sync_intent(pi=pi, actor=actor, source="confirm")
    return Booking.objects.get(pk=booking.pk)


def payment_record_fee(*, payment: Payment, actor=None) -> int | None:
    """Stripe's fee for a succeeded payment (known once Stripe made the balance transaction, which is
    asynchronous: the daily reconciliation fills it in, off the webhook path); None while unknown."""
    if payment.method != PaymentMethod.STRIPE or not payment.stripe_charge_id:
        return None
    if payment.stripe_fee_cents is not None:
        return payment.stripe_fee_cents
    charge = stripe_gateway().retrieve_charge(payment.stripe_charge_id)
    if charge.fee_cents is None:
        return None
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.stripe_fee_cents is None:
            model_update(instance=locked, fields=["stripe_fee_cents"], data={"stripe_fee_cents": charge.fee_cents},
                         actor=actor)
    payment.stripe_fee_cents = charge.fee_cents
    return charge.fee_cents

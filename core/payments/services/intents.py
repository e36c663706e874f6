"""PaymentIntents: create or reuse, confirm, and apply Stripe's intent state (forward only) to our records."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.bookings.idempotency import (
    Replay,
    idempotency_claim,
    idempotency_complete,
    request_fingerprint,
    validate_key,
)
from core.bookings.models import Booking, BookingStatus, IdempotencyRecord, PaymentState
from core.bookings.services import lock_service_day
from core.common.audit import set_actor
from core.common.money import to_cents
from core.integrations.stripe import (
    PaymentIntent,
    StripeIntegrationError,
    StripeRequestError,
)
from core.payments.errors import (
    AlreadyPaid,
    NotPayable,
    PaymentInProgress,
    PaymentNotFound,
    PaymentProviderError,
    PaymentProviderUnavailable,
)
from core.payments.models import (
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from core.payments.services._base import (
    SCOPE_CREATE_INTENT,
    TEST_MODE_PREFIX,
    _audit,
    _provider_error,
    _save,
    _sync_payment_state,
    stripe_gateway,
    stripe_test_mode,
)
from core.payments.services.settlement import _booking_needs_slot_check, _settle_paid

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntentResult:
    payment: Payment
    client_secret: str
    test_mode: bool

    def as_json(self) -> dict:
        return {
            "payment_intent_id": self.payment.stripe_payment_intent_id,
            "client_secret": self.client_secret,
            "amount_cents": self.payment.amount_cents,
            "currency": self.payment.currency,
            "test_mode": self.test_mode,
        }


def _intent_key(booking: Booking, amount_cents: int, attempt: int) -> str:
    # Same booking + amount + attempt → the same PaymentIntent, even if our transaction is lost after the call.
    return f"tt-pi-create-{booking.pk}-{amount_cents}-{attempt}"


def _check_payable(booking: Booking, now: dt.datetime) -> None:
    if booking.status != BookingStatus.PENDING:
        if booking.payment_status in (PaymentState.PAID, PaymentState.PARTIALLY_REFUNDED) or \
                booking.status in (BookingStatus.PAID, BookingStatus.SCHEDULED):
            raise AlreadyPaid("This booking is already paid.")
        raise NotPayable(f"A {BookingStatus(booking.status).label.lower()} booking cannot be paid.")
    if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
        raise NotPayable("The reservation hold on this booking has expired; please book again.",
                         code="hold_expired")


def payment_intent_create(*, booking: Booking, actor=None, idempotency_key: str | None = None,
                          now: dt.datetime | None = None) -> dict:
    """The booking's PaymentIntent for its current total (reused on repeats; a re-priced booking gets a new one).

    Returns the API body; with an Idempotency-Key the first body is stored and replayed for the same request.
    """
    if not idempotency_key:
        return _payment_intent_create(booking=booking, actor=actor, now=now).as_json()
    key = validate_key(idempotency_key)
    with transaction.atomic():
        claim = idempotency_claim(scope=SCOPE_CREATE_INTENT, key=key,
                                  request_hash=request_fingerprint({"booking_id": str(booking.pk)}))
        if isinstance(claim, Replay):
            return claim.body
        try:
            body = _payment_intent_create(booking=booking, actor=actor, now=now).as_json()
        except (AlreadyPaid, PaymentInProgress) as exc:
            # What Stripe told us on the way (paid, in flight) must still commit: keep the transaction, free
            # the key (a refusal is not a result to replay), and refuse after the commit.
            IdempotencyRecord.objects.filter(pk=claim).delete()
            refusal: Exception | None = exc
        else:
            idempotency_complete(record_id=claim, status=200, body=body, booking_id=booking.pk)
            refusal = None
    if refusal is not None:
        raise refusal
    return body


def _payment_intent_create(*, booking: Booking, actor, now: dt.datetime | None) -> IntentResult:
    now = now or timezone.now()
    test_mode = stripe_test_mode()
    if not test_mode and not settings.STRIPE_SECRET_KEY:
        raise PaymentProviderUnavailable("Online payment is not configured.")
    amount_cents = to_cents(booking.total_price)
    method = PaymentMethod.TEST_MODE if test_mode else PaymentMethod.STRIPE
    with transaction.atomic():
        # The booking row lock serialises concurrent calls: only the first creates, the rest reuse.
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        _check_payable(locked, now)
        if amount_cents < 50:
            raise NotPayable("This booking has nothing to pay online.", code="nothing_to_pay")
        payments = list(Payment.objects.select_for_update().filter(
            booking=locked, method__in=[PaymentMethod.STRIPE, PaymentMethod.TEST_MODE]).order_by("created_at"))
        if any(p.status == PaymentStatus.SUCCEEDED for p in payments):
            raise AlreadyPaid("This booking is already paid; the confirmation is on its way.")
        live = (PaymentStatus.PENDING, PaymentStatus.PROCESSING, PaymentStatus.FAILED)
        try:
            for old in payments:
                if old.status in live and (old.amount_cents != amount_cents or old.method != method):
                    _cancel_superseded(old, locked, actor=actor, now=now)
            reusable = [p for p in payments if p.method == method and p.amount_cents == amount_cents
                        and p.status in live]
            if test_mode:
                result = _test_mode_intent(locked, reusable, amount_cents, actor)
            else:
                result = _stripe_intent(locked, payments, reusable, amount_cents, actor, now)
        except _MovedOn as stop:
            # What Stripe told us (paid, or being paid) is committed; the caller still gets its answer.
            refusal: Exception | None = stop.error
        else:
            refusal = None
            if locked.stripe_payment_intent_id != result.payment.stripe_payment_intent_id:
                locked.stripe_payment_intent_id = result.payment.stripe_payment_intent_id
                _save(locked, actor, ["stripe_payment_intent_id"])
        _sync_payment_state(locked, actor)
    if refusal is not None:
        raise refusal
    return result


class _MovedOn(Exception):  # noqa: N818 (control flow inside _payment_intent_create, never escapes it)
    """An earlier intent turned out paid or in flight at Stripe: keep that news, refuse a new intent."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


def _stop_if_moved_on(payment: Payment, booking: Booking, *, actor, now: dt.datetime, just_succeeded: bool) -> None:
    if payment.status == PaymentStatus.SUCCEEDED:
        if just_succeeded:
            _settle_paid(booking, payment, actor=actor, now=now)
        raise _MovedOn(AlreadyPaid("This booking is already paid; the confirmation is on its way."))
    if payment.status == PaymentStatus.PROCESSING:
        raise _MovedOn(PaymentInProgress("A payment for this booking is being processed; wait for it to finish."))


def _cancel_superseded(payment: Payment, booking: Booking, *, actor, now: dt.datetime) -> None:
    """The booking was re-priced: cancel the intent for the old amount (Stripe first, then ours)."""
    if payment.method == PaymentMethod.STRIPE:
        if payment.status == PaymentStatus.PROCESSING:
            raise PaymentInProgress("A payment for this booking is being processed; wait for it to finish.")
        gateway = stripe_gateway()
        try:
            try:
                pi = gateway.cancel_payment_intent(
                    payment.stripe_payment_intent_id, idempotency_key=f"tt-pi-cancel-{payment.pk}",
                    cancellation_reason="abandoned")
            except StripeRequestError:
                # Most likely it moved on meanwhile (processing/succeeded): take Stripe's word for it.
                pi = gateway.retrieve_payment_intent(payment.stripe_payment_intent_id)
        except StripeIntegrationError as exc:
            raise _provider_error(exc) from exc
        just_succeeded = _apply_intent(payment, pi, actor=actor, now=now)
        _stop_if_moved_on(payment, booking, actor=actor, now=now, just_succeeded=just_succeeded)
        if payment.status != PaymentStatus.CANCELED:
            raise PaymentProviderError("The payment provider would not cancel the previous payment.")
    else:
        payment.status = PaymentStatus.CANCELED
        _save(payment, actor, ["status"])
    _audit("intent_canceled", payment=payment, user=actor, reason="superseded_by_new_amount")


def _test_mode_intent(booking: Booking, reusable: list[Payment], amount_cents: int, actor) -> IntentResult:
    payment = reusable[0] if reusable else None
    if payment is None:
        payment = Payment(booking=booking, method=PaymentMethod.TEST_MODE, amount_cents=amount_cents,
                          currency=settings.STRIPE_CURRENCY,
                          stripe_payment_intent_id=f"{TEST_MODE_PREFIX}{uuid.uuid4().hex}")
        set_actor(payment, actor)
        payment.save(force_insert=True)
        _audit("intent_created", payment=payment, user=actor, test_mode=True, amount_cents=amount_cents)
    return IntentResult(payment, f"{payment.stripe_payment_intent_id}_secret_testmode", True)


def _stripe_intent(booking: Booking, payments: list[Payment], reusable: list[Payment], amount_cents: int,
                   actor, now: dt.datetime) -> IntentResult:
    gateway = stripe_gateway()
    try:
        for payment in reusable:
            pi = gateway.retrieve_payment_intent(payment.stripe_payment_intent_id)
            just_succeeded = _apply_intent(payment, pi, actor=actor, now=now)
            if payment.status == PaymentStatus.SUCCEEDED:
                _stop_if_moved_on(payment, booking, actor=actor, now=now, just_succeeded=just_succeeded)
            if payment.status != PaymentStatus.CANCELED and pi.client_secret:
                return IntentResult(payment, pi.client_secret, False)
        attempt = sum(1 for p in payments if p.method == PaymentMethod.STRIPE and p.amount_cents == amount_cents)
        pi = gateway.create_payment_intent(
            amount_cents=amount_cents, currency=settings.STRIPE_CURRENCY,
            idempotency_key=_intent_key(booking, amount_cents, attempt),
            metadata={"booking_id": str(booking.pk), "booking_number": booking.booking_number},
            description=f"ToteTaxi booking {booking.booking_number}",
        )
    except StripeIntegrationError as exc:
        raise _provider_error(exc) from exc
    payment = Payment.objects.filter(stripe_payment_intent_id=pi.id).first()  # a webhook may have beaten us
    if payment is None:
        payment = Payment(booking=booking, method=PaymentMethod.STRIPE, amount_cents=pi.amount,
                          currency=pi.currency or settings.STRIPE_CURRENCY, stripe_payment_intent_id=pi.id)
        set_actor(payment, actor)
        payment.save(force_insert=True)
        _audit("intent_created", payment=payment, user=actor, amount_cents=pi.amount, attempt=attempt)
    return IntentResult(payment, pi.client_secret or "", False)


def _status_from_intent(pi: PaymentIntent) -> str:
    if pi.status == "succeeded":
        return PaymentStatus.SUCCEEDED
    if pi.status in ("processing", "requires_capture"):
        return PaymentStatus.PROCESSING
    if pi.status == "canceled":
        return PaymentStatus.CANCELED
    if pi.status == "requires_payment_method" and pi.last_payment_error:
        return PaymentStatus.FAILED
    return PaymentStatus.PENDING


def _apply_intent(payment: Payment, pi: PaymentIntent, *, actor=None, now: dt.datetime | None = None) -> bool:
    """Move our Payment to Stripe's state, forward only; True when it just succeeded.

    Succeeded is final (refunds are separate objects); canceled only yields to succeeded. Between pending,
    processing and failed Stripe's fresh object is the authority (a declined card can be retried).
    """
    now = now or timezone.now()
    new = _status_from_intent(pi)
    old = payment.status
    fields: list[str] = []
    if _charge_changes(payment, pi, new):
        payment.stripe_charge_id = pi.latest_charge
        fields.append("stripe_charge_id")
    if _method_type_missing(payment, pi):
        payment.payment_method_type = pi.payment_method_types[0][:40]
        fields.append("payment_method_type")
    moved = _status_moves(old, new)
    if moved:
        payment.status = new
        fields.append("status")
        if new == PaymentStatus.SUCCEEDED:
            payment.succeeded_at = now
            payment.failure_reason = ""
            fields += ["succeeded_at", "failure_reason"]
        elif new == PaymentStatus.FAILED:
            payment.failed_at = now
            payment.failure_reason = (pi.last_payment_error or "")[:2000]
            fields += ["failed_at", "failure_reason"]
    if fields:
        _save(payment, actor, fields)
    if moved:
        _audit(f"payment_{new}", payment=payment, user=actor, stripe_status=pi.status, previous=old,
               failure=pi.last_payment_error or "")
    return moved and new == PaymentStatus.SUCCEEDED


def _intent_changes(payment: Payment, pi: PaymentIntent, source: str) -> bool:
    """Would _apply_intent (or the webhook flag) write anything? Read without locks; re-checked under them."""
    new = _status_from_intent(pi)
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
            locked.stripe_fee_cents = charge.fee_cents
            _save(locked, actor, ["stripe_fee_cents"])
    payment.stripe_fee_cents = charge.fee_cents
    return charge.fee_cents


def _recover_payment(pi: PaymentIntent) -> Payment | None:
    """An intent we created whose Payment row was lost (our transaction failed after Stripe's call)."""
    booking_id = pi.metadata.get("booking_id")
    if not booking_id or pi.id.startswith(TEST_MODE_PREFIX):
        return None
    try:
        booking = Booking.objects.get(pk=uuid.UUID(booking_id))
    except (Booking.DoesNotExist, ValueError):
        return None
    payment, created = Payment.objects.get_or_create(
        stripe_payment_intent_id=pi.id,
        defaults={"booking": booking, "method": PaymentMethod.STRIPE, "amount_cents": pi.amount,
                  "currency": pi.currency or settings.STRIPE_CURRENCY},
    )
    if created:
        _audit("payment_recovered_from_stripe", payment=payment, stripe_status=pi.status)
    return payment


def payment_sync_intent(*, pi: PaymentIntent, actor=None, source: str = "",
                        now: dt.datetime | None = None) -> Payment | None:
    """Apply a (fresh or final) PaymentIntent from Stripe to our records; settle the booking when it succeeded.

    Returns None for intents that are not ours.
    """
    now = now or timezone.now()
    existing = Payment.objects.filter(stripe_payment_intent_id=pi.id).select_related("booking").first()
    if existing is None:
        existing = _recover_payment(pi)
        if existing is None:
            return None
    if not _intent_changes(existing, pi, source):
        return existing  # a duplicate or stale event: nothing to lock, nothing to write
    booking = existing.booking
    with transaction.atomic():
        if pi.status == "succeeded" and _booking_needs_slot_check(booking, now):
            lock_service_day(booking.pickup_date)  # before the booking row: same order as booking_create/update
        locked_booking = Booking.objects.select_for_update().get(pk=booking.pk)
        payment = Payment.objects.select_for_update().get(pk=existing.pk)
        payment.booking = locked_booking
        if source == "webhook" and not payment.webhook_received:
            payment.webhook_received = True
            _save(payment, actor, ["webhook_received"])
        just_succeeded = _apply_intent(payment, pi, actor=actor, now=now)
        if just_succeeded:
            _settle_paid(locked_booking, payment, actor=actor, now=now)
        _sync_payment_state(locked_booking, actor)
    return payment


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
            raise _provider_error(exc) from exc
        payment_sync_intent(pi=pi, actor=actor, source="confirm")
    return Booking.objects.get(pk=booking.pk)


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
        _audit("test_mode_payment_recorded", payment=payment, amount_cents=payment.amount_cents)
        _sync_payment_state(locked)
    return payment

"""Every write to payments: intents, confirmation, Stripe state sync, settlement, offline payments, refunds.

Lock order everywhere: ServiceDay (only when a slot must be re-checked) → Booking → Payment → Refund, so two
paths can never wait on each other. Calls to Stripe carry idempotency keys derived from our ids.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from core.bookings.idempotency import (
    Replay,
    idempotency_claim,
    idempotency_complete,
    request_fingerprint,
    validate_key,
)
from core.bookings.models import Booking, BookingStatus, BookingStatusChange, PaymentState
from core.common.audit import current as audit_context
from core.common.audit import set_actor
from core.common.errors import PermissionDenied
from core.common.money import from_cents, quantize, to_cents
from core.integrations.stripe import (
    PaymentIntent,
    StripeGateway,
    StripeIntegrationError,
    StripeRequestError,
    StripeUnavailable,
    get_client,
)
from core.integrations.stripe import Refund as StripeRefund
from core.payments.errors import (
    AlreadyPaid,
    NotPayable,
    NotRefundable,
    PaymentInProgress,
    PaymentNotFound,
    PaymentProviderError,
    PaymentProviderUnavailable,
    PaymentValidationError,
    RefundFailed,
    RefundNotAllowed,
    RefundTooLarge,
)
from core.payments.models import (
    Payment,
    PaymentAudit,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
)

logger = logging.getLogger(__name__)

SCOPE_CREATE_INTENT = "payments.create_intent"
TEST_MODE_PREFIX = "pi_testmode_"
REINSTATED_REASON = "reinstated_after_late_payment"
HOLD_EXPIRED_REASON = "hold_expired"
OFFLINE_METHODS = (PaymentMethod.CASH, PaymentMethod.CHECK, PaymentMethod.OTHER)
STRIPE_REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
# A second identical refund request by the same person within this window is a double click, not a new refund.
REFUND_DOUBLE_CLICK_WINDOW = dt.timedelta(seconds=60)

_STRIPE_REFUND_STATUS = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}
_HOLDING_REFUND_STATUSES = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)


# ------------------------------------------------------------------------------------------------ helpers


def stripe_test_mode() -> bool:
    """LOCAL TEST MODE: no Stripe key outside production; payments are simulated (never in production)."""
    if settings.STRIPE_SECRET_KEY:
        return False
    return bool(settings.DEBUG or getattr(settings, "TESTING", False)
                or getattr(settings, "ENVIRONMENT", "production") != "production")


_gateways: dict[tuple[str, str], StripeGateway] = {}


def stripe_gateway() -> StripeGateway:
    """One gateway per (key, base): the library client is thread-safe and keeps its connection pool."""
    cache_key = (settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE or "")
    gateway = _gateways.get(cache_key)
    if gateway is None:
        gateway = _gateways[cache_key] = get_client()
    return gateway


def _provider_error(exc: StripeIntegrationError) -> Exception:
    if isinstance(exc, StripeUnavailable):
        return PaymentProviderUnavailable("The payment provider did not answer; please retry in a moment.")
    return PaymentProviderError(f"The payment provider refused the request: {getattr(exc, 'message', exc)}")


def _audit(action: str, *, payment: Payment | None = None, booking: Booking | None = None, user=None,
           ip: str | None = None, **details) -> PaymentAudit:
    ctx = audit_context()
    return PaymentAudit.objects.create(
        payment=payment,
        booking=booking if booking is not None else (payment.booking if payment is not None else None),
        action=action,
        user=user if user is not None else ctx.resolved_user(),
        ip_address=ip or ctx.ip_address,
        details=details,
    )


def _save(instance, actor, fields: list[str]) -> None:
    set_actor(instance, actor)
    instance.save(update_fields=[*fields, "updated_at"])


def _enqueue_payment_confirmation(booking_id) -> None:
    from core.payments.tasks import send_payment_confirmation  # tasks import services: import late

    send_payment_confirmation(str(booking_id))  # an on_commit task: enqueued only if we commit


# ------------------------------------------------------------------------------ booking payment summary


def _captured_and_refunded(booking: Booking) -> tuple[int, int]:
    row = booking.payments.filter(status=PaymentStatus.SUCCEEDED).aggregate(
        captured=Sum("amount_cents"), refunded=Sum("refunded_cents"))
    return int(row["captured"] or 0), int(row["refunded"] or 0)


def booking_payment_state(booking: Booking) -> str:
    """What Booking.payment_status should say, from the booking's payments (one query, two if unpaid)."""
    succeeded = Q(status=PaymentStatus.SUCCEEDED)
    row = booking.payments.aggregate(
        captured=Sum("amount_cents", filter=succeeded), refunded=Sum("refunded_cents", filter=succeeded),
        processing=Count("pk", filter=Q(status=PaymentStatus.PROCESSING) & ~Q(method__in=OFFLINE_METHODS)))
    captured, refunded = int(row["captured"] or 0), int(row["refunded"] or 0)
    if captured and refunded >= captured:
        return PaymentState.REFUNDED
    if refunded:
        return PaymentState.PARTIALLY_REFUNDED
    if captured and captured >= to_cents(booking.total_price):
        return PaymentState.PAID
    if row["processing"]:
        return PaymentState.PROCESSING
    if captured:
        return PaymentState.PAID if booking.status != BookingStatus.PENDING else PaymentState.UNPAID
    latest = booking.payments.exclude(method__in=OFFLINE_METHODS).order_by("-created_at", "-pk") \
        .values_list("status", flat=True).first()
    return PaymentState.FAILED if latest == PaymentStatus.FAILED else PaymentState.UNPAID


def _sync_payment_state(booking: Booking, actor=None) -> Booking:
    """Keep Booking.payment_status in step (the caller holds the booking row lock)."""
    booking.refresh_from_db(fields=["payment_status", "status", "total_price"])
    state = booking_payment_state(booking)
    if booking.payment_status != state:
        booking.payment_status = state
        _save(booking, actor, ["payment_status"])
    return booking


# ------------------------------------------------------------------------------------------ intents


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
        body = _payment_intent_create(booking=booking, actor=actor, now=now).as_json()
        idempotency_complete(record_id=claim, status=200, body=body, booking_id=booking.pk)
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


# ------------------------------------------------------------------------ applying Stripe's intent state


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
    if pi.latest_charge and payment.stripe_charge_id != pi.latest_charge and (
            new == PaymentStatus.SUCCEEDED or old != PaymentStatus.SUCCEEDED):
        payment.stripe_charge_id = pi.latest_charge
        fields.append("stripe_charge_id")
    if pi.payment_method_types and not payment.payment_method_type:
        payment.payment_method_type = pi.payment_method_types[0][:40]
        fields.append("payment_method_type")
    moved = new != old and old != PaymentStatus.SUCCEEDED and (
        old != PaymentStatus.CANCELED or new == PaymentStatus.SUCCEEDED)
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
    new, old = _status_from_intent(pi), payment.status
    if source == "webhook" and not payment.webhook_received:
        return True
    if new != old and old != PaymentStatus.SUCCEEDED and (old != PaymentStatus.CANCELED
                                                          or new == PaymentStatus.SUCCEEDED):
        return True
    if pi.latest_charge and payment.stripe_charge_id != pi.latest_charge and (
            new == PaymentStatus.SUCCEEDED or old != PaymentStatus.SUCCEEDED):
        return True
    return bool(pi.payment_method_types and not payment.payment_method_type)


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


def _booking_needs_slot_check(booking: Booking, now: dt.datetime) -> bool:
    return (booking.status == BookingStatus.CANCELLED and booking.cancellation_reason == HOLD_EXPIRED_REASON) or (
        booking.status == BookingStatus.PENDING and booking.hold_expires_at is not None
        and booking.hold_expires_at <= now)


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
            _lock_day(booking.pickup_date)  # before the booking row: same order as booking_create/update
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


# ---------------------------------------------------------------------------------------- settlement


def _lock_day(on: dt.date) -> None:
    from core.bookings.services import _lock_service_day

    _lock_service_day(on)


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


def _settle_paid(booking: Booking, payment: Payment, *, actor, now: dt.datetime) -> None:
    """A payment just succeeded: move the booking to paid, reinstate it, or flag it for staff. Never drop it."""
    from core.bookings.services import booking_flag, booking_transition

    captured, _ = _captured_and_refunded(booking)
    covers = captured >= to_cents(booking.total_price)
    amount = f"${from_cents(payment.amount_cents)}"
    if booking.status == BookingStatus.PENDING:
        problem = _slot_problem(booking, now) if _booking_needs_slot_check(booking, now) else ""
        if problem:
            booking_transition(booking=booking, to_status=BookingStatus.CANCELLED, actor=actor,
                               reason=HOLD_EXPIRED_REASON, now=now)
            booking_flag(booking=booking, actor=actor,
                         reason=f"Paid {amount} after its hold expired but {problem}: rebook or refund.")
            _audit("late_payment_flagged", payment=payment, user=actor, problem=problem)
        elif not covers:
            booking_flag(booking=booking, actor=actor,
                         reason=f"Paid {amount}, less than the total ${booking.total_price}: collect the rest.")
            _audit("underpayment_flagged", payment=payment, user=actor, captured_cents=captured)
        else:
            booking_transition(booking=booking, to_status=BookingStatus.PAID, actor=actor,
                               reason=f"payment_succeeded:{payment.stripe_payment_intent_id or payment.method}",
                               now=now)
            _enqueue_payment_confirmation(booking.pk)
    elif booking.status == BookingStatus.CANCELLED and booking.cancellation_reason == HOLD_EXPIRED_REASON:
        booking_reinstate_after_late_payment(booking=booking, payment=payment, actor=actor, now=now)
    elif booking.status == BookingStatus.CANCELLED:
        booking_flag(booking=booking, actor=actor,
                     reason=f"Payment of {amount} received for a cancelled booking: refund it.")
        _audit("payment_on_cancelled_booking_flagged", payment=payment, user=actor)
    elif booking.payments.filter(status=PaymentStatus.SUCCEEDED).exclude(pk=payment.pk).exists():
        booking_flag(booking=booking, actor=actor,
                     reason=f"Second payment of {amount} received for a paid booking: refund one.")
        _audit("double_payment_flagged", payment=payment, user=actor)


def booking_reinstate_after_late_payment(*, booking: Booking, payment: Payment, actor=None,
                                         now: dt.datetime | None = None) -> bool:
    """A payment arrived after the hold expired: give the slot back if the date still has one, else flag.

    cancelled → paid is not a move the status machine offers to anyone; only this path makes it, under the
    service-day lock (the same lock booking_create takes), with a history row and a status-change record.
    """
    from core.bookings.services import booking_flag

    now = now or timezone.now()
    with transaction.atomic():
        _lock_day(booking.pickup_date)
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if locked.status != BookingStatus.CANCELLED or locked.cancellation_reason != HOLD_EXPIRED_REASON:
            return locked.status == BookingStatus.PAID
        problem = _slot_problem(locked, now)
        if problem:
            booking_flag(booking=locked, actor=actor,
                         reason=f"Paid ${from_cents(payment.amount_cents)} after its hold expired but {problem}: "
                                "rebook or refund.")
            _audit("late_payment_flagged", payment=payment, booking=locked, user=actor, problem=problem)
            return False
        locked.status = BookingStatus.PAID
        locked.cancelled_at = None
        locked.cancellation_reason = ""
        locked.hold_expires_at = None
        _save(locked, actor, ["status", "cancelled_at", "cancellation_reason", "hold_expires_at"])
        BookingStatusChange.objects.create(booking=locked, from_status=BookingStatus.CANCELLED,
                                           to_status=BookingStatus.PAID, actor=actor, reason=REINSTATED_REASON)
        _audit("booking_reinstated", payment=payment, booking=locked, user=actor)
        booking.status = locked.status
        booking.cancellation_reason = ""
    _enqueue_payment_confirmation(locked.pk)
    return True


# ----------------------------------------------------------------------------------- offline payments


def payment_record_offline(*, booking: Booking, amount: Decimal, method: str, reference: str, actor,
                           request_ip: str | None = None) -> Payment:
    """Staff record cash/check/other money received; the booking becomes paid when it covers the total."""
    if actor is None or not (getattr(actor, "is_staff", False) or getattr(actor, "is_admin_role", False)):
        raise PermissionDenied("Only staff can record offline payments.")
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
        if _booking_needs_slot_check(booking, now):
            _lock_day(booking.pickup_date)
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if locked.status in (BookingStatus.CANCELLED,) and locked.cancellation_reason != HOLD_EXPIRED_REASON:
            raise NotPayable("This booking is cancelled; reinstate it before recording a payment.")
        payment = Payment(booking=locked, method=method, status=PaymentStatus.SUCCEEDED,
                          amount_cents=to_cents(amount), currency=settings.STRIPE_CURRENCY, succeeded_at=now,
                          reference=reference, recorded_by=actor)
        set_actor(payment, actor)
        payment.save(force_insert=True)
        _audit("offline_payment_recorded", payment=payment, user=actor, ip=request_ip, method=method,
               amount=str(amount), reference=reference)
        _settle_paid(locked, payment, actor=actor, now=now)
        _sync_payment_state(locked, actor)
    return payment


# ----------------------------------------------------------------------------------------------- refunds


def _refresh_refunded(payment: Payment, actor=None) -> None:
    """refunded_cents = pending + succeeded refunds (what Stripe's charge.amount_refunded counts)."""
    total = int(payment.refunds.filter(status__in=_HOLDING_REFUND_STATUSES)
                .aggregate(s=Sum("amount_cents"))["s"] or 0)
    if total > payment.amount_cents:
        logger.error("refunds of payment %s exceed its amount (%s > %s)", payment.pk, total, payment.amount_cents)
        _audit("refunds_exceed_amount", payment=payment, refunds_cents=total)
        total = payment.amount_cents
    if payment.refunded_cents != total:
        payment.refunded_cents = total
        _save(payment, actor, ["refunded_cents"])


def refund_issue(*, payment: Payment, amount_cents: int, reason: str, notes: str, actor,
                 request_ip: str | None = None) -> Refund:
    """Admin-only full or partial refund; a double click returns the same refund instead of a second one.

    The Refund row is committed before Stripe is called, so the idempotency key (our refund id) survives a
    crash or timeout: a retry (refund_submit) replays the same Stripe refund instead of making another.
    """
    if actor is None or not getattr(actor, "is_admin_role", False):
        raise RefundNotAllowed("Only an administrator can issue refunds.")
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise PaymentValidationError("The refund amount must be a positive number of cents.",
                                     fields={"amount_cents": ["Must be a positive whole number of cents."]})
    reason = (reason or "").strip() or "requested_by_customer"
    if len(reason) > 40:
        raise PaymentValidationError("Keep the reason under 40 characters.", fields={"reason": ["Too long."]})
    now = timezone.now()
    with transaction.atomic():
        Booking.objects.select_for_update().filter(pk=payment.booking_id).first()
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status != PaymentStatus.SUCCEEDED:
            raise NotRefundable("Only a succeeded payment can be refunded.")
        duplicate = locked.refunds.filter(
            amount_cents=amount_cents, reason=reason, processed_by=actor, status__in=_HOLDING_REFUND_STATUSES,
            created_at__gte=now - REFUND_DOUBLE_CLICK_WINDOW).first()
        if duplicate is not None:
            return duplicate
        committed = int(locked.refunds.filter(status__in=_HOLDING_REFUND_STATUSES)
                        .aggregate(s=Sum("amount_cents"))["s"] or 0)
        available = locked.amount_cents - committed
        if amount_cents > available:
            raise RefundTooLarge(
                f"At most ${from_cents(max(available, 0))} can still be refunded on this payment.",
                fields={"amount_cents": [f"At most {max(available, 0)}."]})
        refund = Refund(payment=locked, amount_cents=amount_cents, reason=reason, notes=notes or "",
                        processed_by=actor, status=RefundStatus.PENDING)
        set_actor(refund, actor)
        refund.save(force_insert=True)
        _audit("refund_requested", payment=locked, user=actor, ip=request_ip, refund_id=refund.pk,
               amount_cents=amount_cents, reason=reason, notes=notes or "")
        _refresh_refunded(locked, actor)
        _sync_payment_state(locked.booking, actor)
    return refund_submit(refund=refund, actor=actor, request_ip=request_ip, raise_on_refusal=True)


def refund_submit(*, refund: Refund, actor=None, request_ip: str | None = None,
                  raise_on_refusal: bool = False) -> Refund:
    """Send a pending refund to Stripe (or settle an offline/test-mode one); safe to repeat."""
    refund = Refund.objects.select_related("payment").get(pk=refund.pk)
    if refund.stripe_refund_id or refund.status != RefundStatus.PENDING:
        return refund
    payment = refund.payment
    if payment.method != PaymentMethod.STRIPE:
        # Cash, check and local test mode: the money goes back by hand (or nowhere); record it as done.
        return _refund_finish(refund, status=RefundStatus.SUCCEEDED, stripe_id=None, failure="", actor=actor,
                              ip=request_ip)
    stripe_reason = refund.reason if refund.reason in STRIPE_REFUND_REASONS else "requested_by_customer"
    try:
        result = stripe_gateway().create_refund(
            payment_intent_id=payment.stripe_payment_intent_id, amount_cents=refund.amount_cents,
            idempotency_key=f"tt-refund-{refund.pk}", reason=stripe_reason,
            metadata={"refund_id": refund.pk, "booking_id": payment.booking_id, "reason": refund.reason},
        )
    except StripeUnavailable:
        # Left pending (it still counts against the refundable amount); the sweeper retries with the same key.
        logger.warning("Stripe unavailable for refund %s; will retry", refund.pk)
        _audit("refund_deferred", payment=payment, user=actor, ip=request_ip, refund_id=refund.pk)
        return refund
    except StripeRequestError as exc:
        refund = _refund_finish(refund, status=RefundStatus.FAILED, stripe_id=None, failure=exc.message[:2000],
                                actor=actor, ip=request_ip)
        if raise_on_refusal:
            raise RefundFailed(f"Stripe refused the refund: {exc.message}") from exc
        return refund
    return _refund_finish(refund, status=_STRIPE_REFUND_STATUS.get(result.status, RefundStatus.PENDING),
                          stripe_id=result.id, failure=result.failure_reason or "", actor=actor, ip=request_ip)


def _refund_finish(refund: Refund, *, status: str, stripe_id: str | None, failure: str, actor, ip) -> Refund:
    with transaction.atomic():
        Booking.objects.select_for_update().filter(pk=refund.payment.booking_id).first()
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        fields = []
        if stripe_id and locked.stripe_refund_id != stripe_id:
            locked.stripe_refund_id = stripe_id
            fields.append("stripe_refund_id")
        if locked.status != status:
            locked.status = status
            locked.failure_reason = failure
            locked.processed_at = timezone.now()
            fields += ["status", "failure_reason", "processed_at"]
        if fields:
            _save(locked, actor, fields)
            _audit(f"refund_{status}", payment=payment, user=actor, ip=ip, refund_id=locked.pk,
                   stripe_refund_id=stripe_id or "", amount_cents=locked.amount_cents, failure=failure)
        _refresh_refunded(payment, actor)
        _sync_payment_state(payment.booking, actor)
    return locked


def refund_sync_from_stripe(*, stripe_refund: StripeRefund, actor=None) -> Refund | None:
    """Apply a fresh Stripe refund to our records (ours, or one made in Stripe's dashboard)."""
    if not stripe_refund.payment_intent:
        return None
    payment = Payment.objects.filter(stripe_payment_intent_id=stripe_refund.payment_intent).first()
    if payment is None:
        return None
    status = _STRIPE_REFUND_STATUS.get(stripe_refund.status, RefundStatus.PENDING)
    known = Refund.objects.filter(stripe_refund_id=stripe_refund.id).first()
    if known is not None and known.status == status:
        return known  # a duplicate or stale event: nothing to lock, nothing to write
    with transaction.atomic():
        Booking.objects.select_for_update().filter(pk=payment.booking_id).first()
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        refund = Refund.objects.select_for_update().filter(stripe_refund_id=stripe_refund.id).first()
        our_id = stripe_refund.metadata.get("refund_id", "")
        if refund is None and our_id.isdigit():
            # Ours, but the answer to our create call was lost: the metadata names our row.
            refund = Refund.objects.select_for_update().filter(pk=int(our_id), payment=payment).first()
        if refund is None:
            refund = Refund(payment=payment, stripe_refund_id=stripe_refund.id, amount_cents=stripe_refund.amount,
                            reason=(stripe_refund.reason or "external")[:40], status=status,
                            notes="Made outside ToteTaxi (Stripe dashboard).",
                            failure_reason=stripe_refund.failure_reason or "", processed_at=timezone.now())
            set_actor(refund, actor)
            refund.save(force_insert=True)
            _audit("refund_external_recorded", payment=payment, user=actor, stripe_refund_id=stripe_refund.id,
                   amount_cents=stripe_refund.amount, status=status)
        else:
            fields = []
            if refund.stripe_refund_id != stripe_refund.id:
                refund.stripe_refund_id = stripe_refund.id
                fields.append("stripe_refund_id")
            if refund.status != status:
                previous = refund.status
                refund.status = status
                refund.failure_reason = stripe_refund.failure_reason or ""
                refund.processed_at = timezone.now()
                fields += ["status", "failure_reason", "processed_at"]
                _audit(f"refund_{status}", payment=payment, user=actor, refund_id=refund.pk,
                       stripe_refund_id=stripe_refund.id, previous=previous,
                       failure=stripe_refund.failure_reason or "")
            if fields:
                _save(refund, actor, fields)
        _refresh_refunded(payment, actor)
        _sync_payment_state(payment.booking, actor)
    return refund


def payment_sync_refunds(*, payment: Payment, actor=None) -> list[Refund]:
    """Re-read every refund of the payment's intent from Stripe (after charge.refunded)."""
    if payment.method != PaymentMethod.STRIPE:
        return []
    try:
        refunds = list(stripe_gateway().list_refunds_for_payment_intent(payment.stripe_payment_intent_id))
    except StripeIntegrationError:
        raise
    return [r for r in (refund_sync_from_stripe(stripe_refund=sr, actor=actor) for sr in refunds) if r]


# ---------------------------------------------------------------------------------------------- disputes


def payment_record_dispute(*, dispute: dict, actor=None) -> Payment | None:
    """Flag the booking for staff, with the evidence due date; the money is frozen until Stripe decides."""
    from core.bookings.services import booking_flag

    pi_id = dispute.get("payment_intent")
    charge_id = dispute.get("charge")
    if isinstance(pi_id, dict):
        pi_id = pi_id.get("id")
    if isinstance(charge_id, dict):
        charge_id = charge_id.get("id")
    query = Q(stripe_payment_intent_id=pi_id) if pi_id else Q()
    if charge_id:
        query = query | Q(stripe_charge_id=charge_id) if pi_id else Q(stripe_charge_id=charge_id)
    if not pi_id and not charge_id:
        return None
    payment = Payment.objects.filter(query).select_related("booking").first()
    if payment is None:
        return None
    due_ts = (dispute.get("evidence_details") or {}).get("due_by")
    due = dt.datetime.fromtimestamp(int(due_ts), tz=dt.UTC) if due_ts else None
    amount = from_cents(int(dispute.get("amount") or 0))
    with transaction.atomic():
        booking_flag(booking=payment.booking, actor=actor, due=due,
                     reason=f"Dispute {dispute.get('id', '')} ({dispute.get('reason') or 'unknown'}) "
                            f"for ${amount}: submit evidence")
        _audit("dispute_created", payment=payment, user=actor, dispute_id=dispute.get("id", ""),
               reason=dispute.get("reason") or "", amount_cents=int(dispute.get("amount") or 0),
               due_by=due.isoformat() if due else None, status=dispute.get("status") or "")
    return payment


def refunds_retry_pending(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """Refunds Stripe never answered: submit again with the same key (or re-read them); returns how many."""
    now = now or timezone.now()
    stale = Refund.objects.filter(status=RefundStatus.PENDING, payment__method=PaymentMethod.STRIPE,
                                  created_at__lt=now - dt.timedelta(minutes=2)).order_by("created_at")[:limit]
    count = 0
    for refund in stale:
        try:
            if refund.stripe_refund_id:
                refund_sync_from_stripe(stripe_refund=stripe_gateway().retrieve_refund(refund.stripe_refund_id))
            else:
                refund_submit(refund=refund)
            count += 1
        except StripeIntegrationError:
            logger.warning("refund %s still waiting on Stripe", refund.pk)
    return count


def reconciliation_mismatch_resolve(*, mismatch, actor, note: str = "") -> None:
    """Finance marks a reconciliation difference as dealt with (recorded in the payment audit)."""
    if actor is None or not (getattr(actor, "is_staff", False) or getattr(actor, "is_admin_role", False)):
        raise PermissionDenied("Only staff can resolve reconciliation differences.")
    if mismatch.resolved:
        return
    mismatch.resolved = True
    mismatch.resolved_by = actor
    mismatch.save(update_fields=["resolved", "resolved_by"])
    _audit("reconciliation_resolved", payment=mismatch.payment, user=actor, kind=mismatch.kind,
           stripe_object_id=mismatch.stripe_object_id, run_date=mismatch.run_date.isoformat(), note=note)


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

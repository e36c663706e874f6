"""The booking's PaymentIntent: record the attempt, commit, call Stripe, then record Stripe's answer.

No row lock is held while Stripe is called (a call may take the client's whole timeout, and webhooks and staff
actions on the booking would wait behind it): each step locks the booking briefly, decides, and commits.
Exactly one intent per booking and amount still holds: the Payment row is recorded before the call (under the
booking lock and the "one live intent per booking and amount" constraint, so concurrent callers find the same
row), and Stripe's idempotency key names that row, so concurrent callers, a retry after a timeout, and a retry
after a crash between the call and its answer all get the same PaymentIntent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.bookings.idempotency import (
    Replay,
    idempotency_claim,
    idempotency_complete,
    request_fingerprint,
    validate_key,
)
from core.bookings.models import Booking, BookingStatus, PaymentState
from core.common.audit import set_actor
from core.common.money import to_cents
from core.common.services import model_update
from core.integrations.stripe import PaymentIntent, StripeIntegrationError, StripeRequestError
from core.payments.errors import (
    AlreadyPaid,
    NotPayable,
    PaymentInProgress,
    PaymentProviderError,
    PaymentProviderUnavailable,
)
from core.payments.models import Payment, PaymentMethod, PaymentStatus
from core.payments.selectors import booking_balances_owed
from core.payments.services.common import (
    BALANCE_STATUSES,
    SCOPE_CREATE_INTENT,
    TEST_MODE_PREFIX,
    booking_payment_state_sync,
    payment_audit,
    provider_error,
    stripe_gateway,
    stripe_test_mode,
)
from core.payments.services.intent_state import payment_apply_intent

# Rounds of "cancel the superseded intent / find the intent canceled at Stripe, then try again" before giving up.
_MAX_ROUNDS = 3
_LIVE = (PaymentStatus.PENDING, PaymentStatus.PROCESSING, PaymentStatus.FAILED)
_ONLINE = (PaymentMethod.STRIPE, PaymentMethod.TEST_MODE)


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


def payment_intent_create(*, booking: Booking, actor=None, idempotency_key: str | None = None,
                          now: dt.datetime | None = None) -> dict:
    """The booking's PaymentIntent for its current total (reused on repeats; a re-priced booking gets a new one).

    Returns the API body; with an Idempotency-Key the first body is stored and replayed for the same request.
    The key is claimed together with the answer, after the work (which is idempotent by itself), so no
    transaction spans the call to Stripe and a caller that died on the way leaves no half-claimed key behind.
    """
    if not idempotency_key:
        return _intent_for(booking=booking, actor=actor, now=now).as_json()
    key = validate_key(idempotency_key)
    request_hash = request_fingerprint({"booking_id": str(booking.pk)})
    with transaction.atomic():
        earlier = idempotency_claim(scope=SCOPE_CREATE_INTENT, key=key, request_hash=request_hash)
        transaction.set_rollback(True)  # only looking: a refusal below must leave the key free
    if isinstance(earlier, Replay):
        return earlier.body
    body = _intent_for(booking=booking, actor=actor, now=now).as_json()
    with transaction.atomic():
        claim = idempotency_claim(scope=SCOPE_CREATE_INTENT, key=key, request_hash=request_hash)
        if isinstance(claim, Replay):
            return claim.body  # a concurrent twin answered first: the same intent (one per booking and amount)
        idempotency_complete(record_id=claim, status=200, body=body, booking_id=booking.pk)
    return body


@dataclass
class _Step:
    """What the locked look at the booking decided: the payment to use, or Stripe intents to cancel first."""

    payment: Payment | None = None
    superseded: list[Payment] = field(default_factory=list)


def _intent_for(*, booking: Booking, actor, now: dt.datetime | None, quote_id=None) -> IntentResult:
    """With `quote_id`: only that change's balance (AlreadyPaid once nothing is owed for it)."""
    now = now or timezone.now()
    test_mode = stripe_test_mode()
    if not test_mode and not settings.STRIPE_SECRET_KEY:
        raise PaymentProviderUnavailable("Online payment is not configured.")
    method = PaymentMethod.TEST_MODE if test_mode else PaymentMethod.STRIPE
    for _round in range(_MAX_ROUNDS):
        step = _record_attempt(booking.pk, method=method, actor=actor, now=now, quote_id=quote_id)
        for old in step.superseded:
            _cancel_superseded(old, actor=actor, now=now)
        if step.payment is None:
            continue
        if test_mode:
            return IntentResult(step.payment, f"{step.payment.stripe_payment_intent_id}_secret_testmode", True)
        pi = _ask_stripe(step.payment)
        payment = payment_apply_intent(payment=step.payment, pi=pi, actor=actor, now=now, created=True)
        if payment.status == PaymentStatus.SUCCEEDED:  # paid before the webhook told us: recorded, settled
            raise AlreadyPaid("This booking is already paid; the confirmation is on its way.")
        if payment.status != PaymentStatus.CANCELED:
            return IntentResult(payment, pi.client_secret or "", False)
        # Canceled at Stripe meanwhile (e.g. in the dashboard): now recorded; the next round makes a new one.
    raise PaymentInProgress("The payment for this booking keeps changing; please retry in a moment.")


def _check_payable(booking: Booking, now: dt.datetime) -> None:
    if booking.status != BookingStatus.PENDING:
        if booking.payment_status in (PaymentState.PAID, PaymentState.PARTIALLY_REFUNDED) or \
                booking.status in (BookingStatus.PAID, BookingStatus.SCHEDULED):
            raise AlreadyPaid("This booking is already paid.")
        raise NotPayable(f"A {BookingStatus(booking.status).label.lower()} booking cannot be paid.")
    if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
        raise NotPayable("The reservation hold on this booking has expired; please book again.",
                         code="hold_expired")


def _record_attempt(booking_id, *, method: str, actor, now: dt.datetime, quote_id=None) -> _Step:
    """Under the booking row lock, and without calling Stripe: the payment for the current total (or for the
    balance a change still owes), recorded now if there is none yet; or, first, the live Stripe intents of an
    earlier amount that must be canceled."""
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking_id)
        owed = booking_balances_owed(booking) if booking.status in BALANCE_STATUSES else []
        if quote_id is not None:
            owed = [row for row in owed if row[0] == quote_id]
            if not owed:
                raise AlreadyPaid("The balance of this change is paid.")
        if owed:
            return _balance_step_locked(booking, owed[0], method=method, actor=actor)
        _check_payable(booking, now)
        amount_cents = to_cents(booking.total_price)
        if amount_cents < 50:
            raise NotPayable("This booking has nothing to pay online.", code="nothing_to_pay")
        payments = list(Payment.objects.select_for_update().filter(
            booking=booking, method__in=[PaymentMethod.STRIPE, PaymentMethod.TEST_MODE]).order_by("created_at"))
        if any(p.status == PaymentStatus.SUCCEEDED for p in payments):
            raise AlreadyPaid("This booking is already paid; the confirmation is on its way.")
        superseded = [p for p in payments if p.status in _LIVE
                      and (p.amount_cents != amount_cents or p.method != method)]
        at_stripe = _supersede_locked(superseded, actor=actor, what="this booking")
        if at_stripe:
            return _Step(superseded=at_stripe)
        payment = next((p for p in payments if p.method == method and p.amount_cents == amount_cents
                        and p.status in _LIVE), None)
        if payment is None:
            payment = Payment(booking=booking, method=method, amount_cents=amount_cents,
                              currency=settings.STRIPE_CURRENCY,
                              stripe_payment_intent_id=f"{TEST_MODE_PREFIX}{uuid.uuid4().hex}"
                              if method == PaymentMethod.TEST_MODE else None)
            set_actor(payment, actor)
            payment.save(force_insert=True)
            payment_audit("intent_created" if payment.stripe_payment_intent_id else "intent_recorded",
                          payment=payment, user=actor, amount_cents=amount_cents,
                          test_mode=method == PaymentMethod.TEST_MODE)
        if method == PaymentMethod.TEST_MODE:
            model_update(instance=booking, fields=["stripe_payment_intent_id"], actor=actor,
                         data={"stripe_payment_intent_id": payment.stripe_payment_intent_id})
            booking_payment_state_sync(booking, actor)
    payment.booking = booking
    return _Step(payment=payment)


def _supersede_locked(superseded: list[Payment], *, actor, what: str) -> list[Payment]:
    """Under the booking lock: live payments for another amount (or method) go. Those with nothing at Stripe are
    cancelled here; those at Stripe are returned, to be cancelled there after the commit. One Stripe is
    processing cannot be replaced: PaymentInProgress."""
    if any(p.method == PaymentMethod.STRIPE and p.status == PaymentStatus.PROCESSING for p in superseded):
        raise PaymentInProgress(f"A payment for {what} is being processed; wait for it to finish.")
    for old in superseded:
        if old.method != PaymentMethod.STRIPE:  # nothing at Stripe to cancel
            model_update(instance=old, fields=["status"], data={"status": PaymentStatus.CANCELED}, actor=actor)
            payment_audit("intent_canceled", payment=old, user=actor, reason="superseded_by_new_amount")
    return [p for p in superseded if p.method == PaymentMethod.STRIPE]


def _ask_stripe(payment: Payment) -> PaymentIntent:
    """The payment's intent at Stripe: created with a key naming our row (replayed on repeats), else re-read."""
    gateway = stripe_gateway()
    try:
        if payment.stripe_payment_intent_id:
            return gateway.retrieve_payment_intent(payment.stripe_payment_intent_id)
        booking = payment.booking
        balance = payment.change_quote_id is not None
        return gateway.create_payment_intent(
            amount_cents=payment.amount_cents, currency=payment.currency,
            idempotency_key=f"tt-pi-create-{booking.pk}-{payment.pk}",
            metadata={"booking_id": str(booking.pk), "booking_number": booking.booking_number,
                      "payment_id": str(payment.pk),
                      **({"change_quote_id": str(payment.change_quote_id)} if balance else {})},
            description=f"ToteTaxi booking {booking.booking_number}" + (" (balance after a change)" if balance
                                                                         else ""),
        )
    except StripeIntegrationError as exc:
        raise provider_error(exc) from exc


def _refuse_if_moved_on(payment: Payment) -> None:
    """Stripe says it was paid, or is being paid: that news is recorded (and committed); refuse a new intent."""
    if payment.status == PaymentStatus.SUCCEEDED:
        raise AlreadyPaid("This booking is already paid; the confirmation is on its way.")
    if payment.status == PaymentStatus.PROCESSING:
        raise PaymentInProgress("A payment for this booking is being processed; wait for it to finish.")


def _cancel_at_stripe(payment: Payment) -> PaymentIntent:
    """Cancel the payment's intent at Stripe (key naming our row, so a retry replays it) and return Stripe's
    view of it; one that moved on meanwhile (processing, succeeded) cannot be cancelled: its state is read."""
    gateway = stripe_gateway()
    try:
        try:
            return gateway.cancel_payment_intent(payment.stripe_payment_intent_id,
                                                 idempotency_key=f"tt-pi-cancel-{payment.pk}",
                                                 cancellation_reason="abandoned")
        except StripeRequestError:
            return gateway.retrieve_payment_intent(payment.stripe_payment_intent_id)
    except StripeIntegrationError as exc:
        raise provider_error(exc) from exc


def _cancel_superseded(payment: Payment, *, actor, now: dt.datetime) -> None:
    """The booking was re-priced: cancel the intent for the old amount at Stripe, then record what Stripe says."""
    if not payment.stripe_payment_intent_id:
        # Recorded, but Stripe's answer was lost: complete it (same key) so there is an id to cancel.
        payment = payment_apply_intent(payment=payment, pi=_ask_stripe(payment), actor=actor, now=now, created=True)
    payment = payment_apply_intent(payment=payment, pi=_cancel_at_stripe(payment), actor=actor, now=now)
    _refuse_if_moved_on(payment)
    if payment.status != PaymentStatus.CANCELED:
        raise PaymentProviderError("The payment provider would not cancel the previous payment.")
    payment_audit("intent_canceled", payment=payment, user=actor, reason="superseded_by_new_amount")


# --- the balance after a change that cost more --------------------------------------------------------------


def balance_payment_record_locked(*, booking: Booking, quote, actor) -> Payment:
    """Inside the change's transaction (booking row locked): record the Payment for the balance the change owes.

    Stripe is asked after the commit (balance_intent_for), with an idempotency key naming this row."""
    method = PaymentMethod.TEST_MODE if stripe_test_mode() else PaymentMethod.STRIPE
    step = _balance_step_locked(booking, (quote.pk, to_cents(quote.amount_due)), method=method, actor=actor)
    if step.payment is None:  # a change just made has no earlier balance intent to supersede
        raise PaymentInProgress("The balance of this change is already being asked for; please retry.")
    return step.payment


def _balance_step_locked(booking: Booking, owed: tuple, *, method: str, actor) -> _Step:
    """The live balance Payment of one change for what it still owes (one per change: a constraint), recorded
    if there is none; or, first, its live Stripe intents for another amount (money came in at the desk since),
    to cancel, as for a re-priced first payment."""
    quote_id, cents = owed
    live = list(Payment.objects.select_for_update().filter(
        change_quote_id=quote_id, status__in=_LIVE, method__in=_ONLINE).order_by("created_at"))
    superseded = [p for p in live if p.amount_cents != cents or p.method != method]
    at_stripe = _supersede_locked(superseded, actor=actor, what="this balance")
    if at_stripe:
        return _Step(superseded=at_stripe)
    payment = next((p for p in live if p not in superseded), None)
    if payment is not None:
        payment.booking = booking
        return _Step(payment=payment)
    payment = Payment(booking=booking, method=method, amount_cents=cents, currency=settings.STRIPE_CURRENCY,
                      change_quote_id=quote_id,
                      stripe_payment_intent_id=f"{TEST_MODE_PREFIX}{uuid.uuid4().hex}"
                      if method == PaymentMethod.TEST_MODE else None)
    set_actor(payment, actor)
    payment.save(force_insert=True)
    payment_audit("balance_intent_recorded", payment=payment, user=actor, amount_cents=cents,
                  change_quote_id=str(quote_id), test_mode=method == PaymentMethod.TEST_MODE)
    return _Step(payment=payment)


def balance_intent_for(*, payment: Payment, actor=None, now: dt.datetime | None = None) -> dict | None:
    """After the change's commit: the balance's PaymentIntent `{payment_intent_id, client_secret, amount_cents}`
    for what the change still owes (made at Stripe now if need be; the same one on every repeat; a new one when
    part was paid at the desk meanwhile), or None once it is paid or given up."""
    if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED) or payment.method not in (
            PaymentMethod.STRIPE, PaymentMethod.TEST_MODE):
        return None
    try:
        result = _intent_for(booking=payment.booking, actor=actor, now=now, quote_id=payment.change_quote_id)
    except AlreadyPaid:
        return None
    body = result.as_json()
    return {name: body[name] for name in ("payment_intent_id", "client_secret", "amount_cents")}


def _balance_intent_cancel(payment: Payment, *, actor, now: dt.datetime) -> Payment:
    """Cancel one live balance intent (at Stripe if it is there) and record the answer: one paid meanwhile is
    settled (and flagged if that pays the change twice)."""
    if payment.method == PaymentMethod.STRIPE and payment.stripe_payment_intent_id:
        return payment_apply_intent(payment=payment, pi=_cancel_at_stripe(payment), actor=actor, now=now)
    with transaction.atomic():  # test mode, or never sent to Stripe: nothing there to cancel
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status in _LIVE:
            model_update(instance=locked, fields=["status"], data={"status": PaymentStatus.CANCELED}, actor=actor)
    return locked


def balance_intents_cancel(*, booking_id, actor=None, now: dt.datetime | None = None) -> int:
    """After a cancellation's commit: its unpaid balance intents go, so the customer cannot pay for a cancelled
    move (Stripe's answer is recorded; one that was paid meanwhile is settled, and flagged for a refund)."""
    now = now or timezone.now()
    canceled = 0
    for payment in Payment.objects.filter(booking_id=booking_id, change_quote__isnull=False, status__in=_LIVE) \
            .select_related("booking"):
        payment = _balance_intent_cancel(payment, actor=actor, now=now)
        if payment.status == PaymentStatus.CANCELED:
            payment_audit("intent_canceled", payment=payment, user=actor, reason="booking_cancelled")
            canceled += 1
    return canceled


def balance_intents_cancel_stale(*, change_quote_id, actor=None, now: dt.datetime | None = None) -> int:
    """After money for a change was recorded at the desk (committed): its live balance intents for another
    amount than it still owes go, so the customer cannot pay the balance twice with the link they hold; the next
    create-intent makes one for what is still owed. Returns how many were cancelled."""
    now = now or timezone.now()
    canceled = 0
    for payment in _stale_balance_payments(Payment.objects.filter(change_quote_id=change_quote_id)):
        payment = _balance_intent_cancel(payment, actor=actor, now=now)
        if payment.status == PaymentStatus.CANCELED:
            payment_audit("intent_canceled", payment=payment, user=actor, reason="balance_paid_otherwise")
            canceled += 1
    return canceled


def _stale_balance_payments(payments, limit: int | None = None) -> list[Payment]:
    """The live balance intents (of bookings not cancelled) whose amount is not what their change still owes:
    the change was paid (in part) some other way since they were made. One being processed cannot be cancelled:
    it is left to succeed (and be flagged for a refund) or fail."""
    paid = (Payment.objects.filter(change_quote=OuterRef("change_quote"), status=PaymentStatus.SUCCEEDED)
            .values("change_quote").annotate(total=Sum("amount_cents")).values("total"))
    rows = (payments.filter(change_quote__isnull=False, status__in=(PaymentStatus.PENDING, PaymentStatus.FAILED),
                            method__in=_ONLINE)
            .exclude(booking__status=BookingStatus.CANCELLED)
            .annotate(paid=Coalesce(Subquery(paid), 0)).select_related("booking", "change_quote")
            .order_by("created_at"))
    stale = [p for p in rows.iterator() if p.amount_cents != to_cents(p.change_quote.amount_due) - p.paid]
    return stale[:limit] if limit is not None else stale


def balance_intents_sweep(*, limit: int = 100) -> int:
    """The sweep's half of `balance_intents_cancel` (and `balance_intents_cancel_stale`): a cancellation (or an
    offline balance payment) whose after-commit cancel of the balance intents never ran or failed (a killed worker,
    Stripe down) leaves them live; cancel them now. Returns how many were cancelled; a booking Stripe still
    refuses to answer for is left for the next run."""
    booking_ids = list(Payment.objects.filter(change_quote__isnull=False, status__in=_LIVE,
                                              booking__status=BookingStatus.CANCELLED)
                       .values_list("booking_id", flat=True).distinct()[:limit])
    canceled = 0
    for booking_id in booking_ids:
        try:
            canceled += balance_intents_cancel(booking_id=booking_id)
        except (PaymentProviderError, PaymentProviderUnavailable):
            continue
    # and, likewise, the after-commit cancel of an offline balance payment: intents for an amount no longer owed
    for quote_id in dict.fromkeys(p.change_quote_id for p in _stale_balance_payments(Payment.objects, limit)):
        try:
            canceled += balance_intents_cancel_stale(change_quote_id=quote_id)
        except (PaymentProviderError, PaymentProviderUnavailable):
            continue
    return canceled

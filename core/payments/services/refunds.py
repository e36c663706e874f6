"""Refunds (admin-only, never more than is left, one per double click) and their sync with Stripe."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from core.bookings.models import Booking
from core.common.audit import set_actor
from core.common.money import from_cents
from core.common.services import model_update
from core.integrations.stripe import Refund as StripeRefund
from core.integrations.stripe import (
    StripeIntegrationError,
    StripeRequestError,
    StripeUnavailable,
)
from core.payments.errors import (
    NotRefundable,
    PaymentValidationError,
    RefundFailed,
    RefundNotAllowed,
    RefundTooLarge,
)
from core.payments.models import (
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from core.payments.selectors import (
    HOLDING_REFUND_STATUSES,
    payment_committed_refund_cents,
    payment_refundable_cents,
)
from core.payments.services.common import (
    REFUND_DOUBLE_CLICK_WINDOW,
    STRIPE_REFUND_REASONS,
    booking_payment_state_sync,
    payment_audit,
    refund_status_from_stripe,
    require_staff,
    stripe_gateway,
)

logger = logging.getLogger(__name__)


def _refresh_refunded(payment: Payment, actor=None) -> None:
    """refunded_cents = pending + succeeded refunds (what Stripe's charge.amount_refunded counts)."""
    total = payment_committed_refund_cents(payment=payment)
    if total > payment.amount_cents:
        logger.error("refunds of payment %s exceed its amount (%s > %s)", payment.pk, total, payment.amount_cents)
        payment_audit("refunds_exceed_amount", payment=payment, refunds_cents=total)
        total = payment.amount_cents
    model_update(instance=payment, fields=["refunded_cents"], data={"refunded_cents": total}, actor=actor)


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
            amount_cents=amount_cents, reason=reason, processed_by=actor, status__in=HOLDING_REFUND_STATUSES,
            created_at__gte=now - REFUND_DOUBLE_CLICK_WINDOW).first()
        if duplicate is not None:
            return duplicate
        refund = refund_record_locked(payment=locked, amount_cents=amount_cents, reason=reason, notes=notes,
                                      actor=actor, request_ip=request_ip)
    return refund_submit(refund=refund, actor=actor, request_ip=request_ip, raise_on_refusal=True)


def refund_record_locked(*, payment: Payment, amount_cents: int, reason: str, notes: str, actor,
                         request_ip: str | None = None) -> Refund:
    """Record a pending refund of a succeeded payment (never more than is left); send it with refund_submit.

    The caller holds the Booking and Payment row locks in its transaction and decides who may refund: an
    admin (refund_issue) or the change policy (a customer's cancellation, core.bookings.changes).
    """
    available = payment_refundable_cents(payment=payment)
    if amount_cents > available:
        raise RefundTooLarge(
            f"At most ${from_cents(max(available, 0))} can still be refunded on this payment.",
            fields={"amount_cents": [f"At most {max(available, 0)}."]})
    refund = Refund(payment=payment, amount_cents=amount_cents, reason=reason, notes=notes or "",
                    processed_by=actor, status=RefundStatus.PENDING)
    set_actor(refund, actor)
    refund.save(force_insert=True)
    payment_audit("refund_requested", payment=payment, user=actor, ip=request_ip, refund_id=refund.pk,
                  amount_cents=amount_cents, reason=reason, notes=notes or "")
    _refresh_refunded(payment, actor)
    booking_payment_state_sync(payment.booking, actor)
    return refund


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
        payment_audit("refund_deferred", payment=payment, user=actor, ip=request_ip, refund_id=refund.pk)
        return refund
    except StripeRequestError as exc:
        refund = _refund_finish(refund, status=RefundStatus.FAILED, stripe_id=None, failure=exc.message[:2000],
                                actor=actor, ip=request_ip)
        if raise_on_refusal:
            raise RefundFailed(f"Stripe refused the refund: {exc.message}") from exc
        return refund
    return _refund_finish(refund, status=refund_status_from_stripe(result.status),
                          stripe_id=result.id, failure=result.failure_reason or "", actor=actor, ip=request_ip)


def _refund_finish(refund: Refund, *, status: str, stripe_id: str | None, failure: str, actor, ip) -> Refund:
    with transaction.atomic():
        Booking.objects.select_for_update().filter(pk=refund.payment.booking_id).first()
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        data = {"stripe_refund_id": stripe_id} if stripe_id else {}
        if locked.status != status:
            data.update(status=status, failure_reason=failure, processed_at=timezone.now())
        if data and model_update(instance=locked, fields=list(data), data=data, actor=actor):
            payment_audit(f"refund_{status}", payment=payment, user=actor, ip=ip, refund_id=locked.pk,
                          stripe_refund_id=stripe_id or "", amount_cents=locked.amount_cents, failure=failure)
        _refresh_refunded(payment, actor)
        booking_payment_state_sync(payment.booking, actor)
    return locked


def refund_sync_from_stripe(*, stripe_refund: StripeRefund, actor=None) -> Refund | None:
    """Apply a fresh Stripe refund to our records (ours, or one made in Stripe's dashboard)."""
    if not stripe_refund.payment_intent:
        return None
    payment = Payment.objects.filter(stripe_payment_intent_id=stripe_refund.payment_intent).first()
    if payment is None:
        return None
    status = refund_status_from_stripe(stripe_refund.status)
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
            payment_audit("refund_external_recorded", payment=payment, user=actor, stripe_refund_id=stripe_refund.id,
                          amount_cents=stripe_refund.amount, status=status)
        else:
            previous = refund.status
            data = {"stripe_refund_id": stripe_refund.id}
            if previous != status:
                data.update(status=status, failure_reason=stripe_refund.failure_reason or "",
                            processed_at=timezone.now())
            model_update(instance=refund, fields=list(data), data=data, actor=actor)
            if previous != status:
                payment_audit(f"refund_{status}", payment=payment, user=actor, refund_id=refund.pk,
                              stripe_refund_id=stripe_refund.id, previous=previous,
                              failure=stripe_refund.failure_reason or "")
        _refresh_refunded(payment, actor)
        booking_payment_state_sync(payment.booking, actor)
    return refund


def payment_sync_refunds(*, payment: Payment, actor=None) -> list[Refund]:
    """Re-read every refund of the payment's intent from Stripe (after charge.refunded)."""
    if payment.method != PaymentMethod.STRIPE:
        return []
    refunds = list(stripe_gateway().list_refunds_for_payment_intent(payment.stripe_payment_intent_id))
    return [r for r in (refund_sync_from_stripe(stripe_refund=sr, actor=actor) for sr in refunds) if r]


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
    require_staff(actor, "Only staff can resolve reconciliation differences.")
    if mismatch.resolved:
        return
    model_update(instance=mismatch, fields=["resolved", "resolved_by"], data={"resolved": True, "resolved_by": actor})
    payment_audit("reconciliation_resolved", payment=mismatch.payment, user=actor, kind=mismatch.kind,
                  stripe_object_id=mismatch.stripe_object_id, run_date=mismatch.run_date.isoformat(), note=note)

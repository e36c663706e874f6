"""Daily reconciliation: Stripe's intents and refunds for one New York day against ours.

Differences become ReconciliationMismatch rows (one per run date, kind and object: re-running the same day
updates them instead of adding more) that finance works through in the console.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.integrations.stripe import StripeIntegrationError, StripeRequestError
from core.payments.models import (
    Payment,
    PaymentMethod,
    PaymentStatus,
    ReconciliationMismatch,
    Refund,
)
from core.payments.services import (
    payment_record_fee,
    payment_status_from_intent,
    refund_status_from_stripe,
    stripe_gateway,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconciliationResult:
    run_date: dt.date
    stripe_intents: int
    stripe_refunds: int
    mismatches: int


def _day_bounds(run_date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(run_date, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(run_date + dt.timedelta(days=1), dt.time.min))


def _intent_problems(pi, payment: Payment) -> list[tuple[str, dict]]:
    problems = []
    if pi.amount != payment.amount_cents:
        problems.append(("payment_amount_mismatch", {"stripe_cents": pi.amount, "ours_cents": payment.amount_cents}))
    theirs = payment_status_from_intent(pi)
    final = (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED)
    if theirs != payment.status and (theirs in final or payment.status in final):
        problems.append(("payment_status_mismatch", {"stripe_status": pi.status, "ours": payment.status}))
    return problems


def reconciliation_run(*, run_date: dt.date) -> ReconciliationResult:
    """Compare one day; returns the counts (mismatches = rows written or refreshed by this run)."""
    if not settings.STRIPE_SECRET_KEY:  # local test mode: nothing at Stripe to compare with
        return ReconciliationResult(run_date, 0, 0, 0)
    gateway = stripe_gateway()
    start, end = _day_bounds(run_date)
    found: list[tuple[str, str, Payment | None, dict]] = []

    intents = {pi.id: pi for pi in gateway.list_payment_intents(int(start.timestamp()), int(end.timestamp()))}
    payments: dict[str, Payment] = {}
    for p in Payment.objects.filter(method=PaymentMethod.STRIPE).filter(
            Q(created_at__gte=start, created_at__lt=end) | Q(stripe_payment_intent_id__in=list(intents))):
        if p.stripe_payment_intent_id:
            payments[p.stripe_payment_intent_id] = p
        else:  # recorded before its create call, whose answer never came (the customer's retry completes it)
            found.append(("payment_not_submitted", f"payment:{p.pk}", p,
                          {"status": p.status, "amount_cents": p.amount_cents}))
    for pi in intents.values():
        payment = payments.get(pi.id)
        if payment is None:
            found.append(("payment_missing_locally", pi.id, None,
                          {"stripe_status": pi.status, "amount_cents": pi.amount,
                           "booking_id": pi.metadata.get("booking_id", "")}))
            continue
        found += [(kind, pi.id, payment, details) for kind, details in _intent_problems(pi, payment)]
    for pi_id, payment in payments.items():
        if pi_id in intents:
            continue
        try:  # created near midnight, Stripe may date it the other side: ask for it by id
            pi = gateway.retrieve_payment_intent(pi_id)
        except StripeRequestError as exc:
            if exc.is_not_found:
                found.append(("payment_missing_at_stripe", pi_id, payment,
                              {"ours": payment.status, "amount_cents": payment.amount_cents}))
                continue
            raise
        found += [(kind, pi.id, payment, details) for kind, details in _intent_problems(pi, payment)]

    stripe_refunds = {r.id: r for r in gateway.list_refunds(int(start.timestamp()), int(end.timestamp()))}
    refunds = Refund.objects.filter(payment__method=PaymentMethod.STRIPE).select_related("payment").filter(
        Q(created_at__gte=start, created_at__lt=end) | Q(stripe_refund_id__in=list(stripe_refunds)))
    ours_by_id = {r.stripe_refund_id: r for r in refunds if r.stripe_refund_id}
    for sr in stripe_refunds.values():
        refund = ours_by_id.get(sr.id)
        if refund is None:
            payment = Payment.objects.filter(stripe_payment_intent_id=sr.payment_intent).first()
            found.append(("refund_missing_locally", sr.id, payment,
                          {"stripe_status": sr.status, "amount_cents": sr.amount,
                           "payment_intent": sr.payment_intent or ""}))
            continue
        if sr.amount != refund.amount_cents:
            found.append(("refund_amount_mismatch", sr.id, refund.payment,
                          {"stripe_cents": sr.amount, "ours_cents": refund.amount_cents}))
        if refund_status_from_stripe(sr.status) != refund.status:
            found.append(("refund_status_mismatch", sr.id, refund.payment,
                          {"stripe_status": sr.status, "ours": refund.status}))
    for refund in refunds:
        if not refund.stripe_refund_id:
            found.append(("refund_not_submitted", f"refund:{refund.pk}", refund.payment,
                          {"status": refund.status, "amount_cents": refund.amount_cents}))
        elif refund.stripe_refund_id not in stripe_refunds:
            try:
                gateway.retrieve_refund(refund.stripe_refund_id)
            except StripeRequestError as exc:
                if not exc.is_not_found:
                    raise
                found.append(("refund_missing_at_stripe", refund.stripe_refund_id, refund.payment,
                              {"ours": refund.status, "amount_cents": refund.amount_cents}))

    for payment in Payment.objects.filter(method=PaymentMethod.STRIPE, status=PaymentStatus.SUCCEEDED,
                                          stripe_fee_cents__isnull=True, succeeded_at__gte=start,
                                          succeeded_at__lt=end).exclude(stripe_charge_id=""):
        try:
            payment_record_fee(payment=payment)
        except StripeIntegrationError:
            logger.warning("fee of %s unknown for now", payment.stripe_charge_id)

    for kind, object_id, payment, details in found:
        ReconciliationMismatch.objects.update_or_create(
            run_date=run_date, kind=kind, stripe_object_id=object_id,
            defaults={"payment": payment, "details": details},
        )
    if found:
        logger.warning("reconciliation %s: %d mismatches", run_date, len(found))
    return ReconciliationResult(run_date, len(intents), len(stripe_refunds), len(found))

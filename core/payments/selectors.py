"""Reads of payments that interfaces show (console, API): joins decided here, so nobody grows N+1 queries."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from core.payments.models import (
    Payment,
    PaymentStatus,
    ReconciliationMismatch,
    Refund,
    RefundStatus,
)


def payment_list_for_booking(*, booking) -> QuerySet[Payment]:
    """A booking's payments, newest first, each with its refunds (2 queries)."""
    return (Payment.objects.filter(booking=booking).select_related("recorded_by")
            .prefetch_related(Prefetch("refunds", queryset=Refund.objects.select_related("processed_by")))
            .order_by("-created_at", "-pk"))


# Refunds that count against a payment: pending ones too, so two refunds in flight can't exceed the charge.
HOLDING_REFUND_STATUSES = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)


def payment_committed_refund_cents(*, payment: Payment) -> int:
    """Pending + succeeded refunds (what Stripe's charge.amount_refunded counts); uses prefetched refunds."""
    return sum(r.amount_cents for r in payment.refunds.all() if r.status in HOLDING_REFUND_STATUSES)


def payment_refundable_cents(*, payment: Payment) -> int:
    """What an admin may still refund: captured minus committed refunds (the one rule refund_issue enforces)."""
    if payment.status != PaymentStatus.SUCCEEDED:
        return 0
    return max(payment.amount_cents - payment_committed_refund_cents(payment=payment), 0)


def booking_balances_owed(booking) -> list[tuple[object, int]]:
    """The changes whose balance is still unpaid, oldest first, as (change quote id, cents owed) (one query).

    A change that cost more (a dearer date, a change fee) is owed until a payment for it succeeds: its own
    balance PaymentIntent, or money staff recorded offline against it."""
    from core.bookings.change_models import ChangeQuote
    from core.common.money import to_cents

    rows = (ChangeQuote.objects.filter(booking=booking, used_at__isnull=False, amount_due__gt=0)
            .annotate(paid=Coalesce(Sum("balance_payments__amount_cents",
                                        filter=Q(balance_payments__status=PaymentStatus.SUCCEEDED)), 0))
            .order_by("used_at").values_list("pk", "amount_due", "paid"))
    return [(pk, to_cents(due) - paid) for pk, due, paid in rows if to_cents(due) > paid]


def reconciliation_mismatch_list(*, resolved: bool | None = False) -> QuerySet[ReconciliationMismatch]:
    """Finance's work list: newest run first; `resolved=None` lists everything."""
    qs = ReconciliationMismatch.objects.select_related("payment", "payment__booking", "resolved_by")
    if resolved is not None:
        qs = qs.filter(resolved=resolved)
    return qs.order_by("-run_date", "kind", "stripe_object_id")

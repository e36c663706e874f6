"""Reads of payments that interfaces show (console, API): joins decided here, so nobody grows N+1 queries."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet, Sum

from core.payments.models import (
    Payment,
    PaymentAudit,
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


def payment_refundable_cents(*, payment: Payment) -> int:
    """What an admin may still refund: captured minus refunds pending or succeeded (refund_issue's own limit)."""
    if payment.status != PaymentStatus.SUCCEEDED:
        return 0
    committed = payment.refunds.filter(status__in=[RefundStatus.PENDING, RefundStatus.SUCCEEDED]) \
        .aggregate(s=Sum("amount_cents"))["s"] or 0
    return max(payment.amount_cents - int(committed), 0)


def payment_audit_for_booking(*, booking) -> QuerySet[PaymentAudit]:
    return PaymentAudit.objects.filter(booking=booking).select_related("user", "payment").order_by("-created_at")


def reconciliation_mismatch_list(*, resolved: bool | None = False) -> QuerySet[ReconciliationMismatch]:
    """Finance's work list: newest run first; `resolved=None` lists everything."""
    qs = ReconciliationMismatch.objects.select_related("payment", "payment__booking", "resolved_by")
    if resolved is not None:
        qs = qs.filter(resolved=resolved)
    return qs.order_by("-run_date", "kind", "stripe_object_id")

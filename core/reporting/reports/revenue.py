"""The revenue report: gross, refunds, net, Stripe fees, net of fees and disputes, on a cash or service basis.

Cash basis: a payment counts when it succeeded, a refund when it was processed, a dispute when it was opened,
each in its own New York period (so a refund in a later month lowers that month, not the payment's).
Service basis: the money of completed bookings, counted in the period of their pickup date.
Three grouped queries (payments, refunds, disputes), whatever the data size.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F, IntegerField, Q, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from core.bookings.models import BookingStatus
from core.common.errors import ValidationError
from core.payments.models import Payment, PaymentAudit, PaymentMethod, PaymentStatus, Refund, RefundStatus
from core.reporting.reports.base import (
    Column,
    Grouping,
    ReportResult,
    Section,
    check_range,
    constant_period,
    count_rows,
    datetime_range,
    merge_rows,
    money,
    period_of,
    periods,
    report_db,
)


class Basis:
    CASH, SERVICE = "cash", "service"
    CHOICES = [(CASH, "Cash (payment and refund dates)"), (SERVICE, "Service (pickup date, completed bookings)")]
    VALUES = [CASH, SERVICE]


# dimension -> (label, path from the booking)
DIMENSIONS = {
    "service_type": ("Service type", "booking_type"),
    "package": ("Package", "package__code"),
}
MEASURES = ("gross", "refunds", "fees", "disputed", "payments", "refund_count", "disputes", "fees_unknown")
COLUMNS = [
    Column("gross", "Gross charged", "money"),
    Column("refunds", "Refunds", "money"),
    Column("net", "Net", "money"),
    Column("fees", "Stripe fees", "money"),
    Column("net_of_fees", "Net of fees", "money"),
    Column("disputed", "Disputed (opened)", "money"),
    Column("payments", "Payments"),
    Column("refund_count", "Refunds (count)"),
    Column("disputes", "Disputes"),
    Column("fees_unknown", "Stripe payments without a fee"),
]
NOTES = [
    "Stripe fees come from each payment's balance transaction (stripe_fee_cents); Stripe payments whose fee "
    "has not been fetched yet are counted in \"Stripe payments without a fee\" and add nothing to the fees.",
    "Disputes: we record when a dispute is opened and its amount (charge.dispute.created); its outcome is not "
    "recorded, so disputes lost cannot be reported. The disputed amount is shown and is not subtracted from net.",
]


def _booking_filters(prefix: str, *, service_type: str | None, payment_method: str | None,
                     method_path: str) -> Q:
    q = Q()
    if service_type:
        q &= Q(**{f"{prefix}booking_type": service_type})
    if payment_method:
        q &= Q(**{method_path: payment_method})
    return q


def revenue_figures(*, start: dt.date, end: dt.date, basis: str = Basis.CASH, grouping: str = Grouping.MONTH,
                    dimension: str | None = None, service_type: str | None = None,
                    payment_method: str | None = None) -> list[dict]:
    """Rows of cents per period (and dimension value), oldest first; every period of the range has a row."""
    check_range(start=start, end=end, grouping=grouping)
    if basis not in Basis.VALUES:
        raise ValidationError("Unknown basis.", fields={"basis": [f"Choose one of {', '.join(Basis.VALUES)}."]})
    if dimension and dimension not in DIMENSIONS:
        raise ValidationError("Unknown dimension.", fields={"dimension": [f"Choose one of {', '.join(DIMENSIONS)}."]})
    if payment_method and payment_method not in PaymentMethod.values:
        raise ValidationError("Unknown payment method.", fields={"payment_method": [payment_method]})
    db = report_db()
    lo, hi = datetime_range(start, end)
    # (queryset, path to the booking, the row's date expression, is it a datetime) per source
    if basis == Basis.CASH:
        payments = Payment.objects.filter(status=PaymentStatus.SUCCEEDED, succeeded_at__gte=lo, succeeded_at__lt=hi)
        refunds = (Refund.objects.annotate(refunded_at=Coalesce("processed_at", "created_at"))
                   .filter(status=RefundStatus.SUCCEEDED, refunded_at__gte=lo, refunded_at__lt=hi))
        disputes = PaymentAudit.objects.filter(action="dispute_created", created_at__gte=lo, created_at__lt=hi)
        dates = ("succeeded_at", "refunded_at", "created_at")
        is_datetime = True
    else:
        served = {"status": BookingStatus.COMPLETED, "pickup_date__gte": start, "pickup_date__lte": end}
        payments = Payment.objects.filter(status=PaymentStatus.SUCCEEDED,
                                          **{f"booking__{k}": v for k, v in served.items()})
        refunds = Refund.objects.filter(status=RefundStatus.SUCCEEDED,
                                        **{f"payment__booking__{k}": v for k, v in served.items()})
        disputes = PaymentAudit.objects.filter(action="dispute_created",
                                               **{f"payment__booking__{k}": v for k, v in served.items()})
        dates = ("booking__pickup_date", "payment__booking__pickup_date", "payment__booking__pickup_date")
        is_datetime = False
    flt = {"service_type": service_type, "payment_method": payment_method}
    payments = payments.filter(_booking_filters("booking__", method_path="method", **flt))
    refunds = refunds.filter(_booking_filters("payment__booking__", method_path="payment__method", **flt))
    disputes = disputes.filter(_booking_filters("payment__booking__", method_path="payment__method", **flt))
    dim_path = DIMENSIONS[dimension][1] if dimension else None
    stripe_without_fee = Q(method=PaymentMethod.STRIPE, stripe_fee_cents__isnull=True)
    sources = [
        (payments, "booking__", dates[0],
         {"gross": Sum("amount_cents"), "fees": Sum("stripe_fee_cents"), "payments": count_rows(),
          "fees_unknown": count_rows(filter=stripe_without_fee)}),
        (refunds, "payment__booking__", dates[1], {"refunds": Sum("amount_cents"), "refund_count": count_rows()}),
        (disputes.annotate(disputed_cents=Cast(KeyTextTransform("amount_cents", "details"), IntegerField())),
         "payment__booking__", dates[2], {"disputed": Sum("disputed_cents"), "disputes": count_rows()}),
    ]
    results = []
    for queryset, prefix, date_expr, aggregates in sources:
        keys = {}
        period = period_of(date_expr, grouping, is_datetime=is_datetime)
        keys["period"] = period if period is not None else constant_period()
        if dim_path:
            keys["dim"] = F(f"{prefix}{dim_path}")
        rows = queryset.using(db).annotate(**keys).values(*keys).annotate(**aggregates).order_by()
        results.append((rows, ("period", "dim") if dim_path else ("period",)))
    key_names = ("period", "dim") if dim_path else ("period",)
    required = [] if dim_path else [(p,) for p in periods(start, end, grouping)]
    merged = merge_rows(required, results, key_names, MEASURES)
    rows = [_with_derived(r) for r in merged.values()]
    rows.sort(key=lambda r: (r["period"] or dt.date.min, str(r.get("dim") or "")))
    return rows


def _with_derived(row: dict) -> dict:
    row["net"] = row["gross"] - row["refunds"]
    row["net_of_fees"] = row["net"] - row["fees"]
    return row


def totals_of(rows: list[dict]) -> dict:
    totals = {m: sum(r[m] for r in rows) for m in MEASURES}
    return _with_derived(totals)


def revenue_report(*, start: dt.date, end: dt.date, basis: str = Basis.CASH, grouping: str = Grouping.MONTH,
                   dimension: str | None = None, service_type: str | None = None,
                   payment_method: str | None = None) -> ReportResult:
    """The revenue report as a ReportResult (money in dollars), with summary cards."""
    rows = revenue_figures(start=start, end=end, basis=basis, grouping=grouping, dimension=dimension,
                           service_type=service_type, payment_method=payment_method)
    totals = totals_of(rows)
    columns = [Column("period", "Period", "date")]
    if dimension:
        columns.append(Column("dim", DIMENSIONS[dimension][0], "text"))
    columns += COLUMNS
    money_keys = {c.key for c in COLUMNS if c.kind == "money"}

    def dollars(row):
        return {k: money(v) if k in money_keys else v for k, v in row.items()}

    shown = [dollars(r) for r in rows]
    shown_totals = dollars(totals)
    summary = {"Gross charged": shown_totals["gross"], "Refunds": shown_totals["refunds"],
               "Net": shown_totals["net"], "Stripe fees": shown_totals["fees"],
               "Net of fees": shown_totals["net_of_fees"], "Disputed": shown_totals["disputed"]}
    params = {"start": start, "end": end, "basis": basis, "grouping": grouping, "dimension": dimension,
              "service_type": service_type, "payment_method": payment_method}
    return ReportResult("revenue", f"Revenue ({basis} basis)", params,
                        [Section("revenue", "Revenue", columns, shown, shown_totals)], summary, list(NOTES))

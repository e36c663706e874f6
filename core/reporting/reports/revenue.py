"""The revenue report: gross, refunds, net, Stripe fees, net of fees, disputes opened and lost, dispute fees, on
a cash or service basis, and the share of specialty items.

Cash basis: a payment counts when it succeeded, a refund when it was processed, a dispute when it was opened and,
if lost, when Stripe closed it, each in its own New York period (so a refund in a later month lowers that month,
not the payment's). Service basis: the money of completed bookings, counted in the period of their pickup date.
Six grouped queries (payments, refunds, disputes opened, disputes lost, dispute fees taken and returned), whatever
the data size; the specialty item section adds two (payments and refunds joined to the booking's item lines).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Cast, Coalesce, Round

from core.bookings.models import BookingStatus
from core.common.errors import ValidationError
from core.payments.models import (
    Dispute,
    DisputeOutcome,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
)
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
MEASURES = ("gross", "refunds", "fees", "disputed", "disputes_lost", "dispute_fees_taken", "dispute_fees_returned",
            "payments", "refund_count", "disputes", "lost_count", "fees_unknown")
COLUMNS = [
    Column("gross", "Gross charged", "money"),
    Column("refunds", "Refunds", "money"),
    Column("net", "Net", "money"),
    Column("fees", "Stripe fees", "money"),
    Column("net_of_fees", "Net of fees", "money"),
    Column("disputes_lost", "Disputes lost", "money"),
    Column("dispute_fees", "Dispute fees", "money"),
    Column("net_after_disputes", "Net after disputes", "money"),
    Column("disputed", "Disputed (opened)", "money"),
    Column("payments", "Payments"),
    Column("refund_count", "Refunds (count)"),
    Column("disputes", "Disputes opened"),
    Column("lost_count", "Disputes lost (count)"),
    Column("fees_unknown", "Stripe payments without a fee"),
]
NOTES = [
    "Stripe fees come from each payment's balance transaction (stripe_fee_cents); Stripe payments whose fee "
    "has not been fetched yet are counted in \"Stripe payments without a fee\" and add nothing to the fees.",
    "Disputes lost: the disputed amount of disputes Stripe closed as lost (charge.dispute.closed), counted on the "
    "cash basis on the day Stripe closed them and on the service basis by the booking's pickup date. Dispute "
    "fees: Stripe's fee from each dispute's balance transactions, counted on the cash basis when Stripe took it "
    "(with the funds withdrawn) less any it gave back (with the funds reinstated), on the service basis by the "
    "booking's pickup date. Net after disputes = net of fees − disputes lost − dispute fees. Disputes opened "
    "are shown for information and subtract nothing.",
]
ITEM_COLUMNS = [
    Column("item", "Specialty item", "text"),
    Column("bookings", "Bookings"),
    Column("gross", "Gross charged (share)", "money"),
    Column("refunds", "Refunds (share)", "money"),
    Column("net", "Net (share)", "money"),
]
OTHER_LABEL = "Not specialty items (base price, surcharges, COI fee)"
ITEM_NOTE = (
    "Specialty items: each payment and refund is shared among the booking's specialty item lines in proportion "
    "to the line's price (quantity × unit price ÷ the booking's total, rounded down to the cent); what is left "
    "is the base price, surcharges and COI fee, so the rows add up to the report's totals.")


def _booking_filters(prefix: str, *, service_type: str | None, payment_method: str | None,
                     method_path: str) -> Q:
    q = Q()
    if service_type:
        q &= Q(**{f"{prefix}booking_type": service_type})
    if payment_method:
        q &= Q(**{method_path: payment_method})
    return q


def revenue_querysets(*, start: dt.date, end: dt.date, basis: str, service_type: str | None,
               payment_method: str | None) -> dict:
    """The filtered rows each figure sums (the month close uses the same cash-basis filters) and their dates."""
    if basis == Basis.CASH:
        lo, hi = datetime_range(start, end)
        payments = Payment.objects.filter(status=PaymentStatus.SUCCEEDED, succeeded_at__gte=lo, succeeded_at__lt=hi)
        refunds = (Refund.objects.annotate(refunded_at=Coalesce("processed_at", "created_at"))
                   .filter(status=RefundStatus.SUCCEEDED, refunded_at__gte=lo, refunded_at__lt=hi))
        opened = Dispute.objects.filter(opened_at__gte=lo, opened_at__lt=hi)
        lost = Dispute.objects.filter(outcome=DisputeOutcome.LOST, closed_at__gte=lo, closed_at__lt=hi)
        fee_taken = Dispute.objects.filter(fee_cents__gt=0, fee_at__gte=lo, fee_at__lt=hi)
        fee_returned = Dispute.objects.filter(fee_returned_cents__gt=0, fee_returned_at__gte=lo, fee_returned_at__lt=hi)
        dates = {"payments": "succeeded_at", "refunds": "refunded_at", "opened": "opened_at", "lost": "closed_at",
                 "fee_taken": "fee_at", "fee_returned": "fee_returned_at"}
    else:
        served = {"status": BookingStatus.COMPLETED, "pickup_date__gte": start, "pickup_date__lte": end}
        via_payment = {f"payment__booking__{k}": v for k, v in served.items()}
        payments = Payment.objects.filter(status=PaymentStatus.SUCCEEDED,
                                          **{f"booking__{k}": v for k, v in served.items()})
        refunds = Refund.objects.filter(status=RefundStatus.SUCCEEDED, **via_payment)
        opened = Dispute.objects.filter(**via_payment)
        lost = Dispute.objects.filter(outcome=DisputeOutcome.LOST, **via_payment)
        fee_taken = Dispute.objects.filter(fee_cents__gt=0, **via_payment)
        fee_returned = Dispute.objects.filter(fee_returned_cents__gt=0, **via_payment)
        pickup = "payment__booking__pickup_date"
        dates = {"payments": "booking__pickup_date", "refunds": pickup, "opened": pickup, "lost": pickup,
                 "fee_taken": pickup, "fee_returned": pickup}
    flt = {"service_type": service_type, "payment_method": payment_method}
    via = _booking_filters("payment__booking__", method_path="payment__method", **flt)
    return {"payments": payments.filter(_booking_filters("booking__", method_path="method", **flt)),
            "refunds": refunds.filter(via), "opened": opened.filter(via), "lost": lost.filter(via),
            "fee_taken": fee_taken.filter(via), "fee_returned": fee_returned.filter(via), "dates": dates}


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
    dim_path = DIMENSIONS[dimension][1] if dimension else None
    stripe_without_fee = Q(method=PaymentMethod.STRIPE, stripe_fee_cents__isnull=True)
    q = revenue_querysets(start=start, end=end, basis=basis, service_type=service_type, payment_method=payment_method)
    sources = [
        (q["payments"], "booking__", q["dates"]["payments"],
         {"gross": Sum("amount_cents"), "fees": Sum("stripe_fee_cents"), "payments": count_rows(),
          "fees_unknown": count_rows(filter=stripe_without_fee)}),
        (q["refunds"], "payment__booking__", q["dates"]["refunds"],
         {"refunds": Sum("amount_cents"), "refund_count": count_rows()}),
        (q["opened"], "payment__booking__", q["dates"]["opened"],
         {"disputed": Sum("amount_cents"), "disputes": count_rows()}),
        (q["lost"], "payment__booking__", q["dates"]["lost"],
         {"disputes_lost": Sum("amount_cents"), "lost_count": count_rows()}),
        (q["fee_taken"], "payment__booking__", q["dates"]["fee_taken"], {"dispute_fees_taken": Sum("fee_cents")}),
        (q["fee_returned"], "payment__booking__", q["dates"]["fee_returned"],
         {"dispute_fees_returned": Sum("fee_returned_cents")}),
    ]
    is_datetime = basis == Basis.CASH
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
    row["dispute_fees"] = row["dispute_fees_taken"] - row["dispute_fees_returned"]
    row["net_after_disputes"] = row["net_of_fees"] - row["disputes_lost"] - row["dispute_fees"]
    return row


def totals_of(rows: list[dict]) -> dict:
    totals = {m: sum(r[m] for r in rows) for m in MEASURES}
    return _with_derived(totals)


def _cents(expression) -> Cast:
    return Cast(Round(expression * 100), BigIntegerField())


def specialty_item_figures(*, start: dt.date, end: dt.date, basis: str = Basis.CASH,
                           service_type: str | None = None, payment_method: str | None = None) -> list[dict]:
    """Cents per specialty item over the whole range: each payment's and refund's share of the item lines.

    Two grouped queries (payments and refunds joined to the booking's lines). A line's share of an amount is
    amount × quantity × unit price ÷ the booking's total, rounded down to the cent, in integer SQL arithmetic.
    """
    q = revenue_querysets(start=start, end=end, basis=basis, service_type=service_type, payment_method=payment_method)
    db = report_db()
    results = []
    for queryset, booking, measure in ((q["payments"], "booking__", "gross"),
                                       (q["refunds"], "payment__booking__", "refunds")):
        line = f"{booking}specialty_lines__"
        share = ExpressionWrapper(
            F("amount_cents") * F(f"{line}quantity") * _cents(F(f"{line}unit_price"))
            / _cents(F(f"{booking}total_price")), output_field=BigIntegerField())
        rows = (queryset.using(db).filter(**{f"{booking}total_price__gt": 0, f"{line}isnull": False})
                .annotate(item=F(f"{line}item__name")).values("item")
                .annotate(**{measure: Sum(share), f"{measure}_bookings": Count(f"{booking}id", distinct=True)})
                .order_by())
        results.append((rows, ("item",)))
    merged = merge_rows([], results, ("item",), ("gross", "refunds", "gross_bookings", "refunds_bookings"))
    rows = []
    for r in sorted(merged.values(), key=lambda r: str(r["item"])):
        # "bookings" counts bookings whose payment falls in the range (refund-only bookings when none does)
        rows.append({"item": r["item"], "bookings": r["gross_bookings"] or r["refunds_bookings"],
                     "gross": r["gross"], "refunds": r["refunds"], "net": r["gross"] - r["refunds"]})
    return rows


def with_other_row(items: list[dict], totals: dict) -> list[dict]:
    """The item rows plus what is not a specialty item (the report's totals minus the items' shares)."""
    other = {"item": OTHER_LABEL, "bookings": None}
    for m in ("gross", "refunds"):
        other[m] = totals[m] - sum(r[m] for r in items)
    other["net"] = other["gross"] - other["refunds"]
    return [*items, other]


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
               "Net of fees": shown_totals["net_of_fees"], "Disputes lost": shown_totals["disputes_lost"],
               "Dispute fees": shown_totals["dispute_fees"], "Net after disputes": shown_totals["net_after_disputes"]}
    items = with_other_row(specialty_item_figures(start=start, end=end, basis=basis, service_type=service_type,
                                                  payment_method=payment_method), totals)
    item_money = ("gross", "refunds", "net")
    shown_items = [{k: money(v) if k in item_money else v for k, v in r.items()} for r in items]
    item_totals = {"item": None, "bookings": None, **{m: shown_totals[m] for m in item_money}}
    params = {"start": start, "end": end, "basis": basis, "grouping": grouping, "dimension": dimension,
              "service_type": service_type, "payment_method": payment_method}
    return ReportResult("revenue", f"Revenue ({basis} basis)", params,
                        [Section("revenue", "Revenue", columns, shown, shown_totals),
                         Section("specialty_items", "By specialty item (whole range)", ITEM_COLUMNS, shown_items,
                                 item_totals)], summary, [*NOTES, ITEM_NOTE])

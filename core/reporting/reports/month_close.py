"""The month-close ledger: every payment, refund, Stripe fee and dispute of a New York month, one row each.

It is one UNION ALL query ordered by time, so the console can stream it at any size; its totals per type equal
the cash-basis revenue report for the month (the same filters, see revenue.py), which a test holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from django.db.models import CharField, DateTimeField, F, IntegerField, Sum, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from core.payments.models import Payment, PaymentAudit, PaymentStatus, Refund, RefundStatus
from core.reporting.reports.base import datetime_range, report_db, tz

KINDS = ("payment", "refund", "fee", "dispute")
COLUMNS = ("at", "kind", "booking_number", "customer_name", "customer_email", "service_type", "method",
          "payment_intent", "charge_id", "object_id", "amount_cents", "currency")
# Annotation names may not shadow model fields (Payment.method, Refund.amount_cents …), hence the prefix.
FIELDS = tuple(f"mc_{c}" for c in COLUMNS)
HEADERS = ["Date (New York)", "Type", "Booking", "Customer", "Customer email", "Service type", "Method",
           "Stripe payment intent", "Stripe charge", "Stripe refund / dispute", "Amount", "Currency"]


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    first = dt.date(year, month, 1)
    return first, (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def _text(value: str) -> Value:
    return Value(value, output_field=CharField())


def _columns(prefix: str, *, at, kind: str, object_id, amount) -> dict:
    """The ledger's columns, in FIELDS order, for rows reached from `prefix` (the path to the payment)."""
    p = prefix
    columns = {
        "at": Cast(at, DateTimeField()),
        "kind": _text(kind),
        "booking_number": F(f"{p}booking__booking_number"),
        "customer_name": F(f"{p}booking__customer__name"),
        "customer_email": F(f"{p}booking__customer__email"),
        "service_type": F(f"{p}booking__booking_type"),
        "method": F(f"{p}method"),
        "payment_intent": Coalesce(F(f"{p}stripe_payment_intent_id"), _text(""), output_field=CharField()),
        "charge_id": F(f"{p}stripe_charge_id"),
        "object_id": object_id,
        "amount_cents": Cast(amount, IntegerField()),
        "currency": F(f"{p}currency"),
    }
    return {f"mc_{name}": expression for name, expression in columns.items()}


def month_close_sources(*, year: int, month: int) -> dict:
    """Per kind, the filtered queryset (before the ledger's columns): the same filters as the revenue report."""
    lo, hi = datetime_range(*month_bounds(year, month))
    db = report_db()
    payments = Payment.objects.using(db).filter(status=PaymentStatus.SUCCEEDED, succeeded_at__gte=lo,
                                                succeeded_at__lt=hi)
    return {
        "payment": payments,
        "fee": payments.filter(stripe_fee_cents__isnull=False),
        "refund": (Refund.objects.using(db).annotate(refunded_at=Coalesce("processed_at", "created_at"))
                   .filter(status=RefundStatus.SUCCEEDED, refunded_at__gte=lo, refunded_at__lt=hi)),
        "dispute": PaymentAudit.objects.using(db).filter(action="dispute_created", created_at__gte=lo,
                                                         created_at__lt=hi),
    }


def month_close_queryset(*, year: int, month: int):
    """values_list rows in FIELDS order, oldest first: one query (UNION ALL of the four kinds)."""
    s = month_close_sources(year=year, month=month)
    parts = [
        s["payment"].annotate(**_columns("", at=F("succeeded_at"), kind="payment", object_id=_text(""),
                                         amount=F("amount_cents"))),
        s["fee"].annotate(**_columns("", at=F("succeeded_at"), kind="fee", object_id=_text(""),
                                     amount=F("stripe_fee_cents"))),
        s["refund"].annotate(**_columns("payment__", at=F("refunded_at"), kind="refund",
                                        object_id=Coalesce(F("stripe_refund_id"), _text(""), output_field=CharField()),
                                        amount=F("amount_cents"))),
        s["dispute"].annotate(**_columns("payment__", at=F("created_at"), kind="dispute",
                                         object_id=Coalesce(KeyTextTransform("dispute_id", "details"), _text(""),
                                                           output_field=CharField()),
                                         amount=KeyTextTransform("amount_cents", "details"))),
    ]
    first, *rest = (q.values_list(*FIELDS).order_by() for q in parts)
    return first.union(*rest, all=True).order_by("mc_at", "mc_kind")


def month_close_totals(*, year: int, month: int) -> dict[str, int]:
    """Cents per kind (four aggregate queries)."""
    s = month_close_sources(year=year, month=month)
    amount = {"payment": Sum("amount_cents"), "fee": Sum("stripe_fee_cents"), "refund": Sum("amount_cents"),
              "dispute": Sum(Cast(KeyTextTransform("amount_cents", "details"), IntegerField()))}
    return {k: s[k].aggregate(total=Coalesce(amount[k], 0))["total"] for k in KINDS}


def month_close_rows(values: Iterator[tuple]) -> Iterator[tuple]:
    """Ledger tuples ready for a file: New York time, dollars with the sign finance books them with.

    Payments are positive; refunds and fees negative; disputes are shown at their amount with the type
    saying what they are (we do not record their outcome).
    """
    zone = tz()
    sign = {"payment": 1, "refund": -1, "fee": -1, "dispute": 1}
    dollars = Decimal.scaleb  # exact: cents × 10⁻² keeps two places, no rounding (the export's hot path)
    for at, kind, *middle, cents, currency in values:
        yield (at.astimezone(zone).isoformat(timespec="seconds"), kind, *middle,
               dollars(Decimal(sign[kind] * int(cents or 0)), -2), currency.upper())


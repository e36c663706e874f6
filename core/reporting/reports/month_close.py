"""The month-close ledger: every payment, refund, Stripe fee and dispute of a New York month, one row each.

Disputes appear twice when both fall in the month: as "dispute" on the day it was opened (for information, with
its outcome so far) and as "dispute_lost" on the day Stripe closed it as lost (the money finance books). Stripe's
dispute fee is a "dispute_fee" row when Stripe took it and a "dispute_fee_returned" row if it gave it back.
It is one UNION ALL query ordered by time, so the console can stream it at any size; its totals per type equal
the cash-basis revenue report for the month (the same filters, see revenue.py), which a test holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from django.db.models import CharField, DateTimeField, F, IntegerField, Sum, Value
from django.db.models.functions import Cast, Coalesce

from core.reporting.reports.base import report_db, tz
from core.reporting.reports.revenue import Basis, revenue_querysets

# the dispute kinds: Dispute rows, each dated and sized by its own fields
DISPUTE_KINDS = {"dispute": ("opened_at", "amount_cents"), "dispute_lost": ("closed_at", "amount_cents"),
                 "dispute_fee": ("fee_at", "fee_cents"), "dispute_fee_returned": ("fee_returned_at", "fee_returned_cents")}
KINDS = ("payment", "refund", "fee", *DISPUTE_KINDS)
COLUMNS = ("at", "kind", "booking_number", "customer_name", "customer_email", "service_type", "method",
          "payment_intent", "charge_id", "object_id", "amount_cents", "currency", "outcome")
# Annotation names may not shadow model fields (Payment.method, Refund.amount_cents …), hence the prefix.
FIELDS = tuple(f"mc_{c}" for c in COLUMNS)
HEADERS = ["Date (New York)", "Type", "Booking", "Customer", "Customer email", "Service type", "Method",
           "Stripe payment intent", "Stripe charge", "Stripe refund / dispute", "Amount", "Currency",
           "Dispute outcome"]


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    first = dt.date(year, month, 1)
    return first, (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def _text(value: str) -> Value:
    return Value(value, output_field=CharField())


def _columns(prefix: str, *, at, kind: str, object_id, amount, outcome=None) -> dict:
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
        "outcome": outcome if outcome is not None else _text(""),
    }
    return {f"mc_{name}": expression for name, expression in columns.items()}


def month_close_sources(*, year: int, month: int) -> dict:
    """Per kind, the filtered queryset (before the ledger's columns): the revenue report's cash-basis filters."""
    q = revenue_querysets(start=month_bounds(year, month)[0], end=month_bounds(year, month)[1], basis=Basis.CASH,
                   service_type=None, payment_method=None)
    db = report_db()
    payments = q["payments"].using(db)
    return {"payment": payments, "fee": payments.filter(stripe_fee_cents__isnull=False),
            "refund": q["refunds"].using(db), "dispute": q["opened"].using(db), "dispute_lost": q["lost"].using(db),
            "dispute_fee": q["fee_taken"].using(db), "dispute_fee_returned": q["fee_returned"].using(db)}


def month_close_queryset(*, year: int, month: int):
    """values_list rows in FIELDS order, oldest first: one query (UNION ALL of the seven kinds)."""
    s = month_close_sources(year=year, month=month)
    parts = [
        s["payment"].annotate(**_columns("", at=F("succeeded_at"), kind="payment", object_id=_text(""),
                                         amount=F("amount_cents"))),
        s["fee"].annotate(**_columns("", at=F("succeeded_at"), kind="fee", object_id=_text(""),
                                     amount=F("stripe_fee_cents"))),
        s["refund"].annotate(**_columns("payment__", at=F("refunded_at"), kind="refund",
                                        object_id=Coalesce(F("stripe_refund_id"), _text(""), output_field=CharField()),
                                        amount=F("amount_cents"))),
        *(s[kind].annotate(**_columns("payment__", at=F(at), kind=kind, object_id=F("stripe_dispute_id"),
                                      amount=F(amount), outcome=F("outcome")))
          for kind, (at, amount) in DISPUTE_KINDS.items()),
    ]
    first, *rest = (q.values_list(*FIELDS).order_by() for q in parts)
    return first.union(*rest, all=True).order_by("mc_at", "mc_kind")


def month_close_totals(*, year: int, month: int) -> dict[str, int]:
    """Cents per kind (seven aggregate queries)."""
    s = month_close_sources(year=year, month=month)
    amount = {"payment": Sum("amount_cents"), "fee": Sum("stripe_fee_cents"), "refund": Sum("amount_cents"),
              **{kind: Sum(cents) for kind, (_at, cents) in DISPUTE_KINDS.items()}}
    return {k: s[k].aggregate(total=Coalesce(amount[k], 0))["total"] for k in KINDS}


def month_close_rows(values: Iterator[tuple]) -> Iterator[tuple]:
    """Ledger tuples ready for a file: New York time, dollars with the sign finance books them with.

    Payments and dispute fees returned are positive; refunds, fees, disputes lost and dispute fees negative; a
    dispute opened is shown at its amount (information: the money moves when it is lost), with its outcome so far.
    """
    zone = tz()
    sign = {"payment": 1, "refund": -1, "fee": -1, "dispute": 1, "dispute_lost": -1, "dispute_fee": -1,
            "dispute_fee_returned": 1}
    dollars = Decimal.scaleb  # exact: cents × 10⁻² keeps two places, no rounding (the export's hot path)
    for at, kind, *middle, cents, currency, outcome in values:
        yield (at.astimezone(zone).isoformat(timespec="seconds"), kind, *middle,
               dollars(Decimal(sign[kind] * int(cents or 0)), -2), currency.upper(), outcome)


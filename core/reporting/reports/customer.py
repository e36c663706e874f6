"""The customer report: new vs returning per period, repeat rate, bookings per customer, top customers by
lifetime value and top corridors (pickup ZIP → dropoff ZIP). Four grouped queries, whatever the data size.

A customer is *new* in the period of their first booking ever and *returning* in any later period they book in.
Cancelled bookings and unpaid holds are not counted as bookings here.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, DateTimeField, F, Min, OuterRef, Q, Subquery, Sum

from core.bookings.models import Booking, BookingStatus
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
    period_of,
    periods,
    ratio,
    report_db,
)

COUNTED = ~Q(status__in=[BookingStatus.CANCELLED, BookingStatus.PENDING])
# Lifetime value counts what was paid for and not cancelled (as the customers list does).
LIFETIME_STATUSES = (BookingStatus.PAID, BookingStatus.SCHEDULED, BookingStatus.IN_PROGRESS, BookingStatus.COMPLETED)
TOP = 10

COLUMNS = [
    Column("period", "Period", "date"),
    Column("customers", "Customers booking"),
    Column("new", "New"),
    Column("returning", "Returning"),
    Column("bookings", "Bookings"),
    Column("bookings_per_customer", "Bookings per customer", "days"),
]


def customer_figures(*, start: dt.date, end: dt.date, grouping: str = Grouping.MONTH,
                     service_type: str | None = None) -> list[dict]:
    check_range(start=start, end=end, grouping=grouping)
    lo, hi = datetime_range(start, end)
    qs = Booking.objects.using(report_db()).filter(COUNTED, created_at__gte=lo, created_at__lt=hi)
    if service_type:
        qs = qs.filter(booking_type=service_type)
    first = Subquery(Booking.objects.filter(COUNTED, customer=OuterRef("customer_id"))
                     .order_by().values("customer_id").annotate(first=Min("created_at")).values("first"),
                     output_field=DateTimeField())
    qs = qs.annotate(period=period_of("created_at", grouping) or constant_period(), first_booking_at=first)
    if grouping == Grouping.NONE:
        is_new = Q(first_booking_at__gte=lo, first_booking_at__lt=hi)
    else:
        qs = qs.annotate(first_period=period_of("first_booking_at", grouping))
        is_new = Q(first_period=F("period"))
    rows = (qs.values("period")
            .annotate(customers=Count("customer_id", distinct=True),
                      new=Count("customer_id", distinct=True, filter=is_new),
                      bookings=count_rows())
            .order_by())
    merged = merge_rows([(p,) for p in periods(start, end, grouping)], [(rows, ("period",))], ("period",),
                        ("customers", "new", "bookings"))
    out = []
    for key in sorted(merged, key=lambda k: k[0] or dt.date.min):
        r = merged[key]
        r["returning"] = r["customers"] - r["new"]
        r["bookings_per_customer"] = round(r["bookings"] / r["customers"], 2) if r["customers"] else None
        out.append(r)
    return out


def _in_range(*, start: dt.date, end: dt.date, service_type: str | None):
    lo, hi = datetime_range(start, end)
    qs = Booking.objects.using(report_db()).filter(COUNTED, created_at__gte=lo, created_at__lt=hi)
    return qs.filter(booking_type=service_type) if service_type else qs


def repeat_figures(*, start: dt.date, end: dt.date, service_type: str | None = None) -> dict:
    """Of the customers who booked in the range, how many have booked more than once (up to the range end)."""
    _lo, hi = datetime_range(start, end)
    customers = _in_range(start=start, end=end, service_type=service_type).values("customer_id")
    per_customer = (Booking.objects.using(report_db()).filter(COUNTED, created_at__lt=hi, customer_id__in=customers)
                    .values("customer_id").annotate(n=count_rows()).order_by())
    row = per_customer.aggregate(customers=Count("customer_id"), repeat=Count("customer_id", filter=Q(n__gte=2)))
    return {**row, "repeat_rate": ratio(row["repeat"], row["customers"])}


def top_customers(*, limit: int = TOP) -> list[dict]:
    """Customers by lifetime value (paid, not cancelled bookings), highest first."""
    return list(Booking.objects.using(report_db()).filter(status__in=LIFETIME_STATUSES)
                .values("customer_id", "customer__name", "customer__email")
                .annotate(lifetime_value=Sum("total_price"), bookings=count_rows())
                .order_by("-lifetime_value", "customer_id")[:limit])


def top_corridors(*, start: dt.date, end: dt.date, service_type: str | None = None, limit: int = TOP) -> list[dict]:
    """The busiest pickup ZIP → dropoff ZIP pairs of the range."""
    rows = (_in_range(start=start, end=end, service_type=service_type)
            .values("pickup_address__zip_code", "dropoff_address__zip_code")
            .annotate(bookings=count_rows(), value=Sum("total_price"))
            .order_by("-bookings", "pickup_address__zip_code", "dropoff_address__zip_code")[:limit])
    return [{"corridor": f"{r['pickup_address__zip_code']} → {r['dropoff_address__zip_code']}",
             "bookings": r["bookings"], "value": r["value"]} for r in rows]


def customer_report(*, start: dt.date, end: dt.date, grouping: str = Grouping.MONTH,
                    service_type: str | None = None) -> ReportResult:
    rows = customer_figures(start=start, end=end, grouping=grouping, service_type=service_type)
    (whole,) = customer_figures(start=start, end=end, grouping=Grouping.NONE, service_type=service_type)
    repeat = repeat_figures(start=start, end=end, service_type=service_type)
    top = [{"customer": r["customer__name"], "email": r["customer__email"], "customer_id": r["customer_id"],
            "lifetime_value": r["lifetime_value"], "bookings": r["bookings"]} for r in top_customers()]
    corridors = top_corridors(start=start, end=end, service_type=service_type)
    summary = {"Customers booking": whole["customers"], "New customers": whole["new"],
               "Returning customers": whole["returning"], "Repeat rate %": repeat["repeat_rate"],
               "Bookings per customer": whole["bookings_per_customer"]}
    params = {"start": start, "end": end, "grouping": grouping, "service_type": service_type}
    return ReportResult("customer", "Customers", params, [
        Section("customers", "New and returning customers", COLUMNS, rows, whole),
        Section("top_customers", "Top customers by lifetime value", [
            Column("customer", "Customer", "text"), Column("email", "Email", "text"),
            Column("lifetime_value", "Lifetime value", "money"), Column("bookings", "Bookings")], top),
        Section("corridors", "Top corridors (pickup ZIP → dropoff ZIP)", [
            Column("corridor", "Corridor", "text"), Column("bookings", "Bookings"),
            Column("value", "Booked value", "money")], corridors),
    ], summary, ["Cancelled bookings and unpaid holds are not counted."])

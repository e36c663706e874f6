"""Custom reports over bookings: measures, dimensions and filters chosen from fixed lists (never free SQL).

Each choice maps to one ORM expression below, so whatever is picked is one grouped query.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Avg, Count, Exists, F, OuterRef, Q, Sum

from core.bookings.models import Booking, BookingStatus
from core.common.errors import ValidationError
from core.payments.models import Payment, PaymentMethod, PaymentStatus
from core.reporting.reports.base import (
    Column,
    Grouping,
    ReportResult,
    Section,
    check_range,
    constant_period,
    count_rows,
    datetime_range,
    period_of,
    report_db,
)

# key -> (label, aggregate, column kind)
MEASURES = {
    "bookings": ("Bookings", lambda: count_rows(), "int"),
    "booked_value": ("Booked value", lambda: Sum("total_price"), "money"),
    "average_value": ("Average booking value", lambda: Avg("total_price"), "money"),
    "completed": ("Completed", lambda: count_rows(filter=Q(status=BookingStatus.COMPLETED)), "int"),
    "cancelled": ("Cancelled", lambda: count_rows(filter=Q(status=BookingStatus.CANCELLED)), "int"),
    "customers": ("Customers", lambda: Count("customer_id", distinct=True), "int"),
    "items": ("Items", lambda: Sum("item_count"), "int"),
}
# key -> (label, path)
DIMENSIONS = {
    "service_type": ("Service type", "booking_type"),
    "status": ("Status", "status"),
    "payment_status": ("Payment status", "payment_status"),
    "package": ("Package", "package__code"),
    "pickup_window": ("Pickup window", "pickup_window"),
    "pickup_zip": ("Pickup ZIP", "pickup_address__zip_code"),
    "dropoff_zip": ("Dropoff ZIP", "dropoff_address__zip_code"),
}
DATE_FIELDS = {"created": ("Booking date", "created_at", True), "pickup": ("Pickup date", "pickup_date", False)}
FILTERS = ("service_type", "status", "payment_method", "pickup_zip", "dropoff_zip")
MAX_DIMENSIONS = 2


def _refuse(field: str, message: str):
    raise ValidationError("The custom report is not valid.", fields={field: [message]})


def custom_figures(*, start: dt.date, end: dt.date, measures: list[str], dimensions: list[str] = (),
                   grouping: str = Grouping.MONTH, date_field: str = "created", filters: dict | None = None
                   ) -> list[dict]:
    check_range(start=start, end=end, grouping=grouping)
    measures, dimensions, filters = list(measures), list(dimensions), dict(filters or {})
    if not measures or any(m not in MEASURES for m in measures):
        _refuse("measures", f"Choose measures from: {', '.join(MEASURES)}.")
    if len(dimensions) > MAX_DIMENSIONS or any(d not in DIMENSIONS for d in dimensions):
        _refuse("dimensions", f"Choose at most {MAX_DIMENSIONS} of: {', '.join(DIMENSIONS)}.")
    if date_field not in DATE_FIELDS:
        _refuse("date_field", f"Choose one of: {', '.join(DATE_FIELDS)}.")
    unknown = set(filters) - set(FILTERS)
    if unknown:
        _refuse("filters", f"Unknown filters: {', '.join(sorted(unknown))}.")
    _label, path, is_datetime = DATE_FIELDS[date_field]
    qs = Booking.objects.using(report_db())
    if is_datetime:
        lo, hi = datetime_range(start, end)
        qs = qs.filter(**{f"{path}__gte": lo, f"{path}__lt": hi})
    else:
        qs = qs.filter(**{f"{path}__gte": start, f"{path}__lte": end})
    for key in ("service_type", "status", "pickup_zip", "dropoff_zip"):
        if filters.get(key):
            qs = qs.filter(**{DIMENSIONS[key][1]: filters[key]})
    if filters.get("payment_method"):
        if filters["payment_method"] not in PaymentMethod.values:
            _refuse("payment_method", f"Choose one of: {', '.join(PaymentMethod.values)}.")
        qs = qs.filter(Exists(Payment.objects.filter(booking=OuterRef("pk"), status=PaymentStatus.SUCCEEDED,
                                                      method=filters["payment_method"])))
    keys = {"period": period_of(path, grouping, is_datetime=is_datetime) or constant_period()}
    keys.update({f"d_{d}": F(DIMENSIONS[d][1]) for d in dimensions})
    rows = (qs.annotate(**keys).values(*keys)
            .annotate(**{m: MEASURES[m][1]() for m in measures})
            .order_by("period", *(f"d_{d}" for d in dimensions)))
    out = []
    for r in rows:
        if "average_value" in r and r["average_value"] is not None:
            r["average_value"] = Decimal(r["average_value"]).quantize(Decimal("0.01"))
        out.append(r)
    return out


def custom_report(*, start: dt.date, end: dt.date, measures: list[str], dimensions: list[str] = (),
                  grouping: str = Grouping.MONTH, date_field: str = "created", filters: dict | None = None
                  ) -> ReportResult:
    rows = custom_figures(start=start, end=end, measures=measures, dimensions=dimensions, grouping=grouping,
                          date_field=date_field, filters=filters)
    columns = [Column("period", "Period", "date"),
               *(Column(f"d_{d}", DIMENSIONS[d][0], "text") for d in dimensions),
               *(Column(m, MEASURES[m][0], MEASURES[m][2]) for m in measures)]
    additive = [m for m in measures if m not in ("average_value", "customers")]
    totals = {m: sum((r[m] or 0) for r in rows) for m in additive}
    params = {"start": start, "end": end, "measures": list(measures), "dimensions": list(dimensions),
              "grouping": grouping, "date_field": date_field, "filters": dict(filters or {})}
    summary = {MEASURES[m][0]: totals[m] for m in additive}
    return ReportResult("custom", "Custom report", params, [Section("custom", "Custom report", columns, rows, totals)],
                        summary, ["Averages and distinct customers are not summed in the totals row."])

"""The operational report: bookings created / completed / cancelled, capacity utilisation, lead time,
cancellation rate and failed notifications, per New York period (five grouped queries, whatever the size).

Delivery success, delivery time, failed legs and COI turnaround wait for the logistics and documents areas.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q, Sum
from django.db.models.functions import TruncDate

from core.bookings.models import Booking, BookingStatus
from core.catalog.models import ServiceType, VanSchedule
from core.notifications.models import Notification, NotificationStatus
from core.reporting.reports.base import (
    Column,
    DaysBetween,
    Grouping,
    ReportResult,
    Section,
    check_range,
    constant_period,
    count_rows,
    datetime_range,
    days_in,
    merge_rows,
    period_of,
    periods,
    ratio,
    report_db,
    tz,
)

MEASURES = ("created", "created_cancelled", "completed", "cancelled", "slots_used", "capacity_overrides",
            "override_capacity", "failed_notifications", "lead_days_total", "lead_count")
COLUMNS = [
    Column("period", "Period", "date"),
    Column("created", "Bookings created"),
    Column("completed", "Completed (by pickup)"),
    Column("cancelled", "Cancelled (by cancellation date)"),
    Column("cancellation_rate", "Cancelled of created %", "percent"),
    Column("slots_used", "Slots used"),
    Column("capacity", "Capacity"),
    Column("utilisation", "Utilisation %", "percent"),
    Column("lead_time_days", "Average lead time (days)", "days"),
    Column("failed_notifications", "Failed notifications"),
]


def _period(expr: str, grouping: str, *, is_datetime: bool = True):
    return period_of(expr, grouping, is_datetime=is_datetime) or constant_period()


def operational_figures(*, start: dt.date, end: dt.date, grouping: str = Grouping.DAY,
                        service_type: str | None = None) -> list[dict]:
    """One row per period of [start, end], oldest first."""
    check_range(start=start, end=end, grouping=grouping)
    db = report_db()
    lo, hi = datetime_range(start, end)
    bookings = Booking.objects.using(db)
    if service_type:
        bookings = bookings.filter(booking_type=service_type)
    # Lead time in whole days: pickup date minus the New York date the booking was made.
    lead = DaysBetween("pickup_date", TruncDate("created_at", tzinfo=tz()))
    created = (bookings.filter(created_at__gte=lo, created_at__lt=hi)
               .annotate(period=_period("created_at", grouping), lead=lead).values("period")
               .annotate(created=count_rows(),
                         created_cancelled=count_rows(filter=Q(status=BookingStatus.CANCELLED)),
                         lead_sum=Sum("lead", filter=~Q(status=BookingStatus.CANCELLED)),
                         lead_count=count_rows(filter=~Q(status=BookingStatus.CANCELLED)))
               .order_by())
    # A slot is used by every booking on the van that day that is neither cancelled nor an unpaid hold.
    picked = (bookings.filter(pickup_date__gte=start, pickup_date__lte=end)
              .exclude(status__in=[BookingStatus.CANCELLED, BookingStatus.PENDING])
              .annotate(period=_period("pickup_date", grouping, is_datetime=False)).values("period")
              .annotate(slots_used=count_rows(), completed=count_rows(filter=Q(status=BookingStatus.COMPLETED)))
              .order_by())
    cancelled = (bookings.filter(cancelled_at__gte=lo, cancelled_at__lt=hi)
                 .annotate(period=_period("cancelled_at", grouping)).values("period")
                 .annotate(cancelled=count_rows()).order_by())
    overrides = (VanSchedule.objects.using(db)
                 .filter(date__gte=start, date__lte=end, is_active=True, capacity_override__isnull=False)
                 .annotate(period=_period("date", grouping, is_datetime=False)).values("period")
                 .annotate(capacity_overrides=count_rows(), override_capacity=Sum("capacity_override")).order_by())
    failed = (Notification.objects.using(db)
              .filter(created_at__gte=lo, created_at__lt=hi,
                      status__in=[NotificationStatus.FAILED, NotificationStatus.BOUNCED])
              .annotate(period=_period("created_at", grouping)).values("period")
              .annotate(failed_notifications=count_rows()).order_by())
    created = [{**r, "lead_days_total": r.pop("lead_sum") or 0} for r in created]
    merged = merge_rows([(p,) for p in periods(start, end, grouping)],
                        [(created, ("period",)), (picked, ("period",)), (cancelled, ("period",)),
                         (overrides, ("period",)), (failed, ("period",))], ("period",), MEASURES)
    default = int(settings.TOTETAXI["DEFAULT_DAILY_CAPACITY"])
    rows = []
    for key in sorted(merged, key=lambda k: k[0] or dt.date.min):
        r = merged[key]
        r["capacity"] = default * (days_in(r["period"], grouping, start, end) - r["capacity_overrides"]) \
            + r["override_capacity"]
        rows.append(_derived(r))
    return rows


def _derived(r: dict) -> dict:
    r["cancellation_rate"] = ratio(r["created_cancelled"], r["created"])
    r["utilisation"] = ratio(r["slots_used"], r["capacity"])
    r["lead_time_days"] = round(r["lead_days_total"] / r["lead_count"], 1) if r["lead_count"] else None
    return r


def operational_totals(rows: list[dict]) -> dict:
    totals = {m: sum(r[m] for r in rows) for m in (*MEASURES, "capacity")}
    totals["period"] = None
    return _derived(totals)


def operational_report(*, start: dt.date, end: dt.date, grouping: str = Grouping.DAY,
                       service_type: str | None = None) -> ReportResult:
    rows = operational_figures(start=start, end=end, grouping=grouping, service_type=service_type)
    totals = operational_totals(rows)
    by_type = _by_type(start=start, end=end, service_type=service_type)
    summary = {"Bookings created": totals["created"], "Completed": totals["completed"],
               "Cancellation rate %": totals["cancellation_rate"], "Utilisation %": totals["utilisation"],
               "Average lead time (days)": totals["lead_time_days"],
               "Failed notifications": totals["failed_notifications"]}
    params = {"start": start, "end": end, "grouping": grouping, "service_type": service_type}
    return ReportResult("operational", "Operations", params, [
        Section("operations", "Operations", COLUMNS, rows, totals),
        Section("by_type", "Bookings created by type and status", [
            Column("dim", "Service type", "text"), Column("status", "Status", "text"), Column("n", "Bookings"),
        ], by_type, {"n": sum(r["n"] for r in by_type)}),
    ], summary, ["Delivery success, delivery time, failed legs and COI turnaround are not recorded yet."])


def _by_type(*, start: dt.date, end: dt.date, service_type: str | None) -> list[dict]:
    lo, hi = datetime_range(start, end)
    qs = Booking.objects.using(report_db()).filter(created_at__gte=lo, created_at__lt=hi)
    if service_type:
        qs = qs.filter(booking_type=service_type)
    labels = dict(ServiceType.choices)
    rows = qs.values("booking_type", "status").annotate(n=count_rows()).order_by("booking_type", "status")
    return [{"dim": labels.get(r["booking_type"], r["booking_type"]), "status": r["status"], "n": r["n"]}
            for r in rows]

"""The operational report: bookings created / completed / cancelled, capacity utilisation, lead time,
cancellation rate, failed notifications, delivery legs (success rate, failed legs, delivery time) and COI
turnaround, per New York period (seven grouped queries, whatever the size).

Delivery legs count in the period their Onfleet task finished (completed_at, set for failures too). Delivery
time runs from the pickup leg's start (Onfleet's taskStarted) to the drop-off leg's completion, for drop-offs
completed in the period whose pickup start was recorded. COI turnaround runs from the certificate's upload to
its decision (valid, invalid or waived: validated_at), for certificates decided in the period.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import DurationField, ExpressionWrapper, F, FilteredRelation, Q, Sum
from django.db.models.functions import TruncDate

from core.bookings.models import Booking, BookingStatus
from core.catalog.models import ServiceType, VanSchedule
from core.documents.models import COI, COIStatus
from core.logistics.models import DeliveryTask, LegKind, LegStatus
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
            "override_capacity", "failed_notifications", "lead_days_total", "lead_count", "legs_completed",
            "legs_failed", "delivery_seconds", "deliveries_timed", "coi_seconds", "cois_decided")
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
    Column("legs_completed", "Legs completed"),
    Column("legs_failed", "Failed legs"),
    Column("delivery_success_rate", "Delivery success %", "percent"),
    Column("delivery_hours", "Average delivery time (h)", "hours"),
    Column("cois_decided", "COIs decided"),
    Column("coi_turnaround_hours", "Average COI turnaround (h)", "hours"),
]
NOTES = [
    "Legs completed / failed: pickup and drop-off legs whose Onfleet task finished in the period; delivery success "
    "% = completed ÷ (completed + failed).",
    "Average delivery time: from the pickup leg's start (Onfleet taskStarted) to the drop-off leg's completion, "
    "for drop-offs completed in the period; drop-offs whose pickup start was never recorded are left out.",
    "COI turnaround: from the certificate's upload to its decision (valid, invalid or waived), for certificates "
    "decided in the period.",
]
# The COI decisions that stamp validated_at (expired is found by validation, without a decision time).
COI_DECIDED = [COIStatus.VALID, COIStatus.INVALID, COIStatus.WAIVED]


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
    legs = _legs(lo=lo, hi=hi, grouping=grouping, service_type=service_type)
    cois = _cois(lo=lo, hi=hi, grouping=grouping, service_type=service_type)
    created = [{**r, "lead_days_total": r.pop("lead_sum") or 0} for r in created]
    merged = merge_rows([(p,) for p in periods(start, end, grouping)],
                        [(created, ("period",)), (picked, ("period",)), (cancelled, ("period",)),
                         (overrides, ("period",)), (failed, ("period",)), (legs, ("period",)), (cois, ("period",))],
                        ("period",), MEASURES)
    default = int(settings.TOTETAXI["DEFAULT_DAILY_CAPACITY"])
    rows = []
    for key in sorted(merged, key=lambda k: k[0] or dt.date.min):
        r = merged[key]
        r["capacity"] = default * (days_in(r["period"], grouping, start, end) - r["capacity_overrides"]) \
            + r["override_capacity"]
        rows.append(_derived(r))
    return rows


def _seconds(value) -> int:
    """A summed duration as whole seconds (PostgreSQL gives an interval; SQLite microseconds, converted)."""
    if value is None:
        return 0
    return int(value.total_seconds()) if isinstance(value, dt.timedelta) else int(value) // 1_000_000


def _legs(*, lo: dt.datetime, hi: dt.datetime, grouping: str, service_type: str | None):
    """Legs finished per period, and the drop-offs' delivery time (one query: legs LEFT JOIN their pickup leg)."""
    legs = DeliveryTask.objects.using(report_db()).filter(
        completed_at__gte=lo, completed_at__lt=hi, status__in=[LegStatus.COMPLETED, LegStatus.FAILED])
    if service_type:
        legs = legs.filter(booking__booking_type=service_type)
    timed = Q(kind=LegKind.DROPOFF, status=LegStatus.COMPLETED, pickup_leg__started_at__isnull=False,
              pickup_leg__started_at__lte=F("completed_at"))
    rows = (legs.annotate(pickup_leg=FilteredRelation("booking__delivery_tasks", condition=Q(
                booking__delivery_tasks__kind=LegKind.PICKUP)))
            .annotate(period=_period("completed_at", grouping),
                      took=ExpressionWrapper(F("completed_at") - F("pickup_leg__started_at"),
                                             output_field=DurationField()))
            .values("period")
            .annotate(legs_completed=count_rows(filter=Q(status=LegStatus.COMPLETED)),
                      legs_failed=count_rows(filter=Q(status=LegStatus.FAILED)),
                      delivery_sum=Sum("took", filter=timed), deliveries_timed=count_rows(filter=timed))
            .order_by())
    return [{**r, "delivery_seconds": _seconds(r.pop("delivery_sum"))} for r in rows]


def _cois(*, lo: dt.datetime, hi: dt.datetime, grouping: str, service_type: str | None):
    cois = COI.objects.using(report_db()).filter(validated_at__gte=lo, validated_at__lt=hi, status__in=COI_DECIDED)
    if service_type:
        cois = cois.filter(booking__booking_type=service_type)
    rows = (cois.annotate(period=_period("validated_at", grouping),
                          took=ExpressionWrapper(F("validated_at") - F("document__created_at"),
                                                 output_field=DurationField()))
            .values("period").annotate(coi_sum=Sum("took"), cois_decided=count_rows()).order_by())
    return [{**r, "coi_seconds": _seconds(r.pop("coi_sum"))} for r in rows]


def _hours(seconds: int, n: int) -> Decimal | None:
    return (Decimal(seconds) / n / 3600).quantize(Decimal("0.1")) if n else None


def _derived(r: dict) -> dict:
    r["cancellation_rate"] = ratio(r["created_cancelled"], r["created"])
    r["utilisation"] = ratio(r["slots_used"], r["capacity"])
    r["lead_time_days"] = round(r["lead_days_total"] / r["lead_count"], 1) if r["lead_count"] else None
    r["delivery_success_rate"] = ratio(r["legs_completed"], r["legs_completed"] + r["legs_failed"])
    r["delivery_hours"] = _hours(r["delivery_seconds"], r["deliveries_timed"])
    r["coi_turnaround_hours"] = _hours(r["coi_seconds"], r["cois_decided"])
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
               "Failed notifications": totals["failed_notifications"],
               "Delivery success %": totals["delivery_success_rate"], "Failed legs": totals["legs_failed"],
               "Average delivery time (h)": totals["delivery_hours"],
               "Average COI turnaround (h)": totals["coi_turnaround_hours"]}
    params = {"start": start, "end": end, "grouping": grouping, "service_type": service_type}
    return ReportResult("operational", "Operations", params, [
        Section("operations", "Operations", COLUMNS, rows, totals),
        Section("by_type", "Bookings created by type and status", [
            Column("dim", "Service type", "text"), Column("status", "Status", "text"), Column("n", "Bookings"),
        ], by_type, {"n": sum(r["n"] for r in by_type)}),
    ], summary, list(NOTES))


def _by_type(*, start: dt.date, end: dt.date, service_type: str | None) -> list[dict]:
    lo, hi = datetime_range(start, end)
    qs = Booking.objects.using(report_db()).filter(created_at__gte=lo, created_at__lt=hi)
    if service_type:
        qs = qs.filter(booking_type=service_type)
    labels = dict(ServiceType.choices)
    rows = qs.values("booking_type", "status").annotate(n=count_rows()).order_by("booking_type", "status")
    return [{"dim": labels.get(r["booking_type"], r["booking_type"]), "status": r["status"], "n": r["n"]}
            for r in rows]

"""Reads the interfaces show: the customer's tracking view, the dispatch board, the dashboard's issues."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q

from core.bookings.models import Booking, BookingStatus
from core.logistics.models import DeliveryTask, DispatchMismatch, LegKind, LegStatus, TrackingUpdate

TIMELINE = {
    "taskAssigned": "A driver was assigned",
    "taskUnassigned": "The driver was unassigned",
    "taskStarted": "The driver is on the way",
    "taskArrival": "The driver is arriving",
    "taskDelayed": "The driver is running late",
    "taskCompleted": {LegKind.PICKUP: "Your items were picked up", LegKind.DROPOFF: "Your items were delivered"},
    "taskFailed": "The driver could not complete this stop",
    "taskDeleted": "This stop was cancelled",
}
TIMELINE_LIMIT = 20


def _first_name(name: str) -> str | None:
    return name.split()[0] if name and name.split() else None


def booking_tracking(booking: Booking) -> dict:
    """The contract's tracking body (two queries: the legs, the timeline)."""
    legs = list(DeliveryTask.objects.filter(booking=booking).order_by("kind").only(
        "kind", "status", "eta", "completed_at", "driver_name", "tracking_url", "booking_id"))
    legs.sort(key=lambda leg: leg.kind != LegKind.PICKUP)
    events = []
    if legs:
        updates = (TrackingUpdate.objects.filter(delivery_task__booking=booking, processed_at__isnull=False,
                                                 trigger_name__in=list(TIMELINE))
                   .order_by("-event_time", "-pk").values_list("event_time", "delivery_task__kind", "trigger_name")
                   [:TIMELINE_LIMIT])
        for at, kind, trigger in updates:
            text = TIMELINE[trigger]
            events.append({"at": at, "kind": kind, "type": trigger,
                           "description": text[kind] if isinstance(text, dict) else text})
    return {
        "booking_number": booking.booking_number,
        "status": booking.status,
        "legs": [{"kind": leg.kind, "status": leg.status, "eta": leg.eta, "completed_at": leg.completed_at,
                  "driver_name": _first_name(leg.driver_name), "tracking_url": leg.tracking_url or None}
                 for leg in legs],
        "events": events,
    }


def dispatch_board(*, day: dt.date) -> list[DeliveryTask]:
    """The legs of one service day, by window and status (one query)."""
    return list(DeliveryTask.objects.filter(booking__pickup_date=day)
                .select_related("booking", "booking__customer")
                .order_by("window_start", "booking__booking_number", "-kind"))  # pickup before drop-off


def paid_not_dispatched(*, today: dt.date):
    """Paid bookings from today on whose legs do not all exist in Onfleet (or locally) yet."""
    return (Booking.objects.filter(status=BookingStatus.PAID, pickup_date__gte=today)
            .annotate(dispatched=Count("delivery_tasks", filter=Q(delivery_tasks__dispatch_pending=False)))
            .filter(dispatched__lt=2))


def logistics_issue_counts(*, today: dt.date) -> dict[str, int]:
    """The dashboard's logistics issues (three queries)."""
    return {
        "failed_legs": DeliveryTask.objects.filter(status=LegStatus.FAILED, booking__pickup_date__gte=today
                                                   - dt.timedelta(days=7)).count(),
        "drift": DispatchMismatch.objects.filter(resolved=False).count(),
        "not_dispatched": paid_not_dispatched(today=today).count(),
    }


def delivery_figures(*, start: dt.datetime, end: dt.datetime) -> dict:
    """The daily snapshot's delivery figures for [start, end) (two queries)."""
    from django.db.models import OuterRef, Subquery

    created = DeliveryTask.objects.filter(created_at__gte=start, created_at__lt=end).exclude(
        onfleet_task_id="").count()
    pickup_started = DeliveryTask.objects.filter(booking=OuterRef("booking"), kind=LegKind.PICKUP).values(
        "started_at")[:1]
    rows = list(DeliveryTask.objects.filter(kind=LegKind.DROPOFF, completed_at__gte=start, completed_at__lt=end,
                                            status__in=[LegStatus.COMPLETED, LegStatus.FAILED])
                .annotate(pickup_started=Subquery(pickup_started)).values_list("status", "completed_at",
                                                                               "pickup_started"))
    durations = [(done - began).total_seconds() for status, done, began in rows
                 if status == LegStatus.COMPLETED and began and done >= began]
    return {
        "onfleet_tasks_created": created,
        "deliveries_completed": sum(1 for status, _d, _b in rows if status == LegStatus.COMPLETED),
        "deliveries_failed": sum(1 for status, _d, _b in rows if status == LegStatus.FAILED),
        "average_delivery_minutes": round(sum(durations) / len(durations) / 60) if durations else None,
    }

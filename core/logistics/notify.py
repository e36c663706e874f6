"""The customer's delivery messages, through the notifications area (deduplicated per event and channel)."""

from __future__ import annotations

from core.bookings.models import BookingStatus
from core.logistics.models import DeliveryTask, LegKind, LegStatus


def leg_notify(*, leg_id, trigger: str) -> list:
    """Driver on the way (a started leg, or its ETA) and delivered (the drop-off completed)."""
    from core.notifications.services import notify_booking_event

    leg = DeliveryTask.objects.select_related("booking").filter(pk=leg_id).first()
    if leg is None or leg.booking.status == BookingStatus.CANCELLED:
        return []
    if trigger in ("taskStarted", "taskEta") and leg.status == LegStatus.IN_PROGRESS:
        return notify_booking_event(booking=leg.booking, event="tracking_update")
    if trigger == "taskCompleted" and leg.kind == LegKind.DROPOFF and leg.status == LegStatus.COMPLETED:
        return notify_booking_event(booking=leg.booking, event="delivery_confirmation")
    return []

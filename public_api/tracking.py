"""`GET bookings/{id}/tracking/` (token): the legs' progress and a short timeline (API_CONTRACT.md "Tracking")."""

import datetime as dt
from typing import Literal

from ninja import Router, Schema, Status

from core.bookings.services import booking_get_for_customer
from core.logistics.selectors import booking_tracking
from public_api.bookings import TOKEN_HEADER
from public_api.schemas import ErrorOut

router = Router(tags=["tracking"])


class TrackingLegOut(Schema):
    kind: Literal["pickup", "dropoff"]
    status: Literal["created", "assigned", "in_progress", "completed", "failed", "cancelled"]
    eta: dt.datetime | None
    completed_at: dt.datetime | None
    driver_name: str | None
    tracking_url: str | None


class TrackingEventOut(Schema):
    at: dt.datetime
    kind: Literal["pickup", "dropoff"]
    type: str
    description: str


class TrackingOut(Schema):
    booking_number: str
    status: str
    legs: list[TrackingLegOut]
    events: list[TrackingEventOut]


@router.get("{booking_id}/tracking/", response={200: TrackingOut, 404: ErrorOut}, summary="Delivery tracking (token)")
def tracking(request, booking_id: str, x_booking_token: str | None = TOKEN_HEADER):
    """Per leg (pickup, then drop-off): status, ETA, the driver's first name, Onfleet's tracking link and when it
    was completed; `events` newest first. Before dispatch `legs` is empty."""
    booking = booking_get_for_customer(booking_id=booking_id, token=x_booking_token)
    return Status(200, booking_tracking(booking))

"""What a booking's legs look like (windows, addresses, contact), whether it may be dispatched, and how."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings

from core.bookings.models import PICKUP_WINDOW_HOURS, Booking, BookingStatus, PaymentState
from core.integrations.onfleet import TaskSpec
from core.logistics.errors import DispatchNotConfigured
from core.logistics.models import DeliveryTask, LegKind

# The pickup window's New York hours (one definition, in bookings); the drop-off may follow any time after the
# pickup window opens.
WINDOW_HOURS = PICKUP_WINDOW_HOURS
DROPOFF_LATEST_HOUR = 21
META_BOOKING = "totetaxi_booking_id"
META_LEG = "totetaxi_leg"
LOCAL, ONFLEET = "local", "onfleet"


def dispatch_blockers(booking: Booking) -> list[str]:
    """Why this booking may not be dispatched yet ([] = dispatchable). THE one dispatchability rule.

    Paid (and not cancelled), and, for a booking whose building asks for one, its COI gate passed (every
    building that requires a certificate has a valid or waived one: core.documents.gate).
    """
    from core.documents.gate import coi_gate_blockers

    if booking.status not in (BookingStatus.PAID, BookingStatus.SCHEDULED, BookingStatus.IN_PROGRESS):
        return [f"the booking is {BookingStatus(booking.status).label.lower()}"]
    # balance_due: paid, then moved to a dearer date; the move still happens while the difference is chased
    if booking.payment_status not in (PaymentState.PAID, PaymentState.PARTIALLY_REFUNDED, PaymentState.BALANCE_DUE):
        return ["the booking is not paid"]
    return [blocker.message for blocker in coi_gate_blockers(booking)]


def dispatch_mode() -> str:
    """ONFLEET with an API key; otherwise LOCAL DISPATCH MODE (legs live in our database only), which
    production refuses unless ONFLEET_LOCAL_DISPATCH is set on purpose."""
    if settings.ONFLEET_API_KEY:
        return ONFLEET
    if settings.ONFLEET_LOCAL_DISPATCH or settings.DEBUG or getattr(settings, "TESTING", False) \
            or getattr(settings, "ENVIRONMENT", "production") != "production":
        return LOCAL
    raise DispatchNotConfigured("Onfleet is not configured: set ONFLEET_API_KEY, or ONFLEET_LOCAL_DISPATCH=1 "
                                "to dispatch from the console without Onfleet.")


def _window(day: dt.date, start_hour: int, end_hour: int) -> tuple[dt.datetime, dt.datetime]:
    tz = ZoneInfo(settings.TIME_ZONE)
    return (dt.datetime.combine(day, dt.time(start_hour), tzinfo=tz),
            dt.datetime.combine(day, dt.time(end_hour), tzinfo=tz))


def leg_fields(booking: Booking, kind: str) -> dict:
    """The leg's copy of the booking's date, window, address, contact and instructions."""
    start_hour, end_hour = WINDOW_HOURS.get(booking.pickup_window, WINDOW_HOURS["flexible"])
    if kind == LegKind.DROPOFF:
        end_hour = DROPOFF_LATEST_HOUR
    start, end = _window(booking.pickup_date, start_hour, end_hour)
    address = booking.pickup_address if kind == LegKind.PICKUP else booking.dropoff_address
    return {
        "window_start": start, "window_end": end, "address": str(address)[:500],
        "contact_name": booking.customer.name[:200], "contact_phone": booking.customer.phone,
        "special_instructions": booking.notes,
    }


SYNCED_FIELDS = ("window_start", "window_end", "address", "contact_name", "contact_phone", "special_instructions")


def task_spec(leg: DeliveryTask, *, booking_number: str, dependencies: tuple[str, ...] = ()) -> TaskSpec:
    notes = f"ToteTaxi {booking_number} – {leg.get_kind_display()}"
    if leg.access_code:
        notes += f"\nAccess code: {leg.access_code}"
    if leg.special_instructions:
        notes += f"\n{leg.special_instructions}"
    return TaskSpec(
        address=leg.address, recipient_name=leg.contact_name, recipient_phone=leg.contact_phone, notes=notes,
        complete_after=leg.window_start, complete_before=leg.window_end, pickup_task=leg.kind == LegKind.PICKUP,
        metadata={META_BOOKING: str(leg.booking_id), META_LEG: leg.kind, "totetaxi_booking_number": booking_number},
        dependencies=dependencies,
    )

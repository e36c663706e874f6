"""`/bookings/`: quotes, creating a booking, and the customer's token-protected view of it."""

import uuid

from django.utils import timezone
from ninja import Header, Router, Status

from core.bookings.idempotency import request_fingerprint
from core.bookings.models import Booking, BookingStatus, PickupWindow
from core.bookings.requests import booking_request_with_changes
from core.bookings.selectors import booking_next_steps, booking_specialty_codes
from core.bookings.services import (
    booking_create,
    booking_create_idempotent,
    booking_get_for_customer,
    booking_update,
    quote_preview,
)
from core.bookings.services.access import PAY_LINK_WHILE_OWING
from core.common.money import money_str
from core.common.ratelimit import check_request_rate_limit
from public_api.schemas import (
    BookingCreatedOut,
    BookingOut,
    BookingRequestIn,
    BookingUpdateIn,
    ConfirmationOut,
    ErrorOut,
    QuoteOut,
)

router = Router(tags=["bookings"])

TOKEN_HEADER = Header(None, alias="X-Booking-Token", description="The access_token returned when booking")


def _address(address) -> dict:
    return {"line1": address.line1, "line2": address.line2, "city": address.city, "state": address.state,
            "zip_code": address.zip_code}


def _hold_expires_at(booking: Booking):
    # The hold is what an unpaid booking has instead of payment: once paid (or cancelled) it means nothing.
    return booking.hold_expires_at if booking.status == BookingStatus.PENDING else None


def render_created(booking: Booking, token: str) -> dict:
    """The 201 body (also stored for Idempotency-Key replays, so it must be plain JSON)."""
    return {
        "id": str(booking.pk),
        "booking_number": booking.booking_number,
        "status": booking.status,
        "booking_type": booking.booking_type,
        "pickup_date": booking.pickup_date.isoformat(),
        "pickup_window": booking.pickup_window,
        "price": booking.price_breakdown,
        "total_price": money_str(booking.total_price),
        "access_token": token,
        "hold_expires_at": hold.isoformat() if (hold := _hold_expires_at(booking)) else None,
        "payment_status": booking.payment_status,
    }


def render_booking(booking: Booking) -> dict:
    return {
        "id": str(booking.pk),
        "booking_number": booking.booking_number,
        "status": booking.status,
        "payment_status": booking.payment_status,
        "booking_type": booking.booking_type,
        "pickup_date": booking.pickup_date,
        "pickup_window": booking.pickup_window,
        "package": booking.package.code if booking.package_id else None,
        "item_count": booking.item_count,
        "specialty_items": [
            {"code": line.item.code, "name": line.item.name, "quantity": line.quantity,
             "unit_price": money_str(line.unit_price)}
            for line in booking.specialty_lines.all()
        ],
        "coi_required": booking.coi_required,
        "notes": booking.notes,
        "customer": {"name": booking.customer.name, "email": booking.customer.email,
                     "phone": booking.customer.phone},
        "pickup_address": _address(booking.pickup_address),
        "dropoff_address": _address(booking.dropoff_address),
        "price": booking.price_breakdown,
        "total_price": money_str(booking.total_price),
        "hold_expires_at": _hold_expires_at(booking),
        "tracking_url": booking.tracking_url or None,
    }


def _service_summary(booking: Booking) -> str:
    if booking.booking_type == "mini_move":
        summary = f"{booking.package.name if booking.package_id else ''} Mini Move, {booking.item_count} items"
    elif booking.booking_type == "standard":
        summary = f"Standard delivery, {booking.item_count} items"
    else:
        summary = "Specialty items"
    extras = [f"{line.quantity} × {line.item.name}" if line.quantity > 1 else line.item.name
              for line in booking.specialty_lines.all()]
    if extras:
        summary += (": " if booking.booking_type == "specialty" else " + ") + ", ".join(extras)
    return summary.strip()


@router.post("preview/", response={200: QuoteOut, 422: ErrorOut, 429: ErrorOut},
             summary="Price a booking request and hold the price as a quote")
def preview(request, payload: BookingRequestIn):
    """The price breakdown plus a `quote_id`: POST bookings/ with it charges this total until `expires_at`,
    even if prices change meanwhile.

    When the date cannot be booked (too soon, beyond the horizon, closed, full, no specialty van) the answer is
    still 200 with the price, `bookable: false`, the `reasons` and the nearest `alternatives`, but no quote:
    `quote_id` and `expires_at` are null. Preview again with another date."""
    check_request_rate_limit(request, route="bookings.preview")
    result = quote_preview(request=payload.to_request(), now=timezone.now())
    quote = result.quote
    return Status(200, QuoteOut.model_validate({
        **result.breakdown, **result.bookability.as_json(),
        "quote_id": str(quote.pk) if quote else None, "expires_at": quote.expires_at if quote else None}))


@router.post("", response={201: BookingCreatedOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut},
             summary="Book", openapi_extra={"description": (
                 "Validates, reserves a slot (held for 30 minutes until paid) and creates the booking. "
                 "The `access_token` is returned only here. With an `Idempotency-Key`, a repeat with the same "
                 "body returns the same booking; with a different body, 409 `idempotency_conflict`. "
                 "409 `date_unavailable` lists alternatives; 409 `quote_expired` / `quote_mismatch` when the "
                 "quote can no longer be honoured.")})
def create(request, payload: BookingRequestIn,
           idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=255,
                                                description="Optional; makes retries safe")):
    check_request_rate_limit(request, route="bookings.create")
    booking_request = payload.to_request()
    if idempotency_key is not None:
        status, body = booking_create_idempotent(
            request=booking_request, idempotency_key=idempotency_key,
            request_hash=request_fingerprint(payload.model_dump(mode="json")), render=render_created,
        )
        return Status(status, body)
    booking, token = booking_create(request=booking_request)
    return Status(201, render_created(booking, token))


@router.get("{uuid:booking_id}/", response={200: BookingOut, 404: ErrorOut}, summary="The booking (token)")
def detail(request, booking_id: uuid.UUID, x_booking_token: str | None = TOKEN_HEADER):
    """Status, price, addresses, customer, payment status and tracking url. Wrong or missing token: 404.

    A payment link's token opens it too, while the booking owes money."""
    booking = booking_get_for_customer(booking_id=booking_id, token=x_booking_token, pay_link=PAY_LINK_WHILE_OWING)
    return Status(200, render_booking(booking))


@router.patch("{uuid:booking_id}/", response={200: BookingOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut,
                                         429: ErrorOut},
              summary="Change a pending booking (token)")
def update(request, booking_id: uuid.UUID, payload: BookingUpdateIn, x_booking_token: str | None = TOKEN_HEADER):
    """Date, window, addresses, notes or items, while the booking is pending; re-priced and re-checked for
    capacity. Otherwise 409 `invalid_transition`."""
    check_request_rate_limit(request, route="bookings.update")
    booking = booking_get_for_customer(booking_id=booking_id, token=x_booking_token)
    changes = payload.model_dump(exclude_unset=True)
    specialty = booking_specialty_codes(booking)
    if payload.specialty_items is not None:
        specialty = tuple((i.code, i.quantity) for i in payload.specialty_items)
    new_request = booking_request_with_changes(
        booking, specialty_items=specialty,
        pickup_date=payload.pickup_date, pickup_window=payload.pickup_window, package=payload.package,
        item_count=payload.item_count, coi_required=payload.coi_required, notes=payload.notes,
        pickup_address=payload.pickup_address.to_data() if payload.pickup_address else None,
        dropoff_address=payload.dropoff_address.to_data() if payload.dropoff_address else None,
    )
    if not changes:
        return Status(200, render_booking(booking))
    booking_update(booking=booking, request=new_request)
    fresh = booking_get_for_customer(booking_id=booking_id, token=x_booking_token)
    return Status(200, render_booking(fresh))


@router.get("{uuid:booking_id}/confirm/", response={200: ConfirmationOut, 404: ErrorOut},
            summary="Confirmation page data (token)")
def confirmation(request, booking_id: uuid.UUID, x_booking_token: str | None = TOKEN_HEADER):
    """Booking number, status, service summary, date and window, addresses, price, payment status and what the
    customer still has to do (`next_steps`: payment_needed, coi_needed …)."""
    booking = booking_get_for_customer(booking_id=booking_id, token=x_booking_token)
    detail = render_booking(booking)
    shared = ("booking_number", "status", "payment_status", "pickup_date", "pickup_window", "pickup_address",
              "dropoff_address", "price", "total_price", "hold_expires_at", "tracking_url")
    return Status(200, {
        **{key: detail[key] for key in shared},
        "status_label": str(BookingStatus(booking.status).label),
        "service_summary": _service_summary(booking),
        "pickup_window_label": str(PickupWindow(booking.pickup_window).label),
        "next_steps": booking_next_steps(booking),
    })

"""The checks every booking write shares: request validation, the service-day lock, bookability, pricing."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from core.bookings.errors import (
    BookingValidationError,
    DateUnavailable,
)
from core.bookings.models import (
    NOTES_MAX_LENGTH,
    PickupWindow,
)
from core.bookings.requests import BookingRequest
from core.catalog import availability
from core.catalog.models import ServiceDay
from core.catalog.pricing import PriceBreakdown, calculate_price
from core.catalog.selectors import (
    ServiceDayState,
    catalog_snapshot,
    service_day_state,
)
from core.customers.services import (
    validate_address,
    validate_customer,
)

MAX_PRICING_DAYS_AHEAD = 400  # price dates up to about a year out (booking is limited by the horizon)


def validate_request(request: BookingRequest, *, require_contact: bool, now: dt.datetime | None = None) -> None:
    errors: dict[str, list[str]] = {}
    if request.pickup_window not in PickupWindow.values:
        errors["pickup_window"] = ["Choose morning, afternoon or flexible."]
    today = availability.service_today(now)
    if request.pickup_date < today:
        errors["pickup_date"] = ["The pickup date is in the past."]
    elif (request.pickup_date - today).days > MAX_PRICING_DAYS_AHEAD:
        errors["pickup_date"] = [f"Choose a date within {MAX_PRICING_DAYS_AHEAD} days."]
    if require_contact:
        if request.customer is None:
            errors["customer"] = ["Enter the customer's name, email and phone."]
        else:
            errors.update(validate_customer(request.customer)[0])
    for prefix, address in (("pickup_address", request.pickup_address),
                            ("dropoff_address", request.dropoff_address)):
        if address is not None:
            errors.update(validate_address(address, prefix=prefix))
        elif require_contact:
            errors[prefix] = ["Enter the address."]
    if len(request.notes) > NOTES_MAX_LENGTH:
        errors["notes"] = [f"Keep notes under {NOTES_MAX_LENGTH:,} characters."]
    if errors:
        raise BookingValidationError("The booking request is not valid.", fields=errors)


def lock_service_day(on: dt.date) -> None:
    """Serialise capacity decisions for one date: every create/move onto `on` queues on this row lock.

    One statement: the upsert creates the row if needed and, on PostgreSQL, DO UPDATE takes the row lock (a
    concurrent creator waits here until the holder commits, then counts the holder's booking).
    SQLite's IMMEDIATE transactions already serialise writers.
    """
    table = ServiceDay._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (date) VALUES (%s) ON CONFLICT (date) DO UPDATE SET date = EXCLUDED.date",  # noqa: S608
            [connection.ops.adapt_datefield_value(on)],
        )


def suggesting_alternatives(fn, request: BookingRequest, *, now: dt.datetime):
    """Run `fn`; a DateUnavailable leaves with the nearest alternatives, looked up after the transaction
    (and its service-day lock) has ended, so the losers of a race for the last slot don't hold up the queue."""
    try:
        return fn()
    except DateUnavailable as exc:
        suggest = getattr(exc, "suggest_alternatives", None)  # a building's move days (core.documents)
        alternatives = suggest(request, now=now) if suggest else availability.check_date(
            request.pickup_date, request.booking_type, now=now).alternatives
        exc.fields["alternatives"] = [d.isoformat() for d in alternatives]
        raise


def check_bookable(request: BookingRequest, *, now: dt.datetime, exclude_booking_id=None) -> ServiceDayState:
    """Inside the service-day lock: is there still a slot on the date, for this service type? (one query)
    First: do the buildings at its addresses allow moves that day? (one query)"""
    from core.documents.buildings import check_move_day

    check_move_day(request, booking_id=exclude_booking_id)
    state = service_day_state(request.pickup_date, now=now, exclude_booking_id=exclude_booking_id)
    result = availability.evaluate(
        request.pickup_date, request.booking_type, van=state.van, used=state.used,
        first=availability.first_bookable_date(now), last=availability.last_bookable_date(now),
    )
    reasons = list(result.reasons)
    if request.specialty_items and not result.specialty_items_available and "specialty_unavailable" not in reasons:
        reasons.append("specialty_unavailable")
    if reasons:
        raise DateUnavailable(f"{request.pickup_date:%A, %B %-d, %Y} cannot be booked ({', '.join(reasons)}).",
                              fields={"pickup_date": reasons})
    return state


def price_booking_request(request: BookingRequest, *, now: dt.datetime | None = None) -> PriceBreakdown:
    """Price a request with the catalog as it is now for its date (used by calculate-price and preview)."""
    validate_request(request, require_contact=False, now=now)
    return calculate_price(request.price_request(), catalog_snapshot(request.pickup_date))

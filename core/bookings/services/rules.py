"""The checks every booking write shares: request validation, the service-day lock, bookability, pricing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

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
from core.catalog.pricing import PriceBreakdown, SpecialtyInfo, calculate_price
from core.catalog.selectors import (
    ServiceDayState,
    catalog_snapshot,
    catalog_static,
    service_day_state,
)
from core.common.text import text_problem
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
    texts = [("package", request.package), ("notes", request.notes), ("quote_id", request.quote_id),
             *((f"specialty_items.{i}.code", code) for i, (code, _qty) in enumerate(request.specialty_items))]
    for field, value in texts:
        if value and (problem := text_problem(value)):
            errors[field] = [problem]
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
        items = catalog_static()["specialty_items"]
        rules = getattr(exc, "rules", None)
        alternatives = request_alternatives(request, items=items, now=now, rules=rules)
        exc.fields["alternatives"] = [d.isoformat() for d in alternatives]
        if rules is not None:
            exc.fields["alternative_windows"] = list(same_day_windows(request, rules=rules, items=items, now=now))
        raise


def _needs_specialty_van(request: BookingRequest, items: dict[str, SpecialtyInfo]) -> bool:
    """Some requested item requires van availability (an unknown code is left to pricing to refuse)."""
    return any(code in items and items[code].requires_van_availability for code, _qty in request.specialty_items)


def request_alternatives(request: BookingRequest, *, items: dict[str, SpecialtyInfo], now: dt.datetime,
                         rules=None) -> tuple[dt.date, ...]:
    """The nearest dates the request could be booked on instead (one query); with the `rules` of buildings that
    refused it (core.documents.buildings), later days that every building allows."""
    day_allowed = None
    if rules is not None:
        allowed = rules.date_allowed_for(request.pickup_window)

        def day_allowed(day: dt.date) -> bool:
            return day > request.pickup_date and allowed(day)

    return availability.check_date(request.pickup_date, request.booking_type, now=now, day_allowed=day_allowed,
                                   needs_specialty_van=_needs_specialty_van(request, items)).alternatives


def same_day_windows(request: BookingRequest, *, rules, items: dict[str, SpecialtyInfo], now: dt.datetime
                     ) -> tuple[str, ...]:
    """Other pickup windows on the requested day that the buildings allow, when the day itself can be booked
    (one query; none when the day is refused anyway)."""
    on = request.pickup_date
    windows = tuple(w for w in rules.windows() if w != request.pickup_window)
    if not windows or not rules.day_ok(on):
        return ()
    state = availability.window_state(on, None, None, now=now)
    if unbookable_reasons(request, van=state.vans.get(on), used=state.used.get(on, 0), items=items, now=now):
        return ()
    return windows


def unbookable_reasons(request: BookingRequest, *, van, used: int, items: dict[str, SpecialtyInfo],
                       now: dt.datetime) -> list[str]:
    """Why the request cannot be booked on its date (empty when it can): the date's own rules, and specialty
    items that require van availability on a date without specialty vans (items that don't, may be booked).
    `items`: the active specialty items by code (an unknown code is left to pricing to refuse)."""
    result = availability.evaluate(
        request.pickup_date, request.booking_type, van=van, used=used, van_free_specialty=True,
        first=availability.first_bookable_date(now), last=availability.last_bookable_date(now),
    )
    reasons = list(result.reasons)
    if not result.specialty_vans and _needs_specialty_van(request, items):
        reasons.append("specialty_unavailable")
    return reasons


def check_bookable(request: BookingRequest, *, now: dt.datetime, exclude_booking_id=None,
                   current_date: dt.date | None = None) -> ServiceDayState:
    """Inside the service-day lock: is there still a slot on the date, for this request? (one query)
    First: do the buildings at its addresses allow the move that day, in that window, with that notice? (one
    query)

    `current_date`: the date a booking being changed has now. A change that keeps it (items, addresses, the
    window) is not a new booking on that date, so the catalog's lead time does not refuse it."""
    from core.documents.buildings import check_move_day

    check_move_day(request, today=availability.service_today(now), booking_id=exclude_booking_id)
    state = service_day_state(request.pickup_date, now=now, exclude_booking_id=exclude_booking_id)
    items = catalog_static(version=state.catalog_version)["specialty_items"]
    reasons = unbookable_reasons(request, van=state.van, used=state.used, items=items, now=now)
    if current_date is not None and request.pickup_date == current_date:
        reasons = [reason for reason in reasons if reason != "lead_time"]
    if reasons:
        raise DateUnavailable(f"{request.pickup_date:%A, %B %-d, %Y} cannot be booked ({', '.join(reasons)}).",
                              fields={"pickup_date": reasons})
    return state


@dataclass(frozen=True)
class Bookability:
    """Whether a request could be booked on its date as things stand: read outside the service-day lock, so a
    hint for the customer (booking re-checks under the lock)."""

    reasons: tuple[str, ...] = ()  # availability's codes: lead_time, beyond_horizon, closed, fully_booked, …
    alternatives: tuple[dt.date, ...] = ()  # when not bookable: the nearest bookable dates, soonest first
    alternative_windows: tuple[str, ...] = ()  # refused by a building's hours: its windows on the same day

    @property
    def bookable(self) -> bool:
        return not self.reasons

    def as_json(self) -> dict:
        return {"bookable": self.bookable, "reasons": list(self.reasons),
                "alternatives": [day.isoformat() for day in self.alternatives],
                "alternative_windows": list(self.alternative_windows)}


def request_bookability(request: BookingRequest, *, items: dict[str, SpecialtyInfo], now: dt.datetime
                        ) -> Bookability:
    """One read (and one more for the alternatives when the date cannot be booked); with addresses, one more
    for their buildings' move days, hours and notice (create refuses those too, so preview must not quote them)."""
    from core.documents.buildings import check_move_day
    from core.documents.errors import BuildingRefusal

    on = request.pickup_date
    try:
        check_move_day(request, today=availability.service_today(now))
    except BuildingRefusal as exc:
        return Bookability((exc.code.value,),
                           request_alternatives(request, items=items, now=now, rules=exc.rules),
                           same_day_windows(request, rules=exc.rules, items=items, now=now))
    state = availability.window_state(on, None, None, now=now)
    reasons = unbookable_reasons(request, van=state.vans.get(on), used=state.used.get(on, 0), items=items, now=now)
    if not reasons:
        return Bookability()
    return Bookability(tuple(reasons), request_alternatives(request, items=items, now=now))


def price_booking_request(request: BookingRequest, *, now: dt.datetime | None = None) -> PriceBreakdown:
    """Price a request with the catalog as it is now for its date."""
    validate_request(request, require_contact=False, now=now)
    return calculate_price(request.price_request(), catalog_snapshot(request.pickup_date))


def price_and_check(request: BookingRequest, *, now: dt.datetime | None = None
                    ) -> tuple[PriceBreakdown, Bookability]:
    """calculate-price: the price with the catalog as it is now, and whether the date can be booked (two reads)."""
    now = now or timezone.now()
    validate_request(request, require_contact=False, now=now)
    snapshot = catalog_snapshot(request.pickup_date)
    breakdown = calculate_price(request.price_request(), snapshot)
    return breakdown, request_bookability(request, items=snapshot.specialty_items, now=now)

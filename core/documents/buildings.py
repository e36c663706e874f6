"""Buildings: address normalisation, which buildings a booking touches, and the days they allow moves."""

from __future__ import annotations

import datetime as dt
import re

from core.documents.models import Building

_WORDS = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "place": "pl", "boulevard": "blvd",
    "drive": "dr", "lane": "ln", "court": "ct", "terrace": "ter", "parkway": "pkwy", "highway": "hwy",
    "east": "e", "west": "w", "north": "n", "south": "s", "square": "sq", "plaza": "plz",
}


def normalize_address(line1: str, zip_code: str) -> str:
    """"245 East 72nd Street", "10021-1234" → "245 e 72 st|10021" (case, punctuation, ordinals, suffixes)."""
    text = re.sub(r"[^a-z0-9 ]+", " ", (line1 or "").lower())
    words = [_WORDS.get(w, w) for w in text.split()]
    words = [re.sub(r"^(\d+)(st|nd|rd|th)$", r"\1", w) for w in words]
    return f"{' '.join(words)}|{(zip_code or '').strip()[:5]}"


def building_for_address(address) -> Building | None:
    if address is None:
        return None
    return Building.objects.filter(normalized_address=normalize_address(address.line1, address.zip_code)).first()


def booking_buildings(booking) -> dict[str, Building]:
    """{"pickup": Building, "dropoff": Building} for the booking's addresses that are known buildings (1 query)."""
    by_role = {role: normalize_address(addr.line1, addr.zip_code)
               for role, addr in (("pickup", booking.pickup_address), ("dropoff", booking.dropoff_address))}
    found = {b.normalized_address: b for b in Building.objects.filter(normalized_address__in=by_role.values())}
    return {role: found[key] for role, key in by_role.items() if key in found}


def allows_moves_on(building: Building, day: dt.date) -> bool:
    return not building.move_weekdays or day.isoweekday() in building.move_weekdays


def check_move_day(request, *, booking_id=None) -> None:
    """Inside booking create/update: a building on the request that does not allow moves that day refuses it
    (409 building_closed, alternatives added after the transaction). One query (two when moving a booking)."""
    from core.bookings.models import Booking
    from core.documents.errors import BuildingClosed

    addresses = [request.pickup_address, request.dropoff_address]
    if booking_id is not None and None in addresses:  # a change that keeps an address: the booking's own
        booking = Booking.objects.select_related("pickup_address", "dropoff_address").get(pk=booking_id)
        addresses = [addresses[0] or booking.pickup_address, addresses[1] or booking.dropoff_address]
    keys = [normalize_address(a.line1, a.zip_code) for a in addresses if a is not None]
    if not keys:
        return
    closed = [b for b in Building.objects.filter(normalized_address__in=keys).exclude(move_weekdays=[])
              if not allows_moves_on(b, request.pickup_date)]
    if closed:
        names = " and ".join(b.name for b in closed)
        raise BuildingClosed(f"{names} does not allow moves on {request.pickup_date:%A, %B %-d, %Y}.",
                             fields={"pickup_date": ["building_closed"]}, buildings=closed)

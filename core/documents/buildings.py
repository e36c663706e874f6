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

"""Buildings: address normalisation, which buildings a booking touches, and the days, hours and notice they
require for a move (one rule, asked by booking create/update and preview)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.bookings.models import PICKUP_WINDOW_HOURS, PickupWindow
from core.catalog.pricing import is_us_federal_holiday
from core.customers.addresses import normalize_address
from core.documents.models import Building


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


def allows_window(building: Building, window: str) -> bool:
    """The whole pickup window lies inside the building's move hours (the crew may arrive any time in it)."""
    start, end = PICKUP_WINDOW_HOURS.get(window, PICKUP_WINDOW_HOURS[PickupWindow.FLEXIBLE])
    return ((building.move_hours_start is None or building.move_hours_start <= dt.time(start))
            and (building.move_hours_end is None or dt.time(end) <= building.move_hours_end
                 or building.move_hours_end == dt.time(0)))  # 00:00 as the end: until midnight


def is_business_day(day: dt.date) -> bool:
    """Monday to Friday and not a US federal holiday (observed dates; the calendar pricing's holiday rule uses)."""
    return day.isoweekday() <= 5 and not is_us_federal_holiday(day)


def add_business_days(today: dt.date, days: int) -> dt.date:
    """The `days`-th business day after `today` (`today` itself when `days` is 0)."""
    day = today
    while days > 0:
        day += dt.timedelta(days=1)
        if is_business_day(day):
            days -= 1
    return day


@dataclass(frozen=True)
class BuildingRules:
    """What the buildings at a request's addresses allow: move days, move hours and notice in business days."""

    buildings: tuple[Building, ...]
    today: dt.date  # the New York date the request is made on

    @property
    def earliest(self) -> dt.date:
        """The first pickup date every building's lead time allows."""
        lead = max((b.lead_time_business_days for b in self.buildings), default=0)
        return add_business_days(self.today, lead)

    def day_ok(self, day: dt.date) -> bool:
        return day >= self.earliest and all(allows_moves_on(b, day) for b in self.buildings)

    def window_ok(self, window: str) -> bool:
        return all(allows_window(b, window) for b in self.buildings)

    def windows(self) -> list[str]:
        """The pickup windows every building allows, narrowest first (flexible is the widest)."""
        return [w for w in (PickupWindow.MORNING, PickupWindow.AFTERNOON, PickupWindow.FLEXIBLE) if self.window_ok(w)]

    def date_allowed_for(self, window: str):
        """For alternatives: a later day on which the request (in its window, or another allowed one if its own
        is outside the buildings' hours) meets every building's rule."""
        if not (self.window_ok(window) or self.windows()):
            return lambda day: False
        return self.day_ok


def building_rules(request, *, today: dt.date, booking=None) -> BuildingRules:
    """The rules of the known buildings at the request's addresses (one query); `booking`: the booking being
    changed, whose addresses stand where the request keeps them."""
    addresses = [request.pickup_address, request.dropoff_address]
    if booking is not None:
        addresses = [addresses[0] or booking.pickup_address, addresses[1] or booking.dropoff_address]
    keys = [normalize_address(a.line1, a.zip_code) for a in addresses if a is not None]
    found = tuple(Building.objects.filter(normalized_address__in=keys)) if keys else ()
    return BuildingRules(found, today)


def check_move_day(request, *, today: dt.date, booking_id=None) -> BuildingRules:
    """Inside booking create/update (and preview): refuse a request the buildings at its addresses do not allow.

    Move days and hours → 409 building_closed; too little notice → 409 building_lead_time, asked only of a new
    booking or one moved to another date or address (a change of notes the day before stays possible).
    Alternatives are added after the transaction. One query; two when changing a booking.
    """
    from core.bookings.models import Booking
    from core.documents.errors import BuildingClosed, BuildingLeadTime

    booking = None
    if booking_id is not None:
        booking = Booking.objects.select_related("pickup_address", "dropoff_address").get(pk=booking_id)
    rules = building_rules(request, today=today, booking=booking)
    on, window = request.pickup_date, request.pickup_window
    closed = [b for b in rules.buildings if not allows_moves_on(b, on)]
    if closed:
        names = " and ".join(b.name for b in closed)
        raise BuildingClosed(f"{names} does not allow moves on {on:%A, %B %-d, %Y}.",
                             fields={"pickup_date": ["building_closed"]}, rules=rules, window=window)
    out_of_hours = [b for b in rules.buildings if not allows_window(b, window)]
    if out_of_hours:
        names = " and ".join(f"{b.name} ({_hours(b)})" for b in out_of_hours)
        label = PickupWindow(window).label if window in PickupWindow.values else window
        raise BuildingClosed(f"{names} does not allow moves in the {label.lower()} window.",
                             fields={"pickup_window": ["building_closed"]}, rules=rules, window=window)
    moved = booking is None or on != booking.pickup_date or request.pickup_address is not None \
        or request.dropoff_address is not None
    if moved and on < rules.earliest:
        strict = max(rules.buildings, key=lambda b: b.lead_time_business_days)
        raise BuildingLeadTime(
            f"{strict.name} needs {strict.lead_time_business_days} business days' notice before a move: the "
            f"earliest pickup date is {rules.earliest:%A, %B %-d, %Y}.",
            fields={"pickup_date": ["building_lead_time"], "earliest_date": rules.earliest.isoformat()},
            rules=rules, window=window)
    return rules


def _hours(building: Building) -> str:
    start = f"{building.move_hours_start:%-I:%M %p}" if building.move_hours_start else "any time"
    end = f"{building.move_hours_end:%-I:%M %p}" if building.move_hours_end else "any time"
    return f"moves {start}–{end}"

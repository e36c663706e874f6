"""Which dates can be booked: van capacity, specialty availability, lead time and horizon."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

ALTERNATIVES_WINDOW_DAYS = 14
ALTERNATIVES_COUNT = 3


@dataclass(frozen=True)
class DateAvailability:
    date: dt.date
    service_type: str
    available: bool
    capacity: int
    used: int
    specialty_items_available: bool  # some specialty item can be booked on the date (see evaluate)
    reasons: tuple[str, ...] = ()
    alternatives: tuple[dt.date, ...] = field(default_factory=tuple)
    specialty_vans: bool = True  # the date has specialty vans: items that require one can be booked

    @property
    def remaining_capacity(self) -> int:
        return max(self.capacity - self.used, 0)


def service_today(now: dt.datetime | None = None) -> dt.date:
    return timezone.localdate(now or timezone.now())


def first_bookable_date(now: dt.datetime | None = None) -> dt.date:
    """No same-day bookings; after the cut-off hour, tomorrow closes too."""
    now = timezone.localtime(now or timezone.now())
    cfg = settings.TOTETAXI
    lead = max(int(cfg["MIN_LEAD_DAYS"]), 1)
    if now.hour >= int(cfg["SAME_DAY_CUTOFF_HOUR"]):
        lead += 1
    return now.date() + dt.timedelta(days=lead)


def last_bookable_date(now: dt.datetime | None = None) -> dt.date:
    return service_today(now) + dt.timedelta(days=int(settings.TOTETAXI["BOOKING_HORIZON_DAYS"]))


def active_booking_filter(now: dt.datetime) -> Q:
    """Bookings that hold a slot: not cancelled, and not an unpaid hold that has expired."""
    from core.bookings.models import BookingStatus

    return ~Q(status=BookingStatus.CANCELLED) & ~Q(status=BookingStatus.PENDING, hold_expires_at__lt=now)


def used_slots_on(on: dt.date, *, now: dt.datetime) -> int:
    from core.bookings.models import Booking

    return Booking.objects.filter(active_booking_filter(now), pickup_date=on).count()


def evaluate(on, service_type, *, van, used: int, first: dt.date, last: dt.date, van_free_specialty: bool
             ) -> DateAvailability:
    """The date's availability for a service type.

    `van_free_specialty`: some active specialty item does not require van availability, so specialty bookings
    stay possible (for those items) on a date without specialty vans.
    """
    default_capacity = int(settings.TOTETAXI["DEFAULT_DAILY_CAPACITY"])
    capacity = van.capacity_override if van and van.capacity_override is not None else default_capacity
    vans = van.specialty_items_available if van else True
    specialty_ok = vans or van_free_specialty
    reasons = []
    if on < first:
        reasons.append("lead_time")
    elif on > last:
        reasons.append("beyond_horizon")
    if capacity == 0:
        reasons.append("closed")
    elif used >= capacity:
        reasons.append("fully_booked")
    if service_type == "specialty" and not specialty_ok:
        reasons.append("specialty_unavailable")
    return DateAvailability(on, service_type, not reasons, capacity, used, specialty_ok, tuple(reasons),
                            specialty_vans=vans)


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


# Van schedules and used slots for one date plus an optional range, and how many active specialty items need no
# specialty van, in one round trip. Hand-written because
# this is the public API's hottest read: compiling the equivalent two ORM querysets cost ~0.75 ms per request,
# more than the query. The slot rule must stay identical to active_booking_filter() (a test compares them).
_WINDOW_SQL = """
SELECT 'v', date, capacity_override, specialty_items_available FROM catalog_vanschedule
 WHERE is_active AND (date = %(on)s OR (date >= %(lo)s AND date <= %(hi)s))
UNION ALL
SELECT 'b', pickup_date, COUNT(*), NULL FROM bookings_booking
 WHERE (pickup_date = %(on)s OR (pickup_date >= %(lo)s AND pickup_date <= %(hi)s))
   AND status <> 'cancelled'
   AND NOT (status = 'pending' AND hold_expires_at IS NOT NULL AND hold_expires_at < %(now)s)
 GROUP BY pickup_date
UNION ALL
SELECT 'i', NULL, COUNT(*), NULL FROM catalog_specialtyitem WHERE is_active AND NOT requires_van_availability
"""


@dataclass(frozen=True)
class WindowState:
    vans: dict  # date → VanInfo, for dates with an active schedule
    used: dict[dt.date, int]  # date → slots held
    van_free_specialty: bool  # some active specialty item does not require van availability

    def evaluate(self, on: dt.date, service_type: str, *, first: dt.date, last: dt.date) -> DateAvailability:
        return evaluate(on, service_type, van=self.vans.get(on), used=self.used.get(on, 0), first=first, last=last,
                        van_free_specialty=self.van_free_specialty)


def window_state(on: dt.date, lo: dt.date | None, hi: dt.date | None, *, now: dt.datetime) -> WindowState:
    """Van schedules and used slots for `on` and, when given, every date in [lo, hi] (one query)."""
    from core.catalog.selectors import VanInfo

    ops = connection.ops
    if lo is None or hi is None:
        lo, hi = on, on
    params = {"on": ops.adapt_datefield_value(on), "lo": ops.adapt_datefield_value(lo),
              "hi": ops.adapt_datefield_value(hi), "now": ops.adapt_datetimefield_value(now)}
    vans, used, van_free = {}, {}, 0
    with connection.cursor() as cursor:
        cursor.execute(_WINDOW_SQL, params)
        for kind, day, a, b in cursor.fetchall():
            if kind == "v":
                vans[_as_date(day)] = VanInfo(capacity_override=None if a is None else int(a),
                                              specialty_items_available=bool(b), surcharge_override=None)
            elif kind == "b":
                used[_as_date(day)] = int(a)
            else:
                van_free = int(a)
    return WindowState(vans, used, van_free > 0)


def _shift(day: dt.date, days: int) -> dt.date:
    """`day + days`, clamped to the calendar (a fuzzed 9999-12-31 must not overflow)."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max if days > 0 else dt.date.min


def check_date(on: dt.date, service_type: str, *, now: dt.datetime | None = None,
               with_alternatives: bool = True, needs_specialty_van: bool = False,
               day_allowed: Callable[[dt.date], bool] | None = None) -> DateAvailability:
    """The date's availability; with alternatives, the nearest bookable dates (one query in all).

    `needs_specialty_van`: alternatives must also have specialty vans (the request has items that require one).
    `day_allowed`: a further rule on the days (a building's move days); `on` failing it asks for alternatives.
    """
    now = now or timezone.now()
    first, last = first_bookable_date(now), last_bookable_date(now)
    # Alternatives can only be bookable dates, so search around `on` clamped into [first, last]; a date far in
    # the past or future then costs no more than one near today.
    center = min(max(on, first), last)
    alt_from, alt_to = _shift(center, -ALTERNATIVES_WINDOW_DAYS), _shift(center, ALTERNATIVES_WINDOW_DAYS)
    alt_from, alt_to = max(alt_from, first), min(alt_to, last)
    with_range = with_alternatives and alt_from <= alt_to
    state = window_state(on, alt_from if with_range else None, alt_to if with_range else None, now=now)
    def fits(day: dt.date, result: DateAvailability) -> bool:
        return result.available and (result.specialty_vans or not needs_specialty_van) \
            and (day_allowed is None or day_allowed(day))

    result = state.evaluate(on, service_type, first=first, last=last)
    if fits(on, result) or not with_alternatives:
        return result
    candidates = []
    for offset in range(0, ALTERNATIVES_WINDOW_DAYS + 1):
        for day in dict.fromkeys((_shift(center, -offset), _shift(center, offset))):
            if day != on and first <= day <= last and fits(day, state.evaluate(day, service_type, first=first,
                                                                               last=last)):
                candidates.append(day)
        if len(candidates) >= ALTERNATIVES_COUNT:
            break
    # "nearest first" picks them; the contract lists them soonest first.
    alternatives = tuple(sorted(candidates[:ALTERNATIVES_COUNT]))
    return DateAvailability(**{**result.__dict__, "alternatives": alternatives})


def available_dates(service_type: str, *, days_ahead: int = 30, now: dt.datetime | None = None) -> list[dt.date]:
    now = now or timezone.now()
    first, last = first_bookable_date(now), last_bookable_date(now)
    end = min(_shift(service_today(now), days_ahead), last)
    if end < first:
        return []
    state = window_state(first, first, end, now=now)
    out = []
    day = first
    while day <= end:
        if state.evaluate(day, service_type, first=first, last=last).available:
            out.append(day)
        day += dt.timedelta(days=1)
    return out

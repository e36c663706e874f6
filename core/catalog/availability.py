"""Which dates can be booked: van capacity, specialty availability, lead time and horizon."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from core.catalog.models import VanSchedule

ALTERNATIVES_WINDOW_DAYS = 14
ALTERNATIVES_COUNT = 3


@dataclass(frozen=True)
class DateAvailability:
    date: dt.date
    service_type: str
    available: bool
    capacity: int
    used: int
    specialty_items_available: bool
    reasons: tuple[str, ...] = ()
    alternatives: tuple[dt.date, ...] = field(default_factory=tuple)

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


def used_slots(dates_from: dt.date, dates_to: dt.date, *, now: dt.datetime) -> dict[dt.date, int]:
    from core.bookings.models import Booking

    rows = (
        Booking.objects.filter(active_booking_filter(now), pickup_date__gte=dates_from, pickup_date__lte=dates_to)
        .values("pickup_date")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["pickup_date"]: row["n"] for row in rows}


def used_slots_on(on: dt.date, *, now: dt.datetime) -> int:
    from core.bookings.models import Booking

    return Booking.objects.filter(active_booking_filter(now), pickup_date=on).count()


def _evaluate(on, service_type, *, van: VanSchedule | None, used: int, first: dt.date, last: dt.date
              ) -> DateAvailability:
    default_capacity = int(settings.TOTETAXI["DEFAULT_DAILY_CAPACITY"])
    capacity = van.capacity_override if van and van.capacity_override is not None else default_capacity
    specialty_ok = van.specialty_items_available if van else True
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
    return DateAvailability(on, service_type, not reasons, capacity, used, specialty_ok, tuple(reasons))


def check_date(on: dt.date, service_type: str, *, now: dt.datetime | None = None,
               with_alternatives: bool = True) -> DateAvailability:
    """The date's availability; with alternatives, the nearest bookable dates (2 queries in all)."""
    now = now or timezone.now()
    first, last = first_bookable_date(now), last_bookable_date(now)
    window_from = on - dt.timedelta(days=ALTERNATIVES_WINDOW_DAYS) if with_alternatives else on
    window_to = on + dt.timedelta(days=ALTERNATIVES_WINDOW_DAYS) if with_alternatives else on
    vans = {v.date: v for v in VanSchedule.objects.filter(date__gte=window_from, date__lte=window_to,
                                                           is_active=True)}
    used = used_slots(window_from, window_to, now=now)
    result = _evaluate(on, service_type, van=vans.get(on), used=used.get(on, 0), first=first, last=last)
    if result.available or not with_alternatives:
        return result
    candidates = []
    for offset in range(1, ALTERNATIVES_WINDOW_DAYS + 1):
        for day in (on - dt.timedelta(days=offset), on + dt.timedelta(days=offset)):
            if first <= day <= last:
                alt = _evaluate(day, service_type, van=vans.get(day), used=used.get(day, 0), first=first,
                                last=last)
                if alt.available:
                    candidates.append(day)
        if len(candidates) >= ALTERNATIVES_COUNT:
            break
    # "nearest first" picks them; the contract lists them soonest first.
    alternatives = tuple(sorted(candidates[:ALTERNATIVES_COUNT]))
    return DateAvailability(**{**result.__dict__, "alternatives": alternatives})


def available_dates(service_type: str, *, days_ahead: int = 30, now: dt.datetime | None = None) -> list[dt.date]:
    now = now or timezone.now()
    first, last = first_bookable_date(now), last_bookable_date(now)
    end = min(service_today(now) + dt.timedelta(days=days_ahead), last)
    if end < first:
        return []
    vans = {v.date: v for v in VanSchedule.objects.filter(date__gte=first, date__lte=end, is_active=True)}
    used = used_slots(first, end, now=now)
    out = []
    day = first
    while day <= end:
        if _evaluate(day, service_type, van=vans.get(day), used=used.get(day, 0), first=first, last=last).available:
            out.append(day)
        day += dt.timedelta(days=1)
    return out

"""The demo's story: when each booking was made, paid, scheduled, picked up, delivered or cancelled.

Pure planning (no database): given a seeded random generator and "now" it returns every booking's request and
its dated steps, each at a believable New York hour and never in the future. `seed_demo` plays them through
the services with the clock set to each step's time.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from core.bookings.requests import BookingRequest
from core.management.demo import people as cast
from core.notifications.services import reminder_time

COMING_DAYS = 14  # every one of the next two weeks has pickups, tomorrow included
PENDING_HOLDS = 7  # unpaid bookings started within the last half hour, each expiring at its own minute
# Customers book online from breakfast to late evening; the busiest hours weigh most.
CUSTOMER_HOURS = {7: 2, 8: 4, 9: 6, 10: 7, 11: 7, 12: 6, 13: 6, 14: 6, 15: 5, 16: 5, 17: 5, 18: 6, 19: 7,
                  20: 7, 21: 4}
STAFF_HOURS = range(9, 17)  # the office schedules, cancels and refunds between 9 and 5
WINDOW_START = {"morning": (8, 10), "afternoon": (12, 14), "flexible": (9, 15)}  # [first, last) start hour


@dataclass(frozen=True)
class Step:
    at: dt.datetime
    action: str  # create, pay, expire, schedule, remind, start, complete, cancel, refund


@dataclass
class BookingPlan:
    request: BookingRequest
    steps: list[Step] = field(default_factory=list)

    @property
    def created_at(self) -> dt.datetime:
        return self.steps[0].at


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _at(day: dt.date, hour: int, minute: int, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=_tz())


def customer_time(rng: random.Random, day: dt.date) -> dt.datetime:
    hour = rng.choices(list(CUSTOMER_HOURS), weights=list(CUSTOMER_HOURS.values()))[0]
    return _at(day, hour, rng.randint(0, 59), rng.randint(0, 59))


def staff_time(rng: random.Random, day: dt.date) -> dt.datetime:
    return _at(day, rng.choice(STAFF_HOURS), rng.randint(0, 59), rng.randint(0, 59))


def next_staff_time(rng: random.Random, after: dt.datetime) -> dt.datetime:
    """When the office next picks this up: later the same working hours, or the next morning."""
    local = timezone.localtime(after, _tz())
    if local.hour < STAFF_HOURS.start:
        return _at(local.date(), STAFF_HOURS.start, rng.randint(0, 45))
    soon = local + dt.timedelta(minutes=rng.randint(10, 60))
    if soon.hour < STAFF_HOURS.stop:
        return soon
    return _at(local.date() + dt.timedelta(days=1), STAFF_HOURS.start, rng.randint(0, 45), rng.randint(0, 59))


def _request(rng: random.Random, pickup: dt.date, catalog: dict, customers: list) -> BookingRequest:
    kind = rng.choices(["mini_move", "standard", "specialty"], weights=[55, 30, 15])[0]
    package = rng.choice(catalog["packages"]) if kind == "mini_move" else None
    items: tuple = ()
    if kind == "specialty" or (kind == "mini_move" and rng.random() < 0.2):
        items = ((rng.choice(catalog["specialty"]), rng.randint(1, 2)),)
    item_count = {"mini_move": rng.randint(4, package[1] or 45) if package else 0,
                  "standard": rng.randint(1, 8), "specialty": 0}[kind]
    pickup_address, dropoff_address = cast.route(rng)
    return BookingRequest(
        booking_type=kind, pickup_date=pickup, pickup_window=rng.choice(list(WINDOW_START)),
        package=package[0] if package else None, item_count=item_count, specialty_items=items,
        coi_required=rng.random() < 0.35, customer=rng.choice(customers),
        pickup_address=pickup_address, dropoff_address=dropoff_address, notes=rng.choice(cast.NOTES),
    )


def _lifecycle(rng: random.Random, request: BookingRequest, now: dt.datetime, *, keep: bool) -> list[Step]:
    """A booking's steps up to `now`; `keep` bookings are never cancelled (the coming days' guaranteed pickups)."""
    pickup = request.pickup_date
    hold = dt.timedelta(minutes=int(settings.TOTETAXI["HOLD_MINUTES"]))
    booked_on = pickup - dt.timedelta(days=rng.randint(2, 21))
    latest = min(timezone.localdate(now), pickup - dt.timedelta(days=2))
    if booked_on > latest:  # the story has not got there yet: booked at some point in the last three weeks
        booked_on = latest - dt.timedelta(days=rng.randint(0, 20))
    created = customer_time(rng, booked_on)
    if created > now - hold - dt.timedelta(minutes=10):  # later today: paid and settled, so it was yesterday
        created -= dt.timedelta(days=1)
    steps = [Step(created, "create")]
    fate = 1.0 if keep else rng.random()
    if fate < 0.05:  # never paid: the hold sweeper frees the slot a minute or so after the hold ends
        return [*steps, Step(created + hold + dt.timedelta(minutes=rng.randint(1, 4)), "expire")]
    paid = created + dt.timedelta(minutes=rng.randint(2, 20), seconds=rng.randint(0, 59))
    steps.append(Step(paid, "pay"))
    paid_day = timezone.localtime(paid, _tz()).date()
    if fate < 0.09:  # the customer calls to cancel; the office cancels and an admin refunds
        cancel = staff_time(rng, paid_day + dt.timedelta(days=rng.randint(1, max(1, (pickup - paid_day).days - 1))))
        steps += [Step(cancel, "cancel"), Step(cancel + dt.timedelta(minutes=rng.randint(10, 90)), "refund")]
    else:
        scheduled = staff_time(rng, pickup - dt.timedelta(days=rng.randint(1, 3)))
        if scheduled <= paid:
            scheduled = next_staff_time(rng, paid)
        first, last = WINDOW_START[request.pickup_window]
        start = _at(pickup, rng.randrange(first, last), rng.randint(0, 59))
        steps += [Step(scheduled, "schedule"), Step(reminder_time(pickup), "remind"), Step(start, "start"),
                  Step(start + dt.timedelta(minutes=rng.randint(90, 240)), "complete")]
    return [s for s in sorted(steps, key=lambda s: s.at) if s.at <= now]


def plan(rng: random.Random, *, now: dt.datetime, count: int, catalog: dict, customers: list) -> list[BookingPlan]:
    """`count` bookings over the past 90 days and the next 30, oldest first (so booking numbers follow time)."""
    today = timezone.localdate(now)
    offsets = [day for day in range(1, COMING_DAYS + 1) for _ in range(rng.randint(2, 4))]
    kept = len(offsets)
    offsets += [rng.randint(-90, 30) for _ in range(max(count - kept - PENDING_HOLDS, 0))]
    plans = []
    for i, offset in enumerate(offsets):
        request = _request(rng, today + dt.timedelta(days=offset), catalog, customers)
        plans.append(BookingPlan(request, _lifecycle(rng, request, now, keep=i < kept)))
    # Holds still open: started minutes ago, on distinct minutes, so they expire one after another while
    # you watch (at least ten minutes after the seed started, so seeding and startup do not use them up).
    for minutes in rng.sample(range(1, int(settings.TOTETAXI["HOLD_MINUTES"]) - 10), PENDING_HOLDS):
        pickup = today + dt.timedelta(days=rng.randint(2, 30))
        started = now - dt.timedelta(minutes=minutes, seconds=rng.randint(0, 59))
        plans.append(BookingPlan(_request(rng, pickup, catalog, customers), [Step(started, "create")]))
    return sorted(plans, key=lambda p: p.created_at)

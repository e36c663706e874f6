"""Writes to the catalog that bookings depend on: the van schedule (a date's capacity)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from core.catalog.errors import CapacityBelowBookings, VanScheduleExists
from core.catalog.models import VanSchedule
from core.catalog.validation import van_schedule_problems
from core.common.audit import set_actor
from core.common.services import model_update

VAN_SCHEDULE_FIELDS = ["date", "capacity_override", "specialty_items_available", "surcharge_override", "notes",
                       "is_active"]


def van_schedule_save(*, schedule: VanSchedule, actor=None, now: dt.datetime | None = None) -> VanSchedule:
    """Create or change a date's van schedule; its capacity may not drop below the bookings holding a slot.

    The check runs under the service-day lock of every date whose capacity changes, the lock booking_create
    takes before counting: a booking committed before the lock is counted here, and one made after it waits for
    this transaction and then sees the new capacity. A check outside the lock (the console form's) could pass
    while a booking commits in between, leaving more bookings than capacity.
    """
    now = now or timezone.now()
    with transaction.atomic():
        stored = VanSchedule.objects.select_for_update().filter(pk=schedule.pk).first() if schedule.pk else None
        previous_day = stored.date if stored else None
        _check_locked(day=schedule.date, capacity_override=schedule.capacity_override, is_active=schedule.is_active,
                      now=now, previous_day=previous_day, schedule_pk=schedule.pk)
        if stored is None:
            schedule.full_clean(validate_unique=False, validate_constraints=False)
            set_actor(schedule, actor)
            schedule.save(force_insert=True)
        else:
            model_update(instance=schedule, fields=VAN_SCHEDULE_FIELDS, actor=actor)
    return schedule


def van_schedule_delete(*, schedule: VanSchedule, actor=None, now: dt.datetime | None = None) -> None:
    """Remove a date's van schedule: the date goes back to the default capacity, which must hold its bookings.

    The date checked is the stored one, read under the row lock van_schedule_save takes too: the caller's copy
    may name a date another admin has moved the schedule from since, and the override leaves the date it is on.
    """
    now = now or timezone.now()
    with transaction.atomic():
        stored = VanSchedule.objects.select_for_update().filter(pk=schedule.pk).first()
        if stored is None:
            return  # deleted meanwhile
        _check_locked(day=stored.date, capacity_override=None, is_active=False, now=now, schedule_pk=stored.pk)
        set_actor(stored, actor)
        stored.delete()


def _check_locked(*, day: dt.date, capacity_override: int | None, is_active: bool, now: dt.datetime,
                  schedule_pk: int | None, previous_day: dt.date | None = None) -> None:
    # core.bookings builds on the catalog (pricing, availability): imported here, not at module load
    from core.bookings.services import lock_service_day

    for on in sorted({day, previous_day} - {None}):  # one order everywhere: no deadlock
        lock_service_day(on)
    # Under the date's lock, which every schedule write takes: a schedule another admin saved for this date since
    # the form checked (it committed before the lock was ours) is seen here, instead of a 500 from the unique index.
    if VanSchedule.objects.filter(date=day).exclude(pk=schedule_pk).exists():
        message = f"{day:%b %-d} already has a van schedule (another admin may have just added it): edit that one."
        raise VanScheduleExists(message, fields={"date": [message]})
    problems = van_schedule_problems(day=day, capacity_override=capacity_override, is_active=is_active, now=now,
                                     previous_day=previous_day)
    if problems:
        raise CapacityBelowBookings(next(iter(problems.values()))[0], fields=problems)

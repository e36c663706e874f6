"""Catalog rules every interface applies before saving (console forms, imports): field → messages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings

from core.catalog.models import SERVICE_TYPES, SurchargeRule


def surcharge_rule_problems(*, rule_type: str | None, amount: Decimal | None, is_percentage: bool,
                            start_date: dt.date | None, end_date: dt.date | None, recurs_annually: bool,
                            weekdays, applies_to) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    if rule_type == SurchargeRule.RuleType.DATE_RANGE:
        if not start_date:
            add("start_date", "A date-range rule needs a start date.")
        if not end_date:
            add("end_date", "A date-range rule needs an end date.")
        if start_date and end_date and end_date < start_date and not recurs_annually:
            add("end_date", "The end date must be on or after the start date (or make the rule recur annually "
                            "to wrap over New Year).")
    weekdays = weekdays or []
    if not isinstance(weekdays, list) or any(not isinstance(d, int) or not 1 <= d <= 7 for d in weekdays):
        add("weekdays", "Weekdays are a list of numbers 1 (Monday) to 7 (Sunday), e.g. [6, 7].")
    elif rule_type == SurchargeRule.RuleType.DAY_OF_WEEK and not weekdays:
        add("weekdays", "A day-of-week rule needs at least one weekday (1=Mon … 7=Sun).")
    applies_to = applies_to or []
    if not isinstance(applies_to, list) or any(t not in SERVICE_TYPES for t in applies_to):
        add("applies_to", f"A list of service types from {', '.join(SERVICE_TYPES)}; empty means all.")
    if is_percentage and amount is not None and amount > 100:
        add("amount", "A percentage surcharge cannot exceed 100%.")
    return problems


def van_schedule_problems(*, day: dt.date | None, capacity_override: int | None, is_active: bool,
                          now: dt.datetime, previous_day: dt.date | None = None) -> dict[str, list[str]]:
    """Capacity may not drop below the slots bookings already hold on that date.

    A schedule that is inactive or has no override leaves the date at the default capacity, which must hold its
    bookings too. `previous_day`: the date the schedule had before this change, which goes back to the default.
    A check without the service-day lock; core.catalog.services.van_schedule_save repeats it under the lock.
    """
    from core.catalog.availability import used_slots_on

    if not day:
        return {}
    default = int(settings.TOTETAXI["DEFAULT_DAILY_CAPACITY"])
    problems: dict[str, list[str]] = {}
    changes = [("capacity_override", day, capacity_override if is_active and capacity_override is not None
                else default)]
    if previous_day and previous_day != day:
        changes.append(("date", previous_day, default))
    for field, on, capacity in changes:
        used = used_slots_on(on, now=now)
        if capacity < used:
            problems[field] = [f"{used} booking(s) already hold a slot on {on:%b %-d}; its capacity would be "
                               f"{capacity} (cancel or move bookings first)."]
    return problems

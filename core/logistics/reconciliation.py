"""Nightly drift check: Onfleet's tasks for the coming days against our legs, matched by our metadata.

Differences become DispatchMismatch rows (one per run date, kind and task: re-running updates them) that
staff resolve in the console — the same pattern as the Stripe reconciliation.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from core.bookings.models import Booking, BookingStatus
from core.integrations.onfleet import OnfleetRejected, get_client
from core.logistics.legs import META_BOOKING, META_LEG
from core.logistics.models import DeliveryTask, DispatchMismatch, LegKind, LegStatus

logger = logging.getLogger(__name__)
# Onfleet lists by creation time, not due time: tasks due in the coming days were created within this.
LOOKBACK = dt.timedelta(days=120)
Kind = DispatchMismatch.Kind


@dataclass(frozen=True)
class DriftResult:
    run_date: dt.date
    onfleet_tasks: int
    legs: int
    mismatches: int


def drift_run(*, run_date: dt.date, days: int = 3, now: dt.datetime | None = None) -> DriftResult:
    """Compare the legs due from `run_date` for `days` days with Onfleet's tasks."""
    if not settings.ONFLEET_API_KEY:  # local dispatch mode: nothing in Onfleet to compare with
        return DriftResult(run_date, 0, 0, 0)
    now = now or timezone.now()
    last_day = run_date + dt.timedelta(days=days - 1)
    client = get_client()
    tasks = {t.id: t for t in client.list_tasks(since=now - LOOKBACK) if t.metadata.get(META_BOOKING)}
    legs = list(DeliveryTask.objects.filter(booking__pickup_date__range=(run_date, last_day))
                .select_related("booking"))
    by_booking: dict = {}
    for leg in legs:
        by_booking.setdefault(leg.booking_id, {})[leg.kind] = leg
    known = {leg.onfleet_task_id for leg in legs if leg.onfleet_task_id}
    found: list[tuple[str, str, DeliveryTask | None, dict]] = []

    start = timezone.make_aware(dt.datetime.combine(run_date, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min))
    for task in tasks.values():
        due = task.complete_after
        if task.id in known or due is None or not start <= due < end:
            continue
        if not DeliveryTask.objects.filter(onfleet_task_id=task.id).exists():
            found.append((Kind.ORPHANED, task.id, None, {"booking_id": task.metadata.get(META_BOOKING),
                                                          "leg": task.metadata.get(META_LEG, "")}))

    for booking in Booking.objects.filter(pickup_date__range=(run_date, last_day), status=BookingStatus.PAID,
                                          delivery_tasks__isnull=True):
        found.append((Kind.MISSING, f"booking:{booking.pk}", None, {"booking": booking.booking_number}))
    for leg in legs:
        if leg.local_only or leg.status == LegStatus.CANCELLED or leg.booking.status == BookingStatus.CANCELLED:
            continue
        if not leg.onfleet_task_id:
            found.append((Kind.MISSING, f"leg:{leg.pk}", leg, {"booking": leg.booking.booking_number,
                                                                "leg": leg.kind, "error": leg.dispatch_error}))
            continue
        task = tasks.get(leg.onfleet_task_id)
        if task is None:
            try:  # created before the lookback, or gone
                task = client.get_task(leg.onfleet_task_id)
            except OnfleetRejected as exc:
                if not exc.not_found:
                    raise
                found.append((Kind.DELETED, leg.onfleet_task_id, leg, {"booking": leg.booking.booking_number,
                                                                        "leg": leg.kind}))
                continue
        if leg.status not in (LegStatus.COMPLETED, LegStatus.FAILED) and (
                task.complete_after != leg.window_start or task.complete_before != leg.window_end):
            found.append((Kind.WINDOW, task.id, leg, {
                "onfleet": [_iso(task.complete_after), _iso(task.complete_before)],
                "ours": [_iso(leg.window_start), _iso(leg.window_end)]}))
        pickup = by_booking[leg.booking_id].get(LegKind.PICKUP)
        if leg.kind == LegKind.DROPOFF and pickup is not None and pickup.onfleet_task_id \
                and pickup.onfleet_task_id not in task.dependencies:
            found.append((Kind.BROKEN_DEPENDENCY, task.id, leg, {"dependencies": list(task.dependencies),
                                                                  "pickup_task": pickup.onfleet_task_id}))

    for kind, key, leg, details in found:
        DispatchMismatch.objects.update_or_create(run_date=run_date, kind=kind, key=key[:100],
                                                  defaults={"delivery_task": leg, "details": details})
    if found:
        logger.warning("onfleet drift %s: %d mismatches", run_date, len(found))
    return DriftResult(run_date, len(tasks), len(legs), len(found))


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def dispatch_mismatch_resolve(*, mismatch: DispatchMismatch, actor) -> DispatchMismatch:
    from core.common.errors import PermissionDenied
    from core.common.services import model_update

    if actor is None or not actor.has_perm("core.change_dispatchmismatch"):
        raise PermissionDenied("You may not resolve dispatch mismatches.")
    model_update(instance=mismatch, fields=["resolved", "resolved_by"], data={"resolved": True,
                                                                              "resolved_by": actor})
    return mismatch

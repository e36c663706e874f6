"""Dispatch: a paid booking's two legs become two linked Onfleet tasks (or local legs), exactly once.

The intent lives in the database (DeliveryTask.dispatch_pending, or simply a paid booking without legs), the
work runs after commit in Huey, and the sweep finishes whatever a killed consumer left. Onfleet has no
idempotency key, so before creating we look the booking's tasks up by our metadata; no database lock is held
during a call to Onfleet (a Huey lock per booking keeps two workers apart instead).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from huey.exceptions import TaskLockedException

from core.bookings.models import Booking, BookingStatus
from core.common.services import model_update
from core.integrations.onfleet import OnfleetRejected, OnfleetTask, OnfleetUnavailable, get_client
from core.logistics.errors import DispatchNotConfigured, NotDispatchable
from core.logistics.legs import (
    LOCAL,
    META_BOOKING,
    META_LEG,
    ONFLEET,
    dispatch_blockers,
    dispatch_mode,
    leg_fields,
    task_spec,
)
from core.logistics.models import FINAL_STATUSES, DeliveryTask, LegKind, LegStatus

logger = logging.getLogger(__name__)

STUCK_AFTER = dt.timedelta(minutes=2)


def dispatch_prepare(*, booking: Booking, actor=None) -> list[DeliveryTask]:
    """Record the intent: both legs exist and every open leg without a task is marked pending."""
    blockers = dispatch_blockers(booking)
    if blockers:
        raise NotDispatchable(f"{booking.booking_number} cannot be dispatched: {'; '.join(blockers)}.",
                              fields={"booking": blockers})
    legs = []
    with transaction.atomic():
        for kind in (LegKind.PICKUP, LegKind.DROPOFF):
            leg = DeliveryTask.objects.select_for_update().filter(booking=booking, kind=kind).first()
            if leg is None:
                leg = _leg_insert(booking=booking, kind=kind, actor=actor)
            elif not leg.onfleet_task_id and not leg.local_only and leg.status not in FINAL_STATUSES \
                    and not leg.dispatch_pending:
                model_update(instance=leg, fields=["dispatch_pending"], data={"dispatch_pending": True}, actor=actor)
            legs.append(leg)
    return legs


def _leg_insert(*, booking: Booking, kind: str, actor) -> DeliveryTask:
    """Insert the booking's pending leg of `kind`; when a concurrent caller inserted it first, take theirs (locked).

    Finding no leg locked nothing, so two callers (the payment's job, the sweep, staff's "dispatch now") can both
    get here: the second waits on the unique index until the first commits, then fails, and reads the winner's.
    """
    leg = DeliveryTask(booking=booking, kind=kind, dispatch_pending=True, **leg_fields(booking, kind))
    leg._history_user = actor
    try:
        with transaction.atomic():
            leg.save(force_insert=True)
    except IntegrityError:
        theirs = DeliveryTask.objects.select_for_update().filter(booking=booking, kind=kind).first()
        if theirs is None:
            raise  # not the lost race: some other constraint refused the row
        return theirs
    return leg


def dispatch_request(*, booking: Booking, actor=None) -> list[DeliveryTask]:
    """Staff "dispatch now" (and the payment hook): record the intent, run it after commit."""
    from core.logistics.tasks import dispatch_booking

    legs = dispatch_prepare(booking=booking, actor=actor)
    dispatch_booking(str(booking.pk))  # an on_commit task
    return legs


def dispatch_run(*, booking_id, actor=None) -> bool:
    """Finish the booking's pending legs (idempotent); True when both legs are dispatched afterwards."""
    booking = Booking.objects.select_related("customer", "pickup_address", "dropoff_address").get(pk=booking_id)
    if booking.status == BookingStatus.PAID and not booking.delivery_tasks.exists():
        # The payment hook: automatic with Onfleet only. In local dispatch mode staff dispatch from the
        # board (the booking shows as "paid, not dispatched" until then).
        if dispatch_blockers(booking) or _automatic_mode() != ONFLEET:
            return False
        dispatch_prepare(booking=booking, actor=actor)
    legs = {leg.kind: leg for leg in booking.delivery_tasks.all()}
    if not any(leg.dispatch_pending for leg in legs.values()):
        return all(leg.onfleet_task_id or leg.local_only for leg in legs.values()) and bool(legs)
    if dispatch_blockers(booking):
        return False
    try:
        with HUEY.lock_task(dispatch_lock_name(booking.pk)):
            booking.refresh_from_db(fields=["status", "payment_status"])
            if dispatch_blockers(booking):
                return False  # cancelled or refunded while we waited: the cancel clean-up holds this lock too
            legs = {leg.kind: leg for leg in booking.delivery_tasks.all()}  # as the last holder left them
            if dispatch_mode() == LOCAL:
                _dispatch_locally(legs, actor)
            else:
                _dispatch_to_onfleet(booking, legs, actor)
    except TaskLockedException:
        return False  # another worker is on it
    return _mark_scheduled(booking, actor)


def dispatch_lock_name(booking_id) -> str:
    """One lock per booking for everything that creates or deletes its Onfleet tasks (dispatch, cancel)."""
    return f"logistics-dispatch-{booking_id}"


def _automatic_mode() -> str:
    try:
        return dispatch_mode()
    except DispatchNotConfigured as exc:
        logger.error("booking paid but not dispatched: %s", exc.message)
        return ""


def _dispatch_locally(legs: dict[str, DeliveryTask], actor) -> None:
    with transaction.atomic():
        for leg in legs.values():
            if leg.dispatch_pending:
                model_update(instance=leg, fields=["local_only", "dispatch_pending", "dispatch_error"],
                             data={"local_only": True, "dispatch_pending": False, "dispatch_error": ""},
                             actor=actor)


def _record_task(leg: DeliveryTask, task: OnfleetTask, actor) -> None:
    model_update(instance=leg, fields=["onfleet_task_id", "onfleet_short_id", "tracking_url", "dispatch_pending",
                                       "dispatch_error", "local_only"],
                 data={"onfleet_task_id": task.id, "onfleet_short_id": task.short_id[:16],
                       "tracking_url": task.tracking_url, "dispatch_pending": False, "dispatch_error": "",
                       "local_only": False}, actor=actor)


def _dispatch_to_onfleet(booking: Booking, legs: dict[str, DeliveryTask], actor) -> None:
    client = get_client()
    pickup, dropoff = legs[LegKind.PICKUP], legs[LegKind.DROPOFF]
    pending = [leg for leg in (pickup, dropoff) if leg.dispatch_pending]
    for leg in pending:
        model_update(instance=leg, fields=["dispatch_attempts"], data={"dispatch_attempts": leg.dispatch_attempts + 1})
    try:
        # A previous attempt may have created either task and died before recording it: ask first.
        found = {}
        for task in client.find_tasks({META_BOOKING: str(booking.pk)}):
            kind = task.metadata.get(META_LEG)
            if kind in legs and task.state != 3 and task.id not in (pickup.onfleet_task_id, dropoff.onfleet_task_id):
                found.setdefault(kind, task)
        created_pickup = False
        if pickup.dispatch_pending:
            task = found.get(LegKind.PICKUP) or client.create_task(
                task_spec(pickup, booking_number=booking.booking_number))
            created_pickup = True
            _record_task(pickup, task, actor)
        if dropoff.dispatch_pending:
            task = found.get(LegKind.DROPOFF)
            if task is None:
                task = client.create_task(task_spec(dropoff, booking_number=booking.booking_number,
                                                    dependencies=(pickup.onfleet_task_id,)))
            elif pickup.onfleet_task_id not in task.dependencies:
                task = client.update_task(task.id, {"dependencies": [pickup.onfleet_task_id]})
            _record_task(dropoff, task, actor)
        elif created_pickup and dropoff.onfleet_task_id and dropoff.status not in FINAL_STATUSES:
            # the pickup was re-dispatched: the open drop-off must now wait for the new pickup task
            client.update_task(dropoff.onfleet_task_id, {"dependencies": [pickup.onfleet_task_id]})
    except OnfleetRejected as exc:
        _refused(booking, [leg for leg in pending if leg.dispatch_pending], exc, actor)
    except OnfleetUnavailable as exc:
        for leg in pending:
            if leg.dispatch_pending:
                model_update(instance=leg, fields=["dispatch_error"], data={"dispatch_error": str(exc)[:2000]})
        raise


def _refused(booking: Booking, legs: list[DeliveryTask], exc: OnfleetRejected, actor) -> None:
    """A permanent 4xx: stop retrying, show staff Onfleet's own words."""
    from core.bookings.services import booking_flag

    with transaction.atomic():
        for leg in legs:
            model_update(instance=leg, fields=["dispatch_pending", "dispatch_error"],
                         data={"dispatch_pending": False, "dispatch_error": exc.message[:2000]}, actor=actor)
        booking_flag(booking=booking, actor=actor, reason=f"Onfleet refused the dispatch: {exc.message}")
    logger.warning("onfleet refused dispatch of %s: %s", booking.booking_number, exc.message)


def _mark_scheduled(booking: Booking, actor) -> bool:
    """Both legs exist (in Onfleet or locally): the booking is scheduled. False while one is missing."""
    from core.bookings.services import booking_transition

    legs = {leg.kind: leg for leg in booking.delivery_tasks.all()}
    if len(legs) < 2 or any(leg.dispatch_pending or not (leg.onfleet_task_id or leg.local_only)
                            for leg in legs.values()):
        return False
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        model_update(instance=locked, actor=actor,
                     fields=["onfleet_pickup_task_id", "onfleet_dropoff_task_id", "tracking_url"],
                     data={"onfleet_pickup_task_id": legs[LegKind.PICKUP].onfleet_task_id,
                           "onfleet_dropoff_task_id": legs[LegKind.DROPOFF].onfleet_task_id,
                           "tracking_url": legs[LegKind.PICKUP].tracking_url})
        if locked.status == BookingStatus.PAID:
            booking_transition(booking=locked, to_status=BookingStatus.SCHEDULED, actor=actor,
                               reason="dispatched")
    return True


def _coi_not_obviously_waiting() -> Q:
    """Leave out bookings still waiting for any certificate: otherwise a hundred of them would fill the sweep's
    batch every run and real lost dispatches would never be retried. (dispatch_run re-checks the whole gate.)"""
    from core.documents.gate import PASSING
    from core.documents.models import COI, COIWaiver

    passing = COI.objects.filter(booking=OuterRef("pk"), status__in=PASSING, document__deleted_at=None)
    return Q(coi_required=False) | Exists(passing) | Exists(COIWaiver.objects.filter(booking=OuterRef("pk")))


def dispatch_sweep(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """Finish dispatches whose job was lost: paid bookings without legs, and legs still pending."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    stale = now - STUCK_AFTER
    paid = [] if _automatic_mode() != ONFLEET else Booking.objects.filter(
        status=BookingStatus.PAID, pickup_date__gte=today, updated_at__lt=stale, delivery_tasks__isnull=True,
    ).filter(_coi_not_obviously_waiting()).order_by("pickup_date").values_list("pk", flat=True)[:limit]
    pending = DeliveryTask.objects.filter(dispatch_pending=True, updated_at__lt=stale,
                                          booking__pickup_date__gte=today).values_list("booking_id", flat=True)
    done = 0
    for booking_id in dict.fromkeys([*paid, *pending[:limit]]):
        try:
            done += dispatch_run(booking_id=booking_id)
        except Exception:
            logger.exception("dispatch of booking %s failed again", booking_id)
    return done


def redispatch_leg(*, leg: DeliveryTask, actor) -> DeliveryTask:
    """Staff: after a failure (or a task deleted in Onfleet), give the leg a new task."""
    if leg.status not in (LegStatus.FAILED, LegStatus.CANCELLED) and (leg.onfleet_task_id or leg.local_only):
        raise NotDispatchable("Only a failed or cancelled leg can be dispatched again.")
    blockers = dispatch_blockers(leg.booking)
    if blockers:
        raise NotDispatchable(f"{leg.booking.booking_number} cannot be dispatched: {'; '.join(blockers)}.")
    from core.logistics.tasks import dispatch_booking

    with transaction.atomic():
        model_update(instance=leg, actor=actor, fields=[
            "status", "onfleet_task_id", "onfleet_short_id", "tracking_url", "local_only", "dispatch_pending",
            "dispatch_error", "failure_reason", "notes", "driver_name", "driver_phone", "eta", "assigned_at",
            "started_at", "completed_at", "last_event_at"], data={
            "status": LegStatus.CREATED, "onfleet_task_id": "", "onfleet_short_id": "", "tracking_url": "",
            "local_only": False, "dispatch_pending": True, "dispatch_error": "", "failure_reason": "",
            "notes": "", "driver_name": "", "driver_phone": "", "eta": None, "assigned_at": None,
            "started_at": None, "completed_at": None, "last_event_at": None})
        dispatch_booking(str(leg.booking_id))
    return leg

"""Changes flow to Onfleet: staff edits update the open tasks; a cancelled or fully refunded booking's open
tasks are deleted. Completed and started tasks are left alone (Onfleet refuses most changes to them)."""

from __future__ import annotations

import logging

from django.db import transaction
from huey.exceptions import TaskLockedException

from core.bookings.models import Booking, BookingStatus, PaymentState
from core.common.services import model_update
from core.integrations.onfleet import OnfleetRejected, get_client
from core.logistics.errors import DispatchBusy
from core.logistics.legs import SYNCED_FIELDS, leg_fields, task_spec
from core.logistics.models import FINAL_STATUSES, DeliveryTask, LegStatus

logger = logging.getLogger(__name__)
_UPDATABLE = ("destination", "recipients", "notes", "completeAfter", "completeBefore")


def dispatch_sync_booking(*, booking_id, actor=None) -> int:
    """Bring the booking's open legs (and their Onfleet tasks) in line with the booking; returns legs changed."""
    booking = Booking.objects.select_related("customer", "pickup_address", "dropoff_address").get(pk=booking_id)
    legs = [leg for leg in booking.delivery_tasks.all() if leg.status not in FINAL_STATUSES]
    if booking.status == BookingStatus.CANCELLED or booking.payment_status == PaymentState.REFUNDED:
        return _cancel(legs, actor)
    changed = 0
    for leg in legs:
        if leg.status == LegStatus.IN_PROGRESS:
            continue  # the driver is on it: staff call them instead
        wanted = leg_fields(booking, leg.kind)
        diff = {name: wanted[name] for name in SYNCED_FIELDS if getattr(leg, name) != wanted[name]}
        if not diff:
            continue
        for name, value in diff.items():
            setattr(leg, name, value)
        if leg.onfleet_task_id and not leg.local_only:
            body = task_spec(leg, booking_number=booking.booking_number).body()
            get_client().update_task(leg.onfleet_task_id, {k: body[k] for k in _UPDATABLE})
        model_update(instance=leg, fields=list(diff), actor=actor)
        changed += 1
    return changed


def _cancel(legs: list[DeliveryTask], actor) -> int:
    """Under the booking's dispatch lock, so a dispatch running at the same moment cannot create a task on a
    leg we are cancelling (it re-checks the booking under the lock; a locked cancel is retried by its job)."""
    if not legs:
        return 0
    from huey.contrib.djhuey import HUEY

    from core.logistics.dispatch import dispatch_lock_name

    try:
        with HUEY.lock_task(dispatch_lock_name(legs[0].booking_id)):
            legs = [leg for leg in DeliveryTask.objects.filter(pk__in=[leg.pk for leg in legs])
                    if leg.status not in FINAL_STATUSES]  # as the dispatcher left them
            return _cancel_locked(legs, actor)
    except TaskLockedException as exc:
        raise DispatchBusy("A dispatch of this booking is running right now; try again in a moment.") from exc


def _cancel_locked(legs: list[DeliveryTask], actor) -> int:
    for leg in legs:
        if leg.onfleet_task_id and not leg.local_only:
            try:
                get_client().delete_task(leg.onfleet_task_id)
            except OnfleetRejected as exc:
                if not exc.not_found:
                    raise
        with transaction.atomic():
            model_update(instance=leg, fields=["status", "dispatch_pending", "eta"],
                         data={"status": LegStatus.CANCELLED, "dispatch_pending": False, "eta": None}, actor=actor)
    return len(legs)


def dispatch_cancel(*, booking: Booking, actor) -> int:
    """Staff: pull the booking's open tasks from Onfleet (the booking itself stays as it is)."""
    legs = [leg for leg in booking.delivery_tasks.all() if leg.status not in FINAL_STATUSES]
    return _cancel(legs, actor)

"""LOCAL DISPATCH MODE: staff move legs on from the dispatch board, through the same event rules as Onfleet's."""

from __future__ import annotations

from django.utils import timezone

from core.common.errors import PermissionDenied
from core.integrations.onfleet import parse_task, to_ms
from core.logistics.errors import LegNotMovable
from core.logistics.events import TRIGGERS, leg_apply_event
from core.logistics.models import FINAL_STATUSES, STATUS_RANK, DeliveryTask, LegStatus, TrackingUpdate

LOCAL_MOVES = {LegStatus.ASSIGNED: "taskAssigned", LegStatus.IN_PROGRESS: "taskStarted",
               LegStatus.COMPLETED: "taskCompleted", LegStatus.FAILED: "taskFailed"}
_TRIGGER_IDS = {name: number for number, name in TRIGGERS.items()}


def leg_local_move(*, leg: DeliveryTask, to_status: str, actor, driver_name: str = "", note: str = "") -> DeliveryTask:
    """Record a move a driver reported by phone (local mode only), as if Onfleet had sent it."""
    if actor is None or not getattr(actor, "is_staff", False):
        raise PermissionDenied("Only staff can move delivery legs.")
    if not leg.local_only:
        raise LegNotMovable("This leg is dispatched to Onfleet: its driver moves it on.")
    if to_status not in LOCAL_MOVES or leg.status in FINAL_STATUSES or STATUS_RANK[to_status] < STATUS_RANK[leg.status]:
        raise LegNotMovable(f"A {leg.get_status_display().lower()} leg cannot become {to_status}.",
                            fields={"status": [f"{leg.status} → {to_status} is not allowed"]})
    now = timezone.now()
    trigger = LOCAL_MOVES[to_status]
    state = {LegStatus.ASSIGNED: 1, LegStatus.IN_PROGRESS: 2}.get(to_status, 3)
    task = {"id": "", "state": state, "completionDetails": {
        "success": to_status == LegStatus.COMPLETED, "time": to_ms(now), "notes": note, "failureNotes": note,
        "failureReason": "REPORTED_BY_STAFF" if to_status == LegStatus.FAILED else "NONE"}}
    payload = {"local": True, "staff": actor.get_username(), "time": to_ms(now), "triggerName": trigger,
               "data": {"task": task, **({"worker": {"name": driver_name}} if driver_name else {})}}
    TrackingUpdate.objects.create(
        dedupe_key=f"local:{leg.pk}:{trigger}:{to_ms(now)}", delivery_task=leg, trigger_id=_TRIGGER_IDS[trigger],
        trigger_name=trigger, event_time=now, payload=payload, processed_at=now)
    return leg_apply_event(leg=leg, trigger=trigger, at=now, task=parse_task(task), payload=payload, actor=actor)

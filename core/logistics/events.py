"""Onfleet's events (webhooks, and staff moves in local dispatch mode) applied to legs, forward only.

Deliveries are stored once (trigger + task + time), processed after commit, and may come duplicated or in any
order: a leg's status only moves forward, timestamps are filled once, ETA and driver follow the newest event,
and assigned/unassigned/updated are settled by re-fetching the task from Onfleet (its state now is the truth).
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.bookings.models import Booking, BookingStatus
from core.common.errors import ErrorCode, ValidationError
from core.common.events import InvalidSignature, process_stored_event, retry_stuck_events
from core.common.payloads import contains_nul
from core.common.services import model_update
from core.integrations.onfleet import (
    OnfleetRejected,
    OnfleetTask,
    from_ms,
    get_client,
    parse_task,
    verify_signature,
)
from core.logistics.models import (
    FINAL_STATUSES,
    STATUS_RANK,
    DeliveryTask,
    LegKind,
    LegStatus,
    TrackingUpdate,
)

logger = logging.getLogger(__name__)

TRIGGERS = {0: "taskStarted", 1: "taskEta", 2: "taskArrival", 3: "taskCompleted", 4: "taskFailed",
            6: "taskCreated", 7: "taskUpdated", 8: "taskDeleted", 9: "taskAssigned", 10: "taskUnassigned",
            12: "taskDelayed"}
_STAMPS = {"taskAssigned": "assigned_at", "taskStarted": "started_at", "taskCompleted": "completed_at",
           "taskFailed": "completed_at"}
REFETCHED = frozenset({"taskAssigned", "taskUnassigned", "taskUpdated"})


class InvalidOnfleetSignature(InvalidSignature):
    """The X-Onfleet-Signature header does not verify."""

    code = ErrorCode.UNAUTHORIZED  # the contract's answer to Onfleet is 401 (Stripe's is 400)


def tracking_update_receive(*, body: bytes, signature: str | None) -> tuple[TrackingUpdate, bool]:
    """Verify, store once, queue the processing after commit; (update, created)."""
    if not verify_signature(body, signature, settings.ONFLEET_WEBHOOK_SECRETS):
        raise InvalidOnfleetSignature("The X-Onfleet-Signature header does not verify.")
    try:
        payload = json.loads(body)
        trigger_id, at_ms = int(payload["triggerId"]), int(payload["time"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError("Not an Onfleet webhook body.", fields={"__body__": [str(exc)]}) from exc
    if not isinstance(payload, dict) or contains_nul(payload):
        # Signed, so from Onfleet (or a leaked secret): refuse once, loudly. PostgreSQL cannot store a NUL in
        # JSON, and a 5xx would be retried for a day.
        logger.warning("refused a signed Onfleet delivery holding a NUL character or not an object")
        raise ValidationError("Not an Onfleet webhook body.", fields={"__body__": ["Unusable content."]})
    task_id = str(payload.get("taskId") or "")
    name = TRIGGERS.get(trigger_id, str(payload.get("triggerName") or trigger_id))[:40]
    handled = trigger_id in TRIGGERS and bool(task_id)
    with transaction.atomic():
        update, created = TrackingUpdate.objects.get_or_create(
            dedupe_key=f"{trigger_id}:{task_id or payload.get('workerId') or ''}:{at_ms}"[:120],
            defaults={"onfleet_task_id": task_id[:64], "trigger_id": trigger_id, "trigger_name": name,
                      "event_time": from_ms(at_ms), "payload": payload,
                      "processed_at": None if handled else timezone.now()})
        if created and handled:
            from core.logistics.tasks import process_tracking_update

            process_tracking_update(update.pk)  # an on_commit task
    return update, created


def tracking_update_process(*, update_id: int) -> bool:
    """Apply one stored event to its leg (idempotent); True when processed now."""
    return process_stored_event(TrackingUpdate, update_id, _apply_update)


def _apply_update(update: TrackingUpdate) -> dict:
    leg = DeliveryTask.objects.filter(onfleet_task_id=update.onfleet_task_id).first() \
        if update.onfleet_task_id else None
    if leg is not None:  # unknown tasks are kept for the record (the drift check reports orphans)
        data = update.payload.get("data") or {}
        task = parse_task(data["task"]) if isinstance(data.get("task"), dict) else None
        leg_apply_event(leg=leg, trigger=update.trigger_name, at=update.event_time, task=task,
                        payload=update.payload)
    return {"delivery_task": leg}


def tracking_updates_retry_stuck(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Process events whose after-commit job was lost (Huey has no acks) or failed."""
    return retry_stuck_events(TrackingUpdate.objects.all(), lambda pk: tracking_update_process(update_id=pk),
                              now=now or timezone.now(), limit=limit,
                              order_by="event_time")


def _status_of(task: OnfleetTask) -> str:
    if task.state == 3:
        return LegStatus.COMPLETED if task.completion.get("success") else LegStatus.FAILED
    return {0: LegStatus.CREATED, 1: LegStatus.ASSIGNED, 2: LegStatus.IN_PROGRESS}.get(task.state, LegStatus.CREATED)


def _driver(payload: dict, task: OnfleetTask | None, refetched: bool) -> tuple[str, str] | None:
    """(name, phone): from the re-fetched task's worker (the truth now), else from the event, else None."""
    if refetched:
        if task is None or not task.worker_id:
            return "", ""
        found = get_client().get_worker(task.worker_id)
        return str(found.get("name") or "")[:200], str(found.get("phone") or "")[:20]
    worker = (payload.get("data") or {}).get("worker")
    if isinstance(worker, dict) and worker.get("name"):
        return str(worker["name"])[:200], str(worker.get("phone") or "")[:20]
    return None


def leg_apply_event(*, leg: DeliveryTask, trigger: str, at: dt.datetime, task: OnfleetTask | None = None,
                    payload: dict | None = None, actor=None) -> DeliveryTask:
    """Move one leg as the event says (forward only), then the booking and the customer's messages."""
    payload = payload or {}
    refetched = trigger in REFETCHED and not leg.local_only and bool(leg.onfleet_task_id)
    if refetched:
        try:  # the order of assigned/unassigned/updated deliveries says nothing: ask what is true now
            task = get_client().get_task(leg.onfleet_task_id)
        except OnfleetRejected as exc:
            if not exc.not_found:
                raise
            task, trigger = None, "taskDeleted"
    driver = _driver(payload, task, refetched)  # any call to Onfleet happens before the row lock
    target = {"taskStarted": LegStatus.IN_PROGRESS, "taskCompleted": LegStatus.COMPLETED,
              "taskFailed": LegStatus.FAILED, "taskDeleted": LegStatus.CANCELLED}.get(trigger)
    if refetched and task is not None:
        target = _status_of(task)
    with transaction.atomic():
        leg = DeliveryTask.objects.select_for_update().select_related("booking").get(pk=leg.pk)
        before = leg.status
        changes: dict = {}
        newest = leg.last_event_at is None or at >= leg.last_event_at
        if target and (STATUS_RANK[target] > STATUS_RANK[before] or (refetched and before not in FINAL_STATUSES
                                                                     and STATUS_RANK[target] == STATUS_RANK[before])):
            changes["status"] = target
        status = changes.get("status", before)
        if status == LegStatus.COMPLETED and before != status and not leg.local_only:
            changes["proof_pending"] = True  # cleared once the photos and signature are in our storage
        stamp = "assigned_at" if refetched and target == LegStatus.ASSIGNED else _STAMPS.get(trigger)
        if stamp:  # the earliest time wins, whatever order the deliveries came in
            done_at = from_ms(task.completion.get("time")) if stamp == "completed_at" and task else None
            when, current = done_at or at, getattr(leg, stamp)
            if current is None or when < current:
                changes[stamp] = when
        if trigger in ("taskCompleted", "taskFailed") and task is not None and not leg.notes:
            details = task.completion
            changes["notes"] = str(details.get("failureNotes") or details.get("notes") or "")[:4000]
            if trigger == "taskFailed":
                changes["failure_reason"] = str(details.get("failureReason") or "FAILED")[:100]
        if status in FINAL_STATUSES:
            changes["eta"] = None
        elif newest:
            eta = task.eta if task else None
            if payload.get("etaSeconds") is not None:
                eta = at + dt.timedelta(seconds=int(payload["etaSeconds"]))
            if eta:
                changes["eta"] = eta
        if driver is not None and (refetched or newest):
            changes["driver_name"], changes["driver_phone"] = driver
        if newest:
            changes["last_event_at"] = at
        if task is not None and task.tracking_url and not leg.tracking_url:
            changes["tracking_url"] = task.tracking_url
        if changes:
            model_update(instance=leg, fields=list(changes), data=changes, actor=actor)
        moved = leg.status != before
        booking = _follow(leg, actor) if moved else leg.booking
        transaction.on_commit(lambda: _after(leg.pk, trigger, moved, booking.status))
    return leg


def _follow(leg: DeliveryTask, actor) -> Booking:
    """The booking follows its legs through the one status machine; a failed leg never completes it."""
    from core.bookings.services import booking_flag, booking_transition

    booking = leg.booking
    if booking.status == BookingStatus.CANCELLED:
        return booking
    if leg.status in (LegStatus.IN_PROGRESS, LegStatus.COMPLETED) and booking.status == BookingStatus.SCHEDULED:
        booking = booking_transition(booking=booking, to_status=BookingStatus.IN_PROGRESS, actor=actor,
                                     reason=f"{leg.kind} {leg.status}")
    if leg.kind == LegKind.DROPOFF and leg.status == LegStatus.COMPLETED \
            and booking.status == BookingStatus.IN_PROGRESS \
            and not booking.delivery_tasks.filter(status=LegStatus.FAILED).exists():
        booking = booking_transition(booking=booking, to_status=BookingStatus.COMPLETED, actor=actor,
                                     reason="dropoff completed")
    if leg.kind == LegKind.PICKUP and leg.status == LegStatus.COMPLETED:
        # the customer's link (GET bookings/{id}/) now follows the drop-off
        dropoff = booking.delivery_tasks.filter(kind=LegKind.DROPOFF).exclude(tracking_url="").first()
        if dropoff is not None:
            model_update(instance=booking, fields=["tracking_url"], data={"tracking_url": dropoff.tracking_url},
                         actor=actor)
    if leg.status in (LegStatus.FAILED, LegStatus.CANCELLED) and booking.status != BookingStatus.COMPLETED:
        what = "failed" if leg.status == LegStatus.FAILED else "was deleted in Onfleet"
        reason = (f"The {leg.get_kind_display().lower()} {what}: {leg.failure_reason or 'no reason given'}. "
                  "Re-dispatch or call the customer.")
        booking = booking_flag(booking=booking, actor=actor, reason=reason)
        _alert_staff(leg, booking, reason, actor)
    return booking


def _alert_staff(leg: DeliveryTask, booking: Booking, reason: str, actor) -> None:
    """The dispatcher hears of a failed leg by email too (once per leg and failure), not only on the dashboard."""
    from django.conf import settings

    from core.notifications.services import notification_send_staff

    if not settings.DISPATCH_ALERT_EMAILS:
        return

    def send() -> None:
        # After commit, and never raising: a bad address in the setting must not undo the leg's failure.
        try:
            _send()
        except Exception:
            logger.exception("the dispatch alert for %s could not be sent", booking.booking_number)

    def _send() -> None:
        notification_send_staff(
            recipients=settings.DISPATCH_ALERT_EMAILS, actor=actor,
            subject=f"{booking.booking_number}: {leg.get_kind_display().lower()} {leg.status}",
            body=f"{reason}\n\n{booking.booking_number}, pickup {booking.pickup_date:%A %B %-d}, "
                 f"{booking.get_pickup_window_display().lower()}.\nNotes from the driver: {leg.notes or '—'}",
            event_key=f"leg-{leg.status}:{leg.pk}:{leg.failure_reason}")

    transaction.on_commit(send)


def _after(leg_id, trigger: str, moved: bool, booking_status: str) -> None:
    from core.logistics.tasks import archive_proof, notify_leg_event

    if trigger == "taskCompleted":
        archive_proof(leg_id)
    if trigger in ("taskStarted", "taskEta", "taskCompleted") and booking_status != BookingStatus.CANCELLED:
        notify_leg_event(leg_id, trigger)

"""Onfleet webhooks end to end: the check handshake, signatures, the lifecycle, replays in any order."""

import hashlib
import random

import pytest
from django.utils import timezone

from core.bookings.models import Booking, BookingStatus
from core.logistics.models import DeliveryTask, LegKind, LegStatus, ProofOfDelivery, TrackingUpdate
from core.notifications.models import Notification
from core.reporting.services import daily_metrics_compute
from tests.core.logistics.conftest import legs_of, task_ids

pytestmark = pytest.mark.django_db


def test_registration_check_answers_the_value_as_plain_text(client):
    response = client.get("/api/v1/webhooks/onfleet/", {"check": "a1B2-c3"})
    assert response.status_code == 200
    assert response.content == b"a1B2-c3" and response["Content-Type"].startswith("text/plain")


def test_unsigned_and_badly_signed_posts_are_refused(onfleet, deliver):
    task = {"id": "t1", "state": 0}
    body, good = onfleet.webhook("taskStarted", task)
    assert deliver(body, None).status_code == 401
    assert deliver(body, "0" * 128).status_code == 401
    assert deliver(body, onfleet.webhook("taskStarted", task, secret="ab" * 32)[1]).status_code == 401
    assert deliver(body + b" ", good).status_code == 401
    assert TrackingUpdate.objects.count() == 0
    response = deliver(body, good)
    assert response.status_code == 200 and response.json() == {"received": True, "duplicate": False}
    assert deliver(body, good).json()["duplicate"] is True
    assert TrackingUpdate.objects.count() == 1


def test_rotated_secret_still_verifies(onfleet, deliver, settings):
    settings.ONFLEET_WEBHOOK_SECRETS = ["cd" * 32, onfleet.webhook_secret]
    body, signature = onfleet.webhook("taskCreated", {"id": "t1", "state": 0})
    assert deliver(body, signature).status_code == 200


def _lifecycle(onfleet, booking, after_each_move=lambda: None):
    pickup_id, dropoff_id = task_ids(booking)
    first, maria = onfleet.add_worker("Sam Reyes"), onfleet.add_worker("Maria Lopez")
    moves = [
        lambda: onfleet.assign(pickup_id, first), lambda: onfleet.unassign(pickup_id),
        lambda: onfleet.assign(pickup_id, maria), lambda: onfleet.start_task(pickup_id),
        lambda: onfleet.eta(pickup_id, 600), lambda: onfleet.arrive(pickup_id),
        lambda: onfleet.complete(pickup_id, photos=1, signature=True), lambda: onfleet.assign(dropoff_id, maria),
        lambda: onfleet.start_task(dropoff_id), lambda: onfleet.delay(dropoff_id, 900),
        lambda: onfleet.eta(dropoff_id, 300),
        lambda: onfleet.complete(dropoff_id, photos=2, signature=True, notes="Left with the doorman"),
    ]
    for move in moves:
        move()
        after_each_move()


def test_full_lifecycle_paid_scheduled_in_progress_completed_with_archived_proof(onfleet, dispatched, deliver):
    assert dispatched.status == BookingStatus.SCHEDULED
    delivered = []

    def deliver_new():  # Onfleet calls us as the driver moves
        for body, signature in onfleet.webhooks[len(delivered):]:
            assert deliver(body, signature).status_code == 200
            delivered.append(body)

    _lifecycle(onfleet, dispatched, deliver_new)

    booking = Booking.objects.get(pk=dispatched.pk)
    assert booking.status == BookingStatus.COMPLETED
    assert [c.to_status for c in booking.status_changes.all()] == ["pending", "paid", "scheduled", "in_progress", "completed"]
    legs = legs_of(booking)
    assert all(leg.status == LegStatus.COMPLETED for leg in legs.values())
    dropoff = legs[LegKind.DROPOFF]
    assert booking.tracking_url == dropoff.tracking_url == onfleet.tasks[dropoff.onfleet_task_id]["trackingURL"]
    assert dropoff.driver_name == "Maria Lopez" and dropoff.notes == "Left with the doorman"
    assert dropoff.started_at and dropoff.completed_at and dropoff.eta is None
    proofs = ProofOfDelivery.objects.filter(delivery_task=dropoff)
    assert sorted(p.kind for p in proofs) == ["photo", "photo", "signature"]
    for proof in proofs:
        data = proof.file.read()
        assert data == onfleet.uploads[proof.onfleet_upload_id]
        assert proof.sha256 == hashlib.sha256(data).hexdigest() and proof.size == len(data)
    assert ProofOfDelivery.objects.filter(delivery_task=legs[LegKind.PICKUP]).count() == 2
    sent = set(Notification.objects.filter(booking=booking).values_list("notification_type", flat=True))
    assert {"tracking_update", "delivery_confirmation"} <= sent
    assert not TrackingUpdate.objects.filter(processed_at__isnull=True).exists()

    metrics = daily_metrics_compute(day=timezone.localdate())  # the dashboard's daily snapshot
    pickup = legs[LegKind.PICKUP]
    assert metrics.onfleet_tasks_created == 2 and metrics.deliveries_completed == 1
    assert metrics.deliveries_failed == 0 and metrics.delivery_success_rate == 1.0
    assert metrics.average_delivery_minutes == round((dropoff.completed_at - pickup.started_at).total_seconds() / 60)


def _state(booking) -> dict:
    fields = ("status", "driver_name", "driver_phone", "eta", "assigned_at", "started_at", "completed_at", "notes",
              "failure_reason", "tracking_url")
    legs = {leg.kind: {f: getattr(leg, f) for f in fields} for leg in legs_of(booking).values()}
    return {"booking": Booking.objects.get(pk=booking.pk).status, "legs": legs,
            "proofs": sorted(ProofOfDelivery.objects.values_list("onfleet_upload_id", flat=True))}


def _reset(booking, snapshot: dict[int, dict]) -> None:
    """Back to just dispatched (test-only bare writes: the services never move a booking backwards)."""
    TrackingUpdate.objects.all().delete()
    for pk, values in snapshot.items():
        DeliveryTask.objects.filter(pk=pk).update(**values)
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.SCHEDULED)


def test_replay_duplicates_shuffled_and_bad_signatures_end_like_in_order(onfleet, dispatched, deliver):
    fields = ("status", "driver_name", "driver_phone", "eta", "assigned_at", "started_at", "completed_at", "notes",
              "failure_reason", "last_event_at")
    snapshot = {leg.pk: {f: getattr(leg, f) for f in fields} for leg in legs_of(dispatched).values()}
    _lifecycle(onfleet, dispatched)
    deliveries = list(onfleet.webhooks)
    for body, signature in deliveries:
        deliver(body, signature)
    in_order = _state(dispatched)
    assert in_order["booking"] == BookingStatus.COMPLETED

    refused = 0
    for seed in range(4):
        _reset(dispatched, snapshot)
        rng = random.Random(seed)
        replay = deliveries * 2 + rng.sample(deliveries, 5)
        rng.shuffle(replay)
        # tampered bodies (a completed task claimed unassigned), forged and missing signatures
        bad = [(body[:-1] + b',"data":{"task":{"state":0}}}', signature)
               for body, signature in rng.sample(deliveries, 4)]
        bad += [(body, "f" * 128) for body, _ in rng.sample(deliveries, 3)] + [(deliveries[0][0], None)]
        for body, signature in bad:
            replay.insert(rng.randrange(len(replay)), (body, signature))
        statuses = [deliver(body, signature).status_code for body, signature in replay]
        refused += statuses.count(401)
        assert statuses.count(401) == len(bad) and set(statuses) == {200, 401}
        replayed = _state(dispatched)
        diff = {(kind, f): (replayed["legs"][kind][f], value) for kind, leg in in_order["legs"].items()
                for f, value in leg.items() if replayed["legs"][kind][f] != value}
        assert replayed == in_order, f"seed {seed}: {diff}"
    assert refused == 4 * 8


def test_failed_dropoff_never_completes_the_booking_and_flags_it(onfleet, dispatched, deliver, settings):
    settings.DISPATCH_ALERT_EMAILS = ["dispatch@totetaxi.test"]
    pickup_id, dropoff_id = task_ids(dispatched)
    worker = onfleet.add_worker()
    onfleet.assign(pickup_id, worker)
    onfleet.start_task(pickup_id)
    onfleet.complete(pickup_id)
    onfleet.start_task(dropoff_id)
    onfleet.fail(dropoff_id, reason="NO_ANSWER", notes="Nobody home")
    for body, signature in onfleet.webhooks:
        deliver(body, signature)

    booking = Booking.objects.get(pk=dispatched.pk)
    assert booking.status == BookingStatus.IN_PROGRESS
    assert booking.needs_attention and "drop-off failed" in booking.attention_reason
    dropoff = legs_of(booking)[LegKind.DROPOFF]
    assert dropoff.status == LegStatus.FAILED and dropoff.failure_reason == "NO_ANSWER"
    assert not Notification.objects.filter(booking=booking, notification_type="delivery_confirmation").exists()
    # and the dispatcher is emailed once, however often Onfleet repeats the failure
    for body, signature in onfleet.webhooks:
        deliver(body, signature)
    alerts = Notification.objects.filter(recipients=["dispatch@totetaxi.test"])
    assert alerts.count() == 1
    assert "drop-off failed: NO_ANSWER" in alerts.get().body_text


def test_task_deleted_in_onfleet_cancels_the_leg_and_flags(onfleet, dispatched, deliver):
    from core.integrations.onfleet import get_client

    _pickup_id, dropoff_id = task_ids(dispatched)
    get_client().delete_task(dropoff_id)
    for body, signature in onfleet.webhooks:
        deliver(body, signature)
    assert legs_of(dispatched)[LegKind.DROPOFF].status == LegStatus.CANCELLED
    assert Booking.objects.get(pk=dispatched.pk).needs_attention


def test_lost_jobs_are_finished_by_the_sweeps(onfleet, dispatched, client, django_capture_on_commit_callbacks):
    """Huey has no acks: an event stored but never processed, and a proof never copied, are picked up."""
    import datetime as dt

    from core.logistics.events import tracking_updates_retry_stuck
    from core.logistics.proof import proof_archive_pending

    _pickup_id, dropoff_id = task_ids(dispatched)
    onfleet.complete(dropoff_id)
    body, signature = onfleet.webhooks[-1]
    # the consumer dies: the after-commit jobs are never run
    response = client.post("/api/v1/webhooks/onfleet/", data=body, content_type="application/json",
                           HTTP_X_ONFLEET_SIGNATURE=signature)
    assert response.status_code == 200 and TrackingUpdate.objects.get().processed_at is None

    later = timezone.now() + dt.timedelta(minutes=10)
    with django_capture_on_commit_callbacks(execute=False):  # the completion's own proof job is lost too
        assert tracking_updates_retry_stuck(now=later) == 1
    dropoff = legs_of(dispatched)[LegKind.DROPOFF]
    assert dropoff.status == LegStatus.COMPLETED and dropoff.proof_pending and not dropoff.proofs.exists()

    assert proof_archive_pending(now=later) == 1
    dropoff.refresh_from_db()
    assert not dropoff.proof_pending and dropoff.proofs.count() == 2


@pytest.mark.parametrize("body", [
    b'{"triggerId": 0, "time": 1700000000000, "taskId": "t\\u0000x", "data": {}}',
    b'[{"triggerId": 0, "time": 1700000000000}]',
    b'{"triggerId": [0], "time": 1700000000000}',
])
def test_signed_but_unusable_bodies_are_a_logged_400_and_store_nothing(onfleet, deliver, body):
    from core.integrations.onfleet.signing import sign

    response = deliver(body, sign(body, onfleet.webhook_secret))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert TrackingUpdate.objects.count() == 0

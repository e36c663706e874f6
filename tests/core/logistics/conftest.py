"""Bookings paid and dispatched against the fake Onfleet (settings pointed at it by the `onfleet` fixture)."""

import pytest

from core.bookings.models import Booking
from core.logistics.models import DeliveryTask, LegKind


@pytest.fixture
def staff(db):
    from tests.factories import UserFactory

    return UserFactory(username="dispatcher")


@pytest.fixture
def pending_booking(make_request, settings):
    from core.bookings.services import booking_create

    settings.STRIPE_SECRET_KEY = ""
    booking, token = booking_create(request=make_request())
    booking.access_token = token
    return booking


@pytest.fixture
def pay(staff, django_capture_on_commit_callbacks):
    """Record a cash payment covering the booking and run what it enqueued after commit (the dispatch)."""
    from core.payments.services import payment_record_offline

    def _pay(booking):
        with django_capture_on_commit_callbacks(execute=True):
            payment_record_offline(booking=booking, amount=booking.total_price, method="cash", reference="",
                                   actor=staff)
        return Booking.objects.get(pk=booking.pk)

    return _pay


@pytest.fixture
def run_after_commit(django_capture_on_commit_callbacks):
    """Call `fn(**kwargs)` and run its after-commit jobs (Huey is immediate in tests)."""

    def _run(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return _run


def legs_of(booking) -> dict[str, DeliveryTask]:
    return {leg.kind: leg for leg in DeliveryTask.objects.filter(booking=booking)}


def assert_two_linked_tasks(fake, booking) -> tuple[dict, dict]:
    """Exactly one pickup and one drop-off task for the booking in Onfleet, the drop-off depending on the
    pickup, and our legs pointing at them."""
    ours = [t for t in fake.tasks.values()
            if any(m["name"] == "totetaxi_booking_id" and m["value"] == str(booking.pk) for m in t["metadata"])]
    assert len(ours) == 2, [t["id"] for t in ours]
    pickup = next(t for t in ours if t["pickupTask"])
    dropoff = next(t for t in ours if not t["pickupTask"])
    assert dropoff["dependencies"] == [pickup["id"]]
    legs = legs_of(booking)
    assert legs[LegKind.PICKUP].onfleet_task_id == pickup["id"]
    assert legs[LegKind.DROPOFF].onfleet_task_id == dropoff["id"]
    assert not any(leg.dispatch_pending for leg in legs.values())
    return pickup, dropoff


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    """POST one Onfleet delivery (raw body, signature) to our webhook and run its after-commit jobs."""

    def _deliver(body: bytes, signature: str | None):
        headers = {"HTTP_X_ONFLEET_SIGNATURE": signature} if signature is not None else {}
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/v1/webhooks/onfleet/", data=body, content_type="application/json", **headers)

    return _deliver


@pytest.fixture
def dispatched(onfleet, pending_booking, pay, settings, tmp_path):
    """A paid booking whose two tasks exist in the fake Onfleet; proof files go to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = str(tmp_path)
    booking = pay(pending_booking)
    onfleet.webhooks.clear()  # taskCreated deliveries: not part of the scenarios
    return booking


def task_ids(booking) -> tuple[str, str]:
    legs = legs_of(booking)
    return legs[LegKind.PICKUP].onfleet_task_id, legs[LegKind.DROPOFF].onfleet_task_id

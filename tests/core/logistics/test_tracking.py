"""GET bookings/{id}/tracking/ (the contract's shape, the customer's token, fixed query count) and local mode."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.bookings.models import Booking, BookingStatus
from core.common.errors import PermissionDenied
from core.logistics.dispatch import dispatch_request
from core.logistics.errors import LegNotMovable
from core.logistics.legs import dispatch_mode
from core.logistics.local import leg_local_move
from core.logistics.models import LegKind, LegStatus
from tests.core.logistics.conftest import legs_of, task_ids

pytestmark = pytest.mark.django_db


def _get(client, booking, token):
    return client.get(f"/api/v1/bookings/{booking.pk}/tracking/", HTTP_X_BOOKING_TOKEN=token)


def test_before_dispatch_legs_are_empty(client, pending_booking):
    body = _get(client, pending_booking, pending_booking.access_token).json()
    assert body == {"booking_number": pending_booking.booking_number, "status": "pending", "legs": [],
                    "events": []}


def test_wrong_token_is_404(client, pending_booking):
    response = _get(client, pending_booking, "nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_tracking_shows_legs_driver_first_name_and_newest_events_first(client, onfleet, pending_booking, pay,
                                                                       deliver):
    token = pending_booking.access_token
    booking = pay(pending_booking)
    pickup_id, dropoff_id = task_ids(booking)
    onfleet.webhooks.clear()
    onfleet.assign(pickup_id, onfleet.add_worker("Maria Lopez"))
    onfleet.start_task(pickup_id, eta_seconds=900)
    for body, signature in onfleet.webhooks:
        deliver(body, signature)

    with CaptureQueriesContext(connection) as queries:
        response = _get(client, booking, token)
    body = response.json()
    assert response.status_code == 200
    assert len(queries) == 4  # the booking (+ its specialty lines, by the shared access check), legs, events
    assert body["status"] == "in_progress"
    pickup, dropoff = body["legs"]
    assert pickup["kind"] == "pickup" and pickup["status"] == "in_progress"
    assert pickup["driver_name"] == "Maria" and pickup["eta"] is not None
    assert pickup["tracking_url"] == onfleet.tasks[pickup_id]["trackingURL"]
    assert dropoff == {"kind": "dropoff", "status": "created", "eta": None, "completed_at": None,
                       "driver_name": None, "tracking_url": onfleet.tasks[dropoff_id]["trackingURL"]}
    assert [e["type"] for e in body["events"]] == ["taskStarted", "taskAssigned"]
    assert body["events"][0]["description"] == "The driver is on the way"


def test_local_dispatch_mode_staff_move_legs_through_the_same_rules(client, pending_booking, pay, staff,
                                                                    django_capture_on_commit_callbacks):
    assert dispatch_mode() == "local"
    token = pending_booking.access_token
    booking = pay(pending_booking)
    assert booking.status == BookingStatus.PAID and not legs_of(booking)  # staff dispatch from the board
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_request(booking=booking, actor=staff)
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.SCHEDULED
    legs = legs_of(booking)
    assert all(leg.local_only and not leg.onfleet_task_id for leg in legs.values())

    with django_capture_on_commit_callbacks(execute=True):
        leg_local_move(leg=legs[LegKind.PICKUP], to_status=LegStatus.IN_PROGRESS, actor=staff,
                       driver_name="Jo Park")
        leg_local_move(leg=legs[LegKind.PICKUP], to_status=LegStatus.COMPLETED, actor=staff)
        leg_local_move(leg=legs[LegKind.DROPOFF], to_status=LegStatus.COMPLETED, actor=staff, note="Porch")
    with pytest.raises(LegNotMovable):
        leg_local_move(leg=legs_of(booking)[LegKind.DROPOFF], to_status=LegStatus.IN_PROGRESS, actor=staff)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.COMPLETED
    body = _get(client, booking, token).json()
    assert body["legs"][0]["driver_name"] == "Jo" and body["legs"][1]["status"] == "completed"
    assert [e["type"] for e in body["events"]] == ["taskCompleted", "taskCompleted", "taskStarted"]


def test_local_moves_are_staff_only(pending_booking, pay, staff, django_capture_on_commit_callbacks):
    from tests.factories import UserFactory

    booking = pay(pending_booking)
    with django_capture_on_commit_callbacks(execute=True):
        legs = dispatch_request(booking=booking, actor=staff)
    legs[0].refresh_from_db()
    with pytest.raises(PermissionDenied):
        leg_local_move(leg=legs[0], to_status=LegStatus.ASSIGNED, actor=UserFactory(username="x", is_staff=False))


def test_local_mode_is_refused_in_production_unless_switched_on(settings):
    from core.logistics.errors import DispatchNotConfigured

    settings.ONFLEET_API_KEY, settings.DEBUG, settings.TESTING, settings.ENVIRONMENT = "", False, False, "production"
    with pytest.raises(DispatchNotConfigured):
        dispatch_mode()
    settings.ONFLEET_LOCAL_DISPATCH = True
    assert dispatch_mode() == "local"

"""The dispatch board: who may see it and act, and its actions in local dispatch mode and against Onfleet."""

import datetime as dt

import pytest
from django.urls import reverse

from core.bookings.models import Booking, BookingStatus
from core.logistics.models import DeliveryTask, LegKind, LegStatus
from core.payments.services import payment_record_offline

pytestmark = pytest.mark.django_db
BOARD = "admin:core_deliverytask_board"
ACTION = "admin:core_deliverytask_board_action"


@pytest.fixture
def paid_booking(make_booking, django_capture_on_commit_callbacks):
    from tests.factories import UserFactory

    booking = make_booking()
    with django_capture_on_commit_callbacks(execute=True):
        payment_record_offline(booking=booking, amount=booking.total_price, method="cash", reference="",
                               actor=UserFactory(username="cashier"))
    return Booking.objects.get(pk=booking.pk)


def _act(client, django_capture_on_commit_callbacks, **data):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse(ACTION), data)


@pytest.mark.parametrize("role,board,act", [("operations", 200, 302), ("admin", 200, 302),
                                            ("finance", 200, 403), ("nogroup", 403, 403)])
def test_board_and_actions_follow_permissions(role_client, role, board, act, paid_booking,
                                              django_capture_on_commit_callbacks):
    client = role_client(role)
    assert client.get(reverse(BOARD), {"day": paid_booking.pickup_date.isoformat()}).status_code == board
    response = _act(client, django_capture_on_commit_callbacks, action="dispatch", booking=paid_booking.pk)
    assert response.status_code == act
    assert DeliveryTask.objects.filter(booking=paid_booking).exists() == (act == 302)


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse(BOARD))
    assert response.status_code == 302 and "login" in response["Location"]


def test_local_mode_board_dispatch_and_move(role_client, paid_booking, django_capture_on_commit_callbacks):
    client = role_client("operations")
    day = paid_booking.pickup_date.isoformat()
    page = client.get(reverse(BOARD), {"day": day}).content.decode()
    assert "LOCAL DISPATCH MODE" in page and paid_booking.booking_number in page and "Dispatch now" in page

    _act(client, django_capture_on_commit_callbacks, action="dispatch", booking=paid_booking.pk, day=day)
    assert Booking.objects.get(pk=paid_booking.pk).status == BookingStatus.SCHEDULED
    pickup = DeliveryTask.objects.get(booking=paid_booking, kind=LegKind.PICKUP)
    _act(client, django_capture_on_commit_callbacks, action="move", leg=pickup.pk, to="in_progress",
         driver="Jo Park", day=day)
    pickup.refresh_from_db()
    assert pickup.status == LegStatus.IN_PROGRESS and pickup.driver_name == "Jo Park"
    assert Booking.objects.get(pk=paid_booking.pk).status == BookingStatus.IN_PROGRESS
    page = client.get(reverse(BOARD), {"day": day}).content.decode()
    assert "Jo Park" in page and "In progress" in page

    # a move backwards is refused with a message, never a 500
    response = client.post(reverse(ACTION), {"action": "move", "leg": pickup.pk, "to": "assigned", "day": day},
                           follow=True)
    assert response.status_code == 200 and "cannot become assigned" in response.content.decode()


def test_onfleet_board_redispatch_after_failure(role_client, onfleet, paid_booking, settings, tmp_path,
                                                django_capture_on_commit_callbacks):
    from core.logistics.events import leg_apply_event

    client = role_client("operations")
    _act(client, django_capture_on_commit_callbacks, action="dispatch", booking=paid_booking.pk)
    dropoff = DeliveryTask.objects.get(booking=paid_booking, kind=LegKind.DROPOFF)
    old_task = dropoff.onfleet_task_id
    onfleet.fail(old_task)
    with django_capture_on_commit_callbacks(execute=True):
        leg_apply_event(leg=dropoff, trigger="taskFailed", at=dropoff.window_start + dt.timedelta(hours=1))
    page = client.get(reverse(BOARD), {"day": paid_booking.pickup_date.isoformat()}).content.decode()
    assert "Re-dispatch" in page and f"taskEditViewId={old_task}" in page

    _act(client, django_capture_on_commit_callbacks, action="redispatch", leg=dropoff.pk)

    dropoff.refresh_from_db()
    assert dropoff.status == LegStatus.CREATED and dropoff.onfleet_task_id not in ("", old_task)
    pickup = DeliveryTask.objects.get(booking=paid_booking, kind=LegKind.PICKUP)
    assert onfleet.tasks[dropoff.onfleet_task_id]["dependencies"] == [pickup.onfleet_task_id]


def test_dashboard_lists_logistics_issues(role_client, paid_booking):
    page = role_client("operations").get(reverse("admin:index")).content.decode()
    assert "Paid, not dispatched" in page and "Failed deliveries" in page

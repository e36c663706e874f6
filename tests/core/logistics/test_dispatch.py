"""Dispatch: paid → two linked Onfleet tasks exactly once, whatever fails on the way (the fault matrix)."""

import datetime as dt

import pytest
from django.utils import timezone

from core.bookings.models import Booking, BookingStatus
from core.integrations.onfleet import get_client
from core.logistics.dispatch import dispatch_run, dispatch_sweep
from core.logistics.legs import dispatch_blockers, task_spec
from core.logistics.models import LegKind
from tests.core.logistics.conftest import assert_two_linked_tasks, legs_of

pytestmark = pytest.mark.django_db
LATER = timezone.now() + dt.timedelta(minutes=10)  # the sweep only takes work older than STUCK_AFTER


def test_paying_dispatches_pickup_then_dependent_dropoff(onfleet, pending_booking, pay):
    booking = pay(pending_booking)

    pickup, dropoff = assert_two_linked_tasks(onfleet, booking)
    assert booking.status == BookingStatus.SCHEDULED
    assert booking.onfleet_pickup_task_id == pickup["id"] and booking.onfleet_dropoff_task_id == dropoff["id"]
    assert booking.tracking_url == pickup["trackingURL"]
    assert pickup["recipients"][0]["phone"] == booking.customer.phone
    assert [m for m, p in onfleet.api_calls] == ["POST", "POST", "POST"]  # lookup, pickup, drop-off
    legs = legs_of(booking)
    assert legs[LegKind.PICKUP].window_start.hour == 13  # 8am New York (EST) in UTC
    assert legs[LegKind.PICKUP].history.count() >= 1


def test_running_again_changes_nothing(onfleet, pending_booking, pay):
    booking = pay(pending_booking)
    calls = len(onfleet.api_calls)
    assert dispatch_run(booking_id=booking.pk) is True
    assert len(onfleet.api_calls) == calls
    assert_two_linked_tasks(onfleet, booking)


def test_timeout_after_the_pickup_was_created(onfleet, pending_booking, pay):
    onfleet.hang_on("POST", "/tasks", seconds=3.0)  # Onfleet creates the pickup; we never hear back
    booking = pay(pending_booking)
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.PAID
    assert "did not answer" in legs_of(booking)[LegKind.PICKUP].dispatch_error
    assert onfleet.wait_until(lambda: len(onfleet.tasks) == 1)  # the hung create was carried out

    dispatch_sweep(now=LATER)

    assert_two_linked_tasks(onfleet, booking)
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.SCHEDULED


def test_500_on_the_dropoff(onfleet, pending_booking, pay):
    onfleet.fail_on("POST", "/tasks", status=500, skip=1)
    booking = pay(pending_booking)
    legs = legs_of(booking)
    assert legs[LegKind.PICKUP].onfleet_task_id and legs[LegKind.DROPOFF].dispatch_pending

    dispatch_sweep(now=LATER)

    assert_two_linked_tasks(onfleet, booking)


@pytest.mark.parametrize("storm", [4, 30])
def test_429_storms(onfleet, pending_booking, pay, storm):
    onfleet.throttle(storm, retry_after=0)
    booking = pay(pending_booking)
    for _ in range(5):
        if not any(leg.dispatch_pending for leg in legs_of(booking).values()):
            break
        dispatch_sweep(now=LATER)

    assert onfleet.throttled == storm
    assert_two_linked_tasks(onfleet, booking)


def test_consumer_killed_after_creating_the_pickup(onfleet, pending_booking, pay, settings):
    # the payment's job is lost before it runs (a killed consumer): the legs are in the database
    settings.ONFLEET_API_KEY = ""
    booking = pay(pending_booking)
    settings.ONFLEET_API_KEY = onfleet.api_key
    from core.logistics.dispatch import dispatch_prepare

    legs = {leg.kind: leg for leg in dispatch_prepare(booking=booking)}
    # …and a previous run got as far as creating the pickup before it was killed
    get_client().create_task(task_spec(legs[LegKind.PICKUP], booking_number=booking.booking_number))

    dispatch_sweep(now=LATER)

    assert_two_linked_tasks(onfleet, booking)


def test_paid_booking_whose_job_was_lost_is_swept(onfleet, pending_booking, pay, settings):
    settings.ONFLEET_API_KEY = ""  # local mode: the payment hook dispatches nothing automatically
    booking = pay(pending_booking)
    assert not legs_of(booking)
    settings.ONFLEET_API_KEY = onfleet.api_key

    assert dispatch_sweep(now=LATER) == 1
    assert_two_linked_tasks(onfleet, booking)


def test_a_permanent_4xx_stops_and_tells_staff(onfleet, pending_booking, pay):
    onfleet.fail_on("POST", "/tasks", status=400)
    booking = pay(pending_booking)

    legs = legs_of(booking)
    assert not legs[LegKind.PICKUP].dispatch_pending
    assert "Onfleet HTTP 400" in legs[LegKind.PICKUP].dispatch_error
    booking.refresh_from_db()
    assert booking.needs_attention and "Onfleet refused" in booking.attention_reason
    assert dispatch_sweep(now=LATER) == 0 and onfleet.tasks == {}


def test_only_paid_bookings_are_dispatchable(pending_booking):
    assert dispatch_blockers(pending_booking) == ["the booking is pending payment"]


def test_cancel_waits_for_a_running_dispatch_and_a_dispatch_after_a_cancel_creates_nothing(
        onfleet, pending_booking, pay, staff):
    from huey.contrib.djhuey import HUEY

    from core.bookings.changes import booking_cancel_preview, booking_cancel_with_quote
    from core.logistics.dispatch import dispatch_lock_name
    from core.logistics.errors import DispatchBusy
    from core.logistics.services import dispatch_cancel

    booking = pay(pending_booking)
    assert_two_linked_tasks(onfleet, booking)
    # given a dispatch of this booking holding its lock, a staff cancel of its tasks is refused, not raced
    with HUEY.lock_task(dispatch_lock_name(booking.pk)), pytest.raises(DispatchBusy):
        dispatch_cancel(booking=booking, actor=staff)
    assert len(onfleet.tasks) == 2
    # when the booking is cancelled while legs are still pending, a dispatch that then gets the lock
    for leg in legs_of(booking).values():
        leg.dispatch_pending = True
        leg.onfleet_task_id = ""
        leg.save()
    onfleet.tasks.clear()
    paid = Booking.objects.get(pk=booking.pk)  # paid: cancelled under the change policy (it refunds)
    booking_cancel_with_quote(booking=paid, quote_id=booking_cancel_preview(booking=paid, actor=staff).pk, actor=staff)
    # then it re-checks under the lock and creates nothing
    assert dispatch_run(booking_id=booking.pk) is False
    assert onfleet.tasks == {}

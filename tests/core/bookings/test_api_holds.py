"""Unpaid holds: a slot is held for HOLD_MINUTES, then the periodic job cancels the booking and frees it."""

import datetime as dt

import pytest
from django.utils import timezone

from core.bookings.idempotency import idempotency_purge
from core.bookings.models import Booking, BookingStatus, IdempotencyRecord
from core.bookings.services import booking_create, booking_expire_holds, booking_transition
from core.bookings.tasks import expire_booking_holds
from core.catalog.availability import check_date

pytestmark = pytest.mark.django_db


def test_expired_holds_are_cancelled_once_and_paid_bookings_kept(make_request, future_weekday):
    # given an unpaid booking and a paid one
    unpaid, _ = booking_create(request=make_request())
    paid, _ = booking_create(request=make_request())
    booking_transition(booking=paid, to_status=BookingStatus.PAID)
    later = timezone.now() + dt.timedelta(minutes=31)
    assert check_date(future_weekday, "mini_move", now=later).remaining_capacity == 9  # expired: not counted
    # when the sweeper runs after the hold, twice
    assert booking_expire_holds(now=later) == 1
    assert booking_expire_holds(now=later) == 0
    # then only the unpaid booking is cancelled, with the reason recorded
    unpaid.refresh_from_db()
    assert unpaid.status == BookingStatus.CANCELLED and unpaid.cancellation_reason == "hold_expired"
    assert Booking.objects.get(pk=paid.pk).status == BookingStatus.PAID


def test_a_hold_still_running_is_left_alone(make_request):
    booking, _ = booking_create(request=make_request())
    assert booking_expire_holds(now=timezone.now() + dt.timedelta(minutes=29)) == 0
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.PENDING


def test_the_periodic_task_calls_the_service(make_request):
    booking, _ = booking_create(request=make_request())
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert expire_booking_holds.call_local() == 1


def test_idempotency_keys_older_than_a_day_are_purged():
    IdempotencyRecord.objects.create(scope="bookings.create", key="old", request_hash="x")
    IdempotencyRecord.objects.create(scope="bookings.create", key="new", request_hash="x")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - dt.timedelta(hours=25))
    assert idempotency_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]

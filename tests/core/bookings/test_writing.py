"""booking_create / booking_update: what they store (holds, lines, item counts)."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from core.bookings.models import Booking
from core.bookings.requests import booking_request_with_changes
from core.bookings.services import booking_create, booking_update

pytestmark = pytest.mark.django_db


def test_a_change_keeps_the_hold_granted_at_creation(make_request, future_weekday):
    # given a pending booking whose hold runs out in 30 minutes
    booking, _ = booking_create(request=make_request())
    granted = booking.hold_expires_at
    # when the customer changes it 20 minutes later (and again, changing nothing)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=20), tick=False):
        booking_update(booking=booking, request=booking_request_with_changes(
            booking, specialty_items=(), notes="Ring twice", pickup_date=future_weekday + dt.timedelta(days=1)))
        changed = Booking.objects.get(pk=booking.pk)
        booking_update(booking=changed, request=booking_request_with_changes(changed, specialty_items=()))
    # then the hold still ends when it was granted to
    assert Booking.objects.get(pk=booking.pk).hold_expires_at == granted

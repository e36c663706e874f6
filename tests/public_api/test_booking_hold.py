"""The reservation hold shows only while the booking waits for payment."""

import pytest

from core.bookings.models import Booking, BookingStatus
from core.bookings.services import booking_transition

pytestmark = pytest.mark.django_db

URL = "/api/v1/bookings/"


def test_a_paid_booking_no_longer_shows_a_hold(client, post_json, payload):
    created = post_json(URL, payload()).json()
    headers = {"HTTP_X_BOOKING_TOKEN": created["access_token"]}
    detail, confirm = f"{URL}{created['id']}/", f"{URL}{created['id']}/confirm/"
    assert created["hold_expires_at"] is not None
    assert client.get(detail, **headers).json()["hold_expires_at"] is not None
    assert client.get(confirm, **headers).json()["hold_expires_at"] is not None

    booking_transition(booking=Booking.objects.get(pk=created["id"]), to_status=BookingStatus.PAID,
                       reason="paid by card")

    assert client.get(detail, **headers).json()["hold_expires_at"] is None
    assert client.get(confirm, **headers).json()["hold_expires_at"] is None

"""booking_create / booking_update: what they store (holds, lines, item counts)."""

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.bookings.errors import BookingValidationError
from core.bookings.models import Booking, Quote
from core.bookings.requests import booking_request_with_changes
from core.bookings.services import booking_create, booking_update, price_booking_request, quote_create
from core.bookings.services.writing import _is_retryable
from core.common.errors import DomainError
from core.customers.models import CustomerProfile
from core.customers.services import AddressData, CustomerData
from tests.factories import CustomerFactory

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


@pytest.mark.parametrize(("overrides", "field"), [
    ({"notes": "nul \x00 byte"}, "notes"),
    ({"customer": CustomerData(name="Al\x00ex", email="alex@example.com")}, "customer.name"),
    ({"pickup_address": AddressData(line1="1 Main St", line2="\ud800", city="New York", state="NY",
                                    zip_code="10021")}, "pickup_address.line2"),
    ({"specialty_items": (("pelo\x00ton", 1),)}, "specialty_items.0.code"),
])
def test_text_the_database_cannot_store_is_refused_by_core(make_request, overrides, field):
    with pytest.raises(BookingValidationError) as exc:
        booking_create(request=make_request(**overrides))
    assert field in exc.value.fields
    assert Booking.objects.count() == 0


@pytest.mark.parametrize(("overrides", "field"), [
    ({"package": "full", "item_count": 501}, "item_count"),
    ({"specialty_items": (("peloton", 21),)}, "specialty_items.0.quantity"),
    ({"booking_type": "specialty", "item_count": 500, "specialty_items": (("surfboard", 1),)}, "item_count"),
])
def test_every_core_entry_point_enforces_the_limits(make_request, overrides, field):
    request = make_request(**overrides)
    for attempt in (lambda: price_booking_request(request), lambda: quote_create(request=request),
                    lambda: booking_create(request=request)):
        with pytest.raises(DomainError) as exc:
            attempt()
        assert exc.value.code == "validation_error" and field in exc.value.fields
    assert Booking.objects.count() == Quote.objects.count() == 0


def test_a_duplicate_email_is_retried_only_where_it_can_be_a_lost_race():
    # PostgreSQL: a concurrent first booking for the same email (23505), worth retrying. SQLite runs one writer
    # at a time, so the same failure there ("UNIQUE constraint failed: index 'customer_email_ci_unique'") can
    # only be deterministic, and is not retried.
    CustomerFactory(email="alex@example.com")
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        CustomerProfile.objects.create(name="Alex", email="ALEX@example.com")
    assert _is_retryable(exc.value) is (connection.vendor == "postgresql")
    if connection.vendor == "sqlite":  # what the removed branch looked for ("…: customers_customerprofile") never came
        assert str(exc.value) == "UNIQUE constraint failed: index 'customer_email_ci_unique'"

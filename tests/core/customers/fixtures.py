"""A customer with everything a data request touches: bookings, a merged duplicate, notes, a payment, a message."""

import pytest
from django.core.management import call_command

from core.accounts.models import User
from core.bookings.models import Booking
from core.bookings.services import booking_add_note, booking_create
from core.common.services import model_update
from core.customers.services import AddressData, CustomerData, customer_merge
from core.notifications.services import notify_booking_event
from core.payments.services import payment_record_offline
from tests.factories import UserFactory


@pytest.fixture
def customer_with_history(make_request):
    call_command("loaddata", "email_templates", verbosity=0)
    staff = UserFactory(username="desk", role=User.Role.ADMIN, is_superuser=True)
    request = make_request(
        customer=CustomerData(name="Alex Morgan", email="alex.morgan@example.com", phone="+12125550123"),
        pickup_address=AddressData(line1="245 East 72nd Street", line2="Apt 5B", city="New York", state="NY",
                                   zip_code="10021"),
        dropoff_address=AddressData(line1="27 Further Lane", city="East Hampton", state="NY", zip_code="11937"),
        notes="Please ring Bob the doorman")
    booking, _ = booking_create(request=request)
    duplicate, _ = booking_create(request=make_request(
        customer=CustomerData(name="Sasha Morgan", email="alex.dup@example.com", phone="+16465550199")))
    customer = booking.customer
    model_update(instance=customer, fields=["staff_notes"], data={"staff_notes": "Alex prefers mornings"},
                 actor=staff)
    customer_merge(source=duplicate.customer, target=customer, actor=staff)
    booking_add_note(booking=booking, body="Alex Morgan called from +12125550123", actor=staff)
    payment_record_offline(booking=booking, amount=booking.total_price, method="check", reference="1234",
                           actor=staff)
    notify_booking_event(booking=Booking.objects.get(pk=booking.pk), event="booking_confirmation")
    return customer, booking, duplicate, staff


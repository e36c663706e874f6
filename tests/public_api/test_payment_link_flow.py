"""A phone booking paid through the emailed payment link: the link's token creates the Stripe PaymentIntent
(create-intent, fake Stripe) the customer completes, hours after the call: the phone hold is still there."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from core.bookings.models import Booking, BookingSource
from core.bookings.services import booking_create
from core.payments.services import payment_link_send
from tests.core.notifications.fixtures import email_templates, postmark  # noqa: F401  (fixtures)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]
PAY = re.compile(r"/bookings/(?P<id>[0-9a-f-]{36})/pay/\?token=(?P<token>[^\s\"<]+)")


def test_the_customer_pays_through_the_link_hours_after_the_call(client, make_request, stripe_on, postmark,  # noqa: F811
                                                                 django_capture_on_commit_callbacks):
    taken = timezone.now() - dt.timedelta(hours=3)  # a web hold (30 minutes) would have expired by now
    booking, _token = booking_create(request=make_request(), source=BookingSource.PHONE, hold_minutes=24 * 60,
                                     now=taken)
    with django_capture_on_commit_callbacks(execute=True):
        payment_link_send(booking=booking, channels=["email"], actor=UserFactory(is_staff=True))
    link = PAY.search(postmark.messages[0]["TextBody"])
    headers = {"HTTP_X_BOOKING_TOKEN": link["token"], "content_type": "application/json"}

    intent = client.post("/api/v1/payments/create-intent/", {"booking_id": link["id"]}, **headers)

    assert intent.status_code == 200, intent.json()
    assert intent.json()["amount_cents"] == int(booking.total_price * 100)
    stripe_on.succeed(intent.json()["payment_intent_id"])
    confirm = client.post("/api/v1/payments/confirm/",
                          {"booking_id": link["id"], "payment_intent_id": intent.json()["payment_intent_id"]},
                          **headers)
    assert confirm.json() == {"payment_status": "paid", "booking_status": "paid"}
    assert Booking.objects.get(pk=booking.pk).status == "paid"


def test_a_balance_link_asks_for_the_balance_with_its_change_fee(client, booking, paid, stripe_on, postmark,  # noqa: F811
                                                                 django_capture_on_commit_callbacks):
    """A reschedule 48 h before pickup to a dearer day owes the $100 difference and the $75 change fee; the fee
    is not in the booking's total, so "total − captured" would ask for $100 — the link asks for the balance."""
    from core.bookings.changes import pickup_moment
    from core.bookings.rescheduling import BookingChange, booking_change_preview, booking_change_with_quote

    booking = Booking.objects.get(pk=booking.pk)  # paid now
    saturday = booking.pickup_date + dt.timedelta(days=(5 - booking.pickup_date.weekday()) % 7 or 7)
    late = pickup_moment(booking) - dt.timedelta(hours=48)
    quote = booking_change_preview(booking=booking, change=BookingChange(pickup_date=saturday,
                                                                         pickup_window="afternoon"), now=late)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = booking_change_with_quote(booking=booking, quote_id=quote.pk, now=late)
    assert outcome.payment_required["amount_cents"] == 17500
    moved = Booking.objects.get(pk=booking.pk)
    assert moved.payment_status == "balance_due"

    with django_capture_on_commit_callbacks(execute=True):
        payment_link_send(booking=moved, channels=["email"], actor=UserFactory(is_staff=True))
    body = postmark.messages[-1]["TextBody"]
    assert "For the change to ToteTaxi booking" in body and "$175.00" in body
    link = PAY.search(body)
    intent = client.post("/api/v1/payments/create-intent/", {"booking_id": link["id"]},
                         HTTP_X_BOOKING_TOKEN=link["token"], content_type="application/json")
    assert intent.status_code == 200, intent.json()
    assert intent.json()["payment_intent_id"] == outcome.payment_required["payment_intent_id"]
    assert intent.json()["amount_cents"] == 17500

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

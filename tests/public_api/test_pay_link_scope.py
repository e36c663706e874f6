"""A payment link's token (SMS/email) only pays: it opens the booking and pays it, nothing else, and stops
working once the booking owes nothing or after PAY_LINK_HOURS. Everything through the API and the fakes."""

import re

import pytest

from core.bookings.changes_access import manage_token
from core.bookings.models import Booking, BookingSource
from core.bookings.services import booking_create
from core.payments.services import payment_link_send
from tests.core.notifications.fixtures import email_templates, postmark, twilio  # noqa: F401  (fixtures)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]
PAY = re.compile(r"/bookings/(?P<id>[0-9a-f-]{36})/pay/\?token=(?P<token>[^\s\"<]+)")


@pytest.fixture
def linked(make_request, twilio, django_capture_on_commit_callbacks):  # noqa: F811
    """A phone booking and the token of the payment link texted to the customer."""
    booking, _token = booking_create(request=make_request(), source=BookingSource.PHONE, hold_minutes=24 * 60)
    with django_capture_on_commit_callbacks(execute=True):
        payment_link_send(booking=booking, channels=["sms"], actor=UserFactory(is_staff=True))
    return booking, PAY.search(twilio.messages[0]["body"])["token"]


def _refused(response):
    return response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_pay_token_opens_and_pays_but_cannot_change_the_booking(client, linked, stripe_on):
    booking, token = linked
    headers = {"HTTP_X_BOOKING_TOKEN": token, "content_type": "application/json"}
    base = f"/api/v1/bookings/{booking.pk}"

    assert client.get(f"{base}/", HTTP_X_BOOKING_TOKEN=token).status_code == 200
    for response in (client.post(f"{base}/cancel/preview/", {}, **headers),
                     client.post(f"{base}/reschedule/preview/", {"pickup_date": str(booking.pickup_date),
                                                                   "pickup_window": "afternoon"}, **headers),
                     client.patch(f"{base}/", {"notes": "mine now"}, **headers),
                     client.get(f"{base}/documents/", HTTP_X_BOOKING_TOKEN=token),
                     client.get(f"{base}/tracking/", HTTP_X_BOOKING_TOKEN=token),
                     client.get(f"{base}/confirm/", HTTP_X_BOOKING_TOKEN=token)):
        assert _refused(response), response.content
    # the same requests with the manage token are not refused: the 404s above are the pay token's scope
    assert client.post(f"{base}/cancel/preview/", {}, content_type="application/json",
                       HTTP_X_BOOKING_TOKEN=manage_token(booking)).status_code == 200

    intent = client.post("/api/v1/payments/create-intent/", {"booking_id": str(booking.pk)}, **headers)
    assert intent.status_code == 200, intent.json()
    stripe_on.succeed(intent.json()["payment_intent_id"])
    confirm = client.post("/api/v1/payments/confirm/", {"booking_id": str(booking.pk),
                                                        "payment_intent_id": intent.json()["payment_intent_id"]},
                          **headers)
    assert confirm.json() == {"payment_status": "paid", "booking_status": "paid"}

    # paid: the link has done its job and no longer opens the booking
    assert _refused(client.get(f"{base}/", HTTP_X_BOOKING_TOKEN=token))
    assert _refused(client.post("/api/v1/payments/create-intent/", {"booking_id": str(booking.pk)}, **headers))
    assert Booking.objects.get(pk=booking.pk).status == "paid"


def test_the_pay_token_expires_before_the_manage_token(client, linked, settings):
    booking, token = linked
    settings.TOTETAXI = {**settings.TOTETAXI, "PAY_LINK_HOURS": -1}  # its lifetime is over
    assert _refused(client.get(f"/api/v1/bookings/{booking.pk}/", HTTP_X_BOOKING_TOKEN=token))
    assert _refused(client.post("/api/v1/payments/create-intent/", {"booking_id": str(booking.pk)},
                                HTTP_X_BOOKING_TOKEN=token, content_type="application/json"))
    assert client.get(f"/api/v1/bookings/{booking.pk}/",
                      HTTP_X_BOOKING_TOKEN=manage_token(booking)).status_code == 200

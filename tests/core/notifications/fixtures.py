"""Notification test fixtures: shipped templates, bookings, anymail→fake Postmark, Twilio client→fake Twilio.

Star-imported by tests/core/notifications/conftest.py and tests/public_api/test_notification_webhooks.py.
"""

import pytest
from django.core.management import call_command

from core.bookings.models import BookingStatus
from core.bookings.services import booking_create, booking_transition

WEBHOOK_AUTH = "postmark:s3cret-webhook"


@pytest.fixture
def email_templates(db):
    call_command("loaddata", "email_templates", verbosity=0)


@pytest.fixture
def postmark(settings, fake_postmark):
    """Email goes through anymail's Postmark backend to the local fake."""
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": fake_postmark.server_token,
        "POSTMARK_API_URL": fake_postmark.api_url,
        "REQUESTS_TIMEOUT": 0.5,
        "WEBHOOK_SECRET": WEBHOOK_AUTH,
    }
    return fake_postmark


@pytest.fixture
def twilio(settings, fake_twilio):
    """SMS goes through the Twilio client to the local fake; status callbacks come back to testserver."""
    settings.TWILIO_ACCOUNT_SID = fake_twilio.account_sid
    settings.TWILIO_AUTH_TOKEN = fake_twilio.auth_token
    settings.TWILIO_FROM_NUMBER = fake_twilio.from_number
    settings.TWILIO_API_BASE = fake_twilio.url
    settings.TWILIO_TIMEOUT = 0.5
    settings.PUBLIC_BASE_URL = "http://testserver"
    return fake_twilio


@pytest.fixture
def make_booking(make_request, email_templates):
    def _make(*, paid=True, **overrides):
        booking, _token = booking_create(request=make_request(**overrides))
        if paid:
            booking = booking_transition(booking=booking, to_status=BookingStatus.PAID, reason="test payment")
        return booking

    return _make


@pytest.fixture
def booking(make_booking):
    return make_booking()

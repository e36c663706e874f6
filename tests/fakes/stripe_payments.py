"""Django-side fixtures for payment tests: settings pointed at the fake Stripe, bookings, users, webhooks."""

from __future__ import annotations

import time

import pytest

from tests.fakes.stripe_server import FAKE_SECRET_KEY, FAKE_WEBHOOK_SECRET, FakeStripeServer
from tests.fakes.stripe_signing import OLD_WEBHOOK_SECRET, event_body, sign


@pytest.fixture
def stripe_on(settings, fake_stripe: FakeStripeServer) -> FakeStripeServer:
    """Live-mode settings talking to the fake Stripe (two webhook secrets: rotation)."""
    settings.STRIPE_SECRET_KEY = FAKE_SECRET_KEY
    settings.STRIPE_API_BASE = fake_stripe.url
    settings.STRIPE_WEBHOOK_SECRETS = [FAKE_WEBHOOK_SECRET, OLD_WEBHOOK_SECRET]
    return fake_stripe


@pytest.fixture
def test_mode(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_WEBHOOK_SECRETS = [FAKE_WEBHOOK_SECRET]


@pytest.fixture
def booking(make_request):
    """A pending booking and its access token."""
    from core.bookings.services import booking_create

    created, token = booking_create(request=make_request())
    created.access_token = token
    return created


def pay_through_stripe(fake: FakeStripeServer, booking):
    """Pay the booking's total through the fake Stripe, as the site would; returns the Payment."""
    from core.payments import services
    from core.payments.models import Payment

    pi = services.payment_intent_create(booking=booking)["payment_intent_id"]
    fake.succeed(pi)
    services.payment_confirm(booking=booking, payment_intent_id=pi)
    return Payment.objects.get(stripe_payment_intent_id=pi)


@pytest.fixture
def paid(stripe_on, booking):
    """The `booking` paid through Stripe; returns its Payment."""
    return pay_through_stripe(stripe_on, booking)


@pytest.fixture
def finance_admin(db):
    from core.accounts.models import User
    from tests.factories import UserFactory

    return UserFactory(username="finance-admin", role=User.Role.ADMIN)


@pytest.fixture
def staff_user(db):
    from tests.factories import UserFactory

    return UserFactory(username="ops-staff")


@pytest.fixture
def post_webhook(client, django_capture_on_commit_callbacks):
    """POST a raw body with a Stripe-Signature to /api/v1/webhooks/stripe/ and run the after-commit jobs."""

    def _post(event_or_payload, *, secret: str = FAKE_WEBHOOK_SECRET, header: str | None = None,
              timestamp: int | None = None):
        payload = event_or_payload if isinstance(event_or_payload, bytes) else event_body(event_or_payload)
        if header is None:
            header = sign(payload, secret, timestamp if timestamp is not None else int(time.time()))
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/v1/webhooks/stripe/", data=payload, content_type="application/json",
                               HTTP_STRIPE_SIGNATURE=header)

    return _post

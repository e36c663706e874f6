"""Faults: Redis down, Stripe hanging. A webhook still answers 200 when the job queue is unreachable (the event
stays in the database and the sweep finishes it); rate limiting lets requests through, logged; a hanging Stripe
is cut off by our timeout (STRIPE_TIMEOUT) and answered with a clean 503."""

import datetime as dt
import logging
import socket

import pytest
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage

from core.bookings.models import Booking, BookingStatus
from core.payments.models import ProviderEvent
from core.payments.services import payment_intent_create
from core.payments.webhooks import stripe_events_retry_stuck

pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]
pytestmark = pytest.mark.django_db


def _dead_redis_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{s.getsockname()[1]}/0"  # nothing listens once the socket closes


@pytest.fixture
def queue_down(monkeypatch):
    """The configured Huey, consuming from a Redis that refuses connections (as during a Redis restart)."""
    monkeypatch.setattr(HUEY, "_immediate", False)
    monkeypatch.setattr(HUEY, "storage", RedisStorage(name="outage", url=_dead_redis_url()))


def test_a_queue_outage_keeps_the_webhook_200_and_the_sweep_finishes_it(stripe_on, booking, post_webhook,
                                                                        queue_down, caplog):
    intent = payment_intent_create(booking=booking)["payment_intent_id"]
    stripe_on.succeed(intent)
    event = stripe_on.make_event("payment_intent.succeeded", intent)

    with caplog.at_level(logging.ERROR, logger="core.common.jobs"):
        response = post_webhook(event)

    assert response.status_code == 200 and response.json()["duplicate"] is False
    assert "job not enqueued" in caplog.text
    stored = ProviderEvent.objects.get()
    assert stored.processed_at is None  # the intent is in the database, nothing half-done
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.PENDING

    assert stripe_events_retry_stuck(now=timezone.now() + dt.timedelta(minutes=30)) == 1
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.PAID


def test_a_cache_outage_degrades_rate_limiting_and_is_logged(client, settings, catalog, future_weekday, caplog):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": _dead_redis_url()}}
    body = {"booking_type": "mini_move", "pickup_date": future_weekday.isoformat(), "pickup_window": "morning",
            "package": "petite", "item_count": 4, "specialty_items": [], "coi_required": False}
    with caplog.at_level(logging.WARNING, logger="core.common.ratelimit"):
        response = client.post("/api/v1/services/calculate-price/", body, content_type="application/json")
    assert response.status_code == 200  # the limiter lets the request through rather than failing it
    assert "rate limit cache unavailable" in caplog.text


def test_a_hanging_stripe_gets_a_clean_503_once_our_timeout_passes(client, stripe_on, booking, settings,
                                                                   fast_stripe_retries):
    settings.STRIPE_TIMEOUT = 0.3
    stripe_on.hang_next(3, seconds=2.0)  # longer than our timeout, every attempt (first try + 2 retries)

    response = client.post("/api/v1/payments/create-intent/", {"booking_id": str(booking.pk)},
                           content_type="application/json", HTTP_X_BOOKING_TOKEN=booking.access_token)

    # Without a client timeout the first attempt would simply wait for the answer and succeed.
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "payment_provider_unavailable"
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.PENDING


def test_api_requests_get_a_clean_503_when_the_database_is_unreachable():
    from tests.totetaxi.test_settings import _run

    # A real unreachable PostgreSQL (nothing listens on port 9), in a fresh process.
    script = (
        "import django; django.setup();"
        "from django.test import Client;"
        "from tests.public_api.conftest import booking_payload;"
        "import datetime as dt;"
        "c = Client();"
        "r1 = c.get('/api/v1/services/packages/');"
        "r2 = c.post('/api/v1/bookings/', booking_payload(dt.date(2027, 3, 10)), content_type='application/json');"
        "print(r1.status_code, r1.json()['error']['code'], r2.status_code, r2.json()['error']['code'], r2['Retry-After'])"
    )
    result = _run(["-c", script], DEBUG="1", DJANGO_SETTINGS_MODULE="totetaxi.settings",
                  DATABASE_URL="postgres://postgres@127.0.0.1:9/nothing", ALLOWED_HOSTS="testserver", REDIS_URL="")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "503 database_unavailable 503 database_unavailable 5"

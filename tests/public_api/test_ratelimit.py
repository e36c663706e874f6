"""The fixed-window limiter behind the public POSTs, driven through real requests.

The counter lives in the configured cache (local memory in SQLite runs, Redis when REDIS_URL is set, as in CI):
nothing of ours is patched; the clock is frozen so a test never straddles a window boundary.
"""

import datetime as dt

import pytest
import time_machine

pytestmark = pytest.mark.django_db

PRICE = "/api/v1/services/calculate-price/"
PREVIEW = "/api/v1/bookings/preview/"
# 12:00:30 New York: 30 seconds into a one-minute window.
FROZEN = dt.datetime(2026, 12, 1, 17, 0, 30, tzinfo=dt.UTC)


@pytest.fixture
def limit(settings):
    def _set(n: int):
        settings.TOTETAXI = {**settings.TOTETAXI, "RATE_LIMIT_POSTS_PER_MINUTE": n}

    return _set


@pytest.fixture
def clock():
    with time_machine.travel(FROZEN, tick=False) as traveller:
        yield traveller


@pytest.fixture
def price(post_json, payload):
    body = payload(pickup_date=FROZEN.date() + dt.timedelta(days=14))

    def _post(ip="198.51.100.1", url=PRICE):
        return post_json(url, body, REMOTE_ADDR=ip)

    return _post


def test_the_limit_counts_per_client_and_route_and_answers_429_with_retry_after(limit, clock, price):
    limit(2)

    assert [price().status_code for _ in range(2)] == [200, 200]
    refused = price()

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused["Retry-After"] == "30"  # the rest of the current minute
    assert price(ip="198.51.100.2").status_code == 200
    assert price(url=PREVIEW).status_code == 200


def test_the_next_window_starts_afresh(limit, clock, price):
    limit(1)
    assert price().status_code == 200
    assert price().status_code == 429

    clock.shift(dt.timedelta(seconds=30))

    assert price().status_code == 200


def test_the_limit_is_read_at_request_time_and_zero_turns_it_off(limit, clock, price):
    limit(1)
    assert price().status_code == 200
    assert price().status_code == 429

    limit(0)

    assert [price().status_code for _ in range(5)] == [200] * 5


def test_a_cache_outage_lets_requests_through(limit, clock, price, settings):
    # A real outage: a Redis cache on a port nothing listens on.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:9/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.2}}}
    limit(1)

    assert [price().status_code for _ in range(3)] == [200] * 3

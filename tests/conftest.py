import datetime as dt

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.db import connection

from tests.factories import booking_request

# fake_postmark / fake_twilio for every test module (the notification fixtures build on them)
pytest_plugins = ["tests.fakes.notify_fixtures", "tests.fakes.documents_fixtures",
                  "tests.fakes.onfleet_fixtures"]


def _clear_own_cache():
    """Empty this worker's cache. On Redis, FLUSHDB would also wipe what a parallel xdist worker's test is
    counting at that moment (its rate-limit windows), so only this worker's key prefix is deleted."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        cache.clear()
        return
    client = backend._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{backend.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _clear_cache():
    _clear_own_cache()
    yield
    _clear_own_cache()


@pytest.fixture(autouse=True)
def _force_login_passes_two_factor(monkeypatch):
    """`client.force_login(staff)` stands for a finished sign-in, which for staff includes the second factor.

    The console's middleware still enforces it: tests/ops_console/test_two_factor.py signs in without it.
    """
    from django.test import Client

    from tests.two_factor import verify_session

    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        if user.is_staff:
            verify_session(self, user)

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture
def catalog(db):
    call_command("loaddata", "catalog", verbosity=0)


@pytest.fixture
def future_weekday():
    """A Wednesday comfortably inside the lead time and horizon, outside peak season and holidays."""
    from django.utils import timezone

    day = timezone.localdate() + dt.timedelta(days=10)
    while day.isoweekday() != 3 or day.month in (5, 6, 7, 8, 9) or day.day in (11, 25, 26):
        day += dt.timedelta(days=1)
    return day


@pytest.fixture
def make_request(catalog, future_weekday):
    def _make(**overrides):
        overrides.setdefault("pickup_date", future_weekday)
        return booking_request(**overrides)

    return _make


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (CI runs this with DATABASE_URL=postgres://…)")

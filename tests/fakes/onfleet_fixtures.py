"""pytest fixtures for the Onfleet fake: `fake_onfleet` alone, `onfleet` with the settings pointing at it.

Registered for the whole suite by tests/conftest.py (`pytest_plugins`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.onfleet_server import FakeOnfleetServer


@pytest.fixture
def fake_onfleet() -> Iterator[FakeOnfleetServer]:
    """A running fake Onfleet: .api_base, .api_key, .media_base, .webhook_secret, .tasks, .webhooks."""
    with FakeOnfleetServer(retry_after=0) as server:
        yield server


@pytest.fixture
def onfleet(fake_onfleet, settings) -> FakeOnfleetServer:
    """ONFLEET_* settings aimed at the fake, with short timeouts and no backoff so fault tests stay quick."""
    settings.ONFLEET_API_KEY = fake_onfleet.api_key
    settings.ONFLEET_API_BASE = fake_onfleet.api_base
    settings.ONFLEET_MEDIA_BASE = fake_onfleet.media_base
    settings.ONFLEET_WEBHOOK_SECRETS = [fake_onfleet.webhook_secret]
    settings.ONFLEET_TIMEOUT = 2.0  # generous on a busy machine; the timeout tests hang longer than this
    settings.ONFLEET_RETRY_BACKOFF = 0
    return fake_onfleet

"""pytest fixtures for the Twilio and Postmark fakes; no Django settings involved.

Registered for the whole suite by tests/conftest.py (`pytest_plugins`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.postmark_server import FakePostmarkServer
from tests.fakes.twilio_server import FakeTwilioServer


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilioServer]:
    """A running fake Twilio API: .url, .account_sid, .auth_token, .from_number, .messages."""
    with FakeTwilioServer() as server:
        yield server


@pytest.fixture
def fake_postmark() -> Iterator[FakePostmarkServer]:
    """A running fake Postmark API: .api_url (POSTMARK_API_URL), .server_token, .messages."""
    with FakePostmarkServer() as server:
        yield server

"""Pytest fixtures for the fake Stripe server. No Django here: the lead wires settings.

Usage: register the module as a plugin (in a test module or the root conftest.py)::

    pytest_plugins = ["tests.fakes.stripe_fixtures"]

    def test_x(fake_stripe):
        gateway = StripeGateway(FAKE_SECRET_KEY, api_base=fake_stripe.url)

``fake_stripe`` is function-scoped: every test gets a fresh server on a new random port (starting one
takes a few milliseconds), so no state leaks between tests and nothing needs ``reset()`` (which exists
for callers that keep one server longer).
For Django, point ``settings.STRIPE_API_BASE`` at ``fake_stripe.url`` and set any non-empty
``STRIPE_SECRET_KEY`` (the fake requires a bearer key but accepts any).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.stripe_server import FAKE_SECRET_KEY, FAKE_WEBHOOK_SECRET, FakeStripeServer

__all__ = ["FAKE_SECRET_KEY", "FAKE_WEBHOOK_SECRET", "fake_stripe", "fast_stripe_retries"]


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripeServer]:
    server = FakeStripeServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fast_stripe_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrink the stripe library's retry back-off (≥ 0.5 s per retry by default) for retry tests."""
    from stripe import _http_client

    monkeypatch.setattr(_http_client.HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(_http_client.HTTPClient, "MAX_DELAY", 0.02)

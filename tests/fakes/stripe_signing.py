"""Helpers to sign webhook bodies exactly as Stripe does (no fixtures here: safe to import from tests)."""

from __future__ import annotations

import json

from tests.fakes.stripe_server import FAKE_WEBHOOK_SECRET, FakeStripeServer

OLD_WEBHOOK_SECRET = "whsec_previous_rotated"


def sign(payload: bytes, secret: str = FAKE_WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """``t=<unix>,v1=<HMAC-SHA256 of "t.payload">`` — the Stripe-Signature header."""
    return FakeStripeServer.sign(payload, secret, timestamp)


def event_body(event: dict) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()

"""Error reporting to Sentry (only when SENTRY_DSN is set), with personal and secret data scrubbed.

Sentry's own scrubber removes values under denylisted keys (request headers, cookies, local variables,
extra data); on top of it `scrub_event` removes what hides inside strings: email addresses (in URLs, query
strings, messages, breadcrumbs) and card numbers.
"""

from __future__ import annotations

import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.huey import HueyIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, DEFAULT_PII_DENYLIST, EventScrubber

FILTERED = "[Filtered]"
# Lower-case, compared against dict keys at any depth (headers arrive as "X-Booking-Token" and
# "HTTP_X_BOOKING_TOKEN" style keys, both lower-cased by the scrubber).
EXTRA_DENYLIST = [
    "x-booking-token", "x_booking_token", "booking_token", "access_token", "client_secret", "stripe-signature",
    "stripe_signature", "x-twilio-signature", "x-onfleet-signature", "idempotency-key", "card", "card_number",
    "number", "cvc", "cvv", "exp_month", "exp_year", "iban", "email", "phone", "name", "line1", "line2",
    "recipients", "body", "notes",
]
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")
TOKEN_PARAM = re.compile(r"(?i)((?:token|secret|key|signature|password)=)[^&\s]+")


def _clean(text: str) -> str:
    return TOKEN_PARAM.sub(rf"\1{FILTERED}", CARD.sub(FILTERED, EMAIL.sub(FILTERED, text)))


def _walk(node: Any) -> Any:
    if isinstance(node, str):
        return _clean(node)
    if isinstance(node, dict):
        return {k: _walk(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v) for v in node]
    return node


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """before_send / before_send_transaction: strip emails, card numbers and token query values from strings."""
    return _walk(event)


def init_sentry(*, dsn: str, environment: str, release: str | None, traces_sample_rate: float = 0.0) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), HueyIntegration(), LoggingIntegration(event_level=None)],
        send_default_pii=False,
        event_scrubber=EventScrubber(denylist=DEFAULT_DENYLIST + EXTRA_DENYLIST, pii_denylist=DEFAULT_PII_DENYLIST,
                                     recursive=True),
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=lambda crumb, hint: _walk(crumb),
        traces_sample_rate=traces_sample_rate,
        max_request_body_size="never",  # request bodies carry customers' names and addresses
    )

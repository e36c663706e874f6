"""Stripe integration: a typed gateway over the official library, plus webhook verification."""

from core.integrations.stripe.client import (
    DEFAULT_MAX_NETWORK_RETRIES,
    DEFAULT_WEBHOOK_TOLERANCE,
    Charge,
    PaymentIntent,
    Refund,
    SignatureError,
    StripeGateway,
    StripeIntegrationError,
    StripeRequestError,
    StripeUnavailable,
    construct_event,
    expandable_id,
    get_client,
    parse_webhook_secrets,
    payment_intent_from_dict,
    refund_from_dict,
)

__all__ = [
    "DEFAULT_MAX_NETWORK_RETRIES",
    "DEFAULT_WEBHOOK_TOLERANCE",
    "Charge",
    "PaymentIntent",
    "Refund",
    "SignatureError",
    "StripeGateway",
    "StripeIntegrationError",
    "StripeRequestError",
    "StripeUnavailable",
    "construct_event",
    "expandable_id",
    "get_client",
    "parse_webhook_secrets",
    "payment_intent_from_dict",
    "refund_from_dict",
]

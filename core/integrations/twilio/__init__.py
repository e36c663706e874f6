"""Twilio SMS: sending and status-callback signature checks (no ORM)."""

from core.integrations.twilio.client import (
    BaseUrlHttpClient,
    SmsResult,
    TwilioClient,
    TwilioError,
    TwilioNotConfigured,
    TwilioRejected,
    TwilioUnavailable,
    get_client,
    send_sms,
    validate_signature,
)

__all__ = [
    "BaseUrlHttpClient",
    "SmsResult",
    "TwilioClient",
    "TwilioError",
    "TwilioNotConfigured",
    "TwilioRejected",
    "TwilioUnavailable",
    "get_client",
    "send_sms",
    "validate_signature",
]

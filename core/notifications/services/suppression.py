"""Suppressions: addresses and numbers we must not message again (bounce, complaint, STOP)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from core.notifications.models import (
    Channel,
    Suppression,
)


def is_suppressed(*, channel: str, address: str) -> bool:
    return Suppression.objects.filter(channel=channel, address=Suppression.normalise(channel, address)).exists()


def suppression_add(*, channel: str, address: str, reason: str, details: dict | None = None) -> Suppression:
    """Never message this address on this channel again (bounce, complaint, STOP); idempotent."""
    address = Suppression.normalise(channel, address)
    existing = Suppression.objects.filter(channel=channel, address=address).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Suppression.objects.create(channel=channel, address=address, reason=reason[:40],
                                              details=details or {})
    except IntegrityError:  # a concurrent webhook added it first
        return Suppression.objects.get(channel=channel, address=address)


# --- inbound SMS keywords ------------------------------------------------------------------------------

# Twilio's default opt-out / opt-in keywords (Twilio itself blocks further sends after STOP; recording it
# here means we stop trying, and staff can see why).
SMS_STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
SMS_START_WORDS = frozenset({"START", "UNSTOP", "YES"})


def sms_inbound_record(*, from_number: str, body: str, message_sid: str = "") -> str | None:
    """Apply an inbound SMS keyword: "opted_out", "opted_in", or None (not a keyword; nothing to do)."""
    keyword = (body or "").strip().upper().rstrip(".!")
    if not from_number:
        return None
    if keyword in SMS_STOP_WORDS:
        suppression_add(channel=Channel.SMS, address=from_number, reason="sms_stop",
                        details={"keyword": keyword, "message_sid": message_sid})
        return "opted_out"
    if keyword in SMS_START_WORDS:
        # Only lift an SMS opt-out; a number suppressed for another reason stays suppressed.
        Suppression.objects.filter(channel=Channel.SMS, address=Suppression.normalise(Channel.SMS, from_number),
                                   reason="sms_stop").delete()
        return "opted_in"
    return None

"""Stripe webhook events: verify and record once (fast, in the request), then process after commit (Huey).

Stripe delivers at least once and in any order, so processing never trusts the order of events: final
states (intent succeeded/canceled) are applied from the payload, everything else is re-fetched from Stripe
and applied forward-only (see services.payment_apply_intent).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.common.events import InvalidSignature, process_stored_event, retry_stuck_events
from core.common.payloads import contains_nul
from core.integrations.stripe import (
    SignatureError,
    construct_event,
    expandable_id,
    payment_intent_from_dict,
    refund_from_dict,
)
from core.payments import services
from core.payments.errors import InvalidWebhookPayload
from core.payments.models import Payment, PaymentStatus, ProviderEvent, Refund, RefundStatus

logger = logging.getLogger(__name__)

PROVIDER = "stripe"
HANDLED_EVENTS = frozenset({
    "payment_intent.succeeded",
    "payment_intent.processing",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "charge.refunded",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
})
def stripe_event_receive(*, payload: bytes, signature: str | None) -> tuple[ProviderEvent, bool]:
    """Verify the raw body, store the event once, and queue its processing after commit.

    Returns (event, created); a replayed delivery returns created=False and queues nothing.
    """
    try:
        event = construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRETS)
    except SignatureError as exc:
        raise InvalidSignature(f"The Stripe-Signature header does not verify: {exc}") from exc
    if problem := _shape_problem(event):
        # Signed, so it came from Stripe (or a leaked secret): refuse it once, loudly; a 5xx would be retried
        # for days and the body would never get better.
        logger.warning("refused a signed Stripe event: %s", problem, extra={"event_id": repr(event.get("id"))[:80]})
        raise InvalidWebhookPayload(f"The event is not a Stripe event: {problem}.")
    handled = event["type"] in HANDLED_EVENTS
    obj = (event.get("data") or {}).get("object")
    if isinstance(obj, dict) and obj.get("client_secret"):
        # Whoever holds a client secret can confirm the intent: keep it out of our event log.
        event["data"] = {**event["data"], "object": {**obj, "client_secret": "[redacted]"}}
    with transaction.atomic():
        record, created = ProviderEvent.objects.get_or_create(
            provider=PROVIDER, event_id=event["id"],
            # Types we do not act on are kept for the record and count as processed at once.
            defaults={"event_type": event["type"], "payload": event,
                      "processed_at": None if handled else timezone.now()},
        )
        if created and handled:
            from core.payments.tasks import process_stripe_event

            process_stripe_event(record.pk)  # an on_commit task: queued only once this row is committed
    return record, created


def _shape_problem(event: dict) -> str | None:
    """What makes a verified event unusable, or None: the fields we store and dispatch on must be what Stripe sends."""
    for key, limit in (("id", 255), ("type", 100)):
        if not isinstance(event.get(key), str) or len(event[key]) > limit:
            return f"{key} is not a string of at most {limit} characters"
    data = event.get("data", {})
    if not isinstance(data, dict) or not isinstance(data.get("object", {}), dict):
        return "data is not an object holding an object"
    if contains_nul(event):
        return "it contains a NUL character"
    return None


def stripe_event_process(*, provider_event_id: int) -> bool:
    """Do what one stored event asks (idempotent); True when it was processed now."""
    return process_stored_event(ProviderEvent, provider_event_id, lambda record: _dispatch(
        record.event_type, (record.payload.get("data") or {}).get("object") or {},
        created=record.payload.get("created")))


def _dispatch(event_type: str, obj: dict, *, created=None) -> None:
    if event_type not in HANDLED_EVENTS or not obj.get("id"):
        return
    gateway = services.stripe_gateway()
    if event_type.startswith("payment_intent."):
        pi = payment_intent_from_dict(obj)
        if pi.status not in ("succeeded", "canceled"):
            # Not final: a late "processing" must not undo a later state, so ask Stripe what is true now
            # (unless ours is already final: nothing Stripe says about a non-final state can change it).
            ours = Payment.objects.filter(stripe_payment_intent_id=pi.id).values_list("status", flat=True).first()
            if ours is None and not pi.metadata.get("booking_id"):
                return  # not ours
            if ours in (PaymentStatus.SUCCEEDED, services.payment_status_from_intent(pi)):
                return  # nothing new: any later change comes with its own event
            pi = gateway.retrieve_payment_intent(pi.id)
        services.payment_sync_intent(pi=pi, source="webhook")
    elif event_type == "charge.refunded":
        pi_id = expandable_id(obj.get("payment_intent"))
        payment = Payment.objects.filter(stripe_payment_intent_id=pi_id).first() if pi_id else None
        if payment is not None:
            services.payment_sync_refunds(payment=payment)
    elif event_type in ("refund.created", "refund.updated", "refund.failed"):
        stripe_refund = refund_from_dict(obj)
        if not Payment.objects.filter(stripe_payment_intent_id=stripe_refund.payment_intent).exists():
            return
        ours = Refund.objects.filter(stripe_refund_id=stripe_refund.id).values_list("status", flat=True).first()
        if ours in (RefundStatus.FAILED, RefundStatus.CANCELED, services.refund_status_from_stripe(stripe_refund.status)):
            return  # final on our side already, or nothing new: a later change comes with its own event
        services.refund_sync_from_stripe(stripe_refund=gateway.retrieve_refund(stripe_refund.id))
    elif event_type.startswith("charge.dispute."):
        # The dispute object has no closing date: the event's own time is when Stripe closed it.
        try:
            event_at = dt.datetime.fromtimestamp(int(created), tz=dt.UTC) if created else None
        except (TypeError, ValueError, OverflowError):
            event_at = None
        services.payment_record_dispute(dispute=obj, event_at=event_at)


def stripe_events_retry_stuck(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Process events whose after-commit job was lost (Huey has no acks) or failed; returns how many."""
    return retry_stuck_events(ProviderEvent.objects.filter(provider=PROVIDER),
                              lambda pk: stripe_event_process(provider_event_id=pk), now=now or timezone.now(), limit=limit,
                              order_by="received_at")

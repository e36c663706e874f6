"""Huey wrappers for payments: thin, idempotent (load by id, call a service); periodic ones locked."""

from __future__ import annotations

import datetime as dt

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task, on_commit_task

from core.common.audit import acting_as


@on_commit_task(retries=5, retry_delay=30)
def process_stripe_event(provider_event_id: int) -> bool:
    """After the webhook's commit: do what the stored event asks (a second run finds it processed)."""
    from core.payments.webhooks import stripe_event_process

    with acting_as(None, user_agent="stripe-webhook"):
        return stripe_event_process(provider_event_id=provider_event_id)


@on_commit_task(retries=3, retry_delay=60)
def send_payment_confirmation(booking_id: str) -> bool:
    """After a payment settled a booking: the customer's confirmation (deduplicated by notifications)."""
    from core.bookings.models import Booking
    from core.notifications.services import notify_booking_event

    booking = Booking.objects.filter(pk=booking_id).first()
    if booking is None:
        return False
    with acting_as(None, user_agent="huey:payment_confirmation"):
        notify_booking_event(booking=booking, event="payment_confirmation")
    return True


@db_periodic_task(crontab(minute="*/5"))
@lock_task("payments-sweep")
def sweep_payments() -> dict:
    """Every 5 minutes: events whose job was lost, refunds Stripe did not answer, balance intents of cancelled
    bookings still live at Stripe."""
    from core.payments.services import balance_intents_sweep, refunds_retry_pending
    from core.payments.webhooks import stripe_events_retry_stuck

    with acting_as(None, user_agent="huey:sweep_payments"):
        return {"events": stripe_events_retry_stuck(), "refunds": refunds_retry_pending(),
                "balance_intents": balance_intents_sweep()}


@db_periodic_task(crontab(hour="7", minute="30"))
@lock_task("payments-reconciliation")
def reconcile_payments_daily() -> int:
    """Every morning: compare yesterday (New York) at Stripe with our records; mismatches go to finance."""
    from django.utils import timezone

    from core.payments.reconciliation import reconciliation_run

    with acting_as(None, user_agent="huey:reconcile_payments"):
        return reconciliation_run(run_date=timezone.localdate() - dt.timedelta(days=1)).mismatches


@db_periodic_task(crontab(hour="15", minute="0"))  # Huey's crontab is UTC: 10 or 11 a.m. in New York
@lock_task("payments-balance-reminders")
def remind_balances_due() -> int:
    """Every day, mid-morning in New York: remind customers whose booking owes the balance of a change, with their
    payment link; once per booking and day whatever the reruns."""
    from core.payments.services import balance_reminders_send

    with acting_as(None, user_agent="huey:balance_reminders"):
        return balance_reminders_send()

"""POST /api/v1/webhooks/stripe/: events signed exactly as Stripe signs them, raw body, Django test client."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from core.bookings.models import Booking, BookingStatus, BookingStatusChange, PaymentState
from core.bookings.services import booking_expire_holds
from core.integrations.stripe import StripeGateway
from core.payments import services
from core.payments.models import Payment, PaymentAudit, PaymentStatus, ProviderEvent, Refund, RefundStatus
from tests.fakes.stripe_server import FAKE_SECRET_KEY
from tests.fakes.stripe_signing import OLD_WEBHOOK_SECRET, event_body, sign

pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def intent(stripe_on, booking):
    return services.payment_intent_create(booking=booking)["payment_intent_id"]


def _booking(b):
    return Booking.objects.get(pk=b.pk)


def test_succeeded_event_marks_the_booking_paid_once(stripe_on, booking, intent, post_webhook):
    stripe_on.succeed(intent)
    event = stripe_on.make_event("payment_intent.succeeded", intent)

    first = post_webhook(event)
    again = post_webhook(event)

    assert first.status_code == 200 and first.json() == {"received": True, "duplicate": False}
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert ProviderEvent.objects.get().processed_at is not None
    b = _booking(booking)
    assert b.status == BookingStatus.PAID and b.payment_status == PaymentState.PAID
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.webhook_received
    assert BookingStatusChange.objects.filter(booking=booking, to_status="paid").count() == 1
    history = b.history.filter(status="paid").first()
    assert history.user_agent == "stripe-webhook"


def test_payment_confirmation_is_sent_after_commit(stripe_on, booking, intent, post_webhook):
    from django.core.management import call_command

    from core.notifications.models import Notification

    call_command("loaddata", "email_templates", verbosity=0)
    stripe_on.succeed(intent)

    post_webhook(stripe_on.make_event("payment_intent.succeeded", intent))

    types = set(Notification.objects.filter(booking_id=booking.pk).values_list("notification_type", flat=True))
    assert {"booking_confirmation", "payment_confirmation"} <= types


@pytest.mark.parametrize("case", ["wrong_secret", "stale", "tampered", "missing", "garbage_header", "not_json"])
def test_bad_signatures_are_400_and_store_nothing(stripe_on, intent, post_webhook, client, case):
    stripe_on.succeed(intent)
    event = stripe_on.make_event("payment_intent.succeeded", intent)
    payload = event_body(event)
    if case == "wrong_secret":
        response = post_webhook(payload, secret="whsec_attacker")
    elif case == "stale":
        response = post_webhook(payload, timestamp=int(time.time()) - 301)
    elif case == "tampered":
        header = sign(payload)
        response = post_webhook(payload.replace(b'"succeeded"', b'"canceled"', 1), header=header)
    elif case == "missing":
        response = client.post("/api/v1/webhooks/stripe/", data=payload, content_type="application/json")
    elif case == "garbage_header":
        response = post_webhook(payload, header="t=abc,v1=???")
    else:
        body = b"not json at all"
        response = post_webhook(body, header=sign(body))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_signature" and error["message"] and error["fields"] == {}
    assert ProviderEvent.objects.count() == 0
    assert Payment.objects.get().status == PaymentStatus.PENDING


def test_the_previous_secret_still_verifies_during_rotation(stripe_on, booking, intent, post_webhook):
    stripe_on.succeed(intent)

    response = post_webhook(stripe_on.make_event("payment_intent.succeeded", intent), secret=OLD_WEBHOOK_SECRET)

    assert response.status_code == 200
    assert _booking(booking).status == BookingStatus.PAID


def test_signature_is_checked_on_the_raw_body_not_reserialised_json(stripe_on, booking, intent, post_webhook):
    stripe_on.succeed(intent)
    event = stripe_on.make_event("payment_intent.succeeded", intent)
    import json

    pretty = json.dumps(event, indent=3, sort_keys=True).encode()  # whitespace Stripe might send

    assert post_webhook(pretty).status_code == 200
    assert _booking(booking).status == BookingStatus.PAID


def test_a_late_processing_event_never_undoes_succeeded(stripe_on, booking, intent, post_webhook):
    stripe_on.set_processing(intent)
    processing = stripe_on.make_event("payment_intent.processing", intent)
    stripe_on.succeed(intent)
    succeeded = stripe_on.make_event("payment_intent.succeeded", intent)

    post_webhook(succeeded)
    post_webhook(processing)

    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED
    assert _booking(booking).payment_status == PaymentState.PAID


def test_processing_then_failed_then_retried_card_succeeds(stripe_on, booking, intent, post_webhook):
    stripe_on.set_processing(intent)
    post_webhook(stripe_on.make_event("payment_intent.processing", intent))
    assert _booking(booking).payment_status == PaymentState.PROCESSING

    stripe_on.fail(intent)
    post_webhook(stripe_on.make_event("payment_intent.payment_failed", intent))
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.FAILED and "declined" in payment.failure_reason
    assert _booking(booking).payment_status == PaymentState.FAILED
    assert _booking(booking).status == BookingStatus.PENDING

    # the customer retries with another card on the same intent (create-intent reuses it)
    assert services.payment_intent_create(booking=_booking(booking))["payment_intent_id"] == intent
    stripe_on.succeed(intent)
    post_webhook(stripe_on.make_event("payment_intent.succeeded", intent))
    assert _booking(booking).status == BookingStatus.PAID


def test_canceled_event(stripe_on, booking, intent, post_webhook):
    StripeGateway(FAKE_SECRET_KEY, api_base=stripe_on.url).cancel_payment_intent(intent, idempotency_key="x")

    post_webhook(stripe_on.make_event("payment_intent.canceled", intent))

    assert Payment.objects.get().status == PaymentStatus.CANCELED
    assert _booking(booking).status == BookingStatus.PENDING


def test_events_for_other_intents_are_acknowledged_and_ignored(stripe_on, post_webhook):
    foreign = stripe_on.seed_payment_intent(1234, succeeded=True)

    response = post_webhook(stripe_on.make_event("payment_intent.succeeded", foreign["id"]))

    assert response.status_code == 200
    assert Payment.objects.count() == 0
    assert ProviderEvent.objects.get().processed_at is not None


def test_unhandled_event_types_are_stored_and_acknowledged(stripe_on, post_webhook):
    response = post_webhook(stripe_on.make_event("customer.created", {"id": "cus_1", "object": "customer"}))

    assert response.status_code == 200
    assert ProviderEvent.objects.get().event_type == "customer.created"


def test_get_is_405_with_the_error_body(client):
    response = client.get("/api/v1/webhooks/stripe/")
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"


def test_an_intent_whose_row_was_lost_is_recovered_from_its_metadata(stripe_on, booking, post_webhook):
    # Stripe created the intent but our transaction never committed (crash after the call).
    pi = stripe_on.seed_payment_intent(int(booking.total_price * 100), metadata={"booking_id": str(booking.pk)})
    stripe_on.succeed(pi["id"])

    post_webhook(stripe_on.make_event("payment_intent.succeeded", pi["id"]))

    assert Payment.objects.get(stripe_payment_intent_id=pi["id"]).status == PaymentStatus.SUCCEEDED
    assert _booking(booking).status == BookingStatus.PAID


def _gateway(fake):
    return StripeGateway(FAKE_SECRET_KEY, api_base=fake.url)


def test_a_refund_made_in_the_stripe_dashboard_is_recorded(stripe_on, booking, intent, post_webhook):
    stripe_on.succeed(intent)
    post_webhook(stripe_on.make_event("payment_intent.succeeded", intent))
    refund = _gateway(stripe_on).create_refund(payment_intent_id=intent, amount_cents=1000, idempotency_key="dash")
    charge = Payment.objects.get().stripe_charge_id

    post_webhook(stripe_on.make_event("charge.refunded", charge))

    row = Refund.objects.get()
    assert (row.stripe_refund_id, row.amount_cents, row.status) == (refund.id, 1000, RefundStatus.SUCCEEDED)
    assert Payment.objects.get().refunded_cents == 1000
    assert _booking(booking).payment_status == PaymentState.PARTIALLY_REFUNDED


def test_refund_failed_gives_the_amount_back(stripe_on, booking, intent, post_webhook):
    stripe_on.succeed(intent)
    post_webhook(stripe_on.make_event("payment_intent.succeeded", intent))
    stripe_on.refund_initial_status = "pending"
    amount = Payment.objects.get().amount_cents
    refund = _gateway(stripe_on).create_refund(payment_intent_id=intent, amount_cents=None, idempotency_key="r1")
    post_webhook(stripe_on.make_event("refund.updated", refund.id))
    assert Payment.objects.get().refunded_cents == amount
    assert _booking(booking).payment_status == PaymentState.REFUNDED

    stripe_on.set_refund_status(refund.id, "failed", "expired_or_canceled_card")
    post_webhook(stripe_on.make_event("refund.failed", refund.id))

    row = Refund.objects.get()
    assert row.status == RefundStatus.FAILED and row.failure_reason == "expired_or_canceled_card"
    assert Payment.objects.get().refunded_cents == 0
    assert _booking(booking).payment_status == PaymentState.PAID


def test_a_dispute_flags_the_booking_with_the_evidence_due_date(stripe_on, booking, intent, post_webhook):
    stripe_on.succeed(intent)
    post_webhook(stripe_on.make_event("payment_intent.succeeded", intent))
    due = int(time.time()) + 7 * 86400
    dispute = {"id": "dp_123", "object": "dispute", "amount": 5000, "charge": Payment.objects.get().stripe_charge_id,
               "payment_intent": intent, "reason": "fraudulent", "status": "needs_response",
               "evidence_details": {"due_by": due, "has_evidence": False}}

    post_webhook(stripe_on.make_event("charge.dispute.created", dispute))

    b = _booking(booking)
    assert b.needs_attention and "dp_123" in b.attention_reason and "fraudulent" in b.attention_reason
    assert b.attention_due == dt.datetime.fromtimestamp(due, tz=dt.UTC)
    assert PaymentAudit.objects.filter(action="dispute_created").count() == 1


def _expire(pending):
    Booking.objects.filter(pk=pending.pk).update(hold_expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert booking_expire_holds() == 1
    b = _booking(pending)
    assert b.status == BookingStatus.CANCELLED and b.cancellation_reason == "hold_expired"


def test_a_payment_after_the_hold_expired_reinstates_the_booking(stripe_on, booking, intent, post_webhook):
    _expire(booking)
    stripe_on.succeed(intent)

    post_webhook(stripe_on.make_event("payment_intent.succeeded", intent))

    b = _booking(booking)
    assert b.status == BookingStatus.PAID and b.payment_status == PaymentState.PAID
    assert b.cancelled_at is None and not b.needs_attention
    change = b.status_changes.last()
    assert (change.from_status, change.to_status, change.reason) == ("cancelled", "paid",
                                                                     "reinstated_after_late_payment")
    assert PaymentAudit.objects.filter(action="booking_reinstated").exists()


def test_a_late_payment_for_a_full_date_is_flagged_and_stays_refundable(settings, stripe_on, booking, intent,
                                                                         post_webhook, make_request):
    from core.bookings.services import booking_create

    _expire(booking)
    settings.TOTETAXI = {**settings.TOTETAXI, "DEFAULT_DAILY_CAPACITY": 1}
    booking_create(request=make_request())  # someone else took the last slot
    stripe_on.succeed(intent)

    post_webhook(stripe_on.make_event("payment_intent.succeeded", intent))

    b = _booking(booking)
    assert b.status == BookingStatus.CANCELLED and b.needs_attention
    assert "fully booked" in b.attention_reason
    payment = Payment.objects.get(booking=b)
    assert payment.status == PaymentStatus.SUCCEEDED and payment.refundable_cents == payment.amount_cents


def test_client_secrets_are_not_kept_in_the_event_log(stripe_on, intent, post_webhook):
    post_webhook(stripe_on.make_event("payment_intent.processing", intent))

    assert ProviderEvent.objects.get().payload["data"]["object"]["client_secret"] == "[redacted]"


def test_stripe_down_while_processing_is_acknowledged_and_swept_later(stripe_on, booking, intent, post_webhook,
                                                                       fast_stripe_retries):
    from core.payments.webhooks import stripe_events_retry_stuck

    stripe_on.set_processing(intent)
    event = stripe_on.make_event("payment_intent.processing", intent)
    stripe_on.fail_next(3, status=503)  # the re-fetch fails, retries included

    assert post_webhook(event).status_code == 200  # Stripe must not retry what we stored
    stored = ProviderEvent.objects.get()
    assert stored.processed_at is None and "StripeUnavailable" in stored.processing_error and stored.attempts == 1

    ProviderEvent.objects.filter(pk=stored.pk).update(received_at=timezone.now() - dt.timedelta(minutes=10))
    assert stripe_events_retry_stuck() == 1

    assert ProviderEvent.objects.get().processed_at is not None
    assert _booking(booking).payment_status == PaymentState.PROCESSING


def test_a_payment_after_the_hold_lapsed_but_before_the_sweeper_still_counts(stripe_on, booking, intent,
                                                                              post_webhook):
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now() - dt.timedelta(minutes=2))
    stripe_on.succeed(intent)

    post_webhook(stripe_on.make_event("payment_intent.succeeded", intent))

    assert _booking(booking).status == BookingStatus.PAID


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_store_and_apply_once(postgres_only, stripe_on, make_request):
    from django.test import Client

    from core.bookings.services import booking_create
    from tests.concurrency import run_in_threads

    pending, _ = booking_create(request=make_request())
    pi = services.payment_intent_create(booking=pending)["payment_intent_id"]
    stripe_on.succeed(pi)
    payload = event_body(stripe_on.make_event("payment_intent.succeeded", pi))

    statuses = run_in_threads(10, lambda _: Client().post(
        "/api/v1/webhooks/stripe/", data=payload, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload)).status_code)

    assert statuses == [200] * 10
    assert ProviderEvent.objects.count() == 1
    assert BookingStatusChange.objects.filter(booking=pending, to_status="paid").count() == 1
    assert _booking(pending).payment_status == PaymentState.PAID


def test_refund_created_in_the_dashboard_is_recorded_from_its_own_event(stripe_on, booking, intent, post_webhook):
    stripe_on.succeed(intent)
    post_webhook(stripe_on.make_event("payment_intent.succeeded", intent))
    refund = _gateway(stripe_on).create_refund(payment_intent_id=intent, amount_cents=700, idempotency_key="dash2")

    post_webhook(stripe_on.make_event("refund.created", refund.id))

    assert Refund.objects.get().stripe_refund_id == refund.id
    assert Payment.objects.get().refunded_cents == 700

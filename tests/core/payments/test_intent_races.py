"""payment_intent_create holds no row lock while Stripe answers, yet makes one intent per booking and amount;
an answer lost after Stripe made the intent is completed by the retry (or by the webhook)."""

import pytest
from django.db import transaction

from core.bookings.models import Booking, BookingStatus
from core.payments import services
from core.payments.errors import PaymentProviderUnavailable
from core.payments.models import Payment, PaymentAudit, PaymentStatus
from tests.concurrency import in_background, run_in_threads

pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("idempotency_key", [None, "checkout-1"])
def test_the_booking_is_not_locked_while_stripe_is_asked(postgres_only, stripe_on, make_request, idempotency_key):
    from core.bookings.services import booking_create

    booking, _ = booking_create(request=make_request())
    held = stripe_on.hold_next()  # Stripe takes its time over the create call
    creating = in_background(lambda: services.payment_intent_create(booking=booking,
                                                                    idempotency_key=idempotency_key))
    held.wait_until_arrived()

    # meanwhile a webhook or a staff action locks the booking and its payments, without waiting
    with transaction.atomic():
        Booking.objects.select_for_update(nowait=True).get(pk=booking.pk)
        recorded = list(Payment.objects.select_for_update(nowait=True).filter(booking_id=booking.pk))
    held.release()
    body = creating.result(timeout=30)

    # the attempt was committed before the call; Stripe's answer after it
    assert [(p.status, p.stripe_payment_intent_id) for p in recorded] == [(PaymentStatus.PENDING, None)]
    assert Payment.objects.get().stripe_payment_intent_id == body["payment_intent_id"]
    assert Booking.objects.get(pk=booking.pk).stripe_payment_intent_id == body["payment_intent_id"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_while_stripe_is_slow_make_one_intent(postgres_only, stripe_on, make_request):
    from core.bookings.services import booking_create

    booking, _ = booking_create(request=make_request())
    held = stripe_on.hold_next()  # the first create waits at Stripe while eight more callers arrive
    first = in_background(lambda: services.payment_intent_create(booking=booking))
    held.wait_until_arrived()

    others = run_in_threads(8, lambda _: services.payment_intent_create(booking=booking))
    held.release()
    bodies = [first.result(timeout=30), *others]

    assert len({(b["payment_intent_id"], b["client_secret"]) for b in bodies}) == 1
    assert stripe_on.created_payment_intents == 1
    assert len({c.idempotency_key for c in stripe_on.calls("POST", "/v1/payment_intents")}) == 1
    [payment] = Payment.objects.filter(booking_id=booking.pk)
    assert payment.stripe_payment_intent_id == bodies[0]["payment_intent_id"]
    assert PaymentAudit.objects.filter(payment=payment, action="intent_created").count() == 1


@pytest.mark.django_db
def test_an_answer_lost_after_stripe_made_the_intent_is_completed_by_the_retry(stripe_on, booking,
                                                                                fast_stripe_retries):
    # Stripe makes the intent, but no answer reaches us (the first try and the library's two retries)
    stripe_on.lose_answer_next(3)
    with pytest.raises(PaymentProviderUnavailable):
        services.payment_intent_create(booking=booking)
    [recorded] = Payment.objects.all()
    assert recorded.stripe_payment_intent_id is None and stripe_on.created_payment_intents == 1

    body = services.payment_intent_create(booking=booking)

    [made] = stripe_on.objects("payment_intent")
    assert body["payment_intent_id"] == made["id"] and stripe_on.created_payment_intents == 1
    assert Payment.objects.get().stripe_payment_intent_id == made["id"]


@pytest.mark.django_db
def test_an_answer_lost_after_stripe_made_the_intent_is_completed_by_its_webhook(stripe_on, booking,
                                                                                  fast_stripe_retries,
                                                                                  post_webhook):
    stripe_on.lose_answer_next(3)
    with pytest.raises(PaymentProviderUnavailable):
        services.payment_intent_create(booking=booking)
    [made] = stripe_on.objects("payment_intent")
    stripe_on.succeed(made["id"])  # the customer never saw it, but say it was paid in Stripe's dashboard

    assert post_webhook(stripe_on.make_event("payment_intent.succeeded", made["id"])).status_code == 200

    # the recorded attempt takes the intent (no second row for the same booking and amount)
    payment = Payment.objects.get()
    assert payment.stripe_payment_intent_id == made["id"] and payment.status == PaymentStatus.SUCCEEDED
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.PAID


@pytest.mark.django_db(transaction=True)
def test_a_caller_while_stripe_executes_the_create_is_told_to_retry_and_gets_the_same_intent(
        postgres_only, stripe_on, make_request, fast_stripe_retries):
    from core.bookings.services import booking_create

    booking, _ = booking_create(request=make_request())
    held = stripe_on.hold_execution_next()  # Stripe is slow creating it: the key is taken meanwhile
    first = in_background(lambda: services.payment_intent_create(booking=booking))
    held.wait_until_arrived()

    # the same key while Stripe executes it: 409 idempotency_key_in_use (retried by the library, still busy)
    with pytest.raises(PaymentProviderUnavailable):
        services.payment_intent_create(booking=booking)
    held.release()
    body = first.result(timeout=30)

    assert services.payment_intent_create(booking=booking) == body
    assert stripe_on.created_payment_intents == 1 and Payment.objects.count() == 1

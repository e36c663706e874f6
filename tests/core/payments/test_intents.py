"""PaymentIntents through the real stripe library against the fake Stripe server."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from core.bookings.models import Booking, BookingStatus, PaymentState
from core.payments import services
from core.payments.errors import AlreadyPaid, NotPayable, PaymentProviderUnavailable
from core.payments.models import Payment, PaymentAudit, PaymentMethod, PaymentStatus

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]


def test_create_intent_creates_one_payment_intent_with_a_derived_idempotency_key(stripe_on, booking):
    body = services.payment_intent_create(booking=booking)

    assert body["payment_intent_id"].startswith("pi_")
    assert body["client_secret"].startswith(body["payment_intent_id"] + "_secret_")
    assert body["amount_cents"] == int(booking.total_price * 100)
    assert body["currency"] == "usd" and body["test_mode"] is False
    payment = Payment.objects.get()
    [create] = stripe_on.calls("POST", "/v1/payment_intents")
    assert create.idempotency_key == f"tt-pi-create-{booking.pk}-{payment.pk}"
    assert create.params["metadata"]["booking_id"] == str(booking.pk)
    assert create.params["metadata"]["payment_id"] == str(payment.pk)
    assert payment.stripe_payment_intent_id == body["payment_intent_id"]
    assert payment.status == PaymentStatus.PENDING and payment.method == PaymentMethod.STRIPE
    assert Booking.objects.get(pk=booking.pk).stripe_payment_intent_id == payment.stripe_payment_intent_id
    assert PaymentAudit.objects.filter(action="intent_created", payment=payment).count() == 1


def test_repeat_calls_reuse_the_intent(stripe_on, booking):
    first = services.payment_intent_create(booking=booking)
    second = services.payment_intent_create(booking=booking)

    assert second == first
    assert stripe_on.created_payment_intents == 1
    assert Payment.objects.count() == 1


def test_a_repriced_booking_gets_a_new_intent_and_the_old_is_cancelled(stripe_on, booking):
    first = services.payment_intent_create(booking=booking)
    Booking.objects.filter(pk=booking.pk).update(total_price=booking.total_price + Decimal("25.00"))
    booking.refresh_from_db()

    second = services.payment_intent_create(booking=booking)

    assert second["payment_intent_id"] != first["payment_intent_id"]
    assert second["amount_cents"] == first["amount_cents"] + 2500
    assert stripe_on.get_object(first["payment_intent_id"])["status"] == "canceled"
    old = Payment.objects.get(stripe_payment_intent_id=first["payment_intent_id"])
    assert old.status == PaymentStatus.CANCELED
    [cancel] = stripe_on.calls("POST", f"/v1/payment_intents/{first['payment_intent_id']}/cancel")
    assert cancel.idempotency_key == f"tt-pi-cancel-{old.pk}"


def test_back_to_an_earlier_price_makes_a_fresh_intent_with_a_new_key(stripe_on, booking):
    first = services.payment_intent_create(booking=booking)
    original = booking.total_price
    Booking.objects.filter(pk=booking.pk).update(total_price=original + 10)
    booking.refresh_from_db()
    services.payment_intent_create(booking=booking)
    Booking.objects.filter(pk=booking.pk).update(total_price=original)
    booking.refresh_from_db()

    third = services.payment_intent_create(booking=booking)

    assert third["payment_intent_id"] != first["payment_intent_id"]
    keys = [r.idempotency_key for r in stripe_on.calls("POST", "/v1/payment_intents")]
    assert len(set(keys)) == 3
    assert keys[-1] == f"tt-pi-create-{booking.pk}-{Payment.objects.get(stripe_payment_intent_id=third['payment_intent_id']).pk}"


def test_confirm_asks_stripe_and_moves_the_booking_to_paid(stripe_on, booking):
    body = services.payment_intent_create(booking=booking)
    # The client says "paid" but Stripe has not seen a payment yet: nothing changes.
    assert services.payment_confirm(booking=booking, payment_intent_id=body["payment_intent_id"]).status == "pending"

    stripe_on.succeed(body["payment_intent_id"])
    confirmed = services.payment_confirm(booking=booking, payment_intent_id=body["payment_intent_id"])

    assert confirmed.status == BookingStatus.PAID and confirmed.payment_status == PaymentState.PAID
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.stripe_charge_id.startswith("ch_")
    assert confirmed.status_changes.filter(to_status="paid").count() == 1


def test_a_paid_booking_gets_no_new_intent(stripe_on, booking):
    body = services.payment_intent_create(booking=booking)
    stripe_on.succeed(body["payment_intent_id"])
    services.payment_confirm(booking=booking, payment_intent_id=body["payment_intent_id"])

    with pytest.raises(AlreadyPaid):
        services.payment_intent_create(booking=Booking.objects.get(pk=booking.pk))


def test_an_expired_hold_cannot_start_a_payment(stripe_on, booking):
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now() - dt.timedelta(minutes=1))

    with pytest.raises(NotPayable) as err:
        services.payment_intent_create(booking=Booking.objects.get(pk=booking.pk))
    assert err.value.code == "hold_expired"
    assert stripe_on.created_payment_intents == 0


def test_stripe_down_is_a_503_domain_error_and_the_retry_reuses_the_key(stripe_on, booking, fast_stripe_retries):
    stripe_on.fail_next(3, status=500)
    with pytest.raises(PaymentProviderUnavailable):
        services.payment_intent_create(booking=booking)
    # the attempt was recorded before the call: a retry finds it and asks with the same key
    [recorded] = Payment.objects.all()
    assert recorded.stripe_payment_intent_id is None and recorded.status == PaymentStatus.PENDING

    body = services.payment_intent_create(booking=booking)
    assert stripe_on.created_payment_intents == 1
    keys = {r.idempotency_key for r in stripe_on.calls("POST", "/v1/payment_intents")}
    assert keys == {f"tt-pi-create-{booking.pk}-{recorded.pk}"}
    assert Payment.objects.get().stripe_payment_intent_id == body["payment_intent_id"]


def test_local_test_mode_needs_no_stripe_and_confirms(test_mode, booking):
    body = services.payment_intent_create(booking=booking)

    assert body["test_mode"] is True and body["payment_intent_id"].startswith("pi_testmode_")
    assert services.payment_intent_create(booking=booking) == body
    confirmed = services.payment_confirm(booking=booking, payment_intent_id=body["payment_intent_id"])
    assert confirmed.status == BookingStatus.PAID and confirmed.payment_status == PaymentState.PAID
    assert Payment.objects.get().method == PaymentMethod.TEST_MODE


def test_test_mode_is_never_on_in_production(settings, booking):
    settings.STRIPE_SECRET_KEY = ""
    settings.DEBUG = False
    settings.TESTING = False
    settings.ENVIRONMENT = "production"

    with pytest.raises(PaymentProviderUnavailable):
        services.payment_intent_create(booking=booking)


def test_a_test_mode_payment_cannot_be_confirmed_once_stripe_is_configured(test_mode, settings, booking):
    body = services.payment_intent_create(booking=booking)
    settings.STRIPE_SECRET_KEY = "sk_live_something"

    with pytest.raises(NotPayable):
        services.payment_confirm(booking=booking, payment_intent_id=body["payment_intent_id"])
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.PENDING


def test_demo_data_records_a_test_mode_payment(test_mode, booking):
    from core.bookings.services import booking_transition

    booking_transition(booking=booking, to_status=BookingStatus.PAID)
    payment = services.payment_record_test_mode(booking=booking)

    assert payment.method == PaymentMethod.TEST_MODE and payment.status == PaymentStatus.SUCCEEDED
    assert Booking.objects.get(pk=booking.pk).payment_status == PaymentState.PAID


def test_demo_payments_are_refused_in_production(settings, booking):
    settings.DEBUG = False
    settings.ENVIRONMENT = "production"
    with pytest.raises(NotPayable):
        services.payment_record_test_mode(booking=booking)


def test_no_new_intent_while_the_old_amount_is_processing(stripe_on, booking):
    from core.payments.errors import PaymentInProgress

    first = services.payment_intent_create(booking=booking)["payment_intent_id"]
    stripe_on.set_processing(first)
    services.payment_confirm(booking=booking, payment_intent_id=first)
    Booking.objects.filter(pk=booking.pk).update(total_price=booking.total_price + 5)

    with pytest.raises(PaymentInProgress):
        services.payment_intent_create(booking=Booking.objects.get(pk=booking.pk))
    assert stripe_on.created_payment_intents == 1


def test_a_superseded_intent_that_was_paid_meanwhile_is_kept_not_cancelled(stripe_on, booking):
    first = services.payment_intent_create(booking=booking)["payment_intent_id"]
    stripe_on.succeed(first)  # paid at the old price before we heard of it
    Booking.objects.filter(pk=booking.pk).update(total_price=booking.total_price + 5)

    with pytest.raises(AlreadyPaid):
        services.payment_intent_create(booking=Booking.objects.get(pk=booking.pk))

    assert Payment.objects.get(stripe_payment_intent_id=first).status == PaymentStatus.SUCCEEDED
    assert stripe_on.created_payment_intents == 1
    # the news is kept: paid (at the old price, which staff see flagged as less than the new total)
    b = Booking.objects.get(pk=booking.pk)
    assert b.needs_attention and "less than the total" in b.attention_reason


def test_reuse_finds_the_intent_paid_and_settles_the_booking(stripe_on, booking):
    first = services.payment_intent_create(booking=booking)["payment_intent_id"]
    stripe_on.succeed(first)  # the webhook has not arrived yet

    with pytest.raises(AlreadyPaid):
        services.payment_intent_create(booking=booking)

    b = Booking.objects.get(pk=booking.pk)
    assert b.status == BookingStatus.PAID and b.payment_status == PaymentState.PAID


def test_an_intent_canceled_in_stripes_dashboard_is_recorded_and_replaced(stripe_on, booking):
    from core.integrations.stripe import StripeGateway
    from tests.fakes.stripe_server import FAKE_SECRET_KEY

    first = services.payment_intent_create(booking=booking)["payment_intent_id"]
    StripeGateway(FAKE_SECRET_KEY, api_base=stripe_on.url).cancel_payment_intent(first, idempotency_key="dash")

    second = services.payment_intent_create(booking=booking)["payment_intent_id"]

    assert second != first and stripe_on.created_payment_intents == 2
    assert Payment.objects.get(stripe_payment_intent_id=first).status == PaymentStatus.CANCELED
    assert Payment.objects.get(stripe_payment_intent_id=second).status == PaymentStatus.PENDING


def test_a_repriced_booking_completes_then_cancels_an_attempt_whose_answer_was_lost(stripe_on, booking,
                                                                                     fast_stripe_retries):
    stripe_on.lose_answer_next(3)
    with pytest.raises(PaymentProviderUnavailable):
        services.payment_intent_create(booking=booking)
    Booking.objects.filter(pk=booking.pk).update(total_price=booking.total_price + 10)

    body = services.payment_intent_create(booking=Booking.objects.get(pk=booking.pk))

    lost, new = stripe_on.objects("payment_intent")
    assert lost["status"] == "canceled" and new["id"] == body["payment_intent_id"]
    assert Payment.objects.get(stripe_payment_intent_id=lost["id"]).status == PaymentStatus.CANCELED
    assert stripe_on.created_payment_intents == 2

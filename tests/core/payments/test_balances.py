"""The balance a change leaves owing: paid once, whichever way it is paid, and collectable until the move is done."""

import datetime as dt
from decimal import Decimal

import pytest

from core.bookings.models import Booking, BookingStatus, PaymentState
from core.bookings.rescheduling import BookingChange, booking_change_preview, booking_change_with_quote
from core.bookings.services import booking_transition
from core.payments import services
from core.payments.errors import AlreadyPaid
from core.payments.models import Payment, PaymentAudit, PaymentMethod, PaymentStatus
from tests.factories import UserFactory
from tests.fakes.stripe_payments import pay_through_stripe

pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]


@pytest.fixture
def staff(db):
    return UserFactory(username="desk", is_staff=True)


@pytest.fixture
def owing(stripe_on, make_request):
    """A paid weekday booking moved to a Saturday: it owes the $100 weekend surcharge through a balance intent."""
    from core.bookings.services import booking_create

    booking, _ = booking_create(request=make_request())
    pay_through_stripe(stripe_on, booking)
    booking = Booking.objects.get(pk=booking.pk)
    day = booking.pickup_date
    saturday = day + dt.timedelta(days=(5 - day.weekday()) % 7 or 7)
    quote = booking_change_preview(booking=booking, change=BookingChange(pickup_date=saturday,
                                                                         pickup_window="morning"))
    required = booking_change_with_quote(booking=booking, quote_id=quote.pk).payment_required
    assert required["amount_cents"] == 10000
    balance = Payment.objects.get(stripe_payment_intent_id=required["payment_intent_id"])
    return Booking.objects.get(pk=booking.pk), balance


def _cash(booking, staff, amount):
    return services.payment_record_offline(booking=booking, amount=Decimal(amount), method=PaymentMethod.CASH,
                                           reference="", actor=staff)


def _succeeded(booking):
    return list(Payment.objects.filter(booking=booking, status=PaymentStatus.SUCCEEDED)
                .values_list("amount_cents", flat=True).order_by("created_at"))


@pytest.mark.django_db
def test_cash_for_the_balance_cancels_the_balance_intent_the_customer_holds(stripe_on, owing, staff):
    booking, balance = owing

    cash = _cash(booking, staff, "100.00")

    assert cash.change_quote_id == balance.change_quote_id
    [cancel] = stripe_on.calls("POST", f"/v1/payment_intents/{balance.stripe_payment_intent_id}/cancel")
    assert cancel.idempotency_key == f"tt-pi-cancel-{balance.pk}"
    assert stripe_on.get_object(balance.stripe_payment_intent_id)["status"] == "canceled"
    assert Payment.objects.get(pk=balance.pk).status == PaymentStatus.CANCELED
    fresh = Booking.objects.get(pk=booking.pk)
    assert fresh.payment_status == PaymentState.PAID and not fresh.needs_attention
    with pytest.raises(AlreadyPaid):  # the site asks again: nothing more to pay, no new intent
        services.payment_intent_create(booking=fresh)


@pytest.mark.django_db
def test_a_balance_paid_at_the_desk_and_by_card_is_flagged_for_a_refund(stripe_on, owing, staff, post_webhook):
    booking, balance = owing
    stripe_on.succeed(balance.stripe_payment_intent_id)  # paid by card; Stripe's webhook is not here yet

    _cash(booking, staff, "100.00")  # and at the desk: the cancel after its commit finds the intent paid
    assert post_webhook(stripe_on.make_event("payment_intent.succeeded", balance.stripe_payment_intent_id)
                        ).status_code == 200

    fresh = Booking.objects.get(pk=booking.pk)
    assert sorted(_succeeded(booking)) == sorted([Payment.objects.get(change_quote__isnull=True,
                                                                      booking=booking).amount_cents, 10000, 10000])
    assert fresh.needs_attention and "refund $100.00" in fresh.attention_reason
    assert PaymentAudit.objects.filter(action="double_payment_flagged", payment=balance).count() == 1


@pytest.mark.django_db
def test_part_paid_at_the_desk_the_next_intent_asks_only_what_is_left(stripe_on, owing, staff, post_webhook):
    booking, balance = owing

    _cash(booking, staff, "60.00")

    assert Payment.objects.get(pk=balance.pk).status == PaymentStatus.CANCELED
    fresh = Booking.objects.get(pk=booking.pk)
    assert fresh.payment_status == PaymentState.BALANCE_DUE
    body = services.payment_intent_create(booking=fresh)
    assert body["amount_cents"] == 4000 and body["payment_intent_id"] != balance.stripe_payment_intent_id
    assert services.payment_intent_create(booking=fresh)["payment_intent_id"] == body["payment_intent_id"]
    stripe_on.succeed(body["payment_intent_id"])
    assert post_webhook(stripe_on.make_event("payment_intent.succeeded", body["payment_intent_id"])
                        ).status_code == 200
    fresh = Booking.objects.get(pk=booking.pk)
    assert fresh.payment_status == PaymentState.PAID and not fresh.needs_attention
    assert not PaymentAudit.objects.filter(action="double_payment_flagged").exists()


@pytest.mark.django_db
def test_an_intent_stripe_would_not_cancel_after_part_cash_is_replaced_by_the_next_create_intent(
        stripe_on, owing, staff):
    booking, balance = owing
    stripe_on.fail_next(20, status=503)
    _cash(booking, staff, "60.00")  # the cash stands; the cancel after its commit did not get through
    stripe_on.clear_faults()
    assert Payment.objects.get(pk=balance.pk).status == PaymentStatus.PENDING

    body = services.payment_intent_create(booking=Booking.objects.get(pk=booking.pk))

    assert body["amount_cents"] == 4000
    assert stripe_on.get_object(balance.stripe_payment_intent_id)["status"] == "canceled"
    assert Payment.objects.get(pk=balance.pk).status == PaymentStatus.CANCELED


@pytest.mark.django_db
def test_the_sweep_cancels_the_intent_of_a_balance_paid_at_the_desk_when_stripe_was_down(stripe_on, owing, staff):
    booking, balance = owing
    stripe_on.fail_next(20, status=503)
    _cash(booking, staff, "100.00")
    stripe_on.clear_faults()
    assert Payment.objects.get(pk=balance.pk).status == PaymentStatus.PENDING  # the customer could still pay it

    assert services.balance_intents_sweep() == 1

    assert Payment.objects.get(pk=balance.pk).status == PaymentStatus.CANCELED
    assert stripe_on.get_object(balance.stripe_payment_intent_id)["status"] == "canceled"
    assert services.balance_intents_sweep() == 0


@pytest.mark.django_db
def test_a_balance_is_still_owed_and_payable_once_the_move_has_started(stripe_on, owing, post_webhook):
    booking, balance = owing
    booking_transition(booking=booking, to_status=BookingStatus.SCHEDULED)
    booking_transition(booking=booking, to_status=BookingStatus.IN_PROGRESS)
    started = Booking.objects.get(pk=booking.pk)
    assert started.payment_status == PaymentState.BALANCE_DUE
    services.booking_payment_state_sync(started)  # re-derived from the payments: still owed
    assert started.payment_status == PaymentState.BALANCE_DUE

    body = services.payment_intent_create(booking=started)
    assert body["payment_intent_id"] == balance.stripe_payment_intent_id and body["amount_cents"] == 10000
    stripe_on.succeed(body["payment_intent_id"])
    assert post_webhook(stripe_on.make_event("payment_intent.succeeded", body["payment_intent_id"])
                        ).status_code == 200

    fresh = Booking.objects.get(pk=booking.pk)
    assert fresh.payment_status == PaymentState.PAID and fresh.status == BookingStatus.IN_PROGRESS
    assert not fresh.needs_attention
    assert not PaymentAudit.objects.filter(action="double_payment_flagged").exists()


@pytest.mark.django_db
def test_cash_for_a_balance_after_the_move_is_done_pays_the_change(stripe_on, owing, staff):
    booking, balance = owing
    for status in (BookingStatus.SCHEDULED, BookingStatus.IN_PROGRESS, BookingStatus.COMPLETED):
        booking_transition(booking=booking, to_status=status)

    cash = _cash(Booking.objects.get(pk=booking.pk), staff, "100.00")

    fresh = Booking.objects.get(pk=booking.pk)
    assert cash.change_quote_id == balance.change_quote_id
    assert fresh.payment_status == PaymentState.PAID and not fresh.needs_attention
    assert Payment.objects.get(pk=balance.pk).status == PaymentStatus.CANCELED


@pytest.mark.django_db
def test_cancelling_a_booking_that_owes_a_balance_resyncs_its_payment_status(owing):
    booking, _balance = owing

    booking_transition(booking=booking, to_status=BookingStatus.CANCELLED, reason="customer called")

    assert Booking.objects.get(pk=booking.pk).payment_status != PaymentState.BALANCE_DUE


@pytest.mark.django_db(transaction=True)
def test_the_balance_intent_is_cancelled_after_the_cash_commits_with_no_lock_held(postgres_only, stripe_on, owing,
                                                                                   staff):
    from django.db import transaction

    from tests.concurrency import in_background

    booking, balance = owing
    held = stripe_on.hold_next()  # Stripe takes its time over the cancel
    recording = in_background(lambda: _cash(booking, staff, "100.00"))
    held.wait_until_arrived()

    with transaction.atomic():  # meanwhile the cash is committed, and nothing waits on the booking or payments
        Booking.objects.select_for_update(nowait=True).get(pk=booking.pk)
        Payment.objects.select_for_update(nowait=True).filter(booking_id=booking.pk).count()
        assert Booking.objects.get(pk=booking.pk).payment_status == PaymentState.PAID
    held.release()
    recording.result(timeout=30)

    assert Payment.objects.get(pk=balance.pk).status == PaymentStatus.CANCELED


@pytest.mark.django_db(transaction=True)
def test_cash_and_the_card_paying_one_balance_at_once_are_flagged_once(postgres_only, stripe_on, owing, staff):
    from tests.concurrency import run_in_threads

    booking, balance = owing
    stripe_on.succeed(balance.stripe_payment_intent_id)

    run_in_threads(2, lambda i: _cash(booking, staff, "100.00") if i == 0 else services.payment_confirm(
        booking=booking, payment_intent_id=balance.stripe_payment_intent_id))

    fresh = Booking.objects.get(pk=booking.pk)
    assert Payment.objects.get(pk=balance.pk).status == PaymentStatus.SUCCEEDED
    assert fresh.needs_attention and fresh.payment_status == PaymentState.PAID
    assert PaymentAudit.objects.filter(action="double_payment_flagged").count() == 1

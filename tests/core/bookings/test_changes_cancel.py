"""Cancelling a paid booking under its change policy: priced preview, one refund whatever the retries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from core.bookings.changes import booking_cancel_preview, booking_cancel_with_quote, pickup_moment
from core.bookings.errors import (
    InvalidTransition,
    QuoteExpired,
    QuoteMismatch,
    QuoteNotFound,
    TooLateToChange,
)
from core.bookings.models import Booking, BookingStatus, PaymentState
from core.catalog.availability import used_slots_on
from core.notifications.models import Notification
from core.payments import services
from core.payments.models import Refund, RefundStatus
from tests.concurrency import run_in_threads
from tests.fakes.stripe_payments import pay_through_stripe

pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]
DAY = dt.timedelta(days=1)


def _before_pickup(booking, delta):
    return pickup_moment(booking).astimezone(dt.UTC) - delta


@pytest.mark.django_db
def test_cancel_three_days_ahead_refunds_half_frees_the_slot_and_tells_the_customer(
        stripe_on, booking, paid, django_capture_on_commit_callbacks):
    now = _before_pickup(booking, 3 * DAY)
    used_before = used_slots_on(booking.pickup_date, now=now)

    quote = booking_cancel_preview(booking=booking, now=now)
    with django_capture_on_commit_callbacks():
        outcome = booking_cancel_with_quote(booking=booking, quote_id=quote.pk, now=now)

    half = paid.amount_cents // 2
    assert quote.refund_amount == Decimal(half) / 100 and quote.price["policy_version"] == 1
    assert [line["code"] for line in quote.price["lines"]] == ["paid", "cancellation_fee"]
    [refund] = outcome.refunds
    assert refund.amount_cents == half and refund.status == RefundStatus.SUCCEEDED
    [call] = stripe_on.calls("POST", "/v1/refunds")
    assert call.params["amount"] == str(half) and call.idempotency_key == f"tt-refund-{refund.pk}"
    fresh = Booking.objects.get(pk=booking.pk)
    assert fresh.status == BookingStatus.CANCELLED and fresh.payment_status == PaymentState.PARTIALLY_REFUNDED
    assert "change policy v1" in fresh.cancellation_reason
    assert used_slots_on(booking.pickup_date, now=now) == used_before - 1
    message = Notification.objects.get(booking=booking)
    assert "cancelled" in message.subject and f"${half / 100:.2f}" in message.body_text


@pytest.mark.django_db
def test_repeating_the_cancel_replays_it(stripe_on, booking, paid):
    quote = booking_cancel_preview(booking=booking)
    first = booking_cancel_with_quote(booking=booking, quote_id=quote.pk)
    again = booking_cancel_with_quote(booking=booking, quote_id=quote.pk)

    assert [r.pk for r in again.refunds] == [r.pk for r in first.refunds]
    assert stripe_on.created_refunds == 1 and Refund.objects.count() == 1
    assert first.refunds[0].amount_cents == paid.amount_cents  # ten days out or more: the full refund


@pytest.mark.django_db
def test_a_second_quote_cannot_cancel_twice(stripe_on, booking, paid):
    first, second = booking_cancel_preview(booking=booking), booking_cancel_preview(booking=booking)
    booking_cancel_with_quote(booking=booking, quote_id=first.pk)

    with pytest.raises(InvalidTransition):
        booking_cancel_with_quote(booking=booking, quote_id=second.pk)
    assert stripe_on.created_refunds == 1


@pytest.mark.django_db
def test_an_expired_quote_changes_nothing(stripe_on, booking, paid):
    quote = booking_cancel_preview(booking=booking)

    with pytest.raises(QuoteExpired) as err:
        booking_cancel_with_quote(booking=booking, quote_id=quote.pk, now=quote.expires_at)
    assert err.value.code == "quote_expired" and err.value.status == 409
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.PAID and Refund.objects.count() == 0


@pytest.mark.django_db
def test_a_refund_since_the_preview_makes_the_quote_stale(stripe_on, booking, paid, finance_admin):
    quote = booking_cancel_preview(booking=booking)
    services.refund_issue(payment=paid, amount_cents=1000, reason="goodwill", notes="", actor=finance_admin)

    with pytest.raises(QuoteMismatch):
        booking_cancel_with_quote(booking=booking, quote_id=quote.pk)
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.PAID


@pytest.mark.django_db
def test_cancel_on_top_of_an_earlier_partial_refund(stripe_on, booking, paid, finance_admin):
    services.refund_issue(payment=paid, amount_cents=10000, reason="goodwill", notes="", actor=finance_admin)
    now = _before_pickup(booking, 3 * DAY)

    outcome = booking_cancel_with_quote(booking=booking, quote_id=booking_cancel_preview(booking=booking, now=now).pk,
                                        now=now)

    assert outcome.refunds[0].amount_cents == paid.amount_cents // 2 - 10000
    paid.refresh_from_db()
    assert paid.refunded_cents == paid.amount_cents // 2


@pytest.mark.django_db
def test_the_coi_fee_is_kept_once_paid(stripe_on, make_request):
    from core.bookings.services import booking_create

    booking, _ = booking_create(request=make_request(coi_required=True))
    payment = pay_through_stripe(stripe_on, booking)

    quote = booking_cancel_preview(booking=booking)

    assert booking.coi_fee > 0
    assert quote.refund_amount == Decimal(payment.amount_cents) / 100 - booking.coi_fee
    assert "coi_fee" in [line["code"] for line in quote.price["lines"]]


@pytest.mark.django_db
def test_unknown_and_foreign_quotes_are_not_found(stripe_on, booking, paid, make_request):
    from core.bookings.services import booking_create

    other, _ = booking_create(request=make_request())
    foreign = booking_cancel_preview(booking=other)
    for quote_id in ("not-a-uuid", foreign.pk):
        with pytest.raises(QuoteNotFound):
            booking_cancel_with_quote(booking=booking, quote_id=quote_id)


@pytest.mark.django_db
def test_after_the_pickup_time_it_is_too_late(booking):
    with pytest.raises(TooLateToChange) as err:
        booking_cancel_preview(booking=booking, now=pickup_moment(booking) + dt.timedelta(minutes=1))
    assert err.value.code == "too_late_to_change"


@pytest.mark.django_db
def test_an_unpaid_booking_cancels_with_nothing_to_refund(booking):
    outcome = booking_cancel_with_quote(booking=booking, quote_id=booking_cancel_preview(booking=booking).pk)

    assert outcome.booking.status == BookingStatus.CANCELLED and outcome.refunds == []


@pytest.mark.django_db(transaction=True)
def test_twenty_identical_cancels_make_one_refund(postgres_only, stripe_on, make_request):
    from core.bookings.services import booking_create

    booking, _ = booking_create(request=make_request())
    payment = pay_through_stripe(stripe_on, booking)
    quote = booking_cancel_preview(booking=booking, now=timezone.now())

    outcomes = run_in_threads(20, lambda i: booking_cancel_with_quote(
        booking=booking, quote_id=quote.pk, idempotency_key="cancel-1" if i % 2 else None))

    assert stripe_on.created_refunds == 1
    [refund] = Refund.objects.all()
    assert {tuple(r.pk for r in o.refunds) for o in outcomes} == {(refund.pk,)}
    assert refund.amount_cents == payment.amount_cents and refund.status == RefundStatus.SUCCEEDED
    assert Booking.objects.get(pk=booking.pk).payment_status == PaymentState.REFUNDED

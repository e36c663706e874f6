"""Rescheduling under concurrency (PostgreSQL): the last slot, a cancel racing a reschedule, 20 repeats."""

import datetime as dt

import pytest
from django.utils import timezone

from core.bookings.changes import booking_cancel_preview, booking_cancel_with_quote
from core.bookings.models import Booking, BookingStatus
from core.bookings.rescheduling import BookingChange, booking_change_preview, booking_change_with_quote
from core.catalog.availability import used_slots_on
from core.catalog.models import VanSchedule
from core.common.errors import DomainError
from core.payments.models import Payment, Refund
from tests.concurrency import run_in_threads
from tests.fakes.stripe_payments import pay_through_stripe

pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]


def _saturday_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(5 - day.weekday()) % 7 or 7)


def _paid_booking(stripe_on, make_request, **overrides) -> Booking:
    from core.bookings.services import booking_create

    booking, _ = booking_create(request=make_request(**overrides))
    pay_through_stripe(stripe_on, booking)
    return Booking.objects.get(pk=booking.pk)


def _code_or_result(fn):
    try:
        return fn()
    except DomainError as exc:
        return str(exc.code)


@pytest.mark.django_db(transaction=True)
def test_two_reschedules_racing_for_the_last_slot(postgres_only, stripe_on, make_request):
    # given two paid bookings and a target day with exactly one slot left
    first = _paid_booking(stripe_on, make_request)
    second = _paid_booking(stripe_on, make_request)
    target = first.pickup_date + dt.timedelta(days=7)
    VanSchedule.objects.create(date=target, capacity_override=1)
    quotes = [booking_change_preview(booking=b, change=BookingChange(pickup_date=target, pickup_window="morning"))
              for b in (first, second)]

    # when both move there at once
    results = run_in_threads(2, lambda i: _code_or_result(lambda: booking_change_with_quote(
        booking=(first, second)[i], quote_id=quotes[i].pk)))

    # then one wins and the other is told the day is unavailable (and stays where it was)
    codes = sorted(r if isinstance(r, str) else "moved" for r in results)
    assert codes == ["date_unavailable", "moved"], results
    assert Booking.objects.filter(pickup_date=target).count() == 1
    assert used_slots_on(target, now=timezone.now()) == 1
    assert Booking.objects.filter(pickup_date=first.pickup_date).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_cancel_racing_a_reschedule_holds_one_slot_and_refunds_once(postgres_only, stripe_on, make_request):
    saturday = _saturday_after(make_request().pickup_date)
    booking = _paid_booking(stripe_on, make_request, pickup_date=saturday)
    payment = Payment.objects.get(booking=booking)
    wednesday = saturday + dt.timedelta(days=4)  # cheaper: the reschedule refunds the weekend surcharge
    cancel = booking_cancel_preview(booking=booking)
    move = booking_change_preview(booking=booking, change=BookingChange(pickup_date=wednesday,
                                                                        pickup_window="morning"))
    used = {day: used_slots_on(day, now=timezone.now()) for day in (saturday, wednesday)}

    calls = [lambda: booking_cancel_with_quote(booking=booking, quote_id=cancel.pk),
             lambda: booking_change_with_quote(booking=booking, quote_id=move.pk)]
    results = run_in_threads(2, lambda i: _code_or_result(calls[i]))

    # exactly one of them happened; the other was refused with a 409 and changed nothing
    refused = [r for r in results if isinstance(r, str)]
    assert len(refused) == 1 and refused[0] in ("invalid_transition", "quote_mismatch"), results
    fresh = Booking.objects.get(pk=booking.pk)
    now = timezone.now()
    if fresh.status == BookingStatus.CANCELLED:  # the cancel won: no slot held anywhere, the cancel's refund
        assert used_slots_on(saturday, now=now) == used[saturday] - 1
        assert used_slots_on(wednesday, now=now) == used[wednesday]
        assert [r.amount_cents for r in Refund.objects.all()] == [payment.amount_cents]
    else:  # the reschedule won: the slot moved, the surcharge refunded
        assert fresh.pickup_date == wednesday
        assert used_slots_on(saturday, now=now) == used[saturday] - 1
        assert used_slots_on(wednesday, now=now) == used[wednesday] + 1
        assert [r.amount_cents for r in Refund.objects.all()] == [10000]
    assert stripe_on.created_refunds == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_identical_reschedules_make_one_change_and_one_refund(postgres_only, stripe_on, make_request):
    saturday = _saturday_after(make_request().pickup_date)
    booking = _paid_booking(stripe_on, make_request, pickup_date=saturday)
    quote = booking_change_preview(booking=booking, change=BookingChange(pickup_date=saturday + dt.timedelta(days=4),
                                                                         pickup_window="afternoon"))

    outcomes = run_in_threads(20, lambda i: booking_change_with_quote(
        booking=booking, quote_id=quote.pk, idempotency_key="move-1" if i % 2 else None))

    [refund] = Refund.objects.all()
    assert stripe_on.created_refunds == 1 and refund.amount_cents == 10000
    assert {tuple(r.pk for r in o.refunds) for o in outcomes} == {(refund.pk,)}
    dates = list(Booking.objects.get(pk=booking.pk).history.order_by("history_date", "history_id")
                 .values_list("pickup_date", flat=True))
    moves = [(a, b) for a, b in zip(dates, dates[1:], strict=False) if a != b]
    assert moves == [(saturday, saturday + dt.timedelta(days=4))]  # moved once


@pytest.mark.django_db(transaction=True)
def test_twenty_identical_reschedules_up_make_one_balance_intent(postgres_only, stripe_on, make_request):
    booking = _paid_booking(stripe_on, make_request)
    quote = booking_change_preview(booking=booking, change=BookingChange(
        pickup_date=_saturday_after(booking.pickup_date), pickup_window="morning"))
    intents_before = stripe_on.created_payment_intents

    outcomes = run_in_threads(20, lambda i: booking_change_with_quote(
        booking=booking, quote_id=quote.pk, idempotency_key="move-up" if i % 2 else None))

    assert {o.payment_required["payment_intent_id"] for o in outcomes} == {
        Payment.objects.get(change_quote=quote).stripe_payment_intent_id}
    assert stripe_on.created_payment_intents == intents_before + 1
    assert Payment.objects.filter(change_quote=quote).count() == 1

import itertools

import pytest

from core.bookings.errors import InvalidTransition
from core.bookings.models import Booking, BookingStatus, BookingStatusChange
from core.bookings.services import booking_cancel, booking_create, booking_transition
from core.bookings.status import TRANSITIONS, can_transition

S = BookingStatus
LEGAL = {
    (S.PENDING, S.PAID), (S.PENDING, S.CANCELLED),
    (S.PAID, S.SCHEDULED), (S.PAID, S.CANCELLED),
    (S.SCHEDULED, S.IN_PROGRESS), (S.SCHEDULED, S.CANCELLED),
    (S.IN_PROGRESS, S.COMPLETED),
}
ALL_PAIRS = [(a, b) for a, b in itertools.product(S.values, S.values) if a != b]


@pytest.mark.parametrize(("from_status", "to_status"), ALL_PAIRS)
def test_transition_table_matches_the_agreed_machine(from_status, to_status):
    assert can_transition(from_status, to_status) == ((from_status, to_status) in LEGAL)


def test_every_status_is_in_the_table():
    assert set(TRANSITIONS) == set(S.values)


def _walk_to(booking, target):
    path = {S.PENDING: [], S.PAID: [S.PAID], S.SCHEDULED: [S.PAID, S.SCHEDULED],
            S.IN_PROGRESS: [S.PAID, S.SCHEDULED, S.IN_PROGRESS],
            S.COMPLETED: [S.PAID, S.SCHEDULED, S.IN_PROGRESS, S.COMPLETED], S.CANCELLED: [S.CANCELLED]}[target]
    for status in path:
        booking = booking_transition(booking=booking, to_status=status, reason="test")
    return booking


@pytest.mark.django_db
@pytest.mark.parametrize(("from_status", "to_status"), ALL_PAIRS)
def test_service_applies_legal_and_refuses_illegal_transitions(make_request, from_status, to_status):
    # given a booking in from_status
    booking, _ = booking_create(request=make_request())
    booking = _walk_to(booking, from_status)
    changes_before = BookingStatusChange.objects.filter(booking=booking).count()
    # when / then
    if (from_status, to_status) in LEGAL:
        booking = booking_transition(booking=booking, to_status=to_status, reason="because")
        booking.refresh_from_db()
        assert booking.status == to_status
        last = BookingStatusChange.objects.filter(booking=booking).last()
        assert (last.from_status, last.to_status, last.reason) == (from_status, to_status, "because")
        assert BookingStatusChange.objects.filter(booking=booking).count() == changes_before + 1
    else:
        with pytest.raises(InvalidTransition) as exc:
            booking_transition(booking=booking, to_status=to_status)
        assert exc.value.code == "invalid_transition"
        booking.refresh_from_db()
        assert booking.status == from_status
        assert BookingStatusChange.objects.filter(booking=booking).count() == changes_before


@pytest.mark.django_db
def test_cancel_records_reason_and_time_and_needs_a_reason(make_request):
    booking, _ = booking_create(request=make_request())
    with pytest.raises(Exception, match="reason"):
        booking_cancel(booking=booking, reason="  ")
    booking = booking_cancel(booking=booking, reason="Customer changed plans")
    assert booking.status == S.CANCELLED
    assert booking.cancelled_at is not None
    assert booking.cancellation_reason == "Customer changed plans"


@pytest.mark.django_db
def test_repeating_a_transition_is_a_no_op(make_request):
    booking, _ = booking_create(request=make_request())
    booking_transition(booking=booking, to_status=S.PAID)
    booking_transition(booking=booking, to_status=S.PAID)
    assert BookingStatusChange.objects.filter(booking=booking, to_status=S.PAID).count() == 1


@pytest.mark.django_db
def test_a_paid_booking_is_not_cancelled_without_its_refund(make_request):
    """The plain cancel (the console's "Cancel booking", the seed) would keep the customer's money: core refuses
    it under the lock; the change policy's cancel (preview, then the quote) refunds what is due."""
    from core.payments.services import payment_record_test_mode

    booking, _ = booking_create(request=make_request())
    payment_record_test_mode(booking=booking)
    paid = Booking.objects.get(pk=booking.pk)
    assert paid.payment_status == "paid"
    with pytest.raises(InvalidTransition, match="change policy"):
        booking_cancel(booking=paid, reason="Customer changed plans")
    assert Booking.objects.get(pk=booking.pk).status == paid.status != S.CANCELLED

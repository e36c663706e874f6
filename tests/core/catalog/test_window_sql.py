"""The availability hot path's hand-written SQL counts exactly the slots active_booking_filter() counts."""

import datetime as dt

import pytest
from django.db.models import Count
from django.utils import timezone

from core.bookings.models import Booking, BookingStatus
from core.bookings.services import booking_create, booking_transition
from core.catalog.availability import active_booking_filter, window_state
from core.catalog.models import VanSchedule


@pytest.mark.django_db
def test_window_sql_matches_the_orm_slot_rule(make_request, future_weekday, settings):
    settings.TOTETAXI = {**settings.TOTETAXI, "DEFAULT_DAILY_CAPACITY": 50}
    now = timezone.now()
    days = [future_weekday + dt.timedelta(days=i) for i in range(3)]
    # given bookings in every state that matters: live hold, expired hold, paid, cancelled
    for i, day in enumerate(days):
        for kind in ("live", "expired", "paid", "cancelled")[: i + 2]:
            booking, _ = booking_create(request=make_request(pickup_date=day))
            if kind == "expired":
                Booking.objects.filter(pk=booking.pk).update(hold_expires_at=now - dt.timedelta(minutes=1))
            elif kind == "paid":
                booking_transition(booking=booking, to_status=BookingStatus.PAID)
                Booking.objects.filter(pk=booking.pk).update(hold_expires_at=None)
            elif kind == "cancelled":
                booking_transition(booking=booking, to_status=BookingStatus.CANCELLED, reason="test")
    VanSchedule.objects.create(date=days[1], capacity_override=4, specialty_items_available=False)
    VanSchedule.objects.create(date=days[2], capacity_override=0, is_active=False)

    # when
    state = window_state(days[0], days[0], days[-1], now=now)
    vans, used = state.vans, state.used

    # then
    expected = dict(Booking.objects.filter(active_booking_filter(now), pickup_date__in=days)
                    .values("pickup_date").annotate(n=Count("id")).values_list("pickup_date", "n"))
    assert used == expected
    assert used[days[0]] == 1 and used[days[2]] == 2  # live + paid (expired and cancelled don't hold)
    assert set(vans) == {days[1]}  # the inactive schedule is ignored
    assert vans[days[1]].capacity_override == 4 and vans[days[1]].specialty_items_available is False
    # a single date without a range
    assert window_state(days[1], None, None, now=now).used == {days[1]: expected[days[1]]}

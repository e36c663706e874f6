"""Availability: van capacity, overrides, holds, specialty, lead time and horizon, alternatives."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from core.bookings.errors import DateUnavailable
from core.bookings.models import Booking, BookingStatus
from core.bookings.services import booking_cancel, booking_create
from core.catalog.availability import available_dates, check_date, first_bookable_date, last_bookable_date
from core.catalog.models import SpecialtyItem, VanSchedule

NY = ZoneInfo("America/New_York")


@pytest.fixture
def capacity(settings):
    def _set(n: int):
        settings.TOTETAXI = {**settings.TOTETAXI, "DEFAULT_DAILY_CAPACITY": n}

    return _set


@pytest.mark.django_db
def test_default_capacity_counts_every_live_booking(make_request, future_weekday, capacity):
    capacity(2)
    booking_create(request=make_request())
    assert check_date(future_weekday, "mini_move").remaining_capacity == 1
    booking_create(request=make_request())
    result = check_date(future_weekday, "mini_move")
    assert not result.available and result.reasons == ("fully_booked",) and result.remaining_capacity == 0
    with pytest.raises(DateUnavailable) as exc:
        booking_create(request=make_request())
    assert exc.value.fields["pickup_date"] == ["fully_booked"]
    assert exc.value.fields["alternatives"]


@pytest.mark.django_db
def test_cancelled_bookings_and_expired_holds_free_their_slot(make_request, future_weekday, capacity):
    capacity(2)
    first, _ = booking_create(request=make_request())
    second, _ = booking_create(request=make_request())
    booking_cancel(booking=first, reason="changed plans")
    assert check_date(future_weekday, "mini_move").remaining_capacity == 1
    # an unpaid hold that expired no longer holds its slot, even before the sweeper cancels it
    Booking.objects.filter(pk=second.pk).update(hold_expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert check_date(future_weekday, "mini_move").remaining_capacity == 2
    # a paid booking holds it whatever its old hold said
    Booking.objects.filter(pk=second.pk).update(status=BookingStatus.PAID)
    assert check_date(future_weekday, "mini_move").remaining_capacity == 1


@pytest.mark.django_db
def test_capacity_override_replaces_the_default_and_zero_closes(make_request, future_weekday):
    VanSchedule.objects.create(date=future_weekday, capacity_override=1)
    assert check_date(future_weekday, "standard").remaining_capacity == 1
    booking_create(request=make_request())
    assert check_date(future_weekday, "standard").reasons == ("fully_booked",)
    VanSchedule.objects.filter(date=future_weekday).update(capacity_override=0)
    assert check_date(future_weekday, "standard").reasons == ("closed",)
    assert future_weekday not in available_dates("standard", days_ahead=60)
    # an inactive schedule row is ignored
    VanSchedule.objects.filter(date=future_weekday).update(is_active=False)
    assert check_date(future_weekday, "standard").remaining_capacity == 9


@pytest.mark.django_db
def test_items_that_need_no_specialty_van_are_bookable_on_a_day_without_one(make_request, future_weekday):
    VanSchedule.objects.create(date=future_weekday, specialty_items_available=False)
    wardrobe = SpecialtyItem.objects.get(code="wardrobe_box")
    wardrobe.requires_van_availability = False
    wardrobe.save()  # as the console does (a queryset update would not move the catalog's version)
    result = check_date(future_weekday, "specialty")
    assert result.available and result.specialty_items_available and not result.specialty_vans
    # the item that needs no van is booked, alone or as an add-on; one that needs a van is still refused
    booking_create(request=make_request(booking_type="specialty", item_count=0,
                                        specialty_items=(("wardrobe_box", 2),)))
    booking_create(request=make_request(specialty_items=(("wardrobe_box", 1),)))
    for items in ((("peloton", 1),), (("wardrobe_box", 1), ("peloton", 1))):
        with pytest.raises(DateUnavailable) as exc:
            booking_create(request=make_request(booking_type="specialty", item_count=0, specialty_items=items))
        assert exc.value.fields["pickup_date"] == ["specialty_unavailable"]
    assert Booking.objects.count() == 2
    # the alternatives offered for the peloton are days that have specialty vans
    next_day = future_weekday + dt.timedelta(days=1)
    VanSchedule.objects.create(date=next_day, specialty_items_available=False)
    with pytest.raises(DateUnavailable) as exc:
        booking_create(request=make_request(specialty_items=(("peloton", 1),)))
    assert exc.value.fields["alternatives"] and next_day.isoformat() not in exc.value.fields["alternatives"]


@pytest.mark.django_db
def test_specialty_needs_the_van_to_take_specialty_items(make_request, future_weekday):
    VanSchedule.objects.create(date=future_weekday, specialty_items_available=False)
    assert check_date(future_weekday, "specialty").reasons == ("specialty_unavailable",)
    assert check_date(future_weekday, "mini_move").available
    # a mini move is fine, a mini move with a specialty add-on is not
    booking_create(request=make_request())
    with pytest.raises(DateUnavailable) as exc:
        booking_create(request=make_request(specialty_items=(("peloton", 1),)))
    assert exc.value.fields["pickup_date"] == ["specialty_unavailable"]


@pytest.mark.parametrize(("hour", "first"), [(9, dt.date(2027, 3, 2)), (16, dt.date(2027, 3, 2)),
                                             (17, dt.date(2027, 3, 3)), (23, dt.date(2027, 3, 3))])
def test_no_same_day_and_the_cut_off_closes_tomorrow(settings, hour, first):
    now = dt.datetime(2027, 3, 1, hour, 30, tzinfo=NY)
    assert first_bookable_date(now) == first
    settings.TOTETAXI = {**settings.TOTETAXI, "SAME_DAY_CUTOFF_HOUR": 24}
    assert first_bookable_date(now) == dt.date(2027, 3, 2)


@pytest.mark.django_db
def test_lead_time_and_horizon_reasons(catalog, settings):
    settings.TOTETAXI = {**settings.TOTETAXI, "BOOKING_HORIZON_DAYS": 30}
    with time_machine.travel(dt.datetime(2027, 3, 1, 18, 0, tzinfo=NY), tick=False):
        assert check_date(dt.date(2027, 3, 1), "mini_move").reasons == ("lead_time",)
        assert check_date(dt.date(2027, 3, 2), "mini_move").reasons == ("lead_time",)
        assert check_date(dt.date(2027, 3, 3), "mini_move").available
        assert last_bookable_date() == dt.date(2027, 3, 31)
        assert check_date(dt.date(2027, 3, 31), "mini_move").available
        assert check_date(dt.date(2027, 4, 1), "mini_move").reasons == ("beyond_horizon",)
        dates = available_dates("mini_move", days_ahead=60)
        assert dates[0] == dt.date(2027, 3, 3) and dates[-1] == dt.date(2027, 3, 31)


@pytest.mark.django_db
def test_alternatives_are_the_nearest_available_dates_soonest_first(catalog):
    with time_machine.travel(dt.datetime(2027, 3, 1, 9, 0, tzinfo=NY), tick=False):
        closed = dt.date(2027, 3, 10)
        for day in (closed, closed - dt.timedelta(days=1), closed + dt.timedelta(days=1)):
            VanSchedule.objects.create(date=day, capacity_override=0)
        result = check_date(closed, "mini_move")
        assert not result.available
        assert result.alternatives == (dt.date(2027, 3, 7), dt.date(2027, 3, 8), dt.date(2027, 3, 12))
        # far outside the bookable window: still answered, with the nearest bookable dates
        assert check_date(dt.date(9999, 12, 31), "mini_move").reasons == ("beyond_horizon",)
        assert check_date(dt.date(1, 1, 1), "mini_move").alternatives[0] == dt.date(2027, 3, 2)


@pytest.mark.django_db
def test_available_dates_skip_full_and_closed_days(make_request, future_weekday, capacity):
    capacity(1)
    booking_create(request=make_request())
    VanSchedule.objects.create(date=future_weekday + dt.timedelta(days=1), capacity_override=0)
    dates = available_dates("mini_move", days_ahead=40)
    assert future_weekday not in dates
    assert future_weekday + dt.timedelta(days=1) not in dates
    assert future_weekday + dt.timedelta(days=2) in dates

"""A building's move hours and notice in business days, enforced by booking_create/update (one rule with move days)."""

import datetime as dt

import pytest

from core.bookings.models import PICKUP_WINDOW_HOURS
from core.bookings.requests import booking_request_with_changes
from core.bookings.services import booking_create, booking_update
from core.documents.buildings import add_business_days, allows_window
from core.documents.errors import BuildingClosed, BuildingLeadTime
from core.documents.models import Building
from core.documents.services import building_save

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _building(**rules) -> Building:
    # the factory request's pickup address, "245 East 72nd Street", 10021, as the building manager writes it
    return building_save(building=Building(name="Lenox Tower", line1="245 E 72nd St.", city="New York",
                                           state="NY", zip_code="10021", requires_coi=False, **rules))


@pytest.mark.parametrize(("today", "lead", "earliest"), [
    (dt.date(2027, 3, 5), 0, dt.date(2027, 3, 5)),  # no notice: today
    (dt.date(2027, 3, 5), 1, dt.date(2027, 3, 8)),  # Friday + 1 business day → Monday
    (dt.date(2027, 3, 5), 2, dt.date(2027, 3, 9)),  # Friday + 2 → Tuesday
    (dt.date(2027, 3, 6), 1, dt.date(2027, 3, 8)),  # Saturday + 1 → Monday
    (dt.date(2026, 11, 25), 1, dt.date(2026, 11, 27)),  # Thanksgiving (Thu) is no business day
    (dt.date(2026, 12, 24), 1, dt.date(2026, 12, 28)),  # Christmas Friday, then the weekend
    (dt.date(2026, 10, 30), 3, dt.date(2026, 11, 4)),  # across the end of daylight saving time (Nov 1)
])
def test_business_days_skip_weekends_and_federal_holidays(today, lead, earliest):
    assert add_business_days(today, lead) == earliest


@pytest.mark.parametrize(("now", "lead", "pickup", "allowed"), [
    # Friday 10:00 in New York, one business day's notice: Monday is the first allowed day, Sunday is refused
    (dt.datetime(2027, 3, 5, 15, 0, tzinfo=UTC), 1, dt.date(2027, 3, 8), True),
    (dt.datetime(2027, 3, 5, 15, 0, tzinfo=UTC), 1, dt.date(2027, 3, 7), False),
    (dt.datetime(2027, 3, 5, 15, 0, tzinfo=UTC), 2, dt.date(2027, 3, 8), False),
    (dt.datetime(2027, 3, 5, 15, 0, tzinfo=UTC), 2, dt.date(2027, 3, 9), True),
    # the week daylight saving time ends: Monday Nov 2, 2026, 09:00 EST
    (dt.datetime(2026, 11, 2, 14, 0, tzinfo=UTC), 3, dt.date(2026, 11, 4), False),
    (dt.datetime(2026, 11, 2, 14, 0, tzinfo=UTC), 3, dt.date(2026, 11, 5), True),
    # 04:30 UTC Tuesday is still Monday 23:30 in New York (EST): notice counts from Monday, not from Tuesday
    (dt.datetime(2026, 11, 3, 4, 30, tzinfo=UTC), 3, dt.date(2026, 11, 5), True),
    # and the week it starts (Mar 8, 2026): Friday 23:30 EST is Saturday 04:30 UTC
    (dt.datetime(2026, 3, 7, 4, 30, tzinfo=UTC), 1, dt.date(2026, 3, 9), True),
    (dt.datetime(2026, 3, 9, 13, 0, tzinfo=UTC), 2, dt.date(2026, 3, 10), False),  # Monday 09:00 EDT
])
def test_booking_create_needs_the_buildings_notice_in_business_days(make_request, now, lead, pickup, allowed):
    # given a building that needs `lead` business days' notice
    _building(lead_time_business_days=lead)
    request = make_request(pickup_date=pickup)
    # when a booking there is made at `now` (staff phone bookings go through the same booking_create)
    if allowed:
        booking, _ = booking_create(request=request, now=now)
        assert booking.pickup_date == pickup
        return
    with pytest.raises(BuildingLeadTime) as exc:
        booking_create(request=request, now=now)
    # then it is refused with the earliest allowed date, and alternatives from it on
    earliest = dt.date.fromisoformat(exc.value.fields["earliest_date"])
    assert exc.value.code == "building_lead_time" and exc.value.status == 409
    assert earliest > pickup and earliest.isoweekday() <= 5
    assert exc.value.fields["pickup_date"] == ["building_lead_time"]
    assert exc.value.fields["alternatives"] and min(exc.value.fields["alternatives"]) == earliest.isoformat()


def test_moving_a_booking_inside_the_notice_is_refused(make_request):
    now = dt.datetime(2027, 3, 1, 15, 0, tzinfo=UTC)  # Monday 10:00 EST
    _building(lead_time_business_days=5)
    booking, _ = booking_create(request=make_request(pickup_date=dt.date(2027, 3, 10)), now=now)
    with pytest.raises(BuildingLeadTime):
        booking_update(booking=booking, request=booking_request_with_changes(
            booking, specialty_items=(), pickup_date=dt.date(2027, 3, 5)), now=now)
    booking.refresh_from_db()
    assert booking.pickup_date == dt.date(2027, 3, 10)


@pytest.mark.parametrize(("start", "end", "window", "allowed"), [
    (dt.time(9), dt.time(17), "morning", False),  # the crew may come at 8
    (dt.time(9), dt.time(17), "afternoon", True),
    (dt.time(9), dt.time(17), "flexible", False),
    (dt.time(8), dt.time(17), "flexible", True),
    (None, dt.time(12), "morning", True),
    (dt.time(12), None, "morning", False),
    (dt.time(8), dt.time(0), "afternoon", True),  # until midnight
])
def test_a_window_must_lie_inside_the_move_hours(start, end, window, allowed):
    building = Building(move_hours_start=start, move_hours_end=end)
    assert allows_window(building, window) is allowed
    assert set(PICKUP_WINDOW_HOURS) == {"morning", "afternoon", "flexible"}


def test_a_window_outside_the_move_hours_is_refused_with_the_allowed_window_that_day(make_request):
    # given a building that allows moves 9am–5pm
    _building(move_hours_start=dt.time(9), move_hours_end=dt.time(17))
    now = dt.datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
    # when a morning pickup (8–12) is booked there
    with pytest.raises(BuildingClosed) as exc:
        booking_create(request=make_request(pickup_date=dt.date(2027, 3, 10), pickup_window="morning"), now=now)
    # then 409 building_closed on the window, with the afternoon the same day and later days as alternatives
    assert exc.value.fields["pickup_window"] == ["building_closed"]
    assert exc.value.fields["alternative_windows"] == ["afternoon"]
    assert exc.value.fields["alternatives"]
    assert "9:00 AM" in str(exc.value) and "morning" in str(exc.value)
    # and the afternoon window is booked
    booking, _ = booking_create(request=make_request(pickup_date=dt.date(2027, 3, 10), pickup_window="afternoon"),
                                now=now)
    assert booking.pickup_window == "afternoon"


def test_a_change_of_window_is_checked_too(make_request):
    _building(move_hours_start=dt.time(12), move_hours_end=dt.time(18))
    now = dt.datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
    booking, _ = booking_create(request=make_request(pickup_date=dt.date(2027, 3, 10), pickup_window="afternoon"),
                                now=now)
    with pytest.raises(BuildingClosed):
        booking_update(booking=booking, request=booking_request_with_changes(
            booking, specialty_items=(), pickup_window="flexible"), now=now)


def test_a_change_that_does_not_move_the_booking_is_not_held_to_the_notice(make_request):
    # given a booking made with exactly the notice the building asks (Monday for Wednesday, two business days)
    building = _building(lead_time_business_days=2)
    monday = dt.datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
    booking, _ = booking_create(request=make_request(pickup_date=dt.date(2027, 3, 3)), now=monday)
    # when the building asks for more notice, and the customer then changes only the notes on Tuesday
    building.lead_time_business_days = 5
    building_save(building=building)
    tuesday = monday + dt.timedelta(days=1)
    booking_update(booking=booking, request=booking_request_with_changes(booking, specialty_items=(),
                                                                         notes="Ring twice"), now=tuesday)
    # then the change is kept; moving it to Thursday is a move, and needs the notice
    booking.refresh_from_db()
    assert booking.notes == "Ring twice"
    with pytest.raises(BuildingLeadTime):
        booking_update(booking=booking, request=booking_request_with_changes(
            booking, specialty_items=(), pickup_date=dt.date(2027, 3, 4)), now=tuesday)

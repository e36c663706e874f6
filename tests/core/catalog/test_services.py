"""van_schedule_save: a date's capacity never drops below the bookings holding a slot, even in a race."""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.bookings.errors import DateUnavailable
from core.bookings.services import booking_create
from core.catalog.availability import used_slots_on
from core.catalog.errors import CapacityBelowBookings, VanScheduleExists
from core.catalog.models import VanSchedule
from core.catalog.services import van_schedule_delete, van_schedule_save
from tests.concurrency import in_background, run_in_threads, wait_until_another_session_waits_on_a_lock
from tests.factories import UserFactory


@pytest.fixture
def capacity(settings):
    settings.TOTETAXI = {**settings.TOTETAXI, "DEFAULT_DAILY_CAPACITY": 10}


@pytest.mark.django_db
def test_capacity_cannot_drop_below_the_bookings_holding_a_slot(make_request, future_weekday, capacity):
    actor = UserFactory()
    booking_create(request=make_request())
    booking_create(request=make_request())
    with pytest.raises(CapacityBelowBookings) as exc:
        van_schedule_save(schedule=VanSchedule(date=future_weekday, capacity_override=1), actor=actor)
    assert exc.value.code == "capacity_below_bookings" and "capacity_override" in exc.value.fields
    assert not VanSchedule.objects.exists()
    # down to the bookings held is fine, and audited with the actor
    schedule = van_schedule_save(schedule=VanSchedule(date=future_weekday, capacity_override=2), actor=actor)
    assert VanSchedule.history.get(id=schedule.pk).history_user == actor


@pytest.mark.django_db
def test_an_override_that_goes_away_leaves_the_default_which_must_hold_the_bookings_too(
        make_request, future_weekday, settings):
    settings.TOTETAXI = {**settings.TOTETAXI, "DEFAULT_DAILY_CAPACITY": 1}
    schedule = van_schedule_save(schedule=VanSchedule(date=future_weekday, capacity_override=3))
    booking_create(request=make_request())
    booking_create(request=make_request())
    # switched off, or moved to another date: the date falls back to the default capacity of 1
    schedule.is_active = False
    with pytest.raises(CapacityBelowBookings):
        van_schedule_save(schedule=schedule)
    schedule = VanSchedule.objects.get(pk=schedule.pk)
    schedule.date = future_weekday + dt.timedelta(days=1)
    with pytest.raises(CapacityBelowBookings) as exc:
        van_schedule_save(schedule=schedule)
    assert "date" in exc.value.fields
    assert VanSchedule.objects.get(pk=schedule.pk).date == future_weekday
    # a change that keeps room (more notes, a surcharge) is saved
    schedule = VanSchedule.objects.get(pk=schedule.pk)
    schedule.notes = "Two vans"
    assert van_schedule_save(schedule=schedule).notes == "Two vans"


@pytest.mark.django_db
def test_deleting_an_override_needs_the_default_capacity_to_hold_the_bookings(make_request, future_weekday,
                                                                             settings):
    settings.TOTETAXI = {**settings.TOTETAXI, "DEFAULT_DAILY_CAPACITY": 1}
    actor = UserFactory()
    schedule = van_schedule_save(schedule=VanSchedule(date=future_weekday, capacity_override=3))
    booking_create(request=make_request())
    booking_create(request=make_request())
    with pytest.raises(CapacityBelowBookings):
        van_schedule_delete(schedule=schedule, actor=actor)
    settings.TOTETAXI = {**settings.TOTETAXI, "DEFAULT_DAILY_CAPACITY": 2}
    pk = schedule.pk
    van_schedule_delete(schedule=schedule, actor=actor)
    assert not VanSchedule.objects.exists()
    assert VanSchedule.history.filter(id=pk, history_type="-").get().history_user == actor


@pytest.mark.postgres
def test_a_booking_racing_a_capacity_cut_never_leaves_more_bookings_than_capacity(
        postgres_only, transactional_db, catalog, make_request, future_weekday, capacity):
    # given 5 bookings on a date with the default capacity of 10
    for _ in range(5):
        booking_create(request=make_request())
    outcomes = []

    def worker(i: int):
        role = "cut" if i == 0 else "book"
        try:
            if role == "cut":  # staff lower the capacity to what is booked now
                van_schedule_save(schedule=VanSchedule(date=future_weekday, capacity_override=5))
            else:
                booking_create(request=make_request())
            outcomes.append(role)
        except (CapacityBelowBookings, DateUnavailable) as exc:
            outcomes.append(exc.code)

    # when the cut and four bookings run at once
    run_in_threads(5, worker)

    # then either the cut won (no booking after it) or a booking won (the cut is refused): never more than capacity
    schedule = VanSchedule.objects.filter(date=future_weekday).first()
    booked = used_slots_on(future_weekday, now=timezone.now())
    if schedule is not None:
        assert booked <= schedule.capacity_override == 5
        assert outcomes.count("book") == 0
    else:
        assert "capacity_below_bookings" in outcomes and booked > 5
    assert len(outcomes) == 5
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_deleting_a_schedule_another_admin_is_moving_checks_the_date_it_ends_up_on(
        postgres_only, make_request, future_weekday, settings):
    # given two bookings a week later (the default capacity held them then; it is 1 now) and an override elsewhere
    settings.TOTETAXI = {**settings.TOTETAXI, "DEFAULT_DAILY_CAPACITY": 2}
    busy = future_weekday + dt.timedelta(days=7)
    booking_create(request=make_request(pickup_date=busy))
    booking_create(request=make_request(pickup_date=busy))
    settings.TOTETAXI = {**settings.TOTETAXI, "DEFAULT_DAILY_CAPACITY": 1}
    schedule = van_schedule_save(schedule=VanSchedule(date=future_weekday, capacity_override=3))
    seen = VanSchedule.objects.get(pk=schedule.pk)  # the second admin's page, as it was loaded

    # when one admin moves the override onto the busy date while the other deletes it from the page they loaded
    with transaction.atomic():
        moved = VanSchedule.objects.get(pk=schedule.pk)
        moved.date = busy
        van_schedule_save(schedule=moved)
        deleting = in_background(lambda: van_schedule_delete(schedule=seen))
        wait_until_another_session_waits_on_a_lock()
    with pytest.raises(CapacityBelowBookings):
        deleting.result(timeout=30)

    # then the override stays where it holds the bookings (the busy date would fall back to a capacity of 1)
    assert VanSchedule.objects.get(pk=schedule.pk).date == busy
    assert used_slots_on(busy, now=timezone.now()) == 2


@pytest.mark.django_db(transaction=True)
def test_a_second_schedule_for_a_date_saved_at_the_same_time_is_refused_cleanly(postgres_only, future_weekday,
                                                                                 capacity):
    # when one admin's new schedule for a date is being saved while another admin saves one for the same date
    with transaction.atomic():
        van_schedule_save(schedule=VanSchedule(date=future_weekday, capacity_override=4))
        second = in_background(lambda: van_schedule_save(
            schedule=VanSchedule(date=future_weekday, capacity_override=6)))
        wait_until_another_session_waits_on_a_lock()
    with pytest.raises(VanScheduleExists) as exc:
        second.result(timeout=30)

    # then the second is told which field, and nothing of it was written (no row, no history)
    assert exc.value.code == "van_schedule_exists" and "date" in exc.value.fields
    assert VanSchedule.objects.get().capacity_override == 4
    assert VanSchedule.history.count() == 1

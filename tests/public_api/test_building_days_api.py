"""A building that allows moves only on some days: create/update elsewhere → 409 building_closed + alternatives."""

import datetime as dt

import pytest

from core.documents.models import Building
from core.documents.services import building_save


@pytest.fixture
def weekdays_only_building(db):
    # the payload's pickup address "245 East 72nd Street", 10021, written the way the building manager does
    return building_save(building=Building(name="Lenox Tower", line1="245 E 72nd St.", city="New York",
                                           state="NY", zip_code="10021", requires_coi=False,
                                           move_weekdays=[1, 2, 3, 4, 5]))


def _saturday_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(5 - day.weekday()) % 7 or 7)


def test_create_on_a_closed_day_is_409_with_allowed_alternatives(client, payload, weekdays_only_building,
                                                                  future_weekday):
    saturday = _saturday_after(future_weekday)
    response = client.post("/api/v1/bookings/", payload(pickup_date=saturday), content_type="application/json")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "building_closed" and "Lenox Tower" in error["message"]
    alternatives = [dt.date.fromisoformat(d) for d in error["fields"]["alternatives"]]
    assert alternatives and all(d.isoweekday() <= 5 and d > saturday for d in alternatives)


def test_create_on_an_allowed_day_works_and_moving_it_to_a_closed_day_is_refused(client, payload, future_weekday,
                                                                                  weekdays_only_building):
    created = client.post("/api/v1/bookings/", payload(), content_type="application/json").json()
    response = client.patch(f"/api/v1/bookings/{created['id']}/",
                            {"pickup_date": _saturday_after(future_weekday).isoformat()},
                            content_type="application/json", HTTP_X_BOOKING_TOKEN=created["access_token"])
    assert response.status_code == 409 and response.json()["error"]["code"] == "building_closed"


def test_buildings_without_move_days_change_nothing(client, payload, future_weekday, db):
    building_save(building=Building(name="Open House", line1="245 East 72nd Street", city="New York",
                                    state="NY", zip_code="10021"))
    response = client.post("/api/v1/bookings/", payload(pickup_date=_saturday_after(future_weekday)),
                           content_type="application/json")
    assert response.status_code == 201, response.json()


def test_preview_of_a_closed_day_says_so_and_stores_no_quote(client, payload, weekdays_only_building,
                                                              future_weekday):
    from core.bookings.models import Quote

    saturday = _saturday_after(future_weekday)
    response = client.post("/api/v1/bookings/preview/", payload(pickup_date=saturday),
                           content_type="application/json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["bookable"] is False and body["reasons"] == ["building_closed"]
    assert body["quote_id"] is None and not Quote.objects.exists()
    assert all(dt.date.fromisoformat(d).isoweekday() <= 5 for d in body["alternatives"])


@pytest.fixture
def nine_to_five_building(db):
    return building_save(building=Building(name="Lenox Tower", line1="245 E 72nd St.", city="New York",
                                           state="NY", zip_code="10021", requires_coi=False,
                                           move_hours_start=dt.time(9), move_hours_end=dt.time(17)))


def test_create_in_a_window_outside_the_move_hours_is_409_with_the_allowed_window(client, payload,
                                                                                  nine_to_five_building):
    response = client.post("/api/v1/bookings/", payload(pickup_window="morning"), content_type="application/json")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "building_closed"
    assert error["fields"]["pickup_window"] == ["building_closed"]
    assert error["fields"]["alternative_windows"] == ["afternoon"]
    assert client.post("/api/v1/bookings/", payload(pickup_window="afternoon"),
                       content_type="application/json").status_code == 201


def test_preview_outside_the_move_hours_offers_the_same_day_window(client, payload, nine_to_five_building):
    response = client.post("/api/v1/bookings/preview/", payload(pickup_window="flexible"),
                           content_type="application/json")

    body = response.json()
    assert response.status_code == 200, body
    assert body["bookable"] is False and body["reasons"] == ["building_closed"]
    assert body["alternative_windows"] == ["afternoon"] and body["quote_id"] is None


def test_too_little_notice_is_409_building_lead_time_with_the_earliest_date(client, payload, db):
    from django.utils import timezone

    from core.documents.buildings import add_business_days

    building_save(building=Building(name="Lenox Tower", line1="245 E 72nd St.", city="New York", state="NY",
                                    zip_code="10021", requires_coi=False, lead_time_business_days=10))
    earliest = add_business_days(timezone.localdate(), 10)
    too_soon = earliest - dt.timedelta(days=1)
    response = client.post("/api/v1/bookings/", payload(pickup_date=too_soon), content_type="application/json")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "building_lead_time"
    assert error["fields"]["earliest_date"] == earliest.isoformat()
    assert all(d >= earliest.isoformat() for d in error["fields"]["alternatives"])
    preview = client.post("/api/v1/bookings/preview/", payload(pickup_date=too_soon),
                          content_type="application/json").json()
    assert preview["reasons"] == ["building_lead_time"] and preview["bookable"] is False

"""`/api/v1/services/`: catalog, availability, surcharges, calculate-price."""

import datetime as dt

import pytest

from core.catalog.models import SpecialtyItem, VanSchedule

pytestmark = pytest.mark.django_db


def test_packages_and_specialty_items_follow_the_contract(client, catalog):
    packages = client.get("/api/v1/services/packages/").json()
    assert [p["code"] for p in packages] == ["petite", "standard", "full"]
    assert packages[0] == {"code": "petite", "name": "Petite", "max_items": 15, "base_price": "995.00",
                           "coi_included": False, "description": packages[0]["description"]}
    assert packages[2]["max_items"] is None
    items = {i["code"]: i for i in client.get("/api/v1/services/specialty-items/").json()}
    assert items["peloton"]["base_price"] == "500.00"
    assert set(items["peloton"]) == {"code", "name", "base_price", "requires_van_availability", "weight_limit",
                                     "special_handling_notes"}


def test_availability_of_a_date_within_budget(client, catalog, future_weekday, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = client.get(f"/api/v1/services/availability/{future_weekday}/?service_type=standard")
    assert response.status_code == 200
    assert response.json() == {"date": future_weekday.isoformat(), "service_type": "standard", "available": True,
                               "remaining_capacity": 10, "specialty_items_available": True,
                               "specialty_vans_available": True, "reasons": [], "alternatives": []}


def test_an_unavailable_date_gives_reasons_and_alternatives(client, catalog, future_weekday,
                                                            django_assert_max_num_queries):
    VanSchedule.objects.create(date=future_weekday, capacity_override=0, specialty_items_available=False)
    with django_assert_max_num_queries(3):
        body = client.get(f"/api/v1/services/availability/{future_weekday}/?service_type=specialty").json()
    assert body["available"] is False
    assert body["reasons"] == ["closed", "specialty_unavailable"]
    assert body["alternatives"] == sorted(body["alternatives"]) and len(body["alternatives"]) == 3
    assert future_weekday.isoformat() not in body["alternatives"]


def test_a_day_without_specialty_vans_still_offers_the_items_that_need_none(client, catalog, future_weekday):
    VanSchedule.objects.create(date=future_weekday, specialty_items_available=False)
    url = f"/api/v1/services/availability/{future_weekday}/?service_type=specialty"
    body = client.get(url).json()
    assert (body["available"], body["specialty_items_available"], body["reasons"]) == (
        False, False, ["specialty_unavailable"])
    # when one item does not need a specialty van
    wardrobe = SpecialtyItem.objects.get(code="wardrobe_box")
    wardrobe.requires_van_availability = False
    wardrobe.save()  # as the console does (a queryset update would not move the catalog's version)
    body = client.get(url).json()
    assert (body["available"], body["specialty_items_available"], body["specialty_vans_available"]) == (
        True, True, False)
    assert body["reasons"] == []
    dates = client.get("/api/v1/services/available-dates/?service_type=specialty&days_ahead=60").json()["dates"]
    assert future_weekday.isoformat() in dates


def test_available_dates(client, catalog, future_weekday):
    VanSchedule.objects.create(date=future_weekday, capacity_override=0)
    body = client.get("/api/v1/services/available-dates/?service_type=mini_move&days_ahead=30").json()
    assert body["service_type"] == "mini_move"
    assert future_weekday.isoformat() not in body["dates"]
    assert (future_weekday + dt.timedelta(days=1)).isoformat() in body["dates"]


def test_surcharges_on_a_date_and_after_an_override(client, catalog):
    body = client.get("/api/v1/services/surcharges/2027-07-04/?service_type=mini_move").json()
    assert [s["code"] for s in body] == ["federal_holiday", "peak_season", "weekend"]
    assert body[1] == {"code": "peak_season", "name": "Summer peak season", "amount": "15.00", "is_percentage": True}
    assert [s["code"] for s in client.get("/api/v1/services/surcharges/2027-07-04/?service_type=standard").json()
            ] == ["federal_holiday", "weekend"]
    VanSchedule.objects.create(date=dt.date(2027, 7, 4), surcharge_override="120.00")
    assert client.get("/api/v1/services/surcharges/2027-07-04/").json() == [
        {"code": "date_override", "name": "Date surcharge", "amount": "120.00", "is_percentage": False}]


def test_calculate_price(client, payload, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = client.post("/api/v1/services/calculate-price/",
                               payload(coi_required=True, specialty_items=[{"code": "peloton", "quantity": 1}],
                                       customer=None, pickup_address=None, dropoff_address=None),
                               content_type="application/json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["currency"] == "USD"
    assert (body["base_price"], body["specialty_items_total"], body["coi_fee"], body["total_price"]) == (
        "995.00", "500.00", "50.00", "1545.00")
    assert [line["kind"] for line in body["lines"]] == ["package", "specialty_item", "coi_fee"]


@pytest.mark.parametrize(("url", "field"), [
    ("/api/v1/services/availability/2027-02-30/", "date"),
    ("/api/v1/services/availability/tomorrow/", "date"),
    ("/api/v1/services/availability/2027-03-10/?service_type=boat", "service_type"),
    ("/api/v1/services/available-dates/?days_ahead=0", "days_ahead"),
    ("/api/v1/services/available-dates/?days_ahead=99999999999999999999999", "days_ahead"),
    ("/api/v1/services/surcharges/99999-01-01/", "date"),
])
def test_bad_query_input_is_a_422_naming_the_field(client, catalog, url, field):
    response = client.get(url)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["fields"]

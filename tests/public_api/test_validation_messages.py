"""422s speak to people, and list every field's problem in one answer."""

import pytest

pytestmark = pytest.mark.django_db

PYDANTIC_PHRASES = ("Value error", "after validation", "Input should", "Field required", "String should")


def _fields(response) -> dict:
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    return error["fields"]


def test_every_bad_field_is_reported_at_once_in_words_for_people(post_json, payload):
    body = payload(
        pickup_date="03/10/2027", item_count=-1, pickup_window="noon",
        customer={"name": " ", "email": "alex(at)example.com", "phone": "12"},
        pickup_address={"line1": "245 East 72nd Street", "city": "New York", "state": "New York",
                        "zip_code": "1002"},
        specialty_items=[{"code": "peloton", "quantity": 21}],
    )

    fields = _fields(post_json("/api/v1/bookings/", body))

    assert fields == {
        "pickup_date": ["Use a date as YYYY-MM-DD, e.g. 2027-03-10."],
        "pickup_window": ["Use one of 'morning', 'afternoon' or 'flexible'."],
        "item_count": ["Use 0 or more."],
        "specialty_items.0.quantity": ["Use 20 or less."],
        "customer.name": ["Enter the customer's name."],
        "customer.email": ["Enter a valid email address."],
        "customer.phone": ["Enter a valid phone number, e.g. +12125550123."],
        "pickup_address.state": ["Enter a two-letter US state code, e.g. NY."],
        "pickup_address.zip_code": ["Enter a US ZIP code, e.g. 10021."],
    }


@pytest.mark.parametrize("path", ["/api/v1/bookings/", "/api/v1/bookings/preview/",
                                  "/api/v1/services/calculate-price/"])
def test_what_pricing_refuses_comes_in_the_same_answer_as_the_format_errors(post_json, payload, path):
    # given a bad email (the schema's check) and a package that holds fewer items than asked (pricing's)
    body = payload(customer={"name": "Alex", "email": "alex(at)example.com", "phone": "+12125550123"},
                   package="petite", item_count=400, specialty_items=[{"code": "grand_piano", "quantity": 1}])

    fields = _fields(post_json(path, body))

    # then one 422 names all three
    assert fields["customer.email"] == ["Enter a valid email address."]
    assert fields["item_count"][0].startswith("The Petite package takes at most")
    assert fields["specialty_items.0.code"] == ["Unknown specialty item 'grand_piano'."]


@pytest.mark.parametrize("changes", [
    {"booking_type": 5, "coi_required": "yes", "item_count": "ten", "notes": ["x"]},
    {"customer": [], "pickup_address": "NY", "specialty_items": "peloton"},
    {"specialty_items": [{"code": "peloton"}] * 11, "pickup_date": "2027-02-30", "package": "p" * 40},
    {"pickup_address": {"line1": "x"}, "customer": {"name": "A\x00", "email": "a@example.com"}},
    {"pickup_date": "tomorrow", "notes": "x" * 5000, "quote_id": 7, "pickup_window": None},
    {"customer": {}, "item_count": float("inf"), "specialty_items": [{"code": 1, "quantity": float("nan")}]},
])
def test_no_message_is_pydantic_s(post_json, payload, changes):
    fields = _fields(post_json("/api/v1/bookings/", payload(**changes)))

    messages = [message for problems in fields.values() for message in problems]
    assert len(fields) >= 2 and all(message.endswith(".") for message in messages), fields
    assert not [m for m in messages if any(phrase in m for phrase in PYDANTIC_PHRASES)], fields


def test_a_query_or_path_parameter_gets_the_same_words(client, catalog):
    fields = _fields(client.get("/api/v1/services/availability/2027-13-45/?service_type=boat"))

    assert fields == {"date": ["Use a real date as YYYY-MM-DD, e.g. 2027-03-10."],
                      "service_type": ["Use one of 'mini_move', 'standard' or 'specialty'."]}

import datetime as dt

import pytest


def booking_payload(pickup_date: dt.date, **overrides) -> dict:
    """A valid POST bookings/ body (API_CONTRACT.md "Booking request")."""
    body = {
        "booking_type": "mini_move",
        "pickup_date": pickup_date if isinstance(pickup_date, str) else pickup_date.isoformat(),
        "pickup_window": "morning",
        "package": "petite",
        "item_count": 10,
        "specialty_items": [],
        "coi_required": False,
        "customer": {"name": "Alex Morgan", "email": "alex@example.com", "phone": "+12125550123"},
        "pickup_address": {"line1": "245 East 72nd Street", "line2": "Apt 5B", "city": "New York", "state": "NY",
                           "zip_code": "10021"},
        "dropoff_address": {"line1": "27 Further Lane", "line2": "", "city": "East Hampton", "state": "NY",
                            "zip_code": "11937"},
        "notes": "",
    }
    body.update(overrides)
    return body


@pytest.fixture
def payload(catalog, future_weekday):
    def _make(**overrides):
        return booking_payload(overrides.pop("pickup_date", future_weekday), **overrides)

    return _make


@pytest.fixture
def post_json(client):
    def _post(url, body, **headers):
        return client.post(url, body, content_type="application/json", **headers)

    return _post

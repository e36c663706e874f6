import copy
import datetime as dt

import pytest

from public_api.schemas import BOOKING_EXAMPLE


def booking_payload(pickup_date: dt.date, **overrides) -> dict:
    """A valid POST bookings/ body: the OpenAPI example, without its add-ons (a plain $995 Petite move)."""
    body = copy.deepcopy(BOOKING_EXAMPLE)
    body.update(specialty_items=[], coi_required=False, notes="",
                pickup_date=pickup_date if isinstance(pickup_date, str) else pickup_date.isoformat())
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

"""calculate-price, preview and create always charge the same thing for the same request (property test)."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.catalog.availability import first_bookable_date
from tests.public_api.conftest import booking_payload

_emails = itertools.count()
ITEMS = ["peloton", "surfboard", "crib", "wardrobe_box"]

specialty = st.lists(st.builds(lambda c, q: {"code": c, "quantity": q}, st.sampled_from(ITEMS), st.integers(1, 3)),
                     max_size=3, unique_by=lambda i: i["code"])
bookings = st.one_of(
    st.builds(lambda pkg, n, items: {"booking_type": "mini_move", "package": pkg[0], "item_count": min(n, pkg[1]),
                                     "specialty_items": items},
              st.sampled_from([("petite", 15), ("standard", 30), ("full", 500)]), st.integers(0, 60), specialty),
    st.builds(lambda n, items: {"booking_type": "standard", "item_count": n, "specialty_items": items},
              st.integers(1, 40), specialty),
    st.builds(lambda items: {"booking_type": "specialty", "item_count": 0, "specialty_items": items},
              specialty.filter(bool)),
)


@pytest.fixture
def roomy(settings, catalog):
    settings.TOTETAXI = {**settings.TOTETAXI, "RATE_LIMIT_POSTS_PER_MINUTE": 0, "DEFAULT_DAILY_CAPACITY": 10_000}


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(booking=bookings, day=st.integers(0, 75), coi=st.booleans(), window=st.sampled_from(
    ["morning", "afternoon", "flexible"]))
def test_calculate_price_preview_and_create_agree(client, roomy, booking, day, coi, window):
    # given any valid request on a bookable date (weekends and the winter holidays included)
    pickup = first_bookable_date() + dt.timedelta(days=day)
    body = booking_payload(pickup, coi_required=coi, pickup_window=window, **booking)
    body["customer"] = {**body["customer"], "email": f"agree{next(_emails)}@example.com"}

    def post(url, data):
        response = client.post(url, data, content_type="application/json")
        assert response.status_code in (200, 201), response.json()
        return response.json()

    # when it is priced, quoted, booked, and booked again with the quote
    price = post("/api/v1/services/calculate-price/", body)
    quote = post("/api/v1/bookings/preview/", body)
    created = post("/api/v1/bookings/", body)
    quoted = post("/api/v1/bookings/", {**body, "quote_id": quote.pop("quote_id")})
    quote.pop("expires_at")
    for checked in (price, quote):  # both say the date can be booked (it was, and it was booked)
        assert (checked.pop("bookable"), checked.pop("reasons"), checked.pop("alternatives"),
                checked.pop("alternative_windows")) == (True, [], [], [])
    # then all four agree, line for line
    assert price == quote == created["price"] == quoted["price"]
    assert created["total_price"] == price["total_price"]
    assert sum(Decimal(line["amount"]) for line in price["lines"]) == Decimal(price["total_price"])

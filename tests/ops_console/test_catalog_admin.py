"""Catalog pages of the console: the price simulator and the van schedule."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("query", "field"), [
    ({"booking_type": "mini_move", "package": "full", "item_count": "501"}, "item_count"),
    ({"booking_type": "standard", "item_count": "3", "specialty_item_1": "peloton", "specialty_qty_1": "21"},
     "specialty_items.0.quantity"),
    ({"booking_type": "specialty", "item_count": "500", "specialty_item_1": "surfboard"}, "item_count"),
])
def test_the_price_simulator_applies_core_limits(role_client, catalog, future_weekday, query, field):
    response = role_client("operations").get(reverse("admin:core_price_simulator"),
                                             {"pickup_date": future_weekday.isoformat(), **query})
    assert response.status_code == 200
    assert response.context["breakdown"] is None
    assert field in response.context["error"].fields
    assert b"Cannot be priced" in response.content

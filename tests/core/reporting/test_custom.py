import datetime as dt
from decimal import Decimal

import pytest

from core.common.errors import ValidationError
from core.reporting.reports.custom import custom_figures, custom_report
from tests.core.reporting.data import booking, ny, pay

D = dt.date
RANGE = {"start": D(2026, 1, 1), "end": D(2026, 2, 28)}


@pytest.fixture
def books(db):
    a = booking(pickup=D(2026, 1, 9), created=ny(2026, 1, 2, 10), kind="standard", total="100.00")
    pay(a, 10000, ny(2026, 1, 2, 10), method="cash")
    booking(pickup=D(2026, 2, 9), created=ny(2026, 1, 31, 23, 30), kind="standard", total="50.00",
            status="cancelled", cancelled=ny(2026, 2, 1, 9))
    b = booking(pickup=D(2026, 2, 19), created=ny(2026, 2, 3, 10), kind="mini_move", total="300.00",
                dropoff_zip="11968")
    pay(b, 30000, ny(2026, 2, 3, 10))


def test_measures_by_month_and_service_type(books):
    rows = custom_figures(**RANGE, measures=["bookings", "booked_value", "cancelled"], dimensions=["service_type"])
    assert [tuple(r.values()) for r in rows] == [
        (D(2026, 1, 1), "standard", 2, Decimal("150.00"), 1),
        (D(2026, 2, 1), "mini_move", 1, Decimal("300.00"), 0),
    ]


def test_pickup_date_basis_and_filters(books):
    rows = custom_figures(**RANGE, measures=["bookings", "average_value"], grouping="none", date_field="pickup",
                          filters={"payment_method": "stripe", "dropoff_zip": "11968"})
    assert [tuple(r.values()) for r in rows] == [(None, 1, Decimal("300.00"))]
    report = custom_report(**RANGE, measures=["bookings", "customers"], grouping="month")
    assert report.main.totals == {"bookings": 3}


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"measures": ["pg_sleep(10)"]}, "measures"),
    ({"measures": []}, "measures"),
    ({"measures": ["bookings"], "dimensions": ["customer__email"]}, "dimensions"),
    ({"measures": ["bookings"], "filters": {"customer__email__startswith": "a"}}, "filters"),
    ({"measures": ["bookings"], "filters": {"payment_method": "barter"}}, "payment_method"),
    ({"measures": ["bookings"], "date_field": "updated_at"}, "date_field"),
])
def test_anything_off_the_lists_is_refused(db, kwargs, field):
    with pytest.raises(ValidationError) as err:
        custom_figures(**RANGE, **kwargs)
    assert field in err.value.fields


def test_one_query_whatever_the_data_size(books, django_assert_num_queries):
    with django_assert_num_queries(1):
        custom_figures(**RANGE, measures=list(["bookings", "booked_value", "customers"]),
                       dimensions=["status", "pickup_zip"], filters={"payment_method": "cash"})

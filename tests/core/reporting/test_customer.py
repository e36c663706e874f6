import datetime as dt
from decimal import Decimal

import pytest

from core.reporting.reports.customer import customer_figures, customer_report
from tests.core.reporting.data import booking, ny
from tests.factories import CustomerFactory

D = dt.date
RANGE = {"start": D(2026, 1, 1), "end": D(2026, 2, 28)}


@pytest.fixture
def people(db):
    alice, bob, cara, dan = (CustomerFactory(name=n) for n in ("Alice", "Bob", "Cara", "Dan"))
    for created, total in ((ny(2025, 12, 5, 10), "100.00"), (ny(2026, 1, 10, 10), "100.00"),
                           (ny(2026, 2, 5, 10), "100.00")):
        booking(pickup=created.date() + dt.timedelta(days=7), created=created, customer=alice, total=total)
    booking(pickup=D(2026, 2, 1), created=ny(2026, 1, 20, 10), customer=bob, total="150.00")
    booking(pickup=D(2026, 2, 2), created=ny(2026, 1, 25, 10), customer=bob, total="200.00")
    booking(pickup=D(2026, 2, 9), created=ny(2026, 1, 31, 9), customer=cara, status="cancelled",
            cancelled=ny(2026, 1, 31, 10))
    booking(pickup=D(2026, 2, 9), created=ny(2026, 2, 1, 0, 30), customer=cara, total="50.00")
    booking(pickup=D(2026, 3, 9), created=ny(2026, 2, 28, 23, 30), customer=dan, total="80.00",
            pickup_zip="10001", dropoff_zip="11968", status="scheduled")
    return {"alice": alice, "bob": bob, "cara": cara, "dan": dan}


def test_new_and_returning_per_month(people):
    rows = customer_figures(**RANGE, grouping="month")
    assert [(r["period"], r["customers"], r["new"], r["returning"], r["bookings"], r["bookings_per_customer"])
            for r in rows] == [
        (D(2026, 1, 1), 2, 1, 1, 3, 1.5),
        (D(2026, 2, 1), 3, 2, 1, 3, 1.0),
    ]


def test_report_cards_top_customers_and_corridors(people):
    report = customer_report(**RANGE, grouping="month")
    assert report.summary == {"Customers booking": 4, "New customers": 3, "Returning customers": 1,
                              "Repeat rate %": Decimal("50.0"), "Bookings per customer": 1.5}
    top = report.sections[1].rows
    assert [(r["customer"], r["lifetime_value"], r["bookings"]) for r in top] == [
        ("Bob", Decimal("350.00"), 2), ("Alice", Decimal("300.00"), 3), ("Dan", Decimal("80.00"), 1),
        ("Cara", Decimal("50.00"), 1)]
    assert top[0]["customer_id"] == people["bob"].pk
    assert [(r["corridor"], r["bookings"]) for r in report.sections[2].rows] == [
        ("10021 → 11937", 5), ("10001 → 11968", 1)]


def test_query_count_is_constant_in_the_data_size(people, django_assert_num_queries):
    with django_assert_num_queries(5):
        customer_report(**RANGE, grouping="week")
    for i in range(12):
        booking(pickup=D(2026, 2, 20), created=ny(2026, 1, 3 + i, 12))
    with django_assert_num_queries(5):
        customer_report(**RANGE, grouping="week")

"""The "Today" page: right figures, and the same number of queries whatever the data size."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.bookings.models import BookingStatus
from core.reporting.models import DailyMetrics


def _dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_dashboard_query_count_is_constant_across_data_sizes(role_client, make_booking, future_weekday):
    client = role_client("admin")
    make_booking(BookingStatus.PAID)
    _dashboard_queries(client)  # warm per-process caches (content types, catalog snapshot)
    small = _dashboard_queries(client)
    for i, status in enumerate([BookingStatus.PAID, BookingStatus.SCHEDULED, BookingStatus.PENDING] * 6):
        make_booking(status, pickup_date=future_weekday + dt.timedelta(days=i // 5))
    DailyMetrics.objects.create(date=timezone.localdate() - dt.timedelta(days=3), revenue=Decimal("10.00"))
    large = _dashboard_queries(client)
    assert small == large
    print(f"dashboard queries: {large}")
    assert large <= 16, large  # 12 + COI needed/expiring (2) + logistics issues (1) + the 2FA device


@pytest.mark.django_db
def test_dashboard_figures(role_client, make_booking):
    paid = make_booking(BookingStatus.PAID)
    paid.payment_status = "paid"
    paid.save(update_fields=["payment_status"])
    make_booking()  # pending: on hold, not revenue
    response = role_client("admin").get(reverse("admin:index"))
    dash = response.context["ops_dashboard"]
    cards = {c["title"]: c["value"] for c in dash["cards"]}
    assert cards["Bookings today"] == 2
    assert cards["Pending payments"] == 1
    assert cards["Revenue, 30 days"] == f"${paid.total_price:,.2f}"
    assert cards["Average booking value"] == f"${paid.total_price:,.2f}"
    assert b"Upcoming pickups, next 7 days" in response.content
    assert b'data-type="line"' in response.content and b'data-type="bar"' in response.content


@pytest.mark.django_db
def test_operations_see_no_revenue(role_client, make_booking):
    make_booking()
    response = role_client("operations").get(reverse("admin:index"))
    titles = [c["title"] for c in response.context["ops_dashboard"]["cards"]]
    assert "Revenue, 30 days" not in titles and "Pending payments" in titles


@pytest.mark.django_db
def test_every_card_links_to_a_list_filtered_to_its_figure(role_client, make_booking):
    soon = timezone.localdate() + dt.timedelta(days=3)
    make_booking(BookingStatus.PAID)
    make_booking(BookingStatus.SCHEDULED, pickup_date=soon)
    make_booking(pickup_date=soon)
    client = role_client("admin")
    dash = client.get(reverse("admin:index")).context["ops_dashboard"]
    for card in dash["cards"] + dash["issues"]:
        if not card.get("link"):
            continue
        response = client.get(card["link"])
        assert response.status_code == 200, (card["title"], response.status_code, card["link"])
        if card["title"] in ("Bookings today", "Bookings this week", "Pickups next 7 days", "Pending payments"):
            assert response.context["cl"].result_count == card["value"], card["title"]
    assert {c["title"]: c["value"] for c in dash["cards"]}["Pickups next 7 days"] == 1


@pytest.mark.django_db
def test_upcoming_pickups_show_every_day_with_capacity_and_holds_apart(role_client, make_booking):
    from core.catalog.models import VanSchedule

    today = timezone.localdate()
    in_two, in_four = today + dt.timedelta(days=2), today + dt.timedelta(days=4)
    make_booking(BookingStatus.PAID, pickup_date=in_two, pickup_window="morning")
    make_booking(BookingStatus.SCHEDULED, pickup_date=in_two, pickup_window="afternoon")
    make_booking(pickup_date=in_two)  # an unpaid hold: holds a slot, not a pickup yet
    make_booking(BookingStatus.CANCELLED, pickup_date=in_two)  # frees its slot
    VanSchedule.objects.create(date=in_four, capacity_override=3)
    response = role_client("operations").get(reverse("admin:index"))
    table = response.context["ops_dashboard"]["upcoming_table"]
    assert table["headers"] == ["Day", "Morning", "Afternoon", "Flexible", "Booked", "Pending holds", "Capacity",
                                "Remaining"]
    rows = {row[0]: row[1:] for row in table["rows"]}
    assert list(rows) == [f"{today + dt.timedelta(days=i):%a %b %-d}" for i in range(7)]  # zero days included
    assert rows[f"{in_two:%a %b %-d}"] == [1, 1, 0, 2, 1, 10, 7]
    assert rows[f"{in_four:%a %b %-d}"] == [0, 0, 0, 0, 0, 3, 3]
    assert rows[f"{today:%a %b %-d}"] == [0, 0, 0, 0, 0, 10, 10]


@pytest.mark.django_db
def test_charts_have_titled_axes_with_values(role_client):
    import json

    dash = role_client("admin").get(reverse("admin:index")).context["ops_dashboard"]
    for key, y_title in (("revenue_chart_options", "Revenue (USD)"), ("type_chart_options", "Bookings")):
        scales = json.loads(dash[key])["scales"]
        assert scales["y"]["title"] == {"display": True, "text": y_title, "color": "#6b7280"}
        assert scales["x"]["title"]["display"] and scales["x"]["title"]["text"]
        assert scales["y"]["ticks"].get("display", True) is not False


@pytest.mark.django_db
def test_bookings_owing_a_balance_are_an_open_issue_linking_to_them(role_client, make_booking):
    from core.bookings.models import PaymentState

    owing, cancelled = make_booking(BookingStatus.PAID), make_booking(BookingStatus.CANCELLED)
    for booking in (owing, cancelled):
        booking.payment_status = PaymentState.BALANCE_DUE
        booking.save(update_fields=["payment_status"])
    client = role_client("operations")

    dash = client.get(reverse("admin:index")).context["ops_dashboard"]

    [issue] = [i for i in dash["issues"] if i["title"] == "Balance due"]
    assert issue["value"] == 1  # the cancelled one owes nothing any more
    assert dash["open_issues"] >= 1
    listed = client.get(issue["link"])
    assert listed.status_code == 200
    assert [b.pk for b in listed.context["cl"].result_list] == [owing.pk]

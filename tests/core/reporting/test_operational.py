import datetime as dt
from decimal import Decimal

import pytest

from core.catalog.models import VanSchedule
from core.notifications.models import Notification
from core.reporting.reports.operational import operational_figures, operational_report, operational_totals
from tests.core.reporting.data import booking, coi, leg, ny

D = dt.date
WEEK = {"start": D(2026, 3, 2), "end": D(2026, 3, 8)}  # Monday to Sunday


@pytest.fixture
def week(db, settings):
    settings.TOTETAXI = {**settings.TOTETAXI, "DEFAULT_DAILY_CAPACITY": 4}
    VanSchedule.objects.create(date=D(2026, 3, 3), capacity_override=2)
    VanSchedule.objects.create(date=D(2026, 3, 4), capacity_override=0)
    VanSchedule.objects.create(date=D(2026, 3, 5), capacity_override=9, is_active=False)  # ignored
    # made Mon 2 Mar, picked up Tue 3 (lead 1 day) and Fri 6 (lead 4 days)
    booking(pickup=D(2026, 3, 3), created=ny(2026, 3, 2, 23, 30), kind="standard", status="completed")
    booking(pickup=D(2026, 3, 6), created=ny(2026, 3, 2, 9), kind="specialty", status="scheduled")
    # made Tue 3, cancelled Wed 4 (its slot on Tue 3 is free again)
    booking(pickup=D(2026, 3, 3), created=ny(2026, 3, 3, 8), kind="standard", status="cancelled",
            cancelled=ny(2026, 3, 4, 12))
    # an unpaid hold uses no slot; made the Sunday before the week
    booking(pickup=D(2026, 3, 3), created=ny(2026, 3, 1, 12), kind="standard", status="pending")
    Notification.objects.create(notification_type="custom", status="failed", dedupe_key="n1")
    Notification.objects.filter(dedupe_key="n1").update(created_at=ny(2026, 3, 5, 10))
    Notification.objects.create(notification_type="custom", status="sent", dedupe_key="n2")


COLUMNS = ("period", "created", "completed", "cancelled", "cancellation_rate", "slots_used", "capacity",
           "utilisation", "lead_time_days", "failed_notifications")
P = Decimal


def test_daily_operational_figures_on_a_hand_made_week(week):
    rows = operational_figures(**WEEK, grouping="day")
    assert [tuple(r[c] for c in COLUMNS) for r in rows] == [
        (D(2026, 3, 2), 2, 0, 0, P("0.0"), 0, 4, P("0.0"), 2.5, 0),
        (D(2026, 3, 3), 1, 1, 0, P("100.0"), 1, 2, P("50.0"), None, 0),
        (D(2026, 3, 4), 0, 0, 1, None, 0, 0, None, None, 0),
        (D(2026, 3, 5), 0, 0, 0, None, 0, 4, P("0.0"), None, 1),
        (D(2026, 3, 6), 0, 0, 0, None, 1, 4, P("25.0"), None, 0),
        (D(2026, 3, 7), 0, 0, 0, None, 0, 4, P("0.0"), None, 0),
        (D(2026, 3, 8), 0, 0, 0, None, 0, 4, P("0.0"), None, 0),
    ]


def test_weekly_totals_equal_the_daily_totals(week):
    daily = operational_totals(operational_figures(**WEEK, grouping="day"))
    (weekly,) = operational_figures(**WEEK, grouping="week")
    for column in COLUMNS[1:]:
        assert weekly[column] == daily[column], column
    assert (weekly["capacity"], weekly["slots_used"], weekly["utilisation"]) == (22, 2, P("9.1"))


def test_report_sections_and_cards(week):
    report = operational_report(**WEEK, grouping="week")
    assert report.summary["Bookings created"] == 3
    assert report.summary["Cancellation rate %"] == P("33.3")
    assert [(r["dim"], r["status"], r["n"]) for r in report.sections[1].rows] == [
        ("Specialty items", "scheduled", 1), ("Standard delivery", "cancelled", 1),
        ("Standard delivery", "completed", 1)]


def test_service_type_filter(week):
    (row,) = operational_figures(**WEEK, grouping="none", service_type="specialty")
    assert (row["created"], row["slots_used"], row["lead_time_days"]) == (1, 1, 4.0)


def test_query_count_is_constant_in_the_data_size(week, django_assert_num_queries):
    with django_assert_num_queries(8):
        operational_report(**WEEK, grouping="day")
    for i in range(15):
        booking(pickup=D(2026, 3, 2 + i % 7), created=ny(2026, 3, 2, 10), status="completed")
    with django_assert_num_queries(8):
        operational_report(**WEEK, grouping="day")


@pytest.fixture
def legs_and_cois(db):
    """Legs and certificates of a week with the spring-forward Sunday (Mar 8 2026, 02:00 NY)."""
    x = booking(pickup=D(2026, 3, 3), created=ny(2026, 2, 1, 10))
    leg(x, "pickup", started=ny(2026, 3, 3, 9), finished=ny(2026, 3, 3, 9, 30))
    leg(x, "dropoff", finished=ny(2026, 3, 3, 13, 30))  # 4.5 h after the pickup started
    y = booking(pickup=D(2026, 3, 6), created=ny(2026, 2, 1, 10), kind="specialty")
    leg(y, "pickup", started=ny(2026, 3, 6, 10), finished=ny(2026, 3, 6, 10, 20))
    leg(y, "dropoff", status="failed", finished=ny(2026, 3, 6, 15))  # failed: not timed
    z = booking(pickup=D(2026, 3, 5), created=ny(2026, 2, 1, 10))
    leg(z, "pickup", finished=ny(2026, 3, 5, 11))  # Onfleet never sent taskStarted
    leg(z, "dropoff", finished=ny(2026, 3, 5, 14))  # so its delivery time is unknown
    w = booking(pickup=D(2026, 3, 7), created=ny(2026, 2, 1, 10))
    leg(w, "pickup", started=ny(2026, 3, 7, 22), finished=ny(2026, 3, 7, 22, 40))
    leg(w, "dropoff", finished=ny(2026, 3, 8, 1, 30))  # 3.5 h, before the clocks go forward
    v = booking(pickup=D(2026, 3, 9), created=ny(2026, 2, 1, 10))
    leg(v, "pickup", started=ny(2026, 3, 9, 9), finished=ny(2026, 3, 9, 10))  # after the week
    leg(v, "dropoff", status="cancelled")
    coi(x, uploaded=ny(2026, 3, 2, 9), decided=ny(2026, 3, 2, 15), status="valid")  # 6 h
    coi(z, uploaded=ny(2026, 3, 1, 20), decided=ny(2026, 3, 3, 8), status="invalid")  # 36 h, uploaded before
    coi(w, uploaded=ny(2026, 3, 4, 10), decided=ny(2026, 3, 4, 12, 30), status="waived")  # 2.5 h
    coi(y, uploaded=ny(2026, 3, 6, 9), decided=ny(2026, 3, 6, 10), status="valid")  # 1 h
    coi(x, uploaded=ny(2026, 3, 4, 9), decided=None, status="pending")
    coi(z, uploaded=ny(2026, 3, 4, 9), decided=None, status="expired")


LEG_COLUMNS = ("period", "legs_completed", "legs_failed", "delivery_success_rate", "delivery_hours", "cois_decided",
               "coi_turnaround_hours")


def test_daily_delivery_and_coi_figures_on_a_hand_made_week(legs_and_cois):
    rows = operational_figures(**WEEK, grouping="day")
    assert [tuple(r[c] for c in LEG_COLUMNS) for r in rows] == [
        (D(2026, 3, 2), 0, 0, None, None, 1, P("6.0")),
        (D(2026, 3, 3), 2, 0, P("100.0"), P("4.5"), 1, P("36.0")),
        (D(2026, 3, 4), 0, 0, None, None, 1, P("2.5")),
        (D(2026, 3, 5), 2, 0, P("100.0"), None, 0, None),
        (D(2026, 3, 6), 1, 1, P("50.0"), None, 1, P("1.0")),
        (D(2026, 3, 7), 1, 0, P("100.0"), None, 0, None),
        (D(2026, 3, 8), 1, 0, P("100.0"), P("3.5"), 0, None),
    ]


def test_weekly_delivery_and_coi_figures_equal_the_daily_totals(legs_and_cois):
    daily = operational_totals(operational_figures(**WEEK, grouping="day"))
    (weekly,) = operational_figures(**WEEK, grouping="week")
    assert tuple(weekly[c] for c in LEG_COLUMNS[1:]) == tuple(daily[c] for c in LEG_COLUMNS[1:]) == (
        7, 1, P("87.5"), P("4.0"), 4, P("11.4"))  # (6 + 36 + 2.5 + 1) / 4 = 11.375 h


def test_delivery_and_coi_figures_follow_the_service_type_filter(legs_and_cois):
    (row,) = operational_figures(**WEEK, grouping="none", service_type="specialty")
    assert tuple(row[c] for c in LEG_COLUMNS[1:]) == (1, 1, P("50.0"), None, 1, P("1.0"))


def test_report_cards_and_notes_name_the_delivery_figures(legs_and_cois):
    report = operational_report(**WEEK, grouping="week")
    assert (report.summary["Delivery success %"], report.summary["Failed legs"],
            report.summary["Average delivery time (h)"], report.summary["Average COI turnaround (h)"]) == (
        P("87.5"), 1, P("4.0"), P("11.4"))
    assert any("taskStarted" in n for n in report.notes)


def test_delivery_and_coi_query_count_is_constant(legs_and_cois, django_assert_num_queries):
    with django_assert_num_queries(8):
        operational_report(**WEEK, grouping="day")
    for i in range(10):
        b = booking(pickup=D(2026, 3, 2 + i % 7), created=ny(2026, 2, 1, 10))
        leg(b, "pickup", started=ny(2026, 3, 2 + i % 7, 9), finished=ny(2026, 3, 2 + i % 7, 10))
        leg(b, "dropoff", finished=ny(2026, 3, 2 + i % 7, 12))
        coi(b, uploaded=ny(2026, 3, 2, 9), decided=ny(2026, 3, 2 + i % 7, 12), status="valid")
    with django_assert_num_queries(8):
        operational_report(**WEEK, grouping="day")

import datetime as dt
from decimal import Decimal

import pytest

from core.catalog.models import VanSchedule
from core.notifications.models import Notification
from core.reporting.reports.operational import operational_figures, operational_report, operational_totals
from tests.core.reporting.data import booking, ny

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
    with django_assert_num_queries(6):
        operational_report(**WEEK, grouping="day")
    for i in range(15):
        booking(pickup=D(2026, 3, 2 + i % 7), created=ny(2026, 3, 2, 10), status="completed")
    with django_assert_num_queries(6):
        operational_report(**WEEK, grouping="day")

"""`manage.py seed_demo` tells a true story: past times at believable hours, pickups every coming day, holds
expiring one after another, 30 days of metrics that match the live figures, named staff."""

import collections
import datetime as dt
import io
import random
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from core.accounts.models import User
from core.bookings.models import Booking, BookingStatus, BookingStatusChange
from core.management.demo import people, story
from core.notifications.models import Notification
from core.payments.models import Payment, Refund
from core.reporting.models import DailyMetrics
from core.reporting.selectors import created_figures, daily_figures, daily_series
from tests.ops_console.conftest import ensure_staff_groups

NY = ZoneInfo("America/New_York")
MOMENT = dt.datetime(2027, 3, 10, 14, 30, tzinfo=NY)  # a Wednesday afternoon
TODAY = MOMENT.date()
CUSTOMER_HOURS = range(7, 23)  # customers book and pay from 7 am to 10:59 pm
STAFF_HOURS = range(8, 19)  # the office and the vans: 8 am to 6:59 pm


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """One seeded database for the module. The seed's messages go out when each step's transaction commits,
    so it needs real commits (not a test transaction); the database is flushed afterwards, as after a
    transactional test."""
    with django_db_blocker.unblock():
        try:
            with time_machine.travel(MOMENT, tick=False):
                ensure_staff_groups()
                call_command("loaddata", "catalog", "email_templates", verbosity=0)
                out = io.StringIO()
                call_command("seed_demo", "--seed", "7", "--bookings", "120", "--customers", "40",
                             stdout=out, stderr=io.StringIO())
            yield out.getvalue()
        finally:
            call_command("flush", interactive=False, verbosity=0)
            ensure_staff_groups()  # the one data migration: later tests expect its groups


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(NY)


def test_every_timestamp_is_in_the_past_at_a_believable_new_york_hour(db, seeded):
    # given the demo seeded at MOMENT (open holds are minutes old by definition, so they count as now)
    created = list(Booking.objects.values_list("created_at", flat=True))
    payments = list(Payment.objects.values_list("created_at", flat=True))
    sent = list(Notification.objects.exclude(sent_at=None).values_list("sent_at", flat=True))
    customer_steps = list(BookingStatusChange.objects.filter(actor=None).values_list("created_at", flat=True))
    staff_steps = list(BookingStatusChange.objects.exclude(actor=None).values_list("created_at", flat=True))
    history = list(Booking.history.values_list("history_date", flat=True))
    # then
    assert created and payments and sent and staff_steps
    for moment in [*created, *payments, *sent, *customer_steps, *staff_steps, *history]:
        assert moment <= MOMENT
        assert _local(moment).hour in CUSTOMER_HOURS, moment
    for moment in staff_steps:
        assert _local(moment).hour in STAFF_HOURS, moment
    # spread over months, not stamped all at once nor piled up on the last day or two
    settled = Booking.objects.exclude(status=BookingStatus.PENDING).values_list("created_at", flat=True)
    per_day = collections.Counter(_local(c).date() for c in settled)
    assert len(per_day) > 40
    assert max(per_day.values()) <= 8, per_day.most_common(3)
    assert min(created) < MOMENT - dt.timedelta(days=60)


def test_status_changes_follow_the_booking_in_time_order(db, seeded):
    for booking in Booking.objects.exclude(status=BookingStatus.PENDING).prefetch_related("status_changes"):
        changes = list(booking.status_changes.all())
        assert changes[0].created_at == booking.created_at
        assert [c.created_at for c in changes] == sorted(c.created_at for c in changes)
        if booking.status in (BookingStatus.IN_PROGRESS, BookingStatus.COMPLETED):
            started = next(c for c in changes if c.to_status == BookingStatus.IN_PROGRESS)
            assert _local(started.created_at).date() == booking.pickup_date


def test_pickups_on_every_day_of_the_coming_two_weeks(db, seeded):
    active = Booking.objects.exclude(status__in=[BookingStatus.CANCELLED, BookingStatus.PENDING])
    for days in range(1, 15):
        assert active.filter(pickup_date=TODAY + dt.timedelta(days=days)).count() >= 2, days


def test_open_holds_expire_at_different_times(db, seeded):
    expiries = list(Booking.objects.filter(status=BookingStatus.PENDING).values_list("hold_expires_at", flat=True))
    assert len(expiries) == story.PENDING_HOLDS
    assert len(set(expiries)) == len(expiries)
    assert all(MOMENT + dt.timedelta(minutes=10) < e <= MOMENT + dt.timedelta(minutes=30) for e in expiries)
    assert len({e.replace(second=0) for e in expiries}) == len(expiries)  # each on its own minute


def test_thirty_days_of_metrics_match_what_the_dashboard_computes_live(db, seeded):
    days = [TODAY - dt.timedelta(days=back) for back in range(30, 0, -1)]
    rows = {m.date: m for m in DailyMetrics.objects.filter(date__in=days)}
    assert sorted(rows) == days
    live = created_figures(since=days[0], until=days[-1])
    for day in days:
        figures = daily_figures(day=day)
        assert rows[day].bookings_created == figures["bookings_created"] == getattr(live.get(day), "bookings_created", 0)
        assert rows[day].revenue == figures["revenue"]
        assert rows[day].pickups == figures["pickups"]
    assert sum(r.bookings_created for r in rows.values()) > 0
    assert sum(r.pickups for r in rows.values()) > 0
    # the dashboard's series (snapshots for finished days) equals the live figures
    series = {d.date: d for d in daily_series(days=30, now=MOMENT)}
    for day in days[1:]:
        assert series[day].bookings_created == rows[day].bookings_created
        assert series[day].revenue == rows[day].revenue


def test_cancellations_are_refunded_and_holds_that_lapsed_say_so(db, seeded):
    """Paid bookings the customer called off are cancelled under the change policy with a full refund (an
    admin's override, with its reason); unpaid ones lapse or are cancelled plainly."""
    cancelled = Booking.objects.filter(status=BookingStatus.CANCELLED)
    refunded = cancelled.filter(change_quotes__action="cancel", change_quotes__used_at__isnull=False)
    assert refunded.exists()
    for booking in refunded:
        quote = booking.change_quotes.get(action="cancel", used_at__isnull=False)
        assert quote.override["reason"].startswith("Customer called") and quote.used_by.username == "admin"
        refund = Refund.objects.get(payment__booking=booking)
        assert refund.created_at >= booking.cancelled_at and refund.processed_by.username == "admin"
        assert refund.amount_cents == refund.payment.amount_cents
    others = cancelled.exclude(pk__in=refunded.values("pk"))
    assert {b.cancellation_reason for b in others} <= {"hold_expired", "Customer called: plans changed."}
    assert not Refund.objects.filter(payment__booking__in=others).exists()


def test_the_summary_counts_what_was_made(db, seeded):
    assert f"Created {Booking.objects.count()} demo bookings" in seeded
    assert "30 days of daily metrics" in seeded


def test_demo_staff_have_names_profiles_and_their_group(db, seeded):
    staff = {u.username: u for u in User.objects.select_related("staff_profile").prefetch_related("groups")}
    assert {"admin", "ops", "finance"} <= set(staff)
    assert staff["ops"].get_full_name() == "Marco Reyes"
    assert [g.name for g in staff["finance"].groups.all()] == ["Finance"]
    assert staff["finance"].staff_profile.department == "finance"
    assert all(staff[name].staff_profile.employee_id for name in ("admin", "ops", "finance"))
    assert BookingStatusChange.objects.filter(actor=staff["ops"]).exists()


def test_the_same_seed_tells_the_same_story():
    catalog = {"packages": [("petite", 15), ("standard", 30), ("full", None)], "specialty": ["peloton", "crib"]}

    def plan(seed: int):
        rng = random.Random(seed)
        with time_machine.travel(MOMENT, tick=False):  # the story is planned relative to now
            return story.plan(rng, now=MOMENT, count=80, catalog=catalog, customers=people.customers(rng, 20))

    assert plan(7) == plan(7)
    assert plan(7) != plan(8)

"""The daily reminder of a change's unpaid balance: email (and SMS) with a pay link minted at send time, once per
booking and day whatever the reruns, never for a cancelled booking, after the pickup date, or once paid."""

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone

from core.bookings.changes import booking_cancel_preview, booking_cancel_with_quote
from core.bookings.models import Booking, PaymentState
from core.bookings.rescheduling import BookingChange, booking_change_preview, booking_change_with_quote
from core.notifications.models import Notification, NotificationStatus
from core.notifications.tasks import send_due_notifications
from core.payments.tasks import remind_balances_due
from tests.core.notifications.fixtures import postmark, twilio  # noqa: F401  (fixtures)
from tests.fakes.stripe_payments import pay_through_stripe

pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]
pytestmark = pytest.mark.django_db
PAY = re.compile(r"/bookings/(?P<id>[0-9a-f-]{36})/pay/\?token=(?P<token>[^\s\"<]+)")


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    """`hour` o'clock in New York on `day` (the job runs mid-morning there)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


@pytest.fixture
def owing(stripe_on, make_request):
    """A paid booking moved onto a Saturday: it owes the $100 weekend surcharge (its change emailed once)."""
    from core.bookings.services import booking_create

    booking, _ = booking_create(request=make_request())
    pay_through_stripe(stripe_on, booking)
    booking = Booking.objects.get(pk=booking.pk)
    saturday = booking.pickup_date + dt.timedelta(days=(5 - booking.pickup_date.weekday()) % 7 or 7)
    quote = booking_change_preview(booking=booking, change=BookingChange(saturday, "morning"))
    outcome = booking_change_with_quote(booking=booking, quote_id=quote.pk)
    assert outcome.booking.payment_status == PaymentState.BALANCE_DUE
    return outcome


def _run(job, capture):
    with capture(execute=True):  # the sends are enqueued after the job's commits
        return job.call_local()  # the periodic job's own code, its lock included (Huey keeps no result)


def _reminders(postmark):  # noqa: F811
    return [m for m in postmark.messages if m["Subject"].startswith("Reminder: payment")]


def test_a_booking_owing_a_balance_is_reminded_once_a_day_by_email_and_sms_with_its_pay_link(
        client, owing, postmark, twilio, django_capture_on_commit_callbacks):  # noqa: F811
    booking = owing.booking
    today = timezone.localdate()

    # the day of the change: its own email asked for the money; no reminder on top
    with time_machine.travel(_at(today, 23), tick=False):
        assert _run(remind_balances_due, django_capture_on_commit_callbacks) == 0
    assert _reminders(postmark) == []

    with time_machine.travel(_at(today + dt.timedelta(days=1)), tick=False):
        assert _run(remind_balances_due, django_capture_on_commit_callbacks) == 1
        assert _run(remind_balances_due, django_capture_on_commit_callbacks) == 0  # the job twice: once
    [email] = _reminders(postmark)
    [sms] = [m for m in twilio.messages if "reminder" in m["body"]]
    assert email["To"] == booking.customer.email and "$100.00" in email["TextBody"]
    assert "$100.00" in sms["body"] and booking.booking_number in sms["body"]
    for text in (email["TextBody"], sms["body"]):
        link = PAY.search(text)
        assert link and link["id"] == str(booking.pk)
        assert client.get(f"/api/v1/bookings/{booking.pk}/", HTTP_X_BOOKING_TOKEN=link["token"]).status_code == 200
    stored = "".join(n.body_text + n.body_html for n in Notification.objects.filter(
        dedupe_key__startswith="custom:balance_reminder:"))
    assert "{{ pay_url }}" in stored and PAY.search(stored) is None  # the token is never stored

    with time_machine.travel(_at(today + dt.timedelta(days=2)), tick=False):
        assert _run(remind_balances_due, django_capture_on_commit_callbacks) == 1  # the next day: again
    assert len(_reminders(postmark)) == 2
    assert Notification.objects.filter(dedupe_key__startswith="custom:balance_reminder:").count() == 4


def test_no_sms_when_sms_is_not_configured(owing, postmark, django_capture_on_commit_callbacks):  # noqa: F811
    with time_machine.travel(_at(timezone.localdate() + dt.timedelta(days=1)), tick=False):
        assert _run(remind_balances_due, django_capture_on_commit_callbacks) == 1
    assert [n.channel for n in Notification.objects.filter(dedupe_key__startswith="custom:balance_reminder:")] \
        == ["email"]
    assert len(_reminders(postmark)) == 1


def test_paid_cancelled_or_past_its_pickup_date_it_is_not_reminded(
        stripe_on, owing, make_request, postmark, post_webhook, django_capture_on_commit_callbacks):  # noqa: F811
    from core.bookings.services import booking_create

    booking = owing.booking
    next_day = timezone.localdate() + dt.timedelta(days=1)
    # after its pickup date
    with time_machine.travel(_at(booking.pickup_date + dt.timedelta(days=1)), tick=False):
        assert _run(remind_balances_due, django_capture_on_commit_callbacks) == 0
    # cancelled (a second booking owing a balance, cancelled under the policy)
    other, _ = booking_create(request=make_request())
    pay_through_stripe(stripe_on, other)
    other = Booking.objects.get(pk=other.pk)
    saturday = other.pickup_date + dt.timedelta(days=(5 - other.pickup_date.weekday()) % 7 or 7)
    booking_change_with_quote(booking=other, quote_id=booking_change_preview(
        booking=other, change=BookingChange(saturday, "afternoon")).pk)
    other = Booking.objects.get(pk=other.pk)
    booking_cancel_with_quote(booking=other, quote_id=booking_cancel_preview(booking=other).pk)
    # paid: the balance intent succeeds at Stripe
    intent = owing.payment_required["payment_intent_id"]
    stripe_on.succeed(intent)
    assert post_webhook(stripe_on.make_event("payment_intent.succeeded", intent)).status_code == 200
    assert Booking.objects.get(pk=booking.pk).payment_status == PaymentState.PAID

    with time_machine.travel(_at(next_day), tick=False):
        assert _run(remind_balances_due, django_capture_on_commit_callbacks) == 0
    assert _reminders(postmark) == []
    assert not Notification.objects.filter(dedupe_key__startswith="custom:balance_reminder:").exists()


def test_a_stored_reminder_is_not_sent_once_the_balance_is_paid(
        stripe_on, owing, postmark, post_webhook, django_capture_on_commit_callbacks):  # noqa: F811
    day = _at(timezone.localdate() + dt.timedelta(days=1))
    with time_machine.travel(day, tick=False):
        assert remind_balances_due.call_local() == 1  # stored; its send was lost (no commit hook ran)
    intent = owing.payment_required["payment_intent_id"]
    stripe_on.succeed(intent)
    post_webhook(stripe_on.make_event("payment_intent.succeeded", intent))

    with time_machine.travel(day + dt.timedelta(minutes=5), tick=False):
        send_due_notifications()  # the sweep finds it pending

    [reminder] = Notification.objects.filter(dedupe_key__startswith="custom:balance_reminder:")
    assert reminder.status == NotificationStatus.CANCELLED and reminder.last_error == "The balance was paid."
    assert _reminders(postmark) == []

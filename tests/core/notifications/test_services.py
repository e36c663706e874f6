import datetime as dt
import time
import zoneinfo

import pytest
from django.core import mail
from django.db import transaction

from core.bookings.models import BookingStatus
from core.bookings.services import booking_transition
from core.common.errors import ValidationError
from core.notifications.errors import NoRecipient, UnknownEvent
from core.notifications.models import (
    Channel,
    EmailTemplate,
    Notification,
    NotificationStatus,
    Suppression,
)
from core.notifications.services import (
    email_template_send_test,
    notification_resend,
    notification_send_custom,
    notifications_retry,
    notifications_send_due,
    notify_booking_event,
    reminder_time,
)
from tests.factories import CustomerFactory, UserFactory

NY = zoneinfo.ZoneInfo("America/New_York")


def by_type(notifications):
    return sorted((n.notification_type, n.channel) for n in notifications)


def test_payment_confirmation_sends_confirmation_and_receipt_and_schedules_the_reminder(
        booking, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notifications = notify_booking_event(booking=booking, event="payment_confirmation")

    assert by_type(notifications) == [("booking_confirmation", "email"), ("booking_reminder", "email"),
                                      ("payment_confirmation", "email")]  # no Twilio configured: no SMS
    assert sorted(m.subject for m in mail.outbox) == [
        f"Booking confirmed: {booking.booking_number} on {booking.pickup_date:%a, %b} {booking.pickup_date.day}",
        f"Payment received for booking {booking.booking_number}",
    ]
    [confirmation] = [m for m in mail.outbox if m.subject.startswith("Booking confirmed")]
    assert confirmation.to == [booking.customer.email]
    assert confirmation.from_email == "ToteTaxi <bookings@totetaxi.com>"
    assert "Alex Morgan" in confirmation.body and confirmation.alternatives[0][1] == "text/html"
    reminder = Notification.objects.get(notification_type="booking_reminder")
    assert reminder.status == NotificationStatus.PENDING
    assert reminder.scheduled_for == dt.datetime.combine(booking.pickup_date - dt.timedelta(days=1),
                                                         dt.time(8), tzinfo=NY)
    sent = Notification.objects.exclude(notification_type="booking_reminder")
    assert {n.status for n in sent} == {NotificationStatus.SENT}
    assert all(n.delivery_logs.filter(event="sent").count() == 1 for n in sent)


def test_a_booking_needing_a_coi_also_gets_the_coi_request(make_booking, django_capture_on_commit_callbacks):
    booking = make_booking(coi_required=True)

    with django_capture_on_commit_callbacks(execute=True):
        notifications = notify_booking_event(booking=booking, event="payment_confirmation")

    assert ("coi_reminder", "email") in by_type(notifications)
    assert any(m.subject.startswith("Action needed: certificate of insurance") for m in mail.outbox)


def test_the_same_event_twice_sends_once(booking, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = notify_booking_event(booking=booking, event="payment_confirmation")
    with django_capture_on_commit_callbacks(execute=True):
        second = notify_booking_event(booking=booking, event="payment_confirmation")
        again = notify_booking_event(booking=booking, event="booking_confirmation")

    assert [n.pk for n in first] == [n.pk for n in second]
    assert again[0].pk == first[0].pk
    assert Notification.objects.count() == 3
    assert len(mail.outbox) == 2


def test_rolled_back_payment_enqueues_and_sends_nothing(make_booking, django_capture_on_commit_callbacks):
    booking = make_booking(paid=False)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                paid = booking_transition(booking=booking, to_status=BookingStatus.PAID)
                notify_booking_event(booking=paid, event="payment_confirmation")
                raise RuntimeError("card capture failed after all")
        except RuntimeError:
            pass

    assert callbacks == []
    assert Notification.objects.count() == 0
    assert mail.outbox == []
    booking.refresh_from_db()
    assert booking.status == BookingStatus.PENDING


def test_a_switched_off_template_is_recorded_not_sent(booking, django_capture_on_commit_callbacks):
    EmailTemplate.objects.filter(name="payment_confirmation").update(is_active=False)

    with django_capture_on_commit_callbacks(execute=True):
        notifications = notify_booking_event(booking=booking, event="payment_confirmation")

    receipt = next(n for n in notifications if n.notification_type == "payment_confirmation")
    assert receipt.status == NotificationStatus.CANCELLED and "switched off" in receipt.last_error
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Booking confirmed"]


def test_cancelled_booking_gets_no_confirmation(booking, django_capture_on_commit_callbacks):
    booking_transition(booking=booking, to_status=BookingStatus.CANCELLED, reason="hold_expired")

    with django_capture_on_commit_callbacks(execute=True):
        assert notify_booking_event(booking=booking, event="payment_confirmation") == []

    assert mail.outbox == []


def test_unknown_event_is_refused(booking):
    with pytest.raises(UnknownEvent):
        notify_booking_event(booking=booking, event="birthday")


def test_reminder_waits_for_its_time_then_sends_once(booking, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify_booking_event(booking=booking, event="booking_reminder")
    reminder = Notification.objects.get()
    assert mail.outbox == []

    assert notifications_send_due(now=reminder.scheduled_for - dt.timedelta(minutes=1)) == 0
    assert notifications_send_due(now=reminder.scheduled_for) == 1
    assert notifications_send_due(now=reminder.scheduled_for + dt.timedelta(minutes=1)) == 0

    [message] = mail.outbox
    assert message.subject.startswith("Reminder: your ToteTaxi pickup is")
    reminder.refresh_from_db()
    assert reminder.status == NotificationStatus.SENT


def test_reminder_for_a_cancelled_booking_is_cancelled_not_sent(booking, django_capture_on_commit_callbacks):
    notify_booking_event(booking=booking, event="booking_reminder")
    booking_transition(booking=booking, to_status=BookingStatus.CANCELLED, reason="customer changed plans")
    reminder = Notification.objects.get()

    notifications_send_due(now=reminder.scheduled_for)

    reminder.refresh_from_db()
    assert reminder.status == NotificationStatus.CANCELLED
    assert mail.outbox == []


def test_reminder_whose_template_was_switched_off_after_scheduling_is_cancelled_not_sent(booking):
    notify_booking_event(booking=booking, event="booking_reminder")
    reminder = Notification.objects.get()
    EmailTemplate.objects.filter(name="booking_reminder").update(is_active=False)

    notifications_send_due(now=reminder.scheduled_for)

    reminder.refresh_from_db()
    assert reminder.status == NotificationStatus.CANCELLED and "switched off" in reminder.last_error
    assert mail.outbox == []

def test_payment_confirmation_on_email_and_sms_within_its_query_budget(booking, twilio,
                                                                       django_assert_max_num_queries):
    # 3 notification types x 2 channels: each template and each context is read once, not once per channel
    with django_assert_max_num_queries(41):
        created = notify_booking_event(booking=booking, event="payment_confirmation")
    assert len(created) == 6 and {n.channel for n in created} == {"email", "sms"}

def test_reminder_time_is_eight_new_york_the_day_before_even_across_dst():
    assert reminder_time(dt.date(2027, 3, 15)) == dt.datetime(2027, 3, 14, 8, tzinfo=NY)  # DST starts 3/14
    assert reminder_time(dt.date(2027, 3, 15)).utcoffset() == dt.timedelta(hours=-4)


def test_a_lost_enqueue_is_picked_up_by_the_sweep(booking):
    # given: the rows committed but the Huey enqueue never happened (no on_commit run here)
    notify_booking_event(booking=booking, event="booking_confirmation")
    assert mail.outbox == []

    assert notifications_send_due() == 1
    assert notifications_send_due() == 0
    assert len(mail.outbox) == 1


def test_resend_creates_a_new_audited_attempt(booking, django_capture_on_commit_callbacks):
    staff = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        [original] = notify_booking_event(booking=booking, event="booking_confirmation")
    with django_capture_on_commit_callbacks(execute=True):
        first = notification_resend(booking=booking, actor=staff)
        second = notification_resend(booking=booking, actor=staff)

    assert first.resend_of == original and second.resend_of == original
    assert (first.dedupe_key, second.dedupe_key) == (f"booking_confirmation:{booking.pk}:resend:1",
                                                     f"booking_confirmation:{booking.pk}:resend:2")
    assert first.history.earliest().history_user == staff
    assert len(mail.outbox) == 3
    first.refresh_from_db()
    assert first.status == NotificationStatus.SENT


def test_custom_message_goes_to_the_customer(booking, django_capture_on_commit_callbacks):
    staff = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        [notification] = notification_send_custom(booking=booking, subject="Gate code",
                                                   body="Hi Alex,\nthe gate code is <1234>.", channels=["email"],
                                                   actor=staff)

    [message] = mail.outbox
    assert message.subject == "Gate code" and "<1234>" in message.body
    assert "&lt;1234&gt;" in message.alternatives[0][0]
    assert notification.notification_type == "custom" and notification.history.earliest().history_user == staff


def test_custom_message_is_validated(db):
    customer = CustomerFactory(phone="")
    with pytest.raises(ValidationError) as excinfo:
        notification_send_custom(customer=customer, subject="", body=" ", channels=["email", "fax"], actor=None)
    assert set(excinfo.value.fields) == {"channels", "subject", "body"}
    with pytest.raises(NoRecipient):
        notification_send_custom(customer=customer, subject="Hi", body="Hi", channels=["sms"], actor=None)


def test_send_test_to_me_uses_the_real_email_path(email_templates):
    staff = UserFactory()
    template = EmailTemplate.objects.get(name="coi_reminder")

    notification = email_template_send_test(template=template, to=staff.email, actor=staff)

    assert notification.status == NotificationStatus.SENT
    [message] = mail.outbox
    assert message.to == [staff.email]
    assert message.subject == "[TEST] Action needed: certificate of insurance for TT-2027-000123"


# --- through the fake Postmark ---------------------------------------------------------------------------

def test_email_through_postmark_stores_the_message_id(booking, postmark, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        [notification] = notify_booking_event(booking=booking, event="booking_confirmation")

    [sent] = postmark.messages
    notification.refresh_from_db()
    assert notification.provider_message_id == sent["MessageID"]
    assert sent["Metadata"] == {"notification_id": str(notification.pk)}
    assert sent["Tag"] == "booking_confirmation"
    assert sent["TextBody"] and sent["HtmlBody"]
    assert notification.delivery_logs.get().provider == "postmark"


@pytest.mark.parametrize("fault", ["5xx", "timeout"])
def test_postmark_outage_is_retried_with_backoff(booking, postmark, django_capture_on_commit_callbacks, fault):
    if fault == "5xx":
        postmark.fail_next(1, status=503)
    else:
        postmark.hang_next(1, seconds=0.8)
    with django_capture_on_commit_callbacks(execute=True):
        [notification] = notify_booking_event(booking=booking, event="booking_confirmation")

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.PENDING
    assert notification.retry_count == 1 and notification.last_error
    retry_at = notification.next_retry_at
    assert retry_at is not None

    assert notifications_retry(now=retry_at - dt.timedelta(seconds=1)) == 0
    assert notifications_retry(now=retry_at) == 1

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert [log.event for log in notification.delivery_logs.all()] == ["retry_scheduled", "sent"]
    if fault == "timeout":
        # The timed-out request still went through at Postmark (no idempotency key there): the documented
        # at-least-once trade-off, visible to staff in the retry log.
        deadline = time.monotonic() + 3
        while len(postmark.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(postmark.messages) == (1 if fault == "5xx" else 2)


def test_postmark_down_for_good_fails_visibly_after_max_retries(booking, postmark,
                                                                 django_capture_on_commit_callbacks):
    postmark.fail_next(50, status=500)
    with django_capture_on_commit_callbacks(execute=True):
        [notification] = notify_booking_event(booking=booking, event="booking_confirmation")

    for _ in range(10):
        notification.refresh_from_db()
        if notification.next_retry_at is None:
            break
        notifications_retry(now=notification.next_retry_at)

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert notification.retry_count == notification.max_retries + 1
    assert notification.last_error.startswith("Gave up after 6 attempts")
    assert postmark.messages == []
    backoffs = [log.details["next_retry_at"] for log in notification.delivery_logs.filter(event="retry_scheduled")]
    gaps = [(dt.datetime.fromisoformat(b) - dt.datetime.fromisoformat(a)).total_seconds()
            for a, b in zip(backoffs, backoffs[1:], strict=False)]
    assert gaps == sorted(gaps) and gaps[0] > 60  # growing backoff


def test_inactive_address_at_postmark_is_suppressed(booking, postmark, django_capture_on_commit_callbacks):
    postmark.inactive(booking.customer.email)
    with django_capture_on_commit_callbacks(execute=True):
        [notification] = notify_booking_event(booking=booking, event="booking_confirmation")

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SUPPRESSED
    assert Suppression.objects.filter(channel="email", address=booking.customer.email.lower()).exists()
    with django_capture_on_commit_callbacks(execute=True):
        [receipt] = notify_booking_event(booking=booking, event="payment_confirmation")[1:2]
    assert receipt.status == NotificationStatus.SUPPRESSED
    assert len(postmark.requests) == 1


# --- through the fake Twilio -----------------------------------------------------------------------------

def test_sms_through_twilio_with_a_status_callback(booking, twilio, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notifications = notify_booking_event(booking=booking, event="booking_confirmation")

    assert by_type(notifications) == [("booking_confirmation", "email"), ("booking_confirmation", "sms")]
    [sms] = twilio.messages
    notification = Notification.objects.get(channel=Channel.SMS)
    assert sms["to"] == "+12125550123" and sms["from"] == twilio.from_number
    assert sms["body"].startswith(f"ToteTaxi: booking {booking.booking_number} is confirmed")
    assert sms["status_callback"] == f"http://testserver/webhooks/twilio/status/?n={notification.pk}"
    assert notification.provider_message_id == sms["sid"]
    assert notification.status == NotificationStatus.SENT


def test_sms_opt_out_is_recorded_and_honoured(booking, twilio, django_capture_on_commit_callbacks):
    twilio.opt_out("+12125550123")
    with django_capture_on_commit_callbacks(execute=True):
        notify_booking_event(booking=booking, event="booking_confirmation")

    sms = Notification.objects.get(channel=Channel.SMS)
    assert sms.status == NotificationStatus.SUPPRESSED and "STOP" in sms.last_error
    assert Suppression.objects.get(channel="sms").address == "+12125550123"
    requests_before = len(twilio.requests)

    with django_capture_on_commit_callbacks(execute=True):
        later = notify_booking_event(booking=booking, event="payment_confirmation")

    [receipt_sms] = [n for n in later if n.channel == "sms" and n.notification_type == "payment_confirmation"]
    assert receipt_sms.status == NotificationStatus.SUPPRESSED
    assert len(twilio.requests) == requests_before  # no further SMS attempted
    assert twilio.messages == []


@pytest.mark.parametrize("fault", ["5xx", "timeout"])
def test_twilio_outage_is_retried(booking, twilio, django_capture_on_commit_callbacks, fault):
    if fault == "5xx":
        twilio.fail_next(1, status=500)
    else:
        twilio.hang_next(1, seconds=0.8)
    with django_capture_on_commit_callbacks(execute=True):
        notify_booking_event(booking=booking, event="delivery_confirmation")

    sms = Notification.objects.get(channel=Channel.SMS)
    assert sms.status == NotificationStatus.PENDING and sms.retry_count == 1
    if fault == "timeout":
        assert "may have been sent" in sms.last_error

    notifications_retry(now=sms.next_retry_at)

    sms.refresh_from_db()
    assert sms.status == NotificationStatus.SENT


def test_a_send_a_dead_worker_left_half_done_is_retried(booking, django_capture_on_commit_callbacks):
    [notification] = notify_booking_event(booking=booking, event="booking_confirmation")
    notification.status = NotificationStatus.SENDING  # claimed, then the consumer was killed
    notification.save()

    assert notifications_retry() == 0  # recently claimed: maybe still in flight
    later = notification.updated_at + dt.timedelta(minutes=11)
    assert notifications_retry(now=later) == 1

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT and notification.retry_count == 1
    assert len(mail.outbox) == 1


def test_list_selector_has_a_fixed_query_count(booking, django_assert_num_queries):
    from core.notifications.selectors import notification_list_queryset

    notify_booking_event(booking=booking, event="payment_confirmation")

    with django_assert_num_queries(1):
        rows = [(n.booking.booking_number, n.customer.email, n.template.name) for n in notification_list_queryset()]
    assert len(rows) == 3

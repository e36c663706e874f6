"""What staff read: New York time one way on every tab, labels instead of codes, history without None."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from core.bookings.models import BookingStatus
from core.notifications.models import Notification
from core.payments.models import Payment
from ops_console.formatting import local_datetime
from tests.ops_console.conftest import add_payment_and_notification

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_payments_and_notifications_tabs_show_new_york_time(role_client, make_booking):
    booking = make_booking(BookingStatus.PAID)
    payment, notification = add_payment_and_notification(booking)
    client = role_client("admin")
    page = _text(client.get(reverse("admin:core_booking_change", args=[booking.pk])).content.decode())
    for moment in (payment.created_at, notification.created_at, notification.sent_at):
        assert local_datetime(moment) in page
        assert f"{moment:%Y-%m-%d %H:%M}" not in page  # the UTC rendering of before
    assert "$2,490.00" in page


def test_one_row_of_tabs_and_no_object_reprs(role_client, make_booking):
    booking = make_booking(BookingStatus.SCHEDULED)
    client = role_client("operations")
    client.post(reverse("admin:core_booking_action", args=["note"]),
                {"ids": [str(booking.pk)], "confirm": "yes", "body": "Call the doorman\nthen the customer"})
    html = client.get(reverse("admin:core_booking_change", args=[booking.pk])).content.decode()
    page = _text(html)
    assert "BookingNote object" not in page and "BookingStatusChange object" not in page
    assert "Created as Pending payment" in page and "Paid → Scheduled" in page
    assert "ø" not in page and "∅" not in page
    assert '<div style="white-space:pre-line">Call the doorman\nthen the customer</div>' in html
    assert "COI required" in page and "Coi required" not in page
    assert 'class="inline-group' not in html  # no inline tabs: the fieldset tabs are the only row


def test_activity_page_words_changes_in_new_york_time(role_client, make_booking):
    booking = make_booking(BookingStatus.PAID)
    payment = Payment.objects.create(booking=booking, stripe_payment_intent_id="pi_act", amount_cents=249000,
                                     status="succeeded")
    payment.refunded_cents, payment.failed_at = 25000, timezone.now()
    payment.save()
    client = role_client("admin")
    html = client.get(reverse("admin:core_booking_activity", args=[booking.pk])).content.decode()
    page = _text(html)
    assert "When (New York)" in page
    assert local_datetime(booking.created_at) in page
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{6}", page)  # no raw timestamps with microseconds
    assert "Status: Pending payment → Paid" in page
    assert "Refunded: $0.00 → $250.00" in page
    assert f"Failed at: — → {local_datetime(payment.failed_at)}" in page
    assert "_cents" not in page and "refunded_cents" not in page and "None" not in page
    assert "Stripe payment of $2,490.00 (succeeded)" in page


def test_field_history_uses_labels_and_no_none(role_client, make_booking):
    booking = make_booking(BookingStatus.PAID)
    client = role_client("admin")
    html = client.get(reverse("admin:core_booking_history", args=[booking.pk])).content.decode()
    page = _text(html)
    assert "IP address" in page and "Browser (user agent)" in page
    assert "ip_address" not in html and "user_agent" not in html
    assert " None " not in page and "<code>None</code>" not in html
    assert "Pending payment" in page and "Paid" in page


def test_notification_detail_reads_like_a_message(role_client, make_booking):
    import html as html_lib

    booking = make_booking(BookingStatus.PAID)
    notification = Notification.objects.create(
        booking=booking, notification_type="coi_reminder", channel="email", dedupe_key="coi-read",
        recipients=["a@example.com", "b@example.com"], subject="Certificate needed",
        body_text="Hi Alex,\nplease send the certificate.", body_html='<p style="color:red">Hi <b>Alex</b></p>')
    client = role_client("admin")
    html = client.get(reverse("admin:core_notification_change", args=[notification.pk])).content.decode()
    page = _text(html)
    assert "COI reminder by email (pending)" in page and "a@example.com, b@example.com" in page
    assert "coi_reminder via email" not in page
    assert '"a@example.com"' not in html and "[" not in page.split("Recipients", 1)[1][:40]
    assert '<div style="white-space:pre-line">Hi Alex,\nplease send the certificate.</div>' in html
    srcdoc = re.search(r'data-testid="email-frame"[^>]*srcdoc="([^"]*)"', html).group(1)
    assert html_lib.unescape(srcdoc) == notification.body_html  # rendered in a frame, not shown as source
    assert "&lt;p style=&quot;color:red&quot;&gt;" not in html.replace(srcdoc, "")


def test_third_party_sections_read_like_the_sidebar(superuser_client):
    client = superuser_client
    page = _text(client.get(reverse("admin:axes_accessattempt_changelist")).content.decode())
    assert "Staff &amp; Access" in page or "Staff & Access" in page
    assert "Axes" not in page
    groups = _text(client.get(reverse("admin:auth_group_changelist")).content.decode())
    assert "Authentication and Authorization" not in groups


def test_lists_show_money_one_way_and_codes_as_words(role_client, make_booking, django_assert_max_num_queries):
    import datetime as dt
    from decimal import Decimal

    from core.payments.models import PaymentAudit, Refund
    from core.reporting.models import DailyMetrics

    booking = make_booking(BookingStatus.PAID)
    payment = Payment.objects.create(booking=booking, stripe_payment_intent_id="pi_list", amount_cents=249000,
                                     status="succeeded")
    Refund.objects.create(payment=payment, amount_cents=2500, reason="requested_by_customer", status="succeeded")
    PaymentAudit.objects.create(payment=payment, booking=booking, action="payment_recovered_from_stripe")
    DailyMetrics.objects.create(date=dt.date(2026, 11, 2), bookings_created=3, revenue=Decimal("2490"),
                                refunds=Decimal("25"))
    client = role_client("admin")

    def page(name):
        return _text(client.get(reverse(f"admin:core_{name}_changelist"), {"when": "all"} if name == "booking"
                                else {}).content.decode())

    assert f"${booking.total_price:,.2f}" in page("booking")
    refunds = page("refund")
    assert "Requested by customer" in refunds and "requested_by_customer" not in refunds
    audit = page("paymentaudit")
    assert "Payment recovered from Stripe" in audit and "payment_recovered_from_stripe" not in audit
    metrics = page("dailymetrics")
    assert "$2,490.00" in metrics and "$25.00" in metrics


def test_quotes_list_is_readable(role_client, make_request, future_weekday):
    from core.bookings.services import booking_create, quote_create
    from tests.factories import booking_request

    open_quote = quote_create(request=booking_request(pickup_date=future_weekday))
    used_quote = quote_create(request=booking_request(pickup_date=future_weekday, booking_type="standard",
                                                      package=None, item_count=3))
    booking, _ = booking_create(request=make_request(pickup_date=future_weekday, booking_type="standard",
                                                     package=None, item_count=3, quote_id=str(used_quote.id)))
    client = role_client("admin")
    html = client.get(reverse("admin:core_quote_changelist")).content.decode()
    page = _text(html)
    assert "Mini Move" in page and "Standard delivery" in page
    assert f"${open_quote.total_price:,.2f}" in page
    assert f"Open until {local_datetime(open_quote.expires_at)}" in page
    assert booking.booking_number in page and "Not booked" in page


def test_booking_page_queries_do_not_grow_with_its_records(role_client, make_booking):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    booking = make_booking(BookingStatus.SCHEDULED)
    client = role_client("admin")
    url = reverse("admin:core_booking_change", args=[booking.pk])
    client.get(url)  # warm per-process caches
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    add_payment_and_notification(booking)
    for n in range(3):
        client.post(reverse("admin:core_booking_action", args=["note"]),
                    {"ids": [str(booking.pk)], "confirm": "yes", "body": f"note {n}"})
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    print(f"booking change page: {len(few)} -> {len(many)} queries")
    assert len(many) <= len(few) + 1  # the payments' refunds prefetch runs once there are payments
    assert len(many) <= 15  # 12 + the Documents and Delivery tabs (one query each) + the 2FA device
